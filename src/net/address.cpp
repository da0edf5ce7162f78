#include "net/address.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>

namespace rover::net {

bool resolveHost(const std::string& host, int port, Address* out) {
  std::string name = host == "localhost" ? "127.0.0.1" : host;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  if (getaddrinfo(name.c_str(), nullptr, &hints, &res) != 0 || !res) return false;
  std::memcpy(&out->storage, res->ai_addr, res->ai_addrlen);
  out->len = res->ai_addrlen;
  freeaddrinfo(res);
  if (out->family() == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&out->storage)->sin_port = htons(static_cast<uint16_t>(port));
  } else if (out->family() == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&out->storage)->sin6_port = htons(static_cast<uint16_t>(port));
  } else {
    return false;
  }
  return true;
}

size_t addressText(const sockaddr_storage& addr, char* out, size_t cap) {
  out[0] = '\0';
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr, out, cap);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
      inet_ntop(AF_INET, &a6->sin6_addr.s6_addr[12], out, cap);
    } else {
      inet_ntop(AF_INET6, &a6->sin6_addr, out, cap);
    }
  }
  return std::strlen(out);
}

int localPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return -1;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

}  // namespace rover::net

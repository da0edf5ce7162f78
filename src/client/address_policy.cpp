#include "client/address_policy.h"

#include <netinet/in.h>

#include <cstring>

namespace rover::client {
namespace {

const net::IpSet& blockedSet() {
  static const net::IpSet set = [] {
    net::IpSet s;
    for (const char* cidr : {
             "0.0.0.0/8", "::/128",                                // unspecified
             "127.0.0.0/8", "::1/128",                             // loopback
             "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",      // RFC 1918
             "fc00::/7",                                           // unique local
             "169.254.0.0/16", "fe80::/10",                        // link-local
             "100.64.0.0/10",                                      // CGNAT
             "224.0.0.0/4", "255.255.255.255/32", "ff00::/8",      // multicast, broadcast
             "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",  // documentation
             "2001:db8::/32",
         }) {
      s.addCidr(cidr);
    }
    return s;
  }();
  return set;
}

}  // namespace

bool isBlockedAddress(const net::IpAddr& addr) { return blockedSet().contains(addr); }

bool isBlockedSockaddr(const sockaddr* addr, socklen_t len) {
  if (!addr) return true;
  sockaddr_storage ss{};
  if (addr->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    std::memcpy(&ss, addr, sizeof(sockaddr_in));
  } else if (addr->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    std::memcpy(&ss, addr, sizeof(sockaddr_in6));
  } else {
    return true;
  }
  return isBlockedAddress(net::fromSockaddr(ss));
}

}  // namespace rover::client

// Socket addresses: resolving the configured host once at startup, and the
// client address as text (IPv4-mapped IPv6 shown as IPv4; lua-api.md §6).
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

namespace rover::net {

struct Address {
  sockaddr_storage storage{};
  socklen_t len = 0;
  int family() const { return storage.ss_family; }
};

// "localhost" -> 127.0.0.1; IP literals as given; other names: first address.
bool resolveHost(const std::string& host, int port, Address* out);
// Numeric text of the address (no port). Returns the length written to out (>= 46 bytes).
size_t addressText(const sockaddr_storage& addr, char* out, size_t cap);
// Bound port of a socket.
int localPort(int fd);

}  // namespace rover::net

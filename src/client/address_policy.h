// Which addresses outbound requests may connect to (runtime-modules.md §5):
// unspecified, loopback, private (RFC 1918, fc00::/7), link-local, CGNAT,
// multicast and documentation addresses are blocked unless the caller opts
// out. Checked on the address of every connection the client opens, after DNS
// resolution (redirect hops included); IPv4-mapped IPv6 counts as the IPv4
// address it carries. Pure data, safe from every thread.
#pragma once
#include <sys/socket.h>

#include "net/ip_set.h"

namespace rover::client {

bool isBlockedAddress(const net::IpAddr& addr);
// AF_INET / AF_INET6 sockaddrs; any other family is blocked.
bool isBlockedSockaddr(const sockaddr* addr, socklen_t len);

}  // namespace rover::client

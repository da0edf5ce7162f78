// Client address and scheme behind trusted proxies (server-features.md §3):
// reads `Forwarded` (RFC 7239), `X-Forwarded-For` and `X-Forwarded-Proto`.
// Views are only read during the call; nothing is kept and nothing allocated.
#pragma once
#include <span>
#include <string_view>

#include "net/ip_set.h"

namespace rover::http {

struct ClientAddress {
  net::IpAddr ip;
  bool https = false;
};

// One node of a forwarding chain: 203.0.113.9, 203.0.113.9:4711, [2001:db8::1],
// [2001:db8::1]:4711, bare 2001:db8::1 (a port is 1-5 digits or an RFC 7239
// obfport "_x"). Surrounding double quotes are removed first (no escapes:
// resolveClient unescapes Forwarded values). False for unknown, _hidden and
// anything else.
bool parseForwardedNode(std::string_view node, net::IpAddr* out);

// §3 for a request from `peer`. Each span holds every field line's value of
// that header in order; several lines count as one comma-joined list.
// * address: the for= of every Forwarded element when at least one is a valid
//   node, else the X-Forwarded-For list; walked from the right, addresses in
//   `trusted` are skipped and the first other one is the client; all trusted ->
//   the leftmost; no valid node -> peer.
// * https: the first proto=http|https of Forwarded, else the first element of
//   X-Forwarded-Proto when it is http|https, else peer_https (all
//   case-insensitive).
// A peer not in `trusted` gets {peer, peer_https}: its headers are not
// believed (the caller also removes them from ctx:headers()).
// Malformed input never fails the call: bad pairs, elements and nodes are skipped.
ClientAddress resolveClient(const net::IpSet& trusted, const net::IpAddr& peer, bool peer_https,
                            std::span<const std::string_view> forwarded,
                            std::span<const std::string_view> x_forwarded_for,
                            std::span<const std::string_view> x_forwarded_proto);

}  // namespace rover::http

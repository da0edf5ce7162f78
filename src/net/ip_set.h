// IP addresses as values and the `trusted_proxies` set (server-features.md §3):
// parsing and formatting numeric text (IPv4-mapped IPv6 shown as IPv4,
// lua-api.md §6) and a set of CIDR blocks, single addresses and inclusive
// ranges. Pure data: no sockets, no allocation in parseIp, formatIp or contains.
#pragma once
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace rover::net {

// Numeric text of any address fits in this many bytes, NUL included (INET6_ADDRSTRLEN).
inline constexpr size_t kIpTextCap = 46;

// An IPv4 address is kept as IPv4-mapped IPv6 (::ffff:a.b.c.d), so one
// 128-bit compare serves both families; v4 says the bytes are such an address.
struct IpAddr {
  uint8_t b[16] = {};
  bool v4 = false;

  friend bool operator==(const IpAddr& x, const IpAddr& y) {
    return std::memcmp(x.b, y.b, sizeof x.b) == 0;
  }
};

// "203.0.113.9", "2001:db8::1", "::ffff:1.2.3.4" (-> v4). Strict: dotted quads
// of four decimal parts without leading zeros, no zone ids, no brackets, no
// surrounding space. Leaves *out unchanged and returns false otherwise.
bool parseIp(std::string_view text, IpAddr* out);
// The address of an AF_INET or AF_INET6 sockaddr (IPv4-mapped v6 -> v4); other
// families give ::.
IpAddr fromSockaddr(const sockaddr_storage& addr);
// Numeric text (v4 dotted, v6 as inet_ntop writes it), NUL-terminated; returns
// its length. cap must be >= kIpTextCap, otherwise writes "" and returns 0.
size_t formatIp(const IpAddr& addr, char* out, size_t cap);

// The trusted_proxies set: filled at startup, read-only (and so safe to share
// between workers) afterwards. Kept as sorted, merged, inclusive 128-bit
// intervals. IPv4 entries cover their IPv4-mapped block, so "0.0.0.0/0" is
// every IPv4 peer and "::/0" is every peer.
class IpSet {
 public:
  // One config entry: "10.0.0.0/8", "fd00::/8", "192.0.2.7" or
  // "10.0.0.1-10.0.0.255" (space around the entry and around '-' allowed).
  // Returns false, leaving the set unchanged, when the entry is invalid.
  bool addEntry(std::string_view text);
  // "addr/len": len 0..32 after dotted IPv4 text, 0..128 after IPv6 text
  // (so "::ffff:10.0.0.0/104" is 10.0.0.0/8). Host bits are ignored.
  bool addCidr(std::string_view cidr);
  // Inclusive; false if either end is invalid, the families differ or from > to.
  bool addRange(std::string_view from, std::string_view to);
  bool empty() const { return spans_.empty(); }
  bool contains(const IpAddr& addr) const;

 private:
  struct U128 {
    uint64_t hi = 0, lo = 0;
    friend auto operator<=>(const U128&, const U128&) = default;
  };
  struct Span {
    U128 lo, hi;
  };
  static U128 toU128(const IpAddr& addr);
  void insert(U128 lo, U128 hi);

  std::vector<Span> spans_;  // sorted by lo, disjoint and not adjacent
};

}  // namespace rover::net

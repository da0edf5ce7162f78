// IP text parsing and the trusted_proxies set (see ip_set.h). The parsers are
// written out rather than calling inet_pton: the input is a view (no NUL), and
// the rules stay the same on every libc.
#include "net/ip_set.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>

namespace rover::net {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool isDigit(char c) { return c >= '0' && c <= '9'; }

int hexDigit(char c) {
  if (isDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Four decimal parts 0..255, no leading zeros ("01" could mean octal elsewhere).
bool parseV4(std::string_view s, uint8_t out[4]) {
  size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
    size_t start = i;
    unsigned value = 0;
    while (i < s.size() && isDigit(s[i]) && i - start < 3) value = value * 10 + (s[i++] - '0');
    size_t len = i - start;
    if (len == 0 || value > 255 || (len > 1 && s[start] == '0')) return false;
    out[part] = static_cast<uint8_t>(value);
  }
  return i == s.size();
}

// RFC 4291 §2.2 text: up to eight hex groups, one "::", an optional dotted
// quad in the last 32 bits.
bool parseV6(std::string_view s, uint8_t out[16]) {
  uint16_t words[8] = {};
  int n = 0;
  int gap = -1;  // index in words where "::" stands
  size_t i = 0;
  if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
    gap = 0;
    i = 2;
  }
  while (i < s.size()) {
    size_t end = s.find(':', i);
    if (end == std::string_view::npos) end = s.size();
    std::string_view group = s.substr(i, end - i);
    if (group.find('.') != std::string_view::npos) {
      uint8_t quad[4];
      if (end != s.size() || n > 6 || !parseV4(group, quad)) return false;
      words[n++] = static_cast<uint16_t>(quad[0] << 8 | quad[1]);
      words[n++] = static_cast<uint16_t>(quad[2] << 8 | quad[3]);
      break;
    }
    if (n == 8 || group.empty() || group.size() > 4) return false;
    unsigned value = 0;
    for (char c : group) {
      int d = hexDigit(c);
      if (d < 0) return false;
      value = value * 16 + static_cast<unsigned>(d);
    }
    words[n++] = static_cast<uint16_t>(value);
    if (end == s.size()) break;
    if (end + 1 < s.size() && s[end + 1] == ':') {
      if (gap >= 0) return false;
      gap = n;
      i = end + 2;
    } else {
      i = end + 1;
      if (i == s.size()) return false;  // a single trailing ':'
    }
  }
  if (gap < 0 ? n != 8 : n > 7) return false;
  uint16_t full[8] = {};
  if (gap < 0) {
    std::copy(words, words + 8, full);
  } else {
    std::copy(words, words + gap, full);
    std::copy(words + gap, words + n, full + 8 - (n - gap));
  }
  for (int k = 0; k < 8; ++k) {
    out[2 * k] = static_cast<uint8_t>(full[k] >> 8);
    out[2 * k + 1] = static_cast<uint8_t>(full[k]);
  }
  return true;
}

bool isMapped(const uint8_t b[16]) { return std::memcmp(b, kMappedPrefix, 12) == 0; }

IpAddr fromV4Bytes(const uint8_t quad[4]) {
  IpAddr a;
  std::memcpy(a.b, kMappedPrefix, 12);
  std::memcpy(a.b + 12, quad, 4);
  a.v4 = true;
  return a;
}

// Parses and also says whether the text was IPv6 syntax (CIDR lengths count
// over 128 bits then, over 32 for dotted IPv4).
bool parseIpText(std::string_view text, IpAddr* out, bool* v6_text) {
  *v6_text = text.find(':') != std::string_view::npos;
  if (!*v6_text) {
    uint8_t quad[4];
    if (!parseV4(text, quad)) return false;
    *out = fromV4Bytes(quad);
    return true;
  }
  IpAddr a;
  if (!parseV6(text, a.b)) return false;
  a.v4 = isMapped(a.b);
  *out = a;
  return true;
}

}  // namespace

bool parseIp(std::string_view text, IpAddr* out) {
  bool v6_text;
  return parseIpText(text, out, &v6_text);
}

IpAddr fromSockaddr(const sockaddr_storage& addr) {
  IpAddr a;
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    uint8_t quad[4];
    std::memcpy(quad, &in->sin_addr, 4);
    return fromV4Bytes(quad);
  }
  if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    std::memcpy(a.b, &in6->sin6_addr, 16);
    a.v4 = isMapped(a.b);
  }
  return a;
}

size_t formatIp(const IpAddr& addr, char* out, size_t cap) {
  if (cap == 0) return 0;
  out[0] = '\0';
  if (cap < kIpTextCap) return 0;
  const char* ok = addr.v4 ? inet_ntop(AF_INET, addr.b + 12, out, static_cast<socklen_t>(cap))
                           : inet_ntop(AF_INET6, addr.b, out, static_cast<socklen_t>(cap));
  if (!ok) {
    out[0] = '\0';
    return 0;
  }
  return std::strlen(out);
}

IpSet::U128 IpSet::toU128(const IpAddr& addr) {
  U128 v;
  for (int i = 0; i < 8; ++i) v.hi = v.hi << 8 | addr.b[i];
  for (int i = 8; i < 16; ++i) v.lo = v.lo << 8 | addr.b[i];
  return v;
}

bool IpSet::addEntry(std::string_view text) {
  text = trim(text);
  if (text.find('/') != std::string_view::npos) return addCidr(text);
  size_t dash = text.find('-');  // never part of an address
  if (dash != std::string_view::npos) {
    return addRange(trim(text.substr(0, dash)), trim(text.substr(dash + 1)));
  }
  IpAddr a;
  if (!parseIp(text, &a)) return false;
  insert(toU128(a), toU128(a));
  return true;
}

bool IpSet::addCidr(std::string_view cidr) {
  size_t slash = cidr.find('/');
  if (slash == std::string_view::npos) return false;
  IpAddr a;
  bool v6_text;
  if (!parseIpText(cidr.substr(0, slash), &a, &v6_text)) return false;
  std::string_view len_text = cidr.substr(slash + 1);
  if (len_text.empty() || len_text.size() > 3) return false;
  unsigned len = 0;
  for (char c : len_text) {
    if (!isDigit(c)) return false;
    len = len * 10 + static_cast<unsigned>(c - '0');
  }
  if (len > (v6_text ? 128u : 32u)) return false;
  unsigned bits = v6_text ? len : len + 96;  // dotted IPv4 sits in the low 32 bits
  U128 mask;
  if (bits >= 64) {
    mask.hi = ~uint64_t{0};
    mask.lo = bits == 128 ? ~uint64_t{0} : (bits == 64 ? 0 : ~uint64_t{0} << (128 - bits));
  } else {
    mask.hi = bits == 0 ? 0 : ~uint64_t{0} << (64 - bits);
  }
  U128 v = toU128(a);
  insert(U128{v.hi & mask.hi, v.lo & mask.lo}, U128{v.hi | ~mask.hi, v.lo | ~mask.lo});
  return true;
}

bool IpSet::addRange(std::string_view from, std::string_view to) {
  IpAddr lo, hi;
  if (!parseIp(from, &lo) || !parseIp(to, &hi) || lo.v4 != hi.v4) return false;
  U128 l = toU128(lo), h = toU128(hi);
  if (l > h) return false;
  insert(l, h);
  return true;
}

void IpSet::insert(U128 lo, U128 hi) {
  spans_.push_back(Span{lo, hi});
  std::sort(spans_.begin(), spans_.end(), [](const Span& x, const Span& y) { return x.lo < y.lo; });
  // Merge overlapping and adjacent spans (prev.hi + 1 == next.lo).
  size_t w = 0;
  for (size_t r = 1; r < spans_.size(); ++r) {
    Span& prev = spans_[w];
    const Span& next = spans_[r];
    U128 after = prev.hi;
    bool at_max = after.hi == ~uint64_t{0} && after.lo == ~uint64_t{0};
    if (!at_max && ++after.lo == 0) ++after.hi;
    if (at_max || next.lo <= after) {
      prev.hi = std::max(prev.hi, next.hi);
    } else {
      spans_[++w] = next;
    }
  }
  spans_.resize(w + 1);
}

bool IpSet::contains(const IpAddr& addr) const {
  U128 v = toU128(addr);
  // The last span starting at or before v is the only one that can hold it.
  auto it = std::upper_bound(spans_.begin(), spans_.end(), v,
                             [](const U128& x, const Span& s) { return x < s.lo; });
  return it != spans_.begin() && v <= std::prev(it)->hi;
}

}  // namespace rover::net

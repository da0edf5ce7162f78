// Forwarding headers (see forwarded.h). The chain is walked left to right in
// one pass: "the first untrusted address from the right" is the last untrusted
// one seen, so no list of addresses is kept.
#include "http/forwarded.h"
#include "http/request.h"
#include "http/text.h"

#include <cstddef>

namespace rover::http {
namespace {

// Longest Forwarded value worth unescaping: a bracketed IPv6 with an obfport
// fits; anything longer is no address and no scheme.
constexpr size_t kMaxValueBytes = 128;

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }



// 1 for https, 0 for http, -1 for anything else.
int schemeOf(std::string_view s) {
  if (equalsIgnoreCase(s, "https")) return 1;
  if (equalsIgnoreCase(s, "http")) return 0;
  return -1;
}

// RFC 7239 node-port: 1*5DIGIT or obfport ("_" 1*(ALPHA / DIGIT / "." / "_" / "-")).
bool isNodePort(std::string_view p) {
  if (p.empty()) return false;
  if (p[0] == '_') {
    if (p.size() == 1) return false;
    for (char c : p.substr(1)) {
      if (!isDigit(c) && !isAlpha(c) && c != '.' && c != '_' && c != '-') return false;
    }
    return true;
  }
  if (p.size() > 5) return false;
  for (char c : p) {
    if (!isDigit(c)) return false;
  }
  return true;
}

// The addresses of a chain, seen left to right.
class ChainWalk {
 public:
  explicit ChainWalk(const net::IpSet& trusted) : trusted_(trusted) {}
  void add(const net::IpAddr& ip) {
    if (!any_) leftmost_ = ip;
    any_ = true;
    if (!trusted_.contains(ip)) {
      client_ = ip;
      have_client_ = true;
    }
  }
  bool any() const { return any_; }
  const net::IpAddr& result() const { return have_client_ ? client_ : leftmost_; }

 private:
  const net::IpSet& trusted_;
  bool any_ = false;
  bool have_client_ = false;
  net::IpAddr leftmost_, client_;
};

// A quoted-string's content with quoted-pairs undone, in buf; false when it
// does not fit (then it is no address or scheme).
bool unescape(std::string_view raw, char* buf, size_t cap, std::string_view* out) {
  size_t n = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size()) ++i;
    if (n == cap) return false;
    buf[n++] = raw[i];
  }
  *out = std::string_view(buf, n);
  return true;
}

// Index of the next ';' or ',' at or after i outside a quoted string, or the
// end of the line: where parsing resumes after a malformed pair.
size_t skipMalformed(std::string_view line, size_t i) {
  bool quoted = false;
  for (; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ';' || c == ',') {
      return i;
    }
  }
  return line.size();
}

// Reads the pair starting at line[*pos] (a name char expected). On success
// sets name / value (quoted-string content still escaped) and leaves *pos on
// the following ';', ',' or the end of the line.
bool readPair(std::string_view line, size_t* pos, std::string_view* name, std::string_view* value,
              bool* quoted) {
  size_t i = *pos;
  const size_t n = line.size();
  size_t start = i;
  while (i < n && isTokenChar(line[i])) ++i;
  if (i == start || i == n || line[i] != '=') return false;
  *name = line.substr(start, i - start);
  ++i;
  if (i < n && line[i] == '"') {
    size_t j = i + 1;
    while (j < n && line[j] != '"') j += line[j] == '\\' ? 2 : 1;
    if (j >= n) return false;  // unterminated
    *value = line.substr(i + 1, j - i - 1);
    *quoted = true;
    i = j + 1;
  } else {
    // Lenient token: ':' '[' ']' are not tchars, yet 1.2.3.4:80 is sent unquoted.
    start = i;
    while (i < n && !isOws(line[i]) && line[i] != ';' && line[i] != ',' && line[i] != '"') ++i;
    if (i == start) return false;
    *value = line.substr(start, i - start);
    *quoted = false;
  }
  while (i < n && isOws(line[i])) ++i;
  if (i < n && line[i] != ';' && line[i] != ',') return false;
  *pos = i;
  return true;
}

// One Forwarded field line: every element's first for= goes to the walk; the
// first valid proto= to *scheme (while it is still -1).
void scanForwardedLine(std::string_view line, ChainWalk* walk, int* scheme) {
  bool seen_for = false;  // in the current element
  size_t i = 0;
  while (i < line.size()) {
    char c = line[i];
    if (isOws(c) || c == ';') {
      ++i;
      continue;
    }
    if (c == ',') {
      seen_for = false;
      ++i;
      continue;
    }
    std::string_view name, value;
    bool quoted = false;
    if (!readPair(line, &i, &name, &value, &quoted)) {
      i = skipMalformed(line, i);
      continue;
    }
    bool is_for = !seen_for && equalsIgnoreCase(name, "for");
    bool is_proto = *scheme < 0 && equalsIgnoreCase(name, "proto");
    if (!is_for && !is_proto) continue;
    char buf[kMaxValueBytes];
    if (quoted && !unescape(value, buf, sizeof buf, &value)) {
      seen_for = seen_for || is_for;
      continue;
    }
    if (is_for) {
      seen_for = true;
      net::IpAddr ip;
      if (parseForwardedNode(value, &ip)) walk->add(ip);
    } else {
      *scheme = schemeOf(value);
    }
  }
}

// Calls visit(element) for each non-empty, OWS-trimmed element of the lists;
// stops when visit returns false.
template <typename Visit>
void forEachListElement(std::span<const std::string_view> lines, Visit&& visit) {
  for (std::string_view line : lines) {
    size_t pos = 0;
    while (pos <= line.size()) {
      size_t comma = line.find(',', pos);
      if (comma == std::string_view::npos) comma = line.size();
      std::string_view element = trimOws(line.substr(pos, comma - pos));
      pos = comma + 1;
      if (!element.empty() && !visit(element)) return;
    }
  }
}

}  // namespace

bool parseForwardedNode(std::string_view node, net::IpAddr* out) {
  if (node.size() >= 2 && node.front() == '"' && node.back() == '"') {
    node = node.substr(1, node.size() - 2);
  }
  if (node.empty()) return false;
  if (node[0] == '[') {
    size_t close = node.find(']');
    if (close == std::string_view::npos) return false;
    std::string_view rest = node.substr(close + 1);
    if (!rest.empty() && (rest[0] != ':' || !isNodePort(rest.substr(1)))) return false;
    return net::parseIp(node.substr(1, close - 1), out);
  }
  size_t colon = node.find(':');
  if (colon != std::string_view::npos && node.find(':', colon + 1) == std::string_view::npos) {
    // One colon: IPv4 with a port.
    if (!isNodePort(node.substr(colon + 1))) return false;
    return net::parseIp(node.substr(0, colon), out);
  }
  return net::parseIp(node, out);  // IPv4, or bare IPv6
}

ClientAddress resolveClient(const net::IpSet& trusted, const net::IpAddr& peer, bool peer_https,
                            std::span<const std::string_view> forwarded,
                            std::span<const std::string_view> x_forwarded_for,
                            std::span<const std::string_view> x_forwarded_proto) {
  if (!trusted.contains(peer)) return ClientAddress{peer, peer_https};
  ChainWalk walk(trusted);
  int scheme = -1;
  for (std::string_view line : forwarded) scanForwardedLine(line, &walk, &scheme);
  if (!walk.any()) {
    forEachListElement(x_forwarded_for, [&](std::string_view element) {
      net::IpAddr ip;
      if (parseForwardedNode(element, &ip)) walk.add(ip);
      return true;
    });
  }
  if (scheme < 0) {
    forEachListElement(x_forwarded_proto, [&](std::string_view element) {
      scheme = schemeOf(element);
      return false;  // only the first element counts
    });
  }
  return ClientAddress{walk.any() ? walk.result() : peer, scheme < 0 ? peer_https : scheme == 1};
}

}  // namespace rover::http

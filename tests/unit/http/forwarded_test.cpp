#include "http/forwarded.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rover::http {
namespace {

using Lines = std::vector<std::string_view>;

net::IpAddr ip(std::string_view text) {
  net::IpAddr a;
  EXPECT_TRUE(net::parseIp(text, &a)) << text;
  return a;
}

std::string text(const net::IpAddr& a) {
  char buf[net::kIpTextCap];
  return std::string(buf, net::formatIp(a, buf, sizeof buf));
}

std::string node(std::string_view in) {
  net::IpAddr a;
  return parseForwardedNode(in, &a) ? text(a) : "-";
}

// Trusts 10.0.0.0/8 and fd00::/8; the peer is 10.0.0.5 over plain http.
struct Resolved {
  std::string ip;
  std::string proto;
};
Resolved resolve(const Lines& fwd, const Lines& xff, const Lines& xfp = {},
                 std::string_view peer = "10.0.0.5", bool peer_https = false) {
  net::IpSet trusted;
  EXPECT_TRUE(trusted.addEntry("10.0.0.0/8"));
  EXPECT_TRUE(trusted.addEntry("fd00::/8"));
  ClientAddress c = resolveClient(trusted, ip(peer), peer_https, fwd, xff, xfp);
  return {text(c.ip), c.https ? "https" : "http"};
}
std::string clientIp(const Lines& fwd, const Lines& xff) { return resolve(fwd, xff).ip; }
std::string proto(const Lines& fwd, const Lines& xfp, bool peer_https = false) {
  return resolve(fwd, {}, xfp, "10.0.0.5", peer_https).proto;
}

// The table at the end of server-features.md §3.
TEST(Forwarded, SpecTable) {
  Resolved r = resolve({}, {"203.0.113.1, 198.51.100.2, 10.0.0.9"});
  EXPECT_EQ(r.ip, "198.51.100.2");
  EXPECT_EQ(r.proto, "http");

  r = resolve({"for=203.0.113.20;proto=https"}, {"198.51.100.9"});
  EXPECT_EQ(r.ip, "203.0.113.20");
  EXPECT_EQ(r.proto, "https");

  r = resolve({"proto=https"}, {"198.51.100.9"});
  EXPECT_EQ(r.ip, "198.51.100.9");
  EXPECT_EQ(r.proto, "https");

  // Untrusted peer: its headers are not believed.
  r = resolve({"for=203.0.113.20;proto=https"}, {"1.2.3.4"}, {"https"}, "198.51.100.50");
  EXPECT_EQ(r.ip, "198.51.100.50");
  EXPECT_EQ(r.proto, "http");
}

TEST(Forwarded, NodeForms) {
  EXPECT_EQ(node("203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(node("203.0.113.9:4711"), "203.0.113.9");
  EXPECT_EQ(node("\"203.0.113.9:4711\""), "203.0.113.9");
  EXPECT_EQ(node("[2001:db8::1]"), "2001:db8::1");
  EXPECT_EQ(node("\"[2001:db8::1]\""), "2001:db8::1");
  EXPECT_EQ(node("[2001:db8::1]:4711"), "2001:db8::1");
  EXPECT_EQ(node("\"[2001:db8::1]:4711\""), "2001:db8::1");
  EXPECT_EQ(node("2001:db8::1"), "2001:db8::1");
  EXPECT_EQ(node("::ffff:203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(node("[::ffff:203.0.113.9]:80"), "203.0.113.9");
  EXPECT_EQ(node("203.0.113.9:_port-1.x"), "203.0.113.9");  // RFC 7239 obfport
  EXPECT_EQ(node("203.0.113.9:65535"), "203.0.113.9");
}

TEST(Forwarded, BadNodes) {
  for (std::string_view bad : {"",
                               "\"\"",
                               "\"",
                               "unknown",
                               "_hidden",
                               "_",
                               "garbage",
                               "1.2.3",
                               "203.0.113.9:",
                               "203.0.113.9:123456",
                               "203.0.113.9:_",
                               "203.0.113.9:4711:1",
                               "203.0.113.9 :80",
                               "[2001:db8::1",
                               "2001:db8::1]",
                               "[2001:db8::1]4711",
                               "[2001:db8::1]:",
                               "[]",
                               "[]:80",
                               "[2001:db8::1]:80:80",
                               "[fe80::1%eth0]",
                               "\"203.0.113.9",
                               "'203.0.113.9'",
                               "[2001:db8::1]:_",
                               "203.0.113.9:+80"}) {
    EXPECT_EQ(node(bad), "-") << bad;
  }
}

TEST(Forwarded, ChainWalkedFromTheRight) {
  // Trusted addresses on the right are skipped, whichever their family.
  EXPECT_EQ(clientIp({}, {"1.1.1.1, 2.2.2.2, 10.1.1.1, fd00::5, 10.2.2.2"}), "2.2.2.2");
  // A trusted address left of the client does not matter.
  EXPECT_EQ(clientIp({}, {"10.9.9.9, 2.2.2.2, 10.1.1.1"}), "2.2.2.2");
  // All trusted: the leftmost.
  EXPECT_EQ(clientIp({}, {"10.3.3.3, 10.2.2.2, fd00::1"}), "10.3.3.3");
  EXPECT_EQ(clientIp({}, {"fd00::1, 10.2.2.2"}), "fd00::1");
  // One address.
  EXPECT_EQ(clientIp({}, {"2001:db8::9"}), "2001:db8::9");
  EXPECT_EQ(clientIp({"for=\"[2001:db8::9]:4711\""}, {}), "2001:db8::9");
}

TEST(Forwarded, EmptyChainGivesThePeer) {
  EXPECT_EQ(clientIp({}, {}), "10.0.0.5");
  EXPECT_EQ(clientIp({""}, {""}), "10.0.0.5");
  EXPECT_EQ(clientIp({"for=unknown", "for=_hidden"}, {"unknown, , _x, garbage"}), "10.0.0.5");
  EXPECT_EQ(resolve({}, {}, {}, "fd00::77").ip, "fd00::77");
}

TEST(Forwarded, InvalidTokensSkipped) {
  EXPECT_EQ(clientIp({}, {"1.1.1.1, unknown, 10.0.0.9"}), "1.1.1.1");
  EXPECT_EQ(clientIp({}, {"1.1.1.1, 2.2.2.2, unknown"}), "2.2.2.2");
  EXPECT_EQ(clientIp({"for=1.1.1.1, for=unknown, for=_secret, for=10.0.0.1"}, {}), "1.1.1.1");
}

TEST(Forwarded, XffForms) {
  EXPECT_EQ(clientIp({}, {"203.0.113.9:4711"}), "203.0.113.9");
  EXPECT_EQ(clientIp({}, {"[2001:db8::1]:4711, 10.0.0.1"}), "2001:db8::1");
  EXPECT_EQ(clientIp({}, {"\"[2001:db8::1]\""}), "2001:db8::1");
  EXPECT_EQ(clientIp({}, {"  1.1.1.1\t,\t2.2.2.2  ,,, "}), "2.2.2.2");
  EXPECT_EQ(clientIp({}, {"::ffff:2.2.2.2"}), "2.2.2.2");
  EXPECT_EQ(clientIp({}, {"::ffff:10.1.1.1, 10.2.2.2"}), "10.1.1.1");  // mapped is trusted too
}

TEST(Forwarded, SeveralLinesAreOneList) {
  EXPECT_EQ(clientIp({}, {"1.1.1.1", "2.2.2.2, 10.0.0.1", "10.0.0.2"}), "2.2.2.2");
  EXPECT_EQ(clientIp({}, {"10.0.0.3", "", "10.0.0.1"}), "10.0.0.3");
  EXPECT_EQ(clientIp({"for=1.1.1.1", "for=2.2.2.2;proto=http", "for=10.0.0.7"}, {}), "2.2.2.2");
  // A line ends its element: a dangling element does not swallow the next line.
  EXPECT_EQ(clientIp({"for=1.1.1.1;by=x", "for=2.2.2.2"}, {}), "2.2.2.2");
  EXPECT_EQ(clientIp({"for=\"1.1.1.1", "for=2.2.2.2"}, {}), "2.2.2.2");
}

TEST(Forwarded, ForwardedBeatsXffOnlyWithAValidFor) {
  EXPECT_EQ(clientIp({"for=2.2.2.2"}, {"3.3.3.3"}), "2.2.2.2");
  // A valid but trusted for= still selects the Forwarded chain.
  EXPECT_EQ(clientIp({"for=10.1.1.1"}, {"3.3.3.3"}), "10.1.1.1");
  EXPECT_EQ(clientIp({"for=unknown"}, {"3.3.3.3"}), "3.3.3.3");
  EXPECT_EQ(clientIp({"by=10.0.0.1;host=example.com"}, {"3.3.3.3"}), "3.3.3.3");
  EXPECT_EQ(clientIp({"garbage"}, {"3.3.3.3"}), "3.3.3.3");
}

TEST(Forwarded, PairSyntax) {
  // Names case-insensitive, OWS around separators, any pair order.
  EXPECT_EQ(clientIp({"FOR=2.2.2.2"}, {}), "2.2.2.2");
  EXPECT_EQ(clientIp({"By=10.0.0.1 ; For=2.2.2.2 ;Proto=https"}, {}), "2.2.2.2");
  EXPECT_EQ(clientIp({" for=1.1.1.1 ,\tfor=2.2.2.2\t, for=10.0.0.2 "}, {}), "2.2.2.2");
  // Empty pairs and elements.
  EXPECT_EQ(clientIp({";;for=2.2.2.2;;,,"}, {}), "2.2.2.2");
  // Quoted values: separators inside quotes are data, escapes undone.
  EXPECT_EQ(clientIp({"host=\"a,for=9.9.9.9;b\";for=2.2.2.2"}, {}), "2.2.2.2");
  EXPECT_EQ(clientIp({"for=\"\\2.2.2.\\2\""}, {}), "2.2.2.2");
  EXPECT_EQ(clientIp({"for=\"[2001:db8::cafe]\", for=10.0.0.1"}, {}), "2001:db8::cafe");
  // Only an element's first for= counts.
  EXPECT_EQ(clientIp({"for=2.2.2.2;for=3.3.3.3"}, {}), "2.2.2.2");
  EXPECT_EQ(clientIp({"for=unknown;for=3.3.3.3"}, {"4.4.4.4"}), "4.4.4.4");
}

TEST(Forwarded, MalformedPairsSkipped) {
  EXPECT_EQ(clientIp({"for 2.2.2.2;for=3.3.3.3"}, {}), "3.3.3.3");
  EXPECT_EQ(clientIp({"for = 9.9.9.9;for=3.3.3.3"}, {}), "3.3.3.3");
  EXPECT_EQ(clientIp({"=9.9.9.9;for=3.3.3.3"}, {}), "3.3.3.3");
  EXPECT_EQ(clientIp({"for=;for=3.3.3.3"}, {}), "3.3.3.3");
  EXPECT_EQ(clientIp({"for=9.9.9.9 x;for=3.3.3.3"}, {}), "3.3.3.3");
  EXPECT_EQ(clientIp({"for=\"9.9.9.9\"x, for=3.3.3.3"}, {}), "3.3.3.3");
  EXPECT_EQ(clientIp({"f(o)r=9.9.9.9, for=3.3.3.3"}, {}), "3.3.3.3");
  EXPECT_EQ(clientIp({"for=9.9.9.9\"; for=3.3.3.3\"", "for=4.4.4.4"}, {}), "4.4.4.4");
  // Unterminated quote: the rest of the line is lost, the chain falls back.
  EXPECT_EQ(clientIp({"for=\"2.2.2.2, for=3.3.3.3"}, {"5.5.5.5"}), "5.5.5.5");
  EXPECT_EQ(clientIp({"for=\"2.2.2.2\\"}, {"5.5.5.5"}), "5.5.5.5");
  EXPECT_EQ(clientIp({"for=\"\\"}, {"5.5.5.5"}), "5.5.5.5");
  // Too long to be an address.
  std::string long_value = "for=\"" + std::string(300, '1') + "\";proto=https";
  EXPECT_EQ(resolve({long_value}, {"5.5.5.5"}).ip, "5.5.5.5");
  EXPECT_EQ(resolve({long_value}, {"5.5.5.5"}).proto, "https");
}

TEST(Forwarded, ProtoFromForwarded) {
  EXPECT_EQ(proto({"proto=https"}, {}), "https");
  EXPECT_EQ(proto({"proto=HTTPS"}, {}), "https");
  EXPECT_EQ(proto({"proto=\"https\""}, {}), "https");
  EXPECT_EQ(proto({"proto=http"}, {"https"}, true), "http");  // Forwarded first
  // The first *valid* proto wins; invalid ones are skipped.
  EXPECT_EQ(proto({"proto=ftp, proto=https, proto=http"}, {}), "https");
  EXPECT_EQ(proto({"for=1.1.1.1", "proto=http;for=2.2.2.2", "proto=https"}, {}), "http");
  EXPECT_EQ(proto({"proto=https;proto=http"}, {}), "https");
  EXPECT_EQ(proto({"proto=wss"}, {"https"}), "https");
  EXPECT_EQ(proto({"proto=\"ht\\tps\""}, {}), "https");
}

TEST(Forwarded, ProtoFromXForwardedProto) {
  EXPECT_EQ(proto({}, {"https"}), "https");
  EXPECT_EQ(proto({}, {" HTTPS "}), "https");
  EXPECT_EQ(proto({}, {"http"}, true), "http");
  EXPECT_EQ(proto({}, {"https, http"}), "https");
  EXPECT_EQ(proto({}, {"http", "https"}), "http");
  EXPECT_EQ(proto({}, {"", " , https"}), "https");  // empty elements do not count
  // Only the first element counts, and only http/https.
  EXPECT_EQ(proto({}, {"wss, https"}), "http");
  EXPECT_EQ(proto({}, {"wss, http"}, true), "https");
  EXPECT_EQ(proto({}, {"\"https\""}), "http");
  EXPECT_EQ(proto({}, {}, true), "https");
  EXPECT_EQ(proto({}, {}), "http");
}

TEST(Forwarded, Ipv6PeerAndMappedPeer) {
  EXPECT_EQ(resolve({}, {"2001:db8::2"}, {}, "fd00::1").ip, "2001:db8::2");
  EXPECT_EQ(resolve({}, {"2001:db8::2"}, {}, "::ffff:10.0.0.5").ip, "2001:db8::2");
  EXPECT_EQ(resolve({}, {"2001:db8::2"}, {}, "2001:db8::1").ip, "2001:db8::1");  // untrusted
}

// Arbitrary bytes never crash or read out of bounds (run under ASan to mean it).
TEST(Forwarded, ArbitraryBytes) {
  const std::string_view alphabet = "for=\"\\[]:;, \t_1.2f0d:x=proto=https";
  uint32_t seed = 12345;
  std::string buf;
  for (int round = 0; round < 20000; ++round) {
    buf.clear();
    size_t len = (seed >> 8) % 40;
    for (size_t i = 0; i < len; ++i) {
      seed = seed * 1103515245 + 12345;
      buf.push_back(alphabet[(seed >> 16) % alphabet.size()]);
    }
    seed = seed * 1103515245 + 12345;
    std::string_view line = buf;
    net::IpSet trusted;
    ASSERT_TRUE(trusted.addEntry("0.0.0.0/0"));
    Lines lines{line};
    ClientAddress c = resolveClient(trusted, ip("10.0.0.5"), false, lines, lines, lines);
    char out[net::kIpTextCap];
    EXPECT_GT(net::formatIp(c.ip, out, sizeof out), 0u);
  }
}

}  // namespace
}  // namespace rover::http

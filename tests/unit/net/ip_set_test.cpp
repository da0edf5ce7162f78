#include "net/ip_set.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>

namespace rover::net {
namespace {

IpAddr ip(std::string_view text) {
  IpAddr a;
  EXPECT_TRUE(parseIp(text, &a)) << text;
  return a;
}

std::string text(const IpAddr& a) {
  char buf[kIpTextCap];
  size_t n = formatIp(a, buf, sizeof buf);
  return std::string(buf, n);
}

// Parses and formats back: the canonical text, or "" when invalid.
std::string roundTrip(std::string_view in) {
  IpAddr a;
  return parseIp(in, &a) ? text(a) : "";
}

bool contains(const IpSet& set, std::string_view addr) { return set.contains(ip(addr)); }

TEST(IpAddr, ParsesIpv4) {
  IpAddr a = ip("203.0.113.9");
  EXPECT_TRUE(a.v4);
  const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 9};
  EXPECT_EQ(0, std::memcmp(a.b, mapped, 16));
  EXPECT_EQ(roundTrip("0.0.0.0"), "0.0.0.0");
  EXPECT_EQ(roundTrip("255.255.255.255"), "255.255.255.255");
  EXPECT_EQ(roundTrip("10.0.0.1"), "10.0.0.1");
}

TEST(IpAddr, RejectsBadIpv4) {
  for (std::string_view bad :
       {"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.", ".1.2.3", "1..2.3", "01.2.3.4", "1.2.3.04",
        "1234.0.0.1", "1.2.3.4 ", " 1.2.3.4", "1.2.3.a", "1.2.3.4/8", "-1.2.3.4", "0x1.2.3.4",
        "4294967295", "1.2.3.+4"}) {
    IpAddr a;
    a.b[0] = 42;
    EXPECT_FALSE(parseIp(bad, &a)) << bad;
    EXPECT_EQ(a.b[0], 42) << "output untouched on failure: " << bad;
  }
}

TEST(IpAddr, ParsesIpv6) {
  EXPECT_EQ(roundTrip("2001:db8::1"), "2001:db8::1");
  EXPECT_EQ(roundTrip("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
  EXPECT_EQ(roundTrip("::"), "::");
  EXPECT_EQ(roundTrip("::1"), "::1");
  EXPECT_EQ(roundTrip("fe80::"), "fe80::");
  EXPECT_EQ(roundTrip("1:2:3:4:5:6:7:8"), "1:2:3:4:5:6:7:8");
  EXPECT_EQ(roundTrip("1:2:3:4:5:6:7::"), "1:2:3:4:5:6:7:0");
  EXPECT_EQ(roundTrip("::2:3:4:5:6:7:8"), "0:2:3:4:5:6:7:8");
  EXPECT_EQ(roundTrip("1:2:3:4:5:6:1.2.3.4"), "1:2:3:4:5:6:102:304");
  EXPECT_EQ(roundTrip("0001:0db8::00ff"), "1:db8::ff");
  EXPECT_FALSE(ip("2001:db8::1").v4);
  EXPECT_FALSE(ip("::1").v4);
}

TEST(IpAddr, MappedIpv6IsIpv4) {
  IpAddr a = ip("::ffff:1.2.3.4");
  EXPECT_TRUE(a.v4);
  EXPECT_EQ(a, ip("1.2.3.4"));
  EXPECT_EQ(text(a), "1.2.3.4");
  EXPECT_EQ(roundTrip("::FFFF:0102:0304"), "1.2.3.4");
  EXPECT_EQ(roundTrip("0:0:0:0:0:ffff:10.0.0.1"), "10.0.0.1");
  // Not mapped: IPv4-compatible and the SIIT prefix stay IPv6.
  EXPECT_FALSE(ip("::1.2.3.4").v4);
  EXPECT_FALSE(ip("::ffff:0:1.2.3.4").v4);
}

TEST(IpAddr, RejectsBadIpv6) {
  for (std::string_view bad : {":",
                               ":::",
                               "1:::2",
                               "1::2::3",
                               ":1::2",
                               "1::2:",
                               "1:2:3:4:5:6:7",
                               "1:2:3:4:5:6:7:8:9",
                               "1:2:3:4:5:6:7:8::",
                               "::1:2:3:4:5:6:7:8",
                               "12345::1",
                               "g::1",
                               "[::1]",
                               "fe80::1%eth0",
                               "::1.2.3",
                               "1.2.3.4::",
                               "::1.2.3.4:1",
                               "1:2:3:4:5:6:7:1.2.3.4",
                               "::256.0.0.1",
                               ":: 1",
                               "2001:db8::1:"}) {
    IpAddr a;
    EXPECT_FALSE(parseIp(bad, &a)) << bad;
  }
}

TEST(IpAddr, FromSockaddr) {
  sockaddr_storage ss{};
  auto* in = reinterpret_cast<sockaddr_in*>(&ss);
  in->sin_family = AF_INET;
  inet_pton(AF_INET, "192.0.2.7", &in->sin_addr);
  EXPECT_EQ(fromSockaddr(ss), ip("192.0.2.7"));
  EXPECT_TRUE(fromSockaddr(ss).v4);

  ss = {};
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
  in6->sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::ffff:192.0.2.7", &in6->sin6_addr);
  IpAddr mapped = fromSockaddr(ss);
  EXPECT_TRUE(mapped.v4);
  EXPECT_EQ(text(mapped), "192.0.2.7");

  inet_pton(AF_INET6, "2001:db8::5", &in6->sin6_addr);
  EXPECT_FALSE(fromSockaddr(ss).v4);
  EXPECT_EQ(text(fromSockaddr(ss)), "2001:db8::5");

  ss = {};
  ss.ss_family = AF_UNIX;
  EXPECT_EQ(text(fromSockaddr(ss)), "::");
}

TEST(IpAddr, FormatNeedsFullCap) {
  char buf[kIpTextCap];
  buf[0] = 'x';
  EXPECT_EQ(formatIp(ip("1.2.3.4"), buf, kIpTextCap - 1), 0u);
  EXPECT_STREQ(buf, "");
  IpAddr longest = ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_EQ(formatIp(longest, buf, sizeof buf), 39u);
  EXPECT_STREQ(buf, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

TEST(IpSet, EmptySetContainsNothing) {
  IpSet set;
  EXPECT_TRUE(set.empty());
  EXPECT_FALSE(contains(set, "10.0.0.1"));
  EXPECT_FALSE(contains(set, "::"));
}

TEST(IpSet, Ipv4CidrBoundaries) {
  IpSet set;
  ASSERT_TRUE(set.addEntry("10.0.0.0/8"));
  EXPECT_FALSE(set.empty());
  EXPECT_TRUE(contains(set, "10.0.0.0"));
  EXPECT_TRUE(contains(set, "10.255.255.255"));
  EXPECT_TRUE(contains(set, "::ffff:10.1.2.3"));
  EXPECT_FALSE(contains(set, "9.255.255.255"));
  EXPECT_FALSE(contains(set, "11.0.0.0"));
  EXPECT_FALSE(contains(set, "::a01:203"));  // 10.1.2.3's bits, not mapped
}

TEST(IpSet, HostBitsIgnored) {
  IpSet set;
  ASSERT_TRUE(set.addCidr("192.168.1.77/24"));
  EXPECT_TRUE(contains(set, "192.168.1.0"));
  EXPECT_TRUE(contains(set, "192.168.1.255"));
  EXPECT_FALSE(contains(set, "192.168.2.0"));
}

TEST(IpSet, Slash32And128AreOneAddress) {
  IpSet set;
  ASSERT_TRUE(set.addEntry("192.0.2.7/32"));
  ASSERT_TRUE(set.addEntry("2001:db8::7/128"));
  EXPECT_TRUE(contains(set, "192.0.2.7"));
  EXPECT_FALSE(contains(set, "192.0.2.6"));
  EXPECT_FALSE(contains(set, "192.0.2.8"));
  EXPECT_TRUE(contains(set, "2001:db8::7"));
  EXPECT_FALSE(contains(set, "2001:db8::6"));
  EXPECT_FALSE(contains(set, "2001:db8::8"));
}

TEST(IpSet, SlashZero) {
  IpSet v4;
  ASSERT_TRUE(v4.addEntry("0.0.0.0/0"));  // every IPv4 peer, no IPv6 one
  EXPECT_TRUE(contains(v4, "0.0.0.0"));
  EXPECT_TRUE(contains(v4, "255.255.255.255"));
  EXPECT_TRUE(contains(v4, "::ffff:8.8.8.8"));
  EXPECT_FALSE(contains(v4, "::1"));
  EXPECT_FALSE(contains(v4, "2001:db8::1"));

  IpSet all;
  ASSERT_TRUE(all.addEntry("::/0"));  // every peer, IPv4 ones included
  EXPECT_TRUE(contains(all, "::"));
  EXPECT_TRUE(contains(all, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_TRUE(contains(all, "1.2.3.4"));
}

TEST(IpSet, Ipv6Cidr) {
  IpSet set;
  ASSERT_TRUE(set.addEntry("fd00::/8"));
  EXPECT_TRUE(contains(set, "fd00::"));
  EXPECT_TRUE(contains(set, "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_FALSE(contains(set, "fc00::1"));
  EXPECT_FALSE(contains(set, "fe00::"));
  ASSERT_TRUE(set.addEntry("2001:db8:1::/64"));  // a prefix on the 64-bit boundary
  EXPECT_TRUE(contains(set, "2001:db8:1:0:ffff:ffff:ffff:ffff"));
  EXPECT_FALSE(contains(set, "2001:db8:1:1::"));
  ASSERT_TRUE(set.addEntry("2001:db8:2::/65"));
  EXPECT_TRUE(contains(set, "2001:db8:2:0:7fff:ffff:ffff:ffff"));
  EXPECT_FALSE(contains(set, "2001:db8:2:0:8000::"));
  // Length over 128 bits for IPv6 text, even for a mapped address.
  IpSet mapped;
  ASSERT_TRUE(mapped.addEntry("::ffff:10.0.0.0/104"));
  EXPECT_TRUE(contains(mapped, "10.200.0.1"));
  EXPECT_FALSE(contains(mapped, "11.0.0.0"));
}

TEST(IpSet, SingleAddress) {
  IpSet set;
  ASSERT_TRUE(set.addEntry("192.0.2.7"));
  ASSERT_TRUE(set.addEntry("::1"));
  EXPECT_TRUE(contains(set, "192.0.2.7"));
  EXPECT_TRUE(contains(set, "::ffff:192.0.2.7"));
  EXPECT_FALSE(contains(set, "192.0.2.8"));
  EXPECT_TRUE(contains(set, "::1"));
  EXPECT_FALSE(contains(set, "::2"));
  EXPECT_FALSE(contains(set, "::"));
}

TEST(IpSet, RangesAreInclusive) {
  IpSet set;
  ASSERT_TRUE(set.addEntry("10.0.0.1-10.0.0.255"));
  EXPECT_FALSE(contains(set, "10.0.0.0"));
  EXPECT_TRUE(contains(set, "10.0.0.1"));
  EXPECT_TRUE(contains(set, "10.0.0.128"));
  EXPECT_TRUE(contains(set, "10.0.0.255"));
  EXPECT_FALSE(contains(set, "10.0.1.0"));

  ASSERT_TRUE(set.addRange("2001:db8::10", "2001:db8::1:0"));
  EXPECT_TRUE(contains(set, "2001:db8::10"));
  EXPECT_TRUE(contains(set, "2001:db8::ffff"));
  EXPECT_TRUE(contains(set, "2001:db8::1:0"));
  EXPECT_FALSE(contains(set, "2001:db8::f"));
  EXPECT_FALSE(contains(set, "2001:db8::1:1"));

  ASSERT_TRUE(set.addEntry("192.0.2.9-192.0.2.9"));  // from == to
  EXPECT_TRUE(contains(set, "192.0.2.9"));
  EXPECT_FALSE(contains(set, "192.0.2.10"));
  ASSERT_TRUE(set.addEntry(" 172.16.0.1 - 172.16.0.3 "));
  EXPECT_TRUE(contains(set, "172.16.0.3"));
  ASSERT_TRUE(set.addRange("::ffff:1.2.3.4", "1.2.3.9"));  // both IPv4
  EXPECT_TRUE(contains(set, "1.2.3.9"));
}

TEST(IpSet, InvalidEntriesLeaveTheSetUnchanged) {
  IpSet set;
  for (std::string_view bad : {"",
                               " ",
                               "10.0.0.0/33",
                               "::/129",
                               "10.0.0.0/",
                               "/8",
                               "10.0.0.0/-1",
                               "10.0.0.0/8/8",
                               "10.0.0.0/a",
                               "10.0.0.0/ 8",
                               "10.0.0.0/0008",
                               "1.2.3",
                               "10.0.0.5-10.0.0.1",
                               "10.0.0.1-",
                               "-10.0.0.1",
                               "10.0.0.1-10.0.0.2-10.0.0.3",
                               "10.0.0.1-::1",
                               "::1-10.0.0.1",
                               "2001:db8::2-2001:db8::1",
                               "localhost",
                               "10.0.0.0/8,192.0.2.1",
                               "[::1]",
                               "fd00::/8x"}) {
    EXPECT_FALSE(set.addEntry(bad)) << bad;
  }
  EXPECT_TRUE(set.empty());
  EXPECT_FALSE(set.addCidr("10.0.0.1"));
  EXPECT_FALSE(set.addRange("10.0.0.5", "10.0.0.1"));
  EXPECT_TRUE(set.empty());
}

TEST(IpSet, OverlappingAndAdjacentEntriesMerge) {
  IpSet set;
  ASSERT_TRUE(set.addEntry("10.0.0.0/24"));
  ASSERT_TRUE(set.addEntry("10.0.2.0/24"));
  ASSERT_TRUE(set.addEntry("10.0.0.128-10.0.1.255"));  // bridges the two, adjacent to the second
  ASSERT_TRUE(set.addEntry("10.0.0.0/8"));             // swallows everything
  ASSERT_TRUE(set.addEntry("10.0.0.7"));
  EXPECT_TRUE(contains(set, "10.0.1.0"));
  EXPECT_TRUE(contains(set, "10.255.255.255"));
  EXPECT_FALSE(contains(set, "11.0.0.0"));
  ASSERT_TRUE(set.addEntry("::/0"));
  ASSERT_TRUE(set.addEntry("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));  // at the top end
  EXPECT_TRUE(contains(set, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_TRUE(contains(set, "::"));
}

TEST(IpSet, ManyDisjointEntries) {
  IpSet set;
  // Added out of order; odd third octets only.
  for (int i = 255; i >= 1; i -= 2) {
    ASSERT_TRUE(set.addEntry("10.0." + std::to_string(i) + ".0/24"));
  }
  for (int i = 0; i < 256; ++i) {
    std::string base = "10.0." + std::to_string(i) + ".";
    EXPECT_EQ(contains(set, base + "0"), i % 2 == 1) << base;
    EXPECT_EQ(contains(set, base + "255"), i % 2 == 1) << base;
  }
}

}  // namespace
}  // namespace rover::net

#include "client/address_policy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace rover::client {
namespace {

bool blocked(const char* text) {
  net::IpAddr a;
  EXPECT_TRUE(net::parseIp(text, &a)) << text;
  return isBlockedAddress(a);
}

TEST(AddressPolicy, BlockedRanges) {
  for (const char* a : {"0.0.0.0", "0.255.1.2", "127.0.0.1", "127.255.255.254", "10.0.0.1",
                        "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.0.1",
                        "169.254.169.254", "100.64.0.1", "100.127.255.255", "224.0.0.1",
                        "239.255.255.255", "255.255.255.255", "192.0.2.1", "198.51.100.7",
                        "203.0.113.200", "::", "::1", "fc00::1", "fdff::1", "fe80::1",
                        "febf::1", "ff02::1", "2001:db8::1", "::ffff:127.0.0.1",
                        "::ffff:10.1.2.3"}) {
    EXPECT_TRUE(blocked(a)) << a;
  }
}

TEST(AddressPolicy, PublicAddressesAllowed) {
  for (const char* a : {"1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.0", "172.15.255.255",
                        "172.32.0.0", "192.167.255.255", "192.169.0.0", "100.63.255.255",
                        "100.128.0.0", "169.253.255.255", "198.18.0.1", "223.255.255.255",
                        "2606:4700::1111", "2001:db9::1", "fec0::1", "::ffff:8.8.8.8"}) {
    EXPECT_FALSE(blocked(a)) << a;
  }
}

TEST(AddressPolicy, Sockaddrs) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &v4.sin_addr);
  EXPECT_TRUE(isBlockedSockaddr(reinterpret_cast<sockaddr*>(&v4), sizeof v4));
  inet_pton(AF_INET, "93.184.216.34", &v4.sin_addr);
  EXPECT_FALSE(isBlockedSockaddr(reinterpret_cast<sockaddr*>(&v4), sizeof v4));
  EXPECT_TRUE(isBlockedSockaddr(reinterpret_cast<sockaddr*>(&v4), 4));  // truncated

  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::ffff:192.168.1.1", &v6.sin6_addr);
  EXPECT_TRUE(isBlockedSockaddr(reinterpret_cast<sockaddr*>(&v6), sizeof v6));
  inet_pton(AF_INET6, "2606:4700::1111", &v6.sin6_addr);
  EXPECT_FALSE(isBlockedSockaddr(reinterpret_cast<sockaddr*>(&v6), sizeof v6));

  sockaddr unix_like{};
  unix_like.sa_family = AF_UNIX;
  EXPECT_TRUE(isBlockedSockaddr(&unix_like, sizeof unix_like));
  EXPECT_TRUE(isBlockedSockaddr(nullptr, 0));
}

}  // namespace
}  // namespace rover::client

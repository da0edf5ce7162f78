#include "net/resolver.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <memory>

namespace rover::net {
namespace {

TEST(Resolver, LiteralHosts) {
  EXPECT_TRUE(isLiteralHost(""));
  EXPECT_TRUE(isLiteralHost("/var/run/postgresql"));
  EXPECT_TRUE(isLiteralHost("@abstract"));
  EXPECT_TRUE(isLiteralHost("127.0.0.1"));
  EXPECT_TRUE(isLiteralHost("::1"));
  EXPECT_TRUE(isLiteralHost("2001:db8::7"));
  EXPECT_FALSE(isLiteralHost("localhost"));
  EXPECT_FALSE(isLiteralHost("db.internal"));
  EXPECT_FALSE(isLiteralHost("127.0.0.1.nip.io"));
}

// Waits for the inbox and runs what arrived, as the worker does.
int drainCalls(Loop& loop) {
  pollfd p{loop.inbox().fd(), POLLIN, 0};
  if (poll(&p, 1, 10'000) != 1) return 0;
  std::vector<std::unique_ptr<InboxMessage>> msgs;
  loop.inbox().drain(&msgs);
  for (auto& m : msgs) {
    if (m->kind == kMsgCall) static_cast<CallMessage*>(m.get())->run(static_cast<CallMessage*>(m.get()));
  }
  return static_cast<int>(msgs.size());
}

TEST(Resolver, AnswerComesThroughTheInbox) {
  Loop loop;
  auto r = std::make_shared<Resolution>();
  r->host = "localhost";
  int calls = 0;
  r->data = &calls;
  r->done = [](Resolution* res) { ++*static_cast<int*>(res->data); };
  resolveAsync(&loop, r);
  ASSERT_EQ(drainCalls(loop), 1);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(r->error, "");
  ASSERT_FALSE(r->addresses.empty());
  for (const auto& a : r->addresses) EXPECT_TRUE(a == "127.0.0.1" || a == "::1") << a;
}

TEST(Resolver, UnknownNameIsAnError) {
  Loop loop;
  auto r = std::make_shared<Resolution>();
  r->host = "no-such-host.invalid";
  r->done = [](Resolution*) {};
  resolveAsync(&loop, r);
  ASSERT_EQ(drainCalls(loop), 1);
  EXPECT_NE(r->error, "");
  EXPECT_TRUE(r->addresses.empty());
}

}  // namespace
}  // namespace rover::net

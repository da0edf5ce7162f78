#include "net/timers.h"

#include <gtest/gtest.h>

#include <vector>

namespace rover::net {
namespace {

enum Kind { kRead = 0, kWrite = 1, kIdle = 2 };

class TimerListsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lists_.setLength(kRead, 100);
    lists_.setLength(kWrite, 50);
    lists_.setLength(kIdle, 1000);
  }
  // Pops every node expired at now_ms, with its kind.
  std::vector<std::pair<TimerNode*, int>> popAll(uint64_t now_ms) {
    std::vector<std::pair<TimerNode*, int>> out;
    int kind = -1;
    while (TimerNode* n = lists_.popExpired(now_ms, &kind)) out.emplace_back(n, kind);
    return out;
  }
  TimerLists<3> lists_;
};

TEST_F(TimerListsTest, ArmSetsDeadlineAndKind) {
  TimerNode n;
  lists_.arm(&n, kRead, 1000);
  EXPECT_EQ(n.deadline_ms, 1100u);
  EXPECT_EQ(n.timer_kind, kRead);
  int kind = -1;
  EXPECT_EQ(lists_.popExpired(1099, &kind), nullptr);
  EXPECT_EQ(lists_.popExpired(1100, &kind), &n);
  EXPECT_EQ(kind, kRead);
  EXPECT_EQ(n.timer_kind, -1);
  EXPECT_EQ(n.timer_prev, nullptr);
  EXPECT_EQ(n.timer_next, nullptr);
  EXPECT_EQ(lists_.popExpired(UINT64_MAX, &kind), nullptr);
}

TEST_F(TimerListsTest, PopsInArmingOrder) {
  TimerNode a, b, c;
  lists_.arm(&a, kRead, 0);
  lists_.arm(&b, kRead, 10);
  lists_.arm(&c, kRead, 20);
  auto got = popAll(115);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].first, &a);
  EXPECT_EQ(got[1].first, &b);
  got = popAll(120);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, &c);
}

TEST_F(TimerListsTest, RearmMovesToTail) {
  TimerNode a, b, c;
  lists_.arm(&a, kRead, 0);
  lists_.arm(&b, kRead, 0);
  lists_.arm(&c, kRead, 0);
  lists_.arm(&a, kRead, 5);  // a moves behind c with a later deadline
  EXPECT_EQ(a.deadline_ms, 105u);
  auto got = popAll(100);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].first, &b);
  EXPECT_EQ(got[1].first, &c);
  got = popAll(105);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, &a);
}

TEST_F(TimerListsTest, RearmChangesKind) {
  TimerNode a;
  lists_.arm(&a, kIdle, 0);
  lists_.arm(&a, kWrite, 0);
  EXPECT_EQ(a.timer_kind, kWrite);
  auto got = popAll(50);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].second, kWrite);
  EXPECT_TRUE(popAll(UINT64_MAX).empty());
}

TEST_F(TimerListsTest, DisarmHeadMiddleTail) {
  TimerNode n[5];
  for (auto& x : n) lists_.arm(&x, kRead, 0);
  lists_.disarm(&n[0]);  // head
  lists_.disarm(&n[2]);  // middle
  lists_.disarm(&n[4]);  // tail
  EXPECT_EQ(n[2].timer_kind, -1);
  auto got = popAll(100);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].first, &n[1]);
  EXPECT_EQ(got[1].first, &n[3]);
}

TEST_F(TimerListsTest, DisarmOnlyAndUnarmedNode) {
  TimerNode a, b;
  lists_.disarm(&a);  // never armed
  lists_.arm(&a, kRead, 0);
  lists_.disarm(&a);
  lists_.disarm(&a);  // twice
  EXPECT_TRUE(popAll(UINT64_MAX).empty());
  // The list is usable again after becoming empty.
  lists_.arm(&b, kRead, 0);
  auto got = popAll(100);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, &b);
}

TEST_F(TimerListsTest, MultipleKindsExpireIndependently) {
  TimerNode r, w, i;
  lists_.arm(&r, kRead, 0);   // 100
  lists_.arm(&w, kWrite, 0);  // 50
  lists_.arm(&i, kIdle, 0);   // 1000
  auto got = popAll(49);
  EXPECT_TRUE(got.empty());
  got = popAll(50);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, &w);
  EXPECT_EQ(got[0].second, kWrite);
  got = popAll(999);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, &r);
  EXPECT_EQ(got[0].second, kRead);
  got = popAll(1000);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, &i);
  EXPECT_EQ(got[0].second, kIdle);
}

TEST_F(TimerListsTest, PopExpiredAcrossKindsReportsEachKind) {
  TimerNode r1, r2, w1;
  lists_.arm(&r1, kRead, 0);
  lists_.arm(&w1, kWrite, 0);
  lists_.arm(&r2, kRead, 0);
  auto got = popAll(10000);
  ASSERT_EQ(got.size(), 3u);
  int reads = 0, writes = 0;
  std::vector<TimerNode*> read_order;
  for (auto& [n, k] : got) {
    if (k == kRead) {
      ++reads;
      read_order.push_back(n);
    } else if (k == kWrite) {
      ++writes;
      EXPECT_EQ(n, &w1);
    }
  }
  EXPECT_EQ(reads, 2);
  EXPECT_EQ(writes, 1);
  EXPECT_EQ(read_order, (std::vector<TimerNode*>{&r1, &r2}));
}

}  // namespace
}  // namespace rover::net

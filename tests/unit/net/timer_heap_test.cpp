#include "net/timer_heap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

namespace rover::net {
namespace {

// Pops everything and checks (deadline, seq) never goes backwards.
std::vector<HeapTimer*> popAllInOrder(TimerHeap& h) {
  std::vector<HeapTimer*> out;
  while (HeapTimer* t = h.popExpired(UINT64_MAX)) {
    EXPECT_FALSE(t->armed());
    if (!out.empty()) {
      const HeapTimer* prev = out.back();
      EXPECT_TRUE(prev->deadline_ms < t->deadline_ms ||
                  (prev->deadline_ms == t->deadline_ms && prev->seq < t->seq));
    }
    out.push_back(t);
  }
  EXPECT_TRUE(h.empty());
  return out;
}

TEST(TimerHeap, EmptyHeap) {
  TimerHeap h;
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.size(), 0u);
  EXPECT_EQ(h.nextDeadline(), UINT64_MAX);
  EXPECT_EQ(h.popExpired(UINT64_MAX), nullptr);
}

TEST(TimerHeap, RandomDeadlinesPopSorted) {
  std::mt19937_64 rng(42);
  std::vector<HeapTimer> timers(1000);
  std::vector<uint64_t> deadlines;
  TimerHeap h;
  for (auto& t : timers) {
    uint64_t d = rng() % 100000;
    deadlines.push_back(d);
    h.arm(&t, d);
  }
  std::sort(deadlines.begin(), deadlines.end());
  std::vector<HeapTimer*> popped = popAllInOrder(h);
  ASSERT_EQ(popped.size(), deadlines.size());
  for (size_t i = 0; i < popped.size(); ++i) EXPECT_EQ(popped[i]->deadline_ms, deadlines[i]);
}

TEST(TimerHeap, EqualDeadlinesFireInArmingOrder) {
  std::vector<HeapTimer> timers(50);
  TimerHeap h;
  // Arm in a shuffled order of addresses so FIFO cannot come from layout.
  std::vector<size_t> order(timers.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  for (size_t i : order) h.arm(&timers[i], 100);
  for (size_t i : order) EXPECT_EQ(h.popExpired(100), &timers[i]);
  EXPECT_TRUE(h.empty());
}

class TimerHeapDisarm : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937_64 rng(1);
    timers_.resize(64);
    for (auto& t : timers_) h_.arm(&t, rng() % 50);  // with ties
  }
  // The armed timer at heap position pos.
  HeapTimer* atHeapIndex(uint32_t pos) {
    for (auto& t : timers_)
      if (t.heap_index == pos) return &t;
    return nullptr;
  }
  void disarmAndCheck(HeapTimer* victim) {
    ASSERT_NE(victim, nullptr);
    h_.disarm(victim);
    EXPECT_FALSE(victim->armed());
    EXPECT_EQ(h_.size(), timers_.size() - 1);
    std::vector<HeapTimer*> popped = popAllInOrder(h_);
    EXPECT_EQ(popped.size(), timers_.size() - 1);
    EXPECT_EQ(std::count(popped.begin(), popped.end(), victim), 0);
  }
  std::vector<HeapTimer> timers_;
  TimerHeap h_;
};

TEST_F(TimerHeapDisarm, Head) { disarmAndCheck(atHeapIndex(0)); }
TEST_F(TimerHeapDisarm, Tail) { disarmAndCheck(atHeapIndex(static_cast<uint32_t>(h_.size() - 1))); }
TEST_F(TimerHeapDisarm, Middle) {
  disarmAndCheck(atHeapIndex(static_cast<uint32_t>(h_.size() / 2)));
}

TEST(TimerHeap, DisarmFromMiddleNeedingSiftUp) {
  // Heap [0, 100, 1, 101, 102, 2, 3]: removing 101 moves the last node (3)
  // under 100, where it must rise.
  std::vector<uint64_t> ds = {0, 100, 1, 101, 102, 2, 3};
  std::vector<HeapTimer> timers(ds.size());
  TimerHeap h;
  for (size_t i = 0; i < ds.size(); ++i) h.arm(&timers[i], ds[i]);
  h.disarm(&timers[3]);
  std::vector<uint64_t> got;
  for (HeapTimer* t : popAllInOrder(h)) got.push_back(t->deadline_ms);
  EXPECT_EQ(got, (std::vector<uint64_t>{0, 1, 2, 3, 100, 102}));
}

TEST(TimerHeap, ManyRandomDisarmsKeepHeapValid) {
  std::mt19937_64 rng(3);
  std::vector<HeapTimer> timers(2000);
  TimerHeap h;
  for (auto& t : timers) h.arm(&t, rng() % 1000);
  size_t armed = timers.size();
  for (size_t i = 0; i < timers.size(); i += 3) {
    h.disarm(&timers[i]);
    --armed;
  }
  EXPECT_EQ(h.size(), armed);
  EXPECT_EQ(popAllInOrder(h).size(), armed);
}

TEST(TimerHeap, RearmMovesTimer) {
  HeapTimer a, b, c;
  TimerHeap h;
  h.arm(&a, 10);
  h.arm(&b, 20);
  h.arm(&c, 30);
  h.arm(&a, 25);  // later
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(h.nextDeadline(), 20u);
  h.arm(&c, 5);  // earlier
  EXPECT_EQ(h.nextDeadline(), 5u);
  EXPECT_EQ(h.popExpired(100), &c);
  EXPECT_EQ(h.popExpired(100), &b);
  EXPECT_EQ(h.popExpired(100), &a);
  EXPECT_EQ(h.popExpired(100), nullptr);
}

TEST(TimerHeap, RearmToSameDeadlineGoesBehindTies) {
  HeapTimer a, b;
  TimerHeap h;
  h.arm(&a, 10);
  h.arm(&b, 10);
  h.arm(&a, 10);
  EXPECT_EQ(h.popExpired(10), &b);
  EXPECT_EQ(h.popExpired(10), &a);
}

TEST(TimerHeap, DisarmUnarmedIsNoOp) {
  HeapTimer a, b;
  TimerHeap h;
  h.disarm(&a);
  EXPECT_TRUE(h.empty());
  h.arm(&b, 5);
  h.disarm(&a);
  EXPECT_EQ(h.size(), 1u);
  h.disarm(&b);
  h.disarm(&b);
  EXPECT_TRUE(h.empty());
  EXPECT_FALSE(b.armed());
}

TEST(TimerHeap, PopExpiredRespectsNow) {
  HeapTimer a, b;
  TimerHeap h;
  h.arm(&a, 100);
  h.arm(&b, 200);
  EXPECT_EQ(h.popExpired(99), nullptr);
  EXPECT_EQ(h.popExpired(100), &a);
  EXPECT_EQ(h.popExpired(199), nullptr);
  EXPECT_TRUE(b.armed());
  EXPECT_EQ(h.popExpired(1000), &b);
  EXPECT_TRUE(h.empty());
}

TEST(TimerHeap, NextDeadlineTracksEarliest) {
  HeapTimer a, b, c;
  TimerHeap h;
  h.arm(&a, 50);
  EXPECT_EQ(h.nextDeadline(), 50u);
  h.arm(&b, 30);
  EXPECT_EQ(h.nextDeadline(), 30u);
  h.arm(&c, 40);
  h.disarm(&b);
  EXPECT_EQ(h.nextDeadline(), 40u);
  h.disarm(&c);
  h.disarm(&a);
  EXPECT_EQ(h.nextDeadline(), UINT64_MAX);
}

TEST(TimerHeap, TenThousandTimers) {
  constexpr size_t kCount = 10000;
  std::mt19937_64 rng(99);
  std::vector<HeapTimer> timers(kCount);
  TimerHeap h;
  for (auto& t : timers) h.arm(&t, rng() % 5000);
  // Re-arm a quarter, disarm a tenth.
  for (size_t i = 0; i < kCount; i += 4) h.arm(&timers[i], rng() % 5000);
  size_t disarmed = 0;
  for (size_t i = 1; i < kCount; i += 10, ++disarmed) h.disarm(&timers[i]);
  EXPECT_EQ(h.size(), kCount - disarmed);
  // Pop in time slices, as a loop would.
  size_t popped = 0;
  uint64_t last = 0;
  for (uint64_t now = 0; now < 5000; now += 100) {
    while (HeapTimer* t = h.popExpired(now)) {
      EXPECT_LE(t->deadline_ms, now);
      EXPECT_GE(t->deadline_ms, last);
      last = t->deadline_ms;
      ++popped;
    }
    EXPECT_GT(h.nextDeadline(), now);
  }
  popped += popAllInOrder(h).size();
  EXPECT_EQ(popped, kCount - disarmed);
}

}  // namespace
}  // namespace rover::net

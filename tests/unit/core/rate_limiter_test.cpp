// Tests of the process-wide token buckets (server-features.md §15a). Time is
// passed explicitly, so nothing here sleeps.
#include "core/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace rover::core {
namespace {

constexpr uint64_t kT0 = 1'000'000;  // an arbitrary monotonic start

// "prefix" followed by n (appended: GCC 12 warns falsely on "literal" + std::string).
std::string keyOf(std::string_view prefix, int n) {
  std::string key(prefix);
  key += std::to_string(n);
  return key;
}

// Takes `n` tokens at `now`, expecting each to be allowed.
void drain(RateLimiter& rl, const RateRule& rule, std::string_view key, uint64_t now, int n) {
  for (int i = 0; i < n; ++i) ASSERT_TRUE(rl.take(rule, key, now).allowed) << i;
}

TEST(RateLimiter, AllowsCapacityThenRefusesWithRetryAfter) {
  RateLimiter rl;
  const RateRule rule{1, 5, 60};
  for (uint32_t i = 0; i < 5; ++i) {
    RateDecision d = rl.take(rule, "1.2.3.4", kT0);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.limit, 5u);
    EXPECT_EQ(d.remaining, 4 - i);
    EXPECT_EQ(d.retry_after_secs, 0u);
  }
  RateDecision d = rl.take(rule, "1.2.3.4", kT0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.limit, 5u);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_EQ(d.retry_after_secs, 12u);  // one token per 60/5 s
  EXPECT_EQ(d.reset_secs, 60u);
}

TEST(RateLimiter, RefillAfterWindowOverCapacityGivesExactlyOneToken) {
  RateLimiter rl;
  const RateRule rule{1, 10, 60};  // a token every 6 s
  drain(rl, rule, "k", kT0, 10);
  EXPECT_FALSE(rl.take(rule, "k", kT0 + 5'999).allowed);
  RateDecision d = rl.take(rule, "k", kT0 + 6'000);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_FALSE(rl.take(rule, "k", kT0 + 6'000).allowed);
  // Two more intervals, two more tokens.
  drain(rl, rule, "k", kT0 + 18'000, 2);
  EXPECT_FALSE(rl.take(rule, "k", kT0 + 18'000).allowed);
}

TEST(RateLimiter, RefillIsExactWhenTheIntervalIsNotWholeMilliseconds) {
  RateLimiter rl;
  const RateRule rule{1, 7, 60};  // a token every 8571.43 ms
  drain(rl, rule, "k", kT0, 7);
  EXPECT_FALSE(rl.take(rule, "k", kT0 + 8'571).allowed);
  EXPECT_TRUE(rl.take(rule, "k", kT0 + 8'572).allowed);
  // Seven intervals after the drain is 60 s: the 7th token of the refill is
  // there at 60000 ms, not a millisecond before (no accumulated drift).
  drain(rl, rule, "k", kT0 + 59'999, 5);
  EXPECT_FALSE(rl.take(rule, "k", kT0 + 59'999).allowed);
  EXPECT_TRUE(rl.take(rule, "k", kT0 + 60'000).allowed);
}

TEST(RateLimiter, RemainingAndReset) {
  RateLimiter rl;
  const RateRule rule{1, 10, 60};
  RateDecision d = rl.take(rule, "k", kT0);
  EXPECT_EQ(d.remaining, 9u);
  EXPECT_EQ(d.reset_secs, 6u);  // one token short of full
  drain(rl, rule, "k", kT0, 3);
  d = rl.take(rule, "k", kT0);
  EXPECT_EQ(d.remaining, 5u);
  EXPECT_EQ(d.reset_secs, 30u);
  drain(rl, rule, "k", kT0, 5);
  d = rl.take(rule, "k", kT0 + 3'000);  // half a token back: still refused
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_EQ(d.retry_after_secs, 3u);
  EXPECT_EQ(d.reset_secs, 57u);
}

TEST(RateLimiter, SecondsAreRoundedUp) {
  RateLimiter rl;
  const RateRule rule{1, 3, 10};  // a token every 3.333 s
  drain(rl, rule, "k", kT0, 3);
  RateDecision d = rl.take(rule, "k", kT0);
  EXPECT_EQ(d.retry_after_secs, 4u);
  EXPECT_EQ(d.reset_secs, 10u);
  d = rl.take(rule, "k", kT0 + 1'000);
  EXPECT_EQ(d.retry_after_secs, 3u);
  EXPECT_EQ(d.reset_secs, 9u);
  d = rl.take(rule, "k", kT0 + 3'333);  // a thousandth of a second short
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_secs, 1u);
  d = rl.take(rule, "k", kT0 + 3'334);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_EQ(d.reset_secs, 10u);  // 9.9993 s
}

TEST(RateLimiter, RefusedRequestsTakeNothing) {
  RateLimiter rl;
  const RateRule rule{1, 2, 2};  // a token a second
  drain(rl, rule, "k", kT0, 2);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(rl.take(rule, "k", kT0 + 500).allowed);
  EXPECT_TRUE(rl.take(rule, "k", kT0 + 1'000).allowed);
}

TEST(RateLimiter, RefillStopsAtCapacity) {
  RateLimiter rl;
  const RateRule rule{1, 5, 5};
  drain(rl, rule, "k", kT0, 5);
  RateDecision d = rl.take(rule, "k", kT0 + 1'000'000'000);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 4u);
  EXPECT_EQ(d.reset_secs, 1u);
}

TEST(RateLimiter, KeysAreIndependent) {
  RateLimiter rl;
  const RateRule rule{1, 2, 60};
  drain(rl, rule, "10.0.0.1", kT0, 2);
  EXPECT_FALSE(rl.take(rule, "10.0.0.1", kT0).allowed);
  RateDecision d = rl.take(rule, "10.0.0.2", kT0);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1u);
  EXPECT_EQ(rl.size(), 2u);
}

TEST(RateLimiter, RuleIdsAreIndependentForTheSameKey) {
  RateLimiter rl;
  const RateRule global{1, 2, 60};
  const RateRule login{2, 2, 60};
  drain(rl, global, "k", kT0, 2);
  EXPECT_FALSE(rl.take(global, "k", kT0).allowed);
  RateDecision d = rl.take(login, "k", kT0);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1u);
  EXPECT_EQ(rl.size(), 2u);
}

TEST(RateLimiter, LongAndBinaryKeysAreComparedWhole) {
  RateLimiter rl;
  const RateRule rule{1, 1, 60};
  std::string a(4096, 'x');
  std::string b = a;
  b.back() = 'y';
  EXPECT_TRUE(rl.take(rule, a, kT0).allowed);
  EXPECT_TRUE(rl.take(rule, b, kT0).allowed);
  EXPECT_FALSE(rl.take(rule, a, kT0).allowed);
  const std::string_view nul1("a\0b", 3), nul2("a\0c", 3);
  EXPECT_TRUE(rl.take(rule, nul1, kT0).allowed);
  EXPECT_TRUE(rl.take(rule, nul2, kT0).allowed);
  EXPECT_TRUE(rl.take(rule, "a", kT0).allowed);
  EXPECT_TRUE(rl.take(rule, "", kT0).allowed);
  EXPECT_FALSE(rl.take(rule, nul1, kT0).allowed);
  EXPECT_EQ(rl.size(), 6u);
}

TEST(RateLimiter, BucketCountStaysBoundedAndAHotKeyKeepsItsState) {
  constexpr size_t kMax = 64;
  RateLimiter rl(kMax);
  const RateRule rule{1, 3, 60};
  drain(rl, rule, "hot", kT0, 3);
  // Time stands still, so no bucket is idle: only the LRU bound applies.
  for (int i = 0; i < static_cast<int>(3 * kMax); ++i) {
    ASSERT_FALSE(rl.take(rule, "hot", kT0).allowed) << i;
    ASSERT_TRUE(rl.take(rule, keyOf("flood-", i), kT0).allowed);
    ASSERT_LE(rl.size(), kMax) << i;
  }
  EXPECT_GT(rl.size(), kMax / 2);  // the budget is used, not just bounded
  EXPECT_FALSE(rl.take(rule, "hot", kT0).allowed);
}

TEST(RateLimiter, LeastRecentlyUsedBucketIsDroppedAndStartsFullAgain) {
  RateLimiter rl(8);  // a budget this small is a single shard
  const RateRule rule{1, 2, 60};
  drain(rl, rule, "old", kT0, 2);
  for (int i = 0; i < 7; ++i) rl.take(rule, keyOf("k", i), kT0);
  EXPECT_EQ(rl.size(), 8u);
  EXPECT_FALSE(rl.take(rule, "old", kT0).allowed);  // still held, and now most recent
  rl.take(rule, "k7", kT0);                         // drops k0, the least recent
  EXPECT_EQ(rl.size(), 8u);
  EXPECT_FALSE(rl.take(rule, "old", kT0).allowed);
  EXPECT_EQ(rl.take(rule, "k0", kT0).remaining, 1u);  // a fresh bucket again
  for (int i = 0; i < 8; ++i) rl.take(rule, keyOf("n", i), kT0);
  RateDecision d = rl.take(rule, "old", kT0);  // dropped by now: full again
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1u);
}

TEST(RateLimiter, FullBucketsAreDroppedAsIdle) {
  RateLimiter rl(8);             // a single shard
  const RateRule rule{1, 2, 1};  // full again 500 ms after one take
  for (int i = 0; i < 4; ++i) rl.take(rule, keyOf("k", i), kT0);
  EXPECT_EQ(rl.size(), 4u);
  rl.take(rule, "new", kT0 + 499);  // nothing refilled yet
  EXPECT_EQ(rl.size(), 5u);
  rl.take(rule, "new", kT0 + 500);  // drops two idle tails per take
  EXPECT_EQ(rl.size(), 3u);
  rl.take(rule, "new", kT0 + 500);
  EXPECT_EQ(rl.size(), 1u);
  EXPECT_EQ(rl.take(rule, "k0", kT0 + 500).remaining, 1u);  // same as if kept
}

TEST(RateLimiter, DegenerateRulesNeitherDivideByZeroNorOverflow) {
  RateLimiter rl;
  const RateRule zero{1, 0, 0};  // treated as 1 token per millisecond
  RateDecision d = rl.take(zero, "k", kT0);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.limit, 1u);
  EXPECT_EQ(d.remaining, 0u);
  d = rl.take(zero, "k", kT0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_secs, 1u);
  EXPECT_TRUE(rl.take(zero, "k", kT0 + 1).allowed);

  const RateRule huge{2, 4e9, 1e9};
  d = rl.take(huge, "k", kT0);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.limit, 4'000'000'000u);
  EXPECT_EQ(d.remaining, 3'999'999'999u);
  d = rl.take(huge, "k", UINT64_MAX);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 3'999'999'999u);
}

TEST(RateLimiter, EarlierTimeCountsAsNoTimePassed) {
  RateLimiter rl;
  const RateRule rule{1, 2, 2};  // a token a second
  EXPECT_EQ(rl.take(rule, "k", kT0 + 10'000).remaining, 1u);
  EXPECT_TRUE(rl.take(rule, "k", kT0 + 9'000).allowed);
  EXPECT_FALSE(rl.take(rule, "k", kT0 + 9'500).allowed);
  EXPECT_TRUE(rl.take(rule, "k", kT0 + 11'000).allowed);
}

TEST(RateLimiter, ThreadsShareOneBucket) {
  RateLimiter rl;
  const RateRule rule{1, 1000, 60};
  constexpr int kThreads = 4, kTakes = 1000;
  std::atomic<int> allowed{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!go.load()) {
      }
      for (int i = 0; i < kTakes; ++i) {
        if (rl.take(rule, "shared", kT0).allowed) allowed.fetch_add(1);
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 1000);
  EXPECT_EQ(rl.size(), 1u);
}

TEST(RateLimiter, ThreadsFloodingDistinctKeysStayWithinTheBudget) {
  constexpr size_t kMax = 256;
  RateLimiter rl(kMax);
  const RateRule rule{1, 1, 1};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&rl, &rule, t] {
      std::string prefix = keyOf("t", t) + "-";
      for (int i = 0; i < 5000; ++i) {
        rl.take(rule, keyOf(prefix, i), kT0 + static_cast<uint64_t>(i));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(rl.size(), kMax);
}

}  // namespace
}  // namespace rover::core

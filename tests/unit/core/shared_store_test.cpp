#include "core/shared_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"

namespace rover::core {
namespace {

// A fresh store per test; instance() is checked on its own. The store reads
// the monotonic clock itself, so expiry tests wait (spinning on that clock,
// never sleeping) just past a TTL of a microsecond.
std::unique_ptr<SharedStore> freshStore() { return std::make_unique<SharedStore>(); }

constexpr double kMicrosecond = 1e-6;

// Spins until the monotonic clock is past `ns`.
void waitUntilPast(uint64_t ns) {
  while (monotonicNs() <= ns) {
  }
}

// Returns once a TTL of `ttl_s` set before this call has surely run out.
void waitPastTtl(double ttl_s) {
  waitUntilPast(monotonicNs() + static_cast<uint64_t>(ttl_s * 1e9));
}

// "prefix" followed by n (appended: GCC 12 warns falsely on "literal" + std::string).
std::string keyOf(std::string_view prefix, int n) {
  std::string key(prefix);
  key += std::to_string(n);
  return key;
}

std::vector<std::string> sortedKeys(SharedStore& s) {
  std::vector<std::string> k = s.keys();
  std::sort(k.begin(), k.end());
  return k;
}

TEST(SharedStore, GetMissingKeyIsEmpty) {
  auto s = freshStore();
  EXPECT_FALSE(s->get("nope").has_value());
  EXPECT_TRUE(s->keys().empty());
}

TEST(SharedStore, SetThenGetEachValueType) {
  auto s = freshStore();
  s->set("str", std::string("hello"), 0);
  s->set("empty", std::string(), 0);
  s->set("nul", std::string("a\0b", 3), 0);
  s->set("num", 42.5, 0);
  s->set("neg", -1e300, 0);
  s->set("zero", 0.0, 0);
  s->set("yes", true, 0);
  s->set("no", false, 0);
  EXPECT_EQ(s->get("str"), SharedValue(std::string("hello")));
  EXPECT_EQ(s->get("empty"), SharedValue(std::string()));
  EXPECT_EQ(s->get("nul"), SharedValue(std::string("a\0b", 3)));
  EXPECT_EQ(s->get("num"), SharedValue(42.5));
  EXPECT_EQ(s->get("neg"), SharedValue(-1e300));
  EXPECT_EQ(s->get("zero"), SharedValue(0.0));
  EXPECT_EQ(s->get("yes"), SharedValue(true));
  EXPECT_EQ(s->get("no"), SharedValue(false));
  // The type is kept: "1", 1 and true are different values.
  s->set("a", std::string("1"), 0);
  s->set("b", 1.0, 0);
  s->set("c", true, 0);
  EXPECT_TRUE(std::holds_alternative<std::string>(*s->get("a")));
  EXPECT_TRUE(std::holds_alternative<double>(*s->get("b")));
  EXPECT_TRUE(std::holds_alternative<bool>(*s->get("c")));
}

TEST(SharedStore, SetOverwritesValueAndType) {
  auto s = freshStore();
  s->set("k", 1.0, 0);
  s->set("k", std::string("now a string"), 0);
  EXPECT_EQ(s->get("k"), SharedValue(std::string("now a string")));
  s->set("k", false, 0);
  EXPECT_EQ(s->get("k"), SharedValue(false));
  EXPECT_EQ(s->keys().size(), 1u);
}

TEST(SharedStore, KeysAreExactBytes) {
  auto s = freshStore();
  s->set("", std::string("empty key"), 0);
  s->set(std::string_view("a\0b", 3), 1.0, 0);
  s->set("a", 2.0, 0);
  s->set("A", 3.0, 0);
  s->set("caf\xc3\xa9", 4.0, 0);
  EXPECT_EQ(s->get(""), SharedValue(std::string("empty key")));
  EXPECT_EQ(s->get(std::string_view("a\0b", 3)), SharedValue(1.0));
  EXPECT_EQ(s->get("a"), SharedValue(2.0));
  EXPECT_EQ(s->get("A"), SharedValue(3.0));
  EXPECT_EQ(s->get("caf\xc3\xa9"), SharedValue(4.0));
  EXPECT_FALSE(s->get("ab").has_value());
  EXPECT_EQ(s->keys().size(), 5u);
  // A long key.
  std::string big(100000, 'k');
  s->set(big, true, 0);
  EXPECT_EQ(s->get(big), SharedValue(true));
}

TEST(SharedStore, AddOnlyWhenAbsent) {
  auto s = freshStore();
  EXPECT_TRUE(s->add("k", std::string("first"), 0));
  EXPECT_FALSE(s->add("k", std::string("second"), 0));
  EXPECT_FALSE(s->add("k", 2.0, 0));
  EXPECT_EQ(s->get("k"), SharedValue(std::string("first")));
  // A falsy stored value is still present.
  s->set("f", false, 0);
  EXPECT_FALSE(s->add("f", true, 0));
  EXPECT_EQ(s->get("f"), SharedValue(false));
  EXPECT_TRUE(s->remove("k"));
  EXPECT_TRUE(s->add("k", 3.0, 0));
  EXPECT_EQ(s->get("k"), SharedValue(3.0));
}

TEST(SharedStore, RemoveReportsWhetherTheKeyExisted) {
  auto s = freshStore();
  EXPECT_FALSE(s->remove("k"));
  s->set("k", 1.0, 0);
  s->set("other", 2.0, 0);
  EXPECT_TRUE(s->remove("k"));
  EXPECT_FALSE(s->get("k").has_value());
  EXPECT_FALSE(s->remove("k"));
  EXPECT_EQ(s->get("other"), SharedValue(2.0));
}

TEST(SharedStore, IncrMissingKeyStartsFromZeroOrInit) {
  auto s = freshStore();
  double r = -1;
  ASSERT_TRUE(s->incr("a", 1, std::nullopt, &r));
  EXPECT_EQ(r, 1);
  EXPECT_EQ(s->get("a"), SharedValue(1.0));
  ASSERT_TRUE(s->incr("b", 5, 10, &r));
  EXPECT_EQ(r, 15);
  EXPECT_EQ(s->get("b"), SharedValue(15.0));
  ASSERT_TRUE(s->incr("c", 0, std::nullopt, &r));
  EXPECT_EQ(r, 0);
  EXPECT_EQ(s->get("c"), SharedValue(0.0));
}

TEST(SharedStore, IncrExistingNumberIgnoresInit) {
  auto s = freshStore();
  s->set("n", 10.0, 0);
  double r = 0;
  ASSERT_TRUE(s->incr("n", 2, 1000, &r));
  EXPECT_EQ(r, 12);
  ASSERT_TRUE(s->incr("n", -20, std::nullopt, &r));
  EXPECT_EQ(r, -8);
  ASSERT_TRUE(s->incr("n", 0.25, std::nullopt, &r));
  EXPECT_EQ(r, -7.75);
  EXPECT_EQ(s->get("n"), SharedValue(-7.75));
}

TEST(SharedStore, IncrOnNonNumberFailsAndKeepsValue) {
  auto s = freshStore();
  s->set("s", std::string("12"), 0);  // a numeric string is still a string
  s->set("b", true, 0);
  double r = 0;
  EXPECT_FALSE(s->incr("s", 1, std::nullopt, &r));
  EXPECT_FALSE(s->incr("s", 1, 5, &r));
  EXPECT_FALSE(s->incr("b", 1, std::nullopt, &r));
  EXPECT_EQ(s->get("s"), SharedValue(std::string("12")));
  EXPECT_EQ(s->get("b"), SharedValue(true));
}

TEST(SharedStore, KeysListsEveryLiveKeyAcrossShards) {
  auto s = freshStore();
  std::vector<std::string> want;
  for (int i = 0; i < 1000; ++i) {
    want.push_back(keyOf("key-", i));
    s->set(want.back(), static_cast<double>(i), 0);
  }
  std::sort(want.begin(), want.end());
  EXPECT_EQ(sortedKeys(*s), want);
  for (int i = 0; i < 1000; i += 2) s->remove(keyOf("key-", i));
  std::vector<std::string> odd;
  for (int i = 1; i < 1000; i += 2) odd.push_back(keyOf("key-", i));
  std::sort(odd.begin(), odd.end());
  EXPECT_EQ(sortedKeys(*s), odd);
}

TEST(SharedStore, NonPositiveTtlNeverExpires) {
  auto s = freshStore();
  s->set("zero", 1.0, 0);
  s->set("neg", 2.0, -5);
  EXPECT_TRUE(s->add("added", 3.0, -1));
  waitPastTtl(kMicrosecond);
  EXPECT_EQ(s->get("zero"), SharedValue(1.0));
  EXPECT_EQ(s->get("neg"), SharedValue(2.0));
  EXPECT_EQ(s->get("added"), SharedValue(3.0));
}

TEST(SharedStore, LongTtlKeepsTheValue) {
  auto s = freshStore();
  s->set("hour", std::string("v"), 3600);
  EXPECT_TRUE(s->add("year", true, 365.0 * 24 * 3600));
  EXPECT_EQ(s->get("hour"), SharedValue(std::string("v")));
  EXPECT_EQ(s->get("year"), SharedValue(true));
  EXPECT_EQ(sortedKeys(*s), (std::vector<std::string>{"hour", "year"}));
}

TEST(SharedStore, ExpiredKeyIsGone) {
  auto s = freshStore();
  s->set("t", std::string("soon gone"), kMicrosecond);
  s->set("keep", 1.0, 0);
  waitPastTtl(kMicrosecond);
  EXPECT_FALSE(s->get("t").has_value());
  EXPECT_EQ(sortedKeys(*s), (std::vector<std::string>{"keep"}));
}

TEST(SharedStore, ExpiredKeyIsLeftOutOfKeysBeforeAnyGet) {
  auto s = freshStore();
  s->set("t", 1.0, kMicrosecond);
  waitPastTtl(kMicrosecond);
  EXPECT_TRUE(s->keys().empty());
}

TEST(SharedStore, AddReplacesAnExpiredKey) {
  auto s = freshStore();
  EXPECT_TRUE(s->add("k", std::string("old"), kMicrosecond));
  waitPastTtl(kMicrosecond);
  EXPECT_TRUE(s->add("k", std::string("new"), 0));
  EXPECT_EQ(s->get("k"), SharedValue(std::string("new")));
  // The new entry has no TTL.
  waitPastTtl(kMicrosecond);
  EXPECT_EQ(s->get("k"), SharedValue(std::string("new")));
}

TEST(SharedStore, SetReplacesTheTtl) {
  auto s = freshStore();
  s->set("k", 1.0, kMicrosecond);
  s->set("k", 2.0, 0);
  waitPastTtl(kMicrosecond);
  EXPECT_EQ(s->get("k"), SharedValue(2.0));
  s->set("k", 3.0, kMicrosecond);
  waitPastTtl(kMicrosecond);
  EXPECT_FALSE(s->get("k").has_value());
}

TEST(SharedStore, IncrOnExpiredKeyStartsOverWithoutTtl) {
  auto s = freshStore();
  s->set("n", 100.0, kMicrosecond);
  s->set("str", std::string("x"), kMicrosecond);
  waitPastTtl(kMicrosecond);
  double r = 0;
  ASSERT_TRUE(s->incr("n", 1, 5, &r));
  EXPECT_EQ(r, 6);
  // An expired non-number no longer blocks incr.
  ASSERT_TRUE(s->incr("str", 2, std::nullopt, &r));
  EXPECT_EQ(r, 2);
  waitPastTtl(kMicrosecond);
  EXPECT_EQ(s->get("n"), SharedValue(6.0));
  EXPECT_EQ(s->get("str"), SharedValue(2.0));
}

TEST(SharedStore, IncrKeepsTheTtlOfALiveKey) {
  auto s = freshStore();
  // The incr must land before the TTL runs out; start with a millisecond and
  // lengthen it only if this thread was descheduled in between.
  bool incremented_live = false;
  double ttl = 1e-3;
  for (; ttl <= 1.0 && !incremented_live; ttl *= 10) {
    s->set("n", 5.0, ttl);
    double r = 0;
    ASSERT_TRUE(s->incr("n", 1, 100, &r));
    incremented_live = r == 6;  // 101: it had already expired
    if (incremented_live) {
      waitPastTtl(ttl);
      EXPECT_FALSE(s->get("n").has_value());
    }
    s->remove("n");
  }
  EXPECT_TRUE(incremented_live);
}

TEST(SharedStore, InstanceIsOneProcessWideStore) {
  SharedStore& a = SharedStore::instance();
  SharedStore* from_thread = nullptr;
  std::thread t([&] {
    from_thread = &SharedStore::instance();
    from_thread->set("shared_store_test.instance", std::string("seen"), 0);
  });
  t.join();
  EXPECT_EQ(&a, from_thread);
  EXPECT_EQ(a.get("shared_store_test.instance"), SharedValue(std::string("seen")));
  EXPECT_TRUE(a.remove("shared_store_test.instance"));
}

TEST(SharedStore, ConcurrentIncrSumsExactly) {
  auto s = freshStore();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) {
      }
      double r;
      for (int i = 0; i < kPerThread; ++i) {
        EXPECT_TRUE(s->incr("hits", 1, std::nullopt, &r));
        EXPECT_TRUE(s->incr("by-thread", t + 1, std::nullopt, &r));
        s->incr(keyOf("own-", t), 1, 0, &r);
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(s->get("hits"), SharedValue(double{kThreads * kPerThread}));
  // 1 + 2 + ... + kThreads, kPerThread times each.
  EXPECT_EQ(s->get("by-thread"), SharedValue(double{kPerThread * kThreads * (kThreads + 1) / 2}));
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(s->get(keyOf("own-", t)), SharedValue(double{kPerThread}));
  }
}

TEST(SharedStore, ConcurrentAddHasOneWinnerPerKey) {
  auto s = freshStore();
  constexpr int kThreads = 8;
  constexpr int kKeys = 2000;
  std::atomic<bool> go{false};
  std::vector<std::vector<int>> won(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) {
      }
      for (int k = 0; k < kKeys; ++k) {
        if (s->add(keyOf("k", k), static_cast<double>(t), 0)) won[t].push_back(k);
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  std::vector<int> winner(kKeys, -1);
  size_t total = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int k : won[t]) {
      EXPECT_EQ(winner[k], -1) << "key " << k << " added twice";
      winner[k] = t;
      ++total;
    }
  }
  EXPECT_EQ(total, size_t{kKeys});
  for (int k = 0; k < kKeys; ++k) {
    EXPECT_EQ(s->get(keyOf("k", k)), SharedValue(static_cast<double>(winner[k])));
  }
}

// Readers, writers, deleters and keys() at once on shared keys: every value
// read is one that some thread wrote, and the counters still sum exactly.
TEST(SharedStore, MixedConcurrentOperations) {
  auto s = freshStore();
  constexpr int kThreads = 6;
  constexpr int kRounds = 5000;
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) {
      }
      double r;
      for (int i = 0; i < kRounds; ++i) {
        std::string key = keyOf("slot", i % 16);
        switch ((i + t) % 4) {
          case 0:
            s->set(key, keyOf("w", t), 0);
            break;
          case 1:
            if (auto v = s->get(key)) {
              auto* str = std::get_if<std::string>(&*v);
              ASSERT_NE(str, nullptr);
              EXPECT_EQ((*str)[0], 'w');
            }
            break;
          case 2:
            s->remove(key);
            break;
          case 3:
            for (const std::string& k : s->keys()) {
              EXPECT_TRUE(k.rfind("slot", 0) == 0 || k == "count") << k;
            }
            break;
        }
        s->incr("count", 1, std::nullopt, &r);
      }
    });
  }
  go = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(s->get("count"), SharedValue(double{kThreads * kRounds}));
}

}  // namespace
}  // namespace rover::core

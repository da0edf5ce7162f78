#include "core/session_store.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

namespace rover::core {
namespace {

constexpr double kStart = 1'700'000'000.0;

// A store on a clock the test moves by hand (single-threaded tests only).
class SessionStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SessionStore> makeStore(size_t max_sessions = 1000) {
    return std::make_unique<SessionStore>(max_sessions, [this] { return now_; });
  }
  std::string create(SessionStore& s, double ttl = 60) {
    SessionSnapshot snap;
    EXPECT_TRUE(s.create(ttl, &snap));
    return snap.id;
  }
  bool alive(SessionStore& s, const std::string& id) { return s.exists(id); }

  double now_ = kStart;
};

bool isLowerHex32(const std::string& id) {
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

TEST_F(SessionStoreTest, CreateGivesAnEmptyRegisteredSession) {
  auto s = makeStore();
  SessionSnapshot snap;
  ASSERT_TRUE(s->create(60, &snap));
  EXPECT_TRUE(isLowerHex32(snap.id)) << snap.id;
  EXPECT_TRUE(snap.data.empty());
  EXPECT_EQ(snap.created_at, kStart);
  EXPECT_EQ(snap.last_accessed, kStart);
  EXPECT_EQ(snap.ttl, 60);
  EXPECT_EQ(s->size(), 1u);
  EXPECT_TRUE(s->exists(snap.id));
}

TEST_F(SessionStoreTest, IdsAre32LowerHexAndDistinct) {
  auto s = makeStore(5000);
  std::set<std::string> ids;
  for (int i = 0; i < 2000; ++i) {
    std::string id = create(*s);
    ASSERT_TRUE(isLowerHex32(id)) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 2000u);
  // 2000 ids of 128 random bits use every hex digit in every position class.
  std::set<char> digits;
  for (const std::string& id : ids) digits.insert(id.begin(), id.end());
  EXPECT_EQ(digits.size(), 16u);
}

TEST_F(SessionStoreTest, UnknownIdsAreNotFound) {
  auto s = makeStore();
  SessionSnapshot snap;
  double last = 0;
  EXPECT_FALSE(s->get("0123456789abcdef0123456789abcdef", &snap));
  EXPECT_FALSE(s->get("", &snap));
  EXPECT_FALSE(s->save("nope", {{"k", std::string("v")}}, &last));
  EXPECT_FALSE(s->refresh("nope", &last));
  EXPECT_FALSE(s->exists("nope"));
  EXPECT_FALSE(s->remove("nope"));
  EXPECT_EQ(s->size(), 0u);  // a save of an unknown id adopts nothing
}

TEST_F(SessionStoreTest, SaveThenGetReturnsTheDataAndTouches) {
  auto s = makeStore();
  std::string id = create(*s);
  now_ += 5;
  double last = 0;
  SessionData data{{"account", std::string("acct-9")}, {"n", 2.5}, {"admin", true}};
  ASSERT_TRUE(s->save(id, data, &last));
  EXPECT_EQ(last, kStart + 5);
  now_ += 7;
  SessionSnapshot snap;
  ASSERT_TRUE(s->get(id, &snap));
  EXPECT_EQ(snap.id, id);
  EXPECT_EQ(snap.data, data);
  EXPECT_EQ(snap.created_at, kStart);
  EXPECT_EQ(snap.last_accessed, kStart + 12);
  // A save replaces the whole data.
  ASSERT_TRUE(s->save(id, {{"only", std::string("this")}}, &last));
  ASSERT_TRUE(s->get(id, &snap));
  EXPECT_EQ(snap.data, (SessionData{{"only", std::string("this")}}));
}

TEST_F(SessionStoreTest, ExpiryIsSlidingFromTheLastAccess) {
  auto s = makeStore();
  std::string id = create(*s, 10);
  SessionSnapshot snap;
  now_ += 9;
  ASSERT_TRUE(s->get(id, &snap));  // 9 s after creation: alive, and touched
  now_ += 9;
  ASSERT_TRUE(s->get(id, &snap));  // 18 s after creation, 9 after the last access
  now_ += 9.999;
  EXPECT_TRUE(s->exists(id));
  now_ += 0.001;  // exactly ttl after the last access
  EXPECT_FALSE(s->get(id, &snap));
  EXPECT_EQ(s->size(), 0u);  // dropped when met
}

TEST_F(SessionStoreTest, FractionalTtl) {
  auto s = makeStore();
  std::string id = create(*s, 0.25);
  now_ += 0.2;
  EXPECT_TRUE(s->exists(id));
  now_ += 0.05;
  EXPECT_FALSE(s->exists(id));
}

TEST_F(SessionStoreTest, ExistsDoesNotCountAsAccess) {
  auto s = makeStore();
  std::string id = create(*s, 10);
  now_ += 6;
  EXPECT_TRUE(s->exists(id));
  now_ += 5;
  EXPECT_FALSE(s->exists(id));
}

TEST_F(SessionStoreTest, RefreshAndSaveResetTheClock) {
  auto s = makeStore();
  std::string id = create(*s, 10);
  double last = 0;
  now_ += 8;
  ASSERT_TRUE(s->refresh(id, &last));
  EXPECT_EQ(last, kStart + 8);
  now_ += 8;
  ASSERT_TRUE(s->save(id, {}, &last));
  now_ += 8;
  EXPECT_TRUE(s->exists(id));  // 24 s after creation, 8 after the save
  now_ += 2;
  EXPECT_FALSE(s->refresh(id, &last));
}

TEST_F(SessionStoreTest, SaveOfAnExpiredSessionDoesNotResurrectIt) {
  auto s = makeStore();
  std::string id = create(*s, 10);
  now_ += 10;
  double last = 0;
  EXPECT_FALSE(s->save(id, {{"k", true}}, &last));
  now_ -= 5;  // even if the clock went back, the session is gone
  EXPECT_FALSE(s->exists(id));
  EXPECT_EQ(s->size(), 0u);
}

TEST_F(SessionStoreTest, RemoveDeletesOnce) {
  auto s = makeStore();
  std::string id = create(*s);
  std::string other = create(*s);
  EXPECT_TRUE(s->remove(id));
  EXPECT_FALSE(s->remove(id));
  SessionSnapshot snap;
  EXPECT_FALSE(s->get(id, &snap));
  EXPECT_TRUE(s->exists(other));
  EXPECT_EQ(s->size(), 1u);
}

TEST_F(SessionStoreTest, RemoveOfAnExpiredSessionIsFalse) {
  auto s = makeStore();
  std::string id = create(*s, 10);
  now_ += 10;
  EXPECT_FALSE(s->remove(id));
  EXPECT_EQ(s->size(), 0u);
}

TEST_F(SessionStoreTest, RegenerateMovesTheDataToANewId) {
  auto s = makeStore();
  std::string old_id = create(*s, 30);
  double last = 0;
  ASSERT_TRUE(s->save(old_id, {{"step", 1.0}}, &last));
  now_ += 20;
  SessionSnapshot moved;
  ASSERT_TRUE(s->regenerate(old_id, {{"step", 2.0}, {"user", std::string("ada")}}, &moved));
  EXPECT_TRUE(isLowerHex32(moved.id)) << moved.id;
  EXPECT_NE(moved.id, old_id);
  EXPECT_EQ(moved.created_at, kStart);
  EXPECT_EQ(moved.last_accessed, kStart + 20);
  EXPECT_EQ(moved.ttl, 30);
  SessionSnapshot snap;
  EXPECT_FALSE(s->get(old_id, &snap));
  EXPECT_FALSE(s->save(old_id, {}, &last));
  ASSERT_TRUE(s->get(moved.id, &snap));
  EXPECT_EQ(snap.data, (SessionData{{"step", 2.0}, {"user", std::string("ada")}}));
  EXPECT_EQ(s->size(), 1u);
  now_ += 29;  // the new id's clock started at the regenerate
  EXPECT_TRUE(s->exists(moved.id));
}

TEST_F(SessionStoreTest, RegenerateOfAGoneSessionFails) {
  auto s = makeStore();
  std::string expired = create(*s, 10);
  std::string removed = create(*s, 100);
  ASSERT_TRUE(s->remove(removed));
  now_ += 10;
  SessionSnapshot snap;
  EXPECT_FALSE(s->regenerate(expired, {}, &snap));
  EXPECT_FALSE(s->regenerate(removed, {}, &snap));
  EXPECT_FALSE(s->regenerate("unknown", {}, &snap));
  EXPECT_EQ(s->size(), 0u);
}

TEST_F(SessionStoreTest, FullStoreEvictsTheLeastRecentlyAccessed) {
  auto s = makeStore(3);
  std::string a = create(*s);
  now_ += 1;
  std::string b = create(*s);
  now_ += 1;
  std::string c = create(*s);
  now_ += 1;
  SessionSnapshot snap;
  ASSERT_TRUE(s->get(a, &snap));  // a is now the most recent; b the least
  now_ += 1;
  std::string d = create(*s);
  EXPECT_EQ(s->size(), 3u);
  EXPECT_FALSE(alive(*s, b));
  EXPECT_TRUE(alive(*s, a));
  EXPECT_TRUE(alive(*s, c));
  EXPECT_TRUE(alive(*s, d));
  now_ += 1;
  std::string e = create(*s);
  EXPECT_EQ(s->size(), 3u);
  EXPECT_FALSE(alive(*s, c));
}

TEST_F(SessionStoreTest, FullStoreEvictsExpiredBeforeLeastRecent) {
  auto s = makeStore(2);
  std::string short_lived = create(*s, 5);
  now_ += 1;
  std::string long_lived = create(*s, 1000);
  now_ += 1;
  SessionSnapshot snap;
  ASSERT_TRUE(s->get(short_lived, &snap));  // long_lived is now the least recent
  now_ += 10;                               // short_lived expired
  std::string fresh = create(*s, 1000);
  EXPECT_EQ(s->size(), 2u);
  EXPECT_TRUE(alive(*s, long_lived));
  EXPECT_TRUE(alive(*s, fresh));
}

TEST_F(SessionStoreTest, CreatesSweepExpiredSessions) {
  auto s = makeStore(100'000);
  for (int i = 0; i < 200; ++i) create(*s, 1);
  now_ += 2;  // all 200 expired, none met again
  for (int i = 0; i < 800; ++i) create(*s, 1000);
  // Each create checks two tail entries of its shard: the expired ones are
  // gone without anyone asking for them.
  EXPECT_EQ(s->size(), 800u);
}

TEST_F(SessionStoreTest, LoweringTheBoundTrimsOnTheNextCreate) {
  auto s = makeStore(10);
  for (int i = 0; i < 10; ++i) {
    create(*s);
    now_ += 1;
  }
  s->setMaxSessions(4);
  std::string last = create(*s);
  EXPECT_EQ(s->size(), 4u);
  EXPECT_TRUE(alive(*s, last));
}

// Real clock, real threads: the bound holds while four workers create, read
// and save at once.
TEST(SessionStoreThreads, BoundHoldsUnderConcurrentCreates) {
  SessionStore s(100);
  std::vector<std::thread> threads;
  std::atomic<int> lost{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&s, &lost] {
      for (int i = 0; i < 2000; ++i) {
        SessionSnapshot snap;
        if (!s.create(3600, &snap)) {
          lost++;
          continue;
        }
        double last;
        // It may already be evicted by another thread's create; both are fine.
        s.save(snap.id, {{"i", static_cast<double>(i)}}, &last);
        SessionSnapshot back;
        if (s.get(snap.id, &back) && back.data.size() != 1) lost++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(lost.load(), 0);
  EXPECT_EQ(s.size(), 100u);
}

TEST(SessionStores, SameCookieNameIsTheSameStore) {
  SessionStores& all = SessionStores::instance();
  SessionStore& a = all.store("unit_sid_a", 50);
  SessionStore& again = all.store("unit_sid_a", 70);
  SessionStore& b = all.store("unit_sid_b", 50);
  EXPECT_EQ(&a, &again);
  EXPECT_NE(&a, &b);
  EXPECT_EQ(a.maxSessions(), 70u);  // the latest configuration wins
  SessionSnapshot snap;
  ASSERT_TRUE(a.create(60, &snap));
  EXPECT_TRUE(again.exists(snap.id));
  EXPECT_FALSE(b.exists(snap.id));
}

}  // namespace
}  // namespace rover::core

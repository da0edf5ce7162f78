#include "net/loop.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "core/clock.h"

namespace rover::net {
namespace {

// A timer that logs its id when it fires, then runs `then` (which may re-arm
// or disarm timers). Not movable: the loop holds its address.
struct Probe {
  Probe(int probe_id, std::vector<int>* fired) : id(probe_id), log(fired) {
    timer.fire = &onFire;
    timer.data = this;
  }
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  static void onFire(Timer* t) {
    auto* p = static_cast<Probe*>(t->data);
    p->armed_when_fired = t->armed();
    p->log->push_back(p->id);
    if (p->then) p->then(*p);
  }

  Timer timer;
  int id;
  std::vector<int>* log;
  std::function<void(Probe&)> then;
  bool armed_when_fired = true;
};

// Deadlines below are now() +/- a few ms; the monotonic clock is far past that.
class LoopTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GE(loop.now(), 1000u); }
  Loop loop;
  std::vector<int> fired;
};

TEST_F(LoopTest, NowIsSetAtConstructionAndByUpdateNow) {
  uint64_t before = core::monotonicNs() / 1'000'000;
  Loop l;
  uint64_t after = core::monotonicNs() / 1'000'000;
  EXPECT_GE(l.now(), before);
  EXPECT_LE(l.now(), after);

  uint64_t first = l.now();
  uint64_t updated = l.updateNow();
  EXPECT_EQ(updated, l.now());
  EXPECT_GE(updated, first);
  EXPECT_LE(updated, core::monotonicNs() / 1'000'000);
}

TEST_F(LoopTest, EmptyLoopHasNoTimers) {
  EXPECT_EQ(loop.armedTimers(), 0u);
  EXPECT_EQ(loop.nextDeadline(), UINT64_MAX);
  loop.runDueTimers();  // nothing to fire
  EXPECT_TRUE(fired.empty());
}

TEST_F(LoopTest, ArmDisarmAndNextDeadline) {
  Probe a(1, &fired), b(2, &fired), c(3, &fired);
  uint64_t now = loop.now();
  loop.arm(&a.timer, now + 300);
  loop.arm(&b.timer, now + 100);
  loop.arm(&c.timer, now + 200);
  EXPECT_EQ(loop.armedTimers(), 3u);
  EXPECT_EQ(loop.nextDeadline(), now + 100);
  EXPECT_TRUE(b.timer.armed());

  loop.disarm(&b.timer);
  EXPECT_FALSE(b.timer.armed());
  EXPECT_EQ(loop.armedTimers(), 2u);
  EXPECT_EQ(loop.nextDeadline(), now + 200);

  loop.disarm(&b.timer);  // not armed: no-op
  EXPECT_EQ(loop.armedTimers(), 2u);

  // Re-arming moves the timer; it is not counted twice.
  loop.arm(&a.timer, now + 50);
  EXPECT_EQ(loop.armedTimers(), 2u);
  EXPECT_EQ(loop.nextDeadline(), now + 50);
  EXPECT_EQ(a.timer.deadline_ms, now + 50);

  loop.disarm(&a.timer);
  loop.disarm(&c.timer);
  EXPECT_EQ(loop.armedTimers(), 0u);
  EXPECT_EQ(loop.nextDeadline(), UINT64_MAX);
}

TEST_F(LoopTest, ArmAfterIsRelativeToNow) {
  Probe a(1, &fired);
  loop.armAfter(&a.timer, 250);
  EXPECT_TRUE(a.timer.armed());
  EXPECT_EQ(a.timer.deadline_ms, loop.now() + 250);
  EXPECT_EQ(loop.nextDeadline(), loop.now() + 250);

  loop.armAfter(&a.timer, 0);
  EXPECT_EQ(loop.nextDeadline(), loop.now());
  loop.runDueTimers();
  EXPECT_EQ(fired, std::vector<int>({1}));
}

TEST_F(LoopTest, RunDueTimersFiresOnlyDueTimers) {
  Probe past(1, &fired), at_now(2, &fired), future(3, &fired);
  uint64_t now = loop.now();
  loop.arm(&future.timer, now + 1);
  loop.arm(&at_now.timer, now);
  loop.arm(&past.timer, now - 5);
  loop.runDueTimers();
  EXPECT_EQ(fired, std::vector<int>({1, 2}));
  EXPECT_FALSE(past.timer.armed());
  EXPECT_FALSE(at_now.timer.armed());
  EXPECT_TRUE(future.timer.armed());
  EXPECT_EQ(loop.armedTimers(), 1u);
  EXPECT_EQ(loop.nextDeadline(), now + 1);

  // runDueTimers uses the loop's cached now(), not the clock: calling it again
  // without updateNow() fires nothing more.
  loop.runDueTimers();
  EXPECT_EQ(fired, std::vector<int>({1, 2}));
  loop.disarm(&future.timer);
}

TEST_F(LoopTest, TimerIsDisarmedBeforeFire) {
  Probe a(1, &fired);
  loop.arm(&a.timer, loop.now());
  loop.runDueTimers();
  ASSERT_EQ(fired, std::vector<int>({1}));
  EXPECT_FALSE(a.armed_when_fired);
  EXPECT_EQ(loop.armedTimers(), 0u);
}

TEST_F(LoopTest, FiresInDeadlineOrderWithFifoTies) {
  Probe p1(1, &fired), p2(2, &fired), p3(3, &fired), p4(4, &fired), p5(5, &fired), p6(6, &fired);
  uint64_t now = loop.now();
  loop.arm(&p1.timer, now - 2);
  loop.arm(&p2.timer, now - 10);
  loop.arm(&p3.timer, now - 2);
  loop.arm(&p4.timer, now);
  loop.arm(&p5.timer, now - 10);
  loop.arm(&p6.timer, now - 2);
  loop.runDueTimers();
  EXPECT_EQ(fired, std::vector<int>({2, 5, 1, 3, 6, 4}));
  EXPECT_EQ(loop.armedTimers(), 0u);
}

TEST_F(LoopTest, ReArmedTieGoesBehindTimersAlreadyArmed) {
  Probe a(1, &fired), b(2, &fired), c(3, &fired);
  uint64_t now = loop.now();
  loop.arm(&a.timer, now - 1);
  loop.arm(&b.timer, now - 1);
  loop.arm(&c.timer, now - 1);
  loop.arm(&a.timer, now - 1);  // re-armed: now last among the ties
  loop.runDueTimers();
  EXPECT_EQ(fired, std::vector<int>({2, 3, 1}));
}

// The header promises: timers armed while firing for a deadline already past
// fire in this call too, in deadline order.
TEST_F(LoopTest, TimerReArmedFromItsFireForPastDeadlineFiresAgainInSameCall) {
  Probe a(1, &fired);
  int rearms = 2;
  a.then = [&](Probe& p) {
    if (rearms-- > 0) loop.arm(&p.timer, loop.now() - 1);
  };
  loop.arm(&a.timer, loop.now());
  loop.runDueTimers();
  EXPECT_EQ(fired, std::vector<int>({1, 1, 1}));
  EXPECT_EQ(loop.armedTimers(), 0u);
}

TEST_F(LoopTest, TimerArmedWhileFiringJoinsInDeadlineOrder) {
  Probe a(1, &fired), b(2, &fired), c(3, &fired), late(4, &fired);
  uint64_t now = loop.now();
  // a (now-10) arms c for now-8 and `late` for the future; b is due at now-5.
  a.then = [&](Probe&) {
    loop.arm(&c.timer, now - 8);
    loop.arm(&late.timer, now + 10);
  };
  loop.arm(&a.timer, now - 10);
  loop.arm(&b.timer, now - 5);
  loop.runDueTimers();
  EXPECT_EQ(fired, std::vector<int>({1, 3, 2}));
  EXPECT_TRUE(late.timer.armed());
  EXPECT_EQ(loop.nextDeadline(), now + 10);
  loop.disarm(&late.timer);
}

TEST_F(LoopTest, TimerReArmedFromItsFireForFutureStaysArmed) {
  Probe a(1, &fired);
  uint64_t now = loop.now();
  a.then = [&](Probe& p) { loop.arm(&p.timer, now + 5); };
  loop.arm(&a.timer, now);
  loop.runDueTimers();
  EXPECT_EQ(fired, std::vector<int>({1}));
  EXPECT_TRUE(a.timer.armed());
  EXPECT_EQ(loop.nextDeadline(), now + 5);
  loop.disarm(&a.timer);
}

TEST_F(LoopTest, TimerDisarmedByEarlierFireDoesNotFire) {
  Probe a(1, &fired), b(2, &fired), c(3, &fired);
  uint64_t now = loop.now();
  a.then = [&](Probe&) { loop.disarm(&b.timer); };
  loop.arm(&a.timer, now - 3);
  loop.arm(&b.timer, now - 2);
  loop.arm(&c.timer, now - 1);
  loop.runDueTimers();
  EXPECT_EQ(fired, std::vector<int>({1, 3}));
  EXPECT_FALSE(b.timer.armed());
  EXPECT_EQ(loop.armedTimers(), 0u);
}

TEST_F(LoopTest, WaitTimeoutWithNoTimersReturnsTheCap) {
  EXPECT_EQ(loop.waitTimeoutMs(UINT64_MAX, 500), 500);
  EXPECT_EQ(loop.waitTimeoutMs(UINT64_MAX, 0), 0);
  EXPECT_EQ(loop.waitTimeoutMs(UINT64_MAX, -1), -1);
}

TEST_F(LoopTest, WaitTimeoutWithPastOrCurrentDeadlineIsZero) {
  Probe a(1, &fired);
  loop.arm(&a.timer, loop.now() - 20);
  EXPECT_EQ(loop.waitTimeoutMs(UINT64_MAX, 500), 0);
  EXPECT_EQ(loop.waitTimeoutMs(UINT64_MAX, -1), 0);
  loop.arm(&a.timer, loop.now());
  EXPECT_EQ(loop.waitTimeoutMs(UINT64_MAX, -1), 0);
  loop.disarm(&a.timer);
}

TEST_F(LoopTest, WaitTimeoutWithFutureDeadlineIsMsUntilItCapped) {
  Probe a(1, &fired);
  loop.arm(&a.timer, loop.now() + 250);
  EXPECT_EQ(loop.waitTimeoutMs(UINT64_MAX, 1000), 250);
  EXPECT_EQ(loop.waitTimeoutMs(UINT64_MAX, 250), 250);
  EXPECT_EQ(loop.waitTimeoutMs(UINT64_MAX, 100), 100);
  EXPECT_EQ(loop.waitTimeoutMs(UINT64_MAX, 0), 0);
  EXPECT_EQ(loop.waitTimeoutMs(UINT64_MAX, -1), 250);
  loop.disarm(&a.timer);
}

TEST_F(LoopTest, WaitTimeoutFarDeadlineWithoutCapStaysPositive) {
  Probe a(1, &fired);
  loop.arm(&a.timer, loop.now() + 10'000'000'000ull);  // beyond INT_MAX ms
  int w = loop.waitTimeoutMs(UINT64_MAX, -1);
  EXPECT_GT(w, 0);
  EXPECT_EQ(loop.waitTimeoutMs(UINT64_MAX, 60'000), 60'000);
  loop.disarm(&a.timer);
}

TEST_F(LoopTest, WaitTimeoutUsesEarlierOtherDeadline) {
  uint64_t now = loop.now();
  // No timers: the other deadline alone.
  EXPECT_EQ(loop.waitTimeoutMs(now + 40, -1), 40);
  EXPECT_EQ(loop.waitTimeoutMs(now + 40, 10), 10);
  EXPECT_EQ(loop.waitTimeoutMs(now - 1, 500), 0);

  Probe a(1, &fired);
  loop.arm(&a.timer, now + 500);
  EXPECT_EQ(loop.waitTimeoutMs(now + 50, 1000), 50);    // other is earlier
  EXPECT_EQ(loop.waitTimeoutMs(now + 50, 20), 20);      // ... and capped
  EXPECT_EQ(loop.waitTimeoutMs(now + 900, 1000), 500);  // the heap's is earlier
  EXPECT_EQ(loop.waitTimeoutMs(now + 900, -1), 500);
  EXPECT_EQ(loop.waitTimeoutMs(now, -1), 0);  // other is due now
  loop.disarm(&a.timer);
}

}  // namespace
}  // namespace rover::net

#include "net/loop.h"

#include "core/clock.h"

namespace rover::net {

Loop::Loop() { updateNow(); }

uint64_t Loop::updateNow() {
  now_ms_ = core::monotonicNs() / 1'000'000;
  return now_ms_;
}

void Loop::runDueTimers() {
  while (HeapTimer* h = timers_.popExpired(now_ms_)) {
    auto* t = static_cast<Timer*>(h);
    t->fire(t);
  }
}

int Loop::waitTimeoutMs(uint64_t other_deadline_ms, int cap_ms) const {
  uint64_t deadline = timers_.nextDeadline();
  if (other_deadline_ms < deadline) deadline = other_deadline_ms;
  if (deadline == UINT64_MAX) return cap_ms;
  if (deadline <= now_ms_) return 0;
  uint64_t wait = deadline - now_ms_;
  if (cap_ms >= 0 && wait > static_cast<uint64_t>(cap_ms)) return cap_ms;
  return wait > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(wait);
}

}  // namespace rover::net

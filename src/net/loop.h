// A worker's event loop (ARCHITECTURE.md §1, §2.7): the epoll reactor, the
// heap of timers at arbitrary deadlines, the inbox other threads post to, and
// the loop's notion of "now". Every epoll registration names a typed
// EventSource, so the worker dispatches on what fired, not on untyped
// pointers. Owned by one worker thread (created on the main thread before the
// worker's VM loads the app, so tasks started at load time can arm timers).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "core/clock.h"
#include "net/inbox.h"
#include "net/reactor.h"
#include "net/timer_heap.h"

namespace rover::net {

enum class SourceKind : uint8_t { kListener, kConnection, kInbox, kOutbound };

// Base of everything registered with the reactor (epoll data.ptr).
struct EventSource {
  explicit EventSource(SourceKind k) : source_kind(k) {}
  SourceKind source_kind;
};

// A socket of an outbound client (HTTP client, database) registered with the
// reactor: ready(this, epoll events) runs on the loop's thread. A watch that
// is closed while an event batch is being dispatched may still have events in
// that batch: its owner sets fd = -1 and hands it to Loop::retire, which frees
// it after the batch (the worker skips watches with fd < 0).
struct IoWatch : EventSource {
  IoWatch() : EventSource(SourceKind::kOutbound) {}
  void (*ready)(IoWatch*, uint32_t events) = nullptr;
  void* data = nullptr;  // the owner, for ready
  int fd = -1;
};

// A one-shot timer: fire(this) runs on the loop's thread once the deadline
// has passed (the timer is disarmed first, so fire may re-arm it).
struct Timer : HeapTimer {
  void (*fire)(Timer*) = nullptr;
  void* data = nullptr;  // the owner, for fire
};

class Loop {
 public:
  Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  Reactor& reactor() { return reactor_; }
  Inbox& inbox() { return inbox_; }
  EventSource& inboxSource() { return inbox_source_; }

  // Milliseconds on the monotonic clock, as of the last updateNow().
  uint64_t now() const { return now_ms_; }
  uint64_t updateNow() {
    now_ms_ = core::monotonicNs() / 1'000'000;
    return now_ms_;
  }

  // Frees `w` after the current event batch (see IoWatch).
  void retire(std::unique_ptr<IoWatch> w) {
    w->fd = -1;
    retired_.push_back(std::move(w));
  }
  void freeRetired() {
    if (!retired_.empty()) retired_.clear();
  }

  void arm(Timer* t, uint64_t deadline_ms) { timers_.arm(t, deadline_ms); }
  void armAfter(Timer* t, uint64_t ms) { timers_.arm(t, now_ms_ + ms); }
  void disarm(Timer* t) { timers_.disarm(t); }
  uint64_t nextDeadline() const { return timers_.nextDeadline(); }
  size_t armedTimers() const { return timers_.size(); }

  // Fires every timer due at now(); timers armed while firing for a deadline
  // already past fire in this call too, in deadline order.
  void runDueTimers();

  // The epoll timeout that wakes the loop at the earliest of the timer heap's
  // deadline and `other_deadline_ms`, capped at `cap_ms` (-1: no cap).
  int waitTimeoutMs(uint64_t other_deadline_ms, int cap_ms) const {
    uint64_t deadline = timers_.nextDeadline();
    if (other_deadline_ms < deadline) deadline = other_deadline_ms;
    if (deadline == UINT64_MAX) return cap_ms;
    if (deadline <= now_ms_) return 0;
    uint64_t wait = deadline - now_ms_;
    if (cap_ms >= 0 && wait > static_cast<uint64_t>(cap_ms)) return cap_ms;
    return wait > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(wait);
  }

 private:
  Reactor reactor_;
  TimerHeap timers_;
  Inbox inbox_;
  EventSource inbox_source_{SourceKind::kInbox};
  uint64_t now_ms_ = 0;
  std::vector<std::unique_ptr<IoWatch>> retired_;
};

}  // namespace rover::net

// Timers at arbitrary deadlines (sleeps, user timeouts) where TimerLists'
// fixed-length FIFOs do not fit: a binary min-heap of intrusive nodes ordered
// by (deadline_ms, seq), so equal deadlines fire in arming order. arm, disarm
// and popExpired are O(log n); the only allocation is the heap vector's
// amortised growth. The caller owns every HeapTimer and must disarm it before
// freeing it; the heap only holds pointers. One heap per worker, not shared.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rover::net {

struct HeapTimer {
  static constexpr uint32_t kNotArmed = UINT32_MAX;
  uint64_t deadline_ms = 0;
  uint64_t seq = 0;                 // set by arm(): ties fire in arming order
  uint32_t heap_index = kNotArmed;  // position in the heap
  bool armed() const { return heap_index != kNotArmed; }
};

class TimerHeap {
 public:
  // Arms t, or re-arms it (moves it to the new deadline, behind timers already
  // armed for the same deadline).
  void arm(HeapTimer* t, uint64_t deadline_ms);
  // No-op when t is not armed.
  void disarm(HeapTimer* t);
  // The earliest timer with deadline_ms <= now_ms, already disarmed; nullptr if none.
  HeapTimer* popExpired(uint64_t now_ms);
  // The earliest deadline, UINT64_MAX when empty.
  uint64_t nextDeadline() const { return heap_.empty() ? UINT64_MAX : heap_.front()->deadline_ms; }
  size_t size() const { return heap_.size(); }
  bool empty() const { return heap_.empty(); }

 private:
  static bool before(const HeapTimer* a, const HeapTimer* b) {
    return a->deadline_ms != b->deadline_ms ? a->deadline_ms < b->deadline_ms : a->seq < b->seq;
  }
  void place(HeapTimer* t, size_t i) {
    heap_[i] = t;
    t->heap_index = static_cast<uint32_t>(i);
  }
  void siftUp(size_t i);
  void siftDown(size_t i);
  // Restores the heap around index i after its node changed or was replaced.
  void fix(size_t i);

  std::vector<HeapTimer*> heap_;
  uint64_t next_seq_ = 0;
};

}  // namespace rover::net

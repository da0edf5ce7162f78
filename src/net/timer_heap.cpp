#include "net/timer_heap.h"

namespace rover::net {

void TimerHeap::arm(HeapTimer* t, uint64_t deadline_ms) {
  t->deadline_ms = deadline_ms;
  t->seq = next_seq_++;
  if (t->armed()) {
    fix(t->heap_index);
    return;
  }
  heap_.push_back(t);
  t->heap_index = static_cast<uint32_t>(heap_.size() - 1);
  siftUp(heap_.size() - 1);
}

void TimerHeap::disarm(HeapTimer* t) {
  if (!t->armed()) return;
  size_t i = t->heap_index;
  HeapTimer* last = heap_.back();
  heap_.pop_back();
  t->heap_index = HeapTimer::kNotArmed;
  if (i == heap_.size()) return;  // t was the last node
  // The last node fills the hole; it may belong above or below it.
  place(last, i);
  fix(i);
}

HeapTimer* TimerHeap::popExpired(uint64_t now_ms) {
  if (heap_.empty() || heap_.front()->deadline_ms > now_ms) return nullptr;
  HeapTimer* t = heap_.front();
  disarm(t);
  return t;
}

void TimerHeap::siftUp(size_t i) {
  HeapTimer* t = heap_[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!before(t, heap_[parent])) break;
    place(heap_[parent], i);
    i = parent;
  }
  place(t, i);
}

void TimerHeap::siftDown(size_t i) {
  HeapTimer* t = heap_[i];
  size_t n = heap_.size();
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
    if (!before(heap_[child], t)) break;
    place(heap_[child], i);
    i = child;
  }
  place(t, i);
}

void TimerHeap::fix(size_t i) {
  if (i > 0 && before(heap_[i], heap_[(i - 1) / 2]))
    siftUp(i);
  else
    siftDown(i);
}

}  // namespace rover::net

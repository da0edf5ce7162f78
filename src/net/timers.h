// Connection timeouts in O(1) per operation (lua-api.md §11.2): every timeout
// kind has a fixed length, so each kind keeps an intrusive FIFO whose
// deadlines only grow; arming moves a node to the tail of its kind's list and
// expiry only ever looks at list heads. No allocation, no per-tick scan.
#pragma once
#include <array>
#include <cstdint>

namespace rover::net {

struct TimerNode {
  TimerNode* timer_prev = nullptr;
  TimerNode* timer_next = nullptr;
  uint64_t deadline_ms = 0;
  int8_t timer_kind = -1;  // -1: not armed
};

template <int Kinds>
class TimerLists {
 public:
  void setLength(int kind, uint64_t ms) { length_[kind] = ms; }

  void arm(TimerNode* n, int kind, uint64_t now_ms) {
    disarm(n);
    n->timer_kind = static_cast<int8_t>(kind);
    n->deadline_ms = now_ms + length_[kind];
    List& l = lists_[kind];
    n->timer_prev = l.tail;
    n->timer_next = nullptr;
    if (l.tail)
      l.tail->timer_next = n;
    else
      l.head = n;
    l.tail = n;
  }

  void disarm(TimerNode* n) {
    if (n->timer_kind < 0) return;
    List& l = lists_[n->timer_kind];
    if (n->timer_prev)
      n->timer_prev->timer_next = n->timer_next;
    else
      l.head = n->timer_next;
    if (n->timer_next)
      n->timer_next->timer_prev = n->timer_prev;
    else
      l.tail = n->timer_prev;
    n->timer_prev = n->timer_next = nullptr;
    n->timer_kind = -1;
  }

  // The earliest deadline of any kind, UINT64_MAX when none is armed.
  uint64_t nextDeadline() const {
    uint64_t d = UINT64_MAX;
    for (const List& l : lists_) {
      if (l.head && l.head->deadline_ms < d) d = l.head->deadline_ms;
    }
    return d;
  }

  // Pops one expired node (disarmed; *kind says which timer) or nullptr.
  TimerNode* popExpired(uint64_t now_ms, int* kind) {
    for (int k = 0; k < Kinds; ++k) {
      TimerNode* n = lists_[k].head;
      if (n && n->deadline_ms <= now_ms) {
        disarm(n);
        *kind = k;
        return n;
      }
    }
    return nullptr;
  }

 private:
  struct List {
    TimerNode* head = nullptr;
    TimerNode* tail = nullptr;
  };
  std::array<List, Kinds> lists_{};
  std::array<uint64_t, Kinds> length_{};
};

}  // namespace rover::net

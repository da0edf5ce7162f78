// Tasks: the coroutines every handler, hook and background task runs in
// (ARCHITECTURE.md §2.6-2.7, runtime-modules.md "Suspension" and §6). A task
// is pooled by its Vm and reuses its coroutine from one run to the next (a
// coroutine whose function returned takes a new function and runs again), so
// a handler that never waits costs one resume. A task that waits keeps its
// registrations in `waits` (the cancel hooks); aborting it cancels them and
// drops the coroutine, which is then never resumed. What a task holds across
// its waits (a database transaction) is in `holds`: released the same way
// when the task is aborted or its run fails, but not a wait itself (a task
// with holds and no waits that yields is a bare coroutine.yield).
#pragma once
#include <cstdint>
#include <initializer_list>

#include "net/loop.h"

struct lua_State;

namespace rover::lua {

struct RequestInfo;
struct Task;
class Vm;

// Something a task waits on. cancel() undoes the registration with the loop.
struct Wait {
  Task* task = nullptr;
  void (*cancel)(Wait*) = nullptr;
  Wait* next_wait = nullptr;
};

// rover.delay: a timer.
struct DelayWait : Wait {
  net::Timer timer;
};

// Told when a request task has finished running (kDone after a resume).
class TaskOwner {
 public:
  virtual void taskFinished(Task* t) = 0;

 protected:
  ~TaskOwner() = default;
};

// kWebSocket: a WebSocket handler (runtime-modules.md §7), told to its owner
// (the connection) when it finishes, or run as a background task without one.
enum class TaskKind : uint8_t { kRequest, kBackground, kWebSocket };
enum class RunStatus : uint8_t { kDone, kSuspended };

struct Task {
  Vm* vm = nullptr;
  uint32_t slot = 0;        // index in the Vm's tasks (what a ctx names)
  lua_State* co = nullptr;  // nullptr until first use, or after an abort
  int co_ref = -2;          // registry ref keeping `co` alive
  uint32_t generation = 1;  // bumped when a run ends: ctx handles of older runs are dead
  TaskKind kind = TaskKind::kRequest;
  bool in_use = false;
  bool suspended = false;
  bool co_dead = false;         // the coroutine must not run again (dropped at release)
  bool failed = false;          // the last run raised: its error value is on top of co's stack
  bool cancelled = false;       // background: cancel() while it ran
  RequestInfo* info = nullptr;  // request tasks: what ctx reads
  TaskOwner* owner = nullptr;   // request tasks
  int store_ref = -2;           // ctx:set/get table (made on first set)
  int producer_ref = -2;        // a stream's producer (server-features.md §11)
  const char* label = nullptr;  // background: names it in error logs
  uint64_t ws_conn = 0;         // the WebSocket connection its handler runs for (0: none)
  Wait* waits = nullptr;
  Wait* holds = nullptr;
  DelayWait delay;

  void addWait(Wait* w) {
    w->task = this;
    w->next_wait = waits;
    waits = w;
  }
  void removeWait(Wait* w) {
    for (Wait** p = &waits; *p; p = &(*p)->next_wait) {
      if (*p == w) {
        *p = w->next_wait;
        w->next_wait = nullptr;
        return;
      }
    }
  }
  void addHold(Wait* h) {
    h->task = this;
    h->next_wait = holds;
    holds = h;
  }
  void removeHold(Wait* h) {
    for (Wait** p = &holds; *p; p = &(*p)->next_wait) {
      if (*p == h) {
        *p = h->next_wait;
        h->next_wait = nullptr;
        return;
      }
    }
  }
  // Cancels the waits, then releases the holds.
  void cancelWaits() {
    for (Wait** list : {&waits, &holds}) {
      while (Wait* w = *list) {
        *list = w->next_wait;
        w->next_wait = nullptr;
        w->cancel(w);
      }
    }
  }
};

}  // namespace rover::lua

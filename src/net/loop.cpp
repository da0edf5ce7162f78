#include "net/loop.h"

#include "core/clock.h"

namespace rover::net {

Loop::Loop() { updateNow(); }

void Loop::runDueTimers() {
  while (HeapTimer* h = timers_.popExpired(now_ms_)) {
    auto* t = static_cast<Timer*>(h);
    t->fire(t);
  }
}

}  // namespace rover::net

// A per-worker multi-producer inbox: any thread posts messages, the owning
// worker's event loop polls fd() and drains them. The inbox owns a message
// from post() until drain() hands it to the caller. The lock guards only a
// vector push or swap; the wake-up write happens after unlocking, and only
// when the queue was empty, so a burst of posts costs one syscall.
#pragma once
#include <memory>
#include <mutex>
#include <vector>

namespace rover::net {

struct InboxMessage {  // base of every message; owned by the inbox until drained
  virtual ~InboxMessage() = default;
  int kind = 0;
};

// A message that carries its own handler: run(this) on the owning loop's
// thread when drained (work finished on another thread, e.g. a DNS lookup).
inline constexpr int kMsgCall = -1;
struct CallMessage : InboxMessage {
  CallMessage() { kind = kMsgCall; }
  void (*run)(CallMessage*) = nullptr;
};

class Inbox {
 public:
  // Creates a non-blocking, close-on-exec eventfd; throws std::runtime_error on failure.
  Inbox();
  // Closes the eventfd; deletes undrained messages.
  ~Inbox();
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  // Readable while messages wait (may be spuriously readable right after a drain).
  int fd() const { return fd_; }
  // Any thread; wakes the loop only when the queue was empty.
  void post(std::unique_ptr<InboxMessage> m);
  // Owner thread: resets the eventfd and moves every waiting message into *out
  // (appended, in posting order per producer).
  void drain(std::vector<std::unique_ptr<InboxMessage>>* out);

 private:
  int fd_;
  std::mutex mu_;
  std::vector<std::unique_ptr<InboxMessage>> queue_;  // guarded by mu_
  // Owner thread only: swapped with queue_ so both keep their capacity.
  std::vector<std::unique_ptr<InboxMessage>> spare_;
};

}  // namespace rover::net

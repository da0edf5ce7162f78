#include "net/inbox.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>

namespace rover::net {

Inbox::Inbox() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd_ < 0) throw std::runtime_error("eventfd failed");
}

Inbox::~Inbox() { ::close(fd_); }

void Inbox::post(std::unique_ptr<InboxMessage> m) {
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(mu_);
    was_empty = queue_.empty();
    queue_.push_back(std::move(m));
  }
  // Only the post that fills an empty queue writes: later posts are taken by
  // the same drain that this wake-up triggers.
  if (was_empty) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(fd_, &one, sizeof one);
  }
}

void Inbox::drain(std::vector<std::unique_ptr<InboxMessage>>* out) {
  // Reset before the swap: a message posted after the swap finds the queue
  // empty and writes again, so no wake-up is lost (at worst one is spurious).
  uint64_t count;
  [[maybe_unused]] ssize_t n = ::read(fd_, &count, sizeof count);
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.swap(spare_);
  }
  for (auto& m : spare_) out->push_back(std::move(m));
  spare_.clear();
}

}  // namespace rover::net

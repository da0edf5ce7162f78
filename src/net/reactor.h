// A thin epoll wrapper: one per worker, level-triggered, `data.ptr` names
// the owner of each fd. Never shared between threads.
#pragma once
#include <sys/epoll.h>

#include <cstdint>

namespace rover::net {

class Reactor {
 public:
  Reactor();
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  bool add(int fd, uint32_t events, void* owner);
  bool modify(int fd, uint32_t events, void* owner);
  void remove(int fd);
  // Returns the number of ready events (0 on timeout or EINTR).
  int wait(epoll_event* events, int max, int timeout_ms);

 private:
  int epfd_;
};

}  // namespace rover::net

#include "net/reactor.h"

#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace rover::net {

Reactor::Reactor() : epfd_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (epfd_ < 0) throw std::runtime_error("epoll_create1 failed");
}

Reactor::~Reactor() { ::close(epfd_); }

bool Reactor::add(int fd, uint32_t events, void* owner) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = owner;
  return ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool Reactor::modify(int fd, uint32_t events, void* owner) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = owner;
  return ::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void Reactor::remove(int fd) { ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr); }

int Reactor::wait(epoll_event* events, int max, int timeout_ms) {
  int n = ::epoll_wait(epfd_, events, max, timeout_ms);
  if (n < 0) return 0;  // EINTR
  return n;
}

}  // namespace rover::net

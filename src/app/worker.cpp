#include "app/worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <fmt/format.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "lua/ctx.h"
#include "net/address.h"

namespace rover::app {
namespace {

char kListenTag, kWakeTag;
constexpr int kMaxEvents = 256;
constexpr int kTickMs = 250;
constexpr size_t kMaxSpareBuffers = 256;

uint64_t nowMs() { return core::monotonicNs() / 1'000'000; }

// The request bytes of the next message have started arriving.
bool messageStarted(Connection* c) {
  return c->parser.inMessage() || c->in.size() > c->parser.messageStart();
}

}  // namespace

Worker::Worker(int id, std::unique_ptr<lua::Vm> vm, const WorkerSettings& settings)
    : id_(id),
      vm_(std::move(vm)),
      listen_fd_(-1),
      settings_(settings),
      processor_(*vm_, router_, ProcessorSettings{settings.body_size_limit, id}) {
  processor_.setStopFlag(&stop_requested_);
  timers_.setLength(kTimerIdle, settings.idle_timeout_ms);
  timers_.setLength(kTimerHead, settings.head_timeout_ms);
  timers_.setLength(kTimerBody, settings.body_timeout_ms);
  timers_.setLength(kTimerOutput, settings.output_timeout_ms);
  timers_.setLength(kTimerLinger, settings.linger_ms);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

Worker::~Worker() {
  for (Connection* c : conns_) {
    ::close(c->fd);
    delete c;
  }
  for (Connection* c : free_) delete c;
  for (Connection* c : pending_free_) delete c;
  if (listen_fd_ >= 0) ::close(listen_fd_);
  ::close(wake_fd_);
}

void Worker::requestStop() {
  stop_requested_.store(true);
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void Worker::run() {
  reactor_.add(listen_fd_, EPOLLIN, &kListenTag);
  reactor_.add(wake_fd_, EPOLLIN, &kWakeTag);
  epoll_event events[kMaxEvents];
  now_ms_ = nowMs();
  vm_->callHook("on_ready");
  uint64_t next_tick = now_ms_ + kTickMs;
  for (;;) {
    int n = reactor_.wait(events, kMaxEvents, kTickMs);
    now_ms_ = nowMs();
    for (int i = 0; i < n; ++i) {
      void* owner = events[i].data.ptr;
      if (owner == &kListenTag) {
        onAccept();
      } else if (owner == &kWakeTag) {
        uint64_t v;
        [[maybe_unused]] ssize_t r = ::read(wake_fd_, &v, sizeof v);
        if (stop_requested_.load()) beginDrain();
      } else {
        auto* c = static_cast<Connection*>(owner);
        if (c->fd >= 0) onEvent(c, events[i].events);
      }
    }
    for (Connection* c : pending_free_) free_.push_back(c);
    pending_free_.clear();
    if (now_ms_ >= next_tick) {
      sweep();
      next_tick = now_ms_ + kTickMs;
    }
    if (draining_ && (conns_.empty() || now_ms_ >= drain_deadline_ms_)) break;
  }
  while (!conns_.empty()) close(conns_.back());
}

void Worker::beginDrain() {
  if (draining_) return;
  draining_ = true;
  processor_.setDraining(true);
  vm_->callHook("on_shutdown");
  drain_deadline_ms_ = now_ms_ + static_cast<uint64_t>(settings_.drain_timeout_ms);
  if (listen_fd_ >= 0) {
    reactor_.remove(listen_fd_);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  for (size_t i = conns_.size(); i-- > 0;) {
    Connection* c = conns_[i];
    bool head_incomplete = c->state == ConnState::kOpen && c->parser.inHead();
    if (c->pending() == 0 && (!messageStarted(c) || head_incomplete)) close(c);
  }
}

void Worker::onAccept() {
  for (int i = 0; i < 64 && listen_fd_ >= 0; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: stop accepting until the next tick (no busy loop).
        reactor_.remove(listen_fd_);
        listener_paused_ = true;
      }
      return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Connection* c;
    if (!free_.empty()) {
      c = free_.back();
      free_.pop_back();
    } else {
      c = new Connection();
    }
    c->fd = fd;
    c->peer = peer;
    processor_.open(c);
    timers_.arm(c, kTimerIdle, now_ms_);
    c->index = static_cast<uint32_t>(conns_.size());
    conns_.push_back(c);
    reactor_.add(fd, EPOLLIN, c);
  }
}

void Worker::onEvent(Connection* c, uint32_t events) {
  if ((events & EPOLLOUT) && c->pending() > 0) {
    flush(c);
    if (c->fd < 0) return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) onReadable(c);
}

void Worker::onReadable(Connection* c) {
  if (c->state == ConnState::kLingering) {
    char sink[4096];
    ssize_t n = ::recv(c->fd, sink, sizeof sink, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) close(c);
    return;
  }
  lend(c->in);
  char* p = c->in.prepare(core::kReadChunkBytes);
  ssize_t n = ::recv(c->fd, p, c->in.tailroom(), 0);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) close(c);
    return;
  }
  if (n == 0) {  // peer closed its side: finish what is queued, then close
    c->peer_eof = true;
    if (c->pending() == 0) {
      close(c);
    } else {
      c->state = ConnState::kClosing;
      updateInterest(c);
    }
    return;
  }
  c->in.commit(static_cast<size_t>(n));
  if (c->timer_kind == kTimerBody) c->body_period_bytes += static_cast<size_t>(n);
  lend(c->out);
  processor_.process(c);
  if (c->in.empty()) reclaim(c->in);
  flush(c);
}

void Worker::flush(Connection* c) {
  bool progressed = false;
  for (;;) {
    while (c->pending() > 0) {
      ssize_t n = ::send(c->fd, c->out.data() + c->out_sent, c->pending(), MSG_NOSIGNAL);
      if (n > 0) {
        c->out_sent += static_cast<size_t>(n);
        progressed = true;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      close(c);
      return;
    }
    if (c->pending() > 0) break;
    c->out.clear();
    c->out_sent = 0;
    reclaim(c->out);
    if (c->state == ConnState::kClosing) {
      if (c->linger && !c->peer_eof) {
        ::shutdown(c->fd, SHUT_WR);
        c->state = ConnState::kLingering;
        timers_.arm(c, kTimerLinger, now_ms_);
        break;
      }
      close(c);
      return;
    }
    // Output drained: serve requests that waited behind the output limit.
    if (c->state == ConnState::kOpen && c->in.size() > c->parser.parsedUpTo()) {
      processor_.process(c);
      if (c->pending() > 0) continue;
    }
    break;
  }
  updateInterest(c);
  rearm(c, progressed);
}

// Idle connections hold no buffers: they borrow from a per-worker pool while
// they have bytes to parse or to send.
void Worker::lend(core::Buffer& b) {
  if (b.capacity() == 0 && !spare_.empty()) {
    b = std::move(spare_.back());
    spare_.pop_back();
  }
}

void Worker::reclaim(core::Buffer& b) {
  if (b.capacity() == 0) return;
  if (b.capacity() <= core::kKeepBufferBytes && spare_.size() < kMaxSpareBuffers) {
    b.clear();
    spare_.push_back(std::move(b));
  } else {
    b = core::Buffer();
  }
}

// Picks the timeout that applies to the connection's state (lua-api.md §11.2).
void Worker::rearm(Connection* c, bool output_progressed) {
  if (c->state == ConnState::kLingering) return;  // armed once when entered
  if (c->pending() > 0) {
    if (output_progressed || c->timer_kind != kTimerOutput) timers_.arm(c, kTimerOutput, now_ms_);
    return;
  }
  if (c->state != ConnState::kOpen) return;
  if (!messageStarted(c)) {
    timers_.arm(c, kTimerIdle, now_ms_);
  } else if (c->parser.inHead()) {
    if (c->timer_kind != kTimerHead) timers_.arm(c, kTimerHead, now_ms_);
  } else if (c->timer_kind != kTimerBody || c->body_period_bytes >= 1024) {
    c->body_period_bytes = 0;  // a new period starts
    timers_.arm(c, kTimerBody, now_ms_);
  }
}

void Worker::updateInterest(Connection* c) {
  bool want_write = c->pending() > 0;
  bool reading = c->state == ConnState::kLingering ||
                 (c->state == ConnState::kOpen && c->pending() < core::kMaxPendingOutputBytes);
  if (want_write == c->want_write && reading == c->reading) return;
  c->want_write = want_write;
  c->reading = reading;
  uint32_t ev = (reading ? uint32_t{EPOLLIN} : 0u) | (want_write ? uint32_t{EPOLLOUT} : 0u);
  reactor_.modify(c->fd, ev, c);
}

void Worker::close(Connection* c) {
  if (c->fd < 0) return;
  timers_.disarm(c);
  ::close(c->fd);
  c->fd = -1;
  c->in.clear();
  c->out.clear();
  c->out_sent = 0;
  reclaim(c->in);
  reclaim(c->out);
  Connection* last = conns_.back();
  conns_[c->index] = last;
  last->index = c->index;
  conns_.pop_back();
  pending_free_.push_back(c);
}

// Expired timeouts (lua-api.md §11.2) and a paused listener, a few times a second.
void Worker::sweep() {
  if (listener_paused_ && listen_fd_ >= 0) {
    listener_paused_ = false;
    reactor_.add(listen_fd_, EPOLLIN, &kListenTag);
  }
  int kind;
  while (net::TimerNode* n = timers_.popExpired(now_ms_, &kind)) {
    auto* c = static_cast<Connection*>(n);
    if ((kind == kTimerHead || kind == kTimerBody) && c->state == ConnState::kOpen) {
      processor_.reject(c, 408);
      flush(c);
    } else {
      close(c);
    }
  }
}

}  // namespace rover::app

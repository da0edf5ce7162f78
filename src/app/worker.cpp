#include "app/worker.h"

#include <sys/sendfile.h>
#include <sys/uio.h>

#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "lua/ctx.h"
#include "net/address.h"

namespace rover::app {
namespace {

constexpr int kMaxEvents = 256;
constexpr int kListenerRetryMs = 250;
constexpr int kMsgStop = 1;
constexpr int kMsgHandover = 2;
constexpr uint64_t kMetricsPublishMs = 1000;

// The request bytes of the next message have started arriving.
bool messageStarted(Connection* c) {
  return c->parser.inMessage() || c->in.size() > c->parser.messageStart();
}

}  // namespace

Worker::Worker(int id, std::unique_ptr<net::Loop> loop, std::unique_ptr<lua::Vm> vm,
               const WorkerSettings& settings)
    : id_(id),
      loop_(std::move(loop)),
      vm_(std::move(vm)),
      listen_fd_(-1),
      settings_(settings),
      reactor_(loop_->reactor()),
      processor_(*vm_, router_,
                 ProcessorSettings{settings.body_size_limit, id, settings.handler_timeout_ms,
                                   settings.pipeline},
                 this) {
  processor_.setStopFlag(&stop_requested_);
  timers_.setLength(kTimerIdle, settings.idle_timeout_ms);
  timers_.setLength(kTimerHead, settings.head_timeout_ms);
  timers_.setLength(kTimerBody, settings.body_timeout_ms);
  timers_.setLength(kTimerOutput, settings.output_timeout_ms);
  timers_.setLength(kTimerLinger, settings.linger_ms);
  timers_.setLength(kTimerWsPing, settings.ws_ping_ms);
  shortest_timer_ms_ =
      std::min({settings.idle_timeout_ms, settings.head_timeout_ms, settings.body_timeout_ms,
                settings.output_timeout_ms, settings.linger_ms, settings.ws_ping_ms});
}

Worker::~Worker() {
  for (Connection* c : conns_) {
    processor_.abort(c);
    if (c->ws) ws_->release(c->ws);
    ::close(c->fd);
    delete c;
  }
  for (Connection* c : free_) delete c;
  for (Connection* c : pending_free_) delete c;
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void Worker::requestStop() {
  stop_requested_.store(true);
  auto m = std::make_unique<net::InboxMessage>();
  m->kind = kMsgStop;
  loop_->inbox().post(std::move(m));
}

void Worker::requestHandover() {
  stop_requested_.store(true);
  auto m = std::make_unique<net::InboxMessage>();
  m->kind = kMsgHandover;
  loop_->inbox().post(std::move(m));
}

void Worker::run() {
  reactor_.add(listen_fd_, EPOLLIN, &listen_source_);
  reactor_.add(loop_->inbox().fd(), EPOLLIN, &loop_->inboxSource());
  if (ws_router_.size() > 0) {
    ws_ = std::make_unique<WsServer>(id_, *vm_, loop_.get());
    processor_.setWebSockets(&ws_router_, ws_.get());
  }
  epoll_event events[kMaxEvents];
  loop_->updateNow();
  if (metrics_) {
    metrics_timer_.fire = onMetricsTimer;
    metrics_timer_.data = this;
    publishMetrics();
    loop_->armAfter(&metrics_timer_, kMetricsPublishMs);
  }
  vm_->callHook("on_ready");
  for (;;) {
    int n = reactor_.wait(events, kMaxEvents, loop_->waitTimeoutMs(nextDeadline(), -1));
    loop_->updateNow();
    for (int i = 0; i < n; ++i) {
      auto* src = static_cast<net::EventSource*>(events[i].data.ptr);
      switch (src->source_kind) {
        case net::SourceKind::kListener:
          onAccept();
          break;
        case net::SourceKind::kInbox:
          onInbox();
          break;
        case net::SourceKind::kConnection: {
          auto* c = static_cast<Connection*>(src);
          if (c->fd >= 0) onEvent(c, events[i].events);
          break;
        }
        case net::SourceKind::kOutbound: {
          auto* w = static_cast<net::IoWatch*>(src);
          if (w->fd >= 0) w->ready(w, events[i].events);
          break;
        }
      }
    }
    // Connection timeouts have fixed lengths, so a timer armed after a sweep
    // expires no earlier than the shortest length from then: sweep only when
    // something can have expired, not on every event batch.
    if (loop_->now() >= next_sweep_ms_) sweep();
    if (listener_paused_ && loop_->now() >= listener_retry_ms_) resumeListener();
    if (loop_->nextDeadline() <= loop_->now()) loop_->runDueTimers();
    if (ws_) serviceWebSockets();
    loop_->freeRetired();
    for (Connection* c : pending_free_) free_.push_back(c);
    pending_free_.clear();
    if (draining_ && (conns_.empty() || loop_->now() >= drain_deadline_ms_)) break;
  }
  // Past the drain deadline: what is still running is aborted.
  while (!conns_.empty()) close(conns_.back());
  if (metrics_) loop_->disarm(&metrics_timer_);
}

// This worker's gauges (app/metrics.h): once a second, and before it serves a scrape.
void Worker::publishMetrics() {
  if (!metrics_) return;
  publishWorkerGauges(metrics_, *vm_, conns_.size(), ws_ ? ws_->openConnections() : 0);
}

void Worker::onMetricsTimer(net::Timer* t) {
  auto* w = static_cast<Worker*>(t->data);
  w->publishMetrics();
  w->loop_->armAfter(&w->metrics_timer_, kMetricsPublishMs);
}

void Worker::onInbox() {
  std::vector<std::unique_ptr<net::InboxMessage>> msgs;
  loop_->inbox().drain(&msgs);
  for (auto& m : msgs) {
    if (m->kind == kMsgStop) {
      beginDrain();
    } else if (m->kind == kMsgHandover) {
      if (listen_fd_ >= 0) {  // the socket is the new workers' now
        if (!listener_paused_) reactor_.remove(listen_fd_);
        listen_fd_ = -1;
      }
      beginDrain();
    } else if (m->kind == net::kMsgCall) {
      auto* call = static_cast<net::CallMessage*>(m.get());
      call->run(call);
    }
  }
}

void Worker::beginDrain() {
  if (draining_) return;
  draining_ = true;
  processor_.setDraining(true);
  vm_->callHook("on_shutdown");
  drain_deadline_ms_ = loop_->now() + static_cast<uint64_t>(settings_.drain_timeout_ms);
  if (listen_fd_ >= 0) {
    reactor_.remove(listen_fd_);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  if (ws_) ws_->goingAway();  // close 1001; each ends with its peer's close
  for (size_t i = conns_.size(); i-- > 0;) {
    Connection* c = conns_[i];
    if (c->state == ConnState::kUpgraded) continue;
    bool head_incomplete = c->state == ConnState::kOpen && c->parser.inHead();
    if (c->pending() == 0 && !c->exchange && (!messageStarted(c) || head_incomplete)) {
      if (c->fresh) {
        // Accepted and not yet answered: its first request is likely on its
        // way (a reload hands the socket over just after this accepted it).
        // It gets the linger time to arrive, and is answered with
        // Connection: close; then it is closed.
        timers_.arm(c, kTimerLinger, loop_->now());
      } else {
        close(c);
      }
    }
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
        // Out of descriptors: stop accepting for a while (no busy loop).
        reactor_.remove(listen_fd_);
        listener_paused_ = true;
        listener_retry_ms_ = loop_->now() + kListenerRetryMs;
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
    timers_.arm(c, kTimerIdle, loop_->now());
    c->index = static_cast<uint32_t>(conns_.size());
    conns_.push_back(c);
    c->events = EPOLLIN;
    reactor_.add(fd, EPOLLIN, static_cast<net::EventSource*>(c));
  }
}

void Worker::onEvent(Connection* c, uint32_t events) {
  if ((events & EPOLLOUT) && c->pending() > 0) {
    flush(c);
    if (c->fd < 0) return;
  }
  if (c->exchange) {
    onHandling(c, events);
  } else if (c->state == ConnState::kUpgraded) {
    onUpgraded(c, events);
  } else if (c->state == ConnState::kLingering) {
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) onLingering(c);
  } else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    onReadable(c);
  }
}

// A handler of this connection waits. Its request's views point into c->in,
// so nothing is read; the socket is watched only for the peer going away,
// which aborts the exchange (as nginx does for a client that closes early).
void Worker::onHandling(Connection* c, uint32_t events) {
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) close(c);
}

void Worker::exchangeFinished(Connection* c) {
  if (c->fd < 0) return;
  if (c->state == ConnState::kUpgraded) ws_->onData(c->ws);  // frames sent behind the handshake
  flush(c);
}

// A WebSocket (app/ws_server.h). While its handler waits nothing is read
// (messages are handled in order), as for a waiting request.
void Worker::onUpgraded(Connection* c, uint32_t events) {
  if (c->ws->task) {
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) close(c);
    return;
  }
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
  lend(c->in);
  char* p = c->in.prepare(core::kReadChunkBytes);
  ssize_t n = ::recv(c->fd, p, c->in.tailroom(), 0);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) close(c);
    return;
  }
  if (n == 0) {  // gone without a close frame
    close(c);
    return;
  }
  c->in.commit(static_cast<size_t>(n));
  ws_->onData(c->ws);
  if (c->in.empty()) reclaim(c->in);
  flush(c);
}

// After each loop turn: the ws.leave handlers of connections that ended,
// then the connections that frames were queued for (sends only queue).
void Worker::serviceWebSockets() {
  ws_->runDeferred();
  std::vector<WsConn*>& dirty = ws_->dirty();
  while (!dirty.empty()) {
    std::vector<WsConn*> batch;
    batch.swap(dirty);
    for (WsConn* w : batch) {
      w->dirty = false;
      if (w->conn && w->conn->fd >= 0) flush(w->conn);
    }
  }
  ws_->freeRetired();
}

void Worker::onLingering(Connection* c) {
  char sink[4096];
  ssize_t n = ::recv(c->fd, sink, sizeof sink, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) close(c);
}

void Worker::onReadable(Connection* c) {
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
  if (c->state == ConnState::kUpgraded) ws_->onData(c->ws);  // frames behind the handshake
  if (c->in.empty()) reclaim(c->in);
  flush(c);
}

void Worker::flush(Connection* c) {
  bool progressed = false;
  for (;;) {
    size_t file_sent = 0;
    while (c->pending() > 0) {
      ssize_t n;
      if (c->outPending() > 0) {
        // A head followed by a file goes out with MSG_MORE: the kernel holds
        // it for the file's first bytes, so a small file leaves as one
        // segment (nginx corks with two setsockopt calls for the same).
        int flags = MSG_NOSIGNAL | (c->file_left > 0 ? MSG_MORE : 0);
        n = ::send(c->fd, c->out.data() + c->out_sent, c->outPending(), flags);
        if (n > 0) c->out_sent += static_cast<size_t>(n);
      } else if (c->file_left == 0) {  // WebSocket frames (app/ws_server.h)
        iovec iov[64];
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = ws_->gather(c->ws, iov, 64);
        n = ::sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        if (n > 0) ws_->sent(c->ws, static_cast<size_t>(n));
      } else {
        // The file's bytes go from the page cache to the socket (no copy
        // here); at most kSendfileSliceBytes per turn, so that one download
        // does not hold the worker while others wait.
        if (file_sent >= core::kSendfileSliceBytes) break;
        off_t off = static_cast<off_t>(c->file_offset);
        size_t want = static_cast<size_t>(
            std::min<uint64_t>(c->file_left, core::kSendfileSliceBytes - file_sent));
        n = ::sendfile(c->fd, c->file_fd, &off, want);
        if (n == 0) n = -2;  // the file shrank under us: the response cannot be finished
        if (n > 0) {
          c->file_offset += static_cast<uint64_t>(n);
          c->file_left -= static_cast<uint64_t>(n);
          file_sent += static_cast<size_t>(n);
          if (c->file_left == 0) closeFile(c);
        }
      }
      if (n > 0) {
        progressed = true;
        continue;
      }
      if (n == -1 && (errno == EAGAIN || errno == EINTR)) break;
      close(c);
      return;
    }
    if (c->pending() > 0) break;
    c->out.clear();
    c->out_sent = 0;
    reclaim(c->out);
    if (c->exchange) {  // a stream wants more output, or a handler waits
      processor_.onWritable(c);
      if (c->pending() > 0) continue;
      if (c->exchange) break;
    }
    if (c->state == ConnState::kClosing) {
      if (c->linger && !c->peer_eof) {
        ::shutdown(c->fd, SHUT_WR);
        c->state = ConnState::kLingering;
        timers_.arm(c, kTimerLinger, loop_->now());
        break;
      }
      close(c);
      return;
    }
    // Output drained: serve requests that waited behind the output limit.
    if (c->state == ConnState::kOpen && !c->exchange && c->in.size() > c->parser.parsedUpTo()) {
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
  if (b.capacity() == 0 && spare_count_ > 0) b = std::move(spare_[--spare_count_]);
}

void Worker::reclaim(core::Buffer& b) {
  if (b.capacity() == 0) return;
  if (b.capacity() <= core::kKeepBufferBytes && spare_count_ < spare_.size()) {
    b.clear();
    spare_[spare_count_++] = std::move(b);
  } else {
    b = core::Buffer();
  }
}

// Picks the timeout that applies to the connection's state (lua-api.md §11.2).
void Worker::rearm(Connection* c, bool output_progressed) {
  const uint64_t now_ms = loop_->now();
  if (c->state == ConnState::kLingering) return;  // armed once when entered
  if (c->pending() > 0) {
    if (output_progressed || c->timer_kind != kTimerOutput) timers_.arm(c, kTimerOutput, now_ms);
    return;
  }
  if (c->state == ConnState::kUpgraded) {
    if (c->timer_kind != kTimerWsPing) timers_.arm(c, kTimerWsPing, now_ms);
    return;
  }
  if (c->exchange) {  // timeouts.handler applies, not the transport's
    timers_.disarm(c);
    return;
  }
  if (c->state != ConnState::kOpen) return;
  if (!messageStarted(c)) {
    timers_.arm(c, kTimerIdle, now_ms);
  } else if (c->parser.inHead()) {
    if (c->timer_kind != kTimerHead) timers_.arm(c, kTimerHead, now_ms);
  } else if (c->timer_kind != kTimerBody || c->body_period_bytes >= 1024) {
    c->body_period_bytes = 0;  // a new period starts
    timers_.arm(c, kTimerBody, now_ms);
  }
}

// Reading: EPOLLIN. Handling (an exchange waits): only EPOLLRDHUP, the peer
// going away. Sending: EPOLLOUT as well.
void Worker::updateInterest(Connection* c) {
  uint32_t ev;
  if (c->exchange) {
    ev = EPOLLRDHUP;
  } else if (c->state == ConnState::kUpgraded) {  // not while its handler waits or output is backed up
    ev = c->ws->task || c->pending() >= core::kMaxPendingOutputBytes ? EPOLLRDHUP : EPOLLIN;
  } else if (c->state == ConnState::kLingering ||
             (c->state == ConnState::kOpen && c->pending() < core::kMaxPendingOutputBytes)) {
    ev = EPOLLIN;
  } else {
    ev = 0;
  }
  if (c->pending() > 0) ev |= EPOLLOUT;
  if (ev == c->events) return;
  c->events = ev;
  reactor_.modify(c->fd, ev, static_cast<net::EventSource*>(c));
}

void Worker::closeFile(Connection* c) {
  if (c->file_fd >= 0) ::close(c->file_fd);
  c->file_fd = -1;
  c->file_left = 0;
}

void Worker::close(Connection* c) {
  if (c->fd < 0) return;
  closeFile(c);
  processor_.abort(c);  // a waiting handler is never resumed
  if (c->ws) ws_->release(c->ws);
  c->ws_queued = 0;
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

void Worker::resumeListener() {
  listener_paused_ = false;
  if (listen_fd_ >= 0) reactor_.add(listen_fd_, EPOLLIN, &listen_source_);
}

// Expired connection timeouts (lua-api.md §11.2).
void Worker::sweep() {
  const uint64_t now_ms = loop_->now();
  int kind;
  while (net::TimerNode* n = timers_.popExpired(now_ms, &kind)) {
    auto* c = static_cast<Connection*>(n);
    if (kind == kTimerWsPing) {
      if (c->ws && ws_->onPingTimer(c->ws, now_ms, settings_.ws_idle_ms)) {
        timers_.arm(c, kTimerWsPing, now_ms);
      }
      flush(c);
    } else if ((kind == kTimerHead || kind == kTimerBody) && c->state == ConnState::kOpen) {
      processor_.reject(c, 408);
      flush(c);
    } else {
      close(c);
    }
  }
  next_sweep_ms_ = std::min(timers_.nextDeadline(), now_ms + shortest_timer_ms_);
}

}  // namespace rover::app

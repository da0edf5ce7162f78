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
constexpr size_t kKeepBufferBytes = 64 * 1024;

uint64_t nowMs() { return core::monotonicNs() / 1'000'000; }

size_t pending(const Connection* c) { return c->out.size() - c->out_sent; }

// The request bytes of the next message have started arriving.
bool messageStarted(Connection* c) {
  return c->parser.inMessage() || c->in.size() > c->parser.messageStart();
}

std::string_view transportBody(int status) {
  switch (status) {
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    default: return "Bad Request";
  }
}

}  // namespace

Worker::Worker(int id, std::unique_ptr<lua::Vm> vm, const WorkerSettings& settings)
    : id_(id), vm_(std::move(vm)), listen_fd_(-1), settings_(settings) {
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
  vm_->callHook("on_shutdown");
  drain_deadline_ms_ = now_ms_ + static_cast<uint64_t>(settings_.drain_timeout_ms);
  if (listen_fd_ >= 0) {
    reactor_.remove(listen_fd_);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  for (size_t i = conns_.size(); i-- > 0;) {
    Connection* c = conns_[i];
    if (!messageStarted(c) && pending(c) == 0) close(c);
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
    c->state = ConnState::kOpen;
    c->want_write = false;
    c->reading = true;
    c->peer = peer;
    c->peer_text[0] = '\0';
    c->peer_eof = false;
    c->linger = false;
    c->output_progress_ms = now_ms_;
    c->in.clear();
    c->out.clear();
    c->out_sent = 0;
    c->parser.reset();
    c->parser.setBodyLimit(settings_.body_size_limit);
    c->timer = TimerKind::kIdle;
    c->deadline_ms = now_ms_ + core::kIdleTimeoutMs;
    c->index = static_cast<uint32_t>(conns_.size());
    conns_.push_back(c);
    reactor_.add(fd, EPOLLIN, c);
  }
}

void Worker::onEvent(Connection* c, uint32_t events) {
  if ((events & EPOLLOUT) && pending(c) > 0) {
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
  char* p = c->in.prepare(core::kReadChunkBytes);
  ssize_t n = ::recv(c->fd, p, c->in.tailroom(), 0);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) close(c);
    return;
  }
  if (n == 0) {  // peer closed its side: finish what is queued, then close
    c->peer_eof = true;
    if (pending(c) == 0) {
      close(c);
    } else {
      c->state = ConnState::kClosing;
      updateInterest(c);
    }
    return;
  }
  c->in.commit(static_cast<size_t>(n));
  bool was_idle = c->timer == TimerKind::kIdle;
  processInput(c);
  if (c->fd < 0) return;
  if (c->state == ConnState::kOpen) {
    if (!messageStarted(c)) {
      c->timer = TimerKind::kIdle;
      c->deadline_ms = now_ms_ + core::kIdleTimeoutMs;
    } else if (c->parser.inHead()) {
      if (was_idle || c->timer != TimerKind::kHead) {
        c->timer = TimerKind::kHead;
        c->deadline_ms = now_ms_ + core::kHeadTimeoutMs;
      }
    } else {
      c->timer = TimerKind::kBody;
      c->deadline_ms = now_ms_ + core::kBodyTimeoutMs;
    }
  }
  flush(c);
}

void Worker::processInput(Connection* c) {
  while (c->state == ConnState::kOpen && pending(c) < core::kMaxPendingOutputBytes) {
    http::ParseStatus st = c->parser.execute(c->in.data(), c->in.size());
    if (st == http::ParseStatus::kNeedMore) break;
    if (st == http::ParseStatus::kContinue) {
      c->out.append("HTTP/1.1 100 Continue\r\n\r\n");
      continue;
    }
    if (st == http::ParseStatus::kError) {
      reject(c, c->parser.errorStatus());
      break;
    }
    dispatch(c, c->parser.request(c->in.data()));
    c->parser.nextMessage();
  }
  size_t done = c->parser.messageStart();
  if (done > 0) {
    c->in.consume(done);
    c->parser.rebase(done);
  }
  if (c->in.empty()) c->in.shrink_if_empty(kKeepBufferBytes);
}

void Worker::reject(Connection* c, int status) {
  if (status == 413) {
    std::string body = fmt::format(
        "{{\"error\":\"Request body too large: {} bytes exceeds limit of {} bytes\"}}",
        c->parser.errorBodySize(), settings_.body_size_limit);
    http::writeSimpleResponse(c->out, 413, http::kJson, body, false,
                              http::ConnectionHeader::kClose);
  } else {
    http::writeSimpleResponse(c->out, status, http::kTextPlain, transportBody(status), false,
                              http::ConnectionHeader::kClose);
  }
  c->state = ConnState::kClosing;
  c->linger = true;
}

const char* Worker::peerText(Connection* c) {
  if (c->peer_text[0] == '\0') net::addressText(c->peer, c->peer_text, sizeof c->peer_text);
  return c->peer_text;
}

void Worker::dispatch(Connection* c, const http::Request& req) {
  uint64_t t0 = core::logEnabled(core::LogLevel::kWarn) ? core::monotonicNs() : 0;
  bool close_after = !req.keep_alive || draining_;
  http::ConnectionHeader conn = close_after            ? http::ConnectionHeader::kClose
                                : req.version_minor == 0 ? http::ConnectionHeader::kKeepAlive
                                                         : http::ConnectionHeader::kNone;
  if (close_after) c->state = ConnState::kClosing;

  lua::RequestInfo info;
  info.request = &req;
  info.worker_id = id_;
  router::Match match;
  info.match = &match;
  auto method = router::parseMethod(req.method);
  bool head = method == router::Method::kHead;
  int status;
  if (core::logEnabled(core::LogLevel::kDebug)) {
    core::logLine(core::LogLevel::kDebug,
                  fmt::format("[{}] query: {} body: {} bytes", lua::requestId(info), req.query,
                              req.body.size()));
  }
  if (!method) {
    status = 400;
    std::string body = fmt::format(
        "Invalid HTTP method '{}'. Valid methods: get, post, put, patch, delete, head, options",
        req.method);
    http::writeSimpleResponse(c->out, 400, http::kTextPlain, body, false, conn);
  } else if (req.target == "*") {
    if (*method == router::Method::kOptions) {
      status = 204;
      http::writeStatusLine(c->out, 204);
      http::writeHeader(c->out, "Allow", router::allowHeader(0x7f));
      http::finishHead(c->out, 204, 0, conn);
    } else {
      status = 400;
      http::writeSimpleResponse(c->out, 400, http::kTextPlain, "Bad Request", head, conn);
    }
  } else if (router_.match(*method, req.path, &match)) {
    info.method = *method;
    info.client_ip = peerText(c);
    lua::ResponseOptions opts;
    opts.head_request = head;
    opts.connection = conn;
    status = vm_->handle(info, opts, c->out);
  } else if (match.allowed == 0) {
    status = 404;
    http::writeSimpleResponse(c->out, 404, http::kTextPlain, "Route not found", head, conn);
  } else if (*method == router::Method::kOptions) {
    status = 204;
    http::writeStatusLine(c->out, 204);
    http::writeHeader(c->out, "Allow", router::allowHeader(match.allowed));
    http::finishHead(c->out, 204, 0, conn);
  } else {
    status = 405;
    http::writeStatusLine(c->out, 405);
    http::writeHeader(c->out, "Allow", router::allowHeader(match.allowed));
    http::writeHeader(c->out, "Content-Type", http::kTextPlain);
    http::finishHead(c->out, 405, 18, conn);
    if (!head) c->out.append("Method Not Allowed");
  }
  if (t0) {
    core::LogLevel level = status >= 400 ? core::LogLevel::kWarn : core::LogLevel::kInfo;
    if (core::logEnabled(level)) {
      double ms = static_cast<double>(core::monotonicNs() - t0) / 1e6;
      core::logLine(level, fmt::format("[{}] {} {} - {} in {:.2f}ms", lua::requestId(info),
                                       req.method, req.path, status, ms));
    }
  }
}

void Worker::flush(Connection* c) {
  for (;;) {
    while (pending(c) > 0) {
      ssize_t n = ::send(c->fd, c->out.data() + c->out_sent, pending(c), MSG_NOSIGNAL);
      if (n > 0) {
        c->out_sent += static_cast<size_t>(n);
        c->output_progress_ms = now_ms_;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      close(c);
      return;
    }
    if (pending(c) > 0) break;
    c->out.clear();
    c->out_sent = 0;
    c->out.shrink_if_empty(kKeepBufferBytes);
    if (c->state == ConnState::kClosing) {
      if (c->linger && !c->peer_eof) {
        ::shutdown(c->fd, SHUT_WR);
        c->state = ConnState::kLingering;
        c->timer = TimerKind::kLinger;
        c->deadline_ms = now_ms_ + core::kLingerMs;
        break;
      }
      close(c);
      return;
    }
    // Output drained: serve requests that waited behind the output limit.
    if (c->state == ConnState::kOpen && c->in.size() > c->parser.parsedUpTo()) {
      processInput(c);
      if (pending(c) > 0) continue;
    }
    break;
  }
  updateInterest(c);
}

void Worker::updateInterest(Connection* c) {
  bool want_write = pending(c) > 0;
  bool reading = c->state == ConnState::kLingering ||
                 (c->state == ConnState::kOpen && pending(c) < core::kMaxPendingOutputBytes);
  if (want_write == c->want_write && reading == c->reading) return;
  c->want_write = want_write;
  c->reading = reading;
  uint32_t ev = (reading ? EPOLLIN : 0) | (want_write ? EPOLLOUT : 0);
  reactor_.modify(c->fd, ev, c);
}

void Worker::close(Connection* c) {
  if (c->fd < 0) return;
  ::close(c->fd);
  c->fd = -1;
  Connection* last = conns_.back();
  conns_[c->index] = last;
  last->index = c->index;
  conns_.pop_back();
  pending_free_.push_back(c);
}

// Timeouts of lua-api.md §11.2, checked a few times a second.
void Worker::sweep() {
  if (listener_paused_ && listen_fd_ >= 0) {
    listener_paused_ = false;
    reactor_.add(listen_fd_, EPOLLIN, &kListenTag);
  }
  for (size_t i = conns_.size(); i-- > 0;) {
    Connection* c = conns_[i];
    if (pending(c) > 0) {
      if (now_ms_ - c->output_progress_ms >= static_cast<uint64_t>(core::kOutputStallTimeoutMs)) {
        close(c);
      }
      continue;
    }
    if (c->deadline_ms == 0 || now_ms_ < c->deadline_ms) continue;
    switch (c->timer) {
      case TimerKind::kHead:
      case TimerKind::kBody:
        if (c->state == ConnState::kOpen) {
          reject(c, 408);
          flush(c);
        } else {
          close(c);
        }
        break;
      default:
        close(c);
    }
  }
}

}  // namespace rover::app

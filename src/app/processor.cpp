#include "app/processor.h"
#include "app/ws_server.h"

#include <unistd.h>

#include <fmt/format.h>

#include <span>

#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "lua/ctx.h"
#include "net/address.h"
#include "ws/handshake.h"

namespace rover::app {
namespace {

void deadlineFired(net::Timer* t) {
  auto* x = static_cast<Exchange*>(t->data);
  x->processor->timedOut(x);
}

}  // namespace

void Exchange::taskFinished(lua::Task*) { processor->finish(this); }

Processor::~Processor() {
  for (auto& x : exchanges_) {
    if (x->task) vm_.abort(x->task);
    if (vm_.loop()) vm_.loop()->disarm(&x->deadline);
  }
}

void Processor::open(Connection* c) const {
  c->state = ConnState::kOpen;
  c->peer_text[0] = '\0';
  c->peer_eof = false;
  c->fresh = true;
  c->linger = false;
  c->exchange = nullptr;
  c->in.clear();
  c->out.clear();
  c->out_sent = 0;
  c->file_fd = -1;
  c->file_left = 0;
  c->ws = nullptr;
  c->ws_queued = 0;
  c->parser.reset();
  c->parser.setBodyLimit(settings_.body_size_limit);
}

void Processor::process(Connection* c) {
  while (c->state == ConnState::kOpen && !c->exchange && c->file_fd < 0 &&
         c->pending() < core::kMaxPendingOutputBytes) {
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
    if (!dispatch(c)) break;  // its handler waits (its request was copied out: detach)
    c->parser.nextMessage();
  }
  size_t done = c->parser.messageStart();
  if (done > 0) {
    c->in.consume(done);
    c->parser.rebase(done);
  }
}

void Processor::reject(Connection* c, int status) {
  if (status == 413) {
    scratch_ =
        fmt::format("{{\"error\":\"Request body too large: {} bytes exceeds limit of {} bytes\"}}",
                    c->parser.errorBodySize(), settings_.body_size_limit);
    resp_.reset(413, http::kJson, scratch_);
  } else {
    // Bodies of transport rejections are their reason phrases (lua-api.md §11.3).
    resp_.reset(status, http::kTextPlain, http::reasonPhrase(status));
  }
  send(c, false, http::ConnectionHeader::kClose, nullptr);
  c->state = ConnState::kClosing;
  c->linger = true;
}

// The one place a response value becomes bytes: the filters of
// server-features.md §0.1 in their fixed order, then the serializer.
void Processor::send(Connection* c, bool head_request, http::ConnectionHeader conn,
                     Exchange* x) {
  if (x) {
    decorate(settings_.pipeline, &x->state, x->info.request, filter_scratch_, resp_);
  } else {
    decorate(settings_.pipeline, nullptr, nullptr, filter_scratch_, resp_);
  }
  http::serialize(resp_, {head_request, conn}, c->out);
  if (resp_.body_kind == http::BodyKind::kFile) {  // the connection sends the file's bytes
    const http::FileRange& f = resp_.file;
    if (!head_request && f.length > 0 && !http::statusHasNoBody(resp_.status)) {
      c->file_fd = f.fd;
      c->file_offset = f.offset;
      c->file_left = f.length;
    } else if (f.fd >= 0) {
      ::close(f.fd);
    }
    resp_.body_kind = http::BodyKind::kBytes;
    resp_.file = {};
  }
}

const char* Processor::peerText(Connection* c) const {
  if (c->peer_text[0] == '\0') net::addressText(c->peer, c->peer_text, sizeof c->peer_text);
  return c->peer_text;
}

Exchange* Processor::newExchange() {
  exchanges_.push_back(std::make_unique<Exchange>());
  Exchange* x = exchanges_.back().get();
  x->processor = this;
  x->deadline.fire = deadlineFired;
  x->deadline.data = x;
  return x;
}

// Decided when the response is written, so a request that was in flight
// when the drain began answers `Connection: close`; a closing response ends
// the connection's reading.
http::ConnectionHeader Processor::connectionHeader(Connection* c, const http::Request& req) const {
  bool close_after =
      !req.keep_alive || draining_ || (stop_flag_ && stop_flag_->load(std::memory_order_relaxed));
  if (close_after) {
    if (c->state == ConnState::kOpen) c->state = ConnState::kClosing;
    return http::ConnectionHeader::kClose;
  }
  return req.version_minor == 0 ? http::ConnectionHeader::kKeepAlive
                                : http::ConnectionHeader::kNone;
}

// Where the client is (server-features.md §3), then stages 4-7 of §0.1.
bool Processor::answeredBeforeRouting(Connection* c, Exchange* x, const http::Request& req,
                                      router::Method method) {
  const Pipeline* pipe = settings_.pipeline;
  if (!pipe) {
    x->client = {peerText(c), false, false};
    return false;
  }
  pipe->clientAddress(req, c->peer, peerText(c), x->client_ip, &x->client);
  if (!pipe->answer(req, method, isDraining(), x->client, x->state, resp_, scratch_)) return false;
  // An authorized scrape: Pipeline::management left its content type only.
  if (resp_.content_type.data() == kMetricsContentType.data()) [[unlikely]] renderMetrics();
  return true;
}

// GET <management_prefix>/metrics, authorized (Pipeline::management): this
// worker's gauges first, then every worker's figures (app/metrics.h).
void Processor::renderMetrics() {
  if (!settings_.registry) {
    resp_.reset(404, http::kTextPlain, "Route not found");
    return;
  }
  if (host_) host_->publishMetrics();
  settings_.registry->render(scratch_);
  resp_.reset(200, kMetricsContentType, scratch_);
}

// The pipeline of server-features.md §0.1 for one parsed request: stage 3
// (unrecognised method, and the "*" target), stages 4-7
// (answeredBeforeRouting), 8 (the route's middleware and handler, or the
// automatic HEAD/OPTIONS/405), 10 (404). Stages 1-2 are the parser's
// (reject()).
bool Processor::dispatch(Connection* c) {
  Exchange* x = acquire(c);
  http::Request& req = request_;
  c->parser.request(c->in.data(), &req);
  lua::RequestInfo& info = x->info;
  info.request = &req;
  info.worker_id = settings_.worker_id;
  router::Match& match = match_;  // reused: match() resets what it reports
  info.match = &match;
  auto method = router::parseMethod(req.method);
  x->t0_ns = 0;
  if (core::logEnabled(core::LogLevel::kWarn) || settings_.metrics) [[unlikely]] {
    startTiming(x, method ? static_cast<int>(*method) : kMethodSlots - 1);
  }
  bool head = method == router::Method::kHead;
  x->head_request = head;
  if (core::logEnabled(core::LogLevel::kDebug)) {
    core::logLine(core::LogLevel::kDebug,
                  fmt::format("[{}] query: {} body: {} bytes", lua::requestId(info), req.query,
                              req.body.size()));
  }
  int status;
  if (!method) {
    scratch_ = fmt::format(
        "Invalid HTTP method '{}'. Valid methods: get, post, put, patch, delete, head, options",
        req.method);
    resp_.reset(400, http::kTextPlain, scratch_);
    head = false;  // not a HEAD request: the body is sent
  } else if (req.target == "*") {
    if (*method == router::Method::kOptions) {
      allow_ = router::allowHeader(0x7f);
      resp_.reset(204);
      resp_.addHeader("Allow", allow_);
    } else {
      resp_.reset(400, http::kTextPlain, "Bad Request");
    }
  } else if (answeredBeforeRouting(c, x, req, *method)) {
    // stages 4-7 (management, preflight, probes, rate limit, HTTPS redirect)
  } else if (int ws = ws_router_ && *method == router::Method::kGet
                         ? dispatchUpgrade(c, x, req) : -1; ws == 1) [[unlikely]] {
    return true;  // a malformed WebSocket handshake, answered
  } else if (ws == 0 || router_.match(*method, req.path, &match)) {
    // ws == 0: a WebSocket handshake, `match` its endpoint: its join runs as the handler.
    info.method = *method;
    info.client_ip = x->client.ip;
    info.https = x->client.https;
    info.trusted_peer = x->client.trusted_peer;
    info.params = match.params;
    info.param_count = match.param_count;
    x->route = static_cast<uint32_t>(match.handler);
    status = vm_.handle(info, x, &resp_, &x->task);
    if (x->ws_join && status != 0) [[unlikely]] {
      endJoin(c, x, req, status);
      return true;
    }
    if (status == 0) {  // the handler waits
      c->exchange = x;
      detach(c, x);
      if (net::Loop* loop = vm_.loop()) {
        loop->arm(&x->deadline, loop->now() + settings_.handler_timeout_ms);
      }
      return false;
    }
    if (resp_.body_kind == http::BodyKind::kProducer && !head) {
      startStream(c, x, req);
      return false;
    }
    send(c, head, connectionHeader(c, req), x);
    vm_.release(x->task);
    complete(x, status);
    return true;
  } else if (match.allowed == 0) {  // no route for any method: stage 9, then 10
    if (ws_router_ && *method == router::Method::kGet && upgradeRequired(req)) [[unlikely]] {
      // only a WebSocket endpoint here: 426
    } else if (!settings_.pipeline ||
        !settings_.pipeline->serveStatic(req, *method, resp_, static_scratch_)) {
      resp_.reset(404, http::kTextPlain, "Route not found");
    }
  } else {
    allow_ = router::allowHeader(match.allowed);
    if (*method == router::Method::kOptions) {
      resp_.reset(204);
    } else {
      resp_.reset(405, http::kTextPlain, "Method Not Allowed");
    }
    resp_.addHeader("Allow", allow_);
  }
  status = resp_.status;
  send(c, head, connectionHeader(c, req), x);
  complete(x, status);
  return true;
}

// A GET to a WebSocket endpoint's route (runtime-modules.md §7): a malformed
// handshake is answered here (1); a valid one (0) leaves match_ naming the
// endpoint, whose join step (its before hooks, then ws.join) dispatch runs as
// the request's handler, which may wait. -1: not a handshake.
int Processor::dispatchUpgrade(Connection* c, Exchange* x, const http::Request& req) {
  if (!ws_router_->matchCold(router::Method::kGet, req.path, &match_)) return -1;
  std::string_view key;
  ws::HandshakeStatus hs = ws::checkHandshake(
      req.method, std::span<const http::Header>(req.headers, req.header_count), &key);
  if (hs == ws::HandshakeStatus::kNotWebSocket) return -1;
  if (hs != ws::HandshakeStatus::kOk || req.version_minor == 0) {
    int status = hs == ws::HandshakeStatus::kOk ? 400 : ws::httpStatus(hs);
    scratch_.assign("{\"error\":\"");
    scratch_.append(hs == ws::HandshakeStatus::kOk ? "WebSocket handshake requires HTTP/1.1"
                                                   : ws::describe(hs));
    scratch_.append("\"}");
    resp_.reset(status, http::kJson, scratch_);
    if (hs == ws::HandshakeStatus::kUnsupportedVersion) {
      resp_.addHeader("Sec-WebSocket-Version", "13");
    }
    send(c, false, connectionHeader(c, req), x);
    complete(x, status);
    return 1;
  }
  WsConn* w = ws_->beginJoin(c, match_.handler, key);
  x->info.ws_conn = w->id;
  x->ws_join = w;
  return 0;
}

// A plain GET to a route that has only a WebSocket endpoint.
bool Processor::upgradeRequired(const http::Request& req) {
  if (!ws_router_->matchCold(router::Method::kGet, req.path, &match_)) return false;
  resp_.reset(426, http::kTextPlain, "Upgrade Required");
  resp_.addHeader("Upgrade", "websocket");
  return true;
}

// join returned: 101 makes the connection upgraded (what join sent follows
// it); anything else is an HTTP response and the WebSocket never was.
void Processor::endJoin(Connection* c, Exchange* x, const http::Request& req, int status) {
  WsConn* w = x->ws_join;
  x->ws_join = nullptr;
  if (status == 101) {
    ws_->accept(w);
  } else {
    ws_->cancelJoin(w);
    send(c, x->head_request, connectionHeader(c, req), x);
  }
  vm_.release(x->task);
  complete(x, status);
}

void Processor::startTiming(Exchange* x, int method_slot) {
  x->t0_ns = core::monotonicNs();
  x->route = UINT32_MAX;
  x->method_slot = static_cast<uint8_t>(method_slot);
}

// The request log line (lua-api.md §12) and the metrics' count, once the
// response is queued.
void Processor::logRequest(Exchange* x, int status) {
  uint64_t now = 0;
  if (WorkerMetrics* m = settings_.metrics) {
    now = core::monotonicNs();
    m->record(x->route, x->method_slot, status, now - x->t0_ns);
  }
  core::LogLevel level = status >= 400 ? core::LogLevel::kWarn : core::LogLevel::kInfo;
  if (core::logEnabled(level)) {
    if (!now) now = core::monotonicNs();
    double ms = static_cast<double>(now - x->t0_ns) / 1e6;
    core::logLine(level, fmt::format("[{}] {} {} - {} in {:.2f}ms", lua::requestId(x->info),
                                     x->info.request->method, x->info.request->path, status, ms));
  }
}

// A handler that waited has returned (called from the loop, via its task).
void Processor::finish(Exchange* x) {
  if (x->streaming) {  // the producer returned after waiting
    onPulled(x, true);
    return;
  }
  Connection* c = x->conn;
  if (vm_.loop()) vm_.loop()->disarm(&x->deadline);
  int status = vm_.respond(x->task, &resp_);
  if (x->ws_join) {  // a WebSocket handshake's join that waited
    c->exchange = nullptr;
    endJoin(c, x, x->request, status);
    if (c->state == ConnState::kOpen) process(c);
    if (host_) host_->exchangeFinished(c);
    return;
  }
  if (resp_.body_kind == http::BodyKind::kProducer && !x->head_request) {
    startStream(c, x, x->request);
    if (host_) host_->exchangeFinished(c);  // sends the head, then pulls
    return;
  }
  send(c, x->head_request, connectionHeader(c, x->request), x);
  vm_.release(x->task);  // after send: resp_ points into the task's results
  endWait(x, status);
}

// timeouts.handler (runtime-modules.md §6): the handler is never resumed and
// what it waits on is cancelled.
void Processor::timedOut(Exchange* x) {
  if (x->streaming) {  // the timer was armed to pull on this loop turn
    x->pull_armed = false;
    pullStream(x, true);
    return;
  }
  Connection* c = x->conn;
  vm_.abort(x->task);
  x->task = nullptr;
  if (x->ws_join) {
    ws_->cancelJoin(x->ws_join);
    x->ws_join = nullptr;
  }
  if (core::logEnabled(core::LogLevel::kError)) {
    core::logLine(core::LogLevel::kError,
                  fmt::format("[{}] {} {} - Handler timed out", lua::requestId(x->info),
                              x->info.request->method, x->info.request->path));
  }
  resp_.reset(500, http::kJson, "{\"error\":\"Handler timed out\"}");
  send(c, x->head_request, connectionHeader(c, x->request), x);
  endWait(x, 500);
}

// A request that waited has been answered: serve what was pipelined behind
// it and let the host write.
void Processor::endWait(Exchange* x, int status) {
  Connection* c = x->conn;
  c->exchange = nullptr;
  complete(x, status);
  process(c);
  if (host_) host_->exchangeFinished(c);
}

// Streams (server-features.md §11) ------------------------------------------
// The head goes out first; the producer is called only when the connection's
// output has drained (onWritable), so a slow client never makes the worker
// buffer more than one chunk. The producer runs in the request's task and may
// wait; the client going away aborts the exchange (Processor::abort), and the
// producer is never called again.

void Processor::startStream(Connection* c, Exchange* x, const http::Request& req) {
  x->close_delimited = req.version_minor == 0;
  http::ConnectionHeader conn = connectionHeader(c, req);
  if (x->close_delimited) {
    conn = http::ConnectionHeader::kClose;
    c->state = ConnState::kClosing;
  }
  decorate(settings_.pipeline, &x->state, x->info.request, filter_scratch_, resp_);
  http::SerializeOptions opts{false, conn};
  opts.close_delimited = x->close_delimited;
  http::serialize(resp_, opts, c->out);
  x->stream_status = resp_.status;
  resp_.body_kind = http::BodyKind::kBytes;
  vm_.startStream(x->task);
  x->streaming = true;
  x->pulling = false;
  x->pull_armed = false;
  if (c->exchange != x) {  // a handler that did not wait: its request is still in place
    c->exchange = x;
    detach(c, x);
  }
  if (x->t0_ns) {  // streams are logged when their head is sent (lua-api.md §12)
    logRequest(x, x->stream_status);
    x->t0_ns = 0;
  }
}

void Processor::onWritable(Connection* c) {
  Exchange* x = c->exchange;
  if (!x || !x->streaming || x->pulling || x->pull_armed) return;
  pullStream(x, false);
}

void Processor::pullStream(Exchange* x, bool from_host) {
  x->pulling = true;
  if (vm_.pull(x->task) == lua::RunStatus::kSuspended) return;  // finish() follows
  onPulled(x, from_host);
}

// from_host: called from the loop (a wait ended, a timer), not from the
// host's flush: the host must be told to write.
void Processor::onPulled(Exchange* x, bool from_host) {
  Connection* c = x->conn;
  x->pulling = false;
  std::string_view chunk;
  int r = vm_.streamChunk(x->task, &chunk);
  if (r <= 0) {
    endStream(x, r == 0, from_host);
    return;
  }
  if (!chunk.empty()) {
    if (x->close_delimited) {
      c->out.append(chunk);
    } else {
      http::appendChunk(c->out, chunk);
    }
    stream_turn_bytes_ += chunk.size();
  }
  // Nothing to send, or a fast producer that filled this turn's share: the
  // next pull comes on the next loop turn, so other connections are served.
  if (chunk.empty() || stream_turn_bytes_ >= core::kSendfileSliceBytes) {
    stream_turn_bytes_ = 0;
    if (net::Loop* loop = vm_.loop()) {
      x->pull_armed = true;
      loop->arm(&x->deadline, loop->now());
    }
  }
  if (from_host && host_) host_->exchangeFinished(c);
}

void Processor::endStream(Exchange* x, bool complete_body, bool from_host) {
  Connection* c = x->conn;
  if (vm_.loop()) vm_.loop()->disarm(&x->deadline);
  if (complete_body) {
    if (!x->close_delimited) c->out.append("0\r\n\r\n");
  } else {  // the response cannot be finished: close without the last chunk
    c->state = ConnState::kClosing;
    c->linger = false;
  }
  vm_.release(x->task);
  x->task = nullptr;
  x->streaming = false;
  c->exchange = nullptr;
  int status = x->stream_status;
  complete(x, status);
  // A stream that ends during the drain ends its connection (§15: no work left).
  if (c->state == ConnState::kOpen && isDraining()) c->state = ConnState::kClosing;
  if (c->state == ConnState::kOpen) process(c);
  if (from_host && host_) host_->exchangeFinished(c);
}

// The handler waits: copy its request out of the connection's buffers (see
// exchange.h) and let the parser move on, so the receive buffer can be
// compacted or returned to the pool while it waits.
void Processor::detach(Connection* c, Exchange* x) {
  const http::Request& r = request_;
  const char* base = c->in.data() + c->parser.messageStart();
  size_t len = c->parser.parsedUpTo() - c->parser.messageStart();
  x->bytes.assign(base, len);
  auto moved = [&](std::string_view v) {
    if (v.data() >= base && v.data() + v.size() <= base + len) {
      return std::string_view(x->bytes.data() + (v.data() - base), v.size());
    }
    return v;  // a literal (the "/" of an empty path)
  };
  http::Request& q = x->request;
  q = r;
  q.method = moved(r.method);
  q.target = moved(r.target);
  q.path = moved(r.path);
  q.query = moved(r.query);
  x->headers.resize(r.header_count);
  for (size_t i = 0; i < r.header_count; ++i) {
    x->headers[i] = {moved(r.headers[i].name), moved(r.headers[i].value)};
  }
  q.headers = x->headers.data();
  if (!r.body.empty() && !(r.body.data() >= base && r.body.data() + r.body.size() <= base + len)) {
    x->body.assign(r.body);  // chunked: decoded into the parser's storage
    q.body = x->body;
  } else {
    q.body = moved(r.body);
  }
  x->params.resize(match_.param_count);
  for (size_t i = 0; i < match_.param_count; ++i) {
    x->params[i] = {match_.params[i].name, moved(match_.params[i].raw)};
  }
  x->info.request = &q;
  x->info.match = nullptr;
  x->info.params = x->params.data();
  x->info.param_count = x->params.size();
  c->parser.nextMessage();
  size_t done = c->parser.messageStart();
  c->in.consume(done);
  c->parser.rebase(done);
}

void Processor::abort(Connection* c) {
  Exchange* x = c->exchange;
  if (!x) return;
  if (vm_.loop()) vm_.loop()->disarm(&x->deadline);
  vm_.abort(x->task);
  if (x->ws_join) {
    ws_->cancelJoin(x->ws_join);
    x->ws_join = nullptr;
  }
  c->exchange = nullptr;
  releaseExchange(x);
}

}  // namespace rover::app

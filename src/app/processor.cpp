#include "app/processor.h"

#include <fmt/format.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "lua/ctx.h"
#include "net/address.h"

namespace rover::app {

void Processor::open(Connection* c) const {
  c->state = ConnState::kOpen;
  c->want_write = false;
  c->reading = true;
  c->peer_text[0] = '\0';
  c->peer_eof = false;
  c->linger = false;
  c->in.clear();
  c->out.clear();
  c->out_sent = 0;
  c->parser.reset();
  c->parser.setBodyLimit(settings_.body_size_limit);
}

void Processor::process(Connection* c) {
  while (c->state == ConnState::kOpen && c->pending() < core::kMaxPendingOutputBytes) {
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
    c->parser.request(c->in.data(), &request_);
    dispatch(c, request_);
    c->parser.nextMessage();
  }
  size_t done = c->parser.messageStart();
  if (done > 0) {
    c->in.consume(done);
    c->parser.rebase(done);
  }
}

void Processor::reject(Connection* c, int status) const {
  if (status == 413) {
    std::string body = fmt::format(
        "{{\"error\":\"Request body too large: {} bytes exceeds limit of {} bytes\"}}",
        c->parser.errorBodySize(), settings_.body_size_limit);
    http::writeSimpleResponse(c->out, 413, http::kJson, body, false,
                              http::ConnectionHeader::kClose);
  } else {
    // Bodies of transport rejections are their reason phrases (lua-api.md §11.3).
    http::writeSimpleResponse(c->out, status, http::kTextPlain, http::reasonPhrase(status), false,
                              http::ConnectionHeader::kClose);
  }
  c->state = ConnState::kClosing;
  c->linger = true;
}

const char* Processor::peerText(Connection* c) const {
  if (c->peer_text[0] == '\0') net::addressText(c->peer, c->peer_text, sizeof c->peer_text);
  return c->peer_text;
}

void Processor::dispatch(Connection* c, const http::Request& req) {
  uint64_t t0 = core::logEnabled(core::LogLevel::kWarn) ? core::monotonicNs() : 0;
  bool close_after = !req.keep_alive || draining_;
  http::ConnectionHeader conn = close_after            ? http::ConnectionHeader::kClose
                                : req.version_minor == 0 ? http::ConnectionHeader::kKeepAlive
                                                         : http::ConnectionHeader::kNone;
  if (close_after) c->state = ConnState::kClosing;

  lua::RequestInfo info;
  info.request = &req;
  info.worker_id = settings_.worker_id;
  router::Match& match = match_;  // reused: match() resets what it reports
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
    opts.stopping = stop_flag_;
    status = vm_.handle(info, opts, c->out);
    if (stop_flag_ && stop_flag_->load(std::memory_order_relaxed)) c->state = ConnState::kClosing;
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

}  // namespace rover::app

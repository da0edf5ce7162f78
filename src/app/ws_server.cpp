#include "app/ws_server.h"

#include <sys/uio.h>

#include <algorithm>

#include "core/limits.h"
#include "core/log.h"
#include "net/inbox.h"
#include "ws/handshake.h"

namespace rover::app {

// A broadcast on its way to another worker: the frame is the sender's.
struct WsDelivery final : net::CallMessage {
  WsServer* to = nullptr;
  int endpoint = -1;
  bool has_topic = false;
  std::string topic;
  uint64_t except = 0;
  WsFrame frame;
};

namespace {

WsFrame makeFrame(std::string_view bytes) { return std::make_shared<const std::string>(bytes); }

// The bytes a ws/frame.h builder appends, e.g. [](core::Buffer* b) { ws::appendPing(b); }.
template <class Append>
std::string frameBytes(Append append) {
  core::Buffer b;
  append(&b);
  return std::string(b.view());
}

}  // namespace

void WsConn::taskFinished(lua::Task* t) { server->handlerFinished(this, t); }

WsServer::WsServer(int worker_id, lua::Vm& vm, net::Loop* loop)
    : worker_id_(worker_id), vm_(vm), loop_(loop) {
  vm_.setWsHost(this);
  WsHub::instance().add(worker_id, this);
}

WsServer::~WsServer() {
  WsHub::instance().remove(worker_id_, this);
  vm_.setWsHost(nullptr);
  for (auto& [id, w] : by_id_) {
    if (w->task) vm_.abort(w->task);
    if (w->conn) w->conn->ws = nullptr;
    delete w;
  }
  freeRetired();
}

WsConn* WsServer::beginJoin(Connection* c, int endpoint, std::string_view key) {
  auto* w = new WsConn();
  w->id = (static_cast<uint64_t>(worker_id_) << 32) | next_serial_++;
  w->server = this;
  w->conn = c;
  w->endpoint = endpoint;
  w->key.assign(key);
  by_id_[w->id] = w;
  return w;
}

void WsServer::cancelJoin(WsConn* w) {
  leaves_.push_back({w->id, kForget});  // a join that returned may have left its state
  unsubscribe(w);
  by_id_.erase(w->id);
  w->conn = nullptr;
  w->ended = true;
  retired_.push_back(w);
}

void WsServer::accept(WsConn* w) {
  Connection* c = w->conn;
  ws::appendSwitchingProtocols(&c->out, w->key);
  w->key.clear();
  w->key.shrink_to_fit();
  c->state = ConnState::kUpgraded;
  c->ws = w;
  w->open = true;
  w->last_seen_ms = loop_->now();
  if (static_cast<size_t>(w->endpoint) >= endpoints_.size()) endpoints_.resize(w->endpoint + 1);
  std::vector<WsConn*>& list = endpoints_[w->endpoint];
  w->endpoint_index = list.size();
  list.push_back(w);
  open_count_.fetch_add(1, std::memory_order_relaxed);
  c->ws_queued = w->queued;
  if (draining_) sendClose(w, ws::CloseCode::kGoingAway);  // joined after the drain began
}

void WsServer::onData(WsConn* w) {
  Connection* c = w->conn;
  if (!c) return;
  size_t off = 0;
  if (c->in.size() > 0) w->last_seen_ms = loop_->now();
  while (!w->task && !w->ended && c->state == ConnState::kUpgraded) {
    ws::Event ev;
    off += w->reader.read(c->in.data() + off, c->in.size() - off, &ev);
    bool stop = false;
    switch (ev.kind) {
      case ws::EventKind::kNeedMore:
        stop = true;
        break;
      case ws::EventKind::kText:
      case ws::EventKind::kBinary:
        if (!w->close_sent) runHandler(w, ev.kind == ws::EventKind::kText ? 1 : 2, ev.data);
        break;
      case ws::EventKind::kPing:
        queueControl(w, frameBytes([&](core::Buffer* b) { ws::appendPong(b, ev.data); }));
        break;
      case ws::EventKind::kPong:
        break;
      case ws::EventKind::kClose:  // the peer's close: answered with its code (RFC 6455 §5.5.1)
        closeWith(w, ev.code);
        stop = true;
        break;
      case ws::EventKind::kError:
        closeWith(w, ev.code);
        stop = true;
        break;
    }
    if (stop) break;
  }
  c->in.consume(off);
}

void WsServer::runHandler(WsConn* w, int kind, std::string_view data) {
  lua::Task* t = vm_.acquireTask(lua::TaskKind::kWebSocket);
  if (vm_.startWs(t, w, w->id, kind, data) == lua::RunStatus::kSuspended) {
    w->task = t;
    return;
  }
  vm_.finishWs(t);
}

// A handler that waited has returned: the messages behind it go next.
void WsServer::handlerFinished(WsConn* w, lua::Task* t) {
  vm_.finishWs(t);
  w->task = nullptr;
  onData(w);
  markDirty(w);  // the worker reads again (and writes what was sent)
}

void WsServer::release(WsConn* w) {
  if (w->task) {  // never resumed
    vm_.abort(w->task);
    w->task = nullptr;
  }
  end(w);
  by_id_.erase(w->id);
  if (w->conn) w->conn->ws = nullptr;
  w->conn = nullptr;
  w->queue.clear();
  retired_.push_back(w);
}

bool WsServer::onPingTimer(WsConn* w, uint64_t now_ms, uint64_t idle_ms) {
  if (now_ms - w->last_seen_ms >= idle_ms) {
    closeWith(w, ws::CloseCode::kGoingAway, false);
    return false;
  }
  queueControl(w, frameBytes([](core::Buffer* b) { ws::appendPing(b); }));
  return true;
}

void WsServer::goingAway() {
  draining_ = true;
  for (auto& list : endpoints_) {
    for (WsConn* w : list) {
      if (!w->close_sent) sendClose(w, ws::CloseCode::kGoingAway);  // the peer's close ends it
    }
  }
}

void WsServer::closeWith(WsConn* w, ws::CloseCode code, bool linger) {
  Connection* c = w->conn;
  if (!w->close_sent) sendClose(w, code);
  end(w);
  if (c && c->state == ConnState::kUpgraded) {
    c->state = ConnState::kClosing;
    c->linger = linger;
  }
}

// The WebSocket side is over: out of the registry, ws.leave queued, a
// waiting handler never resumed.
void WsServer::end(WsConn* w) {
  if (w->ended) return;
  w->ended = true;
  if (w->task) {
    vm_.abort(w->task);
    w->task = nullptr;
  }
  unsubscribe(w);
  if (w->open) {
    std::vector<WsConn*>& list = endpoints_[w->endpoint];
    WsConn* last = list.back();
    list[w->endpoint_index] = last;
    last->endpoint_index = w->endpoint_index;
    list.pop_back();
    open_count_.fetch_sub(1, std::memory_order_relaxed);
    leaves_.push_back({w->id, kLeave});
  }
}

void WsServer::unsubscribe(WsConn* w) {
  for (const std::string& topic : w->topics) {
    auto it = topics_.find(topic);
    if (it == topics_.end()) continue;
    it->second.erase(w);
    if (it->second.empty()) topics_.erase(it);
  }
  w->topics.clear();
}

void WsServer::runDeferred() {
  while (!leaves_.empty()) {
    std::vector<std::pair<uint64_t, int>> ids;
    ids.swap(leaves_);
    for (auto [id, kind] : ids) {
      lua::Task* t = vm_.acquireTask(lua::TaskKind::kWebSocket);
      if (vm_.startWs(t, nullptr, id, kind, {}) == lua::RunStatus::kDone) vm_.finishWs(t);
    }
  }
}

void WsServer::freeRetired() {
  for (WsConn* w : retired_) delete w;
  retired_.clear();
}

void WsServer::markDirty(WsConn* w) {
  if (w->dirty || !w->conn) return;
  w->dirty = true;
  dirty_.push_back(w);
}

void WsServer::queue(WsConn* w, WsFrame f) {
  if (!w->conn || w->close_sent) return;
  if (w->queued + f->size() > core::kWsMaxSendQueueBytes) {
    // A slow receiver: keep only the frame it is in the middle of, then close.
    while (w->queue.size() > (w->front_sent > 0 ? 1u : 0u)) {
      w->queued -= w->queue.back()->size();
      w->queue.pop_back();
    }
    if (w->queue.empty()) w->queued = 0;
    else w->queued = w->queue.front()->size() - w->front_sent;
    closeWith(w, ws::CloseCode::kPolicyViolation);
    syncQueued(w);
    return;
  }
  w->queued += f->size();
  w->queue.push_back(std::move(f));
  syncQueued(w);
  markDirty(w);
}

// The close frame, once; nothing is queued after it.
void WsServer::sendClose(WsConn* w, ws::CloseCode code) {
  queueControl(w, frameBytes([code](core::Buffer* b) { ws::appendClose(b, code); }));
  w->close_sent = true;
}

void WsServer::queueControl(WsConn* w, std::string bytes) {
  if (!w->conn || w->close_sent) return;
  w->queued += bytes.size();
  w->queue.push_back(std::make_shared<const std::string>(std::move(bytes)));
  syncQueued(w);
  markDirty(w);
}

void WsServer::syncQueued(WsConn* w) {
  if (w->open && w->conn) w->conn->ws_queued = w->queued;
}

size_t WsServer::gather(WsConn* w, iovec* iov, size_t max) const {
  size_t i = 0;
  for (auto it = w->queue.begin(); it != w->queue.end() && i < max; ++it, ++i) {
    const std::string& s = **it;
    size_t skip = i == 0 ? w->front_sent : 0;
    iov[i].iov_base = const_cast<char*>(s.data() + skip);
    iov[i].iov_len = s.size() - skip;
  }
  return i;
}

void WsServer::sent(WsConn* w, size_t n) {
  w->queued -= n;
  while (n > 0) {
    size_t left = w->queue.front()->size() - w->front_sent;
    if (n < left) {
      w->front_sent += n;
      break;
    }
    n -= left;
    w->queue.pop_front();
    w->front_sent = 0;
  }
  syncQueued(w);
}

void WsServer::wsSend(uint64_t conn, std::string_view frame) {
  auto it = by_id_.find(conn);
  if (it == by_id_.end()) return;
  queue(it->second, makeFrame(frame));
}

void WsServer::wsBroadcast(int endpoint, const std::string_view* topic, uint64_t except,
                           std::string_view frame) {
  WsFrame f = makeFrame(frame);
  std::string t = topic ? std::string(*topic) : std::string();
  deliverLocal(endpoint, topic ? &t : nullptr, except, f);
  WsHub::instance().post(worker_id_, endpoint, topic ? &t : nullptr, except, f);
}

void WsServer::wsListen(uint64_t conn, std::string_view topic) {
  auto it = by_id_.find(conn);
  if (it == by_id_.end() || it->second->ended) return;
  WsConn* w = it->second;
  std::string t(topic);
  if (std::find(w->topics.begin(), w->topics.end(), t) != w->topics.end()) return;
  topics_[t].insert(w);
  w->topics.push_back(std::move(t));
}

void WsServer::deliver(const WsDelivery& d) {
  deliverLocal(d.endpoint, d.has_topic ? &d.topic : nullptr, d.except, d.frame);
}

// The receivers are taken first: a queue that overflows closes its
// connection, which leaves the lists being walked.
void WsServer::deliverLocal(int endpoint, const std::string* topic, uint64_t except,
                            const WsFrame& f) {
  targets_.clear();
  if (topic) {
    auto it = topics_.find(*topic);
    if (it == topics_.end()) return;
    for (WsConn* w : it->second) {
      if (w->id != except) targets_.push_back(w);
    }
  } else {
    if (endpoint < 0 || static_cast<size_t>(endpoint) >= endpoints_.size()) return;
    for (WsConn* w : endpoints_[endpoint]) {
      if (w->id != except) targets_.push_back(w);
    }
  }
  for (WsConn* w : targets_) queue(w, f);  // queue() never delivers: no reentry
}

// WsHub -----------------------------------------------------------------------

WsHub& WsHub::instance() {
  static WsHub hub;
  return hub;
}

void WsHub::add(int worker_id, WsServer* s) {
  if (worker_id < 1 || worker_id > kMaxWorkers) return;
  slots_[worker_id].server.store(s, std::memory_order_release);
  int m = max_id_.load();
  while (m < worker_id && !max_id_.compare_exchange_weak(m, worker_id)) {
  }
}

// Only if it is still `s`: after a reload the slot is the new worker's.
void WsHub::remove(int worker_id, WsServer* s) {
  if (worker_id < 1 || worker_id > kMaxWorkers) return;
  slots_[worker_id].server.compare_exchange_strong(s, nullptr, std::memory_order_acq_rel);
}

void WsHub::post(int from, int endpoint, const std::string* topic, uint64_t except,
                 const WsFrame& frame) {
  int n = max_id_.load(std::memory_order_acquire);
  for (int id = 1; id <= n; ++id) {
    if (id == from) continue;
    WsServer* s = slots_[id].server.load(std::memory_order_acquire);
    if (!s || s->openConnections() == 0) continue;
    auto m = std::make_unique<WsDelivery>();
    m->run = [](net::CallMessage* msg) {
      auto* d = static_cast<WsDelivery*>(msg);
      d->to->deliver(*d);
    };
    m->to = s;
    m->endpoint = endpoint;
    m->has_topic = topic != nullptr;
    if (topic) m->topic = *topic;
    m->except = except;
    m->frame = frame;
    s->loop_->inbox().post(std::move(m));
  }
}

}  // namespace rover::app

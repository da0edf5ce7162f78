// The WebSocket connections of one worker (runtime-modules.md §7,
// ARCHITECTURE.md §1 "cross-thread traffic"): the upgraded side of the
// connection state machine without its socket. The worker reads into the
// connection's receive buffer and writes what is queued here; this class
// turns received frames into handler runs (one at a time per connection, in
// order: a handler that waits holds the next message back), answers pings,
// runs the close handshake, and delivers sends.
//
// A frame to send is built once (lua/ws.cpp) and copied once into a shared,
// immutable buffer (WsFrame); every receiver's queue holds a reference, on
// this worker and, through their inboxes, on the others (WsHub). A queue over
// kWsMaxSendQueueBytes is a slow receiver: what it has not begun to send is
// dropped and it is closed with 1008, so it never holds the others back.
//
// Sends made while a handler runs only queue; the worker writes the
// connections touched (dirty()) once the current event is handled, so a
// handler never sees a socket error close a connection under it.
#pragma once
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "app/connection.h"
#include "lua/task.h"
#include "lua/vm.h"
#include "lua/ws_host.h"
#include "ws/frame.h"
#include "ws/message.h"

namespace rover::app {

using WsFrame = std::shared_ptr<const std::string>;

class WsServer;

struct WsConn final : lua::TaskOwner {
  uint64_t id = 0;
  WsServer* server = nullptr;
  Connection* conn = nullptr;
  int endpoint = -1;
  ws::MessageReader reader;
  std::string key;            // Sec-WebSocket-Key, for the 101
  std::deque<WsFrame> queue;  // frames not yet sent; the front may be partly sent
  size_t front_sent = 0;
  size_t queued = 0;          // bytes of `queue` not yet sent
  lua::Task* task = nullptr;  // the handler running or waiting for this connection
  bool open = false;          // upgraded (false while join runs)
  bool ended = false;         // left the registry; ws.leave has been run
  bool close_sent = false;
  uint64_t last_seen_ms = 0;  // when bytes last came in
  size_t endpoint_index = 0;  // in the server's endpoint list
  std::vector<std::string> topics;
  bool dirty = false;

  void taskFinished(lua::Task* t) override;
};

struct WsDelivery;

class WsServer final : public lua::WsHost {
 public:
  WsServer(int worker_id, lua::Vm& vm, net::Loop* loop);
  ~WsServer();
  WsServer(const WsServer&) = delete;
  WsServer& operator=(const WsServer&) = delete;

  // The handshake of an endpoint passed its checks: a connection that join
  // may send to and subscribe, not yet upgraded.
  WsConn* beginJoin(Connection* c, int endpoint, std::string_view key);
  // join refused, failed, or the client went away: nothing was sent.
  void cancelJoin(WsConn* w);
  // join accepted: appends the 101 to c->out and makes the connection
  // upgraded; frames queued by join follow it.
  void accept(WsConn* w);
  // Bytes have arrived in w->conn->in (or a handler finished): parses and
  // acts on what is complete.
  void onData(WsConn* w);
  // The socket is gone (or is being closed): runs ws.leave if the connection
  // was open, cancels a waiting handler, and frees w.
  void release(WsConn* w);
  // No bytes for the ping interval: a ping, or, silent for the idle time, the end.
  // Returns false when the connection must be closed now.
  bool onPingTimer(WsConn* w, uint64_t now_ms, uint64_t idle_ms);
  // The drain (server-features.md §15): close 1001 to every connection.
  void goingAway();
  // After each turn of the loop, in this order: runDeferred() runs the
  // ws.leave handlers of connections that ended; the worker writes dirty()
  // (connections with frames queued since; a write may close one, whose
  // WsConn then has conn == nullptr); freeRetired() frees released ones.
  void runDeferred();
  std::vector<WsConn*>& dirty() { return dirty_; }
  void freeRetired();
  bool idle() const { return leaves_.empty() && dirty_.empty() && retired_.empty(); }
  size_t openConnections() const { return open_count_.load(std::memory_order_relaxed); }

  // Sends, then writes (lua::WsHost).
  void wsSend(uint64_t conn, std::string_view frame) override;
  void wsBroadcast(int endpoint, const std::string_view* topic, uint64_t except,
                   std::string_view frame) override;
  void wsListen(uint64_t conn, std::string_view topic) override;
  // A broadcast from another worker.
  void deliver(const WsDelivery& d);

  // The socket writes what the queue holds (the worker's flush): iovecs for
  // up to `max` frames from the front.
  size_t gather(WsConn* w, struct iovec* iov, size_t max) const;
  void sent(WsConn* w, size_t n);

 private:
  friend struct WsConn;
  friend class WsHub;
  void handlerFinished(WsConn* w, lua::Task* t);
  void deliverLocal(int endpoint, const std::string* topic, uint64_t except, const WsFrame& f);
  void queue(WsConn* w, WsFrame f);
  void queueControl(WsConn* w, std::string bytes);
  void sendClose(WsConn* w, ws::CloseCode code);
  void syncQueued(WsConn* w);
  // Sends close `code` (once), ends the connection's WebSocket side, and
  // closes the socket once the queue is written (linger: after the peer's EOF).
  void closeWith(WsConn* w, ws::CloseCode code, bool linger = true);
  void end(WsConn* w);
  void markDirty(WsConn* w);
  void runHandler(WsConn* w, int kind, std::string_view data);
  void unsubscribe(WsConn* w);

  int worker_id_;
  lua::Vm& vm_;
  net::Loop* loop_;
  uint64_t next_serial_ = 1;
  std::unordered_map<uint64_t, WsConn*> by_id_;
  std::vector<std::vector<WsConn*>> endpoints_;  // open connections per endpoint
  std::unordered_map<std::string, std::unordered_set<WsConn*>> topics_;
  std::vector<WsConn*> dirty_;
  std::vector<WsConn*> retired_;
  // prelude/ws.lua's W.dispatch kinds run by runDeferred: ws.leave of a
  // connection that ended, or forgetting the state of a join that never upgraded.
  static constexpr int kLeave = 3, kForget = 4;
  std::vector<std::pair<uint64_t, int>> leaves_;
  bool draining_ = false;
  std::vector<WsConn*> targets_;  // deliverLocal's scratch
  std::atomic<size_t> open_count_{0};  // read by other workers before they post
};

// Every worker's WsServer, for broadcasts (registered before the workers run).
class WsHub {
 public:
  static WsHub& instance();
  // A worker's server; a reload's new worker takes its predecessor's slot.
  void add(int worker_id, WsServer* s);
  void remove(int worker_id, WsServer* s);
  // Posts a broadcast to every worker but `from` that has open connections.
  void post(int from, int endpoint, const std::string* topic, uint64_t except,
            const WsFrame& frame);

 private:
  static constexpr int kMaxWorkers = 1024;
  struct Slot {
    std::atomic<WsServer*> server{nullptr};  // its loop_ is set before and never changes
  };
  Slot slots_[kMaxWorkers + 1];
  std::atomic<int> max_id_{0};
};

}  // namespace rover::app

// The outbound HTTP client of one worker (runtime-modules.md §5): libcurl's
// multi interface driven by the worker's loop. libcurl tells us which sockets
// to watch (registered with the reactor as IoWatches) and when to call it
// back (one loop Timer); we hand readiness back with curl_multi_socket_action
// and collect finished transfers. DNS runs in libcurl's resolver threads, so
// nothing here blocks the worker. libcurl brings TLS with the system CA
// store, redirects, keep-alive reuse (its connection cache lives in the
// multi handle) and HTTP/2.
//
// Ownership: the caller owns each OutboundRequest and keeps it alive until
// its done() ran or it called cancel(); done() runs from the loop, never from
// start(). Not thread-safe: one client per worker thread.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client/response_headers.h"
#include "net/loop.h"

typedef void CURL;
typedef void CURLM;

namespace rover::client {

class HttpClient;

// libcurl's process-wide setup: once, on the main thread, before workers start.
void initHttpClients();

struct OutboundRequest {
  // The request.
  std::string method;  // upper case
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  bool has_body = false;
  uint64_t timeout_ms = 30'000;
  bool allow_private = false;

  // The outcome, valid in done().
  long status = 0;
  ResponseHeaders response_headers;
  std::string response_body;
  std::string error;  // empty on success, else the whole message to raise

  void (*done)(OutboundRequest*) = nullptr;
  void* data = nullptr;  // the owner, for done

  // The client's.
  CURL* easy = nullptr;
  void* header_list = nullptr;
  bool blocked = false;    // a connection was refused by the address policy
  bool too_large = false;  // the body passed kHttpClientMaxBodyBytes
  char curl_error[256];    // CURLOPT_ERRORBUFFER (CURL_ERROR_SIZE)
  HttpClient* client = nullptr;
};

class HttpClient {
 public:
  explicit HttpClient(net::Loop* loop);
  ~HttpClient();  // cancels what is in flight (no done() calls)
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts the transfer. False (r->error set, done() never called) when
  // libcurl refuses it outright.
  bool start(OutboundRequest* r);
  // Stops a started transfer; done() will not be called.
  void cancel(OutboundRequest* r);
  size_t inFlight() const { return in_flight_; }

 private:
  static int onSocket(CURL* easy, int fd, int what, void* self, void* socketp);
  static int onTimer(CURLM* multi, long timeout_ms, void* self);
  static void onTimerFired(net::Timer* t);
  static void onReady(net::IoWatch* w, uint32_t events);
  void action(int fd, int ev_bitmask);
  void collectFinished();
  void finish(OutboundRequest* r, int code);
  void detach(OutboundRequest* r);

  net::Loop* loop_;
  CURLM* multi_;
  net::Timer timer_;
  std::vector<CURL*> idle_;  // easy handles kept for reuse (curl_easy_reset)
  size_t in_flight_ = 0;
};

}  // namespace rover::client

// Name resolution off the worker thread: getaddrinfo runs on a short-lived
// thread of its own and its answer comes back through the loop's inbox, so a
// slow or broken DNS server never stalls a worker (libcurl has its own
// resolver threads; this serves libpq, whose PQconnectStart would block in
// getaddrinfo for a host name). For the rare lookups of opening connections.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/loop.h"

namespace rover::net {

struct Resolution {
  std::string host;
  std::vector<std::string> addresses;  // numeric text, in getaddrinfo's order
  std::string error;                   // empty on success
  // Runs on the loop's thread unless cancel() came first (then never).
  void (*done)(Resolution*) = nullptr;
  void* data = nullptr;

  // Loop thread. After it returns the lookup thread no longer touches the
  // loop (its inbox may then go away).
  void cancel() {
    std::lock_guard<std::mutex> lock(mu);
    cancelled = true;
  }
  std::mutex mu;  // orders cancel() against the lookup thread's post
  std::atomic<bool> cancelled{false};
};

// True when `host` needs no lookup: empty, a Unix socket directory (starts
// with '/' or '@'), or a numeric IPv4/IPv6 address.
bool isLiteralHost(const std::string& host);

// Starts the lookup; r->done follows from `loop` (keep `r` until then, or
// cancel() and drop it: the lookup thread holds its own reference).
void resolveAsync(Loop* loop, std::shared_ptr<Resolution> r);

}  // namespace rover::net

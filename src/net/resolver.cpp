#include "net/resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <thread>

namespace rover::net {
namespace {

struct ResolvedMessage : CallMessage {
  std::shared_ptr<Resolution> r;
};

void deliver(CallMessage* m) {
  auto& r = static_cast<ResolvedMessage*>(m)->r;
  if (!r->cancelled.load() && r->done) r->done(r.get());
}

}  // namespace

bool isLiteralHost(const std::string& host) {
  if (host.empty() || host[0] == '/' || host[0] == '@') return true;
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

void resolveAsync(Loop* loop, std::shared_ptr<Resolution> r) {
  Inbox* inbox = &loop->inbox();  // lives as long as the worker; posts are thread-safe
  std::thread([inbox, r = std::move(r)]() mutable {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(r->host.c_str(), nullptr, &hints, &res);
    if (rc != 0) {
      r->error = gai_strerror(rc);
    } else {
      for (addrinfo* a = res; a; a = a->ai_next) {
        char text[INET6_ADDRSTRLEN];
        const void* src = a->ai_family == AF_INET
                              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
        if (inet_ntop(a->ai_family, src, text, sizeof text)) {
          std::string s(text);
          bool seen = false;
          for (const auto& x : r->addresses) seen = seen || x == s;
          if (!seen) r->addresses.push_back(std::move(s));
        }
      }
      freeaddrinfo(res);
      if (r->addresses.empty()) r->error = "no address";
    }
    auto m = std::make_unique<ResolvedMessage>();
    m->run = deliver;
    m->r = r;
    std::lock_guard<std::mutex> lock(r->mu);
    if (!r->cancelled.load()) inbox->post(std::move(m));
  }).detach();
}

}  // namespace rover::net

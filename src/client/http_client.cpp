#include "client/http_client.h"

#include <curl/curl.h>
#include <sys/epoll.h>

#include <cstring>

#include "client/address_policy.h"
#include "core/limits.h"
#include "http/request.h"

namespace rover::client {
namespace {

size_t onBody(char* ptr, size_t size, size_t n, void* userp) {
  auto* r = static_cast<OutboundRequest*>(userp);
  size_t len = size * n;
  if (r->response_body.size() + len > core::kHttpClientMaxBodyBytes) {
    r->too_large = true;
    return 0;  // CURLE_WRITE_ERROR
  }
  r->response_body.append(ptr, len);
  return len;
}

size_t onHeaderLine(char* ptr, size_t size, size_t n, void* userp) {
  auto* r = static_cast<OutboundRequest*>(userp);
  size_t len = size * n;
  r->response_headers.addLine({ptr, len});
  return len;
}

// Every connection libcurl opens (first hop, redirect hops, happy-eyeballs
// candidates) passes here with its resolved address.
curl_socket_t onOpenSocket(void* userp, curlsocktype, curl_sockaddr* a) {
  auto* r = static_cast<OutboundRequest*>(userp);
  if (!r->allow_private && isBlockedSockaddr(&a->addr, a->addrlen)) {
    r->blocked = true;
    return CURL_SOCKET_BAD;
  }
  return ::socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

bool hasContentType(const std::vector<std::string>& headers) {
  for (const std::string& h : headers) {
    if (h.size() >= 13 && http::equalsIgnoreCase(std::string_view(h).substr(0, 13), "content-type:"))
      return true;
  }
  return false;
}

std::string failure(OutboundRequest* r, CURLcode code, const char* errbuf) {
  if (r->blocked && (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST))
    return "http request blocked: private address";
  std::string reason;
  switch (code) {
    case CURLE_TOO_MANY_REDIRECTS:
      reason = "too many redirects";
      break;
    case CURLE_OPERATION_TIMEDOUT:
      reason = "timed out after " + std::to_string(r->timeout_ms) + " ms";
      break;
    case CURLE_WRITE_ERROR:
      if (r->too_large) {
        reason = "response body larger than " +
                 std::to_string(core::kHttpClientMaxBodyBytes / (1024 * 1024)) + " MiB";
        break;
      }
      [[fallthrough]];
    default:
      reason = errbuf[0] ? errbuf : curl_easy_strerror(code);
  }
  return "http request failed: " + reason;
}

}  // namespace

void initHttpClients() { curl_global_init(CURL_GLOBAL_DEFAULT); }

HttpClient::HttpClient(net::Loop* loop) : loop_(loop), multi_(curl_multi_init()) {
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &HttpClient::onSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &HttpClient::onTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  timer_.fire = &HttpClient::onTimerFired;
  timer_.data = this;
}

HttpClient::~HttpClient() {
  // Owners cancel their requests before the client goes (the Vm cancels every
  // task's waits first); what is left is dropped without done().
  loop_->disarm(&timer_);
  curl_multi_cleanup(multi_);  // closes the sockets: onSocket(REMOVE) retires the watches
  for (CURL* e : idle_) curl_easy_cleanup(e);
}

bool HttpClient::start(OutboundRequest* r) {
  CURL* e;
  if (!idle_.empty()) {
    e = idle_.back();
    idle_.pop_back();
    curl_easy_reset(e);
  } else {
    e = curl_easy_init();
    if (!e) {
      r->error = "http request failed: out of memory";
      return false;
    }
  }
  r->easy = e;
  r->client = this;
  r->status = 0;
  r->blocked = r->too_large = false;
  r->error.clear();
  r->response_body.clear();
  r->response_headers.clear();
  static_assert(sizeof r->curl_error >= CURL_ERROR_SIZE);
  curl_easy_setopt(e, CURLOPT_PRIVATE, r);
  curl_easy_setopt(e, CURLOPT_URL, r->url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(r->timeout_ms));
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROXY, "");  // no proxy from the environment
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // every coding libcurl decodes
  r->curl_error[0] = '\0';
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curl_error);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &onBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &onHeaderLine);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &onOpenSocket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, r);
  if (r->method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (r->method != "GET" || r->has_body) {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method.c_str());
  }
  if (r->has_body) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r->body.size()));
  }
  curl_slist* list = nullptr;
  for (const std::string& h : r->headers) list = curl_slist_append(list, h.c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip for bodies
  if (r->has_body && !hasContentType(r->headers)) {
    list = curl_slist_append(list, "Content-Type:");  // a body is sent as is, unlabelled
  }
  r->header_list = list;
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
  if (curl_multi_add_handle(multi_, e) != CURLM_OK) {
    r->error = "http request failed: cannot start the transfer";
    detach(r);
    return false;
  }
  ++in_flight_;
  return true;
}

void HttpClient::cancel(OutboundRequest* r) {
  if (!r->easy) return;
  curl_multi_remove_handle(multi_, r->easy);
  --in_flight_;
  detach(r);
}

void HttpClient::detach(OutboundRequest* r) {
  curl_slist_free_all(static_cast<curl_slist*>(r->header_list));
  r->header_list = nullptr;
  if (idle_.size() < 64) {
    idle_.push_back(r->easy);
  } else {
    curl_easy_cleanup(r->easy);
  }
  r->easy = nullptr;
  r->client = nullptr;
}

int HttpClient::onSocket(CURL*, int fd, int what, void* self, void* socketp) {
  auto* c = static_cast<HttpClient*>(self);
  auto* w = static_cast<net::IoWatch*>(socketp);
  net::Reactor& reactor = c->loop_->reactor();
  if (what == CURL_POLL_REMOVE) {
    if (w) {
      reactor.remove(fd);
      curl_multi_assign(c->multi_, fd, nullptr);
      c->loop_->retire(std::unique_ptr<net::IoWatch>(w));
    }
    return 0;
  }
  uint32_t ev = (what & CURL_POLL_IN ? uint32_t{EPOLLIN} : 0u) | (what & CURL_POLL_OUT ? uint32_t{EPOLLOUT} : 0u);
  if (!w) {
    w = new net::IoWatch;
    w->fd = fd;
    w->data = c;
    w->ready = &HttpClient::onReady;
    curl_multi_assign(c->multi_, fd, w);
    reactor.add(fd, ev, w);
  } else {
    reactor.modify(fd, ev, w);
  }
  return 0;
}

int HttpClient::onTimer(CURLM*, long timeout_ms, void* self) {
  auto* c = static_cast<HttpClient*>(self);
  c->loop_->disarm(&c->timer_);
  if (timeout_ms >= 0) c->loop_->armAfter(&c->timer_, static_cast<uint64_t>(timeout_ms));
  return 0;
}

void HttpClient::onTimerFired(net::Timer* t) {
  static_cast<HttpClient*>(t->data)->action(CURL_SOCKET_TIMEOUT, 0);
}

void HttpClient::onReady(net::IoWatch* w, uint32_t events) {
  int mask = (events & EPOLLIN ? CURL_CSELECT_IN : 0) | (events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
             (events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
  static_cast<HttpClient*>(w->data)->action(w->fd, mask);
}

void HttpClient::action(int fd, int ev_bitmask) {
  int running = 0;
  curl_multi_socket_action(multi_, fd, ev_bitmask, &running);
  collectFinished();
}

// One message at a time: done() may start or cancel other transfers, and
// curl_multi_remove_handle drops a removed handle's queued message.
void HttpClient::collectFinished() {
  int left = 0;
  while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
    if (m->msg != CURLMSG_DONE) continue;
    CURL* e = m->easy_handle;
    CURLcode code = m->data.result;
    char* priv = nullptr;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
    finish(reinterpret_cast<OutboundRequest*>(priv), code);
  }
}

void HttpClient::finish(OutboundRequest* r, int code) {
  CURL* e = r->easy;
  if (code == CURLE_OK) {
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
  } else {
    r->error = failure(r, static_cast<CURLcode>(code), r->curl_error);
  }
  curl_multi_remove_handle(multi_, e);
  --in_flight_;
  detach(r);
  r->done(r);
}

}  // namespace rover::client

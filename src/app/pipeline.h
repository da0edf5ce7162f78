// The request pipeline around the router (server-features.md §0.1): the
// stages that may answer a request before its route does, and the response
// filters every response passes before it is serialized. Built once at
// startup from the validated config and shared, read-only, by all workers
// (the rate limiter's buckets are the only state, and they are thread-safe).
//
// Stages, in order (the first that answers ends the request):
//    1-2  transport parsing, limits, body size limit   the parser (Processor::reject)
//    3    unrecognised method                          Processor::dispatch
//    4    management endpoints (§13)                   Pipeline::management
//    5    CORS preflight (§6)                          Pipeline::preflight
//    6    health probes (§8)                           Pipeline::probe
//    6a   rate limiting (§15a)                         Pipeline::rateLimit
//    7    HTTPS redirect (§14)                         Pipeline::httpsRedirect
//    8    API routes: middleware + handler             Processor::dispatch (router, Vm)
//    9    static mounts (§10)                          Pipeline::serveStatic (app/static_files)
//   10    nothing matched: 404                         Processor::dispatch
// Filters, in order: app headers (already in the response value: the Vm put
// them there) -> rate-limit headers -> CORS headers -> security headers ->
// compression -> framing (http::serialize). Only the enabled ones
// are in the list, so a filter that is off costs nothing.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "app/static_files.h"
#include "core/rate_limiter.h"
#include "http/compress.h"
#include "http/request.h"
#include "http/response.h"
#include "lua/vm.h"
#include "net/ip_set.h"
#include "router/router.h"

namespace rover::app {

// What the stages found that the filters need, per exchange.
struct RequestState {
  std::string_view cors_origin;  // Access-Control-Allow-Origin to send; empty: none
  bool rate_applied = false;     // RateLimit-* headers of the tightest bucket
  uint32_t rate_limit = 0, rate_remaining = 0, rate_reset = 0;
  void clear() {
    cors_origin = {};
    rate_applied = false;
  }
};

// Storage for header values the filters make (one response at a time).
struct FilterScratch {
  char rate[3][16];
  std::string vary;             // Vary with Origin merged in (CORS)
  std::string vary_encoding;    // Vary with Accept-Encoding merged in (compression)
  std::string accept_encoding;  // several Accept-Encoding lines joined
  std::string compressed;       // the compressed body
  char etag[96];                // "x-<coding>"
  http::Compressor compressor;  // one per worker (the Processor's scratch)
};

class Pipeline;
struct FilterInput {
  const Pipeline& pipeline;
  const RequestState* state;     // nullptr for transport rejections (no request)
  const http::Request* request;  // the same
  FilterScratch& scratch;
};
using Filter = void (*)(const FilterInput&, http::Response&);

// Where the client is (server-features.md §3), resolved by clientAddress().
struct ClientInfo {
  const char* ip = nullptr;  // NUL-terminated text
  bool https = false;
  bool trusted_peer = false;  // forwarding headers are kept in ctx:headers()
};

class Pipeline {
 public:
  // *error: the startup message for an invalid trusted_proxies entry.
  static std::unique_ptr<Pipeline> create(const lua::ServerConfig& cfg, std::string* error);

  // The OpenAPI document and docs page (§13), made at startup by worker 1.
  void setDocuments(std::string openapi_json, std::string docs_html) {
    openapi_json_ = std::move(openapi_json);
    docs_html_ = std::move(docs_html);
  }
  bool docsEnabled() const { return docs_; }
  bool metricsEnabled() const { return metrics_; }
  // What §9 allows for static files.
  StaticCompression staticCompression() const {
    return {codings_, compress_types_, compress_min_size_};
  }
  // Stage 9 (§10), made at startup from worker 1's route tree.
  void setStaticMounts(std::unique_ptr<StaticMounts> m) { static_ = std::move(m); }
  bool serveStatic(const http::Request& req, router::Method method, http::Response& out,
                   StaticScratch& scratch) const {
    return static_ && static_->serve(req, method, out, scratch);
  }
  bool docsUnreachable() const {
    return docs_ && token_.empty() && !allow_unauthenticated_management_;
  }
  bool metricsUnreachable() const {
    return metrics_ && token_.empty() && !allow_unauthenticated_management_;
  }

  // Resolves ctx.client_ip / ctx.proto (§3): the peer unless it is a trusted
  // proxy. `buf` holds the text when it is not the peer's (>= 46 bytes).
  void clientAddress(const http::Request& req, const sockaddr_storage& peer,
                     const char* peer_text, char* buf, ClientInfo* out) const {
    out->ip = peer_text;
    out->https = false;
    out->trusted_peer = false;
    if (!trusted_.empty()) clientBehindProxy(req, peer, buf, out);
  }
  // Stages 4-7. True when one answered into `out`; views in `out` point into
  // the pipeline, the request or `scratch`. With only the probes on (the
  // defaults), two length compares for any other path.
  bool answer(const http::Request& req, router::Method method, bool draining,
              const ClientInfo& client, RequestState& st, http::Response& out,
              std::string& scratch) const {
    if (only_probes_) {
      size_t n = req.path.size();
      return (n == 7 || n == 8) && probe(req, method, draining, out);
    }
    return answerAll(req, method, draining, client, st, out, scratch);
  }

  const std::vector<Filter>& filters() const { return filters_; }

 private:
  friend void corsFilter(const FilterInput&, http::Response&);
  friend void securityFilter(const FilterInput&, http::Response&);
  friend void rateFilter(const FilterInput&, http::Response&);
  friend void compressFilter(const FilterInput&, http::Response&);

  void clientBehindProxy(const http::Request& req, const sockaddr_storage& peer, char* buf,
                         ClientInfo* out) const;
  bool answerAll(const http::Request& req, router::Method method, bool draining,
                 const ClientInfo& client, RequestState& st, http::Response& out,
                 std::string& scratch) const;
  bool management(const http::Request& req, router::Method method, http::Response& out) const;
  bool preflight(const http::Request& req, router::Method method, RequestState& st,
                 http::Response& out) const;
  bool probe(const http::Request& req, router::Method method, bool draining,
             http::Response& out) const;
  bool rateLimit(const http::Request& req, const ClientInfo& client, RequestState& st,
                 http::Response& out, std::string& scratch) const;
  bool httpsRedirect(const http::Request& req, const ClientInfo& client, http::Response& out,
                     std::string& scratch) const;
  std::string_view allowedOrigin(const http::Request& req) const;
  bool authorized(const http::Request& req) const;

  // §5
  bool security_headers_ = true;
  bool allow_insecure_overrides_ = false;
  // §6
  bool cors_ = false;
  bool cors_wildcard_ = false;
  std::vector<std::string> cors_origins_;
  std::vector<std::string> cors_lower_;  // for comparing
  std::string cors_methods_, cors_headers_;
  bool cors_credentials_ = false;
  // §3
  net::IpSet trusted_;
  // §8
  std::string not_ready_body_;  // dependencies down; empty: all up
  // §13
  bool docs_ = false;
  std::string docs_path_, openapi_path_;
  bool metrics_ = false;  // <prefix>/metrics (app/metrics.h)
  std::string metrics_path_;
  std::string token_;
  bool allow_unauthenticated_management_ = false;
  std::string openapi_json_, docs_html_;
  // §14
  bool https_redirect_ = false;
  bool only_probes_ = true;  // none of stages 4, 5, 6a, 7 is on
  // §15a
  struct RateRule {
    core::RateRule rule;
    std::string key_header;
    std::vector<std::string> segments;  // scoped: the pattern's segments ("{}" any)
    bool prefix = false;                // pattern ended in "/*"
  };
  // §9
  std::vector<http::Coding> codings_;  // allowed, in preference order
  size_t compress_min_size_ = 1024;
  std::vector<std::string> compress_types_;  // empty: the default set
  bool rate_limit_ = false;
  RateRule rate_global_;
  std::vector<RateRule> rate_scoped_;
  mutable core::RateLimiter limiter_;

  std::unique_ptr<StaticMounts> static_;
  std::vector<Filter> filters_;
};

// Runs the filters on a response about to be serialized.
inline void decorate(const Pipeline* p, const RequestState* st, const http::Request* req,
                     FilterScratch& scratch, http::Response& r) {
  if (!p) return;
  FilterInput in{*p, st, req, scratch};
  for (Filter f : p->filters()) f(in, r);
}

}  // namespace rover::app

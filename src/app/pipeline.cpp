#include "app/pipeline.h"
#include "http/text.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <cstring>

#include "app/metrics.h"
#include "core/clock.h"
#include "http/forwarded.h"

namespace rover::app {
namespace {

using http::equalsIgnoreCase;

using http::trimOws;

// Compares without an early exit, so the time taken does not tell how much
// of a guessed token was right (only its length).
bool equalConstantTime(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

// Whether a comma-separated header value lists `token` (case-insensitively).
bool listsToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = trimOws(value.substr(0, comma));
    if (equalsIgnoreCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

constexpr std::string_view kGetHead = "GET, HEAD";

void methodNotAllowed(http::Response& out) {
  out.reset(405, http::kTextPlain, "Method Not Allowed");
  out.addHeader("Allow", kGetHead);
}

bool isGetOrHead(router::Method m) {
  return m == router::Method::kGet || m == router::Method::kHead;
}

// Splits "/users/{id}" into segments; "{...}" becomes "{}" (any one segment).
std::vector<std::string> patternSegments(std::string_view p, bool* prefix) {
  *prefix = false;
  if (p.size() >= 2 && p.substr(p.size() - 2) == "/*") {
    *prefix = true;
    p.remove_suffix(2);
  }
  std::vector<std::string> out;
  while (!p.empty()) {
    if (p.front() == '/') {
      p.remove_prefix(1);
      continue;
    }
    size_t slash = p.find('/');
    std::string_view seg = p.substr(0, slash);
    out.emplace_back(seg.size() >= 2 && seg.front() == '{' && seg.back() == '}' ? "{}" : seg);
    if (slash == std::string_view::npos) break;
    p.remove_prefix(slash);
  }
  return out;
}

// Whether a request path is covered by a scoped rule's pattern (by whole
// segments; a "/*" pattern covers the prefix and everything below it).
bool patternCovers(const std::vector<std::string>& segs, bool prefix, std::string_view path) {
  size_t i = 0;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    size_t slash = path.find('/');
    std::string_view seg = path.substr(0, slash);
    if (i == segs.size()) return prefix;
    if (segs[i] != "{}" && segs[i] != seg) return false;
    ++i;
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return i == segs.size();
}

std::string_view writeNumber(char* buf, size_t cap, uint32_t n) {
  auto r = std::to_chars(buf, buf + cap, n);
  return {buf, static_cast<size_t>(r.ptr - buf)};
}

// The security headers' default lines (§5), alone and followed by the Vary
// line compression adds (§9): pre-written for the common response, which has
// no header of its own.
constexpr std::string_view kSecurityAndVary =
    "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"
    "Referrer-Policy: strict-origin-when-cross-origin\r\nVary: Accept-Encoding\r\n";
constexpr std::string_view kSecurityBlock =
    kSecurityAndVary.substr(0, kSecurityAndVary.size() - sizeof("Vary: Accept-Encoding\r\n") + 1);

// The builders' content types (exactly as they write them), compressible in
// the default set: one compare instead of parsing the media type.
bool isServerCompressibleType(std::string_view type) {
  switch (type.size()) {
    case http::kJson.size():
      return std::memcmp(type.data(), http::kJson.data(), http::kJson.size()) == 0;
    case http::kTextPlain.size():
      return std::memcmp(type.data(), http::kTextPlain.data(), http::kTextPlain.size()) == 0;
    case http::kTextHtml.size():
      return std::memcmp(type.data(), http::kTextHtml.data(), http::kTextHtml.size()) == 0;
    default:
      return false;
  }
}

}  // namespace

// Filters ----------------------------------------------------------------------

// §15a: the tightest bucket's state.
void rateFilter(const FilterInput& in, http::Response& r) {
  if (!in.state || !in.state->rate_applied) return;
  auto& s = in.scratch.rate;
  r.addHeader("RateLimit-Limit", writeNumber(s[0], sizeof s[0], in.state->rate_limit));
  r.addHeader("RateLimit-Remaining", writeNumber(s[1], sizeof s[1], in.state->rate_remaining));
  r.addHeader("RateLimit-Reset", writeNumber(s[2], sizeof s[2], in.state->rate_reset));
}

// Adds `token` to the response's Vary (one field, merged; `lower` is the
// token in lower case); `store` keeps a merged value alive.
void mergeVary(http::Response& r, std::string_view token, std::string_view lower,
               std::string& store) {
  for (http::HeaderField& h : r.headers) {
    if (!equalsIgnoreCase(h.name, "vary")) continue;
    if (listsToken(h.value, lower) || listsToken(h.value, "*")) return;
    store.assign(h.value);
    store.append(", ");
    store.append(token);
    h.value = store;
    return;
  }
  r.addHeader("Vary", token);
}

// §6: the server's CORS headers replace the app's; Vary: Origin merged.
void corsFilter(const FilterInput& in, http::Response& r) {
  if (!in.state || in.state->cors_origin.empty()) return;
  const Pipeline& p = in.pipeline;
  std::erase_if(r.headers, [](const http::HeaderField& h) {
    return equalsIgnoreCase(h.name, "access-control-allow-origin") ||
           equalsIgnoreCase(h.name, "access-control-allow-credentials");
  });
  r.addHeader("Access-Control-Allow-Origin", in.state->cors_origin);
  if (p.cors_credentials_) r.addHeader("Access-Control-Allow-Credentials", "true");
  if (!p.cors_wildcard_) mergeVary(r, "Origin", "origin", in.scratch.vary);
}

// §9: bodies of compressible types at least min_size long, in the
// negotiated coding, when that makes them smaller. Every response of a
// compressible type says Vary: Accept-Encoding.
void compressFilter(const FilterInput& in, http::Response& r) {
  if (r.status < 200 || r.status == 204 || r.status == 304) return;
  if (r.body_kind == http::BodyKind::kProducer) return;  // streams are never compressed
  const Pipeline& p = in.pipeline;
  std::string_view type = r.content_type;
  size_t etag = SIZE_MAX;  // an index: adding Vary may move the headers
  bool coded = false;
  for (size_t i = 0; i < r.headers.size(); ++i) {
    const http::HeaderField& h = r.headers[i];
    if (equalsIgnoreCase(h.name, "content-type")) {
      type = h.value;
    } else if (equalsIgnoreCase(h.name, "content-encoding")) {
      coded = true;  // already coded by the app: Vary only
    } else if (equalsIgnoreCase(h.name, "etag")) {
      etag = i;
    }
  }
  if (type.empty()) return;
  if (!(p.compress_types_.empty() && isServerCompressibleType(type)) &&
      !http::isCompressible(type, p.compress_types_)) {
    return;
  }
  if (r.headers.empty() && r.raw_fields.data() == kSecurityBlock.data()) {
    r.raw_fields = kSecurityAndVary;  // the common response: nothing to merge
  } else {
    mergeVary(r, "Accept-Encoding", "accept-encoding", in.scratch.vary_encoding);
  }
  // A file body: a range, a large file, or a client that wants identity
  // (app/static_files chose already).
  if (coded || r.body_kind != http::BodyKind::kBytes) return;
  if (!in.request || r.body.size() < p.compress_min_size_) return;
  std::string_view accept;
  const http::Request& req = *in.request;
  for (size_t i = 0, lines = 0; i < req.header_count; ++i) {
    if (!equalsIgnoreCase(req.headers[i].name, "accept-encoding")) continue;
    if (lines++ == 0) {
      accept = req.headers[i].value;
      continue;
    }
    std::string& joined = in.scratch.accept_encoding;
    if (lines == 2) joined.assign(accept);
    joined.append(", ");
    joined.append(req.headers[i].value);
    accept = joined;
  }
  if (accept.empty()) return;
  http::Coding coding = http::negotiate(accept, p.codings_);
  if (coding == http::Coding::kIdentity) return;
  std::string& out = in.scratch.compressed;
  if (!in.scratch.compressor.compress(coding, r.body, out) || out.size() >= r.body.size()) return;
  r.body = out;
  std::string_view name = http::codingName(coding);
  r.addHeader("Content-Encoding", name);
  if (etag != SIZE_MAX) {  // a strong "x" becomes "x-<coding>"; weak tags stay
    std::string_view v = r.headers[etag].value;
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"' &&
        v.size() + name.size() + 1 <= sizeof in.scratch.etag) {
      char* e = in.scratch.etag;
      std::memcpy(e, v.data(), v.size() - 1);
      e[v.size() - 1] = '-';
      std::memcpy(e + v.size(), name.data(), name.size());
      e[v.size() + name.size()] = '"';
      r.headers[etag].value = std::string_view(e, v.size() + name.size() + 1);
    }
  }
}

// §5: the three headers, defaults added, unsafe app values replaced.
void securityFilter(const FilterInput& in, http::Response& r) {
  struct Rule {
    std::string_view name, lower, value;
    std::string_view keep[4];  // lower case
  };
  static constexpr Rule kRules[3] = {
      {"X-Content-Type-Options", "x-content-type-options", "nosniff", {"nosniff"}},
      {"X-Frame-Options", "x-frame-options", "DENY", {"deny", "sameorigin"}},
      {"Referrer-Policy",
       "referrer-policy",
       "strict-origin-when-cross-origin",
       {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}},
  };
  // The common case: no app headers, so the three default lines at once.
  if (r.headers.empty()) {
    r.raw_fields = kSecurityBlock;
    return;
  }
  bool present[3] = {false, false, false};
  {
    for (http::HeaderField& h : r.headers) {
      for (int k = 0; k < 3; ++k) {
        if (!equalsIgnoreCase(h.name, kRules[k].lower)) continue;
        present[k] = true;
        if (in.pipeline.allow_insecure_overrides_) break;
        std::string_view v = trimOws(h.value);
        bool keep = false;
        for (std::string_view ok : kRules[k].keep) {
          if (!ok.empty() && equalsIgnoreCase(v, ok)) keep = true;
        }
        if (!keep) h.value = kRules[k].value;
        break;
      }
    }
  }
  for (int k = 0; k < 3; ++k) {
    if (!present[k]) r.addHeader(kRules[k].name, kRules[k].value);
  }
}

// Building ---------------------------------------------------------------------

std::unique_ptr<Pipeline> Pipeline::create(const lua::ServerConfig& cfg, std::string* error) {
  auto p = std::make_unique<Pipeline>();
  p->security_headers_ = cfg.security_headers;
  p->allow_insecure_overrides_ = cfg.allow_insecure_security_header_overrides;
  p->cors_ = cfg.cors;
  p->cors_origins_ = cfg.cors_origins;
  for (const std::string& o : cfg.cors_origins) {
    if (o == "*") p->cors_wildcard_ = true;
    std::string lower = o;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    p->cors_lower_.push_back(std::move(lower));
  }
  p->cors_methods_ = cfg.cors_methods;
  p->cors_headers_ = cfg.cors_headers;
  p->cors_credentials_ = cfg.cors_credentials;
  for (const auto& [text, written] : cfg.trusted_proxies) {
    if (!p->trusted_.addEntry(text)) {
      *error = "Invalid trusted_proxies entry: " + written;
      return nullptr;
    }
  }
  if (!cfg.readiness_down.empty()) {
    std::string body = "{\"status\":\"not_ready\",\"reasons\":[";
    for (size_t i = 0; i < cfg.readiness_down.size(); ++i) {
      if (i) body.push_back(',');
      body += "{\"code\":\"dependency_unavailable\",\"dependency\":";
      // names come from Lua table keys: escape like JSON strings
      body.push_back('"');
      for (char c : cfg.readiness_down[i]) {
        if (c == '"' || c == '\\') {
          body.push_back('\\');
          body.push_back(c);
        } else if (static_cast<unsigned char>(c) < 0x20) {
          body += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else {
          body.push_back(c);
        }
      }
      body += "\"}";
    }
    body += "]}";
    p->not_ready_body_ = std::move(body);
  }
  p->docs_ = cfg.docs;
  p->docs_path_ = cfg.management_prefix + "/docs";
  p->openapi_path_ = cfg.management_prefix + "/openapi.json";
  p->metrics_ = cfg.metrics;
  p->metrics_path_ = cfg.management_prefix + "/metrics";
  p->token_ = cfg.management_token;
  p->allow_unauthenticated_management_ = cfg.allow_unauthenticated_management;
  p->https_redirect_ = cfg.https_redirect;
  p->only_probes_ = !cfg.docs && !cfg.metrics && !cfg.cors && !cfg.rate_limit && !cfg.https_redirect;
  p->rate_limit_ = cfg.rate_limit;
  if (cfg.rate_limit) {
    auto rule = [](const lua::ServerConfig::RateRule& c, uint32_t id) {
      RateRule r;
      r.rule = {id, c.requests_per_window, c.window_secs};
      r.key_header = c.key_header;
      for (char& ch : r.key_header) ch = static_cast<char>(std::tolower(ch));
      r.segments = patternSegments(c.path_pattern, &r.prefix);
      return r;
    };
    p->rate_global_ = rule(cfg.rate_global, 0);
    for (size_t i = 0; i < cfg.rate_scoped.size(); ++i) {
      p->rate_scoped_.push_back(rule(cfg.rate_scoped[i], static_cast<uint32_t>(i + 1)));
    }
  }
  if (p->rate_limit_) p->filters_.push_back(rateFilter);
  if (p->cors_) p->filters_.push_back(corsFilter);
  if (p->security_headers_) p->filters_.push_back(securityFilter);
  if (cfg.compress) {
    for (const std::string& a : cfg.compress_algorithms) {
      http::Coding c;
      if (http::parseCodingName(a, &c)) p->codings_.push_back(c);
    }
    p->compress_min_size_ = static_cast<size_t>(cfg.compress_min_size);
    p->compress_types_ = cfg.compress_types;
    p->filters_.push_back(compressFilter);
  }
  return p;
}

// Stages -----------------------------------------------------------------------

void Pipeline::clientBehindProxy(const http::Request& req, const sockaddr_storage& peer,
                                 char* buf, ClientInfo* out) const {
  net::IpAddr addr = net::fromSockaddr(peer);
  if (!trusted_.contains(addr)) return;
  out->trusted_peer = true;
  // Every field line of each header, in order (few: a small fixed array).
  constexpr size_t kMax = 16;
  std::string_view fwd[kMax], xff[kMax], xfp[kMax];
  size_t nf = 0, nx = 0, np = 0;
  for (size_t i = 0; i < req.header_count; ++i) {
    std::string_view n = req.headers[i].name;
    if (equalsIgnoreCase(n, "forwarded")) {
      if (nf < kMax) fwd[nf++] = req.headers[i].value;
    } else if (equalsIgnoreCase(n, "x-forwarded-for")) {
      if (nx < kMax) xff[nx++] = req.headers[i].value;
    } else if (equalsIgnoreCase(n, "x-forwarded-proto")) {
      if (np < kMax) xfp[np++] = req.headers[i].value;
    }
  }
  http::ClientAddress c = http::resolveClient(trusted_, addr, false, {fwd, nf}, {xff, nx},
                                              {xfp, np});
  net::formatIp(c.ip, buf, net::kIpTextCap);
  out->ip = buf;
  out->https = c.https;
}

bool Pipeline::answerAll(const http::Request& req, router::Method method, bool draining,
                         const ClientInfo& client, RequestState& st, http::Response& out,
                         std::string& scratch) const {
  if ((docs_ || metrics_) && management(req, method, out)) return true;
  if (cors_) {
    st.cors_origin = allowedOrigin(req);
    if (!st.cors_origin.empty() && method == router::Method::kOptions &&
        preflight(req, method, st, out)) {
      return true;
    }
  }
  if (probe(req, method, draining, out)) return true;
  if (rate_limit_ && rateLimit(req, client, st, out, scratch)) return true;
  if (https_redirect_ && httpsRedirect(req, client, out, scratch)) return true;
  return false;
}

bool Pipeline::authorized(const http::Request& req) const {
  if (allow_unauthenticated_management_) return true;
  if (token_.empty()) return false;
  for (size_t i = 0; i < req.header_count; ++i) {
    const http::Header& h = req.headers[i];
    if (equalsIgnoreCase(h.name, "authorization")) {
      std::string_view v = trimOws(h.value);
      if (v.size() > 7 && equalsIgnoreCase(v.substr(0, 7), "bearer ") &&
          equalConstantTime(trimOws(v.substr(7)), token_)) {
        return true;
      }
    } else if (equalsIgnoreCase(h.name, "x-rover-management-token")) {
      if (equalConstantTime(trimOws(h.value), token_)) return true;
    }
  }
  return false;
}

// §13: <prefix>/docs and <prefix>/openapi.json; <prefix>/metrics
// (app/metrics.h), under the same token rules.
bool Pipeline::management(const http::Request& req, router::Method method,
                          http::Response& out) const {
  bool docs = docs_ && req.path == docs_path_;
  bool metrics = !docs && metrics_ && req.path == metrics_path_;
  if (!docs && !metrics && !(docs_ && req.path == openapi_path_)) return false;
  if (!authorized(req)) {
    out.reset(401, http::kJson, "{\"error\":\"Management endpoint requires auth token\"}");
    out.addHeader("WWW-Authenticate", "Bearer");
  } else if (!isGetOrHead(method)) {
    methodNotAllowed(out);
  } else if (metrics) {
    out.reset(200, kMetricsContentType, {});  // the processor renders the body
  } else if (docs) {
    out.reset(200, http::kTextHtml, docs_html_);
  } else {
    out.reset(200, http::kJson, openapi_json_);
  }
  return true;
}

std::string_view Pipeline::allowedOrigin(const http::Request& req) const {
  std::string_view origin = req.header("origin");
  if (origin.empty()) return {};
  if (cors_wildcard_) return "*";
  for (size_t i = 0; i < cors_origins_.size(); ++i) {
    if (equalsIgnoreCase(origin, cors_lower_[i])) return cors_origins_[i];
  }
  return {};
}

// §6: OPTIONS with an allowed Origin and Access-Control-Request-Method.
bool Pipeline::preflight(const http::Request& req, router::Method, RequestState&,
                         http::Response& out) const {
  if (req.header("access-control-request-method").empty()) return false;
  out.reset(204);
  out.addHeader("Access-Control-Allow-Methods", cors_methods_);
  out.addHeader("Access-Control-Allow-Headers", cors_headers_);
  return true;  // the CORS filter adds the origin, credentials and Vary
}

// §8: exact paths, the query ignored.
bool Pipeline::probe(const http::Request& req, router::Method method, bool draining,
                     http::Response& out) const {
  std::string_view path = req.path;
  bool health = path == "/healthz";
  if (!health && path != "/readyz") return false;  // (also checked by answer())
  if (!isGetOrHead(method)) {
    methodNotAllowed(out);
  } else if (health) {
    out.reset(200, http::kJson, "{\"status\":\"ok\"}");
  } else if (draining) {
    out.reset(503, http::kJson, "{\"status\":\"not_ready\"}");
  } else if (!not_ready_body_.empty()) {
    out.reset(503, http::kJson, not_ready_body_);
  } else {
    out.reset(200, http::kJson, "{\"status\":\"ready\"}");
  }
  return true;
}

// §15a: the global bucket and every scoped one covering the path; the
// tightest decides the headers.
bool Pipeline::rateLimit(const http::Request& req, const ClientInfo& client, RequestState& st,
                         http::Response& out, std::string& scratch) const {
  uint64_t now = core::monotonicNs() / 1'000'000;
  std::string_view key = client.ip ? std::string_view(client.ip) : std::string_view();
  if (!rate_global_.key_header.empty()) {
    std::string_view v = req.header(rate_global_.key_header);
    if (!v.empty()) key = v;
  }
  core::RateDecision tight = limiter_.take(rate_global_.rule, key, now);
  bool refused = !tight.allowed;
  uint32_t retry = tight.retry_after_secs;
  for (const RateRule& r : rate_scoped_) {
    if (!patternCovers(r.segments, r.prefix, req.path)) continue;
    core::RateDecision d = limiter_.take(r.rule, key, now);
    if (!d.allowed) {
      refused = true;
      if (d.retry_after_secs > retry) retry = d.retry_after_secs;
    }
    if (d.remaining < tight.remaining || (!d.allowed && tight.allowed)) tight = d;
  }
  st.rate_applied = true;
  st.rate_limit = tight.limit;
  st.rate_remaining = tight.remaining;
  st.rate_reset = tight.reset_secs;
  if (!refused) return false;
  scratch = std::to_string(retry);
  out.reset(429, http::kJson, "{\"error\":\"Too Many Requests\"}");
  out.addHeader("Retry-After", scratch);
  return true;
}

// §14: plain-http requests go to https://<Host><target>.
bool Pipeline::httpsRedirect(const http::Request& req, const ClientInfo& client,
                             http::Response& out, std::string& scratch) const {
  if (client.https) return false;
  std::string_view host = req.header("host");
  if (host.empty()) return false;
  scratch.assign("https://");
  scratch.append(host);
  scratch.append(req.target);
  out.reset(308, {}, "");
  out.addHeader("Location", scratch);
  return true;
}

}  // namespace rover::app

// libFuzzer target: request parser + connection state machine (app::Processor)
// with the Lua app tests/fuzz/app.lua, bytes in, responses out, no sockets.
//
// Input: two control bytes, then the bytes the client sends. The control bytes
// choose two split points, so the bytes arrive in up to three reads and
// process() runs after each one, as the worker does. Invariants: every output
// is a sequence of well-framed responses; a connection that stops reading
// said `Connection: close`; and the responses do not depend on how the bytes
// were split (the same bytes in one read give the same responses).
#include <netinet/in.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "app/processor.h"
#include "core/log.h"
#include "lua/vm.h"
#include "router/router.h"

namespace {

using namespace rover;

struct Server {
  lua::Vm vm{1, 1};
  router::Router router;
  std::unique_ptr<app::Pipeline> pipeline;
  std::unique_ptr<app::Processor> proc;
};
Server* server = nullptr;  // process lifetime
bool print = false;        // ROVER_FUZZ_PRINT=1: responses to stderr (to read a reproducer)

void die(const std::string& message) {
  std::fprintf(stderr, "fuzz_http: %s\n", message.c_str());
  std::abort();
}

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c <= ' ' || c >= 0x7f || std::string_view("\"(),/:;<=>?@[\\]{}").find(c) != s.npos) {
      return false;
    }
  }
  return true;
}

// Checks one response head (status line and `Name: value` lines, no stray CR
// or LF) and returns its Content-Length (-1: none).
int64_t checkHead(std::string_view head) {
  auto digit = [&](size_t i) { return head[i] >= '0' && head[i] <= '9'; };
  bool status_ok = head.size() >= 13 && head.substr(0, 9) == "HTTP/1.1 " && digit(9) && digit(10) &&
                   digit(11) && head[12] == ' ';
  if (!status_ok) die("bad status line");
  int64_t length = -1;
  size_t pos = head.find("\r\n") + 2;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, eol - pos);
    size_t colon = line.find(':');
    if (colon == line.npos || !isToken(line.substr(0, colon))) die("bad header line");
    if (line.find_first_of(std::string_view("\r\n\0", 3)) != line.npos) die("CR/LF/NUL in header");
    if (line.substr(0, colon + 2) == "Content-Length: ")
      length = std::atoll(line.data() + colon + 2);
    pos = eol + 2;
  }
  return length;
}

// Checks that `out` is a sequence of well-framed responses and appends to
// *summary what must not depend on read boundaries: each status line and body
// (only the status for 413, whose body counts the bytes received so far; the
// bytes of a JSON body sorted, as the order of object keys is unspecified).
// A HEAD response declares a length and sends no body; the request method is
// not known here, but no body of app.lua starts with "HTTP/", so a response
// followed by another one (or by nothing) has no body.
bool checkResponses(std::string_view out, std::string* summary) {
  size_t pos = 0;
  bool close_sent = false;
  auto nextIsResponse = [&](size_t at) {
    return at == out.size() || (at < out.size() && out.substr(at, 9) == "HTTP/1.1 ");
  };
  while (pos < out.size()) {
    size_t end = out.find("\r\n\r\n", pos);
    if (end == out.npos) die("response head not terminated");
    std::string_view head = out.substr(pos, end + 2 - pos);
    int64_t length = checkHead(head);
    int status = std::atoi(head.data() + 9);
    close_sent = head.find("\r\nConnection: close\r\n") != head.npos;
    summary->append(head.substr(0, head.find("\r\n") + 2));
    pos = end + 4;
    bool bodiless = status < 200 || status == 204 || status == 304;
    if (!bodiless && length < 0) die("response without Content-Length");
    if (bodiless || length == 0 || nextIsResponse(pos)) continue;  // no body, or HEAD
    if (!nextIsResponse(pos + size_t(length))) die("body does not match its Content-Length");
    std::string body(out.substr(pos, size_t(length)));
    if (head.find("\r\nContent-Type: application/json") != head.npos) {
      std::sort(body.begin(), body.end());
    }
    if (status != 413) summary->append(body);
    pos += size_t(length);
  }
  return close_sent;
}

// One read: appends the bytes, processes, checks and clears the output.
void feed(app::Connection& c, const uint8_t* data, size_t size, std::string* summary) {
  bool was_open = c.state == app::ConnState::kOpen;
  c.in.append(reinterpret_cast<const char*>(data), size);
  server->proc->process(&c);
  if (print) std::fwrite(c.out.data(), 1, c.out.size(), stderr);
  bool is_open = c.state == app::ConnState::kOpen;
  if (!was_open && !c.out.empty()) die("output after the connection stopped reading");
  bool close_sent = checkResponses(c.out.view(), summary);
  if (was_open && !is_open && !close_sent) die("connection stopped without Connection: close");
  c.out.clear();
}

// A new connection that receives bytes[0..n) in reads ending at `first`,
// `second` and n; returns the summary of its responses.
std::string serve(const uint8_t* bytes, size_t n, size_t first, size_t second) {
  app::Connection c;
  auto* peer = reinterpret_cast<sockaddr_in*>(&c.peer);
  peer->sin_family = AF_INET;
  peer->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  server->proc->open(&c);
  std::string summary;
  feed(c, bytes, first, &summary);
  feed(c, bytes + first, second - first, &summary);
  feed(c, bytes + second, n - second, &summary);
  return summary;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  core::setLogLevel(core::LogLevel::kNope);
  print = std::getenv("ROVER_FUZZ_PRINT") != nullptr;
  server = new Server;
  std::string error;
  lua::AppArgs args{ROVER_FUZZ_DIR "/app.lua", {}};
  if (server->vm.load(args, &error) != lua::LoadResult::kServer) die(error);
  lua::ServerConfig cfg;
  if (!server->vm.readConfig(lua::ConfigOverrides{}, &cfg, &error)) die(error);
  std::vector<lua::RouteInfo> routes;
  if (!server->vm.buildRoutes(server->router, &routes, &error)) die(error);
  app::ProcessorSettings settings;
  settings.body_size_limit = cfg.body_size_limit;
  server->pipeline = app::Pipeline::create(cfg, &error);
  if (!server->pipeline) die(error);
  std::string json, html;
  if (!server->vm.buildDocs(&json, &html, &error)) die(error);
  server->pipeline->setDocuments(std::move(json), std::move(html));
  settings.pipeline = server->pipeline.get();
  server->proc = std::make_unique<app::Processor>(server->vm, server->router, settings);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t* bytes = data + 2;
  size_t n = size - 2;
  size_t first = n * data[0] / 256;
  size_t second = first + (n - first) * data[1] / 256;
  std::string split = serve(bytes, n, first, second);
  int reads = (first > 0) + (second > first) + (n > second);
  if (reads <= 1) return 0;
  if (print) std::fputs("--- the same bytes in one read:\n", stderr);
  std::string whole = serve(bytes, n, n, n);
  if (whole != split) {
    std::fprintf(stderr, "in reads:\n%s\n\nin one read:\n%s\n", split.c_str(), whole.c_str());
    die("responses depend on how the input was split");
  }
  return 0;
}

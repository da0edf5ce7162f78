#include "app/test_cli.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <lua.hpp>
#include <memory>
#include <string>
#include <vector>

#include "app/connection.h"
#include "app/processor.h"
#include "app/startup.h"
#include "core/buffer.h"
#include "core/log.h"
#include "http/chunked.h"
#include "json/decode.h"
#include "json/encode.h"
#include "lua/native.h"
#include "lua/vm.h"
#include "net/loop.h"
#include "router/router.h"

namespace rover::lua::prelude {
extern const std::string_view k_test_runner;
}

namespace rover::app {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage =
    "usage: rover test [paths...] [--filter TEXT] [--log-level LEVEL]\n"
    "  Runs *_test.lua files: those under each directory given (default: tests/\n"
    "  in the working directory) and each file given. A test file gets t\n"
    "  (t.app(\"app.lua\") loads the app, path relative to the working directory;\n"
    "  t.eq, t.ok, t.match, t.errors), describe(name, fn) and it(name, fn).\n"
    "  --filter TEXT runs only the tests whose full name contains TEXT.\n"
    "  --log-level LEVEL shows the apps' log lines (default: none).\n"
    "  Exit 0 when every test passed, 1 when one failed or none ran.\n";

constexpr const char* kAppMeta = "rover.test.app";

int usage(const std::string& why) {
  std::fprintf(stderr, "rover test: %s\n\n%s", why.c_str(), kUsage);
  return 2;
}

// One t.app(): the app loaded as startup loads worker 1, with a Processor and
// the loop a worker would run around it (Worker::run), driven one request at
// a time on a Connection without a socket.
class TestApp final : public ProcessorHost {
 public:
  static std::unique_ptr<TestApp> open(const lua::AppArgs& args, std::string* error) {
    auto a = std::unique_ptr<TestApp>(new TestApp());
    a->loop_ = std::make_unique<net::Loop>();
    a->loop_->updateNow();
    a->vm_ = std::make_unique<lua::Vm>(1, 1, a->loop_.get());
    lua::LoadResult loaded = loadApp(*a->vm_, args, {}, &a->app_, error);
    if (loaded == lua::LoadResult::kFailed) return nullptr;
    if (loaded == lua::LoadResult::kScript) {
      *error = fmt::format("❌ Error: {} is a script (it returns no rover.server)", args.path);
      return nullptr;
    }
    std::vector<lua::RouteInfo> routes;
    if (!buildApp(*a->vm_, a->router_, &a->app_, &routes, error, &a->ws_router_)) return nullptr;
    a->vm_->setExposeErrors(a->app_.cfg.expose_errors);
    const lua::ServerConfig& cfg = a->app_.cfg;
    ProcessorSettings settings;
    settings.body_size_limit = cfg.body_size_limit;
    settings.worker_id = 1;
    settings.handler_timeout_ms = static_cast<uint64_t>(cfg.handler_timeout * 1000.0);
    settings.pipeline = a->app_.pipeline.get();
    a->proc_ = std::make_unique<Processor>(*a->vm_, a->router_, settings, a.get());
    a->loop_->reactor().add(a->loop_->inbox().fd(), EPOLLIN, &a->loop_->inboxSource());
    a->vm_->callHook("on_start");
    a->vm_->callHook("on_ready");
    return a;
  }

  ~TestApp() {
    if (vm_ && proc_) vm_->callHook("on_shutdown");
    proc_.reset();  // before the Vm and the loop it refers to
  }

  // Sends `request` (whole HTTP/1.1 message bytes) and returns the raw
  // response bytes once the exchange is over.
  std::string exchange(const std::string& request, std::string* error) {
    auto c = std::make_unique<Connection>();
    proc_->open(c.get());
    auto* sin = reinterpret_cast<sockaddr_in*>(&c->peer);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin->sin_port = htons(40000);
    received_.clear();
    conn_ = c.get();
    loop_->updateNow();
    c->in.append(request);
    proc_->process(c.get());
    pump(c.get());
    while (c->exchange) {
      if (!turn()) {
        *error = "the app's event loop failed";
        break;
      }
    }
    pump(c.get());
    if (c->exchange) proc_->abort(c.get());
    if (c->file_fd >= 0) ::close(c->file_fd);
    conn_ = nullptr;
    return std::move(received_);
  }

 private:
  TestApp() = default;

  void exchangeFinished(Connection* c) override {
    if (c == conn_) pump(c);
  }

  // What Worker::flush does, with the "socket" taking everything at once:
  // output (and a file body's bytes) go to received_; a stream is pulled
  // for more while its output has drained.
  void pump(Connection* c) {
    for (;;) {
      received_.append(c->out.data() + c->out_sent, c->out.size() - c->out_sent);
      c->out.clear();
      c->out_sent = 0;
      if (c->file_fd >= 0) {
        std::string buf(static_cast<size_t>(c->file_left), '\0');
        ssize_t n = ::pread(c->file_fd, buf.data(), buf.size(), static_cast<off_t>(c->file_offset));
        if (n > 0) received_.append(buf.data(), static_cast<size_t>(n));
        ::close(c->file_fd);
        c->file_fd = -1;
        c->file_left = 0;
      }
      if (c->exchange) {
        proc_->onWritable(c);
        if (c->out.size() > 0) continue;
      }
      break;
    }
  }

  // One turn of the worker's loop (Worker::run): readiness of outbound
  // sockets and the inbox, then due timers.
  bool turn() {
    epoll_event events[64];
    int n = loop_->reactor().wait(events, 64, loop_->waitTimeoutMs(UINT64_MAX, 1000));
    if (n < 0 && errno != EINTR) return false;
    loop_->updateNow();
    for (int i = 0; i < n; ++i) {
      auto* src = static_cast<net::EventSource*>(events[i].data.ptr);
      if (src->source_kind == net::SourceKind::kInbox) {
        std::vector<std::unique_ptr<net::InboxMessage>> msgs;
        loop_->inbox().drain(&msgs);
        for (auto& m : msgs) {
          if (m->kind == net::kMsgCall) {
            auto* call = static_cast<net::CallMessage*>(m.get());
            call->run(call);
          }
        }
      } else if (src->source_kind == net::SourceKind::kOutbound) {
        auto* w = static_cast<net::IoWatch*>(src);
        if (w->fd >= 0) w->ready(w, events[i].events);
      }
    }
    if (loop_->nextDeadline() <= loop_->now()) loop_->runDueTimers();
    loop_->freeRetired();
    return true;
  }

  std::unique_ptr<net::Loop> loop_;  // first: outlives the VM's waits
  std::unique_ptr<lua::Vm> vm_;
  StartupApp app_;
  router::Router router_;
  router::Router ws_router_;
  std::unique_ptr<Processor> proc_;
  Connection* conn_ = nullptr;
  std::string received_;
};

struct AppHandle {
  TestApp* app;
};

TestApp* checkApp(lua_State* L, int idx) {
  auto* h = static_cast<AppHandle*>(luaL_checkudata(L, idx, kAppMeta));
  if (!h->app) {
    lua_pushliteral(L, "the app was closed");
    lua_error(L);
  }
  return h->app;
}

int appGc(lua_State* L) {
  auto* h = static_cast<AppHandle*>(luaL_checkudata(L, 1, kAppMeta));
  delete h->app;
  h->app = nullptr;
  return 0;
}

std::vector<std::string> stringArray(lua_State* L, int idx) {
  std::vector<std::string> out;
  if (lua_type(L, idx) != LUA_TTABLE) return out;
  for (int i = 1, n = static_cast<int>(lua_objlen(L, idx)); i <= n; ++i) {
    lua_rawgeti(L, idx, i);
    size_t len = 0;
    const char* s = lua_tolstring(L, -1, &len);
    out.emplace_back(s ? s : "", s ? len : 0);
    lua_pop(L, 1);
  }
  return out;
}

// app_open(path, env_names, env_values, args) -> handle; raises startup's message.
int appOpen(lua_State* L) {
  std::string path = luaL_checkstring(L, 1);
  std::vector<std::string> names = stringArray(L, 2), values = stringArray(L, 3);
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    ::setenv(names[i].c_str(), values[i].c_str(), 1);
  }
  lua::AppArgs args{path, stringArray(L, 4)};
  std::string error;
  std::unique_ptr<TestApp> app = TestApp::open(args, &error);
  if (!app) {
    lua_pushlstring(L, error.data(), error.size());
    return lua_error(L);
  }
  auto* h = static_cast<AppHandle*>(lua_newuserdata(L, sizeof(AppHandle)));
  h->app = app.release();
  luaL_getmetatable(L, kAppMeta);
  lua_setmetatable(L, -2);
  return 1;
}

int appClose(lua_State* L) { return appGc(L); }

bool validToken(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s) {
    if (ch <= ' ' || ch == ':' || ch == 0x7f) return false;
  }
  return true;
}

bool hasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

struct ParsedResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// The response bytes of one exchange (1xx interim responses skipped).
bool parseResponse(std::string_view data, bool head, ParsedResponse* out, std::string* error) {
  for (;;) {
    size_t end = data.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      *error = data.empty() ? "the app sent no response" : "the app's response head is incomplete";
      return false;
    }
    std::string_view headtext = data.substr(0, end);
    size_t eol = headtext.find("\r\n");
    std::string_view line = headtext.substr(0, eol);
    if (line.size() < 12 || line.substr(0, 5) != "HTTP/") {
      *error = fmt::format("malformed status line '{}'", line);
      return false;
    }
    out->status = std::atoi(std::string(line.substr(9, 3)).c_str());
    out->headers.clear();
    std::string_view rest =
        eol == std::string_view::npos ? std::string_view() : headtext.substr(eol + 2);
    while (!rest.empty()) {
      size_t e = rest.find("\r\n");
      std::string_view field = rest.substr(0, e);
      rest = e == std::string_view::npos ? std::string_view() : rest.substr(e + 2);
      size_t colon = field.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view value = field.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      out->headers.emplace_back(std::string(field.substr(0, colon)), std::string(value));
    }
    data.remove_prefix(end + 4);
    if (out->status >= 100 && out->status < 200 && out->status != 101) continue;
    break;
  }
  bool chunked = false;
  long long length = -1;
  for (const auto& [name, value] : out->headers) {
    if (iequals(name, "transfer-encoding") && value.find("chunked") != std::string::npos) {
      chunked = true;
    } else if (iequals(name, "content-length")) {
      length = std::atoll(value.c_str());
    }
  }
  if (head || out->status == 204 || out->status == 304) return true;
  if (chunked) {
    http::ChunkedDecoder dec;
    dec.reset();
    // feed() stops after each chunk's data (for a caller's body limit): go on
    http::ChunkedDecoder::Result r = http::ChunkedDecoder::Result::kNeedMore;
    while (r == http::ChunkedDecoder::Result::kNeedMore && !data.empty()) {
      size_t used = 0;
      r = dec.feed(data.data(), data.size(), &used, &out->body);
      data.remove_prefix(used);
    }
    if (r != http::ChunkedDecoder::Result::kDone) {
      *error = r == http::ChunkedDecoder::Result::kError
                   ? "the app's chunked response body is malformed"
                   : "the app's chunked response body is incomplete";
      return false;
    }
    return true;
  }
  if (length >= 0) {
    if (data.size() < static_cast<size_t>(length)) {
      *error = fmt::format("the app's response body is incomplete ({} of {} bytes)", data.size(),
                           length);
      return false;
    }
    out->body.assign(data.substr(0, static_cast<size_t>(length)));
    return true;
  }
  out->body.assign(data);  // delimited by the connection's end
  return true;
}

// Raises `message` as it is (the runner adds the test file's line).
int raise(lua_State* L, const std::string& message) {
  lua_pushlstring(L, message.data(), message.size());
  return lua_error(L);
}

// The start of what the app sent, printable, for an error message.
std::string excerpt(std::string_view raw) {
  std::string out;
  for (char ch : raw.substr(0, 300)) {
    if (ch == '\r') {
      out += "\\r";
    } else if (ch == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(ch));
    } else {
      out += ch;
    }
  }
  if (raw.size() > 300) out += "...";
  return out;
}

// request(handle, method, path, {name, value, ...}, body) -> status, {name, value, ...}, body
int appRequest(lua_State* L) {
  TestApp* app = checkApp(L, 1);
  std::string method = luaL_checkstring(L, 2);
  size_t path_len = 0;
  const char* path_p = luaL_checklstring(L, 3, &path_len);
  std::string_view path(path_p, path_len);
  luaL_checktype(L, 4, LUA_TTABLE);
  size_t body_len = 0;
  const char* body = lua_isnoneornil(L, 5) ? nullptr : luaL_checklstring(L, 5, &body_len);
  if (!validToken(method)) return raise(L, fmt::format("request: invalid method '{}'", method));
  if (path.empty() || (path[0] != '/' && path != "*") ||
      path.find_first_of(" \r\n") != std::string_view::npos) {
    return raise(
        L, fmt::format("request: the path must start with '/' and have no spaces: '{}'", path));
  }
  std::string req = fmt::format("{} {} HTTP/1.1\r\n", method, path);
  bool has_host = false, has_length = false;
  std::vector<std::string> fields = stringArray(L, 4);
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    const std::string& name = fields[i];
    const std::string& value = fields[i + 1];
    if (!validToken(name) || hasLineBreak(value)) {
      return raise(L, fmt::format("request: invalid header '{}'", name));
    }
    if (iequals(name, "host")) has_host = true;
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding")) has_length = true;
    req += name;
    req += ": ";
    req += value;
    req += "\r\n";
  }
  if (!has_host) req += "Host: localhost\r\n";
  bool body_method = method == "POST" || method == "PUT" || method == "PATCH";
  if (!has_length && (body || body_method)) req += fmt::format("Content-Length: {}\r\n", body_len);
  req += "\r\n";
  if (body) req.append(body, body_len);
  std::string error;
  std::string raw = app->exchange(req, &error);
  ParsedResponse resp;
  if (!error.empty() || !parseResponse(raw, method == "HEAD", &resp, &error)) {
    return raise(L, fmt::format("{} {}: {} (received: \"{}\")", method, path, error, excerpt(raw)));
  }
  lua_pushinteger(L, resp.status);
  lua_createtable(L, static_cast<int>(resp.headers.size() * 2), 0);
  int i = 0;
  for (const auto& [name, value] : resp.headers) {
    lua_pushlstring(L, name.data(), name.size());
    lua_rawseti(L, -2, ++i);
    lua_pushlstring(L, value.data(), value.size());
    lua_rawseti(L, -2, ++i);
  }
  lua_pushlstring(L, resp.body.data(), resp.body.size());
  return 3;
}

int jsonEncode(lua_State* L) {
  luaL_checkany(L, 1);
  core::Buffer out;
  std::string reason;
  if (!json::encode(L, 1, out, &reason)) return raise(L, "cannot encode as JSON: " + reason);
  lua_pushlstring(L, out.data(), out.size());
  return 1;
}

int jsonDecode(lua_State* L) {
  size_t len = 0;
  const char* s = luaL_checklstring(L, 1, &len);
  std::string detail;
  if (!json::decode(L, std::string_view(s, len), &detail)) {
    return raise(L, "invalid JSON: " + detail);
  }
  return 1;
}

// One test file in a fresh state; adds its counts.
void runFile(const std::string& file, const std::string* filter, int* passed, int* failed) {
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  luaL_newmetatable(L, kAppMeta);
  lua_pushcfunction(L, lua::native<appGc>);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  // modules next to the test file come first (helpers shared by tests)
  std::string dir = fs::path(file).parent_path().string();
  if (dir.empty()) dir = ".";
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "path");
  std::string path = fmt::format("{0}/?.lua;{0}/?/init.lua;{1}", dir, lua_tostring(L, -1));
  lua_pop(L, 1);
  lua_pushlstring(L, path.data(), path.size());
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);

  const std::string_view code = lua::prelude::k_test_runner;
  if (luaL_loadbuffer(L, code.data(), code.size(), "=rover-test") != 0) {
    std::printf("✗ %s: %s\n", file.c_str(), lua_tostring(L, -1));
    ++*failed;
    lua_close(L);
    return;
  }
  lua_newtable(L);
  const luaL_Reg natives[] = {
      {"app_open", lua::native<appOpen>},       {"app_close", lua::native<appClose>},
      {"request", lua::native<appRequest>},     {"json_encode", lua::native<jsonEncode>},
      {"json_decode", lua::native<jsonDecode>}, {nullptr, nullptr}};
  for (const luaL_Reg* r = natives; r->name; ++r) {
    lua_pushcfunction(L, r->func);
    lua_setfield(L, -2, r->name);
  }
  lua_pushlstring(L, file.data(), file.size());
  if (filter) {
    lua_pushlstring(L, filter->data(), filter->size());
  } else {
    lua_pushnil(L);
  }
  if (lua_pcall(L, 3, 2, 0) != 0) {
    std::fflush(stdout);
    std::printf("✗ %s: %s\n", file.c_str(), lua_tostring(L, -1));
    ++*failed;
  } else {
    *passed += static_cast<int>(lua_tointeger(L, -2));
    *failed += static_cast<int>(lua_tointeger(L, -1));
  }
  lua_close(L);  // the apps' handles are collected: on_shutdown, then their Vms go
  std::fflush(stdout);
}

bool isTestFile(const fs::path& p) {
  std::string name = p.filename().string();
  return name.size() > 9 && name.compare(name.size() - 9, 9, "_test.lua") == 0;
}

// Test files under `dir`, sorted.
void collect(const fs::path& dir, std::vector<std::string>* out) {
  std::vector<std::string> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(
           dir, fs::directory_options::follow_directory_symlink, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && isTestFile(it->path())) found.push_back(it->path().string());
  }
  std::sort(found.begin(), found.end());
  out->insert(out->end(), found.begin(), found.end());
}

}  // namespace

int runTestCommand(int argc, char** argv) {
  std::vector<std::string> paths;
  std::string filter;
  bool has_filter = false;
  core::LogLevel level = core::LogLevel::kNope;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--filter" || a == "--log-level") {
      if (i + 1 >= argc) return usage(a + " needs a value");
      std::string v = argv[++i];
      if (a == "--filter") {
        filter = v;
        has_filter = true;
      } else if (!core::parseLogLevel(v, &level)) {
        return usage("unknown log level '" + v + "'");
      }
    } else if (a.rfind("--filter=", 0) == 0) {
      filter = a.substr(9);
      has_filter = true;
    } else if (a.rfind("--log-level=", 0) == 0) {
      if (!core::parseLogLevel(a.substr(12), &level))
        return usage("unknown log level '" + a.substr(12) + "'");
    } else if (a.size() > 1 && a[0] == '-') {
      return usage("unknown option '" + a + "'");
    } else {
      paths.push_back(a);
    }
  }
  std::vector<std::string> files;
  if (paths.empty()) {
    std::error_code ec;
    if (!fs::is_directory("tests", ec)) {
      std::fprintf(stderr,
                   "rover test: no tests/ directory here: run it in the app's directory, or name "
                   "test files or directories\n");
      return 1;
    }
    collect("tests", &files);
  }
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      collect(p, &files);
    } else if (fs::is_regular_file(p, ec)) {
      files.push_back(p);
    } else {
      std::fprintf(stderr, "rover test: no such file or directory: %s\n", p.c_str());
      return 1;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "rover test: no *_test.lua files found\n");
    return 1;
  }
  core::setLogLevel(level);
  loadDotenvOfCwd();
  int passed = 0, failed = 0;
  for (const std::string& f : files) runFile(f, has_filter ? &filter : nullptr, &passed, &failed);
  std::printf("%d passed, %d failed\n", passed, failed);
  if (passed + failed == 0) {
    std::fprintf(stderr, "rover test: no test matched --filter '%s'\n", filter.c_str());
    return 1;
  }
  return failed > 0 ? 1 : 0;
}

}  // namespace rover::app

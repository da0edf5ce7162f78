// Tests for src/lua/ctx.cpp: the request context's fields and methods
// (lua-api.md §6), its per-request store, and the guarantee that a ctx kept
// past its request raises instead of reading another request's data.
#include "vm_test_util.h"

namespace rover::lua_test {
namespace {

constexpr const char* kDead = "request context is no longer valid";

constexpr const char* kApp = R"lua(
local api = rover.server {}
function api.fields.get(ctx)
  return ctx.method .. " " .. ctx.path .. " " .. ctx.ip .. " " .. ctx.client_ip .. " " ..
         ctx.proto .. " " .. tostring(ctx.nonexistent)
end
function api.fields.post(ctx) return ctx.method end
function api.users.p_id.posts.p_post.get(ctx)
  local p = ctx:params()
  return p.id .. "|" .. p.post
end
function api.query.get(ctx)
  local q = ctx:query()
  local keys = {}
  for k in pairs(q) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = k .. "=" .. q[k] end
  return table.concat(out, "&")
end
function api.headers.get(ctx)
  local h = ctx:headers()
  local keys = {}
  for k in pairs(h) do keys[#keys + 1] = k end
  table.sort(keys)
  return table.concat(keys, ",") .. "|" .. h["user-agent"] .. "|" .. h["User-Agent"] .. "|" ..
         h.ACCEPT .. "|" .. h.cookie .. "|" .. tostring(h["x-forwarded-for"]) .. "|" ..
         tostring(h.missing)
end
function api.body.post(ctx) return ctx:body():text() end
function api.body.as_json.post(ctx) return ctx:body():json() end
function api.body.bytes.post(ctx) return table.concat(ctx:body():bytes(), ",") end
function api.request_id.get(ctx) return ctx:request_id() end
function api.store.get(ctx)
  local before = tostring(ctx:get("user") == nil)
  ctx:set("user", ctx:query().name)
  ctx:set("count", 1)
  ctx:set("count", ctx:get("count") + 1)
  return before .. " " .. ctx:get("user") .. " " .. ctx:get("count")
end
function api.keep.get(ctx)
  kept = ctx
  kept_headers = ctx.headers
  return "kept"
end
function api.use_kept.get(ctx)
  local ok, err = pcall(function() return kept.path end)
  local ok2, err2 = pcall(function() return kept:headers() end)
  return tostring(err) .. "\n" .. tostring(err2) .. "\n" .. ctx.path
end
function api.use_kept_raw.get() return kept.method end
function api.types.get(ctx)
  local ffi = require("ffi")
  local proxy = newproxy(true)
  local task = rover.spawn(function() end)
  return type(ctx) .. " " .. tostring(ffi.istype("struct rover_ctx", ctx)) .. " " ..
         type(getmetatable(ctx)) .. " " .. type(proxy) .. " " .. type(getmetatable(proxy)) .. " " ..
         tostring(rawequal(getmetatable(proxy), getmetatable(ctx))) .. " " ..
         tostring(getmetatable(task))
end
function api.unset.get(ctx)
  local n = select("#", ctx:get("never_set"))
  ctx:set("other", 1)
  return n .. " " .. select("#", ctx:get("never_set"))
end
function api.not_a_ctx.get(ctx)
  local headers = ctx.headers
  local a = select(2, pcall(headers, newproxy()))
  local b = select(2, pcall(headers, {}))
  local c = select(2, pcall(headers, nil))
  return tostring(a) .. "\n" .. tostring(b) .. "\n" .. tostring(c)
end
function api.wait.get(ctx)
  held = ctx
  ctx:set("before", "set before the wait")
  rover.spawn(function()
    rover.delay(5)
    from_task = ctx.method .. " " .. ctx.path .. " " .. ctx.ip .. " " .. ctx:query().q .. " " ..
                ctx:headers()["x-k"]
    ctx:set("by_task", "yes")
  end)
  rover.delay(40)
  return ctx.method .. " " .. ctx:get("before") .. " " .. tostring(ctx:get("by_task"))
end
function api.later.p_ms.get(ctx)
  rover.delay(tonumber(ctx:params().ms))
  return ctx.method .. " " .. ctx.path .. " " .. ctx:query().tag
end
return api
)lua";

class CtxTest : public VmTest {
 protected:
  void SetUp() override {
    VmTest::SetUp();
    loadServer(kApp);
  }

  // The body of a response, "" when there is none.
  static std::string body(const std::string& response) {
    size_t at = response.find("\r\n\r\n");
    return at == std::string::npos ? "" : response.substr(at + 4);
  }

  std::string post(std::string_view target, std::string_view data, const HeaderList& h = {}) {
    auto ex = request(router::Method::kPost, target, h, data);
    return respond(*ex);
  }

  lua::Task* start(Exchange& ex) {
    http::Response resp;
    lua::Task* waiting = nullptr;
    EXPECT_EQ(vm_->handle(ex.info, &owner_, &resp, &waiting), 0);
    EXPECT_NE(waiting, nullptr);
    return waiting;
  }

  bool finished(lua::Task* t) {
    return std::find(owner_.finished.begin(), owner_.finished.end(), t) != owner_.finished.end();
  }

  std::string finish(lua::Task* t) {
    EXPECT_TRUE(driveUntil([&] { return finished(t); }));
    // Tasks are pooled: the same Task may finish again for a later request.
    owner_.finished.erase(std::find(owner_.finished.begin(), owner_.finished.end(), t));
    return body(respondWaited(t));
  }

  // The message `expr` raises when evaluated in the Vm's main state.
  std::string raised(const std::string& expr) {
    return eval("local ok, e = pcall(function() return " + expr +
                " end) return ok and 'no error' or e");
  }
};

TEST_F(CtxTest, Fields) {
  EXPECT_EQ(body(get("/fields")), "GET /fields 192.0.2.7 192.0.2.7 http nil");
  EXPECT_EQ(body(post("/fields", "")), "POST");
  // HEAD runs the GET handler with ctx.method "HEAD"; its text sets the length.
  http::SerializeOptions head;
  head.head_request = true;
  auto ex = request(router::Method::kHead, "/fields");
  std::string out = respond(*ex, head);
  EXPECT_NE(out.find("Content-Length: 41\r\n"), std::string::npos) << out;
  EXPECT_EQ(body(out), "");
}

TEST_F(CtxTest, ParamsArePercentDecoded) {
  EXPECT_EQ(body(get("/users/a%20b/posts/7")), "a b|7");
  EXPECT_EQ(body(get("/users/x+y/posts/%41")), "x+y|A");  // '+' kept in paths
}

TEST_F(CtxTest, QueryIsDecodedAndLastWins) {
  EXPECT_EQ(body(get("/query?a=1&b=x+y&c=%41&a=2&flag&=skipped")), "a=2&b=x y&c=A&flag=");
  EXPECT_EQ(body(get("/query")), "");
}

TEST_F(CtxTest, HeadersAreCaseInsensitive) {
  std::string out = get("/headers", {{"User-Agent", "tester"},
                                     {"Accept", "text/html"},
                                     {"ACCEPT", "application/json"},
                                     {"Cookie", "a=1"},
                                     {"cookie", "b=2"},
                                     {"X-Forwarded-For", "10.0.0.1"}});
  EXPECT_EQ(body(out),
            "accept,cookie,user-agent|tester|tester|text/html, application/json|"
            "a=1; b=2|nil|nil");
}

TEST_F(CtxTest, Body) {
  EXPECT_EQ(body(post("/body", "raw text")), "raw text");
  EXPECT_EQ(body(post("/body/bytes", "AB\xff")), "65,66,255");
  EXPECT_EQ(body(post("/body/as_json", "{\"a\":[1,2]}", {{"Content-Type", "application/json"}})),
            "{\"a\":[1,2]}");
  EXPECT_EQ(body(post("/body/as_json", "[true]", {{"content-type", "application/vnd.x+json"}})),
            "[true]");
  EXPECT_EQ(body(post("/body/as_json", "[1]")), "[1]");  // no Content-Type: accepted
}

TEST_F(CtxTest, BodyErrorsAreRequestErrors) {
  int status = 0;
  auto ex = request(router::Method::kPost, "/body");
  std::string out = respond(*ex, {}, &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(body(out), "{\"error\":\"Request has no body\"}");
  ex = request(router::Method::kPost, "/body/as_json",
               {{"Content-Type", "text/plain; charset=utf-8"}}, "{}");
  out = respond(*ex, {}, &status);
  EXPECT_EQ(status, 415);
  EXPECT_EQ(body(out),
            "{\"error\":\"Unsupported Media Type (415): expected application/json, got "
            "text/plain\"}");
  ex = request(router::Method::kPost, "/body/as_json", {{"Content-Type", "application/json"}},
               "{bad");
  out = respond(*ex, {}, &status);
  EXPECT_EQ(status, 400);
  EXPECT_NE(body(out).find("Invalid JSON in request body: "), std::string::npos) << out;
}

TEST_F(CtxTest, RequestId) {
  EXPECT_EQ(body(get("/request_id", {{"X-Request-ID", "abc-123"}})), "abc-123");
  std::string generated = body(get("/request_id"));
  EXPECT_FALSE(generated.empty());
  EXPECT_NE(generated, body(get("/request_id")));
  // Not a valid id (a space): replaced by a generated one.
  EXPECT_NE(body(get("/request_id", {{"X-Request-ID", "a b"}})), "a b");
}

TEST_F(CtxTest, SetAndGetArePerRequest) {
  EXPECT_EQ(body(get("/store?name=ann")), "true ann 2");
  EXPECT_EQ(body(get("/store?name=bob")), "true bob 2");  // nothing left from the last request
}

TEST_F(CtxTest, KeptCtxRaisesAfterItsRequest) {
  EXPECT_EQ(body(get("/keep")), "kept");
  EXPECT_NE(raised("kept.path").find(kDead), std::string::npos) << raised("kept.path");
  EXPECT_NE(raised("kept.method").find(kDead), std::string::npos) << raised("kept.method");
  EXPECT_NE(raised("kept:headers()").find(kDead), std::string::npos);
  EXPECT_NE(raised("kept:query()").find(kDead), std::string::npos);
  EXPECT_NE(raised("kept:set('a', 1)").find(kDead), std::string::npos);
  EXPECT_NE(raised("kept:get('a')").find(kDead), std::string::npos);
  EXPECT_NE(raised("kept_headers(kept)").find(kDead), std::string::npos);
  // From inside a later request (whose task reuses the kept one's slot).
  std::string out = body(get("/use_kept"));
  size_t first = out.find(kDead);
  ASSERT_NE(first, std::string::npos) << out;
  EXPECT_NE(out.find(kDead, first + 1), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.rfind('\n') + 1), "/use_kept");
  int status = 0;
  auto ex = request(router::Method::kGet, "/use_kept_raw");
  std::string raw = respond(*ex, {}, &status);
  EXPECT_EQ(status, 500);
  EXPECT_NE(raw.find(kDead), std::string::npos) << raw;
}

// ctx is a cdata of its own FFI type whose metatable the app cannot reach;
// it shares nothing with full userdata (newproxy) or task handles.
TEST_F(CtxTest, CtxIsItsOwnCdataType) {
  EXPECT_EQ(body(get("/types")), "cdata true string userdata table false rover.task");
}

// lua-api.md §6 (ctx:get): "get of an unset key -> nil". Before the first
// ctx:set of a request, ctx:get returns no value at all, so e.g.
// tostring(ctx:get(k)) raises "bad argument #1 to 'tostring' (value expected)".
TEST_F(CtxTest, GetOfAnUnsetKeyIsNilBeforeAnySet) { EXPECT_EQ(body(get("/unset")), "1 1"); }

TEST_F(CtxTest, NativesRejectWhatIsNotACtx) {
  std::string out = body(get("/not_a_ctx"));
  EXPECT_EQ(out, std::string(kDead) + "\n" + kDead + "\n" + kDead) << out;
}

TEST_F(CtxTest, KeptCtxWorksWhileItsRequestIsSuspended) {
  auto ex = request(router::Method::kGet, "/wait?q=1", {{"X-K", "v"}});
  lua::Task* t = start(*ex);
  EXPECT_EQ(vm_->suspendedTasks(), 2u);  // the request and its spawned task
  // Used from outside the request while it waits.
  EXPECT_EQ(eval("return held.path .. ' ' .. held.method .. ' ' .. held:query().q"), "/wait GET 1");
  EXPECT_TRUE(driveUntil([&] { return eval("return from_task") != "nil"; }));
  EXPECT_EQ(eval("return from_task"), "GET /wait 192.0.2.7 1 v");
  EXPECT_EQ(finish(t), "GET set before the wait yes");
  EXPECT_EQ(vm_->suspendedTasks(), 0u);
  EXPECT_NE(raised("held.path").find(kDead), std::string::npos);
  EXPECT_NE(raised("held:get('before')").find(kDead), std::string::npos);
}

TEST_F(CtxTest, KeptCtxRaisesAfterAnAbortedRequest) {
  auto ex = request(router::Method::kGet, "/wait?q=1", {{"X-K", "v"}});
  lua::Task* t = start(*ex);
  vm_->abort(t);
  EXPECT_NE(raised("held.path").find(kDead), std::string::npos);
  // The spawned task outlives the request; its use of the dead ctx raises in the task.
  EXPECT_TRUE(driveUntil([&] { return vm_->suspendedTasks() == 0; }));
  EXPECT_EQ(eval("return from_task"), "nil");
  EXPECT_TRUE(owner_.finished.empty());
}

TEST_F(CtxTest, EachResumedRequestSeesItsOwnCtx) {
  auto slow = request(router::Method::kGet, "/later/30?tag=a");
  auto quick = request(router::Method::kGet, "/later/5?tag=b");
  auto head = request(router::Method::kHead, "/later/15?tag=c");
  lua::Task* ts = start(*slow);
  lua::Task* tq = start(*quick);
  lua::Task* th = start(*head);
  EXPECT_EQ(vm_->suspendedTasks(), 3u);
  EXPECT_EQ(body(get("/fields")), "GET /fields 192.0.2.7 192.0.2.7 http nil");
  EXPECT_EQ(finish(tq), "GET /later/5 b");
  EXPECT_EQ(body(get("/store?name=x")), "true x 2");
  EXPECT_EQ(finish(th), "HEAD /later/15 c");
  EXPECT_EQ(finish(ts), "GET /later/30 a");
}

}  // namespace
}  // namespace rover::lua_test

// Tests for src/lua/respond.cpp: a handler's return value or raised error
// turned into the exact response bytes (lua-api.md §7, §8).
#include "vm_test_util.h"

namespace rover::lua_test {
namespace {

constexpr const char* kApp = R"lua(
local api = rover.server {}
function api.table.get() return { a = 1 } end
function api.array.get() return { 1, "two", true } end
function api.string.get() return "hello" end
function api.number.get() return 42 end
function api.boolean.get() return false end
function api.none.get() return nil end
function api.func.get() return function() end end
function api.unencodable.get() return { f = function() end } end
function api.json_obj.get() return api.json { ok = true } end
function api.json_string.get() return api.json('{"raw":1}') end
function api.json_nil.get() return api.json() end
function api.json_created.get() return api.json:status(201, { id = 7 }) end
function api.json_headers.get() return api.json { n = 1, headers = { ["X-Total"] = 5 } } end
function api.text_plain.get() return api.text("plain words") end
function api.text_status.get() return api.text.status(202, "later") end
function api.error_builder.get() return api.error(404, "no such thing") end
function api.error_default.get() return api.error(409) end
function api.nothing.get() return api.no_content() end
function api.redirected.get() return api.redirect("/elsewhere") end
function api.raw_bytes.get() return api.raw("\0\1") end
function api.header.get() return api.json({ ok = true }):header("X-Trace", "abc") end
function api.header_list.get() return api.text("c"):header("Set-Cookie", { "a=1", "b=2" }) end
function api.header_ct.get() return api.text("a,b"):header("Content-Type", "text/csv") end
function api.header_replaced.get()
  return api.text("x"):header("X-One", "1"):header("x-one", "2")
end
function api.server_only.get()
  return api.text("body"):header("Content-Length", "999"):header("Connection", "upgrade")
end
function api.boom.get() error("boom") end
function api.boom_table.get() error({ message = "table message" }) end
function api.request_error.get(ctx) return ctx:body():text() end
function api.yields.get() coroutine.yield() end
function api.error_nil.get() error() end
function api.error_number.get() error(42) end
function api.guard_error.get() return rover.guard({}, { name = rover.guard:string():required() }) end
function api.bad_header.get() return api.text("x"):header("X-Bad", "a\r\nb") end
function api.bad_status.get() return api.json:status(99, {}) end
function api.big.get() return string.rep("x", 100000) end
return api
)lua";

// The line of kApp that starts with `text`, as a string.
std::string lineOf(std::string_view text) {
  std::string_view app = kApp;
  size_t at = app.find(text);
  return std::to_string(std::count(app.begin(), app.begin() + static_cast<long>(at), '\n') + 1);
}

class RespondTest : public VmTest {
 protected:
  void SetUp() override {
    VmTest::SetUp();
    loadServer(kApp);
  }
};

TEST_F(RespondTest, TableIsJson) {
  EXPECT_EQ(get("/table"),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: application/json\r\n"
            "Content-Length: 7\r\n\r\n{\"a\":1}");
  EXPECT_EQ(get("/array"),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: application/json\r\n"
            "Content-Length: 14\r\n\r\n[1,\"two\",true]");
}

TEST_F(RespondTest, DateHeaderIsAnHttpDate) {
  auto ex = request(router::Method::kGet, "/string");
  http::Response resp;
  lua::Task* task = nullptr;
  ASSERT_EQ(vm_->handle(ex->info, &owner_, &resp, &task), 200);
  std::string s = serializeAndRelease(task, resp);
  size_t at = s.find("\r\nDate: ");
  ASSERT_NE(at, std::string::npos) << s;
  std::string date = s.substr(at + 8, s.find("\r\n", at + 8) - at - 8);
  EXPECT_EQ(date.size(), 29u) << date;  // "Sun, 06 Nov 1994 08:49:37 GMT"
  EXPECT_EQ(date.substr(date.size() - 4), " GMT");
}

TEST_F(RespondTest, StringAndNumberAreText) {
  EXPECT_EQ(get("/string"),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 5\r\n\r\nhello");
  EXPECT_EQ(get("/number"),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 2\r\n\r\n42");
  EXPECT_EQ(get("/boolean"),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 5\r\n\r\nfalse");
}

TEST_F(RespondTest, NilIs204WithoutBodyOrLength) {
  int status = 0;
  auto ex = request(router::Method::kGet, "/none");
  EXPECT_EQ(respond(*ex, {}, &status), "HTTP/1.1 204 No Content\r\nDate: <date>\r\n\r\n");
  EXPECT_EQ(status, 204);
}

TEST_F(RespondTest, UnsupportedValuesAre500) {
  EXPECT_EQ(get("/func"),
            "HTTP/1.1 500 Internal Server Error\r\nDate: <date>\r\nContent-Type: "
            "application/json\r\nContent-Length: 45\r\n\r\n"
            "{\"error\":\"Unsupported return type: function\"}");
  std::string out = get("/unencodable");
  EXPECT_EQ(out.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("{\"error\":\"Failed to serialize response: "), std::string::npos) << out;
}

TEST_F(RespondTest, JsonBuilder) {
  EXPECT_EQ(get("/json_obj"),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: application/json\r\n"
            "Content-Length: 11\r\n\r\n{\"ok\":true}");
  EXPECT_EQ(get("/json_string"),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: application/json\r\n"
            "Content-Length: 9\r\n\r\n{\"raw\":1}");
  EXPECT_EQ(get("/json_nil"),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: application/json\r\n"
            "Content-Length: 2\r\n\r\n{}");
  int status = 0;
  auto ex = request(router::Method::kGet, "/json_created");
  EXPECT_EQ(respond(*ex, {}, &status),
            "HTTP/1.1 201 Created\r\nDate: <date>\r\nContent-Type: application/json\r\n"
            "Content-Length: 8\r\n\r\n{\"id\":7}");
  EXPECT_EQ(status, 201);
}

TEST_F(RespondTest, JsonBuilderHeadersFieldBecomesHeaders) {
  EXPECT_EQ(get("/json_headers"),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nX-Total: 5\r\nContent-Type: application/json\r\n"
            "Content-Length: 7\r\n\r\n{\"n\":1}");
}

TEST_F(RespondTest, TextBuilder) {
  EXPECT_EQ(get("/text_plain"),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 11\r\n\r\nplain words");
  EXPECT_EQ(get("/text_status"),
            "HTTP/1.1 202 Accepted\r\nDate: <date>\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 5\r\n\r\nlater");
}

TEST_F(RespondTest, ErrorBuilder) {
  int status = 0;
  auto ex = request(router::Method::kGet, "/error_builder");
  EXPECT_EQ(respond(*ex, {}, &status),
            "HTTP/1.1 404 Not Found\r\nDate: <date>\r\nContent-Type: application/json\r\n"
            "Content-Length: 25\r\n\r\n{\"error\":\"no such thing\"}");
  EXPECT_EQ(status, 404);
  EXPECT_EQ(get("/error_default"),
            "HTTP/1.1 409 Conflict\r\nDate: <date>\r\nContent-Type: application/json\r\n"
            "Content-Length: 20\r\n\r\n{\"error\":\"Conflict\"}");
}

TEST_F(RespondTest, OtherBuilders) {
  EXPECT_EQ(get("/nothing"), "HTTP/1.1 204 No Content\r\nDate: <date>\r\n\r\n");
  EXPECT_EQ(get("/redirected"),
            "HTTP/1.1 302 Found\r\nDate: <date>\r\nLocation: /elsewhere\r\n"
            "Content-Length: 0\r\n\r\n");
  EXPECT_EQ(get("/raw_bytes"),
            std::string("HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: "
                        "application/octet-stream\r\nContent-Length: 2\r\n\r\n") +
                std::string("\0\1", 2));
}

TEST_F(RespondTest, HeadersFromHeaderMethod) {
  EXPECT_EQ(get("/header"),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nX-Trace: abc\r\nContent-Type: application/json\r\n"
            "Content-Length: 11\r\n\r\n{\"ok\":true}");
  EXPECT_EQ(get("/header_list"),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 1\r\n\r\nc");
  // A header set again (any case) replaces the earlier value.
  EXPECT_EQ(get("/header_replaced"),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nx-one: 2\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 1\r\n\r\nx");
}

TEST_F(RespondTest, AppContentTypeReplacesTheBuilders) {
  EXPECT_EQ(get("/header_ct"),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: text/csv\r\n"
            "Content-Length: 3\r\n\r\na,b");
}

TEST_F(RespondTest, ServerOnlyHeadersFromTheAppAreDropped) {
  EXPECT_EQ(get("/server_only"),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 4\r\n\r\nbody");
}

TEST_F(RespondTest, HeadOmitsTheBodyButKeepsItsLength) {
  http::SerializeOptions head;
  head.head_request = true;
  // HEAD is answered by the GET handler.
  auto ex = request(router::Method::kHead, "/table");
  EXPECT_EQ(respond(*ex, head),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: application/json\r\n"
            "Content-Length: 7\r\n\r\n");
  ex = request(router::Method::kHead, "/header");
  EXPECT_EQ(respond(*ex, head),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nX-Trace: abc\r\nContent-Type: application/json\r\n"
            "Content-Length: 11\r\n\r\n");
  ex = request(router::Method::kHead, "/boom");
  std::string out = respond(*ex, head);
  EXPECT_EQ(out.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << out;
  EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n") << out;
}

TEST_F(RespondTest, ConnectionCloseWhenAsked) {
  http::SerializeOptions close;
  close.connection = http::ConnectionHeader::kClose;
  auto ex = request(router::Method::kGet, "/string");
  EXPECT_EQ(respond(*ex, close),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 5\r\nConnection: close\r\n\r\nhello");
  ex = request(router::Method::kGet, "/json_obj");
  EXPECT_EQ(respond(*ex, close),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: application/json\r\n"
            "Content-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}");
  ex = request(router::Method::kGet, "/none");
  EXPECT_EQ(respond(*ex, close),
            "HTTP/1.1 204 No Content\r\nDate: <date>\r\nConnection: close\r\n\r\n");
}

TEST_F(RespondTest, ConnectionKeepAliveWhenAsked) {
  http::SerializeOptions keep;
  keep.connection = http::ConnectionHeader::kKeepAlive;
  auto ex = request(router::Method::kGet, "/string");
  EXPECT_EQ(respond(*ex, keep),
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 5\r\nConnection: keep-alive\r\n\r\nhello");
  ex = request(router::Method::kGet, "/none");
  EXPECT_EQ(respond(*ex, keep),
            "HTTP/1.1 204 No Content\r\nDate: <date>\r\nConnection: keep-alive\r\n\r\n");
}

TEST_F(RespondTest, ErrorIs500WithTheMessage) {
  int status = 0;
  auto ex = request(router::Method::kGet, "/boom");
  std::string body = "{\"error\":\"" + path_ + ":" + lineOf("function api.boom.get") + ": boom\"}";
  EXPECT_EQ(respond(*ex, {}, &status),
            "HTTP/1.1 500 Internal Server Error\r\nDate: <date>\r\nContent-Type: "
            "application/json\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(status, 500);
  EXPECT_NE(get("/boom_table").find("\r\n\r\n{\"error\":\"table message\"}"), std::string::npos);
}

TEST_F(RespondTest, TheVmKeepsWorkingAfterAnError) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(get("/boom").rfind("HTTP/1.1 500 ", 0), 0u);
    EXPECT_EQ(get("/string").substr(get("/string").size() - 5), "hello");
  }
}

TEST_F(RespondTest, ExposeErrorsFalseHidesTheMessage) {
  vm_->setExposeErrors(false);
  EXPECT_EQ(get("/boom"),
            "HTTP/1.1 500 Internal Server Error\r\nDate: <date>\r\nContent-Type: "
            "application/json\r\nContent-Length: 33\r\n\r\n{\"error\":\"Internal Server Error\"}");
  EXPECT_NE(get("/func").find("{\"error\":\"Internal Server Error\"}"), std::string::npos);
  // Request errors (4xx) keep their message.
  EXPECT_NE(get("/request_error").find("{\"error\":\"Request has no body\"}"), std::string::npos);
}

TEST_F(RespondTest, RequestErrorKeepsItsStatus) {
  int status = 0;
  auto ex = request(router::Method::kGet, "/request_error");
  EXPECT_EQ(respond(*ex, {}, &status),
            "HTTP/1.1 400 Bad Request\r\nDate: <date>\r\nContent-Type: application/json\r\n"
            "Content-Length: 31\r\n\r\n{\"error\":\"Request has no body\"}");
  EXPECT_EQ(status, 400);
}

TEST_F(RespondTest, BareYieldInAHandlerIs500) {
  std::string out = get("/yields");
  EXPECT_EQ(out.rfind("HTTP/1.1 500 ", 0), 0u) << out;
  EXPECT_NE(out.find("attempt to yield from a handler or task outside a waiting call"),
            std::string::npos)
      << out;
  EXPECT_EQ(vm_->suspendedTasks(), 0u);
  EXPECT_EQ(get("/string").substr(get("/string").size() - 5), "hello");
}

TEST_F(RespondTest, OtherErrorValues) {
  EXPECT_NE(get("/error_nil").find("\r\n\r\n{\"error\":\"unknown error (nil)\"}"),
            std::string::npos);
  // error() gives a number a position, like a string.
  std::string number = ":";
  number += lineOf("function api.error_number");
  number += ": 42\"}";
  EXPECT_NE(get("/error_number").find(number), std::string::npos);
  std::string out = get("/bad_header");
  EXPECT_EQ(out.rfind("HTTP/1.1 500 ", 0), 0u) << out;
  EXPECT_NE(out.find("invalid header 'X-Bad'"), std::string::npos) << out;
  out = get("/bad_status");
  EXPECT_EQ(out.rfind("HTTP/1.1 500 ", 0), 0u) << out;
  EXPECT_NE(out.find("invalid status code 99"), std::string::npos) << out;
}

TEST_F(RespondTest, GuardErrorIs400WithItsErrors) {
  int status = 0;
  auto ex = request(router::Method::kGet, "/guard_error");
  std::string out = respond(*ex, {}, &status);
  EXPECT_EQ(status, 400);
  EXPECT_EQ(out.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("\r\n\r\n{\"errors\":["), std::string::npos) << out;
  EXPECT_NE(out.find("\"name\""), std::string::npos) << out;
}

TEST_F(RespondTest, LargeBody) {
  std::string out = get("/big");
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 100000\r\n\r\n" +
                std::string(100000, 'x'));
}

class ExposeErrorsConfigTest : public VmTest {};

TEST_F(ExposeErrorsConfigTest, ConfigExposeErrorsFalseHidesTheMessage) {
  loadServer(R"lua(
local api = rover.server { expose_errors = false }
function api.boom.get() error("secret detail") end
return api
)lua");
  EXPECT_FALSE(config_.expose_errors);
  std::string out = get("/boom");
  EXPECT_NE(out.find("{\"error\":\"Internal Server Error\"}"), std::string::npos) << out;
  EXPECT_EQ(out.find("secret detail"), std::string::npos) << out;
}

}  // namespace
}  // namespace rover::lua_test

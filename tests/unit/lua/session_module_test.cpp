// Tests for src/lua/prelude/session.lua (rover.session, runtime-modules.md §3)
// through the Vm: built on first use over the natives of lua/session.cpp and
// the process-wide core::SessionStores. Stores are keyed by cookie name for
// the whole process, so each test uses names of its own.
#include "vm_test_util.h"

namespace rover::lua_test {
namespace {

class SessionModuleTest : public VmTest {
 protected:
  void SetUp() override {
    VmTest::SetUp();
    std::string err;
    ASSERT_EQ(load("", &err), lua::LoadResult::kScript) << err;
  }
};

TEST_F(SessionModuleTest, BuiltOnFirstUseOnce) {
  EXPECT_EQ(eval("return rawget(rover, 'session') == nil"), "true");
  EXPECT_EQ(eval("return rover.session == rover.session and type(rover.session.new)"), "function");
}

TEST_F(SessionModuleTest, CookieWithDefaults) {
  EXPECT_EQ(eval(R"lua(
    local s = rover.session.new()
    local h = s:create()
    assert(s:cookie_name() == "rover_session")
    assert(h:id():match("^%x+$") and #h:id() == 32 and h:id() == h:id():lower())
    return (h:cookie():gsub(h:id(), "<id>"))
  )lua"),
            "rover_session=<id>; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax");
}

TEST_F(SessionModuleTest, CookieWithEveryOption) {
  EXPECT_EQ(eval(R"lua(
    local s = rover.session.new { cookie_name = "unit_all", ttl = 90.2, secure = true,
      http_only = false, same_site = "NONE", domain = "example.com", path = "/app" }
    local h = s:create()
    return (h:cookie():gsub(h:id(), "<id>"))
  )lua"),
            "unit_all=<id>; Path=/app; Domain=example.com; Max-Age=91; Secure; SameSite=None");
}

TEST_F(SessionModuleTest, BadOptionsRaiseAtTheCallersLine) {
  const std::pair<const char*, const char*> cases[] = {
      {"42", "options must be a table"},
      {"{ cookie_name = 'a b' }", "cookie_name must be a valid cookie name (a non-empty token)"},
      {"{ cookie_name = '' }", "cookie_name must be a valid cookie name (a non-empty token)"},
      {"{ cookie_name = 7 }", "cookie_name must be a valid cookie name (a non-empty token)"},
      {"{ ttl = 0 }", "ttl must be a positive number of seconds (at most 2147483647)"},
      {"{ ttl = -1 }", "ttl must be a positive number of seconds (at most 2147483647)"},
      {"{ ttl = '60' }", "ttl must be a positive number of seconds (at most 2147483647)"},
      {"{ ttl = 0/0 }", "ttl must be a positive number of seconds (at most 2147483647)"},
      {"{ ttl = math.huge }", "ttl must be a positive number of seconds (at most 2147483647)"},
      {"{ same_site = 'sometimes' }", "same_site must be 'lax', 'strict' or 'none'"},
      {"{ secure = 'yes' }", "secure must be a boolean"},
      {"{ http_only = 1 }", "http_only must be a boolean"},
      {"{ path = 'app' }",
       "path must be a string starting with '/', without ';' or control characters"},
      {"{ path = '/; Domain=evil' }",
       "path must be a string starting with '/', without ';' or control characters"},
      {"{ domain = '' }", "domain must be a non-empty string without ';' or control characters"},
      {"{ max_sessions = 0 }", "max_sessions must be a positive integer"},
      {"{ max_sessions = 1.5 }", "max_sessions must be a positive integer"},
      {"{ tll = 60 }", "unknown option 'tll'"},
  };
  for (const auto& [opts, message] : cases) {
    EXPECT_EQ(eval(std::string("\nlocal s = rover.session.new(") + opts + ")"),
              std::string("error: test:2: rover.session.new: ") + message)
        << opts;
  }
}

TEST_F(SessionModuleTest, SetAcceptsStringsNumbersBooleansOnly) {
  EXPECT_EQ(eval(R"lua(
    local h = rover.session.new { cookie_name = "unit_set" }:create()
    h:set("s", "x"):set("n", 2):set("b", false)
    return h:len()
  )lua"),
            "3");
  for (const char* bad : {"{}", "print", "nil", "io.stdout"}) {
    std::string type = eval(std::string("return type(") + bad + ")");
    EXPECT_EQ(eval(std::string("local h = rover.session.new { cookie_name = 'unit_set' }:create()\n"
                               "h:set('k', ") +
                   bad + ")"),
              "error: test:2: session:set: value must be a string, number or boolean, not " + type);
  }
  EXPECT_EQ(eval("local h = rover.session.new { cookie_name = 'unit_set' }:create()\n"
                 "h:set(1, 'v')"),
            "error: test:2: session:set: key must be a string");
}

TEST_F(SessionModuleTest, ValueObjects) {
  EXPECT_EQ(eval(R"lua(
    local h = rover.session.new { cookie_name = "unit_values" }:create()
    h:set("s", "hello"):set("i", 42):set("f", 1.5):set("t", true):set("si", "-17"):set("sf", "false")
    local out = {}
    for _, k in ipairs { "s", "i", "f", "t", "si", "sf" } do
      local v = h:get(k)
      out[#out + 1] = k .. "=" .. tostring(v:as_string()) .. "/" .. tostring(v:as_integer()) ..
        "/" .. tostring(v:as_bool())
    end
    out[#out + 1] = tostring(h:get("missing"))
    return table.concat(out, " ")
  )lua"),
            "s=hello/nil/nil i=42/42/nil f=1.5/nil/nil t=true/nil/true si=-17/-17/nil "
            "sf=false/nil/false nil");
}

TEST_F(SessionModuleTest, HandleDataIsACopyUntilSave) {
  EXPECT_EQ(eval(R"lua(
    local store = rover.session.new { cookie_name = "unit_copy" }
    local a = store:create()
    a:set("k", "one")
    local before = store:get(a:id())
    assert(not before:has("k") and before:is_empty(), "unsaved data visible")
    assert(a:save() == true)
    local b = store:get(a:id())
    b:set("k", "two")
    assert(a:get("k"):as_string() == "one")   -- handles do not share data
    assert(store:get(a:id()):get("k"):as_string() == "one")
    b:save()
    assert(a:remove("k") == true and a:remove("k") == false and a:len() == 0)
    return store:get(a:id()):get("k"):as_string()
  )lua"),
            "two");
}

TEST_F(SessionModuleTest, LifecycleAndState) {
  EXPECT_EQ(eval(R"lua(
    local store = rover.session.new { cookie_name = "unit_life" }
    local s = store:create()
    local out = { s:state(), tostring(s:is_valid()), tostring(s:is_expired()) }
    local old = s:id()
    s:set("user", "ada")
    assert(s:regenerate() == true)
    assert(s:id() ~= old and #s:id() == 32)
    out[#out + 1] = tostring(store:get(old)) .. "," .. tostring(store:exists(old))
    out[#out + 1] = store:get(s:id()):get("user"):as_string()  -- no save needed
    assert(store:exists(s:id()))
    assert(s:destroy() == true)
    out[#out + 1] = s:state() .. "," .. tostring(s:is_valid()) .. "," .. tostring(store:exists(s:id()))
    out[#out + 1] = tostring(s:save()) .. "," .. tostring(store:exists(s:id()))  -- not re-created
    out[#out + 1] = tostring(s:invalidate())
    return table.concat(out, " ")
  )lua"),
            "active true false nil,false ada invalidated,false,false false,false false");
}

// A handle's state follows its own last access: polled (bounded by a
// deadline) it turns "expired" once the ttl has passed, and a save then
// writes nothing.
TEST_F(SessionModuleTest, HandleExpiresByItsLastAccess) {
  EXPECT_EQ(eval(R"lua(
    local store = rover.session.new { cookie_name = "unit_expire", ttl = 0.02 }
    local s = store:create()
    local deadline = os.time() + 10
    while s:state() == "active" and os.time() < deadline do end
    local out = { s:state(), tostring(s:is_expired()), tostring(s:is_valid()) }
    out[#out + 1] = tostring(s:save()) .. "," .. s:state()  -- still expired, not invalidated
    out[#out + 1] = tostring(store:get(s:id())) .. "," .. tostring(store:exists(s:id()))
    return table.concat(out, " ")
  )lua"),
            "expired true false false,expired nil,false");
}

TEST_F(SessionModuleTest, RemovedElsewhereMeansInvalidated) {
  EXPECT_EQ(eval(R"lua(
    local store = rover.session.new { cookie_name = "unit_elsewhere" }
    local s = store:create()
    assert(store:delete(s:id()) == true and store:delete(s:id()) == false)
    return tostring(s:refresh()) .. " " .. s:state()
  )lua"),
            "false invalidated");
}

TEST_F(SessionModuleTest, GetOrCreateNeverAdoptsAnUnknownId) {
  EXPECT_EQ(eval(R"lua(
    local store = rover.session.new { cookie_name = "unit_adopt" }
    local unknown = string.rep("ab", 16)
    local s = store:get_or_create(unknown)
    assert(s:id() ~= unknown and not store:exists(unknown))
    local known = store:get_or_create(s:id())
    assert(known:id() == s:id())
    assert(store:get_or_create(nil):id() ~= s:id())
    return tostring(store:get(nil)) .. tostring(store:get("short")) .. tostring(store:get(42))
  )lua"),
            "nilnilnil");
}

TEST_F(SessionModuleTest, StoresWithTheSameCookieNameShareSessions) {
  EXPECT_EQ(eval(R"lua(
    local a = rover.session.new { cookie_name = "unit_shared" }
    local b = rover.session.new { cookie_name = "unit_shared" }
    local c = rover.session.new { cookie_name = "unit_other" }
    local s = a:create()
    s:set("n", 1)
    s:save()
    return b:get(s:id()):get("n"):as_integer() .. " " .. tostring(c:exists(s:id()))
  )lua"),
            "1 false");
}

TEST_F(SessionModuleTest, TimesAreUnixSeconds) {
  EXPECT_EQ(eval(R"lua(
    local before = os.time()
    local s = rover.session.new { cookie_name = "unit_times" }:create()
    local after = os.time()
    return s:created_at() >= before and s:created_at() < after + 1 and
      s:last_accessed() == s:created_at()
  )lua"),
            "true");
}

TEST_F(SessionModuleTest, MethodsNeedColon) {
  EXPECT_EQ(
      eval("local s = rover.session.new { cookie_name = 'unit_colon' }\nlocal x = s.create()"),
      "error: test:2: rover.session: call create with ':' on a store");
  EXPECT_EQ(eval("local h = rover.session.new { cookie_name = 'unit_colon' }:create()\n"
                 "local x = h.id()"),
            "error: test:2: rover.session: call id with ':' on a session");
}

}  // namespace
}  // namespace rover::lua_test

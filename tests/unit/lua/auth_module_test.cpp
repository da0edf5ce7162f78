// Tests for src/lua/prelude/auth.lua (rover.auth, runtime-modules.md §4)
// through the Vm: built on first use, over the natives of lua/auth.cpp.
// Known-answer tokens were computed outside Rover (RFC 7515 appendix A.1,
// the jwt.io HS256 example, and Python's hmac + hashlib + base64 for the
// rest). The clock is os.time, which tests replace to hit the boundaries.
#include "vm_test_util.h"

namespace rover::lua_test {
namespace {

// jwt.io's example: {"sub":"1234567890","name":"John Doe","iat":1516239022}
// signed with "your-256-bit-secret"; it has no exp.
constexpr const char* kJwtIo =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

// RFC 7515 A.1: header {"typ":"JWT",\r\n "alg":"HS256"}, claims
// {"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}.
constexpr const char* kRfc7515 =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
// Its JWK "k", as hex.
constexpr const char* kRfc7515KeyHex =
    "0323354b2b0fa5bc837e0665777ba68f5ab328e6f054c928a90f84b2d2502ebfd3fb5a92d20647ef968ab4c377623d"
    "223d2e2172052e4f08c0cd9af567d080a3";

class AuthModuleTest : public VmTest {
 protected:
  void SetUp() override {
    VmTest::SetUp();
    std::string err;
    ASSERT_EQ(load("", &err), lua::LoadResult::kScript) << err;
    ASSERT_EQ(eval(R"lua(
      A = rover.auth
      T = 1700000000
      os.time = function() return T end
      function unhex(h) return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)) end
      function b64(s)  -- base64url without padding, written here independently of the natives
        local abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        local bits = s:gsub(".", function(c)
          local b, out = c:byte(), ""
          for i = 7, 0, -1 do out = out .. (math.floor(b / 2 ^ i) % 2) end
          return out
        end)
        bits = bits .. string.rep("0", (6 - #bits % 6) % 6)
        return (bits:gsub("......", function(g) local i = tonumber(g, 2) return abc:sub(i + 1, i + 1) end))
      end
      function b64dec(s)
        local abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        local bits = s:gsub(".", function(c)
          local v, out = abc:find(c, 1, true) - 1, ""
          for i = 5, 0, -1 do out = out .. (math.floor(v / 2 ^ i) % 2) end
          return out
        end)
        return (bits:gsub("........", function(g) return string.char(tonumber(g, 2)) end)
          :gsub("[01]+$", ""))
      end
      -- A token with the given header and payload texts and signature text.
      function forge(header, payload, sig) return b64(header) .. "." .. b64(payload) .. "." .. sig end
      function parts(tok) return tok:match("^([^.]*)%.([^.]*)%.([^.]*)$") end
      function why(tok, secret) local r = A.verify(tok, secret) return r.valid and "valid" or r.error end
      function raises(f, ...)
        local ok, err = pcall(f, ...)
        assert(not ok, "expected an error")
        return (tostring(err):gsub("^[^:]*:%d+: ", ""))
      end
      return "ready"
    )lua"),
              "ready");
  }

  // Runs a chunk of assertions; fails the test with the Lua error if one is raised.
  void run(const std::string& code) { EXPECT_EQ(eval(code + "\nreturn 'ok'"), "ok"); }
};

// --- known answers ------------------------------------------------------------------------

TEST_F(AuthModuleTest, CreateMatchesAnIndependentlyComputedToken) {
  // Python: hmac.new(b"your-256-bit-secret", b64(header) + b"." + b64(b'{"sub":"1234567890"}'),
  // hashlib.sha256)
  EXPECT_EQ(eval("return A.create({ sub = '1234567890' }, 'your-256-bit-secret')"),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
            "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U");
}

TEST_F(AuthModuleTest, CreateWithKeySetWritesKid) {
  // Python: header {"alg":"HS256","typ":"JWT","kid":"k2"}, claims {"sub":"ada"}, key "two".
  EXPECT_EQ(
      eval(
          "return A.create({ sub = 'ada' }, { active = 'k2', keys = { k1 = 'one', k2 = 'two' } })"),
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsyIn0.eyJzdWIiOiJhZGEifQ."
      "DC72TnmxQAcykohxiMHIUw2wVYDfT4nn6hBylF99fR0");
}

TEST_F(AuthModuleTest, CreateHeaderAndPayloadText) {
  run(R"lua(
    local h, p = parts(A.create({ sub = "u", exp = 5, role = "admin" }, "k"))
    assert(b64dec(h) == '{"alg":"HS256","typ":"JWT"}', b64dec(h))
    local claims = A.decode(A.create({ sub = "u", exp = 5, role = "admin" }, "k"))
    assert(claims.sub == "u" and claims.exp == 5 and claims.role == "admin")
    local n = 0 for _ in pairs(claims) do n = n + 1 end
    assert(n == 3, "nothing is added")
    assert(b64dec(p):find('"sub":"u"', 1, true))
  )lua");
}

TEST_F(AuthModuleTest, VerifiesTheJwtIoExample) {
  // Signed correctly but without exp: the signature is checked first.
  EXPECT_EQ(eval(std::string("return why('") + kJwtIo + "', 'your-256-bit-secret')"),
            "missing exp claim");
  EXPECT_EQ(eval(std::string("return why('") + kJwtIo + "', 'another secret')"),
            "invalid signature");
  EXPECT_EQ(eval(std::string("return A.decode('") + kJwtIo + "').name"), "John Doe");
}

TEST_F(AuthModuleTest, VerifiesTheRfc7515Example) {
  std::string key = std::string("unhex('") + kRfc7515KeyHex + "')";
  std::string tok = std::string("'") + kRfc7515 + "'";
  EXPECT_EQ(eval("T = 1300819380 - 100 return why(" + tok + ", " + key + ")"), "valid");
  EXPECT_EQ(eval("T = 1300819380 - 100 return A.verify(" + tok + ", " + key +
                 ")['http://example.com/is_root']"),
            "true");
  EXPECT_EQ(eval("T = 1300819380 - 100 return A.verify(" + tok + ", " + key + ").iss"), "joe");
  EXPECT_EQ(eval("T = 1700000000 return why(" + tok + ", " + key + ")"), "token expired");
  EXPECT_EQ(eval("return why(" + tok + ", 'not the key')"), "invalid signature");
}

// --- verify ---------------------------------------------------------------------------------

TEST_F(AuthModuleTest, VerifyReturnsEveryClaim) {
  run(R"lua(
    local tok = A.create({ sub = "u1", exp = T + 300, iat = T, role = "admin", n = 2.5,
                           tags = { "a", "b" }, nested = { x = true } }, "s")
    local r = A.verify(tok, "s")
    assert(r.valid == true and r.error == nil)
    assert(r.sub == "u1" and r.exp == T + 300 and r.iat == T and r.role == "admin" and r.n == 2.5)
    assert(r.tags[2] == "b" and r.nested.x == true)
    local r2 = A.verify(A.create({ sub = "u1", exp = T + 300 }, "s"), "s")
    assert(r2.valid and r2.iat == nil, "iat only when the token has it")
  )lua");
}

TEST_F(AuthModuleTest, VerifyFailureShape) {
  run(R"lua(
    local r = A.verify(A.create({ sub = "u", exp = T + 10 }, "a"), "b")
    assert(r.valid == false and r.error == "invalid signature" and r.sub == nil)
    local n = 0 for _ in pairs(r) do n = n + 1 end
    assert(n == 2)
  )lua");
}

TEST_F(AuthModuleTest, ExpAndLeeway) {
  run(R"lua(
    local function at(exp) return why(A.create({ sub = "u", exp = exp }, "s"), "s") end
    assert(at(T + 1) == "valid")
    assert(at(T) == "valid", "expired, but within the 60 s leeway")
    assert(at(T - 59) == "valid")
    assert(at(T - 60) == "token expired", at(T - 60))
    assert(at(T - 3600) == "token expired")
  )lua");
}

TEST_F(AuthModuleTest, MissingExp) {
  EXPECT_EQ(eval("return why(A.create({ sub = 'u' }, 's'), 's')"), "missing exp claim");
  EXPECT_EQ(eval("return why(A.create({ sub = 'u', nbf = T }, 's'), 's')"), "missing exp claim");
}

TEST_F(AuthModuleTest, NbfAndLeeway) {
  run(R"lua(
    local function at(nbf) return why(A.create({ sub = "u", exp = T + 3600, nbf = nbf }, "s"), "s") end
    assert(at(T - 10) == "valid")
    assert(at(T) == "valid")
    assert(at(T + 60) == "valid", "within the leeway")
    assert(at(T + 61) == "token not yet valid", at(T + 61))
    assert(at(T + 3000) == "token not yet valid")
  )lua");
}

TEST_F(AuthModuleTest, NonNumericTimeClaimsAreInvalid) {
  EXPECT_EQ(eval("return why(A.create({ sub = 'u', exp = 'tomorrow' }, 's'), 's')"),
            "invalid token");
  EXPECT_EQ(eval("return why(A.create({ sub = 'u', exp = T + 10, nbf = true }, 's'), 's')"),
            "invalid token");
}

TEST_F(AuthModuleTest, TamperedTokensFail) {
  run(R"lua(
    local tok = A.create({ sub = "u", exp = T + 300, role = "user" }, "s")
    local h, p, s = parts(tok)
    -- Payload swapped for one claiming admin, signature kept.
    local evil = b64('{"sub":"u","exp":' .. (T + 300) .. ',"role":"admin"}')
    assert(why(h .. "." .. evil .. "." .. s, "s") == "invalid signature")
    -- One signature character changed; the signature cut short; lengthened.
    local flipped = s:sub(1, 10) .. (s:sub(11, 11) == "A" and "B" or "A") .. s:sub(12)
    assert(why(h .. "." .. p .. "." .. flipped, "s") == "invalid signature")
    assert(why(h .. "." .. p .. "." .. s:sub(1, -2), "s") == "invalid signature")
    assert(why(h .. "." .. p .. "." .. s .. "A", "s") == "invalid signature")
    assert(why(tok, "S") == "invalid signature")
    assert(why(tok, "s") == "valid")
  )lua");
}

TEST_F(AuthModuleTest, OnlyHs256IsAccepted) {
  run(R"lua(
    local p = '{"sub":"u","exp":' .. (T + 300) .. '}'
    -- alg none, with and without a signature
    assert(why(forge('{"alg":"none","typ":"JWT"}', p, ""), "s") == "invalid token")
    assert(why(forge('{"alg":"none"}', p, "x"), "s") == "invalid token")
    -- another algorithm, even with a signature that HS256 would accept
    local input = b64('{"alg":"HS512","typ":"JWT"}') .. "." .. b64(p)
    local h256 = A.create({ sub = "u", exp = T + 300 }, "s")
    for _, alg in ipairs({ "HS384", "HS512", "RS256", "ES256", "hs256", "" }) do
      local h = '{"alg":"' .. alg .. '","typ":"JWT"}'
      local _, _, s = parts(h256)
      assert(why(forge(h, p, s), "s") == "invalid token", alg)
    end
    assert(why(forge('{"typ":"JWT"}', p, "x"), "s") == "invalid token")   -- no alg
    assert(why(forge('{"alg":256}', p, "x"), "s") == "invalid token")
  )lua");
}

TEST_F(AuthModuleTest, MalformedTokens) {
  run(R"lua(
    local good = A.create({ sub = "u", exp = T + 300 }, "s")
    local h, p, s = parts(good)
    local bad = {
      "", "abc", "a.b", h .. "." .. p, h .. "." .. p .. ".", h .. "." .. p .. "." .. s .. ".x",
      "." .. p .. "." .. s, h .. ".." .. s, "..", "...",
      h .. "=." .. p .. "." .. s,                           -- padding
      h .. "." .. p .. "=." .. s,
      h:gsub("J", "+") .. "." .. p .. "." .. s,             -- standard alphabet
      b64("not json") .. "." .. p .. "." .. s,
      h .. "." .. b64("not json") .. "." .. s,
      h .. "." .. b64("[1,2]") .. "." .. s,                 -- claims not an object
      b64('"HS256"') .. "." .. p .. "." .. s,               -- header not an object
      h .. "." .. b64("null") .. "." .. s,
      h .. " ." .. p .. "." .. s,
    }
    for i, t in ipairs(bad) do
      assert(why(t, "s") == "invalid token", i .. ": " .. t .. " -> " .. why(t, "s"))
    end
    for _, v in ipairs({ 42, true, {} }) do assert(why(v, "s") == "invalid token") end
    assert(why(nil, "s") == "invalid token")
  )lua");
}

// --- decode -----------------------------------------------------------------------------------

TEST_F(AuthModuleTest, DecodeDoesNotVerify) {
  run(R"lua(
    local c = A.decode(A.create({ sub = "u", exp = 1 }, "whatever"))
    assert(c.sub == "u" and c.exp == 1 and c.valid == nil)
    local c2 = A.decode(forge('{"alg":"none"}', '{"sub":"v"}', ""))
    assert(c2.sub == "v")
  )lua");
  EXPECT_EQ(eval("return select(2, A.decode('nope'))"), "invalid token");
  EXPECT_EQ(eval("return A.decode('nope')"), "nil");
  EXPECT_EQ(eval("return select(2, A.decode(forge('{}', '[1]', 'x')))"), "invalid token");
  EXPECT_EQ(eval("return select(2, A.decode(42))"), "invalid token");
}

// --- key sets and rotation ----------------------------------------------------------------------

TEST_F(AuthModuleTest, SecretsHelper) {
  run(R"lua(
    local s = A.secrets()
    assert(s.active == nil and next(s.keys) == nil)
    local init = { k1 = "one" }
    local one = A.secrets(init)
    assert(one.active == "k1" and one.keys.k1 == "one" and one.keys ~= init, "copied")
    local two = A.secrets({ a = "1", b = "2" })
    assert(two.active == nil and two.keys.a == "1" and two.keys.b == "2")
    assert(A.active(two, "signing") == nil)
    local act = A.active(one, "signing")
    assert(act.id == "k1" and act.key == "one")
  )lua");
}

TEST_F(AuthModuleTest, RotationKeepsOldTokensValid) {
  run(R"lua(
    local set = A.secrets({ k1 = "first" })
    local old = A.create({ sub = "u", exp = T + 300 }, set)
    assert(A.decode(old) and b64dec(parts(old)):find('"kid":"k1"', 1, true))
    assert(A.rotate(set, "signing", "k2", "second") == set)
    assert(set.active == "k2" and A.active(set, "signing").key == "second")
    local new = A.create({ sub = "u", exp = T + 300 }, set)
    assert(b64dec(parts(new)):find('"kid":"k2"', 1, true))
    assert(why(old, set) == "valid" and why(new, set) == "valid")
    -- Each token is signed by its own key only.
    assert(why(new, "first") == "invalid signature" and why(new, "second") == "valid")
    assert(why(old, "second") == "invalid signature" and why(old, "first") == "valid")
    -- A retired key: tokens signed with it stop verifying.
    set.keys.k1 = nil
    assert(why(old, set) == "invalid signature")
  )lua");
}

TEST_F(AuthModuleTest, VerifyTriesKidThenActiveThenOthers) {
  run(R"lua(
    local keys = { active = "b", keys = { a = "ka", b = "kb", c = "kc" } }
    local claims = { sub = "u", exp = T + 300 }
    -- No kid, signed with a key that is neither named nor active: found among the others.
    assert(why(A.create(claims, "kc"), keys) == "valid")
    -- A kid naming another key of the set, or no key of it: the others are tried.
    assert(why(A.create(claims, { active = "a", keys = { a = "kc" } }), keys) == "valid")
    assert(why(A.create(claims, { active = "zzz", keys = { zzz = "kb" } }), keys) == "valid")
    -- A key outside the set is never accepted.
    assert(why(A.create(claims, "kd"), keys) == "invalid signature")
    assert(why(A.create(claims, { active = "a", keys = { a = "kd" } }), keys) == "invalid signature")
    -- A set without an active key still verifies.
    assert(why(A.create(claims, "kc"), { keys = { c = "kc" } }) == "valid")
  )lua");
}

TEST_F(AuthModuleTest, KeyErrors) {
  EXPECT_EQ(eval("return raises(A.create, { sub = 'u' }, A.secrets())"),
            "rover.auth: the key set has no active key");
  EXPECT_EQ(eval("return raises(A.create, { sub = 'u' }, { active = 'x', keys = {} })"),
            "rover.auth: the key set has no active key");
  EXPECT_EQ(eval("return raises(A.create, { sub = 'u' }, '')"),
            "rover.auth: secret must be a non-empty string or a key set");
  EXPECT_EQ(eval("return raises(A.create, { sub = 'u' }, nil)"),
            "rover.auth: secret must be a non-empty string or a key set");
  EXPECT_EQ(eval("return raises(A.verify, A.create({ sub = 'u' }, 'k'), 42)"),
            "rover.auth: secret must be a non-empty string or a key set");
  EXPECT_EQ(eval("return raises(A.rotate, A.secrets(), 'encryption', 'k', 'v')"),
            "rover.auth: unknown key purpose 'encryption' (only 'signing')");
  EXPECT_EQ(eval("return raises(A.active, A.secrets(), 'other')"),
            "rover.auth: unknown key purpose 'other' (only 'signing')");
  EXPECT_EQ(eval("return raises(A.rotate, A.secrets(), 'signing', 'k', '')"),
            "rover.auth.rotate: key must be a non-empty string");
  EXPECT_EQ(eval("return raises(A.secrets, { k = 5 })"),
            "rover.auth.secrets: keys must map string ids to non-empty strings");
}

// --- create's arguments
// ---------------------------------------------------------------------------

TEST_F(AuthModuleTest, CreateRequiresAStringSub) {
  EXPECT_EQ(eval("return raises(A.create, {}, 's')"),
            "rover.auth.create: claims.sub (string) is required");
  EXPECT_EQ(eval("return raises(A.create, { sub = 7 }, 's')"),
            "rover.auth.create: claims.sub (string) is required");
  EXPECT_EQ(eval("return raises(A.create, 'sub', 's')"),
            "rover.auth.create: claims must be a table");
  EXPECT_EQ(eval("return raises(A.create, { sub = 'u', f = print }, 's')"),
            "rover.auth.create: cannot serialise function");
}

TEST_F(AuthModuleTest, ModuleIsBuiltOnceAndStored) {
  EXPECT_EQ(eval("return rawget(rover, 'auth') == A and rover.auth == A"), "true");
  EXPECT_EQ(eval("return rawget(rover, 'cookie') == nil"), "true");
  EXPECT_EQ(eval("local c = rover.cookie return rawget(rover, 'cookie') == c and c.set ~= nil"),
            "true");
}

// --- hooks
// -------------------------------------------------------------------------------------------

class AuthHooksTest : public VmTest {};

constexpr const char* kHooksApp = R"lua(
local api = rover.server {}
os.time = function() return 1700000000 end
local secret = rover.auth.secrets({ k1 = "hook-secret" })
api.admin.before.jwt = rover.auth.require(api, secret)
api.admin.before.roles = rover.auth.allow_roles(api, { "admin", "ops" })
function api.admin.get(ctx) return { sub = ctx:get("auth").sub, role = ctx:get("auth").role } end
api.me.before = rover.auth.require(api, "plain", { header = "X-Token", claims_key = "who" })
function api.me.get(ctx) return { sub = ctx:get("who").sub, valid = ctx:get("who").valid } end
api.open.before = rover.auth.allow_roles(api, "admin")
function api.open.get(ctx) return "never" end
function api.mint.get(ctx)
  local q = ctx:query()
  local claims = { sub = "u", exp = 1700000000 + 300, role = q.role }
  return rover.auth.create(claims, q.plain and "plain" or secret)
end
return api
)lua";

TEST_F(AuthHooksTest, RequireAndAllowRoles) {
  loadServer(kHooksApp);
  auto body = [](const std::string& r) { return r.substr(r.find("\r\n\r\n") + 4); };
  auto status = [](const std::string& r) { return r.substr(9, 3); };
  std::string r = get("/admin");
  EXPECT_EQ(status(r), "401");
  EXPECT_EQ(body(r), R"({"error":"Unauthorized: missing Authorization bearer token"})");
  r = get("/admin", {{"Authorization", "Basic dTpw"}});
  EXPECT_EQ(body(r), R"({"error":"Unauthorized: Authorization must use Bearer token"})");
  r = get("/admin", {{"Authorization", "Bearer"}});
  EXPECT_EQ(body(r), R"({"error":"Unauthorized: Authorization must use Bearer token"})");
  r = get("/admin", {{"Authorization", "Bearer not.a.token"}});
  EXPECT_EQ(status(r), "401");
  EXPECT_EQ(body(r), R"({"error":"Unauthorized: invalid or expired token"})");

  std::string admin = body(get("/mint?role=admin"));
  std::string tok = "Bearer " + admin;
  r = get("/admin", {{"Authorization", tok}});
  EXPECT_EQ(status(r), "200") << r;
  EXPECT_NE(body(r).find(R"("sub":"u")"), std::string::npos) << r;
  std::string lower = "bearer " + admin;
  EXPECT_EQ(status(get("/admin", {{"authorization", lower}})), "200");

  std::string user = "Bearer " + body(get("/mint?role=user"));
  r = get("/admin", {{"Authorization", user}});
  EXPECT_EQ(status(r), "403");
  EXPECT_EQ(body(r), R"({"error":"Forbidden: role 'user' not allowed"})");
  std::string none = "Bearer " + body(get("/mint"));
  r = get("/admin", {{"Authorization", none}});
  EXPECT_EQ(status(r), "403");
  EXPECT_EQ(body(r), R"({"error":"Forbidden: missing role claim"})");

  r = get("/open");
  EXPECT_EQ(status(r), "401");
  EXPECT_EQ(body(r), R"({"error":"Unauthorized: missing auth context"})");
}

TEST_F(AuthHooksTest, RequireOptions) {
  loadServer(kHooksApp);
  auto body = [](const std::string& r) { return r.substr(r.find("\r\n\r\n") + 4); };
  std::string tok = "Bearer " + body(get("/mint?plain=1"));
  // The Authorization header is not the one this hook reads.
  EXPECT_EQ(body(get("/me", {{"Authorization", tok}})),
            R"({"error":"Unauthorized: missing Authorization bearer token"})");
  std::string r = get("/me", {{"X-Token", tok}});
  EXPECT_EQ(r.substr(9, 3), "200") << r;
  EXPECT_EQ(body(r), R"({"sub":"u"})");  // the claims only, no `valid`
}

TEST_F(AuthHooksTest, HookConstructionErrors) {
  std::string err;
  EXPECT_EQ(load("local api = rover.server {}\nrover.auth.require(api, nil)\nreturn api\n", &err),
            lua::LoadResult::kFailed);
  EXPECT_NE(err.find(path_ + ":2: rover.auth: secret must be a non-empty string or a key set"),
            std::string::npos)
      << err;
  EXPECT_EQ(
      load("local api = rover.server {}\nrover.auth.allow_roles(api, {})\nreturn api\n", &err),
      lua::LoadResult::kFailed);
  EXPECT_NE(err.find("rover.auth.allow_roles: roles must be a string or an array of strings"),
            std::string::npos)
      << err;
}

}  // namespace
}  // namespace rover::lua_test

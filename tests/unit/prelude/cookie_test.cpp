// Tests for src/lua/prelude/cookie.lua (rover.cookie, runtime-modules.md §2).
#include "lua_test_util.h"

namespace rover::prelude_test {
namespace {

class CookieTest : public LuaTest {
 protected:
  void SetUp() override {
    LuaTest::SetUp();
    loadModule("cookie.lua", "cookie");
    run(R"lua(
      C = rover.cookie
      -- "k=v" pairs of a table, sorted, joined with " ".
      function dump(t)
        local keys = {}
        for k in pairs(t) do keys[#keys + 1] = k end
        table.sort(keys)
        for i, k in ipairs(keys) do keys[i] = k .. "=" .. tostring(t[k]) end
        return table.concat(keys, " ")
      end
      -- The message f(...) raises, without its position.
      function raises(f, ...)
        local ok, err = pcall(f, ...)
        assert(not ok, "expected an error")
        return (tostring(err):gsub("^[^:]*:%d+: ", ""))
      end
    )lua");
  }
};

// --- parse ----------------------------------------------------------------------------

TEST_F(CookieTest, ParseSplitsPairsAndTrims) {
  EXPECT_EQ(eval("return dump(C.parse('a=1; b=2;c=3'))"), "a=1 b=2 c=3");
  EXPECT_EQ(eval("return dump(C.parse('  a =  1 ;\\tb\\t=\\t2  '))"), "a=1 b=2");
}

TEST_F(CookieTest, ParseFirstEqualsSeparates) {
  EXPECT_EQ(eval("return C.parse('tok=a=b==')['tok']"), "a=b==");
}

TEST_F(CookieTest, ParseRemovesSurroundingQuotes) {
  EXPECT_EQ(eval("return C.parse('q=\"hello world\"').q"), "hello world");
  EXPECT_EQ(eval("return C.parse('q=\"\"').q"), "");
  // Only a surrounding pair: one quote or an inner quote stays.
  EXPECT_EQ(eval("return C.parse('q=\"x').q"), "\"x");
  EXPECT_EQ(eval("return C.parse('q=a\"b').q"), "a\"b");
  EXPECT_EQ(eval("return C.parse('q=\"').q"), "\"");
}

TEST_F(CookieTest, ParseSkipsPiecesWithoutEquals) {
  EXPECT_EQ(eval("return dump(C.parse('flag; a=1; ; other ;b=2;'))"), "a=1 b=2");
}

TEST_F(CookieTest, ParseFirstOccurrenceWins) {
  EXPECT_EQ(eval("return dump(C.parse('a=1; b=x; a=2; a=3'))"), "a=1 b=x");
}

TEST_F(CookieTest, ParseEmptyValueAndEmptyName) {
  EXPECT_EQ(eval("return dump(C.parse('a=; =orphan; b=2'))"), "a= b=2");
}

TEST_F(CookieTest, ParseNilAndEmptyGiveEmptyTable) {
  EXPECT_EQ(eval("return type(C.parse(nil)) == 'table' and next(C.parse(nil)) == nil"), "true");
  EXPECT_EQ(eval("return next(C.parse('')) == nil and next(C.parse()) == nil"), "true");
  EXPECT_EQ(eval("return C.parse(nil) ~= C.parse(nil)"), "true");  // a new table each time
}

TEST_F(CookieTest, ParseNonStringRaises) {
  EXPECT_EQ(eval("return raises(C.parse, 42)"), "rover.cookie.parse: header must be a string");
}

// --- parse_set_cookie -------------------------------------------------------------------

TEST_F(CookieTest, ParseSetCookieAllAttributes) {
  EXPECT_EQ(eval("return dump(C.parse_set_cookie('id=a3f; Path=/docs; Domain=example.com; "
                 "Max-Age=3600; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Secure; HttpOnly; "
                 "SameSite=Strict'))"),
            "domain=example.com expires=Wed, 21 Oct 2015 07:28:00 GMT http_only=true "
            "max_age=3600 name=id path=/docs same_site=Strict secure=true value=a3f");
}

TEST_F(CookieTest, ParseSetCookieAbsentAttributes) {
  EXPECT_EQ(eval("return dump(C.parse_set_cookie('a=b'))"),
            "http_only=false name=a secure=false value=b");
  run(R"lua(
    local c = C.parse_set_cookie("a=b")
    assert(c.path == nil and c.domain == nil and c.max_age == nil and c.expires == nil)
    assert(c.same_site == nil and c.secure == false and c.http_only == false)
  )lua");
}

TEST_F(CookieTest, ParseSetCookieNamesCaseInsensitive) {
  run(R"lua(
    local c = C.parse_set_cookie("k=v; pATH=/x; DOMAIN=d.org; max-age=5; EXPIRES=soon; " ..
                                 "secure; HTTPONLY; samesite=LAX")
    assert(c.path == "/x" and c.domain == "d.org" and c.max_age == 5 and c.expires == "soon")
    assert(c.secure == true and c.http_only == true and c.same_site == "Lax")
  )lua");
}

TEST_F(CookieTest, ParseSetCookieSameSiteNormalised) {
  EXPECT_EQ(eval("return C.parse_set_cookie('a=b; SameSite=lax').same_site"), "Lax");
  EXPECT_EQ(eval("return C.parse_set_cookie('a=b; SameSite=STRICT').same_site"), "Strict");
  EXPECT_EQ(eval("return C.parse_set_cookie('a=b; SameSite=nOnE').same_site"), "None");
  EXPECT_EQ(eval("return C.parse_set_cookie('a=b; SameSite=sometimes').same_site"), "nil");
}

TEST_F(CookieTest, ParseSetCookieMaxAgeIsANumber) {
  EXPECT_EQ(eval("return type(C.parse_set_cookie('a=b; Max-Age=60').max_age)"), "number");
  EXPECT_EQ(eval("return C.parse_set_cookie('a=b; Max-Age=-1').max_age"), "-1");
  EXPECT_EQ(eval("return C.parse_set_cookie('a=b; Max-Age=0').max_age"), "0");
  // RFC 6265 §5.2.2: not digits (with an optional leading '-') -> ignored.
  EXPECT_EQ(eval("return C.parse_set_cookie('a=b; Max-Age=1.5').max_age"), "nil");
  EXPECT_EQ(eval("return C.parse_set_cookie('a=b; Max-Age=ten').max_age"), "nil");
}

TEST_F(CookieTest, ParseSetCookieLastAttributeWinsAndTrims) {
  run(R"lua(
    local c = C.parse_set_cookie("  sid = xyz ;  Path = /a ; Path=/b ;Max-Age=1; Max-Age=2")
    assert(c.name == "sid" and c.value == "xyz", c.name .. "|" .. c.value)
    assert(c.path == "/b" and c.max_age == 2)
  )lua");
}

TEST_F(CookieTest, ParseSetCookieIgnoresUnknownAndEmptyAttributes) {
  EXPECT_EQ(eval("return dump(C.parse_set_cookie('a=b; Priority=High; Partitioned; Path=; "
                 "Domain='))"),
            "http_only=false name=a secure=false value=b");
}

TEST_F(CookieTest, ParseSetCookieValueKeepsEqualsAndMayBeEmpty) {
  EXPECT_EQ(eval("return C.parse_set_cookie('t=a=b; Path=/').value"), "a=b");
  EXPECT_EQ(eval("return C.parse_set_cookie('t=; Max-Age=0').value"), "");
}

// RFC 6265 §5.2: a line whose first piece has no '=' or an empty name is ignored.
TEST_F(CookieTest, ParseSetCookieWithoutNameValuePairIsNil) {
  EXPECT_EQ(eval("return C.parse_set_cookie('Secure; Path=/')"), "nil");
  EXPECT_EQ(eval("return C.parse_set_cookie('=v; Path=/')"), "nil");
  EXPECT_EQ(eval("return C.parse_set_cookie('')"), "nil");
  EXPECT_EQ(eval("return C.parse_set_cookie(nil)"), "nil");
}

TEST_F(CookieTest, ParseSetCookieRoundTripsTheBuilder) {
  run(R"lua(
    local s = C.set("pref", "v1"):same_site("none"):secure():http_only():domain("a.b")
      :path("/p"):max_age(10):expires("Thu, 01 Jan 2037 00:00:00 GMT"):build()
    local c = C.parse_set_cookie(s)
    assert(c.name == "pref" and c.value == "v1" and c.path == "/p" and c.domain == "a.b")
    assert(c.max_age == 10 and c.expires == "Thu, 01 Jan 2037 00:00:00 GMT")
    assert(c.secure and c.http_only and c.same_site == "None")
  )lua");
}

// --- set / build ----------------------------------------------------------------------------

TEST_F(CookieTest, BuildSpecExample) {
  EXPECT_EQ(eval("return C.set('theme', 'dark'):max_age(86400):path('/')"
                 ":same_site('strict'):build()"),
            "theme=dark; Path=/; Max-Age=86400; SameSite=Strict");
}

TEST_F(CookieTest, BuildNameValueOnly) {
  EXPECT_EQ(eval("return C.set('a', 'b'):build()"), "a=b");
  EXPECT_EQ(eval("return C.set('a', ''):build()"), "a=");
}

// The fixed order, whatever the call order: every permutation-like ordering
// below builds the same text.
TEST_F(CookieTest, BuildAttributeOrderIsFixed) {
  const char* expected =
      "s=v; Path=/app; Domain=example.com; Max-Age=60; Expires=Wed, 21 Oct 2037 07:28:00 GMT; "
      "Secure; HttpOnly; SameSite=Lax";
  EXPECT_EQ(eval("return C.set('s','v'):path('/app'):domain('example.com'):max_age(60)"
                 ":expires('Wed, 21 Oct 2037 07:28:00 GMT'):secure():http_only()"
                 ":same_site('lax'):build()"),
            expected);
  EXPECT_EQ(eval("return C.set('s','v'):same_site('LAX'):http_only():secure()"
                 ":expires('Wed, 21 Oct 2037 07:28:00 GMT'):max_age(60):domain('example.com')"
                 ":path('/app'):build()"),
            expected);
  EXPECT_EQ(eval("return C.set('s','v'):secure():max_age(60):same_site('Lax'):path('/app')"
                 ":http_only():domain('example.com'):expires('Wed, 21 Oct 2037 07:28:00 GMT')"
                 ":build()"),
            expected);
}

TEST_F(CookieTest, BuildLeavesUnsetAttributesOut) {
  EXPECT_EQ(eval("return C.set('a','b'):http_only():build()"), "a=b; HttpOnly");
  EXPECT_EQ(eval("return C.set('a','b'):domain('x.org'):secure():build()"),
            "a=b; Domain=x.org; Secure");
  EXPECT_EQ(eval("return C.set('a','b'):expires('Thu, 01 Jan 2037 00:00:00 GMT'):build()"),
            "a=b; Expires=Thu, 01 Jan 2037 00:00:00 GMT");
}

TEST_F(CookieTest, BuildSameSiteCapitalised) {
  EXPECT_EQ(eval("return C.set('a','b'):same_site('none'):build()"), "a=b; SameSite=None");
  EXPECT_EQ(eval("return C.set('a','b'):same_site('STRICT'):build()"), "a=b; SameSite=Strict");
  EXPECT_EQ(eval("return C.set('a','b'):same_site('Lax'):build()"), "a=b; SameSite=Lax");
}

TEST_F(CookieTest, BuilderMethodsReturnTheBuilderAndLaterCallsWin) {
  run(R"lua(
    local b = C.set("a", "b")
    for _, m in ipairs({ "secure", "http_only" }) do assert(b[m](b) == b, m) end
    assert(b:path("/") == b and b:domain("d") == b and b:max_age(1) == b)
    assert(b:expires("x") == b and b:same_site("lax") == b)
    b:path("/second"):max_age(2):same_site("strict")
    assert(b:build() == "a=b; Path=/second; Domain=d; Max-Age=2; Expires=x; Secure; HttpOnly; " ..
                        "SameSite=Strict", b:build())
    assert(tostring(b) == b:build())
  )lua");
}

TEST_F(CookieTest, BuildMaxAgeZeroNegativeAndNumericString) {
  EXPECT_EQ(eval("return C.set('a','b'):max_age(0):build()"), "a=b; Max-Age=0");
  EXPECT_EQ(eval("return C.set('a','b'):max_age(-1):build()"), "a=b; Max-Age=-1");
  EXPECT_EQ(eval("return C.set('a','b'):max_age('30'):build()"), "a=b; Max-Age=30");
  EXPECT_EQ(eval("return C.set('a','b'):max_age(2^40):build()"), "a=b; Max-Age=1099511627776");
}

TEST_F(CookieTest, BuildValueMayHoldOtherCookieOctets) {
  EXPECT_EQ(eval("return C.set('tok', 'a=b/c+d:e!#$%&()*-._~'):build()"),
            "tok=a=b/c+d:e!#$%&()*-._~");
  EXPECT_EQ(eval("return C.set('n', 42):build()"), "n=42");
}

// --- invalid cookie ---------------------------------------------------------------------------

TEST_F(CookieTest, SetRejectsNamesThatAreNotTokens) {
  for (const char* name : {"''", "'a b'", "'a=b'", "'a;b'", "'a,b'", "'a\"b'", "'a(b'", "'a/b'",
                           "'a@b'", "'a\\tb'", "'a\\0b'", "'caf\\195\\169'", "nil", "42", "{}"}) {
    EXPECT_EQ(eval(std::string("return raises(C.set, ") + name + ", 'v')"), "invalid cookie")
        << name;
  }
  EXPECT_EQ(eval("return C.set(\"!#$%&'*+-.^_`|~09azAZ\", 'v'):build()"),
            "!#$%&'*+-.^_`|~09azAZ=v");
}

TEST_F(CookieTest, SetRejectsBadValues) {
  for (const char* value :
       {"'a b'", "'a\\tb'", "'a\"b'", "'\"quoted\"'", "'a,b'", "'a;b'", "'a\\\\b'", "'a\\nb'",
        "'a\\rb'", "'a\\0b'", "'a\\127b'", "'a\\31b'", "nil", "{}", "true"}) {
    EXPECT_EQ(eval(std::string("return raises(C.set, 'n', ") + value + ")"), "invalid cookie")
        << value;
  }
}

TEST_F(CookieTest, InvalidCookieCarriesTheCallersPosition) {
  EXPECT_EQ(eval("local ok, e = pcall(function() local b = C.set('a b', 'v') end) return e"),
            "test:1: invalid cookie");
}

TEST_F(CookieTest, AttributeValuesThatWouldInjectRaise) {
  EXPECT_EQ(eval("return raises(function() C.set('a','b'):path('/; Domain=evil') end)"),
            "invalid cookie");
  EXPECT_EQ(eval("return raises(function() C.set('a','b'):domain('x\\r\\nSet-Cookie: y') end)"),
            "invalid cookie");
  EXPECT_EQ(eval("return raises(function() C.set('a','b'):expires(42) end)"), "invalid cookie");
  EXPECT_EQ(eval("return raises(function() C.set('a','b'):max_age('soon') end)"), "invalid cookie");
  EXPECT_EQ(eval("return raises(function() C.set('a','b'):max_age(1.5) end)"), "invalid cookie");
  EXPECT_EQ(eval("return raises(function() C.set('a','b'):max_age(0/0) end)"), "invalid cookie");
  EXPECT_EQ(eval("return raises(function() C.set('a','b'):max_age(1/0) end)"), "invalid cookie");
  EXPECT_EQ(eval("return raises(function() C.set('a','b'):same_site('sometimes') end)"),
            "invalid cookie");
  EXPECT_EQ(eval("return raises(function() C.set('a','b'):same_site(nil) end)"), "invalid cookie");
}

// --- delete -------------------------------------------------------------------------------------

TEST_F(CookieTest, DeleteDefaults) {
  EXPECT_EQ(eval("return C.delete('sid')"),
            "sid=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST_F(CookieTest, DeleteWithPathAndDomain) {
  EXPECT_EQ(
      eval("return C.delete('sid', { path = '/app', domain = 'example.com' })"),
      "sid=; Path=/app; Domain=example.com; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(eval("return C.delete('sid', { domain = 'example.com' })"),
            "sid=; Path=/; Domain=example.com; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(eval("return C.delete('sid', {})"),
            "sid=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST_F(CookieTest, DeleteRejectsBadName) {
  EXPECT_EQ(eval("return raises(C.delete, 'a b')"), "invalid cookie");
  EXPECT_EQ(eval("return raises(C.delete, 'sid', { path = '/;x' })"), "invalid cookie");
}

}  // namespace
}  // namespace rover::prelude_test

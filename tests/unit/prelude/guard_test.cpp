// Tests for src/lua/prelude/guard.lua (rover.guard, lua-api.md §10).
#include "lua_test_util.h"

namespace rover::prelude_test {
namespace {

class GuardTest : public LuaTest {
 protected:
  void SetUp() override {
    LuaTest::SetUp();
    loadModule("guard.lua", "guard");
    // errs(data, schema): the guard errors as "path|type|message" lines, or "valid".
    run(R"lua(
      g = rover.guard
      function errs(data, schema)
        local out, err = g.check(data, schema)
        if not err then return "valid" end
        local lines = {}
        for _, e in ipairs(err:errors()) do
          lines[#lines + 1] = e.path .. "|" .. e.type .. "|" .. e.message
        end
        return table.concat(lines, "\n")
      end
      function msg(data, schema)
        local ok, err = pcall(g, data, schema)
        assert(not ok, "expected an error")
        return tostring(err)
      end
    )lua");
  }
};

// --- Validators and output -------------------------------------------------------------

TEST_F(GuardTest, ScalarsPassThrough) {
  run(R"lua(
    local out = g({ s = "x", n = 2.5, i = 3, b = false },
                  { s = g:string(), n = g:number(), i = g:integer(), b = g:boolean() })
    assert(out.s == "x" and out.n == 2.5 and out.i == 3 and out.b == false)
  )lua");
}

TEST_F(GuardTest, ConstructorsWorkWithDotAndColon) {
  run(R"lua(
    local schema = { a = g.string(), b = g:string(), c = g.array(g.integer()),
                     d = g:array(g:integer()), e = g.object({ x = g.number() }),
                     f = g:object({ x = g:number() }) }
    local out = g({ a = "1", b = "2", c = { 1 }, d = { 2 }, e = { x = 1 }, f = { x = 2 } }, schema)
    assert(out.a == "1" and out.b == "2" and out.c[1] == 1 and out.d[1] == 2)
    assert(out.e.x == 1 and out.f.x == 2)
    assert(g.is_validator(schema.a) and g.is_validator(schema.f))
    assert(schema.c.element.kind == "integer" and schema.f.schema.x.kind == "number")
  )lua");
}

TEST_F(GuardTest, IntegralFloatIsAnInteger) {
  EXPECT_EQ(eval("return errs({ n = 4.0 }, { n = g:integer() })"), "valid");
}

TEST_F(GuardTest, OutputIsANewTableWithOnlySchemaFields) {
  run(R"lua(
    local input = { name = "a", extra = 1, user = { id = 1, secret = "s" }, tags = { "x" } }
    local out = g(input, { name = g:string(), user = g:object({ id = g:integer() }),
                           tags = g:array(g:string()) })
    assert(out ~= input and out.user ~= input.user and out.tags ~= input.tags)
    assert(out.extra == nil and out.user.secret == nil)
    assert(out.user.id == 1 and out.tags[1] == "x" and out.name == "a")
  )lua");
}

TEST_F(GuardTest, AbsentOptionalFieldStaysAbsent) {
  run(R"lua(
    local out = g({}, { name = g:string() })
    assert(next(out) == nil)
  )lua");
}

TEST_F(GuardTest, ArrayWithoutElementCopiesAnyElements) {
  run(R"lua(
    local input = { 1, "two", { three = 3 } }
    local out = g({ list = input }, { list = g:array() })
    assert(out.list ~= input and #out.list == 3)
    assert(out.list[1] == 1 and out.list[2] == "two" and out.list[3] == input[3])
  )lua");
}

TEST_F(GuardTest, ObjectWithoutSchemaCopiesAsIs) {
  run(R"lua(
    local input = { a = 1, nested = { b = 2 } }
    local out = g({ o = input }, { o = g:object() })
    assert(out.o ~= input and out.o.a == 1 and out.o.nested == input.nested)
  )lua");
}

TEST_F(GuardTest, EmptyTableIsBothArrayAndObject) {
  EXPECT_EQ(eval("return errs({ a = {}, o = {} }, { a = g:array(g:string()), o = g:object() })"),
            "valid");
}

TEST_F(GuardTest, ObjectAcceptsMixedAndSparseTables) {
  EXPECT_EQ(eval("return errs({ o = { 1, n = 2 }, p = { [2] = 'x' } }, "
                 "{ o = g:object(), p = g:object() })"),
            "valid");
}

// --- Modifiers -------------------------------------------------------------------------

TEST_F(GuardTest, RequiredDefaultMessage) {
  EXPECT_EQ(eval("return errs({}, { email = g:string():required() })"),
            "email|required|Field 'email' is required");
}

TEST_F(GuardTest, RequiredCustomMessage) {
  EXPECT_EQ(eval("return errs({}, { email = g:string():required('Please give an email') })"),
            "email|required|Please give an email");
}

TEST_F(GuardTest, DefaultIsUsedAndNotValidated) {
  run(R"lua(
    local out = g({}, { plan = g:string():enum({ "free", "team" }):default(42),
                        flag = g:boolean():default(false) })
    assert(out.plan == 42 and out.flag == false)
  )lua");
}

TEST_F(GuardTest, DefaultTakesPrecedenceOverRequired) {
  run(R"lua(
    local out = g({}, { a = g:string():required():default("x"),
                        b = g:string():default("y"):required() })
    assert(out.a == "x" and out.b == "y")
  )lua");
}

TEST_F(GuardTest, ProvidedValueBeatsDefault) {
  EXPECT_EQ(eval("return g({ p = 'team' }, { p = g:string():default('free') }).p"), "team");
}

TEST_F(GuardTest, NullableAcceptsNilAndClearsRequired) {
  run(R"lua(
    local out = g({}, { a = g:string():required():nullable() })
    assert(out.a == nil)
  )lua");
  EXPECT_EQ(eval("return errs({}, { a = g:string():nullable():required() })"),
            "a|required|Field 'a' is required");
}

TEST_F(GuardTest, ModifiersReturnTheSameValidator) {
  run(R"lua(
    local v = g:string()
    assert(v:required() == v and v:nullable() == v and v:default("x") == v)
    assert(v:enum({ "x" }) == v)
  )lua");
}

TEST_F(GuardTest, EnumAcceptsMembers) {
  EXPECT_EQ(eval("return errs({ p = 'team', n = 2 }, { p = g:string():enum({ 'free', 'team' }), "
                 "n = g:integer():enum({ 1, 2 }) })"),
            "valid");
}

TEST_F(GuardTest, EnumMessage) {
  EXPECT_EQ(eval("return errs({ p = 'pro' }, { p = g:string():enum({ 'free', 'team' }) })"),
            "p|enum|Must be one of: free, team. Got: 'pro'");
  EXPECT_EQ(eval("return errs({ n = 3 }, { n = g:integer():enum({ 1, 2.5 }) })"),
            "n|enum|Must be one of: 1, 2.5. Got: '3'");
}

TEST_F(GuardTest, TypeErrorIsReportedBeforeEnum) {
  EXPECT_EQ(eval("return errs({ p = 1 }, { p = g:string():enum({ 'free' }) })"),
            "p|type|Must be a string, got integer");
}

// --- Type messages and <got> names -------------------------------------------------------

TEST_F(GuardTest, TypeMessages) {
  struct Case {
    const char* value;
    const char* validator;
    const char* message;
  };
  const Case cases[] = {
      {"5", "g:string()", "Must be a string, got integer"},
      {"1.5", "g:string()", "Must be a string, got number"},
      {"true", "g:string()", "Must be a string, got boolean"},
      {"{ 1, 2 }", "g:string()", "Must be a string, got array"},
      {"{ a = 1 }", "g:string()", "Must be a string, got object"},
      {"{}", "g:string()", "Must be a string, got object"},
      {"{ 1, nil, 3 }", "g:string()", "Must be a string, got object"},
      {"print", "g:string()", "Must be a string, got function"},
      {"'x'", "g:number()", "Must be a number, got string"},
      {"'1'", "g:integer()", "Must be an integer, got string"},
      {"1.5", "g:integer()", "Must be an integer, got float 1.5"},
      {"0.1", "g:integer()", "Must be an integer, got float 0.1"},
      {"-2.25", "g:integer()", "Must be an integer, got float -2.25"},
      {"1e-7", "g:integer()", "Must be an integer, got float 1e-7"},
      {"0.001", "g:integer()", "Must be an integer, got float 0.001"},
      {"1", "g:boolean()", "Must be a boolean, got integer"},
      {"'true'", "g:boolean()", "Must be a boolean, got string"},
      {"{ a = 1 }", "g:array()", "Must be an array, got object"},
      {"{ 1, nil, 3 }", "g:array()", "Must be an array, got object"},
      {"'x'", "g:array()", "Must be an array, got string"},
      {"{ 1, 2 }", "g:object()", "Must be an object, got array"},
      {"7", "g:object()", "Must be an object, got integer"},
  };
  for (const Case& c : cases) {
    std::string code =
        std::string("return errs({ f = ") + c.value + " }, { f = " + c.validator + " })";
    EXPECT_EQ(eval(code), std::string("f|type|") + c.message) << code;
  }
}

TEST_F(GuardTest, TypeErrorSkipsTheField) {
  run(R"lua(
    local out, err = g.check({ user = "x" }, { user = g:object({ email = g:string():required() }) })
    assert(out == nil)
    local list = err:errors()
    assert(#list == 1 and list[1].path == "user" and list[1].type == "type")
  )lua");
}

// --- Paths and ordering ------------------------------------------------------------------

TEST_F(GuardTest, NestedPaths) {
  EXPECT_EQ(
      eval("return errs({ user = {} }, { user = g:object({ email = g:string():required() }) })"),
      "user.email|required|Field 'user.email' is required");
  EXPECT_EQ(eval("return errs({ tags = { 'a', 2 } }, { tags = g:array(g:string()) })"),
            "tags[2]|type|Must be a string, got integer");
  EXPECT_EQ(eval("return errs({ items = { {} } }, "
                 "{ items = g:array(g:object({ sku = g:string():required() })) })"),
            "items[1].sku|required|Field 'items[1].sku' is required");
  EXPECT_EQ(eval("return errs({ a = { b = { { c = { 1, 'x' } } } } }, "
                 "{ a = g:object({ b = g:array(g:object({ c = g:array(g:integer()) })) }) })"),
            "a.b[1].c[2]|type|Must be an integer, got string");
}

TEST_F(GuardTest, AllErrorsCollectedInLexicographicOrder) {
  EXPECT_EQ(eval(R"lua(
    return errs({ zeta = 1, alpha = "x", tags = { 1, "ok", 3 }, mid = { b = 1 } }, {
      zeta = g:string(),
      alpha = g:integer(),
      beta = g:boolean():required(),
      mid = g:object({ b = g:string(), a = g:string():required() }),
      tags = g:array(g:string()),
    })
  )lua"),
            "alpha|type|Must be an integer, got string\n"
            "beta|required|Field 'beta' is required\n"
            "mid.a|required|Field 'mid.a' is required\n"
            "mid.b|type|Must be a string, got integer\n"
            "tags[1]|type|Must be a string, got integer\n"
            "tags[3]|type|Must be a string, got integer\n"
            "zeta|type|Must be a string, got integer");
}

TEST_F(GuardTest, EnumOnArrayElements) {
  EXPECT_EQ(
      eval("return errs({ t = { 'a', 'z' } }, { t = g:array(g:string():enum({ 'a', 'b' })) })"),
      "t[2]|enum|Must be one of: a, b. Got: 'z'");
}

// --- Raw-table schemas -------------------------------------------------------------------

TEST_F(GuardTest, RawTableScalars) {
  run(R"lua(
    local schema = {
      name = { type = "string", required = true },
      plan = { type = "string", default = "free", enum = { "free", "team" } },
      age = { type = "integer", nullable = true },
      ok = { type = "boolean" },
    }
    local out = g({ name = "ada", ok = true }, schema)
    assert(out.name == "ada" and out.plan == "free" and out.age == nil and out.ok == true)
  )lua");
  EXPECT_EQ(
      eval("return errs({ plan = 'x' }, { name = { type = 'string', required = true, "
           "required_msg = 'name please' }, plan = { type = 'string', enum = { 'free' } } })"),
      "name|required|name please\nplan|enum|Must be one of: free. Got: 'x'");
}

TEST_F(GuardTest, RawTableNullableWinsOverRequired) {
  EXPECT_EQ(eval("return errs({}, { a = { type = 'string', required = true, nullable = true } })"),
            "valid");
}

TEST_F(GuardTest, RawTableElementAndSchemaMixWithValidators) {
  run(R"lua(
    local schema = {
      tags = { type = "array", element = { type = "string" } },
      ids = { type = "array", element = g:integer() },
      user = { type = "object", schema = { email = g:string():required(),
                                           lang = { type = "string", default = "en" } } },
      prefs = g:object({ theme = { type = "string", default = "dark" } }),
      items = g:array({ type = "object", schema = { sku = { type = "string" } } }),
    }
    local out = g({ tags = { "a" }, ids = { 1 }, user = { email = "e" }, prefs = {},
                    items = { { sku = "s", x = 1 } } }, schema)
    assert(out.tags[1] == "a" and out.ids[1] == 1 and out.user.email == "e")
    assert(out.user.lang == "en" and out.prefs.theme == "dark")
    assert(out.items[1].sku == "s" and out.items[1].x == nil)
  )lua");
  EXPECT_EQ(eval("return errs({ tags = { 'a', 1 }, user = {} }, { tags = { type = 'array', "
                 "element = { type = 'string' } }, user = { type = 'object', schema = { "
                 "email = { type = 'string', required = true } } } })"),
            "tags[2]|type|Must be a string, got integer\n"
            "user.email|required|Field 'user.email' is required");
}

TEST_F(GuardTest, InvalidSchemaIsAPlainError) {
  EXPECT_EQ(eval("return msg({}, { name = 'string' })"), "Invalid schema for field 'name'");
  EXPECT_EQ(eval("return msg({}, { name = {} })"), "Invalid schema for field 'name'");
  EXPECT_EQ(eval("return msg({}, { name = { type = 'text' } })"),
            "Invalid schema for field 'name'");
  EXPECT_EQ(eval("return msg({ user = {} }, { user = g:object({ name = true }) })"),
            "Invalid schema for field 'user.name'");
  EXPECT_EQ(eval("return msg({ tags = { 'a' } }, { tags = g:array({ kind = 'string' }) })"),
            "Invalid schema for field 'tags[1]'");
  // Checked even when the field is absent, so a broken schema shows up on every request.
  EXPECT_EQ(eval("return msg({}, { name = 5 })"), "Invalid schema for field 'name'");
  run(R"lua(
    local ok, err = pcall(g, {}, { name = 5 })
    assert(type(err) == "string" and not g.is_error(err))
  )lua");
}

// --- extend ------------------------------------------------------------------------------

TEST_F(GuardTest, ExtendAddsModifiersWithoutChangingValidation) {
  run(R"lua(
    local db = g:extend({
      primary = function(v) v.is_primary = true return v end,
      references = function(v, target) v.ref = target return v end,
    })
    local id = db:integer():primary():required()
    local owner = db.integer():references("users.id")
    assert(id.is_primary and owner.ref == "users.id" and id.is_required)
    assert(g.is_validator(id) and db.is_validator(g:string()))
    assert(g:integer().primary == nil) -- the base guard is unchanged
    local out = db({ id = 1, owner = 2 }, { id = id, owner = owner })
    assert(out.id == 1 and out.owner == 2 and out.is_primary == nil)
    -- Extended validators work in base-guard schemas and vice versa.
    assert(g({ a = 5 }, { a = db:integer():primary() }).a == 5)
    assert(db({ a = { b = "x" } }, { a = db:object({ b = g:string() }) }).a.b == "x")
  )lua");
  EXPECT_EQ(eval("local db = g.extend({ unique = function(v) return v end }) "
                 "return errs({}, { a = db:string():unique():required() })"),
            "a|required|Field 'a' is required");
}

TEST_F(GuardTest, ExtendChainsAndKeepsCoreModifiers) {
  run(R"lua(
    local one = g:extend({ a = function(v) v.ma = true return v end,
                           required = function(v) error("must not replace core") end })
    local two = one:extend({ b = function(v) v.mb = true return v end })
    local v = two:string():a():b():required("msg")
    assert(v.ma and v.mb and v.is_required and v.required_msg == "msg")
    assert(one:string().b == nil)
  )lua");
}

// --- Entry points ------------------------------------------------------------------------

TEST_F(GuardTest, CallRaisesGuardErrorObject) {
  run(R"lua(
    local ok, err = pcall(g, {}, { a = g:string():required() })
    assert(not ok and g.is_error(err))
    assert(not g.is_error("x") and not g.is_error({}) and not g.is_error(nil))
  )lua");
}

TEST_F(GuardTest, NonTableDataIsAPlainError) {
  EXPECT_EQ(eval("return msg('x', {})"), "rover.guard: data must be a table");
  EXPECT_EQ(eval("return msg(nil, {})"), "rover.guard: data must be a table");
}

TEST_F(GuardTest, CheckReturnsOutputOrError) {
  run(R"lua(
    local out, err = g.check({ a = "x" }, { a = g:string() })
    assert(out.a == "x" and err == nil)
    out, err = g.check({}, { a = g:string():required() })
    assert(out == nil and g.is_error(err))
    assert(err.errors_list[1].path == "a")
  )lua");
}

TEST_F(GuardTest, WholeBodyValidatorAsSchema) {
  run(R"lua(
    local out = g({ a = "x", b = 1 }, g:object({ a = g:string() }))
    assert(out.a == "x" and out.b == nil)
  )lua");
}

TEST_F(GuardTest, ValidateReturnsResultsOrError) {
  run(R"lua(
    local ok, a, b = g.validate(function(x, y) return x + y, "z" end, 1, 2)
    assert(ok == true and a == 3 and b == "z")

    local ok2, err = g.validate(function(d) return g(d, { n = g:integer():required() }) end, {})
    assert(ok2 == false and g.is_error(err) and err:errors()[1].path == "n")

    local ok3, m = g.validate(function() error("boom", 0) end)
    assert(ok3 == false and m == "boom")

    local ok4, m4 = g.validate(function()
      error(setmetatable({}, { __tostring = function() return "custom" end }))
    end)
    assert(ok4 == false and m4 == "custom")

    local ok5, v = g:validate(function() return "colon" end)
    assert(ok5 and v == "colon")
  )lua");
}

// --- The guard error object --------------------------------------------------------------

TEST_F(GuardTest, ErrorsAndToJson) {
  run(R"lua(
    local _, err = g.check({ age = "x" }, { email = g:string():required(), age = g:integer() })
    local list = err:errors()
    assert(#list == 2)
    assert(list[1].field == "age" and list[1].path == "age" and list[1].type == "type")
    assert(list[1].message == "Must be an integer, got string")
    assert(list[2].field == "email" and list[2].type == "required")
    list[1].message = "changed" -- copies: the error itself is unchanged
    assert(err:errors()[1].message == "Must be an integer, got string")

    local j = err:to_json()
    assert(#j.errors == 2 and j.errors[2].field == "email" and j.errors[2].path == nil)
    assert(j.errors[2].message == "Field 'email' is required" and j.errors[2].type == "required")
  )lua");
}

TEST_F(GuardTest, ToStringFormat) {
  EXPECT_EQ(eval("return msg({ age = 1.5 }, { email = g:string():required(), age = g:integer() })"),
            "Validation failed for request body:\n"
            "\n"
            "  1. Field 'age'\n"
            "     Error: Must be an integer, got float 1.5\n"
            "     Type: type\n"
            "  2. Field 'email'\n"
            "     Error: Field 'email' is required\n"
            "     Type: required");
}

TEST_F(GuardTest, SpecExample) {
  run(R"lua(
    local schema = {
      email = g:string():required("Please give an email address"),
      plan  = g:string():enum({ "free", "team" }):default("free"),
      age   = g:integer(),
      prefs = g:object({ lang = { type = "string", default = "en" } }),
    }
    local m = g({ email = "a@b.c", prefs = {} }, schema)
    assert(m.email == "a@b.c" and m.plan == "free" and m.age == nil and m.prefs.lang == "en")
  )lua");
}

}  // namespace
}  // namespace rover::prelude_test

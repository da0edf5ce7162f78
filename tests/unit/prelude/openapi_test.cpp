// Tests for src/lua/prelude/openapi.lua (the OpenAPI document and the docs page,
// server-features.md §13). Handlers whose source is scanned live in fixtures/openapi_app.lua.
#include "lua_test_util.h"

namespace rover::prelude_test {
namespace {

class OpenApiTest : public LuaTest {
 protected:
  void SetUp() override {
    LuaTest::SetUp();
    loadModule("guard.lua", "guard");
    std::string path = std::string(ROVER_SOURCE_DIR) + "/src/lua/prelude/openapi.lua";
    ASSERT_EQ(luaL_loadfile(L_, path.c_str()), 0) << lua_tostring(L_, -1);
    lua_getglobal(L_, "rover");
    lua_getfield(L_, -1, "guard");
    lua_remove(L_, -2);
    ASSERT_EQ(lua_pcall(L_, 1, 1, 0), 0) << lua_tostring(L_, -1);
    lua_setglobal(L_, "O");
    std::string fixture =
        std::string(ROVER_SOURCE_DIR) + "/tests/unit/prelude/fixtures/openapi_app.lua";
    lua_pushlstring(L_, fixture.data(), fixture.size());
    lua_setglobal(L_, "FIXTURE");
    // A small JSON decoder independent of the module (arrays get the metatable O.ARRAY), and
    // helpers: app = the fixture's handlers; body(method, handler) = the operation's
    // requestBody schema as JSON text, or "none".
    run(R"lua(
      g = rover.guard
      ARR = O.ARRAY -- decoded arrays encode back as arrays
      function decode(s)
        local pos = 1
        local function ws() pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
        local value
        local function str()
          local out = {}
          pos = pos + 1
          while true do
            local c = s:sub(pos, pos)
            assert(c ~= "", "unterminated string")
            if c == '"' then pos = pos + 1; return table.concat(out) end
            if c == "\\" then
              local e = s:sub(pos + 1, pos + 1)
              if e == "u" then
                local code = tonumber(s:sub(pos + 2, pos + 5), 16)
                assert(code < 128, "test decoder: ASCII escapes only")
                out[#out + 1] = string.char(code); pos = pos + 6
              else
                local map = { n = "\n", t = "\t", r = "\r", b = "\b", f = "\f",
                              ['"'] = '"', ["\\"] = "\\", ["/"] = "/" }
                out[#out + 1] = assert(map[e], "bad escape"); pos = pos + 2
              end
            else
              assert(c:byte() >= 32, "raw control character in string")
              out[#out + 1] = c; pos = pos + 1
            end
          end
        end
        function value()
          ws()
          local c = s:sub(pos, pos)
          if c == "{" then
            local t = {}; pos = pos + 1; ws()
            if s:sub(pos, pos) == "}" then pos = pos + 1; return t end
            repeat
              ws(); local k = str(); ws()
              assert(s:sub(pos, pos) == ":"); pos = pos + 1
              t[k] = value(); ws()
              c = s:sub(pos, pos); pos = pos + 1
            until c ~= ","
            assert(c == "}", "expected }")
            return t
          elseif c == "[" then
            local t = setmetatable({}, ARR); pos = pos + 1; ws()
            if s:sub(pos, pos) == "]" then pos = pos + 1; return t end
            repeat
              t[#t + 1] = value(); ws()
              c = s:sub(pos, pos); pos = pos + 1
            until c ~= ","
            assert(c == "]", "expected ]")
            return t
          elseif c == '"' then return str()
          elseif s:find("^true", pos) then pos = pos + 4; return true
          elseif s:find("^false", pos) then pos = pos + 5; return false
          elseif s:find("^null", pos) then pos = pos + 4; return nil
          end
          local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
          assert(num and num ~= "", "bad value at " .. pos)
          pos = pos + #num
          return tonumber(num)
        end
        local v = value(); ws()
        assert(pos == #s + 1, "trailing text")
        return v
      end
      app = dofile(FIXTURE)
      function build(routes)
        local json, doc = O.build(routes)
        local decoded = decode(json)
        assert(O.encode(doc) == json)
        return decoded, json
      end
      function op(method, pattern, handler)
        local doc = build({ { method = method, pattern = pattern, handler = handler } })
        return doc.paths[pattern][method:lower()]
      end
      function body(method, handler)
        local o = op(method, "/x", handler)
        if o.requestBody == nil then return "none" end
        local rb = o.requestBody
        assert(rb.required == true)
        return O.encode(rb.content["application/json"].schema)
      end
    )lua");
  }
};

// --- Document shape ----------------------------------------------------------------------

TEST_F(OpenApiTest, Section13ExampleExactly) {
  EXPECT_EQ(
      eval(R"lua(return (O.build({ { method = "GET", pattern = "/books/{isbn}",
                                           handler = function() end } })))lua"),
      R"({"info":{"title":"API","version":"1.0.0"},"openapi":"3.0.3","paths":{"/books/{isbn}":)"
      R"({"get":{"operationId":"get_books_isbn","parameters":[{"in":"path","name":"isbn",)"
      R"("required":true,"schema":{"type":"string"}}],"responses":{"200":{"description":)"
      R"("Successful response"}},"summary":"GET /books/{isbn}"}}}})");
}

TEST_F(OpenApiTest, EmptyRouteList) {
  EXPECT_EQ(eval("return (O.build({}))"),
            R"({"info":{"title":"API","version":"1.0.0"},"openapi":"3.0.3","paths":{}})");
}

TEST_F(OpenApiTest, MethodsAreLowerCaseAndShareThePathItem) {
  run(R"lua(
    local f = function() end
    local doc = build({ { method = "GET", pattern = "/books", handler = f },
                        { method = "POST", pattern = "/books", handler = f },
                        { method = "DELETE", pattern = "/books/{isbn}", handler = f },
                        { method = "OPTIONS", pattern = "/books", handler = f } })
    local books = doc.paths["/books"]
    assert(books.get.summary == "GET /books" and books.post.summary == "POST /books")
    assert(books.options.operationId == "options_books")
    assert(doc.paths["/books/{isbn}"].delete.operationId == "delete_books_isbn")
    assert(books.GET == nil and books.get.responses["200"].description == "Successful response")
  )lua");
}

TEST_F(OpenApiTest, OperationIdOfRoot) {
  run(R"lua(
    local doc = build({ { method = "GET", pattern = "/", handler = print },
                        { method = "POST", pattern = "/", handler = print } })
    assert(doc.paths["/"].get.operationId == "get_root", doc.paths["/"].get.operationId)
    assert(doc.paths["/"].post.operationId == "post_root")
    assert(doc.paths["/"].get.summary == "GET /")
  )lua");
}

TEST_F(OpenApiTest, OperationIdsStayUniqueInRegistrationOrder) {
  run(R"lua(
    local f = function() end
    local doc = build({ { method = "GET", pattern = "/a/b", handler = f },
                        { method = "GET", pattern = "/a_b", handler = f },
                        { method = "GET", pattern = "/a/{b}", handler = f },
                        { method = "GET", pattern = "/a_b_2", handler = f },
                        { method = "GET", pattern = "/root", handler = f },
                        { method = "GET", pattern = "/", handler = f },
                        { method = "GET", pattern = "/v2/{id}/x", handler = f } })
    local p = doc.paths
    assert(p["/a/b"].get.operationId == "get_a_b")
    assert(p["/a_b"].get.operationId == "get_a_b_2")
    assert(p["/a/{b}"].get.operationId == "get_a_b_3")
    assert(p["/a_b_2"].get.operationId == "get_a_b_2_2")
    assert(p["/root"].get.operationId == "get_root")
    assert(p["/"].get.operationId == "get_root_2")
    assert(p["/v2/{id}/x"].get.operationId == "get_v2_id_x")
  )lua");
}

TEST_F(OpenApiTest, ParametersInPatternOrder) {
  run(R"lua(
    local o = op("DELETE", "/shelves/{shelf}/books/{isbn}", function() end)
    assert(getmetatable(o.parameters) == ARR and #o.parameters == 2)
    assert(o.parameters[1].name == "shelf" and o.parameters[2].name == "isbn")
    for _, p in ipairs(o.parameters) do
      assert(p["in"] == "path" and p.required == true and p.schema.type == "string")
    end
    assert(op("GET", "/plain", function() end).parameters == nil)
    assert(op("GET", "/u/{userId}", function() end).parameters[1].name == "userId")
  )lua");
}

TEST_F(OpenApiTest, DuplicateRouteKeepsTheFirst) {
  run(R"lua(
    local doc = build({ { method = "POST", pattern = "/a", handler = app.member },
                        { method = "POST", pattern = "/a", handler = app.none } })
    assert(doc.paths["/a"].post.operationId == "post_a")
    assert(doc.paths["/a"].post.requestBody.content["application/json"].schema.properties.name)
  )lua");
}

TEST_F(OpenApiTest, BuildNeverRaisesOnOddInput) {
  EXPECT_EQ(eval("return (O.build(nil))"),
            R"({"info":{"title":"API","version":"1.0.0"},"openapi":"3.0.3","paths":{}})");
  run(R"lua(
    local doc = build({ 42, { method = 1, pattern = "/a" }, { method = "GET" },
                        { method = "POST", pattern = "/n", handler = 42 },
                        { method = "POST", pattern = "/t", handler = {} },
                        { method = "PUT", pattern = "/c", handler = print } })
    assert(doc.paths["/a"] == nil)
    assert(doc.paths["/n"].post.requestBody.content["application/json"].schema.type == "object")
    assert(doc.paths["/t"].post.requestBody ~= nil and doc.paths["/c"].put.requestBody ~= nil)
  )lua");
}

// --- Request bodies from :expect ---------------------------------------------------------

TEST_F(OpenApiTest, FixtureSchemaWithEveryModifier) {
  EXPECT_EQ(eval("return body('POST', app.member)"),
            R"({"properties":{"age":{"type":"integer"},"name":{"type":"string"},)"
            R"("note":{"nullable":true,"type":"string"},)"
            R"("role":{"default":"a","enum":["a","b"],"type":"string"},)"
            R"("tags":{"items":{"type":"string"},"type":"array"}},)"
            R"("required":["name"],"type":"object"})");
  run(R"lua(
    local rb = op("POST", "/members", app.member).requestBody
    assert(rb.required == true)
    local schema = rb.content["application/json"].schema
    assert(getmetatable(schema.required) == ARR and getmetatable(schema.properties.role.enum) == ARR)
  )lua");
}

TEST_F(OpenApiTest, SchemaFromAnUpvalue) {
  EXPECT_EQ(eval("return body('PUT', app.upvalue)"),
            R"({"properties":{"pages":{"type":"integer"},"title":{"type":"string"}},)"
            R"("required":["title"],"type":"object"})");
}

TEST_F(OpenApiTest, SchemaFromAGlobal) {
  EXPECT_EQ(eval("GLOBAL_SCHEMA = { id = g.integer():required(), b = g.boolean():required() }"
                 " return body('PATCH', app.global)"),
            R"({"properties":{"b":{"type":"boolean"},"id":{"type":"integer"}},)"
            R"("required":["b","id"],"type":"object"})");
  // Looked up at build time: without the global the lookup fails and the fallback applies.
  EXPECT_EQ(eval("GLOBAL_SCHEMA = nil return body('PATCH', app.global)"), R"({"type":"object"})");
}

TEST_F(OpenApiTest, BracketsInsideStringsAndCommentsAreSkipped) {
  EXPECT_EQ(
      eval("return body('POST', app.tricky)"),
      R"j({"properties":{"count":{"type":"integer"},"label":{"default":")}","type":"string"},)j"
      R"j("quote":{"enum":["it's )","say \"}\"","esc \" )","long ) } "," ]] } "],)j"
      R"j("type":"string"}},"type":"object"})j");
}

TEST_F(OpenApiTest, WithoutExpectBodyMethodsGetAnObject) {
  for (const char* m : {"POST", "PUT", "PATCH"}) {
    EXPECT_EQ(eval(std::string("return body('") + m + "', app.none)"), R"({"type":"object"})") << m;
  }
  for (const char* m : {"GET", "DELETE", "HEAD", "OPTIONS"}) {
    EXPECT_EQ(eval(std::string("return body('") + m + "', app.none)"), "none") << m;
  }
}

TEST_F(OpenApiTest, ExpectOnAGetStillDescribesTheBody) {
  EXPECT_EQ(eval("return body('GET', app.upvalue)"),
            R"({"properties":{"pages":{"type":"integer"},"title":{"type":"string"}},)"
            R"("required":["title"],"type":"object"})");
}

TEST_F(OpenApiTest, FailedEvaluationFallsBack) {
  for (const char* h : {"failing", "not_a_table", "bad_field"}) {
    EXPECT_EQ(eval(std::string("return body('POST', app.") + h + ")"), R"({"type":"object"})") << h;
    EXPECT_EQ(eval(std::string("return body('GET', app.") + h + ")"), "none") << h;
  }
  EXPECT_EQ(eval("return select(2, O.expect_value(app.failing)):find('undefined_table') ~= nil"),
            "true");
  EXPECT_EQ(eval("return body('POST', print)"), R"({"type":"object"})");
  EXPECT_EQ(eval("return select(2, O.expect_value(print))"), "handler is a C function");
}

TEST_F(OpenApiTest, MissingOrChangedSourceFileFallsBack) {
  run(R"lua(
    local path = os.tmpname()
    local function write(text)
      local f = assert(io.open(path, "w")); f:write(text); f:close()
    end
    write("local g = rover.guard\nreturn function(ctx)\n"
          .. "  return ctx:body():expect({ a = g.string() })\nend\n")
    local handler = dofile(path)
    assert(body("POST", handler) == '{"properties":{"a":{"type":"string"}},"type":"object"}')
    write("\nreturn function(ctx)\n  return ctx:body():expect({ a = = })\nend\n") -- syntax error
    assert(body("POST", handler) == '{"type":"object"}')
    write("\nreturn function(ctx)\n  return ctx:body():expect({ a = g.string()\n") -- unbalanced
    assert(body("POST", handler) == '{"type":"object"}')
    write("short\n")
    assert(body("POST", handler) == '{"type":"object"}')
    os.remove(path)
    assert(body("POST", handler) == '{"type":"object"}')
    assert(body("GET", handler) == "none")
    assert(select(2, O.expect_value(handler)) == "handler source not readable")
  )lua");
}

TEST_F(OpenApiTest, HandlerLoadedFromAStringIsScannedToo) {
  EXPECT_EQ(eval("local h = loadstring('local g = rover.guard\\nreturn function(ctx)\\n"
                 "  return ctx:body():expect{ n = g.number():required() }\\nend')()"
                 " return body('POST', h)"),
            R"({"properties":{"n":{"type":"number"}},"required":["n"],"type":"object"})");
}

TEST_F(OpenApiTest, OnlyTheHandlersOwnLinesAreScanned) {
  // The second function's :expect must not be attributed to the first.
  EXPECT_EQ(eval("local t = loadstring('local g = rover.guard\\nlocal t = {}\\n"
                 "function t.a(ctx)\\n  return 1\\nend\\n"
                 "function t.b(ctx)\\n  return ctx:body():expect{ z = g.string() }\\nend\\n"
                 "return t')()"
                 " return body('POST', t.a) .. ' ' .. body('POST', t.b)"),
            R"({"type":"object"} {"properties":{"z":{"type":"string"}},"type":"object"})");
}

TEST_F(OpenApiTest, ObjectValidatorsNestedObjectsAndArrays) {
  EXPECT_EQ(
      eval("return body('POST', app.object_validator)"),
      R"({"properties":{"any":{"items":{},"type":"array"},"free":{"type":"object"},)"
      R"("items":{"items":{"properties":{"sku":{"type":"string"}},"type":"object"},"type":"array"},)"
      R"("user":{"properties":{"email":{"type":"string"},"id":{"type":"integer"}},)"
      R"("required":["email","id"],"type":"object"}},"required":["items"],"type":"object"})");
}

TEST_F(OpenApiTest, RawSchemaTables) {
  EXPECT_EQ(eval("return body('POST', app.raw)"),
            R"({"properties":{"flag":{"default":false,"type":"boolean"},)"
            R"("meta":{"properties":{"lang":{"default":"en","type":"string"}},"type":"object"},)"
            R"("score":{"enum":[1.5,2],"nullable":true,"type":"number"},)"
            R"("tags":{"default":[],"items":{"type":"string"},"type":"array"},)"
            R"("title":{"type":"string"}},"required":["title"],"type":"object"})");
}

TEST_F(OpenApiTest, DefaultOutranksRequiredAndSpacedColonIsFound) {
  EXPECT_EQ(eval("return body('POST', app.required_with_default)"),
            R"({"properties":{"x":{"default":"d","type":"string"},"y":{"type":"boolean"}},)"
            R"("required":["y"],"type":"object"})");
}

TEST_F(OpenApiTest, CallableTableHandlerUsesItsCall) {
  EXPECT_EQ(eval("return body('POST', app.callable)"),
            R"({"properties":{"via_call":{"type":"string"}},"type":"object"})");
}

TEST_F(OpenApiTest, SchemaOfScalarValidators) {
  EXPECT_EQ(eval("return O.encode(O.schema_of(g.string():enum({ 'x' }):nullable()))"),
            R"({"enum":["x"],"nullable":true,"type":"string"})");
  EXPECT_EQ(eval("return O.encode(O.schema_of(g.integer():default(3)))"),
            R"({"default":3,"type":"integer"})");
  EXPECT_EQ(eval("return O.encode(O.schema_of({}))"), R"({"properties":{},"type":"object"})");
  EXPECT_EQ(eval("return O.encode(O.schema_of(g.object({ o = g.object():default({ k = 1 }) })))"),
            R"({"properties":{"o":{"default":{"k":1},"type":"object"}},"type":"object"})");
}

// --- JSON encoder ------------------------------------------------------------------------

TEST_F(OpenApiTest, EncoderStrings) {
  EXPECT_EQ(eval(R"lua(return O.encode("q\" b\\ /\n\r\t\b\f\0\1\31\127 é ✓"))lua"),
            "\"q\\\" b\\\\ /\\n\\r\\t\\b\\f\\u0000\\u0001\\u001f\x7f é ✓\"");
}

TEST_F(OpenApiTest, EncoderNumbers) {
  EXPECT_EQ(eval("return O.encode(O.array({ 0, -0, 1, -7, 3.0, 2^53 - 1, 0.1, 1.5, -2.25e-7, "
                 "1e300, 2^60 }))"),
            "[0,0,1,-7,3,9007199254740991,0.1,1.5,-2.25e-07,1e+300,1.152921504606847e+18]");
  EXPECT_EQ(eval("return O.encode({ a = 0/0, b = math.huge })"), R"({"a":null,"b":null})");
}

TEST_F(OpenApiTest, EncoderArraysObjectsAndKeyOrder) {
  EXPECT_EQ(eval("return O.encode({ z = {}, a = O.array(), m = O.array({ true, false, 'x', {} }),"
                 " [1] = 'one', B = { y = 1, x = 2 } })"),
            R"({"1":"one","B":{"x":2,"y":1},"a":[],"m":[true,false,"x",{}],"z":{}})");
}

TEST_F(OpenApiTest, JsonParsesBackToTheDocument) {
  run(R"lua(
    local routes = {}
    for i, m in ipairs({ "GET", "POST", "PUT", "PATCH", "DELETE" }) do
      routes[i] = { method = m, pattern = "/r/{id}", handler = app.member }
    end
    local doc = build(routes)
    local item = doc.paths["/r/{id}"]
    for _, m in ipairs({ "get", "post", "put", "patch", "delete" }) do
      local schema = item[m].requestBody.content["application/json"].schema
      assert(schema.properties.role.default == "a" and schema.required[1] == "name")
      assert(getmetatable(schema.properties.tags.items) ~= ARR)
    end
  )lua");
}

// --- Docs page ---------------------------------------------------------------------------

TEST_F(OpenApiTest, DocsPageListsOperations) {
  run(R"lua(
    local json, doc = O.build({ { method = "POST", pattern = "/members/{team}", handler = app.member },
                                { method = "GET", pattern = "/", handler = app.none } })
    local page = O.docs_html(doc, json)
    assert(page:find("<!DOCTYPE html>", 1, true) == 1)
    assert(page:find("<title>API 1.0.0</title>", 1, true))
    assert(page:find('<span class="method post">POST</span> <code>/members/{team}</code>', 1, true))
    assert(page:find('<span class="method get">GET</span> <code>/</code>', 1, true))
    assert(page:find("post_members_team", 1, true) and page:find("get_root", 1, true))
    assert(page:find("<td><code>team</code></td><td>path</td><td>string</td>", 1, true))
    assert(page:find("<td><code>name</code></td><td>string</td><td>yes</td>", 1, true))
    assert(page:find("<td><code>tags</code></td><td>array of string</td>", 1, true))
    assert(page:find("one of &quot;a&quot;, &quot;b&quot;; default &quot;a&quot;", 1, true))
    assert(page:find("nullable", 1, true))
    assert(not page:find("<script src", 1, true) and not page:find("http", 1, true))
    local embedded = page:match('<script type="application/json" id="openapi">(.-)</script>')
    assert(embedded == json, "embedded JSON must be verbatim")
    assert(O.docs_html(doc) == page)
  )lua");
}

TEST_F(OpenApiTest, DocsPageNestedFields) {
  run(R"lua(
    local json, doc = O.build({ { method = "POST", pattern = "/o", handler = app.object_validator } })
    local page = O.docs_html(doc, json)
    assert(page:find("<td><code>user.email</code></td><td>string</td><td>yes</td>", 1, true))
    assert(page:find("<td><code>items</code></td><td>array of object</td><td>yes</td>", 1, true))
    assert(page:find("<td><code>any</code></td><td>array of any</td>", 1, true))
  )lua");
}

TEST_F(OpenApiTest, DocsPageCannotBeBrokenOutOf) {
  run(R"lua(
    local evil = '</script><script>alert(1)</script><!--<script>'
    local h = loadstring("local g = rover.guard return function(ctx) return ctx:body():expect{ f = "
      .. "g.string():default('" .. evil .. "') } end")()
    local json, doc = O.build({ { method = "POST", pattern = "/a/{" .. evil .. "}", handler = h } })
    local page = O.docs_html(doc, json)
    local before, embedded, after =
      page:match('^(.-)<script type="application/json" id="openapi">(.-)</script>(.*)$')
    -- Outside the JSON element no tag comes from the document; inside, nothing can end it.
    local outside = before .. after
    assert(not outside:find("<script", 1, true) and not outside:find("</script", 1, true))
    assert(not embedded:find("</", 1, true) and not page:find("<!--", 1, true))
    assert(after == "\n</body></html>\n")
    assert(before:find("&lt;/script&gt;&lt;script&gt;alert(1)", 1, true))
    assert(embedded:find("<\\/script>", 1, true))
    -- Undoing the two rewrites gives back the document; a JSON parser reads it as is.
    assert(embedded:gsub("<\\/", "</"):gsub("<\\u0021%-%-", "<!--") == json)
    local back = decode(embedded)
    assert(back.paths["/a/{" .. evil .. "}"].post.summary == "POST /a/{" .. evil .. "}")
  )lua");
}

TEST_F(OpenApiTest, DocsPageWithoutRoutes) {
  run(R"lua(
    local page = O.docs_html(select(2, O.build({})))
    assert(page:find("No routes.", 1, true))
    assert(page:find('id="openapi">{"info":{"title":"API","version":"1.0.0"},'
                     .. '"openapi":"3.0.3","paths":{}}</script>', 1, true))
  )lua");
}

}  // namespace
}  // namespace rover::prelude_test

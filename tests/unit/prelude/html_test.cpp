// Tests for src/lua/prelude/html.lua (template engine, lua-api.md §7.4; rover.html,
// runtime-modules.md §8).
#include "lua_test_util.h"

namespace rover::prelude_test {
namespace {

class HtmlTest : public LuaTest {
 protected:
  void SetUp() override {
    LuaTest::SetUp();
    loadModule("html.lua", "html");
    run("h = rover.html");
  }
};

// --- Text and expressions ----------------------------------------------------------------

TEST_F(HtmlTest, TextIsCopiedVerbatim) {
  EXPECT_EQ(eval(R"lua(return h.render("  <p class=\"a\">\n\tx\\y %d 'q' \r\n</p>\n\n", {}))lua"),
            "  <p class=\"a\">\n\tx\\y %d 'q' \r\n</p>\n\n");
  EXPECT_EQ(eval("return h.render('', {})"), "");
  EXPECT_EQ(eval("return h.render('a } b { c }{', {})"), "a } b { c }{");
}

TEST_F(HtmlTest, ExpressionValues) {
  EXPECT_EQ(eval("return h.render('[{{ s }}][{{ n }}][{{ f }}][{{ t }}][{{ b }}][{{ missing }}]', "
                 "{ s = 'str', n = 3, f = 2.5, t = true, b = false })"),
            "[str][3][2.5][true][false][]");
  EXPECT_EQ(eval("return h.render('{{ 10 / 2 }} {{ 1 + 1 }}', {})"), "5 2");
  EXPECT_EQ(eval("return h.render('{{ t }}', { t = {} }):match('^table: ') ~= nil"), "true");
  EXPECT_EQ(eval("return h.render('{{ t }}', { t = setmetatable({}, { __tostring = function() "
                 "return 'custom' end }) })"),
            "custom");
}

TEST_F(HtmlTest, NoEscapingOfInsertedValues) {
  EXPECT_EQ(eval("return h.render('<p>{{ v }}</p>', { v = '<b>&\"\\'</b>' })"),
            "<p><b>&\"'</b></p>");
}

TEST_F(HtmlTest, ExpressionsSpanLinesAndKeepComments) {
  EXPECT_EQ(
      eval("return h.render('{{ a\\n + b -- sum\\n }}|{{ c --[[x]] }}', { a = 1, b = 2, c = 3 })"),
      "3|3");
}

TEST_F(HtmlTest, EmptyTagInsertsNothing) {
  EXPECT_EQ(eval("return h.render('a{{ }}b{{}}c', {})"), "abc");
}

TEST_F(HtmlTest, FirstClosingBracesCloseTheTag) {
  // The tag is `{{ "a` — no string awareness inside tags — so this does not compile.
  EXPECT_EQ(
      eval(
          R"lua(return (select(2, pcall(h.render, '{{ "a}}" }}', {})):match("^rover.html: template error") ~= nil))lua"),
      "true");
  EXPECT_EQ(eval("return h.render('{{ x }}}}', { x = 1 })"), "1}}");
}

TEST_F(HtmlTest, UnterminatedTagIsLiteral) {
  EXPECT_EQ(eval("return h.render('a {{ b', { b = 1 })"), "a {{ b");
  EXPECT_EQ(eval("return h.render('{{ x }} and {{ y', { x = 1 })"), "1 and {{ y");
  EXPECT_EQ(eval("return h.render('{{', {})"), "{{");
}

// --- Statements --------------------------------------------------------------------------

TEST_F(HtmlTest, IfElseifElse) {
  const char* tpl =
      "return h.render('{{ if n > 1 then }}many{{ elseif n == 1 then }}one{{ else }}none{{ end "
      "}}', "
      "{ n = %s })";
  char code[256];
  snprintf(code, sizeof code, tpl, "5");
  EXPECT_EQ(eval(code), "many");
  snprintf(code, sizeof code, tpl, "1");
  EXPECT_EQ(eval(code), "one");
  snprintf(code, sizeof code, tpl, "0");
  EXPECT_EQ(eval(code), "none");
}

TEST_F(HtmlTest, ForLoops) {
  EXPECT_EQ(eval("return h.render('<ul>{{ for _, t in ipairs(tags) do }}<li>{{ t }}</li>{{ end "
                 "}}</ul>', { tags = { 'x', 'y' } })"),
            "<ul><li>x</li><li>y</li></ul>");
  EXPECT_EQ(eval("return h.render('{{ for i = 1, 3 do }}{{ i }},{{ end }}', {})"), "1,2,3,");
}

TEST_F(HtmlTest, WhileLoop) {
  EXPECT_EQ(eval("return h.render('{{ while s.n > 0 do }}{{ s.n }}{{ s.n = s.n - 1 }}{{ end }}', "
                 "{ s = { n = 3 } })"),
            "error: rover.html: template error: template:1: ')' expected near '='");
  EXPECT_EQ(eval("local s = { n = 3 } local function dec() s.n = s.n - 1 end "
                 "return h.render('{{ while s.n > 0 do }}{{ s.n }}{{ dec() }}{{ end }}', "
                 "{ s = s, dec = dec })"),
            "321");
}

TEST_F(HtmlTest, StatementWordMustBeWholeWord) {
  // `ending` is a name, not the keyword `end`.
  EXPECT_EQ(eval("return h.render('{{ ending }}', { ending = 'fin' })"), "fin");
}

TEST_F(HtmlTest, SpecExample) {
  EXPECT_EQ(eval(R"lua(return h({ user = { name = "ada" }, tags = { "x", "y" } }) [[
<p>{{ user.name:upper() }}</p>
{{ if #tags > 0 then }}<ul>{{ for _, t in ipairs(tags) do }}<li>{{ t }}</li>{{ end }}</ul>{{ end }}]])lua"),
            "<p>ADA</p>\n<ul><li>x</li><li>y</li></ul>");
}

// --- Name lookup -------------------------------------------------------------------------

TEST_F(HtmlTest, Components) {
  run(R"lua(
    function rover.html.badge(p)
      return rover.html(p) [[<span class="badge">{{ label }}</span>]]
    end
  )lua");
  EXPECT_EQ(eval("return h.render('<p>{{ badge { label = \"new\" } }}</p>', {})"),
            "<p><span class=\"badge\">new</span></p>");
  // The module's own functions are components too.
  EXPECT_EQ(eval("return h.render('{{ escape(v) }}', { v = '<a>' })"), "&lt;a&gt;");
}

TEST_F(HtmlTest, RecursiveComponentGetsItsOwnData) {
  run(R"lua(
    function rover.html.tree(node)
      return rover.html(node) [[<li>{{ name }}{{ if kids then }}<ul>{{ for _, k in ipairs(kids) do }}{{ tree(k) }}{{ end }}</ul>{{ end }}{{ name }}</li>]]
    end
  )lua");
  EXPECT_EQ(eval("return h.render('{{ tree(root) }}', { root = { name = 'a', kids = { { name = "
                 "'b', kids = { { name = 'c' } } }, { name = 'd' } } } })"),
            "<li>a<ul><li>b<ul><li>cc</li></ul>b</li><li>dd</li></ul>a</li>");
}

TEST_F(HtmlTest, LookupOrderDataThenComponentsThenGlobals) {
  run("function rover.html.label() return 'component' end  label = 'global'  only_global = 'g'");
  EXPECT_EQ(eval("return h.render('{{ label }}', { label = 'data' })"), "data");
  EXPECT_EQ(eval("return h.render('{{ label() }}', {})"), "component");
  EXPECT_EQ(eval("return h.render('{{ only_global }}', {})"), "g");
  EXPECT_EQ(eval("return h.render('{{ string.format(\"%03d\", n) }} {{ #list }}', "
                 "{ n = 7, list = { 1, 2 } })"),
            "007 2");
  // false in data still shadows later lookups.
  EXPECT_EQ(eval("return h.render('{{ label }}', { label = false })"), "false");
}

TEST_F(HtmlTest, StringMethods) {
  EXPECT_EQ(eval("return h.render('{{ user.name:upper() }}-{{ (\"ab\"):rep(2) }}', "
                 "{ user = { name = 'ada' } })"),
            "ADA-abab");
}

TEST_F(HtmlTest, TemplatesDoNotWriteGlobals) {
  run("h.render('{{ if true then leaked = 1 end }}', {}) assert(leaked == nil)");
}

// --- Errors ------------------------------------------------------------------------------

TEST_F(HtmlTest, CompileErrorRaisesAString) {
  EXPECT_EQ(eval("return h.render('{{ if x then }}no end', {})"),
            "error: rover.html: template error: template:1: 'end' expected near '<eof>'");
  run(R"lua(
    local ok, err = pcall(h.render, "a {{ 1 + }} b", {})
    assert(not ok and type(err) == "string" and err:find("template error", 1, true))
  )lua");
}

TEST_F(HtmlTest, RuntimeErrorRaisesWithTemplateLine) {
  run(R"lua(
    local ok, err = pcall(h.render, "line1\nline2\n{{ user.name }}", {})
    assert(not ok and type(err) == "string")
    assert(err:find("^template:3: attempt to index"), err)
  )lua");
}

TEST_F(HtmlTest, BadArgumentsRaiseAtTheCaller) {
  EXPECT_EQ(eval("local s = h.render(5, {}) return s"),
            "error: test:1: rover.html: template must be a string, got number");
  EXPECT_EQ(eval("local r = h('page') return r"),
            "error: test:1: rover.html: data must be a table or nil, got string");
  EXPECT_EQ(eval("local r = h({})\nlocal s = r(nil) return s"),
            "error: test:2: rover.html: template must be a string, got nil");
}

// --- Entry points and caching ------------------------------------------------------------

TEST_F(HtmlTest, RendererAndRenderForms) {
  EXPECT_EQ(eval("return rover.html({ n = 3 }) [[<b>{{ n }}</b>]]"), "<b>3</b>");
  EXPECT_EQ(eval("return h:render('<b>{{ n }}</b>', { n = 4 })"), "<b>4</b>");
  EXPECT_EQ(eval("return h.render('<b>{{ n }}</b>')"), "<b></b>");
  EXPECT_EQ(eval("return h()('x{{ n }}y')"), "xy");
}

TEST_F(HtmlTest, CachedTemplateRendersFreshDataEachTime) {
  run(R"lua(
    local r = {}
    for i = 1, 3 do r[i] = h.render("<i>{{ n }}</i>", { n = i }) end
    assert(r[1] == "<i>1</i>" and r[2] == "<i>2</i>" and r[3] == "<i>3</i>")
  )lua");
}

TEST_F(HtmlTest, ManyDistinctTemplatesStayCorrect) {
  run(R"lua(
    for i = 1, 2500 do
      assert(h.render("t" .. i .. "{{ n }}", { n = i }) == "t" .. i .. i)
    end
    assert(h.render("t1{{ n }}", { n = 0 }) == "t10")
  )lua");
}

// --- escape ------------------------------------------------------------------------------

TEST_F(HtmlTest, Escape) {
  EXPECT_EQ(eval(R"lua(return h.escape([[<a href="x" title='y'>&amp;</a>]]))lua"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;");
  EXPECT_EQ(eval("return h.escape(42)"), "42");
  EXPECT_EQ(eval("return h.escape(nil)"), "nil");
  EXPECT_EQ(eval("return select('#', h.escape('a'))"), "1");
  EXPECT_EQ(eval("return h.render('{{ rover.html.escape(v) }}', { v = '\"<>' })"),
            "&quot;&lt;&gt;");
}

}  // namespace
}  // namespace rover::prelude_test

-- Handler return values, builders, response headers and templates
-- (lua-api.md §7; server-features.md §4). Used by test_responses.py.
local api = rover.server { log_level = "info", workers = 1 }
local g = rover.guard

-- §7.1 return values -----------------------------------------------------------

function api.ret.table.get(ctx) return { a = 1 } end
function api.ret.array.get(ctx) return { 1, 2, 3 } end
function api.ret.empty_table.get(ctx) return {} end
function api.ret.string.get(ctx) return "hello \0 world" end
function api.ret.empty_string.get(ctx) return "" end
function api.ret.number.get(ctx) return 42 end
function api.ret.div.get(ctx) return 10 / 2 end
function api.ret.float.get(ctx) return 2.5 end
function api.ret.negative.get(ctx) return -7 end
api.ret["true"].get = function(ctx) return true end
api.ret["false"].get = function(ctx) return false end
api.ret["nil"].get = function(ctx) return nil end
function api.ret.nothing.get(ctx) end
api.ret["function"].get = function(ctx) return function() end end
function api.ret.thread.get(ctx) return coroutine.create(function() end) end
function api.ret.userdata.get(ctx) return newproxy() end
function api.ret.multi.get(ctx) return "first", "second" end
function api.ret.multi_nil.get(ctx) return nil, "second" end
function api.ret.headers_field.get(ctx)
  return { headers = { ["X-Not-A-Header"] = "1" }, ok = true }
end

-- §7.2 builders: api.json ---------------------------------------------------------

function api.build_json.dot.get(ctx) return api.json({ a = 1 }) end
function api.build_json.colon.get(ctx) return api:json({ a = 1 }) end
function api.build_json.call_string.get(ctx) return api.json { a = 1 } end
function api.build_json.status_colon.get(ctx) return api.json:status(201, { a = 1 }) end
function api.build_json.status_dot.get(ctx) return api.json.status(201, { a = 1 }) end
function api.build_json.verbatim.get(ctx) return api.json('{"raw": true, "n":[1, 2]}') end
function api.build_json.number.get(ctx) return api.json(5) end
function api.build_json.float.get(ctx) return api.json(0.5) end
api.build_json["boolean"].get = function(ctx) return api.json(true) end
api.build_json["nil"].get = function(ctx) return api.json(nil) end
function api.build_json.noarg.get(ctx) return api.json() end
function api.build_json.colon_noarg.get(ctx) return api:json() end
function api.build_json.array.get(ctx) return api.json({ "x", "y" }) end
function api.build_json.status_error.get(ctx) return api.json:status(422, { bad = true }) end
function api.build_json.headers.get(ctx)
  return api.json({ saved = true, headers = { ["Cache-Control"] = "no-store", ["X-Num"] = 5 } })
end
function api.build_json.status_headers.get(ctx)
  return api.json:status(201, { id = 7, headers = { ["Location"] = "/things/7" } })
end
function api.build_json.headers_not_table.get(ctx)
  return api.json({ headers = "kept in body" })
end

-- api.text ---------------------------------------------------------------------------

function api.build_text.dot.get(ctx) return api.text("hi") end
function api.build_text.colon.get(ctx) return api:text("hi") end
function api.build_text.number.get(ctx) return api.text(42) end
function api.build_text.float.get(ctx) return api.text(10 / 4) end
api.build_text["boolean"].get = function(ctx) return api.text(false) end
function api.build_text.status_colon.get(ctx) return api.text:status(202, "accepted") end
function api.build_text.status_dot.get(ctx) return api.text.status(202, "accepted") end

-- api.html ---------------------------------------------------------------------------

function api.build_html.string.get(ctx) return api.html("<p>x & y</p>") end
function api.build_html.colon.get(ctx) return api:html("<p>colon</p>") end
function api.build_html.status_string.get(ctx) return api.html:status(201, "<p>created</p>") end
function api.build_html.status_string_dot.get(ctx) return api.html.status(201, "<p>created</p>") end
function api.build_html.template.get(ctx)
  return api.html({ title = "Sign in" }) [[<h1>{{ title }}</h1>]]
end
function api.build_html.template_colon.get(ctx)
  return api:html({ title = "Colon" }) [[<h1>{{ title }}</h1>]]
end
-- A template rendering itself through a component while the outer render runs
-- (each running render has its own environment: prelude/html.lua keeps idle render
-- functions per template), and a render that raises, then the same template again.
local TREE = [[<li>{{ name }}{{ if kids then }}<ul>{{ for _, k in ipairs(kids) do }}{{ node(k) }}{{ end }}</ul>{{ end }}</li>]]
function rover.html.node(t) return rover.html(t)(TREE) end
function api.build_html.recursive.get(ctx)
  return api.html({ name = "a", kids = { { name = "b", kids = { { name = "c" } } }, { name = "d" } } })(TREE)
end
local BOOM = [[<p>{{ n }}{{ if boom then error("boom") end }}</p>]]
function api.build_html.raises.get(ctx)
  local ok = pcall(rover.html({ n = 1, boom = true }), BOOM)
  local first = rover.html({ n = 2 })(BOOM)
  return api.html(tostring(ok) .. first .. rover.html({ n = 3 })(BOOM))
end
function api.build_html.template_nil.get(ctx)
  return api.html() [[<p>{{ 1 + 1 }}</p>]]
end
function api.build_html.status_template.get(ctx)
  return api.html:status(404, { what = "page" }) [[<p>no such {{ what }}</p>]]
end
function api.build_html.status_template_dot.get(ctx)
  return api.html.status(404, { what = "page" }) [[<p>no such {{ what }}</p>]]
end
function api.build_html.uncalled.get(ctx) return api.html({ x = 1 }) end
function api.build_html.uncalled_status.get(ctx) return api.html:status(200, { x = 1 }) end

-- api.redirect -------------------------------------------------------------------------

function api.build_redirect.dot.get(ctx) return api.redirect("/home?x=1&y=%20") end
function api.build_redirect.colon.get(ctx) return api:redirect("/colon") end
function api.build_redirect.absolute.get(ctx) return api.redirect("https://example.com/a b") end
function api.build_redirect.permanent.get(ctx) return api.redirect:permanent("/new") end
function api.build_redirect.permanent_dot.get(ctx) return api.redirect.permanent("/new") end
function api.build_redirect.status.get(ctx) return api.redirect:status(307, "/tmp") end
function api.build_redirect.status_dot.get(ctx) return api.redirect.status(308, "/perm") end

-- api.error ------------------------------------------------------------------------------

function api.build_error.dot.get(ctx) return api.error(403, "forbidden") end
function api.build_error.colon.get(ctx) return api:error(403, "forbidden") end
function api.build_error.reason.get(ctx) return api.error(404) end
function api.build_error.reason503.get(ctx) return api:error(503) end
function api.build_error.reason_nil.get(ctx) return api:error(401, nil) end
function api.build_error.table.get(ctx) return api.error(400, { message = "from table" }) end
function api.build_error.number.get(ctx) return api.error(500, 42) end
function api.build_error.bool.get(ctx) return api.error(409, true) end
function api.build_error.escape.get(ctx)
  return api.error(400, 'quote " back \\ nl \n tab \t ctl \1 end')
end
function api.build_error.guard.get(ctx)
  local ok, err = rover.guard.validate(function()
    return rover.guard({ age = "x" }, { email = g:string():required(), age = g:integer() })
  end)
  if ok then return "unexpected" end
  return api:error(422, err)
end
function api.build_error.request.post(ctx)
  local ok, err = pcall(function() return ctx:body() end)
  if ok then return "unexpected" end
  return api.error(422, err)
end
function api.build_error.status599.get(ctx) return api.error(599, "custom") end

-- api.no_content / api.raw ------------------------------------------------------------

function api.build_no_content.dot.get(ctx) return api.no_content() end
function api.build_no_content.colon.get(ctx) return api:no_content() end
function api.build_raw.dot.get(ctx) return api.raw("\0\1\2\255 raw") end
function api.build_raw.colon.get(ctx) return api:raw("colon raw") end
function api.build_raw.status.get(ctx) return api.raw:status(201, "created raw") end
function api.build_raw.status_dot.get(ctx) return api.raw.status(201, "created raw") end

-- invalid status codes --------------------------------------------------------------------

local invalid = {
  json99 = function() return api.json:status(99, {}) end,
  json600 = function() return api.json:status(600, {}) end,
  text100 = function() return api.text:status(100, "x") end,
  html199 = function() return api.html:status(199, "x") end,
  raw_float = function() return api.raw:status(200.5, "x") end,
  redirect1000 = function() return api.redirect:status(1000, "/x") end,
  error0 = function() return api.error(0, "x") end,
  error_str = function() return api.error("abc", "x") end,
}
for name, fn in pairs(invalid) do
  api.invalid[name].get = function(ctx) return fn() end
end

-- resp:header (server-features.md §4) ---------------------------------------------------

function api.h.basic.get(ctx)
  return api.text("x"):header("X-One", "1"):header("X-Two", 2)
end
function api.h.replace.get(ctx)
  return api.text("x"):header("X-Rep", "first"):header("x-rep", "second")
end
function api.h.cookies.get(ctx)
  return api.redirect("/home"):header("Set-Cookie", { "a=1; Path=/", "b=2; HttpOnly" })
end
function api.h.content_type.get(ctx)
  return api.text("a,b\n"):header("Content-Type", "text/csv")
end
function api.h.server_only.get(ctx)
  return api.text("body"):header("Content-Length", "999"):header("Date", "yesterday")
    :header("Connection", "close"):header("Transfer-Encoding", "gzip")
    :header("X-Kept", "yes")
end
function api.h.returns_same.get(ctx)
  local r = api.json({ same = true })
  local r2 = r:header("X-Same", "1")
  return { same = rawequal(r, r2) }
end
function api.h.on_error_builder.get(ctx)
  return api:error(429, "slow down"):header("Retry-After", 30)
end
function api.h.on_no_content.get(ctx)
  return api.no_content():header("X-Empty", "yes")
end
function api.h.bad_name.get(ctx) return api.text("x"):header("Bad Name", "v") end
function api.h.bad_value.get(ctx) return api.text("x"):header("X-Bad", "a\r\nInjected: 1") end
function api.h.bad_json_headers.get(ctx)
  return api.json({ headers = { ["X-Bad"] = "a\nb" } })
end

-- §7.4 templates ----------------------------------------------------------------------------

rover.html.badge = function(text) return "<b>" .. text .. "</b>" end

local templates = {
  spec = { { user = { name = "ada" }, tags = { "x", "y" } }, [[
<p>{{ user.name:upper() }}</p>
{{ if #tags > 0 then }}<ul>{{ for _, t in ipairs(tags) do }}<li>{{ t }}</li>{{ end }}</ul>{{ end }}]] },
  verbatim = { {}, "  line 1\n\tline 2  \n\n<x a=\"b\">{ } }}\n" },
  values = { { s = "str", n = 42, f = 2.5, t = true, f2 = false, html = "<b>&</b>" },
    "[{{ s }}|{{ n }}|{{ f }}|{{ t }}|{{ f2 }}|{{ missing }}|{{ html }}]" },
  escape = { { v = [[<a href="x">Tom & 'Jerry'</a>]] }, "{{ rover.html.escape(v) }}" },
  branches = { { n = 2 },
    "{{ if n == 1 then }}one{{ elseif n == 2 then }}two{{ else }}many{{ end }}" },
  else_branch = { { n = 5 },
    "{{ if n == 1 then }}one{{ elseif n == 2 then }}two{{ else }}many{{ end }}" },
  lookup = { { type = "from data" }, "{{ type }}|{{ badge('new') }}|{{ tostring(12) }}|{{ string.rep('ab', 2) }}" },
  first_close = { { x = "v" }, "a {{ x }}}} b" },
  unterminated = { { x = "v" }, "a {{ x }} b {{ x" },
  table_value = { { t = setmetatable({}, { __tostring = function() return "T!" end }) }, "{{ t }}" },
}
for name, spec in pairs(templates) do
  api.tpl[name].get = function(ctx) return api.html(spec[1])(spec[2]) end
end

function api.tpl.loops.get(ctx)
  local left = 2
  local function more()
    left = left - 1
    return left >= 0
  end
  return api.html({ more = more, list = { "a", "b" } })
    [[{{ for i = 1, 3 do }}{{ i }},{{ end }}|{{ while more() do }}w{{ end }}|{{ for i, v in ipairs(list) do }}{{ i }}={{ v }};{{ end }}]]
end

function api.tpl.compile_error.get(ctx)
  return api.html({}) [[{{ if then }}]]
end
function api.tpl.runtime_error.get(ctx)
  return api.html({}) [[{{ nothing.field }}]]
end

return api

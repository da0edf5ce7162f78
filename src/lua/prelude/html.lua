-- rover.html: the template engine shared by api.html and rover.html (lua-api.md §7.4,
-- runtime-modules.md §8). This chunk returns the module table:
--   html.render(template, data) -> string      (also html:render(...))
--   html(data) -> renderer; renderer(template) -> string
--   html.escape(s) -> s with & < > " ' escaped
-- Any other function stored on the module is a component, visible by name in templates.
--
-- A template compiles once into a Lua chunk (cached by template text) that builds the output
-- in a table. Names inside a template resolve through a per-render environment:
-- the data table, then functions on this module, then the globals.
--
-- Choices where the spec is silent: an empty tag `{{ }}` inserts nothing; components include
-- the module's own functions (`{{ escape(s) }}` works); compile errors raise
-- "rover.html: template error: template:<line>: <reason>"; runtime errors propagate unchanged
-- (Lua reports them as "template:<line>: ..."; line numbers follow the template's lines).

local type, tostring, error, setmetatable, setfenv, rawget = type, tostring, error, setmetatable, setfenv, rawget
local loadstring, select, format, concat = loadstring, select, string.format, table.concat
local globals = _G

local html = {}

-- ---------------------------------------------------------------------------
-- Escaping

local escapes = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }

local find, gsub = string.find, string.gsub

-- Most text has nothing to escape: five plain finds (compiled by the JIT, a fast byte
-- search each) decide that, and only text with one of the five characters pays for
-- gsub with a character class, which LuaJIT runs in its pattern matcher character by
-- character (about 1.6 us for an 80-byte string: 13 fortunes cost 21 us, bench/tfb).
function html.escape(s)
  if type(s) ~= "string" then
    s = tostring(s)
  end
  if not (find(s, "<", 1, true) or find(s, ">", 1, true) or find(s, "&", 1, true)
          or find(s, '"', 1, true) or find(s, "'", 1, true)) then
    return s
  end
  return (gsub(s, "[&<>\"']", escapes))
end

-- ---------------------------------------------------------------------------
-- Compiling

-- Tags whose first word is one of these are Lua statements, not expressions.
local statement_words = { ["if"] = true, ["elseif"] = true, ["else"] = true, ["end"] = true, ["for"] = true, ["while"] = true }

-- How `{{ expr }}` values become text: nil is nothing, everything else via tostring.
local function to_text(v)
  if type(v) == "string" then
    return v
  elseif v == nil then
    return ""
  end
  return tostring(v)
end

-- A `--` comment inside a tag would swallow the code after it; end the line first.
local function close_comment(code)
  if code:find("--", 1, true) then
    return code .. "\n"
  end
  return code
end

local function emit_text(parts, text)
  if text ~= "" then
    -- %q keeps newlines as `\` + newline, so generated lines stay aligned with the template.
    parts[#parts + 1] = "__n=__n+1 __o[__n]=" .. format("%q", text) .. " "
  end
end

local function emit_tag(parts, inner)
  local word = inner:match("^%s*([%a_][%w_]*)")
  if statement_words[word] then
    parts[#parts + 1] = close_comment(inner) .. " "
  elseif inner:find("^%s*$") then
    parts[#parts + 1] = inner -- empty tag: nothing to insert, keep its newlines
  else
    parts[#parts + 1] = "__n=__n+1 __o[__n]=__s(" .. close_comment(inner) .. ") "
  end
end

-- Translates a template into Lua source. The chunk receives (to_text, concat) and returns a
-- fresh render function each time it runs; each render function running at a time has its
-- own environment (render below), also when a template renders itself again through a
-- component.
local function translate(template)
  local parts = { "local __s, __c = ... return function() local __o, __n = {}, 0 " }
  local pos = 1
  while true do
    local open = template:find("{{", pos, true)
    local close = open and template:find("}}", open + 2, true)
    if not close then
      -- No more tags; an unterminated `{{` is literal text.
      emit_text(parts, template:sub(pos))
      break
    end
    emit_text(parts, template:sub(pos, open - 1))
    emit_tag(parts, template:sub(open + 2, close - 1))
    pos = close + 2
  end
  parts[#parts + 1] = " return __c(__o, '', 1, __n) end"
  return concat(parts)
end

local function compile(template)
  local chunk, err = loadstring(translate(template), "=template")
  if not chunk then
    error("rover.html: template error: " .. err, 0)
  end
  return chunk
end

-- Compiled templates by text. Apps use a handful of fixed templates; the bound only guards
-- against templates built dynamically per request.
local kMaxCached = 1000
local cache, cache_size = {}, 0

local function compiled(template)
  local chunk = cache[template]
  if not chunk then
    chunk = compile(template)
    if cache_size >= kMaxCached then
      cache, cache_size = {}, 0
    end
    cache[template] = chunk
    cache_size = cache_size + 1
  end
  return chunk
end

-- ---------------------------------------------------------------------------
-- Rendering

-- The environment keeps its data table under a private key, so one shared metatable
-- serves every render.
local DATA = {}
local env_meta = {
  __index = function(env, name)
    local value = rawget(env, DATA)[name]
    if value ~= nil then
      return value
    end
    local component = rawget(html, name)
    if type(component) == "function" then
      return component
    end
    return globals[name]
  end,
}

local empty = {}

-- Argument checks raise at level 3: the caller of the public function that ran them.
local function check_template(template)
  if type(template) ~= "string" then
    error("rover.html: template must be a string, got " .. type(template), 3)
  end
end

local function check_data(data)
  if data ~= nil and type(data) ~= "table" then
    error("rover.html: data must be a table or nil, got " .. type(data), 3)
  end
end

-- Render functions not running now, per compiled chunk. Making one is a closure
-- creation (FNEW), which LuaJIT does not compile: a render that made its function
-- ended its trace there, and the handler around it ran interpreted (bench/tfb's
-- fortunes: 42% of the server's time in the interpreter, 3% in compiled code).
-- So a render takes an idle function of its template, gives it this render's
-- environment and puts it back after; a template that renders itself again
-- through a component (the first one still running) gets a new one. A render that
-- raises does not put its function back (it is collected).
local idle = setmetatable({}, { __mode = "k" })

local function render(template, data)
  local chunk = compiled(template)
  local env = setmetatable({ [DATA] = data or empty }, env_meta)
  local list = idle[chunk]
  if not list then
    list = { n = 0 }
    idle[chunk] = list
  end
  local n, fn = list.n, nil
  if n > 0 then
    fn = list[n]
    list[n] = nil
    list.n = n - 1
  else
    fn = chunk(to_text, concat)
  end
  setfenv(fn, env)
  local out = fn()
  n = list.n + 1
  list[n] = fn
  list.n = n
  return out
end

function html.render(...)
  local template, data = ...
  if template == html then
    template, data = select(2, ...)
  end
  check_template(template)
  check_data(data)
  return render(template, data)
end

setmetatable(html, {
  __call = function(_, data)
    check_data(data)
    return function(template)
      check_template(template)
      return render(template, data)
    end
  end,
})

return html

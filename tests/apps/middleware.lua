-- Middleware (server-features.md §1). Used by test_middleware.py.
--
-- One worker, so the module-level tables below (after-hook log, counters)
-- are seen by every request. Before hooks record their order by appending
-- to the ctx value "trace", which handlers return; after hooks append to
-- after_log[<X-Tag header>], which GET /log/<tag> returns.
local api = rover.server { log_level = "info", workers = 1 }

local after_log = {}
local counters = {}

local function trace(ctx, name)
  local t = ctx:get("trace")
  ctx:set("trace", t and (t .. " " .. name) or name)
end

local function log_after(ctx, name)
  local tag = ctx:headers()["x-tag"]
  if tag then
    local l = after_log[tag] or {}
    after_log[tag] = l
    l[#l + 1] = name
  end
end

local function count(name) counters[name] = (counters[name] or 0) + 1 end

local function bookkeeping(ctx)
  return ctx.path:sub(1, 7) == "/count/" or ctx.path:sub(1, 5) == "/log/"
end

-- Global hooks: named before hooks (lexicographic order: alpha, step10,
-- step9), one unnamed after hook.
function api.before.step9(ctx) trace(ctx, "g:step9") end
function api.before.alpha(ctx)
  if not bookkeeping(ctx) then count("global:before") end
  trace(ctx, "g:alpha")
end
function api.before.step10(ctx) trace(ctx, "g:step10") end
api.after = function(ctx)
  if not bookkeeping(ctx) then count("global:after") end
  log_after(ctx, "g")
end

function api.log.p_tag.get(ctx)
  return table.concat(after_log[ctx:params().tag] or {}, " ")
end

function api.count.p_name.get(ctx)
  return counters[ctx:params().name] or 0
end

local function traced(ctx)
  trace(ctx, "handler")
  return { trace = ctx:get("trace") }
end

function api.plain.get(ctx) return traced(ctx) end

-- /staff: unnamed before hook, named after hooks; /staff/x: named before
-- hooks, unnamed after hook.
api.staff.before = function(ctx) trace(ctx, "staff") end
function api.staff.after.zed(ctx) log_after(ctx, "staff:zed") end
function api.staff.after.abc(ctx) log_after(ctx, "staff:abc") end
function api.staff.get(ctx) return traced(ctx) end

function api.staff.x.before.second(ctx) trace(ctx, "x:second") end
function api.staff.x.before.first(ctx) trace(ctx, "x:first") end
api.staff.x.after = function(ctx) log_after(ctx, "x") end
function api.staff.x.get(ctx) return traced(ctx) end

function api.staffing.get(ctx) return traced(ctx) end
function api.staff_x.get(ctx) return traced(ctx) end

-- Short-circuit: a_deny answers 403 unless X-Pass: yes.
function api.guarded.before.a_deny(ctx)
  count("guarded:before_a")
  if ctx:headers()["x-pass"] ~= "yes" then
    return api:error(403, "forbidden here")
  end
end
function api.guarded.before.b_next(ctx) count("guarded:before_b") end
function api.guarded.after.done(ctx) count("guarded:after") end
function api.guarded.get(ctx)
  count("guarded:handler")
  return "guarded ok"
end

-- Return values of before hooks that are not response objects are ignored.
function api.ignored.before.a_table(ctx) trace(ctx, "a"); return { status = 403, error = "x" } end
function api.ignored.before.b_string(ctx) trace(ctx, "b"); return "stop" end
function api.ignored.before.c_number(ctx) trace(ctx, "c"); return 403 end
function api.ignored.before.d_true(ctx) trace(ctx, "d"); return true end
function api.ignored.get(ctx) return traced(ctx) end

-- A before hook that waits, then short-circuits.
function api.slow_deny.before.wait(ctx)
  rover.delay(20)
  count("slow_deny:before")
  return api.text:status(401, "denied after wait " .. ctx.path)
end
function api.slow_deny.before.z_later(ctx) count("slow_deny:later") end
function api.slow_deny.after.done(ctx) count("slow_deny:after") end
function api.slow_deny.get(ctx)
  count("slow_deny:handler")
  return "slow_deny handler"
end

-- A before hook that waits, then lets the handler run.
function api.slow_pass.before.wait(ctx)
  trace(ctx, "before-wait")
  rover.delay(20)
  trace(ctx, "after-wait")
  ctx:set("waited", ctx.path)
end
function api.slow_pass.get(ctx)
  count("slow_pass:handler")
  trace(ctx, "handler")
  return { trace = ctx:get("trace"), waited = ctx:get("waited") }
end

-- An after hook that raises: logged, response unchanged.
function api.after_boom.after.a_fine(ctx) count("after_boom:a_fine") end
function api.after_boom.after.b_explode(ctx)
  error("after exploded")  -- marker:after_boom
end
function api.after_boom.get(ctx)
  count("after_boom:handler")
  return api.json:status(201, { made = true }):header("X-Made", "yes")
end

-- A before hook that raises: handled like a handler error.
function api.before_boom.before.explode(ctx)
  error("before exploded")  -- marker:before_boom
end
function api.before_boom.after.done(ctx) count("before_boom:after") end
function api.before_boom.get(ctx)
  count("before_boom:handler")
  return "before_boom handler"
end

-- HEAD served by the get handler runs the middleware.
function api.headed.before.mark(ctx) count("headed:before"); trace(ctx, "headed:" .. ctx.method) end
function api.headed.after.done(ctx) count("headed:after") end
function api.headed.get(ctx)
  count("headed:handler")
  return api.text("hello"):header("X-Trace", ctx:get("trace"))
end

-- Request state: any value, any key; shared by hooks and handler; gone
-- with the request.
function api.state.before.put(ctx)
  ctx:set("user", { name = "ada", roles = { "admin" } })
  ctx:set(42, "number key")
  ctx:set("flag", false)
  ctx:set("fn", function() return "called" end)
end
function api.state.after.check(ctx)
  log_after(ctx, "after-saw-" .. tostring(ctx:get("from_handler")))
end
function api.state.get(ctx)
  local out = {
    prior = tostring(ctx:get("from_handler")),
    name = ctx:get("user").name,
    role = ctx:get("user").roles[1],
    number_key = ctx:get(42),
    flag = tostring(ctx:get("flag")),
    fn = ctx:get("fn")(),
    unset = tostring(ctx:get("never_set")),
    trace_prior = ctx:get("trace"),
  }
  ctx:set("from_handler", "h" .. (ctx:query().n or "?"))
  return out
end

-- An after hook that waits, then records (after hooks run in the request's
-- coroutine too).
function api.slow_after.after.wait(ctx)
  rover.delay(20)
  log_after(ctx, "slow-after:" .. ctx.path)
end
function api.slow_after.get(ctx) return "slow_after handler" end

-- Other response objects short-circuit too.
function api.sc_kinds.p_kind.before.stop(ctx)
  local k = ctx:params().kind
  count("sc_kinds:before")
  if k == "redirect" then return api.redirect("/elsewhere") end
  if k == "empty" then return api:no_content() end
  if k == "html" then return api.html:status(451, "<p>gone</p>") end
  if k == "header" then return api.text("with header"):header("X-From-Hook", "yes") end
end
function api.sc_kinds.p_kind.get(ctx)
  count("sc_kinds:handler")
  return "sc_kinds handler"
end

-- Hooks below a parameter segment; the same request id everywhere.
function api.users.p_id.before.load(ctx)
  ctx:set("loaded", "user-" .. ctx:params().id)
  ctx:set("rid_in_hook", ctx:request_id())
end
function api.users.p_id.get(ctx)
  return { loaded = ctx:get("loaded"), same_id = ctx:get("rid_in_hook") == ctx:request_id(),
           id = ctx:request_id() }
end
function api.users.me.get(ctx) return { loaded = tostring(ctx:get("loaded")) } end

-- The auth case.
function api.protected.before.auth(ctx)
  if ctx:headers().authorization ~= "Bearer s3cret" then
    return api:error(401, "missing or bad token")
  end
  ctx:set("user", "ada")
end
function api.protected.get(ctx)
  count("protected:handler")
  return { user = ctx:get("user") }
end
function api.protected.reports.p_id.get(ctx)
  return { user = ctx:get("user"), report = ctx:params().id }
end
function api.open.get(ctx) return { user = tostring(ctx:get("user")) } end

return api

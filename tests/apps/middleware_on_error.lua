-- api.on_error (server-features.md §2). Used by test_middleware.py.
--
-- The request header X-Mode picks what on_error does; by default it answers
-- 418 with the err fields it saw and ctx:request_id(). One worker, so the
-- call counter is seen by every request.
local api = rover.server { log_level = "info", workers = 1 }
local g = rover.guard

local calls = 0
local counters = {}
local function count(name) counters[name] = (counters[name] or 0) + 1 end

function api.on_error(err, ctx)
  calls = calls + 1
  local mode = ctx:headers()["x-mode"]
  if mode == "nil" then return nil end
  if mode == "table" then return { plain = "table" } end
  if mode == "string" then return "a string" end
  if mode == "raise" then error("on_error broke", 0) end
  if mode == "delay" then
    rover.delay(20)
    return api.text:status(503, "after delay " .. err.path .. " " .. ctx:request_id())
  end
  return api.json:status(418, {
    seen = {
      message = err.message,
      status = err.status,
      path = err.path,
      method = err.method,
      code = err.code,
      errors = err.errors,
      has_errors = err.errors ~= nil,
    },
    id = ctx:request_id(),
    header = ctx:headers()["x-extra"],
  }):header("X-On-Error", "yes")
end

function api.calls.get(ctx) return calls end
function api.count.p_name.get(ctx) return counters[ctx:params().name] or 0 end

function api.handler_err.get(ctx)
  error("handler failed")  -- marker:handler_err
end
function api.handler_err.post(ctx)
  error({ message = "table failure" })
end

function api.before_err.before.explode(ctx)
  error("before hook failed")  -- marker:before_err
end
function api.before_err.get(ctx)
  count("before_err:handler")
  return "handler ran"
end

function api.guard.post(ctx)
  local v = ctx:body():expect {
    email = g:string():required(),
    age = g:integer(),
  }
  return v
end

function api.object.post(ctx)
  return ctx:body():expect { name = g:string() }
end

function api.json_body.post(ctx)
  return { got = ctx:body():json() }
end

function api.after_err.after.explode(ctx)
  count("after_err:after")
  error("after hook failed")  -- marker:after_err
end
function api.after_err.get(ctx)
  return api.text:status(202, "after_err handler")
end

function api.serialize.get(ctx)
  return { f = function() end }
end

function api.ok.get(ctx) return "ok" end

return api

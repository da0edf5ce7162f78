-- expose_errors = false (lua-api.md §8): 500 bodies hide the message,
-- 400/415 bodies do not. Used by test_errors.py.
local api = rover.server { log_level = "info", workers = 1, expose_errors = false }
local g = rover.guard

function api.boom.get(ctx) error("secret detail") end
function api.table_err.get(ctx) error({ message = "secret table" }) end
function api.unsupported.get(ctx) return function() end end
function api.nobody.post(ctx) return ctx:body():text() end
function api.media.post(ctx) return ctx:body():json() end
function api.badjson.post(ctx) return ctx:body():json() end
function api.guard.post(ctx)
  return ctx:body():expect({ email = g:string():required() })
end
function api.explicit.get(ctx) return api:error(403, "explicit message") end
function api.ok.get(ctx) return "ok" end

return api

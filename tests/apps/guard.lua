-- Guard validation end to end (lua-api.md §10). Used by test_guard.py.
local api = rover.server { log_level = "info", workers = 1 }
local g = rover.guard

-- The §10.6 example.
function api.members.post(ctx)
  local m = ctx:body():expect {
    email = g:string():required("Please give an email address"),
    plan  = g:string():enum({ "free", "team" }):default("free"),
    age   = g:integer(),
    prefs = g:object({ lang = { type = "string", default = "en" } }),
  }
  return api.json:status(201, m)
end

-- Nested paths and arrays, raw-table schemas mixed with validators.
function api.orders.post(ctx)
  return ctx:body():expect {
    user = g:object({ email = g:string():required() }):required(),
    items = {
      type = "array",
      required = true,
      element = g:object({ sku = g:string():required(), qty = { type = "integer", default = 1 } }),
    },
    tags = g:array(g:string()),
    note = g:string():nullable(),
    flag = g.boolean(),
    size = g:number():enum({ 1, 2 }),
  }
end

-- rover.guard(data, schema) directly, errors caught with validate.
function api.direct.post(ctx)
  local data = ctx:body():json()
  local ok, res = rover.guard.validate(function()
    return rover.guard(data, { n = g:number():required(), s = g:string() })
  end)
  if ok then return { ok = true, out = res } end
  local errs = res:errors()
  return {
    ok = false,
    errors = errs,
    to_json = res:to_json(),
    text = tostring(res),
  }
end

-- Uncaught guard error from rover.guard (not :expect) is also a 400.
function api.uncaught.post(ctx)
  return rover.guard(ctx:body():json(), { id = g:integer():required() })
end

function api.not_table.get(ctx)
  return rover.guard("text", { id = g:integer() })
end

function api.bad_schema.get(ctx)
  return rover.guard({ x = 1 }, { x = { type = "nope" } })
end

function api.validate_other.get(ctx)
  local ok, err = rover.guard.validate(function() error("plain failure", 0) end)
  return { ok = ok, err = err }
end

function api.validate_results.get(ctx)
  return { rover.guard.validate(function(a, b) return a + b, "second" end, 2, 3) }
end

return api

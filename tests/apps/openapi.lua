-- OpenAPI document and docs page (server-features.md §13). Used by
-- test_openapi.py, which compares the whole document with its expectation:
-- keep the two in step.
local api = rover.server {
  log_level = "info",
  workers = 2,
  docs = true,
  management_token = "it-token-0123456789",
}
local g = rover.guard

-- A schema in a local upvalue of the handler.
local BOOK = {
  title = g:string():required(),
  isbn = g:string():required("an ISBN please"),
  year = g:integer(),
  price = g:number():default(9.5),
  tags = g:array(g:string()),
  format = g:string():enum({ "paper", "ebook" }):default("paper"),
}

-- A schema in a global.
NOTE_SCHEMA = { text = g:string():required() }

local FIRST = { first = g:string():required() }
local SECOND = { second = g:string():required() }

function api.get(ctx)
  return { service = "books" }
end

function api.books.get(ctx)
  return {}
end

function api.books.post(ctx)
  local b = ctx:body():expect(BOOK)
  return api.json:status(201, b)
end

function api.books.p_isbn.get(ctx)
  return { isbn = ctx:params().isbn }
end

-- An inline schema table mixing validators and raw-table field specs.
function api.books.p_isbn.put(ctx)
  local b = ctx:body():expect {
    zeta = g:string():required(),
    alpha = g:boolean():required(),
    mid = { type = "integer", required = true },
    note = g:string():nullable(),
    loose = g:string():required():nullable(),
    flag = g.boolean():default(false),
    any = g:array(),
    marker = g:string():enum({ "</script><b>x</b>", "plain" }),
    author = g:object({ name = g:string():required(), email = g:string() }),
    meta = { type = "object", schema = { source = { type = "string", enum = { "a", "b" } } } },
    scores = { type = "array", element = g:integer() },
    shelves = g:array(g:object({ id = g:integer():required() })),
  }
  return b
end

function api.books.p_isbn.delete(ctx)
  return api:no_content()
end

-- No :expect at all: patch gets {"type":"object"}.
function api.shelves.p_shelf.books.p_isbn.patch(ctx)
  return ctx:params()
end

-- Explicit head and options handlers are listed (automatic ones are not).
function api.users.p_userId.get(ctx)
  return { id = ctx:params().userId }
end

function api.users.p_userId.head(ctx)
  return api:no_content()
end

function api.users.p_userId.options(ctx)
  return api:no_content()
end

api["out-of-print"]["v1.2"].get = function(ctx)
  return "old"
end

-- The global is in scope when the argument is evaluated.
function api.notes.post(ctx)
  return ctx:body():expect(NOTE_SCHEMA)
end

-- Evaluation fails (unknown global / not an upvalue): fallback schema.
function api.fallback.post(ctx)
  return ctx:body():expect(UNDEFINED_SCHEMA_GLOBAL.fields)
end

function api.fallback.put(ctx)
  return ctx:body():expect(ctx:get("schema"))
end

-- The first :expect call in the source is the one documented.
function api.multi.post(ctx)
  if not ctx:query().second then
    return ctx:body():expect(FIRST)
  end
  return ctx:body():expect(SECOND)
end

-- Not listed: a static mount (server-features.md §13).
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
api.files.static { dir = here }

-- Listed like any route: a stream, and an idempotent route documented with
-- the wrapped handler's schema.
function api.feed.get(ctx)
  return api.stream(200, "text/plain", function() return nil end)
end

api.orders.post = api.idempotent(function(ctx)
  return ctx:body():expect { sku = g:string():required() }
end)

return api

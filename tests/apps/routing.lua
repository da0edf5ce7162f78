-- Routing and automatic responses (lua-api.md §4, §5). Used by test_routing.py.
-- Runs with the default worker count (several Lua states build the same tree).
local api = rover.server { log_level = "info" }

-- The examples of the §4 table.
function api.get(ctx) return "root" end
function api.books.get(ctx) return "books" end
function api.books.archive.post(ctx) return "archive" end
function api.books.p_isbn.get(ctx) return "book " .. ctx:params().isbn end
function api.shelves.p_shelf.books.p_isbn.delete(ctx)
  local p = ctx:params()
  return "shelf " .. p.shelf .. " book " .. p.isbn
end
function api.out_of_print.get(ctx) return "out_of_print" end
function api.v2.books.get(ctx) return "v2 books" end

-- Precedence: static beats parameter, but only among routes with the method.
function api.users.me.get(ctx) return "me" end
function api.users.p_id.get(ctx) return "user " .. ctx:params().id end
function api.users.p_id.delete(ctx) return "deleted " .. ctx:params().id end

-- Precedence decided at the first differing segment from the left.
function api.prec.p_x.c.get(ctx) return "param-first x=" .. ctx:params().x end
function api.prec.b.p_y.get(ctx) return "static-first y=" .. ctx:params().y end

-- Parameter values: camelCase / snake_case names, decoding.
function api.names.p_userId.p_user_id.get(ctx)
  local p = ctx:params()
  return p.userId .. "|" .. p.user_id
end
function api.files.p_name.get(ctx)
  return api.raw(ctx:params().name)
end

-- Case-sensitive static segments, verbatim keys, allowed characters.
function api.CamelCase.get(ctx) return "camel" end
api["a-b.c~d!$&'()*+,;=:@"].get = function(ctx) return "chars" end

-- Method keys are matched case-insensitively.
api.upper.GET = function(ctx) return "upper GET" end
api.upper.Post = function(ctx) return "upper Post" end

-- A table with __call is a valid handler.
api.callable.get = setmetatable({}, { __call = function(self, ctx) return "callable" end })

-- HEAD served by GET: same headers, no body.
function api.items.get(ctx)
  return api.json({ items = { "a", "b" } }):header("X-Custom", "yes")
end

-- Explicit head handler: its body is dropped.
function api.explicit.get(ctx) return "explicit get body" end
function api.explicit.head(ctx)
  return api.text("explicit head body"):header("X-Head", "1")
end

-- Explicit options handler wins over the automatic 204.
function api.opt.get(ctx) return "opt get" end
function api.opt.options(ctx)
  return api.text("custom options"):header("X-Options", "handler")
end

-- Every method on one path (Allow order).
function api.multi.delete(ctx) return "DELETE" end
function api.multi.patch(ctx) return "PATCH" end
function api.multi.put(ctx) return "PUT" end
function api.multi.post(ctx) return "POST" end
function api.multi.get(ctx) return "GET" end

-- Only POST: HEAD/GET are 405.
function api.postonly.post(ctx) return "posted" end

-- Only DELETE on a parameter route.
function api.things.p_id.delete(ctx) return "thing deleted" end

-- Non-function, non-table values in the tree are ignored.
api.ignored_number = 42
api.books.ignored_string = "not a route"

-- Reading a missing key creates an empty node; empty nodes declare nothing.
local _ = api.empty.node.chain

return api

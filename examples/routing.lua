-- Routing: static segments, parameters, precedence, automatic HEAD/OPTIONS/405.
--
-- Run:   rover examples/routing.lua
-- Try:   curl http://localhost:4242/books
--        curl http://localhost:4242/books/978-0
--        curl http://localhost:4242/users/me
--        curl -X DELETE http://localhost:4242/users/me      # the {id} route, id = "me"
--        curl -i -X OPTIONS http://localhost:4242/books      # 204, Allow: GET, HEAD, POST, OPTIONS
--        curl -i -X PUT http://localhost:4242/books          # 405 Method Not Allowed
--        curl -I http://localhost:4242/books                 # HEAD served by the GET handler

local api = rover.server { log_level = "info" }

local books = {
  ["978-0"] = { isbn = "978-0", title = "Programming in Lua" },
  ["978-1"] = { isbn = "978-1", title = "Lua Gems" },
}

function api.books.get(ctx)                      -- GET /books
  local list = {}
  for _, b in pairs(books) do list[#list + 1] = b end
  table.sort(list, function(a, b) return a.isbn < b.isbn end)
  return list
end

function api.books.post(ctx)                     -- POST /books
  local b = ctx:body():expect { isbn = rover.guard:string():required(),
                                title = rover.guard:string():required() }
  books[b.isbn] = b                              -- per worker: see workers.lua
  return api.json:status(201, b)
end

function api.books.p_isbn.get(ctx)               -- GET /books/{isbn}
  local book = books[ctx:params().isbn]
  if not book then return api:error(404, "no such book") end
  return book
end

function api.users.me.get(ctx)                   -- GET /users/me (static beats {id})
  return { id = "me", note = "the current user" }
end

function api.users.p_id.get(ctx)                 -- GET /users/{id}
  return { id = ctx:params().id }
end

function api.users.p_id.delete(ctx)              -- DELETE /users/{id}
  return { deleted = ctx:params().id }
end

function api.shelves.p_shelf.books.p_isbn.get(ctx)   -- GET /shelves/{shelf}/books/{isbn}
  return ctx:params()
end

return api

-- A CRUD service on SQLite (runtime-modules.md §9): nothing to install, the
-- data lives in crud.sqlite in the working directory. The schema is a
-- migration (db/migrations/), applied at startup; the query builder does the
-- SQL, every value bound as a parameter; an invalid body is a 400 from the
-- schema's guard.
--
-- PostgreSQL instead is one line: replace the connect call below with
--   local db = rover.db.connect { url = "postgresql://user:password@localhost:5432/books" }
--
-- Run:   bash scripts/serve.sh examples/crud/app.lua     (from the repository root)
-- Try:   curl http://localhost:4242/books
--        curl -X POST localhost:4242/books -H 'Content-Type: application/json' \
--             -d '{"title":"Dune","author":"Frank Herbert","year":1965}'      # 201 with its id
--        curl 'localhost:4242/books?author=Frank%20Herbert&after=1960&page=1'
--        curl localhost:4242/books/1
--        curl -X PATCH localhost:4242/books/1 -H 'Content-Type: application/json' -d '{"year":1966}'
--        curl -X POST localhost:4242/books -H 'Content-Type: application/json' -d '{"year":"x"}'  # 400
--        curl localhost:4242/authors                      # books per author (GROUP BY)
--        curl -i -X DELETE localhost:4242/books/1         # 204
local api = rover.server {}
local db = rover.db.connect { path = rover.env.CRUD_DB or "crud.sqlite" }
local g = rover.guard

-- The rows db.books:insert accepts (validated before writing: 400 if not).
local dg = rover.db.guard
rover.db.schema.books {
  id = dg:integer():primary():auto(),
  title = dg:string():required(),
  author = dg:string():required(),
  year = dg:integer(),
  isbn = dg:string(),
}

-- The migrations next to this file, applied once, by worker 1 before any
-- request is served; `rover db migrate` runs the same files.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
if rover.worker.id == 1 then
  rover.db.run_migrations(db, { { name = "001_create_books.lua",
                                  path = here .. "/db/migrations/001_create_books.lua" } }, "migrate")
end

local PAGE = 20
local UPDATE = { title = g:string(), author = g:string(), year = g:integer(), isbn = g:string() }

local function book_or_404(id)
  local b = db.books:find():by_id(tonumber(id)):first()
  if not b then return nil, api.json:status(404, { error = "no such book" }) end
  return b
end

function api.books.get(ctx)
  local q = ctx:query()
  local find = db.books:find():order_by("id", "asc")
  if q.author then find = find:by_author(q.author) end
  if q.title then find = find:by_title_contains(q.title) end
  if tonumber(q.after) then find = find:by_year_bigger_than(tonumber(q.after)) end
  local page = math.max(1, math.floor(tonumber(q.page) or 1))
  return { page = page, total = find:count(), books = find:limit(PAGE):offset((page - 1) * PAGE):all() }
end

function api.books.post(ctx)
  local id = db.books:insert(ctx:body():json())  -- validated by the schema's guard: 400 if not
  return api.json:status(201, db.books:find():by_id(id):first())
end

function api.books.p_id.get(ctx)
  local b, err = book_or_404(ctx:params().id)
  return b or err
end

function api.books.p_id.patch(ctx)
  local changes = ctx:body():expect(UPDATE)
  local _, err = book_or_404(ctx:params().id)
  if err then return err end
  db.books:update():by_id(tonumber(ctx:params().id)):set(changes):exec()
  return db.books:find():by_id(tonumber(ctx:params().id)):first()
end

function api.books.p_id.delete(ctx)
  local n = db.books:delete():by_id(tonumber(ctx:params().id)):exec()
  if n == 0 then return api.json:status(404, { error = "no such book" }) end
  return api:no_content()
end

function api.authors.get(ctx)
  return db.books:find():group_by("author"):agg { books = rover.db.count("*") }
    :order_by("author", "asc"):all()
end

return api

-- The CRUD example's tests (README "Testing an app: rover test").
-- Run from examples/crud:   rover test
-- Each run starts from an empty database: CRUD_DB names a fresh temporary
-- file, removed when the file's tests are done.
local db_path = os.tmpname()
t.cleanup(function() os.remove(db_path) end)
local app = t.app("app.lua", { env = { CRUD_DB = db_path } })

local function add(book)
  local res = app:post("/books", { json = book })
  t.eq(res.status, 201, "POST /books")
  return res:json()
end

describe("books", function()
  it("starts empty", function()
    t.eq(app:get("/books"):json(), { page = 1, total = 0, books = {} })
  end)

  it("creates a book and reads it back", function()
    local book = add { title = "Dune", author = "Frank Herbert", year = 1965 }
    t.ok(book.id, "the new book's id")
    t.eq(book, { id = book.id, title = "Dune", author = "Frank Herbert", year = 1965 })
    t.eq(app:get("/books/" .. book.id):json(), book)
  end)

  it("refuses an invalid body with a 400", function()
    local res = app:post("/books", { json = { year = "x" } })
    t.eq(res.status, 400)
    t.eq(app:get("/books"):json().total, 1, "nothing was written")
  end)

  it("filters by author and year", function()
    add { title = "Children of Dune", author = "Frank Herbert", year = 1976 }
    add { title = "Neuromancer", author = "William Gibson", year = 1984 }
    local res = app:get("/books", { query = { author = "Frank Herbert", after = 1970 } })
    local list = res:json()
    t.eq(list.total, 1)
    t.eq(list.books[1].title, "Children of Dune")
  end)

  it("updates with PATCH", function()
    local res = app:patch("/books/1", { json = { year = 1966 } })
    t.eq(res.status, 200)
    t.eq(res:json().year, 1966)
    t.eq(app:patch("/books/99", { json = { year = 1 } }).status, 404)
  end)

  it("counts books per author", function()
    t.eq(app:get("/authors"):json(), {
      { author = "Frank Herbert", books = 2 },
      { author = "William Gibson", books = 1 },
    })
  end)

  it("deletes, then answers 404", function()
    t.eq(app:delete("/books/1").status, 204)
    local res = app:get("/books/1")
    t.eq(res.status, 404)
    t.eq(res:json(), { error = "no such book" })
    t.eq(app:delete("/books/1").status, 404)
  end)
end)

-- The books table. Applied by the app at startup, or by hand:
--   cd examples/crud && rover db migrate --path crud.sqlite
local g = rover.db.guard

function change()
  migration.books:create {
    id = g:integer():primary():auto(),
    title = g:string():required(),
    author = g:string():required():index(),
    year = g:integer(),
    isbn = g:string():unique(),
  }
end

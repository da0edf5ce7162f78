-- The notes service's tests (README "Testing an app: rover test").
-- Run from examples/service, so that its .env is read:   rover test
local app = t.app("app.lua")
local auth = { Authorization = "Bearer " .. os.getenv("API_TOKEN") }

describe("probes", function()
  it("answers /healthz", function()
    t.eq(app:get("/healthz").status, 200)
  end)
end)

describe("notes", function()
  it("need the bearer token", function()
    local res = app:get("/notes")
    t.eq(res.status, 401)
    t.eq(res.headers["WWW-Authenticate"], "Bearer")
    t.eq(res:json().error, "missing or wrong bearer token")
  end)

  it("are created and listed", function()
    local res = app:post("/notes", { headers = auth, json = { title = "milk", tags = { "home" } } })
    t.eq(res.status, 201)
    local note = res:json()
    t.eq(res.headers.location, "/notes/" .. note.id)
    t.eq(note, { id = note.id, title = "milk", body = "", tags = { "home" }, owner = "demo" })
    local list = app:get("/notes", { headers = auth }):json()
    t.eq(list.notes, { note })
  end)

  it("have their body validated", function()
    local res = app:post("/notes", { headers = auth, json = { tags = "x" } })
    t.eq(res.status, 400)
    local body = res:json()
    t.eq(body.error, "invalid request body")
    t.ok(body.errors, "the field errors")
  end)

  it("are deleted", function()
    t.eq(app:delete("/notes/1", { headers = auth }).status, 204)
    local res = app:get("/notes/1", { headers = auth })
    t.eq(res.status, 404)
    t.eq(res:json().error, "no such note")
  end)

  it("answer a CORS preflight from an allowed origin", function()
    local res = app:options("/notes", { headers = {
      Origin = "http://localhost:3000", ["Access-Control-Request-Method"] = "POST" } })
    t.eq(res.status, 204)
    t.eq(res.headers["access-control-allow-origin"], "http://localhost:3000")
  end)
end)

describe("login", function()
  it("returns the token", function()
    local res = app:post("/login", { json = { user = "demo", password = os.getenv("API_PASSWORD") } })
    t.eq(res.status, 200)
    t.eq(res:json(), { token = os.getenv("API_TOKEN") })
  end)

  it("refuses a wrong password", function()
    local res = app:post("/login", { json = { user = "demo", password = "nope" } })
    t.eq(res.status, 401)
    t.eq(res:json().error, "wrong user or password")
  end)

  it("is rate limited after 5 attempts", function()
    -- 2 attempts above; the limit is 5 a minute per client
    local statuses = {}
    for i = 1, 4 do
      statuses[i] = app:post("/login", { json = { user = "demo", password = "nope" } }).status
    end
    t.eq(statuses, { 401, 401, 401, 429 })
    local res = app:post("/login")
    t.eq(res.status, 429)
    t.match(res.headers["retry-after"], "^%d+$")
  end)
end)

describe("docs", function()
  it("serve the OpenAPI description with the admin token", function()
    local res = app:get("/_rover/openapi.json", {
      headers = { Authorization = "Bearer " .. os.getenv("ADMIN_TOKEN") } })
    t.eq(res.status, 200)
    t.ok(res:json().paths["/notes"], "/notes is described")
    t.eq(app:get("/_rover/openapi.json").status, 401)
  end)
end)

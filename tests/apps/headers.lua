-- Response headers from the app (server-features.md §4) and security
-- headers with their defaults (§5). Used by test_headers.py.
-- body_size_limit is small so that a 413 is easy to provoke.
local api = rover.server { log_level = "info", workers = 1, body_size_limit = 64 }

-- §4 -------------------------------------------------------------------------

function api.h.json_headers.get(ctx)
  return api.json { saved = true, headers = { ["Cache-Control"] = "no-store", ["X-Num"] = 5 } }
end
function api.h.json_status_headers.get(ctx)
  return api.json:status(201, { id = 7, headers = { Location = "/things/7", ["X-Float"] = 2.5 } })
end
function api.h.json_array.get(ctx)
  return api.json { headers = { ["Set-Cookie"] = { "a=1; Path=/", "b=2; HttpOnly" } }, ok = 1 }
end
function api.h.chain.get(ctx)
  local r = api.text("chained")
  local same = r:header("X-One", "1") == r
  return r:header("X-Two", 2):header("X-Same", tostring(same))
end
function api.h.array.get(ctx)
  return api.text("cookies"):header("Set-Cookie", { "a=1", "b=2", "c=3" })
end
function api.h.replace.get(ctx)
  return api.text("replaced"):header("x-rep", "first"):header("X-Other", "o")
    :header("X-REP", "second")
end
function api.h.as_written.get(ctx)
  return api.text("names"):header("x-lower-name", "v1"):header("X-MiXeD-Name", "v2")
end
function api.h.content_type.get(ctx)
  return api.text("a,b"):header("Content-Type", "text/csv")
end
function api.h.content_type_json.get(ctx)
  return api.json { headers = { ["content-type"] = "application/problem+json" }, e = 1 }
end
function api.h.server_only.get(ctx)
  return api.text("server only")
    :header("Content-Length", "999")
    :header("Transfer-Encoding", "chunked")
    :header("Connection", "close")
    :header("Keep-Alive", "timeout=1")
    :header("Upgrade", "h2c")
    :header("Trailer", "X-T")
    :header("TE", "trailers")
    :header("Date", "yesterday")
    :header("X-Kept", "yes")
end
function api.h.redirect_cookie.get(ctx)
  return api.redirect("/home"):header("Set-Cookie", "sid=1")
end
function api.h.bad_name.get(ctx)
  return api.text("x"):header("X Bad", "v")
end
function api.h.bad_value.get(ctx)
  return api.text("x"):header("X-Bad", "a\r\nInjected: yes")
end
function api.h.bad_array_value.get(ctx)
  return api.text("x"):header("X-Bad-Array", { "ok", "no\nway" })
end
-- Names are remembered once valid (prelude/server.lua): values are still checked each time,
-- and a name table full of remembered names changes nothing.
function api.h.bad_cr.get(ctx)
  return api.text("x"):header("X-Bad-Cr", "a\rb")
end
function api.h.bad_nul.get(ctx)
  return api.text("x"):header("X-Bad-Nul", "a\0b")
end
function api.h.valid_then_bad.get(ctx)
  local r = api.text("x"):header("X-Twice", "fine")
  return r:header("X-Twice", "no\nway")
end
function api.h.many_names.get(ctx)
  local r = api.text("many")
  for i = 1, 600 do r:header("X-N" .. i, "v") end
  return r
end
function api.h.bad_json_headers.get(ctx)
  return api.json { headers = { ["X-Bad-Json"] = "a\0b" } }
end

-- §5 -------------------------------------------------------------------------

-- GET /sec?xcto=..&xfo=..&rp=..: sets the given security headers (names as
-- given by ?case=lower in lower case).
function api.sec.get(ctx)
  local q = ctx:query()
  local lower = q.case == "lower"
  local r = api.text("sec")
  local function set(name, v)
    if v ~= nil then r:header(lower and name:lower() or name, v) end
  end
  set("X-Content-Type-Options", q.xcto)
  set("X-Frame-Options", q.xfo)
  set("Referrer-Policy", q.rp)
  return r
end
function api.sec_json.get(ctx)
  return api.json { headers = { ["X-Frame-Options"] = "SAMEORIGIN" }, ok = true }
end

function api.plain.get(ctx) return "plain" end
function api.plain.post(ctx) return "posted" end
function api.empty.get(ctx) return nil end
function api.boom.get(ctx) error("boom") end
function api.denied.get(ctx) return api:error(403, "denied") end
function api.go.get(ctx) return api.redirect("/plain") end
function api.upload.post(ctx) return #ctx:body():text() end

return api

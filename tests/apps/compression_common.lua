-- Routes shared by the compression apps (compression*.lua,
-- server-features.md §9); required by them, not run on its own.
--
-- Every body is deterministic, so two requests for the same target with
-- different Accept-Encoding headers must carry the same identity bytes.
--   GET /plain?n=N            text/plain, N bytes of repetitive text
--   GET /ct?type=T&n=N        the same body with Content-Type T (app header)
--   GET /data?n=N             api.json with a body of about N bytes
--   GET /page                 api.html, about 4 KiB
--   GET /octet                api.raw (application/octet-stream), 4 KiB text
--   GET /noise?n=N&type=T     N pseudo-random bytes (incompressible), type T
--   GET /vary?v=V             text with an app Vary: V (default Origin)
--   GET /etag/strong, /etag/weak   text with ETag "v1" / W/"v1"
--   GET /encoded?ce=C         text with an app Content-Encoding: C
--                             (default x-app-coding)
--   GET /nocontent, /nil      204 (builder / nil return)
--   GET /s304                 api.json:status(304, ...)
--   GET /csv, /events         chunked text/csv stream, SSE stream
return function(api)
  local unit = "Rover compresses dynamic responses; this line repeats. 0123456789\n"

  local function text(n)
    local s = string.rep(unit, math.floor(n / #unit) + 1)
    return s:sub(1, n)
  end

  -- A fixed linear congruential generator (exact in doubles): the same
  -- bytes on every request, and no coding can make them smaller.
  local function noise(n)
    local out, x = {}, 12345
    for i = 1, n do
      x = (x * 69069 + 1) % 4294967296
      out[i] = string.char(math.floor(x / 16777216) % 256)
    end
    return table.concat(out)
  end

  local function num(v, default)
    return tonumber(v) or default
  end

  function api.plain.get(ctx)
    return api.text(text(num(ctx:query().n, 4096)))
  end

  function api.ct.get(ctx)
    local q = ctx:query()
    return api.text(text(num(q.n, 4096))):header("Content-Type", q.type)
  end

  function api.data.get(ctx)
    local n = num(ctx:query().n, 4096)
    local items = {}
    for i = 1, math.floor(n / 40) do
      items[i] = { id = i, name = "item number " .. i }
    end
    return api.json { items = items }
  end

  function api.page.get(ctx)
    return api.html("<!doctype html><p>" .. text(4096) .. "</p>")
  end

  function api.octet.get(ctx)
    return api.raw(text(4096))
  end

  function api.noise.get(ctx)
    local q = ctx:query()
    local r = api.raw(noise(num(q.n, 4096)))
    if q.type then r:header("Content-Type", q.type) end
    return r
  end

  function api.vary.get(ctx)
    return api.text(text(4096)):header("Vary", ctx:query().v or "Origin")
  end

  function api.etag.strong.get(ctx)
    return api.text(text(4096)):header("ETag", '"v1"')
  end

  function api.etag.weak.get(ctx)
    return api.text(text(4096)):header("ETag", 'W/"v1"')
  end

  function api.encoded.get(ctx)
    return api.text(text(4096)):header("Content-Encoding", ctx:query().ce or "x-app-coding")
  end

  function api.nocontent.get(ctx)
    return api.no_content()
  end

  api["nil"].get = function(ctx)
    return nil
  end

  function api.s304.get(ctx)
    return api.json:status(304, { big = text(4096) })
  end

  function api.csv.get(ctx)
    local i = 0
    return api.stream(200, "text/csv", function()
      i = i + 1
      if i > 64 then return nil end
      return text(64)
    end)
  end

  function api.events.get(ctx)
    local i = 0
    return api.sse(function()
      i = i + 1
      if i > 32 then return nil end
      return { data = text(60) }
    end)
  end

  return api
end

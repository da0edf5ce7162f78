-- Chunked streams and server-sent events (server-features.md §11, with the
-- §5 security headers and §6 CORS headers on streams). Used by
-- test_streams.py.
--
-- One worker, so that a producer suspended in rover.delay shares its Lua
-- state with the other requests the tests make meanwhile. Producer calls are
-- counted in rover.shared under "calls:<tag>" (GET /count/<tag>, or
-- GET /count_after/<tag>?ms=N, which waits N ms first). Tests use their own
-- tags so that they never share state. Compression is on (the default) and
-- CORS allows one origin.
local api = rover.server {
  log_level = "info", workers = 1,
  cors_origin = "https://app.example",
  drain_timeout_secs = 30,
}

local shared = rover.shared

local function count(tag) return shared:incr("calls:" .. tag, 1, 0) end
local function calls(tag) return shared:get("calls:" .. tag) or 0 end

function api.plain.get(ctx) return "plain" end
function api.count.p_tag.get(ctx) return { calls = calls(ctx:params().tag) } end
function api.count_after.p_tag.get(ctx)
  rover.delay(tonumber(ctx:query().ms))
  return { calls = calls(ctx:params().tag) }
end
-- GET /go/<tag>: sets the flag a producer waits on.
function api.go.p_tag.get(ctx)
  shared:set("go:" .. ctx:params().tag, true)
  return "go " .. ctx:params().tag
end

-- A producer returning the items of `list` in turn (then nil), counting its
-- calls under `tag`.
local function items(tag, list)
  local i = 0
  return function()
    if tag then count(tag) end
    i = i + 1
    return list[i]
  end
end

-- Chunked streams (§11.1) -----------------------------------------------------

-- "" sends nothing and the producer is called again.
local ROWS = { "sku,qty\n", "", "a-1,3\n", "", "", "b-22,10\n" }

function api.s.dot.p_tag.get(ctx)
  return api.stream(200, "text/csv; charset=utf-8", items(ctx:params().tag, ROWS))
end
function api.s.colon.p_tag.get(ctx)
  return api:stream(201, "application/x-ndjson", items(ctx:params().tag,
    { '{"n":1}\n', '{"n":2}\n' }))
end
local APP_HEADERS = {
  ["X-Stream"] = "yes",
  ["Cache-Control"] = "no-store",
  ["X-Number"] = 42,
  ["Set-Cookie"] = { "a=1", "b=2" },
  -- set by the server only: ignored when apps set them (§4)
  ["Content-Length"] = "999",
  ["Transfer-Encoding"] = "identity",
}
function api.s.headers.dot.get(ctx)
  return api.stream_with_headers(202, "Text/Weird; Charset=Latin-1", APP_HEADERS,
    items(nil, { "one", "two" }))
end
function api.s.headers.colon.get(ctx)
  return api:stream_with_headers(203, "application/octet-stream", { ["X-Colon"] = "1" },
    items(nil, { "x" }))
end
-- One chunk of exactly 65536 bytes (hex 10000) and one of 16 (hex 10).
function api.s.sizes.get(ctx)
  return api.stream(200, "application/octet-stream",
    items(nil, { string.rep("z", 65536), string.rep("q", 16), "1" }))
end
-- A text stream large enough to be compressed if it were not a stream.
function api.s.compressible.get(ctx)
  return api.stream(200, "text/plain; charset=utf-8",
    items(nil, { string.rep("abcd", 1024), string.rep("efgh", 1024) }))
end
-- Producer failures: first "first\n", then an error / a number / a table /
-- a boolean.
local BAD = {
  error = function() error("producer failed on purpose") end,
  number = function() return 42 end,
  table = function() return { "x" } end,
  boolean = function() return true end,
}
function api.s.bad.p_kind.p_tag.get(ctx)
  local tag, bad, n = ctx:params().tag, BAD[ctx:params().kind], 0
  return api.stream(200, "text/plain", function()
    count(tag)
    n = n + 1
    if n == 1 then return "first\n" end
    return bad()
  end)
end

-- Slow producers ----------------------------------------------------------------

-- GET /s/delayed/<tag>?n=N&ms=M: N chunks "chunk <k>\n", rover.delay(M)
-- before each.
function api.s.delayed.p_tag.get(ctx)
  local tag, n, ms, k = ctx:params().tag, tonumber(ctx:query().n), tonumber(ctx:query().ms), 0
  return api.stream(200, "text/plain", function()
    count(tag)
    if k == n then return nil end
    rover.delay(ms)
    k = k + 1
    return "chunk " .. k .. "\n"
  end)
end
-- GET /s/big/<tag>?n=N: N chunks of 256 KiB; chunk k is filled with the
-- letter ("A" + (k - 1) % 26).
local BIG = 256 * 1024
function api.s.big.p_tag.get(ctx)
  local tag, n, k = ctx:params().tag, tonumber(ctx:query().n), 0
  return api.stream(200, "application/octet-stream", function()
    count(tag)
    if k == n then return nil end
    k = k + 1
    return string.rep(string.char(65 + (k - 1) % 26), BIG)
  end)
end
-- GET /s/ticks/<tag>: endless; each call counts itself, waits 50 ms and
-- returns "tick <call number>\n" (stops at 10000 calls).
function api.s.ticks.p_tag.get(ctx)
  local tag = ctx:params().tag
  return api.stream(200, "text/plain", function()
    local n = count(tag)
    if n > 10000 then return nil end
    rover.delay(50)
    return "tick " .. n .. "\n"
  end)
end

-- After hooks (§1, §11.1) ---------------------------------------------------------

-- The after hook records how often the producer had been called when it ran;
-- the producer's first chunk says how often the after hook had run.
function api.hooked.after.mark(ctx)
  local tag = ctx:params().tag
  shared:incr("after:" .. tag, 1, 0)
  shared:set("after_saw:" .. tag, calls(tag))
end
function api.hooked.p_tag.get(ctx)
  local tag = ctx:params().tag
  local n = 0
  return api.stream(200, "text/plain", function()
    count(tag)
    n = n + 1
    if n == 1 then
      return "after hooks run: " .. (shared:get("after:" .. tag) or 0)
        .. ", producer calls they saw: " .. (shared:get("after_saw:" .. tag) or "none") .. "\n"
    end
    return nil
  end)
end

-- Server-sent events (§11.2) --------------------------------------------------------

function api.e.example.p_tag.get(ctx)
  return api.sse(items(ctx:params().tag, {
    "hello",
    { event = "progress", id = "job-7", data = { pct = 40 } },
  }), 2000)
end
function api.e.colon.get(ctx)
  return api:sse(items(nil, { "colon" }))
end
function api.e.status.get(ctx)
  return api.sse:status(201, items(nil, { "created" }), 0)
end
function api.e.status_dot.get(ctx)
  return api.sse.status(202, items(nil, { "dot status" }), 150)
end
function api.e.with_headers.get(ctx)
  return api.sse:with_headers(203, { ["Cache-Control"] = "no-store", ["X-Sse"] = "1" },
    items(nil, { "with headers" }), 1500)
end
function api.e.with_headers_default.get(ctx)
  return api.sse:with_headers(200, { ["X-Sse"] = "2" }, items(nil, { "x" }))
end
-- data split on CRLF, CR and LF
function api.e.lines.get(ctx)
  return api.sse(items(nil, {
    "a\r\nb\rc\nd",
    { data = "one\ntwo", event = "multi" },
  }))
end
-- nil / number / boolean / table data, explicit and automatic ids
function api.e.kinds.get(ctx)
  return api.sse(items(nil, {
    "first",                              -- id 1
    { event = "ping" },                   -- id 2, data nil
    { data = 42 },                        -- id 3
    { data = true, id = "explicit" },     -- explicit string id
    { data = 1.5 },                       -- id 4
    { data = false, id = 7 },             -- explicit numeric id
    { data = { 1, 2 } },                  -- id 5
    { id = "only-id" },                   -- an event with only an id
  }))
end
-- comment and retry blocks
function api.e.blocks.get(ctx)
  return api.sse(items(nil, {
    { comment = "keep-alive" },           -- a table with only a comment: no event
    { retry = 3000 },                     -- only retry: no event
    "after blocks",                       -- id 1
    { comment = "c", retry = 10, data = "d" },  -- id 2
    { comment = "c2", event = "e" },      -- id 3, data nil
  }))
end
function api.e.compressible.get(ctx)
  return api.sse(items(nil, { string.rep("abcd", 1024) }))
end
function api.e.bad.p_tag.get(ctx)
  local tag, n = ctx:params().tag, 0
  return api.sse(function()
    count(tag)
    n = n + 1
    if n == 1 then return "ok" end
    return 42
  end)
end
-- GET /e/gated/<tag>: one event, then waits (rover.delay) for GET /go/<tag>,
-- then three events 10 ms apart.
function api.e.gated.p_tag.get(ctx)
  local tag, k = ctx:params().tag, 0
  return api.sse(function()
    count(tag)
    k = k + 1
    if k == 1 then return "before" end
    if k == 2 then
      while not shared:get("go:" .. tag) do rover.delay(10) end
      return "released"
    end
    if k <= 4 then
      rover.delay(10)
      return "after " .. (k - 2)
    end
    return nil
  end)
end

-- Drain (§15) --------------------------------------------------------------------------

-- GET /e/drain: one event, then waits until the drain started (the shutdown
-- hook sets the flag), then three events with rover.delay between them.
function api.on_shutdown()
  shared:set("draining", true)
  print("SHUTDOWN HOOK ran")
end
function api.e.drain.get(ctx)
  local k = 0
  return api.sse(function()
    k = k + 1
    if k == 1 then return "running" end
    if k == 2 then
      while not shared:get("draining") do rover.delay(10) end
      return "draining"
    end
    if k <= 5 then
      rover.delay(20)
      return "drain " .. (k - 2)
    end
    print("DRAIN STREAM done")
    return nil
  end)
end

return api

-- The Lua half of ctx (lua-api.md §6; the native half is lua/ctx.cpp): the
-- methods, the request body object, and the request path's Lua side (make_ctx:
-- ctx's __index and dispatch). Run once per VM by vm.cpp with (native, guard,
-- M = server.lua's module); sets M.ctx_methods and M.make_ctx.
local native, guard, M = ...
local type, error, setmetatable, getmetatable, pairs = type, error, setmetatable, getmetatable, pairs
local RESP = M.RESP


local BODY = {}
BODY.__index = BODY

local function body_json(self)
  local ok, value, extra = native.body_json(self[1])
  if not ok then error(M.request_error(value, extra), 0) end
  return value, extra
end

function BODY:text() return native.body_text(self[1]) end
BODY.as_string = BODY.text
function BODY:bytes() return native.body_bytes(self[1]) end
function BODY:json() return (body_json(self)) end
BODY.raw = BODY.json
-- Uploads (server-features.md §16): parsed once per body object.
local function body_form(self, files_wanted)
  local cached = self.form_
  if cached and (cached[3] or not files_wanted) then return cached[1], cached[2] end
  local ok, fields, files = native.body_form(self[1], files_wanted)
  if not ok then error(M.request_error(fields, files), 0) end
  self.form_ = { fields, files, files_wanted }
  return fields, files
end
function BODY:form()
  local fields = body_form(self, false)
  return fields
end
function BODY:files(name)
  local _, files = body_form(self, true)
  return files[name] or {}
end
function BODY:file(name)
  local _, files = body_form(self, true)
  local list = files[name]
  return list and list[1] or nil
end
function BODY:multipart()
  local fields, files = body_form(self, true)
  local first = {}
  for k, list in pairs(files) do first[k] = list[1] end
  return { fields = fields, files = first }
end

function BODY:expect(schema)
  local value, is_object = body_json(self)
  if not is_object then error(M.request_error(400, "Request body must be a JSON object"), 0) end
  local out, err = guard.check(value, schema)
  if err then error(err, 0) end
  return out
end

M.ctx_methods = {
  headers = native.ctx_headers,
  query = native.ctx_query,
  params = native.ctx_params,
  request_id = native.ctx_request_id,
  body = function(ctx)
    if not native.ctx_has_body(ctx) then
      error(M.request_error(400, "Request has no body"), 0)
    end
    local body = setmetatable({ ctx }, BODY)
    return body
  end,
  set = native.ctx_set,
  get = native.ctx_get,
}

-- The request path's Lua side, made once per VM by C (lua/ctx.cpp):
--   index     ctx's __index (lua-api.md §6). In Lua so that the JIT compiles
--             ctx.method and ctx:<method> into the handler's trace (a C __index
--             ends the trace on every request). Anything else, and any ctx that
--             is not the running one (which raises "request context is no
--             longer valid" once its request is over), goes to the native
--             __index. The running request is named by numbers in CUR, not by
--             its ctx object, so a ctx that reaches no C function (a handler
--             that only reads ctx.method) is never allocated: LuaJIT sinks it.
--   dispatch  what a request's task runs: dispatch(handler, slot,
--             generation, method): makes the ctx (an FFI struct rover_ctx, so
--             making it is a few instructions in the trace) and calls the
--             handler; method = the router's method number (NAMES). The handler call is
--             inlined into dispatch's trace. It returns what C needs without
--             reading tables through the C API:
--               true, status, content type, kind, payload, headers  (response object)
--               false, value                                        (anything else)
--             A handler that raises or waits leaves CUR[1] set; C clears it then
--             (and sets CUR again when a waiting request resumes).
--   CUR       the running request: [1] task slot (-1: none), [2] generation,
--             [3] method string.
--   NAMES     method number -> method string, filled by C.
-- dispatch is the body of a request's task coroutine (lua/tasks.cpp), so its
-- trace ends with a return to C, as a plain call's would.
function M.make_ctx(native_index)
  local CUR, NAMES = { -1, -1, false }, {}
  local methods = M.ctx_methods
  local function index(ctx, k)
    if ctx.slot == CUR[1] and ctx.generation == CUR[2] then
      if k == "method" then return CUR[3] end
      local m = methods[k]
      if m ~= nil then return m end
    end
    return native_index(ctx, k)
  end
  local ffi = require("ffi")
  ffi.cdef("struct rover_ctx { uint32_t magic; uint32_t slot; uint32_t generation; };")
  local CTX = ffi.metatype("struct rover_ctx", { __index = index })
  local MAGIC = 0x7c7a6f72  -- lua/ctx.h kCtxMagic
  local function dispatch(handler, slot, generation, method)
    CUR[1] = slot
    CUR[2] = generation
    CUR[3] = NAMES[method]
    local v = handler(CTX(MAGIC, slot, generation))
    CUR[1] = -1
    if getmetatable(v) == RESP then
      return true, v[1], v[2], v[3], v[4], v[5]
    end
    return false, v
  end
  return index, dispatch, CUR, NAMES
end


return M

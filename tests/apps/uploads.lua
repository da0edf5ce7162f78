-- Uploads (server-features.md §16): ctx:body():form(), :file(), :files(),
-- :multipart(). Used by test_uploads.py.
local api = rover.server { workers = 1, log_level = "info", body_size_limit = 60 * 1024 * 1024 }

local function describe(f)
  if not f then return false end
  return { name = f.name, size = f.size, type = f.type, data = f.data }
end

function api.form.post(ctx) return ctx:body():form() end

function api.upload.post(ctx)
  local b = ctx:body()
  local files = {}
  for i, f in ipairs(b:files("pics")) do
    files[i] = describe(f)
    files[i].data = nil  -- binary: checked by /binary
  end
  return { fields = b:form(), doc = describe(b:file("doc")), pics = files,
           missing = describe(b:file("nope")), none = #b:files("nope") }
end

function api.multipart.post(ctx)
  local m = ctx:body():multipart()
  return { fields = m.fields, doc = describe(m.files.doc) }
end

-- The file's bytes are exactly (i * 7) % 256 for i = 0 .. size - 1.
function api.binary.post(ctx)
  local f = ctx:body():file("doc")
  for i = 1, #f.data do
    if f.data:byte(i) ~= ((i - 1) * 7) % 256 then return { ok = false, at = i } end
  end
  return { ok = true, size = f.size }
end

function api.file.post(ctx) return { doc = describe(ctx:body():file("doc")) } end

return api

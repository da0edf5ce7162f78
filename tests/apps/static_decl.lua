-- Static mount declarations (server-features.md §10), one case per run,
-- chosen by STATIC_CASE; STATIC_DIR is the directory to mount. Used by
-- test_static.py (startup errors and a dir relative to the working directory).
local case = rover.env.STATIC_CASE
local dir = rover.env.STATIC_DIR

local api = rover.server { log_level = "info", workers = 1 }

if case == "missing" then
  api.assets.static { dir = dir }
elseif case == "missing_root" then
  api.static { dir = dir }
elseif case == "duplicate" then
  api.assets.static { dir = dir }
  api.assets.static { dir = dir }
elseif case == "no_dir" then
  api.downloads.static { cache = "no-store" }
elseif case == "no_dir_root" then
  api.static {}
elseif case == "relative" then
  -- dir "public", resolved against the working directory at startup.
  api.files.static { dir = "public" }
else
  error("unknown STATIC_CASE " .. tostring(case))
end

return api

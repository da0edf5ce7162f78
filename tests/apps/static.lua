-- Static mounts (server-features.md §10). Used by test_static.py.
--
-- The served trees are created by the test in a temporary directory named
-- by STATIC_ROOT (absolute, so independent of the working directory):
--   $STATIC_ROOT/site    root mount        /
--   $STATIC_ROOT/assets  mount             /assets
--   $STATIC_ROOT/img     mount with cache  /assets/img
-- One worker, so the slow-download test shares the worker with the
-- requests it checks.
local root = assert(rover.env.STATIC_ROOT, "STATIC_ROOT is not set")

local api = rover.server { log_level = "info", workers = 1 }

api.static { dir = root .. "/site" }
api.assets.static { dir = root .. "/assets" }
api.assets.img.static { dir = root .. "/img", cache = "private, max-age=60" }

-- API routes win over the mounts, whatever their method.
function api.assets.shadow_txt.post(ctx) return "api-post" end
function api.assets.routed.get(ctx) return "api-get" end

-- A handler response (Range must be ignored on it).
function api.api.hello.get(ctx) return "hello from the handler" end

return api

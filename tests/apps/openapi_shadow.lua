-- Management endpoints versus app routes and middleware (server-features.md
-- §13). docs is on unless $OPENAPI_DOCS is "false". Used by test_openapi.py.
local api = rover.server {
  log_level = "info",
  workers = 1,
  docs = os.getenv("OPENAPI_DOCS") ~= "false",
  management_token = "shadow-token",
}

-- Every request carrying X-Block is answered by this hook, if it runs.
function api.before.block(ctx)
  if ctx:headers()["X-Block"] then
    return api:error(418, "blocked by middleware")
  end
end

function api.get(ctx)
  return "app root"
end

api._rover.docs.get = function(ctx) return "app docs route" end
api._rover.docs.post = function(ctx) return "app docs post" end
api._rover["openapi.json"].get = function(ctx) return "app openapi route" end
api._rover.other.get = function(ctx) return "app other route" end
api._rover.docs.extra.get = function(ctx) return "app docs extra" end

return api

-- Management configuration variants (server-features.md §13), chosen with
-- environment variables: OA_TOKEN (management_token, unset = nil),
-- OA_PREFIX (management_prefix, unset = default), OA_UNAUTH = "true"
-- (allow_unauthenticated_management), OA_DOCS = "false" (docs off).
-- Used by test_openapi.py.
local api = rover.server {
  log_level = "info",
  workers = 1,
  docs = os.getenv("OA_DOCS") ~= "false",
  management_token = os.getenv("OA_TOKEN"),
  management_prefix = os.getenv("OA_PREFIX"),
  allow_unauthenticated_management = os.getenv("OA_UNAUTH") == "true",
}

function api.items.p_id.get(ctx)
  return { id = ctx:params().id }
end

function api.items.post(ctx)
  return {}
end

return api

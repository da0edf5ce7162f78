-- rover.auth (runtime-modules.md §4) as before hooks on real routes.
-- Used by test_auth.py, which mints its own tokens with Python's hmac and
-- starts this app with JWT_SECRET, JWT_OLD_KEY and JWT_NEW_KEY set.
-- Two workers: each builds rover.auth in its own VM on first use.
local api = rover.server { log_level = "info", workers = 2 }
local auth = rover.auth

local secret = rover.env.JWT_SECRET
local keys = auth.secrets({ old = rover.env.JWT_OLD_KEY })
auth.rotate(keys, "signing", "new", rover.env.JWT_NEW_KEY)

-- The spec's example: a token, then the admin role.
api.admin.before.jwt = auth.require(api, secret)
api.admin.before.roles = auth.allow_roles(api, { "admin" })
function api.admin.get(ctx) return { claims = ctx:get("auth") } end
function api.admin.reports.get(ctx) return { reports = true, sub = ctx:get("auth").sub } end

-- A token and any role, the claims handed back as the handler sees them.
api.me.before = auth.require(api, secret)
function api.me.get(ctx) return { claims = ctx:get("auth"), worker = rover.worker.id } end

-- Several allowed roles, from a custom header into a custom claims key,
-- the role read from `scope`.
api.staff.before.a_jwt = auth.require(api, secret, { header = "X-Access-Token", claims_key = "user" })
api.staff.before.b_roles = auth.allow_roles(api, { "editor", "ops" },
  { claims_key = "user", role_key = "scope" })
function api.staff.get(ctx) return { scope = ctx:get("user").scope, auth = ctx:get("auth") } end

-- allow_roles without require: there is never an auth context.
api.roles_only.before = auth.allow_roles(api, "admin")
function api.roles_only.get(ctx) return "unreachable" end

-- A key set: tokens signed with the old or the new key pass.
api.rotated.before = auth.require(api, keys)
function api.rotated.get(ctx) return { sub = ctx:get("auth").sub } end

-- Tokens minted here (for Python to check), verified and decoded on request.
function api.token.post(ctx)
  local body = ctx:body():json()
  return api.text(auth.create(body.claims, body.rotated and keys or secret))
end
function api.verify.post(ctx)
  local body = ctx:body():json()
  return auth.verify(body.token, body.rotated and keys or secret)
end
function api.decode.post(ctx)
  local claims, reason = auth.decode(ctx:body():text())
  return { claims = claims, reason = reason }
end

return api

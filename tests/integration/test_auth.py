"""runtime-modules.md §4 (rover.auth) against the real binary.

Every token the server is asked to accept is minted here, independently of
Rover, with Python's hmac + hashlib + base64; tokens Rover mints are checked
here the same way. The before hooks run as server-features.md §1 says:
401/403 bodies exactly as the spec gives them, the claims visible to the
handler under ctx:get("auth") (or the configured key).

App: tests/apps/auth.lua (two workers), started with the secrets below.
"""

import base64
import hashlib
import hmac
import json
import time
import unittest

from harness import RoverServer, RoverTestCase

APP = "tests/apps/auth.lua"
SECRET = "integration-secret-\u00e9-0123456789"
OLD_KEY = "old-signing-key"
NEW_KEY = "new-signing-key"

MISSING = {"error": "Unauthorized: missing Authorization bearer token"}
NOT_BEARER = {"error": "Unauthorized: Authorization must use Bearer token"}
BAD_TOKEN = {"error": "Unauthorized: invalid or expired token"}
NO_CONTEXT = {"error": "Unauthorized: missing auth context"}
NO_ROLE = {"error": "Forbidden: missing role claim"}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint(claims, key=SECRET, header=None, alg=hashlib.sha256):
    """A compact JWS: header and claims as compact JSON, HMAC signature."""
    header = header if header is not None else {"alg": "HS256", "typ": "JWT"}
    h = b64url(json.dumps(header, separators=(",", ":")).encode())
    p = b64url(json.dumps(claims, separators=(",", ":")).encode())
    key = key.encode() if isinstance(key, str) else key
    sig = hmac.new(key, ("%s.%s" % (h, p)).encode(), alg).digest()
    return "%s.%s.%s" % (h, p, b64url(sig))


def claims(sub="ada", ttl=300, **more):
    c = {"sub": sub, "iat": int(time.time()), "exp": int(time.time()) + ttl}
    c.update(more)
    return c


def bearer(token):
    return {"Authorization": "Bearer " + token}


class AuthTestCase(RoverTestCase):
    @classmethod
    def setUpClass(cls):
        unittest.TestCase.setUpClass()
        cls.server = RoverServer(APP, env={"JWT_SECRET": SECRET, "JWT_OLD_KEY": OLD_KEY,
                                           "JWT_NEW_KEY": NEW_KEY})
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def post_json(self, target, value):
        return self.request("POST", target, headers={"Content-Type": "application/json"},
                            body=json.dumps(value).encode())


class RequireTest(AuthTestCase):
    def test_missing_header(self):
        self.assertJSON(self.get("/me"), 401, MISSING)
        self.assertJSON(self.get("/me", headers={"Authorization": ""}), 401, MISSING)

    def test_not_bearer(self):
        for value in ("Basic YWRhOnB3", "Token abc", "Bearer", "Bearer ", "abc.def.ghi",
                      "Bearer a.b.c extra"):
            with self.subTest(value=value):
                self.assertJSON(self.get("/me", headers={"Authorization": value}), 401, NOT_BEARER)

    def test_python_minted_token_is_accepted_and_claims_reach_the_handler(self):
        c = claims(role="user", name="Ada Lovelace", tags=["a", "b"], n=2.5)
        r = self.get("/me", headers=bearer(mint(c)))
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["claims"], c)  # every claim, nothing added

    def test_both_workers_verify(self):
        token = mint(claims())
        workers = set()
        for _ in range(12):
            r = self.get("/me", headers=bearer(token))
            self.assertStatus(r, 200)
            workers.add(r.json()["worker"])
        self.assertTrue(workers <= {1, 2}, workers)

    def test_scheme_is_case_insensitive(self):
        r = self.get("/me", headers={"Authorization": "bearer " + mint(claims())})
        self.assertStatus(r, 200)

    def test_bad_tokens(self):
        good = mint(claims())
        h, p, s = good.split(".")
        forged_payload = b64url(json.dumps(claims(sub="mallory")).encode())
        bad = {
            "wrong key": mint(claims(), key="not-the-secret"),
            "expired": mint(claims(ttl=-3600)),
            "expired beyond leeway": mint(claims(ttl=-90)),
            "missing exp": mint({"sub": "ada", "iat": int(time.time())}),
            "not yet valid": mint(claims(nbf=int(time.time()) + 3600)),
            "alg none": "%s.%s." % (b64url(b'{"alg":"none","typ":"JWT"}'), p),
            "alg none signed": mint(claims(), header={"alg": "none", "typ": "JWT"}),
            "HS512": mint(claims(), header={"alg": "HS512", "typ": "JWT"}, alg=hashlib.sha512),
            "HS384 header, HS256 signature": mint(claims(), header={"alg": "HS384"}),
            "payload swapped": "%s.%s.%s" % (h, forged_payload, s),
            "signature cut": good[:-1],
            "two segments": "%s.%s" % (h, p),
            "four segments": good + ".x",
            "padded": "%s.%s=.%s" % (h, p, s),
            "not base64": "%s.%s.%s" % (h, "***", s),
            "not json": "%s.%s.%s" % (h, b64url(b"hello"), s),
            "claims an array": mint([1, 2]),
            "garbage": "abc",
        }
        for name, token in bad.items():
            with self.subTest(name):
                self.assertJSON(self.get("/me", headers=bearer(token)), 401, BAD_TOKEN)

    def test_leeway_accepts_a_token_just_expired(self):
        self.assertStatus(self.get("/me", headers=bearer(mint(claims(ttl=-20)))), 200)
        nbf = int(time.time()) + 20
        self.assertStatus(self.get("/me", headers=bearer(mint(claims(nbf=nbf)))), 200)

    def test_hooks_cover_the_routes_below_their_node(self):
        # /admin/reports has no hook of its own: /admin's apply to it.
        self.assertJSON(self.get("/admin/reports"), 401, MISSING)
        r = self.get("/admin/reports", headers=bearer(mint(claims(role="admin"))))
        self.assertJSON(r, 200, {"reports": True, "sub": "ada"})

    def test_custom_header_and_claims_key(self):
        token = mint(claims(scope="ops"))
        # The hook reads X-Access-Token, not Authorization.
        self.assertJSON(self.get("/staff", headers=bearer(token)), 401, MISSING)
        r = self.get("/staff", headers={"X-Access-Token": "Bearer " + token})
        self.assertJSON(r, 200, {"scope": "ops"})  # under "user"; nothing under "auth"
        r = self.get("/staff", headers={"X-Access-Token": token})
        self.assertJSON(r, 401, NOT_BEARER)


class AllowRolesTest(AuthTestCase):
    def test_admin_passes(self):
        c = claims(role="admin")
        r = self.get("/admin", headers=bearer(mint(c)))
        self.assertJSON(r, 200, {"claims": c})

    def test_other_role_is_403(self):
        r = self.get("/admin", headers=bearer(mint(claims(role="user"))))
        self.assertJSON(r, 403, {"error": "Forbidden: role 'user' not allowed"})

    def test_missing_role_claim_is_403(self):
        r = self.get("/admin", headers=bearer(mint(claims())))
        self.assertJSON(r, 403, NO_ROLE)

    def test_token_checked_before_roles(self):
        r = self.get("/admin", headers=bearer(mint(claims(role="admin"), key="wrong")))
        self.assertJSON(r, 401, BAD_TOKEN)
        self.assertJSON(self.get("/admin"), 401, MISSING)

    def test_no_auth_context_is_401(self):
        self.assertJSON(self.get("/roles_only"), 401, NO_CONTEXT)
        r = self.get("/roles_only", headers=bearer(mint(claims(role="admin"))))
        self.assertJSON(r, 401, NO_CONTEXT)

    def test_role_list_and_role_key(self):
        for scope in ("editor", "ops"):
            r = self.get("/staff", headers={"X-Access-Token": "Bearer " + mint(claims(scope=scope))})
            self.assertJSON(r, 200, {"scope": scope})
        r = self.get("/staff", headers={"X-Access-Token": "Bearer " + mint(claims(scope="intern"))})
        self.assertJSON(r, 403, {"error": "Forbidden: role 'intern' not allowed"})
        # `role` is not the configured role key.
        r = self.get("/staff", headers={"X-Access-Token": "Bearer " + mint(claims(role="ops"))})
        self.assertJSON(r, 403, NO_ROLE)


class KeyRotationTest(AuthTestCase):
    def test_old_and_new_keys_both_accepted(self):
        for kid, key in (("old", OLD_KEY), ("new", NEW_KEY)):
            with self.subTest(kid=kid):
                token = mint(claims(sub=kid), key=key,
                             header={"alg": "HS256", "typ": "JWT", "kid": kid})
                self.assertJSON(self.get("/rotated", headers=bearer(token)), 200, {"sub": kid})

    def test_kid_missing_or_wrong_still_finds_the_key(self):
        token = mint(claims(sub="x"), key=OLD_KEY)  # no kid
        self.assertJSON(self.get("/rotated", headers=bearer(token)), 200, {"sub": "x"})
        token = mint(claims(sub="y"), key=OLD_KEY, header={"alg": "HS256", "kid": "new"})
        self.assertJSON(self.get("/rotated", headers=bearer(token)), 200, {"sub": "y"})

    def test_unknown_key_refused(self):
        token = mint(claims(), key="some-other-key", header={"alg": "HS256", "kid": "new"})
        self.assertJSON(self.get("/rotated", headers=bearer(token)), 401, BAD_TOKEN)
        # The plain-secret routes do not take the key set's keys.
        self.assertJSON(self.get("/me", headers=bearer(mint(claims(), key=NEW_KEY))), 401,
                        BAD_TOKEN)

    def test_server_signs_with_the_active_key_and_writes_its_kid(self):
        c = {"sub": "ada", "exp": int(time.time()) + 60}
        r = self.post_json("/token", {"claims": c, "rotated": True})
        self.assertStatus(r, 200)
        h, p, s = r.text.split(".")
        self.assertEqual(b64url_decode(h), b'{"alg":"HS256","typ":"JWT","kid":"new"}')
        self.assertEqual(json.loads(b64url_decode(p)), c)
        expected = hmac.new(NEW_KEY.encode(), ("%s.%s" % (h, p)).encode(), hashlib.sha256)
        self.assertEqual(s, b64url(expected.digest()))


class CreateVerifyDecodeTest(AuthTestCase):
    def test_server_token_checked_by_python(self):
        c = {"sub": "ada", "role": "admin", "exp": int(time.time()) + 60}
        r = self.post_json("/token", {"claims": c})
        self.assertStatus(r, 200)
        h, p, s = r.text.split(".")
        self.assertEqual(b64url_decode(h), b'{"alg":"HS256","typ":"JWT"}')
        self.assertEqual(json.loads(b64url_decode(p)), c)
        expected = hmac.new(SECRET.encode(), ("%s.%s" % (h, p)).encode(), hashlib.sha256)
        self.assertTrue(hmac.compare_digest(s, b64url(expected.digest())))
        # and it opens the admin route
        self.assertStatus(self.get("/admin", headers=bearer(r.text)), 200)

    def test_create_without_sub_is_an_error(self):
        r = self.post_json("/token", {"claims": {"name": "x"}})
        self.assertStatus(r, 500)
        self.assertTrue(r.json()["error"].endswith(
            "rover.auth.create: claims.sub (string) is required"), r)

    def test_verify_results(self):
        c = claims(role="admin")
        r = self.post_json("/verify", {"token": mint(c)})
        self.assertJSON(r, 200, dict(c, valid=True))
        cases = {
            "invalid token": "not-a-token",
            "invalid signature": mint(claims(), key="other"),
            "token expired": mint(claims(ttl=-3600)),
            "missing exp claim": mint({"sub": "ada"}),
            "token not yet valid": mint(claims(nbf=int(time.time()) + 3600)),
        }
        for reason, token in cases.items():
            with self.subTest(reason):
                r = self.post_json("/verify", {"token": token})
                self.assertJSON(r, 200, {"valid": False, "error": reason})

    def test_decode_without_verification(self):
        c = claims(ttl=-3600, role="x")
        r = self.request("POST", "/decode", body=mint(c, key="whatever").encode())
        self.assertJSON(r, 200, {"claims": c})
        r = self.request("POST", "/decode", body=b"a.b")
        self.assertJSON(r, 200, {"reason": "invalid token"})


if __name__ == "__main__":
    unittest.main()

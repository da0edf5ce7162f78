"""runtime-modules.md §3 (rover.session) against the real binary: sessions kept
across requests and across both workers (stores are shared by cookie name),
sliding expiry with a fractional ttl, regenerate, destroy, get_or_create with
unknown ids, the Set-Cookie text for the defaults and for every option
(checked again with Python's http.cookies), and the errors for a bad value
and bad options.

App: tests/apps/sessions.lua (two workers).
"""

import re
import time
import unittest
from http.cookies import SimpleCookie

from harness import APPS_DIR, RoverTestCase, app_line, run_rover, write_temp_app

APP = "tests/apps/sessions.lua"
ID_RE = re.compile(r"^[0-9a-f]{32}$")
EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"
SHORT_TTL = 0.5  # the app's `short` store
MAX_ATTEMPTS = 200  # fresh connections tried until both workers answered
DEADLINE = 10.0  # seconds to wait for an expiry to be observed
SET_MSG = "session:set: value must be a string, number or boolean, not table"


def cookie_id(resp, name):
    """The value of the one Set-Cookie line for ``name``."""
    lines = [v for v in resp.header_all("Set-Cookie") if v.startswith(name + "=")]
    assert len(lines) == 1, resp
    return lines[0].split(";", 1)[0].split("=", 1)[1]


class SessionTestCase(RoverTestCase):
    APP = APP

    def signin(self):
        r = self.request("POST", "/signin")
        self.assertStatus(r, 200)
        body = r.json()
        self.assertRegex(body["id"], ID_RE)
        self.assertEqual(cookie_id(r, "sid"), body["id"])
        return body["id"]

    def with_sid(self, sid, name="sid"):
        return {"Cookie": "theme=dark; %s=%s; other=1" % (name, sid)}

    def me(self, sid):
        return self.get("/me", headers=self.with_sid(sid))


class AcrossRequestsTest(SessionTestCase):
    def test_spec_example_sets_the_session_cookie(self):
        r = self.request("POST", "/signin")
        sid = r.json()["id"]
        self.assertEqual(r.header_all("Set-Cookie"),
                         ["sid=%s; Path=/; Max-Age=1800; HttpOnly; SameSite=Lax" % sid])
        self.assertNotIn("headers", r.json())

    def test_data_kept_across_requests(self):
        sid = self.signin()
        r = self.me(sid)
        self.assertStatus(r, 200)
        self.assertEqual((r.json()["account"], r.json()["visits"], r.json()["id"]),
                         ("acct-9", 0, sid))
        for n in (1, 2, 3):
            r = self.request("POST", "/visit", headers=self.with_sid(sid))
            self.assertEqual(r.json()["visits"], n, r)
        got = self.me(sid).json()
        self.assertEqual(got["visits"], 3)
        self.assertLessEqual(got["created_at"], got["last_accessed"])
        self.assertLess(abs(got["created_at"] - time.time()), 60)  # Unix seconds

    def test_changes_unsaved_stay_in_the_handle(self):
        sid = self.signin()
        r = self.request("POST", "/visit?nosave=1", headers=self.with_sid(sid))
        self.assertEqual(r.json()["visits"], 1)
        self.assertEqual(self.me(sid).json()["visits"], 0)

    def test_missing_unknown_or_malformed_id_is_no_session(self):
        for headers in ({}, self.with_sid("0" * 32), self.with_sid("not-an-id"),
                        self.with_sid(self.signin().upper())):
            with self.subTest(headers=headers):
                self.assertJSON(self.get("/me", headers=headers), 401, {"error": "no session"})

    def test_ids_are_distinct_lower_hex(self):
        ids = [self.signin() for _ in range(50)]
        self.assertEqual(len(set(ids)), 50)
        for sid in ids:
            self.assertRegex(sid, ID_RE)


class AcrossWorkersTest(SessionTestCase):
    def test_every_save_is_seen_by_the_next_request_on_either_worker(self):
        sid = self.signin()
        workers, visits = set(), []
        for _ in range(MAX_ATTEMPTS):
            r = self.request("POST", "/visit", headers=self.with_sid(sid))  # fresh connection
            self.assertStatus(r, 200)
            workers.add(r.json()["worker"])
            visits.append(r.json()["visits"])
            if workers == {1, 2} and len(visits) >= 4:
                break
        self.assertEqual(workers, {1, 2}, "every request was answered by one worker")
        self.assertEqual(visits, list(range(1, len(visits) + 1)))

    def probe_until_both_workers(self, sid, expected):
        """Fresh connections until each worker said exists == expected."""
        answered = set()
        for _ in range(MAX_ATTEMPTS):
            body = self.get("/probe", headers=self.with_sid(sid)).json()
            self.assertEqual(body["exists"], expected, body)
            answered.add(body["worker"])
            if answered == {1, 2}:
                return
        self.fail("every probe was answered by worker %s" % answered)

    def test_create_and_destroy_are_seen_by_both_workers(self):
        sid = self.signin()
        self.probe_until_both_workers(sid, True)
        r = self.request("POST", "/signout", headers=self.with_sid(sid))
        self.assertTrue(r.json()["destroyed"])
        self.probe_until_both_workers(sid, False)


class ExpiryTest(SessionTestCase):
    def test_expiry_slides_with_access_then_comes(self):
        r = self.request("POST", "/short")
        sid = r.json()["id"]
        self.assertEqual(r.header_all("Set-Cookie"),
                         ["short_sid=%s; Path=/; Max-Age=1; HttpOnly; SameSite=Lax" % sid])
        headers = self.with_sid(sid, "short_sid")
        c = self.connect()
        started = time.monotonic()
        reads = 0
        # Reads for three ttls: each read is an access, so the session lives on.
        while time.monotonic() - started < 3 * SHORT_TTL:
            last_sent = time.monotonic()
            r = c.request("GET", "/short", headers=headers)
            self.assertJSON(r, 200, {"alive": True, "value": "v"})
            reads += 1
        self.assertGreater(reads, 3)
        # exists is not an access: polled, it turns false once ttl has passed
        # since the last read, never before.
        deadline = time.monotonic() + DEADLINE
        while True:
            r = c.request("GET", "/short/exists", headers=headers)
            seen_at = time.monotonic()
            if not r.json()["exists"]:
                break
            self.assertLess(seen_at, deadline, "session never expired")
        self.assertGreaterEqual(seen_at - last_sent, SHORT_TTL - 0.02)
        self.assertJSON(c.request("GET", "/short", headers=headers), 200, {"alive": False})


class LifecycleTest(SessionTestCase):
    def test_regenerate_moves_the_data_and_retires_the_old_id(self):
        old = self.signin()
        self.request("POST", "/visit", headers=self.with_sid(old))
        r = self.request("POST", "/elevate", headers=self.with_sid(old))
        body = r.json()
        new = body["id"]
        self.assertEqual((body["moved"], body["old"], body["state"], body["role"]),
                         (True, old, "active", "admin"))
        self.assertRegex(new, ID_RE)
        self.assertNotEqual(new, old)
        self.assertEqual(r.header_all("Set-Cookie"),
                         ["sid=%s; Path=/; Max-Age=1800; HttpOnly; SameSite=Lax" % new])
        self.assertJSON(self.me(old), 401, {"error": "no session"})
        got = self.me(new).json()
        self.assertEqual((got["account"], got["visits"]), ("acct-9", 1))
        self.assertJSON(self.request("POST", "/remove/" + old), 200, {"deleted": False})

    def test_destroy(self):
        sid = self.signin()
        r = self.request("POST", "/signout", headers=self.with_sid(sid))
        self.assertJSON(r, 200, {"destroyed": True, "state": "invalidated", "valid": False,
                                 "exists": False})
        self.assertEqual(r.header_all("Set-Cookie"),
                         ["sid=; Path=/; Max-Age=0; Expires=" + EPOCH])
        self.assertJSON(self.me(sid), 401, {"error": "no session"})
        self.assertJSON(self.request("POST", "/signout", headers=self.with_sid(sid)), 401,
                        {"error": "no session"})

    def test_store_delete(self):
        sid = self.signin()
        self.assertJSON(self.request("POST", "/remove/" + sid), 200, {"deleted": True})
        self.assertJSON(self.request("POST", "/remove/" + sid), 200, {"deleted": False})
        self.assertJSON(self.me(sid), 401, {"error": "no session"})

    def test_get_or_create_never_adopts_an_unknown_id(self):
        unknown = "ab" * 16
        for headers in ({}, self.with_sid(unknown), self.with_sid("junk")):
            with self.subTest(headers=headers):
                r = self.get("/visitor", headers=headers)
                body = r.json()
                self.assertFalse(body["adopted"])
                self.assertFalse(body["sent_exists"])
                self.assertRegex(body["id"], ID_RE)
                self.assertEqual(cookie_id(r, "sid"), body["id"])
                self.assertNotEqual(body["id"], unknown)
        # The session it made is real, and a known id is kept.
        made = self.get("/visitor").json()["id"]
        again = self.get("/visitor", headers=self.with_sid(made)).json()
        self.assertEqual((again["id"], again["adopted"]), (made, True))
        sid = self.signin()
        self.assertTrue(self.get("/visitor", headers=self.with_sid(sid)).json()["adopted"])


class CookieFormatTest(SessionTestCase):
    def test_defaults(self):
        r = self.get("/cookie/default")
        body = r.json()
        self.assertEqual(body["name"], "rover_session")
        self.assertEqual(r.header_all("Set-Cookie"), [
            "rover_session=%s; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax" % body["id"]])
        jar = SimpleCookie()
        jar.load(r.header("Set-Cookie"))
        m = jar["rover_session"]
        self.assertEqual((m.value, m["path"], m["max-age"], m["samesite"]),
                         (body["id"], "/", "3600", "Lax"))
        self.assertTrue(m["httponly"])
        self.assertFalse(m["secure"])

    def test_every_option(self):
        r = self.get("/cookie/full")
        sid = r.json()["id"]
        self.assertEqual(r.header_all("Set-Cookie"), [
            "full_sid=%s; Path=/app; Domain=example.com; Max-Age=120; Secure; SameSite=Strict"
            % sid])
        jar = SimpleCookie()
        jar.load(r.header("Set-Cookie"))
        m = jar["full_sid"]
        self.assertEqual((m.value, m["path"], m["domain"], m["max-age"], m["samesite"]),
                         (sid, "/app", "example.com", "120", "Strict"))
        self.assertTrue(m["secure"])
        self.assertFalse(m["httponly"])


class ErrorsTest(SessionTestCase):
    def test_set_of_a_table_raises_at_the_apps_line(self):
        line = app_line(APPS_DIR / "sessions.lua", 's:set("t", { 1, 2 })')
        self.assertJSON(self.get("/bad_set"), 500, {"error": "%s:%d: %s" % (APP, line, SET_MSG)})

    def test_set_of_a_table_caught(self):
        body = self.get("/bad_set?caught=1").json()
        self.assertFalse(body["ok"])
        self.assertTrue(body["error"].endswith(SET_MSG), body)

    def test_bad_options_stop_the_app_at_its_line(self):
        cases = [
            ("{ cookie_name = 'a;b' }",
             "cookie_name must be a valid cookie name (a non-empty token)"),
            ("{ ttl = -5 }", "ttl must be a positive number of seconds (at most 2147483647)"),
            ("{ same_site = 'sometimes' }", "same_site must be 'lax', 'strict' or 'none'"),
            ("{ secure = 'yes' }", "secure must be a boolean"),
            ("{ path = 'no-slash' }",
             "path must be a string starting with '/', without ';' or control characters"),
            ("{ max_sessions = 0 }", "max_sessions must be a positive integer"),
            ("{ ttl_secs = 60 }", "unknown option 'ttl_secs'"),
        ]
        for opts, message in cases:
            with self.subTest(opts=opts):
                d = write_temp_app(self, "local api = rover.server {}\n"
                                         "local s = rover.session.new(%s)\n"
                                         "return api\n" % opts)
                p = run_rover(["app.lua"], cwd=d)
                self.assertEqual(p.returncode, 1, p)
                self.assertIn("app.lua:2: rover.session.new: " + message,
                              p.stderr.decode("utf-8"))


if __name__ == "__main__":
    unittest.main()

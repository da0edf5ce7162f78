"""runtime-modules.md §2 (rover.cookie) against the real binary: Set-Cookie
headers on real responses (exact text and attribute order, checked again with
Python's http.cookies as an independent parser), cookies read from requests,
delete, parse_set_cookie, and 'invalid cookie' both caught and uncaught.

App: tests/apps/cookies.lua (one worker).
"""

import json
import unittest
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from harness import CT_JSON, RoverTestCase, app_line, APPS_DIR

APP = "tests/apps/cookies.lua"
EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"


class CookieTestCase(RoverTestCase):
    APP = APP

    def set_cookies(self, resp):
        return resp.header_all("Set-Cookie")

    def make(self, **params):
        return self.get("/make?" + urlencode(params))


class SetCookieTest(CookieTestCase):
    def test_spec_example_through_api_json_headers(self):
        r = self.get("/theme")
        self.assertJSON(r, 200, {"ok": True})  # `headers` is not in the body
        self.assertEqual(self.set_cookies(r), ["theme=dark; Path=/; Max-Age=86400; SameSite=Strict"])

    def test_every_attribute_in_the_fixed_order(self):
        r = self.get("/full")
        self.assertText(r, 200, "full")
        self.assertEqual(self.set_cookies(r), [
            "sid=abc123; Path=/app; Domain=example.com; Max-Age=3600; "
            "Expires=Wed, 21 Oct 2037 07:28:00 GMT; Secure; HttpOnly; SameSite=None"])

    def test_python_reads_the_built_cookie(self):
        r = self.get("/full")
        jar = SimpleCookie()
        jar.load(r.header("Set-Cookie"))
        m = jar["sid"]
        self.assertEqual(m.value, "abc123")
        self.assertEqual(m["path"], "/app")
        self.assertEqual(m["domain"], "example.com")
        self.assertEqual(m["max-age"], "3600")
        self.assertEqual(m["expires"], "Wed, 21 Oct 2037 07:28:00 GMT")
        self.assertTrue(m["secure"])
        self.assertTrue(m["httponly"])
        self.assertEqual(m["samesite"], "None")

    def test_several_set_cookie_lines_on_a_redirect(self):
        r = self.get("/many")
        self.assertStatus(r, 302)
        self.assertEqual(r.header("Location"), "/home")
        self.assertEqual(self.set_cookies(r), [
            "a=1",
            "b=2; HttpOnly",
            "old=; Path=/app; Domain=example.com; Max-Age=0; Expires=" + EPOCH,
        ])

    def test_delete_on_a_204(self):
        r = self.request("POST", "/logout")
        self.assertStatus(r, 204)
        self.assertNoBodyHeaders(r)
        self.assertEqual(self.set_cookies(r), ["sid=; Path=/; Max-Age=0; Expires=" + EPOCH])
        jar = SimpleCookie()
        jar.load(r.header("Set-Cookie"))
        self.assertEqual(jar["sid"].value, "")
        self.assertEqual(jar["sid"]["max-age"], "0")

    def test_built_from_request_data(self):
        r = self.make(name="pref", value="v-1.2_x~", path="/p", max_age="60",
                      same_site="LAX", secure="1")
        self.assertText(r, 200, "built")
        self.assertEqual(self.set_cookies(r), ["pref=v-1.2_x~; Path=/p; Max-Age=60; Secure; SameSite=Lax"])

    def test_no_cookie_is_set_automatically(self):
        r = self.get("/read")
        self.assertEqual(self.set_cookies(r), [])


class InvalidCookieTest(CookieTestCase):
    def test_bad_names_and_values_raise_invalid_cookie(self):
        cases = [
            {"name": "bad name", "value": "x"},
            {"name": "a;b", "value": "x"},
            {"name": "", "value": "x"},
            {"name": "n", "value": "has space"},
            {"name": "n", "value": 'q"uote'},
            {"name": "n", "value": "a,b"},
            {"name": "n", "value": "a;b"},
            {"name": "n", "value": "back\\slash"},
            {"name": "n", "value": "tab\there"},
            {"name": "n", "value": "ctl\x01"},
            {"name": "n", "value": "ok", "same_site": "sometimes"},
            {"name": "n", "value": "ok", "path": "/; Domain=evil.example"},
            {"name": "n", "value": "ok", "max_age": "soon"},
        ]
        for params in cases:
            with self.subTest(params=params):
                r = self.make(**params)
                self.assertStatus(r, 400)
                self.assertTrue(r.text.endswith("invalid cookie"), r)
                self.assertEqual(self.set_cookies(r), [])

    def test_uncaught_invalid_cookie_is_a_500_with_the_apps_position(self):
        r = self.get("/make?" + urlencode({"name": "bad name", "value": "x", "raise": "1"}))
        line = app_line(APPS_DIR / "cookies.lua", "local b = cookie.set(q.name, q.value)")
        self.assertJSON(r, 500, {"error": "%s:%d: invalid cookie" % (APP, line)})
        self.assertEqual(self.set_cookies(r), [])


class ReadCookieTest(CookieTestCase):
    def read(self, *cookie_headers):
        headers = [("Cookie", c) for c in cookie_headers]
        r = self.get("/read", headers=headers)
        self.assertStatus(r, 200)
        self.assertContentType(r, CT_JSON)
        return r.json()

    def test_pairs_trimmed_quotes_removed(self):
        self.assertEqual(self.read('a=1; b = two ;c="quoted value";d=x=y'),
                         {"a": "1", "b": "two", "c": "quoted value", "d": "x=y"})

    def test_pieces_without_equals_skipped_first_occurrence_wins(self):
        self.assertEqual(self.read("flag; a=1; a=2; ;b="), {"a": "1", "b": ""})

    def test_no_cookie_header(self):
        self.assertEqual(self.read(), {})
        self.assertEqual(self.read(""), {})

    def test_repeated_cookie_fields_are_joined(self):
        # lua-api.md §6.1 joins repeated Cookie fields with "; "; the first a= wins.
        self.assertEqual(self.read("a=1; b=2", "a=3; c=4"), {"a": "1", "b": "2", "c": "4"})

    def test_python_built_cookie_header(self):
        jar = SimpleCookie()
        jar["sid"] = "s-123"
        jar["theme"] = "dark"
        header = "; ".join(m.OutputString() for m in jar.values())
        self.assertEqual(self.read(header), {"sid": "s-123", "theme": "dark"})

    def test_read_and_set_again(self):
        r = self.get("/renew", headers={"Cookie": "other=1; sid=abc"})
        self.assertJSON(r, 200, {"sid": "abc"})
        self.assertEqual(self.set_cookies(r), ["sid=abc; Path=/; Max-Age=7200; HttpOnly"])
        r = self.get("/renew")
        self.assertJSON(r, 401, {"error": "no session"})


class ParseSetCookieTest(CookieTestCase):
    def inspect(self, line):
        r = self.request("POST", "/inspect", body=line.encode())
        self.assertStatus(r, 200)
        return r.json()

    def test_fields(self):
        got = self.inspect("id=a3f; path=/docs; DOMAIN=example.com; Max-Age=120; "
                           "expires=Wed, 21 Oct 2037 07:28:00 GMT; secure; HTTPONLY; samesite=lax")
        self.assertEqual(got, {
            "name": "id", "value": "a3f", "path": "/docs", "domain": "example.com",
            "max_age": 120, "expires": "Wed, 21 Oct 2037 07:28:00 GMT",
            "secure": True, "http_only": True, "same_site": "Lax"})

    def test_absent_attributes(self):
        self.assertEqual(self.inspect("k=v"),
                         {"name": "k", "value": "v", "secure": False, "http_only": False})

    def test_what_the_server_sent_reads_back(self):
        line = self.get("/full").header("Set-Cookie")
        got = self.inspect(line)
        self.assertEqual(got["same_site"], "None")
        self.assertEqual(got["max_age"], 3600)
        self.assertEqual((got["name"], got["value"], got["path"]), ("sid", "abc123", "/app"))

    def test_line_without_name_value_pair_is_ignored(self):
        self.assertEqual(self.inspect("Secure; HttpOnly"), {"ignored": True})


if __name__ == "__main__":
    unittest.main()

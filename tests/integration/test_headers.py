"""server-features.md §4 (response headers from the app), §5 (security
headers) and §6 (CORS), against the real binary.

Apps: tests/apps/headers.lua (app headers, security defaults,
body_size_limit 64), headers_insecure.lua
(allow_insecure_security_header_overrides), headers_off.lua
(security_headers = false), headers_cors_any.lua ("*"),
headers_cors_any_credentials.lua ("*" + credentials), headers_cors_one.lua
(one origin), headers_cors_list.lua (array + credentials); the CORS apps
share the routes of headers_cors_common.lua and turn compression off so
that Vary holds only what CORS and the app put there.
"""

import unittest

from harness import (CT_JSON, CT_TEXT, IMF_DATE_RE, RoverTestCase, build_request)

XCTO, XFO, RP = "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"
DEFAULTS = {XCTO: "nosniff", XFO: "DENY", RP: "strict-origin-when-cross-origin"}

ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"
ACAM = "Access-Control-Allow-Methods"
ACAH = "Access-Control-Allow-Headers"
CORS_NAMES = (ACAO, ACAC, ACAM, ACAH, "Access-Control-Expose-Headers",
              "Access-Control-Max-Age")
DEFAULT_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD"
DEFAULT_HEADERS = "Content-Type, Authorization"


class HeadersBase(RoverTestCase):
    def assertSecurity(self, resp, **expected):
        """Each security header exactly once with the expected value
        (defaults unless given: xcto=, xfo=, rp=)."""
        want = dict(DEFAULTS)
        for key, name in (("xcto", XCTO), ("xfo", XFO), ("rp", RP)):
            if key in expected:
                want[name] = expected[key]
        for name, value in want.items():
            self.assertEqual(resp.header_all(name), [value], "%s in %r" % (name, resp))

    def assertNoSecurity(self, resp):
        for name in (XCTO, XFO, RP):
            self.assertEqual(resp.header_all(name), [], "%s in %r" % (name, resp))

    def assertNoCors(self, resp):
        for name in CORS_NAMES:
            self.assertEqual(resp.header_all(name), [], "%s in %r" % (name, resp))
        for v in resp.header_all("Vary"):
            self.assertNotIn("origin", v.lower(), resp)

    def vary_tokens(self, resp):
        return [t.strip() for v in resp.header_all("Vary") for t in v.split(",") if t.strip()]


# ---------------------------------------------------------------------------
# §4


class AppHeadersTest(HeadersBase):
    APP = "tests/apps/headers.lua"

    def test_json_headers_field(self):
        r = self.get("/h/json_headers")
        self.assertJSONBytes(r, 200, '{"saved":true}')
        self.assertEqual(r.header_all("Cache-Control"), ["no-store"])
        self.assertEqual(r.header_all("X-Num"), ["5"])

    def test_json_status_headers_field(self):
        r = self.get("/h/json_status_headers")
        self.assertJSONBytes(r, 201, '{"id":7}')
        self.assertEqual(r.header_all("Location"), ["/things/7"])
        self.assertEqual(r.header_all("X-Float"), ["2.5"])

    def test_json_headers_array_value(self):
        r = self.get("/h/json_array")
        self.assertJSONBytes(r, 200, '{"ok":1}')
        self.assertEqual(r.header_all("Set-Cookie"), ["a=1; Path=/", "b=2; HttpOnly"])

    def test_header_chains_and_returns_same_object(self):
        r = self.get("/h/chain")
        self.assertText(r, 200, "chained")
        self.assertEqual(r.header_all("X-One"), ["1"])
        self.assertEqual(r.header_all("X-Two"), ["2"])
        self.assertEqual(r.header_all("X-Same"), ["true"])

    def test_array_value_gives_one_field_line_each(self):
        r = self.get("/h/array")
        self.assertText(r, 200, "cookies")
        self.assertEqual(r.header_all("Set-Cookie"), ["a=1", "b=2", "c=3"])
        self.assertEqual(r.raw_head.count(b"\r\nSet-Cookie: "), 3, r.raw_head)

    def test_header_replaces_case_insensitively(self):
        r = self.get("/h/replace")
        self.assertText(r, 200, "replaced")
        self.assertEqual(r.header_all("X-Rep"), ["second"])
        self.assertEqual(r.header_all("X-Other"), ["o"])

    def test_names_sent_as_written(self):
        r = self.get("/h/as_written")
        self.assertIn(b"\r\nx-lower-name: v1\r\n", r.raw_head)
        self.assertIn(b"\r\nX-MiXeD-Name: v2\r\n", r.raw_head)

    def test_app_content_type_replaces_builders(self):
        r = self.get("/h/content_type")
        self.assertText(r, 200, "a,b", "text/csv")
        r = self.get("/h/content_type_json")
        self.assertStatus(r, 200)
        self.assertEqual(r.header_all("Content-Type"), ["application/problem+json"])
        self.assertEqual(r.body, b'{"e":1}')

    def test_server_only_headers_ignored(self):
        c = self.connect()
        r = c.request("GET", "/h/server_only")
        self.assertText(r, 200, "server only")
        self.assertEqual(r.header_all("X-Kept"), ["yes"])
        for name in ("Transfer-Encoding", "Keep-Alive", "Upgrade", "Trailer", "TE"):
            self.assertEqual(r.header_all(name), [], "%s in %r" % (name, r))
        self.assertNotIn("close", [v.lower() for v in r.header_all("Connection")])
        dates = r.header_all("Date")
        self.assertEqual(len(dates), 1, r)
        self.assertRegex(dates[0], IMF_DATE_RE)
        # The connection stays open: the app's Connection: close was ignored.
        self.assertText(c.request("GET", "/plain"), 200, "plain")

    def test_many_header_names(self):
        # more distinct names than the prelude remembers as valid: all sent, and
        # invalid names and values still raise afterwards
        for _ in range(2):
            r = self.get("/h/many_names")
            self.assertText(r, 200, "many")
            self.assertEqual(r.header_all("X-N1"), ["v"])
            self.assertEqual(r.header_all("X-N600"), ["v"])
        for path in ("/h/bad_name", "/h/valid_then_bad", "/h/bad_cr"):
            self.assertStatus(self.get(path), 500)

    def test_header_on_redirect(self):
        r = self.get("/h/redirect_cookie")
        self.assertStatus(r, 302)
        self.assertEqual(r.header_all("Location"), ["/home"])
        self.assertEqual(r.header_all("Set-Cookie"), ["sid=1"])

    def test_invalid_headers_raise(self):
        for path, name in (("/h/bad_name", "X Bad"), ("/h/bad_value", "X-Bad"),
                           ("/h/bad_array_value", "X-Bad-Array"),
                           ("/h/bad_json_headers", "X-Bad-Json"), ("/h/bad_cr", "X-Bad-Cr"),
                           ("/h/bad_nul", "X-Bad-Nul"), ("/h/valid_then_bad", "X-Twice")):
            with self.subTest(path=path):
                r = self.get(path)
                self.assertStatus(r, 500)
                self.assertContentType(r, CT_JSON)
                msg = r.json()["error"]
                self.assertTrue(msg.endswith("invalid header '%s'" % name), msg)
                self.assertEqual(r.header_all("Injected"), [])


# ---------------------------------------------------------------------------
# §5


class SecurityDefaultsTest(HeadersBase):
    """§5: the three headers on every response the server sends."""
    APP = "tests/apps/headers.lua"

    def test_handler_responses(self):
        r = self.get("/plain")
        self.assertText(r, 200, "plain")
        self.assertSecurity(r)
        r = self.get("/empty")
        self.assertStatus(r, 204)
        self.assertSecurity(r)
        r = self.get("/go")
        self.assertStatus(r, 302)
        self.assertSecurity(r)
        r = self.get("/denied")
        self.assertJSONBytes(r, 403, '{"error":"denied"}')
        self.assertSecurity(r)
        r = self.get("/boom")
        self.assertStatus(r, 500)
        self.assertSecurity(r)
        r = self.request("HEAD", "/plain")
        self.assertStatus(r, 200)
        self.assertSecurity(r)

    def test_404_405_options(self):
        r = self.get("/nowhere")
        self.assertText(r, 404, "Route not found")
        self.assertSecurity(r)
        r = self.request("DELETE", "/plain")
        self.assertText(r, 405, "Method Not Allowed")
        self.assertSecurity(r)
        r = self.request("OPTIONS", "/plain")
        self.assertStatus(r, 204)
        self.assertEqual(r.header_all("Allow"), ["GET, HEAD, POST, OPTIONS"])
        self.assertSecurity(r)

    def test_413(self):
        c = self.connect()
        c.send(build_request("POST", "/upload", body=b"x" * 100))
        r = c.read_response()
        self.assertJSONBytes(
            r, 413, '{"error":"Request body too large: 100 bytes exceeds limit of 64 bytes"}')
        self.assertSecurity(r)
        # A body at the limit is accepted (the test above can fail).
        r = self.request("POST", "/upload", body=b"y" * 64)
        self.assertText(r, 200, "64")
        self.assertSecurity(r)

    def test_probes(self):
        r = self.get("/healthz")
        self.assertJSONBytes(r, 200, '{"status":"ok"}')
        self.assertSecurity(r)
        r = self.get("/readyz")
        self.assertJSONBytes(r, 200, '{"status":"ready"}')
        self.assertSecurity(r)
        r = self.request("POST", "/healthz")
        self.assertStatus(r, 405)
        self.assertSecurity(r)

    def test_400_responses(self):
        r = self.request("FETCH", "/plain")
        self.assertStatus(r, 400)
        self.assertSecurity(r)
        c = self.connect()
        c.send(b"GET /plain HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n")
        r = c.read_response()
        self.assertStatus(r, 400)
        self.assertSecurity(r)

    def test_transport_errors(self):
        for status, data in (
                (414, build_request("GET", "/" + "a" * 17000)),
                (431, build_request("GET", "/plain", headers={"X-Big": "b" * 17000})),
                (505, b"GET /plain HTTP/2.0\r\nHost: x\r\n\r\n")):
            with self.subTest(status=status):
                c = self.connect()
                c.send(data)
                r = c.read_response()
                self.assertStatus(r, status)
                self.assertSecurity(r)

    def test_not_on_100_continue(self):
        c = self.connect()
        c.send(build_request("POST", "/upload", headers={"Expect": "100-continue",
                                                         "Content-Length": "3"}))
        interim = c.read_response(skip_1xx=False)
        self.assertEqual(interim.status, 100)
        self.assertNoSecurity(interim)
        c.send(b"abc")
        r = c.read_response()
        self.assertText(r, 200, "3")
        self.assertSecurity(r)

    def test_json_builder_headers_field(self):
        r = self.get("/sec_json")
        self.assertJSONBytes(r, 200, '{"ok":true}')
        self.assertSecurity(r, xfo="SAMEORIGIN")


class SecurityOverridesTest(HeadersBase):
    """§5 table: keepable values kept as written, others replaced."""
    APP = "tests/apps/headers.lua"

    def sec(self, query):
        r = self.get("/sec?" + query)
        self.assertText(r, 200, "sec")
        return r

    def test_absent_gets_defaults(self):
        self.assertSecurity(self.sec("none=1"))

    def test_keepable_values_kept(self):
        self.assertSecurity(self.sec("xfo=SAMEORIGIN"), xfo="SAMEORIGIN")
        self.assertSecurity(self.sec("xfo=DENY"), xfo="DENY")
        self.assertSecurity(self.sec("xcto=nosniff"))
        for rp in ("no-referrer", "same-origin", "strict-origin",
                   "strict-origin-when-cross-origin"):
            with self.subTest(rp=rp):
                self.assertSecurity(self.sec("rp=" + rp), rp=rp)
        self.assertSecurity(self.sec("xcto=nosniff&xfo=SAMEORIGIN&rp=no-referrer"),
                            xfo="SAMEORIGIN", rp="no-referrer")

    def test_keepable_compared_trimmed_and_case_insensitive(self):
        self.assertSecurity(self.sec("xfo=%20sameorigin%20"), xfo="sameorigin")
        self.assertSecurity(self.sec("xfo=deny"), xfo="deny")
        self.assertSecurity(self.sec("xcto=NoSniff"), xcto="NoSniff")
        self.assertSecurity(self.sec("rp=%09No-Referrer%20"), rp="No-Referrer")
        self.assertSecurity(self.sec("rp=SAME-ORIGIN"), rp="SAME-ORIGIN")

    def test_other_values_replaced(self):
        self.assertSecurity(self.sec("xfo=ALLOW-FROM%20https://x.example"))
        self.assertSecurity(self.sec("xfo=SAMEORIGIN,DENY"))
        self.assertSecurity(self.sec("xfo="))
        self.assertSecurity(self.sec("xcto=sniff"))
        self.assertSecurity(self.sec("xcto=nosniff2"))
        for rp in ("unsafe-url", "no-referrer-when-downgrade", "origin",
                   "origin-when-cross-origin", "no-referrer, unsafe-url"):
            with self.subTest(rp=rp):
                self.assertSecurity(self.sec("rp=" + rp.replace(" ", "%20")))
        self.assertSecurity(self.sec("xcto=sniff&xfo=SAMEORIGIN&rp=unsafe-url"),
                            xfo="SAMEORIGIN")

    def test_app_names_in_any_case(self):
        r = self.sec("case=lower&xfo=SAMEORIGIN&rp=unsafe-url&xcto=nosniff")
        self.assertSecurity(r, xfo="SAMEORIGIN")
        self.assertIn(b"\r\nx-frame-options: SAMEORIGIN\r\n", r.raw_head)
        self.assertEqual(r.raw_head.lower().count(b"\r\nx-frame-options:"), 1)
        self.assertEqual(r.raw_head.lower().count(b"\r\nreferrer-policy:"), 1)
        self.assertEqual(r.raw_head.lower().count(b"\r\nx-content-type-options:"), 1)


class SecurityInsecureOverridesTest(HeadersBase):
    APP = "tests/apps/headers_insecure.lua"

    def sec(self, query):
        r = self.get("/sec?" + query)
        self.assertText(r, 200, "sec")
        return r

    def test_app_values_kept(self):
        self.assertSecurity(self.sec("xfo=ALLOW-FROM%20https://x.example"),
                            xfo="ALLOW-FROM https://x.example")
        self.assertSecurity(self.sec("xcto=sniff"), xcto="sniff")
        self.assertSecurity(self.sec("rp=unsafe-url"), rp="unsafe-url")
        self.assertSecurity(self.sec("xfo=SAMEORIGIN&rp=no-referrer"), xfo="SAMEORIGIN",
                            rp="no-referrer")

    def test_absent_still_defaults(self):
        self.assertSecurity(self.sec("none=1"))
        r = self.get("/nowhere")
        self.assertStatus(r, 404)
        self.assertSecurity(r)


class SecurityOffTest(HeadersBase):
    APP = "tests/apps/headers_off.lua"

    def test_none_added(self):
        r = self.get("/plain")
        self.assertText(r, 200, "plain")
        self.assertNoSecurity(r)
        for method, path, status in (("GET", "/nowhere", 404), ("DELETE", "/plain", 405),
                                     ("GET", "/boom", 500), ("OPTIONS", "/plain", 204),
                                     ("GET", "/healthz", 200)):
            with self.subTest(path=path, method=method):
                r = self.request(method, path)
                self.assertStatus(r, status)
                self.assertNoSecurity(r)
        c = self.connect()
        c.send(build_request("POST", "/plain", body=b"x" * 65))
        r = c.read_response()
        self.assertStatus(r, 413)
        self.assertNoSecurity(r)

    def test_app_value_passes_through(self):
        r = self.get("/own")
        self.assertText(r, 200, "own")
        self.assertEqual(r.header_all(XFO), ["SAMEORIGIN"])
        self.assertEqual(r.header_all(XCTO), [])
        self.assertEqual(r.header_all(RP), [])


# ---------------------------------------------------------------------------
# §6


class CorsCases:
    """Tests every CORS app runs; mixed into a HeadersBase per app."""

    ORIGIN = None       # an allowed Origin value to send
    EXPECT_ACAO = None  # what the server must send for it
    CREDENTIALS = False
    METHODS = DEFAULT_METHODS
    HEADERS = DEFAULT_HEADERS

    def count(self, name):
        r = self.get("/count/" + name)
        self.assertStatus(r, 200)
        return int(r.body)

    def hooked_counts(self):
        return [self.count(n) for n in ("hooked:before", "hooked:after", "hooked:options")]

    def assertCors(self, resp, acao=None):
        acao = acao or self.EXPECT_ACAO
        self.assertEqual(resp.header_all(ACAO), [acao], resp)
        self.assertEqual(resp.header_all(ACAC), ["true"] if self.CREDENTIALS else [], resp)
        if acao == "*":
            self.assertNotIn("Origin", self.vary_tokens(resp), resp)
        else:
            self.assertEqual(resp.header_all("Vary"), ["Origin"], resp)

    def preflight(self, path, origin=None, method="POST", extra=()):
        headers = [("Origin", origin or self.ORIGIN),
                   ("Access-Control-Request-Method", method)] + list(extra)
        return self.request("OPTIONS", path, headers=headers)

    def assertPreflight(self, r, acao=None):
        self.assertStatus(r, 204)
        self.assertNoBodyHeaders(r)
        self.assertCors(r, acao)
        self.assertEqual(r.header_all(ACAM), [self.METHODS], r)
        self.assertEqual(r.header_all(ACAH), [self.HEADERS], r)
        self.assertSecurity(r)

    # -- actual requests ------------------------------------------------------

    def test_actual_request_gets_cors_headers(self):
        r = self.get("/data", headers={"Origin": self.ORIGIN})
        self.assertJSONBytes(r, 200, '{"ok":true}')
        self.assertCors(r)
        self.assertSecurity(r)

    def test_no_origin_no_cors_headers(self):
        r = self.get("/data")
        self.assertJSONBytes(r, 200, '{"ok":true}')
        self.assertNoCors(r)
        self.assertEqual(r.header_all("Vary"), [])

    def test_cors_on_404_405_and_errors(self):
        h = {"Origin": self.ORIGIN}
        r = self.get("/nowhere", headers=h)
        self.assertText(r, 404, "Route not found")
        self.assertCors(r)
        r = self.get("/only_post", headers=h)
        self.assertText(r, 405, "Method Not Allowed")
        self.assertCors(r)
        r = self.get("/boom", headers=h)
        self.assertJSONBytes(r, 500, '{"error":"boom"}')
        self.assertCors(r)
        r = self.get("/denied", headers=h)
        self.assertJSONBytes(r, 403, '{"error":"denied"}')
        self.assertCors(r)
        r = self.get("/healthz", headers=h)
        self.assertJSONBytes(r, 200, '{"status":"ok"}')
        self.assertCors(r)

    def test_app_cors_header_replaced(self):
        r = self.get("/app_cors", headers={"Origin": self.ORIGIN})
        self.assertText(r, 200, "app cors")
        self.assertEqual(r.header_all(ACAO), [self.EXPECT_ACAO], r)
        if self.CREDENTIALS:
            self.assertEqual(r.header_all(ACAC), ["true"], r)

    def test_options_without_request_method_is_actual_request(self):
        r = self.request("OPTIONS", "/data", headers={"Origin": self.ORIGIN})
        self.assertStatus(r, 204)
        self.assertEqual(r.header_all("Allow"), ["GET, HEAD, OPTIONS"])
        self.assertCors(r)
        before = self.hooked_counts()
        r = self.request("OPTIONS", "/hooked", headers={"Origin": self.ORIGIN})
        self.assertText(r, 200, "custom options")
        self.assertCors(r)
        self.assertEqual(self.hooked_counts(), [n + 1 for n in before])

    # -- preflights -----------------------------------------------------------

    def test_preflight(self):
        before = self.hooked_counts()
        r = self.preflight("/hooked", extra=[("Access-Control-Request-Headers", "X-Custom-Header")])
        self.assertPreflight(r)
        # Neither middleware nor the options handler ran.
        self.assertEqual(self.hooked_counts(), before)
        # They do run for an ordinary request to the same route.
        self.assertText(self.get("/hooked"), 200, "hooked get")
        self.assertEqual(self.hooked_counts(), [before[0] + 1, before[1] + 1, before[2]])

    def test_preflight_any_path(self):
        for path in ("/no/such/path", "/healthz", "/data", "/only_post"):
            with self.subTest(path=path):
                self.assertPreflight(self.preflight(path, method="DELETE"))

    def test_preflight_keeps_connection(self):
        c = self.connect()
        r = c.request("OPTIONS", "/data", headers={"Origin": self.ORIGIN,
                                                   "Access-Control-Request-Method": "GET"})
        self.assertPreflight(r)
        self.assertEqual(c.pending(), b"")
        self.assertJSONBytes(c.request("GET", "/data"), 200, '{"ok":true}')


class CorsAnyTest(CorsCases, HeadersBase):
    APP = "tests/apps/headers_cors_any.lua"
    ORIGIN = "https://a.example"
    EXPECT_ACAO = "*"

    def test_any_origin(self):
        for origin in ("https://a.example", "http://localhost:3000", "null",
                       "https://EVIL.example"):
            with self.subTest(origin=origin):
                r = self.get("/data", headers={"Origin": origin})
                self.assertJSONBytes(r, 200, '{"ok":true}')
                self.assertCors(r)
                self.assertEqual(r.header_all("Vary"), [])

    def test_app_vary_untouched(self):
        r = self.get("/vary", headers={"Origin": self.ORIGIN})
        self.assertCors(r)
        self.assertEqual(r.header_all("Vary"), ["Accept-Language"])


class CorsAnyCredentialsTest(CorsCases, HeadersBase):
    APP = "tests/apps/headers_cors_any_credentials.lua"
    ORIGIN = "https://a.example"
    EXPECT_ACAO = "*"
    CREDENTIALS = True


class CorsOneTest(CorsCases, HeadersBase):
    APP = "tests/apps/headers_cors_one.lua"
    ORIGIN = "https://App.Example.com"
    EXPECT_ACAO = "https://App.Example.com"

    def test_case_insensitive_match_sends_configured_spelling(self):
        for origin in ("https://app.example.com", "HTTPS://APP.EXAMPLE.COM",
                       "https://App.Example.com"):
            with self.subTest(origin=origin):
                r = self.get("/data", headers={"Origin": origin})
                self.assertCors(r)
                self.assertPreflight(self.preflight("/data", origin=origin))

    def test_disallowed_origins(self):
        for origin in ("https://evil.example", "https://app.example.com.evil",
                       "https://sub.app.example.com", "http://app.example.com",
                       "https://app.example.com:443", "https://app.example.com/",
                       "https://app.example.co", "null", "*"):
            with self.subTest(origin=origin):
                r = self.get("/data", headers={"Origin": origin})
                self.assertJSONBytes(r, 200, '{"ok":true}')
                self.assertNoCors(r)

    def test_disallowed_preflight_is_ordinary_options(self):
        r = self.preflight("/data", origin="https://evil.example")
        self.assertStatus(r, 204)
        self.assertNoBodyHeaders(r)
        self.assertEqual(r.header_all("Allow"), ["GET, HEAD, OPTIONS"])
        self.assertNoCors(r)
        self.assertSecurity(r)
        before = self.hooked_counts()
        r = self.preflight("/hooked", origin="https://evil.example")
        self.assertText(r, 200, "custom options")
        self.assertNoCors(r)
        self.assertEqual(self.hooked_counts(), [n + 1 for n in before])
        r = self.preflight("/nowhere", origin="https://evil.example")
        self.assertText(r, 404, "Route not found")
        self.assertNoCors(r)

    def test_vary_merged(self):
        r = self.get("/vary", headers={"Origin": self.ORIGIN})
        self.assertJSONBytes(r, 200, '{"ok":true}')
        self.assertEqual(r.header_all(ACAO), [self.EXPECT_ACAO])
        self.assertEqual(r.header_all("Vary"), ["Accept-Language, Origin"])
        r = self.get("/vary_origin", headers={"Origin": self.ORIGIN})
        self.assertEqual(r.header_all("Vary"), ["Origin"])
        r = self.get("/vary")
        self.assertEqual(r.header_all("Vary"), ["Accept-Language"])
        self.assertNoCors(r)


class CorsListTest(CorsCases, HeadersBase):
    APP = "tests/apps/headers_cors_list.lua"
    ORIGIN = "https://b.example"
    EXPECT_ACAO = "https://B.Example"
    CREDENTIALS = True
    METHODS = "GET,POST ,  DELETE"
    HEADERS = "X-Custom-Header, content-type"

    def test_spec_table_rows(self):
        r = self.get("/data", headers={"Origin": "https://b.example"})
        self.assertEqual(r.header_all(ACAO), ["https://B.Example"])
        self.assertEqual(r.header_all(ACAC), ["true"])
        self.assertEqual(r.header_all("Vary"), ["Origin"])
        r = self.get("/data", headers={"Origin": "https://evil.example"})
        self.assertJSONBytes(r, 200, '{"ok":true}')
        self.assertNoCors(r)

    def test_each_configured_origin(self):
        for origin, acao in (("https://a.example", "https://a.example"),
                             ("HTTPS://A.EXAMPLE", "https://a.example"),
                             ("https://B.EXAMPLE", "https://B.Example")):
            with self.subTest(origin=origin):
                r = self.get("/data", headers={"Origin": origin})
                self.assertCors(r, acao)
                self.assertPreflight(self.preflight("/hooked", origin=origin), acao)

    def test_disallowed_origins(self):
        for origin in ("https://c.example", "https://a.example.evil", "https://xa.example",
                       "http://a.example", "https://a.example/", "https://b.example:8443",
                       "https://a.example, https://b.example", "null"):
            with self.subTest(origin=origin):
                r = self.get("/data", headers={"Origin": origin})
                self.assertJSONBytes(r, 200, '{"ok":true}')
                self.assertNoCors(r)

    def test_disallowed_preflight_is_ordinary_options(self):
        r = self.preflight("/data", origin="https://c.example")
        self.assertStatus(r, 204)
        self.assertEqual(r.header_all("Allow"), ["GET, HEAD, OPTIONS"])
        self.assertNoCors(r)

    def test_vary_merged(self):
        r = self.get("/vary", headers={"Origin": "https://a.example"})
        self.assertEqual(r.header_all(ACAO), ["https://a.example"])
        self.assertEqual(r.header_all("Vary"), ["Accept-Language, Origin"])


if __name__ == "__main__":
    unittest.main()

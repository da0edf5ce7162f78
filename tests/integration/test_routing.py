"""lua-api.md §4 (declaring routes) and §5 (matching, automatic responses)."""

import unittest

from harness import (ALL_METHODS_ALLOW, CT_JSON, CT_TEXT, INVALID_METHOD_FMT,
                     RoverTestCase)


class RoutingTest(RoverTestCase):
    APP = "tests/apps/routing.lua"

    def assertNotFound(self, resp):
        self.assertText(resp, 404, "Route not found")

    def assertMethodNotAllowed(self, resp, allow):
        self.assertText(resp, 405, "Method Not Allowed")
        self.assertEqual(resp.header_all("Allow"), [allow])

    # -- §4 table ----------------------------------------------------------

    def test_spec_table_routes(self):
        cases = [
            ("GET", "/", "root"),
            ("GET", "/books", "books"),
            ("POST", "/books/archive", "archive"),
            ("GET", "/books/978-3", "book 978-3"),
            ("DELETE", "/shelves/s1/books/b2", "shelf s1 book b2"),
            ("GET", "/out_of_print", "out_of_print"),
            ("GET", "/v2/books", "v2 books"),
        ]
        for method, path, body in cases:
            with self.subTest(method=method, path=path):
                self.assertText(self.request(method, path), 200, body)

    def test_param_names_verbatim(self):
        self.assertText(self.get("/names/a/b"), 200, "a|b")

    def test_static_segments_case_sensitive_and_verbatim(self):
        self.assertText(self.get("/CamelCase"), 200, "camel")
        self.assertNotFound(self.get("/camelcase"))
        self.assertNotFound(self.get("/BOOKS"))
        self.assertText(self.get("/a-b.c~d!$&'()*+,;=:@"), 200, "chars")

    def test_static_segment_not_decoded(self):
        # '%62ooks' decodes to 'books' but static segments compare raw bytes.
        self.assertNotFound(self.get("/%62ooks"))

    def test_method_keys_case_insensitive(self):
        self.assertText(self.get("/upper"), 200, "upper GET")
        self.assertText(self.request("POST", "/upper"), 200, "upper Post")

    def test_callable_table_handler(self):
        self.assertText(self.get("/callable"), 200, "callable")

    def test_ignored_values_and_empty_nodes(self):
        self.assertNotFound(self.get("/ignored_number"))
        self.assertNotFound(self.get("/books/ignored_string/x"))
        self.assertNotFound(self.get("/empty/node/chain"))
        # /books/ignored_string matches /books/{isbn} — the string is no route.
        self.assertText(self.get("/books/ignored_string"), 200, "book ignored_string")

    # -- precedence ----------------------------------------------------------

    def test_static_beats_param(self):
        self.assertText(self.get("/users/me"), 200, "me")
        self.assertText(self.get("/users/42"), 200, "user 42")

    def test_precedence_only_among_routes_with_method(self):
        self.assertText(self.request("DELETE", "/users/me"), 200, "deleted me")
        # /books/archive has only POST: GET falls back to /books/{isbn}.
        self.assertText(self.get("/books/archive"), 200, "book archive")
        self.assertText(self.request("POST", "/books/archive"), 200, "archive")
        self.assertText(self.request("DELETE", "/users/7"), 200, "deleted 7")

    def test_precedence_first_differing_segment(self):
        self.assertText(self.get("/prec/b/c"), 200, "static-first y=c")
        self.assertText(self.get("/prec/z/c"), 200, "param-first x=z")
        self.assertText(self.get("/prec/b/zz"), 200, "static-first y=zz")
        self.assertNotFound(self.get("/prec/z/zz"))

    # -- parameter values -----------------------------------------------------

    def test_param_percent_decoding(self):
        cases = [
            ("/files/a%2Fb", b"a/b"),
            ("/files/a%2fb", b"a/b"),
            ("/files/a+b", b"a+b"),
            ("/files/a%20b", b"a b"),
            ("/files/%41%42c", b"ABc"),
            ("/files/%252F", b"%2F"),  # decoded once only
            ("/files/caf%C3%A9", "caf\u00e9".encode()),
            ("/files/%FF%00x", b"\xff\x00x"),
        ]
        for path, value in cases:
            with self.subTest(path=path):
                r = self.get(path)
                self.assertStatus(r, 200)
                self.assertEqual(r.body, value)

    def test_param_invalid_percent_is_404(self):
        for path in ("/files/%zz", "/files/a%2", "/files/%", "/files/%G1"):
            with self.subTest(path=path):
                self.assertNotFound(self.get(path))

    def test_param_must_be_non_empty(self):
        self.assertNotFound(self.get("/files/"))
        self.assertNotFound(self.get("/names//b"))

    # -- shape ---------------------------------------------------------------

    def test_trailing_slash_is_404(self):
        self.assertNotFound(self.get("/books/"))
        self.assertNotFound(self.get("/v2/books/"))

    def test_empty_segments_never_match(self):
        self.assertNotFound(self.get("//"))
        self.assertNotFound(self.get("//books"))
        self.assertNotFound(self.get("/v2//books"))

    def test_query_not_part_of_matching(self):
        self.assertText(self.get("/books?x=1&y=/z"), 200, "books")
        self.assertText(self.get("/?a=b"), 200, "root")
        self.assertText(self.get("/books/12?q"), 200, "book 12")

    def test_unknown_path_404(self):
        r = self.get("/no/such/route")
        self.assertNotFound(r)
        self.assertFalse(r.has("Allow"))

    # -- HEAD ------------------------------------------------------------------

    def test_head_served_by_get(self):
        c = self.connect()
        g = c.request("GET", "/items")
        self.assertStatus(g, 200)
        self.assertEqual(g.body, b'{"items":["a","b"]}')
        h = c.request("HEAD", "/items")
        self.assertStatus(h, 200)
        self.assertEqual(h.body, b"")
        self.assertEqual(h.header_all("Content-Type"), [CT_JSON])
        self.assertEqual(h.header_all("Content-Length"), [str(len(g.body))])
        self.assertEqual(h.header_all("X-Custom"), ["yes"])
        # No body bytes were sent: the next response starts right away.
        self.assertEqual(c.pending(), b"")
        self.assertText(c.request("GET", "/books"), 200, "books")

    def test_head_for_text_route(self):
        c = self.connect()
        h = c.request("HEAD", "/books/12345")
        self.assertStatus(h, 200)
        self.assertEqual(h.header_all("Content-Type"), [CT_TEXT])
        self.assertEqual(h.header_all("Content-Length"), [str(len("book 12345"))])
        self.assertEqual(c.pending(), b"")
        self.assertText(c.request("GET", "/"), 200, "root")

    def test_explicit_head_handler_body_dropped(self):
        c = self.connect()
        h = c.request("HEAD", "/explicit")
        self.assertStatus(h, 200)
        self.assertEqual(h.header_all("X-Head"), ["1"])
        self.assertEqual(h.body, b"")
        self.assertEqual(c.pending(), b"")
        self.assertText(c.request("GET", "/explicit"), 200, "explicit get body")

    def test_head_on_post_only_route_is_405(self):
        c = self.connect()
        h = c.request("HEAD", "/postonly")
        self.assertStatus(h, 405)
        self.assertEqual(h.header_all("Allow"), ["POST, OPTIONS"])
        self.assertEqual(c.pending(), b"")
        self.assertText(c.request("POST", "/postonly"), 200, "posted")

    # -- OPTIONS / 405 -------------------------------------------------------------

    def test_automatic_options(self):
        cases = [
            ("/books", "GET, HEAD, OPTIONS"),
            ("/books/archive", "GET, HEAD, POST, OPTIONS"),  # + /books/{isbn}
            ("/multi", ALL_METHODS_ALLOW),
            ("/users/me", "GET, HEAD, DELETE, OPTIONS"),  # union of /users/me and /users/{id}
            ("/users/5", "GET, HEAD, DELETE, OPTIONS"),
            ("/postonly", "POST, OPTIONS"),
            ("/things/1", "DELETE, OPTIONS"),
            ("/upper", "GET, HEAD, POST, OPTIONS"),
        ]
        for path, allow in cases:
            with self.subTest(path=path):
                r = self.request("OPTIONS", path)
                self.assertStatus(r, 204)
                self.assertEqual(r.header_all("Allow"), [allow])
                self.assertFalse(r.has("Content-Type"))
                self.assertFalse(r.has("Content-Length"))
                self.assertEqual(r.body, b"")

    def test_options_handler_wins(self):
        r = self.request("OPTIONS", "/opt")
        self.assertText(r, 200, "custom options")
        self.assertEqual(r.header_all("X-Options"), ["handler"])

    def test_options_unknown_path_404(self):
        self.assertNotFound(self.request("OPTIONS", "/no/such/route"))

    def test_options_star(self):
        c = self.connect()
        c.send(b"OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n")
        r = c.read_response()
        self.assertStatus(r, 204)
        self.assertEqual(r.header_all("Allow"), [ALL_METHODS_ALLOW])
        self.assertEqual(r.body, b"")
        self.assertText(c.request("GET", "/"), 200, "root")

    def test_405(self):
        cases = [
            ("POST", "/books", "GET, HEAD, OPTIONS"),
            ("DELETE", "/books/1", "GET, HEAD, OPTIONS"),
            ("PUT", "/users/me", "GET, HEAD, DELETE, OPTIONS"),
            ("GET", "/things/9", "DELETE, OPTIONS"),
            ("PATCH", "/", "GET, HEAD, OPTIONS"),
        ]
        for method, path, allow in cases:
            with self.subTest(method=method, path=path):
                self.assertMethodNotAllowed(self.request(method, path), allow)

    def test_multi_methods(self):
        for m in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            with self.subTest(method=m):
                self.assertText(self.request(m, "/multi"), 200, m)

    # -- unrecognised methods ---------------------------------------------------------

    def test_unknown_method_400_keeps_connection(self):
        c = self.connect()
        for method, path in (("FOO", "/books"), ("PROPFIND", "/no/such/route"),
                             ("get", "/books"), ("Get", "/"), ("CONNECT", "/"),
                             ("TRACE", "/")):
            with self.subTest(method=method, path=path):
                r = c.request(method, path)
                self.assertText(r, 400, INVALID_METHOD_FMT.format(method))
                self.assertNotEqual((r.header("Connection") or "").lower(), "close")
        # The same connection still serves requests.
        self.assertText(c.request("GET", "/books"), 200, "books")


if __name__ == "__main__":
    unittest.main()

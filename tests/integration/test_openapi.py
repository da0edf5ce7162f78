"""server-features.md §13: management endpoints (docs page, OpenAPI document),
their token rules and configuration, and the OpenAPI document built from the
route tree and the handlers' ``:expect`` schemas. The document is also checked
against the OpenAPI 3.0 schema with @apidevtools/swagger-parser (npm, see
tests/tools)."""

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import (CT_HTML, CT_JSON, CT_TEXT, LOG_TIME, REPO_ROOT,
                     RoverServer, RoverTestCase, TOOLS_DIR, npm_tools_problem, run_rover)

TOKEN = "it-token-0123456789"  # tests/apps/openapi.lua
SHADOW_TOKEN = "shadow-token"  # tests/apps/openapi_shadow.lua
UNAUTH_BODY = {"error": "Management endpoint requires auth token"}
MGMT_ALLOW = "GET, HEAD"

OK_RESPONSES = {"200": {"description": "Successful response"}}
WARN_NO_TOKEN_RE = (r"^" + LOG_TIME +
                    r" WARN docs enabled but no management_token set; docs are unreachable$")


def bearer(token=TOKEN):
    return {"Authorization": "Bearer " + token}


def path_param(name):
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def op(method, path, operation_id, params=(), body=None):
    o = {"summary": "%s %s" % (method.upper(), path),
         "operationId": operation_id,
         "responses": OK_RESPONSES}
    if params:
        o["parameters"] = [path_param(p) for p in params]
    if body is not None:
        o["requestBody"] = {"required": True,
                            "content": {"application/json": {"schema": body}}}
    return o


def obj(properties, required=()):
    s = {"type": "object", "properties": properties}
    if required:
        s["required"] = list(required)
    return s


S = {"type": "string"}
OBJECT = {"type": "object"}

BOOK_SCHEMA = obj({
    "title": S,
    "isbn": S,
    "year": {"type": "integer"},
    "price": {"type": "number", "default": 9.5},
    "tags": {"type": "array", "items": S},
    "format": {"type": "string", "enum": ["paper", "ebook"], "default": "paper"},
}, required=["isbn", "title"])

MARKER = "</script><b>x</b>"

BOOK_PUT_SCHEMA = obj({
    "zeta": S,
    "alpha": {"type": "boolean"},
    "mid": {"type": "integer"},
    "note": {"type": "string", "nullable": True},
    "loose": {"type": "string", "nullable": True},
    "flag": {"type": "boolean", "default": False},
    "any": {"type": "array", "items": {}},
    "marker": {"type": "string", "enum": [MARKER, "plain"]},
    "author": obj({"name": S, "email": S}, required=["name"]),
    "meta": obj({"source": {"type": "string", "enum": ["a", "b"]}}),
    "scores": {"type": "array", "items": {"type": "integer"}},
    "shelves": {"type": "array", "items": obj({"id": {"type": "integer"}}, required=["id"])},
}, required=["alpha", "mid", "zeta"])

# The complete document for tests/apps/openapi.lua.
EXPECTED_DOC = {
    "openapi": "3.0.3",
    "info": {"title": "API", "version": "1.0.0"},
    "paths": {
        "/": {"get": op("get", "/", "get_root")},
        "/books": {
            "get": op("get", "/books", "get_books"),
            "post": op("post", "/books", "post_books", body=BOOK_SCHEMA),
        },
        "/books/{isbn}": {
            "get": op("get", "/books/{isbn}", "get_books_isbn", ["isbn"]),
            "put": op("put", "/books/{isbn}", "put_books_isbn", ["isbn"], BOOK_PUT_SCHEMA),
            "delete": op("delete", "/books/{isbn}", "delete_books_isbn", ["isbn"]),
        },
        "/shelves/{shelf}/books/{isbn}": {
            "patch": op("patch", "/shelves/{shelf}/books/{isbn}",
                        "patch_shelves_shelf_books_isbn", ["shelf", "isbn"], OBJECT),
        },
        "/users/{userId}": {
            "get": op("get", "/users/{userId}", "get_users_userId", ["userId"]),
            "head": op("head", "/users/{userId}", "head_users_userId", ["userId"]),
            "options": op("options", "/users/{userId}", "options_users_userId", ["userId"]),
        },
        "/out-of-print/v1.2": {
            "get": op("get", "/out-of-print/v1.2", "get_out-of-print_v1.2"),
        },
        "/notes": {
            "post": op("post", "/notes", "post_notes", body=obj({"text": S}, ["text"])),
        },
        "/fallback": {
            "post": op("post", "/fallback", "post_fallback", body=OBJECT),
            "put": op("put", "/fallback", "put_fallback", body=OBJECT),
        },
        "/multi": {
            "post": op("post", "/multi", "post_multi", body=obj({"first": S}, ["first"])),
        },
        "/feed": {"get": op("get", "/feed", "get_feed")},
        "/orders": {
            "post": op("post", "/orders", "post_orders", body=obj({"sku": S}, ["sku"])),
        },
    },
}

SCRIPT_RE = re.compile(r'<script type="application/json" id="openapi">(.*?)</script>', re.S)


def embedded_json(page):
    m = SCRIPT_RE.search(page)
    return m.group(1) if m else None


def visible_text(page):
    """The page's text without <script>/<style> content and tags, whitespace collapsed."""
    t = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", page, flags=re.S | re.I)
    t = re.sub(r"<[^>]*>", " ", t)
    return re.sub(r"\s+", " ", html.unescape(t))


# ---------------------------------------------------------------------------
# npm tool (tests/tools)


def validate_openapi(testcase, doc_bytes):
    """Runs tests/tools/validate_openapi.js on the bytes; returns CompletedProcess."""
    problem = npm_tools_problem()
    if problem:
        testcase.skipTest(problem)
    fd, path = tempfile.mkstemp(prefix="rover-openapi-", suffix=".json")
    testcase.addCleanup(os.unlink, path)
    with os.fdopen(fd, "wb") as f:
        f.write(doc_bytes)
    return subprocess.run(["node", str(TOOLS_DIR / "validate_openapi.js"), path],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)


# ---------------------------------------------------------------------------


class OpenApiDocumentTest(RoverTestCase):
    """The document and the docs page for tests/apps/openapi.lua."""

    APP = "tests/apps/openapi.lua"

    def fetch_doc(self):
        r = self.get("/_rover/openapi.json", headers=bearer())
        self.assertStatus(r, 200)
        self.assertContentType(r, CT_JSON)
        self.assertLength(r)
        return r

    def fetch_page(self):
        r = self.get("/_rover/docs", headers=bearer())
        self.assertStatus(r, 200)
        self.assertContentType(r, CT_HTML)
        self.assertLength(r)
        return r

    def test_document_exact(self):
        r = self.fetch_doc()
        self.assertEqual(r.json(), EXPECTED_DOC)

    def test_static_mount_served_but_not_listed(self):
        r = self.request("GET", "/files/openapi.lua")
        self.assertStatus(r, 200)
        self.assertIn(b"api.files.static", r.body)
        paths = self.fetch_doc().json()["paths"]
        self.assertFalse([p for p in paths if p.startswith("/files")], paths)

    def test_document_operation_ids_unique(self):
        ids = [o["operationId"] for p in self.fetch_doc().json()["paths"].values()
               for o in p.values()]
        self.assertEqual(len(ids), len(set(ids)), ids)

    def test_document_same_on_every_request(self):
        # Built once at startup: every connection (any of the 2 workers) gets
        # the same bytes.
        first = self.fetch_doc().body
        for _ in range(6):
            self.assertEqual(self.fetch_doc().body, first)
        with self.connect() as c:
            for _ in range(3):
                r = c.request("GET", "/_rover/openapi.json", headers=bearer())
                self.assertEqual(r.status, 200)
                self.assertEqual(r.body, first)

    def test_openapi_json_query_ignored(self):
        r = self.get("/_rover/openapi.json?format=yaml&x=1", headers=bearer())
        self.assertJSON(r, 200, EXPECTED_DOC)

    def test_head_matches_get(self):
        for path, ctype in (("/_rover/openapi.json", CT_JSON), ("/_rover/docs", CT_HTML)):
            with self.subTest(path=path):
                with self.connect() as c:
                    g = c.request("GET", path, headers=bearer())
                    h = c.request("HEAD", path, headers=bearer())
                    # The connection still works: HEAD sent no body bytes.
                    after = c.request("GET", "/books")
                self.assertEqual(g.status, 200)
                self.assertEqual(h.status, 200)
                self.assertEqual(h.body, b"")
                self.assertEqual(h.header_all("Content-Type"), [ctype])
                self.assertEqual(h.header_all("Content-Length"), [str(len(g.body))])
                self.assertEqual(after.status, 200, after)
                self.assertEqual(after.json(), {})

    def test_other_methods_405(self):
        for path in ("/_rover/docs", "/_rover/openapi.json"):
            for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
                with self.subTest(path=path, method=method):
                    r = self.request(method, path, headers=bearer(), body="{}")
                    self.assertText(r, 405, "Method Not Allowed")
                    self.assertEqual(r.header_all("Allow"), [MGMT_ALLOW])

    def test_docs_page_embeds_document(self):
        doc = self.fetch_doc().body.decode("utf-8")
        page = self.fetch_page().text
        self.assertEqual(len(SCRIPT_RE.findall(page)), 1, page)
        embedded = embedded_json(page)
        self.assertIsNotNone(embedded, page)
        # The document contains "</script>" (an enum member); inside the page
        # every "</" is written "<\/".
        self.assertIn(MARKER, doc)
        self.assertNotIn("</", embedded)
        self.assertIn(MARKER.replace("</", "<\\/"), embedded)
        self.assertEqual(embedded.replace("<\\/", "</"), doc)  # verbatim otherwise
        self.assertEqual(json.loads(embedded), EXPECTED_DOC)

    def test_docs_page_lists_operations(self):
        # Self-contained: the listing is in the HTML itself, not built by a
        # script loaded from the network.
        text = visible_text(self.fetch_page().text)
        for path, ops in EXPECTED_DOC["paths"].items():
            for method, o in ops.items():
                m, p = re.escape(method.upper()), re.escape(path)
                with self.subTest(method=method, path=path):
                    self.assertRegex(text, r"(\b%s\s+%s(\s|$))|((^|\s)%s\s+%s\b)"
                                     % (m, p, p, m))
                    for param in o.get("parameters", ()):
                        self.assertIn(param["name"], text)
        for field in ("title", "isbn", "year", "price", "tags", "format", "zeta", "alpha",
                      "loose", "marker", "author", "email", "meta", "source", "scores",
                      "shelves", "text", "first"):
            with self.subTest(field=field):
                self.assertRegex(text, r"\b%s\b" % field)

    def test_docs_page_is_html_document(self):
        page = self.fetch_page().text
        self.assertRegex(page, r"^\s*<!DOCTYPE html>")
        self.assertRegex(page, r"</html>\s*$")

    def test_banner_docs_line(self):
        line = "📚 API docs available at http://%s:%d/_rover/docs" % (
            self.server.banner_host, self.server.port)
        found = self.server.wait_log(r"^" + LOG_TIME + " INFO " + re.escape(line) + "$",
                                     start=self.server.banner_index)
        self.assertIsNotNone(found, self.server.stdout.text())

    # -- token rules -------------------------------------------------------

    def assertUnauthorized(self, r, head=False):
        self.assertStatus(r, 401)
        self.assertEqual(r.header_all("WWW-Authenticate"), ["Bearer"], r)
        self.assertContentType(r, CT_JSON)
        if head:
            self.assertEqual(r.body, b"")
        else:
            self.assertLength(r)
            self.assertEqual(r.json(), UNAUTH_BODY)

    def test_no_token_401(self):
        for path in ("/_rover/docs", "/_rover/openapi.json"):
            for method in ("GET", "HEAD"):
                with self.subTest(path=path, method=method):
                    r = self.request(method, path)
                    self.assertUnauthorized(r, head=method == "HEAD")

    def test_no_token_401_body_exact(self):
        r = self.get("/_rover/openapi.json")
        self.assertEqual(r.body, b'{"error":"Management endpoint requires auth token"}')

    def test_bearer_scheme_any_case(self):
        for scheme in ("Bearer", "bearer", "BEARER", "bEaReR"):
            for path in ("/_rover/docs", "/_rover/openapi.json"):
                with self.subTest(scheme=scheme, path=path):
                    r = self.get(path, headers={"Authorization": scheme + " " + TOKEN})
                    self.assertStatus(r, 200)

    def test_management_token_header(self):
        for name in ("X-Rover-Management-Token", "x-rover-management-token"):
            for path in ("/_rover/docs", "/_rover/openapi.json"):
                with self.subTest(name=name, path=path):
                    r = self.get(path, headers={name: TOKEN})
                    self.assertStatus(r, 200)
        r = self.request("HEAD", "/_rover/openapi.json",
                         headers={"X-Rover-Management-Token": TOKEN})
        self.assertStatus(r, 200)

    def test_authorized_document_via_either_header_is_identical(self):
        a = self.get("/_rover/openapi.json", headers=bearer()).body
        b = self.get("/_rover/openapi.json", headers={"X-Rover-Management-Token": TOKEN}).body
        self.assertEqual(a, b)

    def test_wrong_tokens_401(self):
        last_char = TOKEN[:-1] + ("8" if TOKEN[-1] != "8" else "7")
        wrong = [
            {"Authorization": "Bearer wrong-token"},
            {"Authorization": "Bearer " + last_char},
            {"Authorization": "Bearer " + TOKEN[:-1]},
            {"Authorization": "Bearer " + TOKEN + "0"},
            {"Authorization": "Bearer " + TOKEN.upper()},
            {"Authorization": "Bearer "},
            {"Authorization": "Bearer"},
            {"Authorization": TOKEN},
            {"Authorization": "Basic " + TOKEN},
            {"Authorization": "Token " + TOKEN},
            {"X-Rover-Management-Token": last_char},
            {"X-Rover-Management-Token": TOKEN[:-1]},
            {"X-Rover-Management-Token": TOKEN + "0"},
            {"X-Rover-Management-Token": ""},
            {"X-Rover-Management-Token": "Bearer " + TOKEN},
            {"X-Management-Token": TOKEN},
        ]
        for headers in wrong:
            for path in ("/_rover/docs", "/_rover/openapi.json"):
                with self.subTest(headers=headers, path=path):
                    self.assertUnauthorized(self.get(path, headers=headers))

    def test_token_in_query_not_accepted(self):
        r = self.get("/_rover/openapi.json?token=" + TOKEN)
        self.assertUnauthorized(r)

    # -- the npm validator -------------------------------------------------

    def test_document_valid_openapi_3_0(self):
        p = validate_openapi(self, self.fetch_doc().body)
        self.assertEqual(p.returncode, 0, "validator: %s%s" % (
            p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")))

    def test_validator_rejects_invalid_document(self):
        # The validator is not a no-op: an operation without responses fails.
        doc = self.fetch_doc().json()
        del doc["paths"]["/books"]["get"]["responses"]
        p = validate_openapi(self, json.dumps(doc).encode())
        self.assertEqual(p.returncode, 1, p)
        self.assertIn(b"responses", p.stderr)


class ShadowTest(RoverTestCase):
    """docs = true: the endpoints shadow app routes; no middleware runs."""

    APP = "tests/apps/openapi_shadow.lua"

    def test_endpoints_shadow_app_routes(self):
        r = self.get("/_rover/docs", headers=bearer(SHADOW_TOKEN))
        self.assertStatus(r, 200)
        self.assertContentType(r, CT_HTML)
        self.assertNotIn(b"app docs route", r.body)
        r = self.get("/_rover/openapi.json", headers=bearer(SHADOW_TOKEN))
        self.assertStatus(r, 200)
        self.assertContentType(r, CT_JSON)
        self.assertEqual(r.json()["openapi"], "3.0.3")

    def test_shadowed_without_token_401(self):
        for path in ("/_rover/docs", "/_rover/openapi.json"):
            with self.subTest(path=path):
                r = self.get(path)
                self.assertJSON(r, 401, UNAUTH_BODY)
                self.assertEqual(r.header_all("WWW-Authenticate"), ["Bearer"])

    def test_shadowed_app_method_405(self):
        # The app has POST /_rover/docs; the management endpoint answers.
        r = self.request("POST", "/_rover/docs", headers=bearer(SHADOW_TOKEN), body="")
        self.assertText(r, 405, "Method Not Allowed")
        self.assertEqual(r.header_all("Allow"), [MGMT_ALLOW])

    def test_other_paths_under_prefix_routed_normally(self):
        self.assertText(self.get("/_rover/other"), 200, "app other route")
        self.assertText(self.get("/_rover/other", headers=bearer(SHADOW_TOKEN)), 200,
                        "app other route")
        self.assertText(self.get("/_rover/docs/extra"), 200, "app docs extra")
        self.assertText(self.get("/_rover"), 404, "Route not found")
        self.assertText(self.get("/_rover/"), 404, "Route not found")
        self.assertText(self.get("/_rover/docs/"), 404, "Route not found")
        self.assertText(self.get("/_rover/DOCS"), 404, "Route not found")
        self.assertText(self.get("/_rover/openapi.json/x"), 404, "Route not found")

    def test_middleware_works_on_app_routes(self):
        # The hook is effective where it should run ...
        r = self.get("/_rover/other", headers={"X-Block": "1"})
        self.assertJSON(r, 418, {"error": "blocked by middleware"})
        r = self.get("/", headers={"X-Block": "1"})
        self.assertJSON(r, 418, {"error": "blocked by middleware"})

    def test_no_middleware_for_management_endpoints(self):
        # ... and does not run for management requests (200, 401, 405).
        block = {"X-Block": "1"}
        r = self.get("/_rover/docs", headers=dict(block, **bearer(SHADOW_TOKEN)))
        self.assertStatus(r, 200)
        self.assertContentType(r, CT_HTML)
        r = self.get("/_rover/openapi.json", headers=dict(block, **bearer(SHADOW_TOKEN)))
        self.assertStatus(r, 200)
        self.assertContentType(r, CT_JSON)
        r = self.request("HEAD", "/_rover/docs", headers=dict(block, **bearer(SHADOW_TOKEN)))
        self.assertStatus(r, 200)
        r = self.get("/_rover/docs", headers=block)
        self.assertJSON(r, 401, UNAUTH_BODY)
        r = self.request("DELETE", "/_rover/openapi.json",
                         headers=dict(block, **bearer(SHADOW_TOKEN)))
        self.assertText(r, 405, "Method Not Allowed")


class DocsOffShadowTest(RoverTestCase):
    """docs = false: the management paths are ordinary app routes."""

    APP = "tests/apps/openapi_shadow.lua"

    @classmethod
    def setUpClass(cls):
        cls.server = RoverServer(cls.APP, env={"OPENAPI_DOCS": "false"})
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def test_app_routes_served(self):
        for headers in ({}, bearer(SHADOW_TOKEN)):
            with self.subTest(headers=headers):
                self.assertText(self.get("/_rover/docs", headers=headers), 200,
                                "app docs route")
                self.assertText(self.get("/_rover/openapi.json", headers=headers), 200,
                                "app openapi route")
                self.assertText(self.request("POST", "/_rover/docs", headers=headers,
                                             body=""), 200, "app docs post")

    def test_app_route_methods(self):
        r = self.request("PUT", "/_rover/docs", body="")
        self.assertText(r, 405, "Method Not Allowed")
        self.assertEqual(r.header_all("Allow"), ["GET, HEAD, POST, OPTIONS"])

    def test_middleware_runs(self):
        r = self.get("/_rover/docs", headers={"X-Block": "1"})
        self.assertJSON(r, 418, {"error": "blocked by middleware"})

    def test_no_docs_banner_line(self):
        # A request has been served, so startup is over.
        self.assertEqual(self.get("/").status, 200)
        self.assertFalse([l for l in self.server.stdout.lines() if "API docs" in l],
                         self.server.stdout.text())


class ManagementConfigTest(unittest.TestCase):
    """Configuration variants with tests/apps/openapi_config.lua."""

    APP = "tests/apps/openapi_config.lua"
    maxDiff = None

    def serve(self, **env):
        server = RoverServer(self.APP, env=env)
        self.addCleanup(server.stop)
        server.start()
        return server

    def test_unauthenticated_opt_out_without_token(self):
        server = self.serve(OA_UNAUTH="true")
        r = server.get("/_rover/openapi.json")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header_all("Content-Type"), [CT_JSON])
        self.assertEqual(sorted(r.json()["paths"]), ["/items", "/items/{id}"])
        r = server.get("/_rover/docs")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header_all("Content-Type"), [CT_HTML])
        r = server.request("HEAD", "/_rover/docs")
        self.assertEqual(r.status, 200, r)
        # No WARN: the docs are reachable.
        self.assertFalse([l for l in server.stdout.lines() if "docs are unreachable" in l],
                         server.stdout.text())

    def test_unauthenticated_opt_out_with_token(self):
        server = self.serve(OA_UNAUTH="true", OA_TOKEN="tok-abc")
        for headers in ({}, {"Authorization": "Bearer nope"},
                        {"Authorization": "Bearer tok-abc"}):
            with self.subTest(headers=headers):
                r = server.get("/_rover/openapi.json", headers=headers)
                self.assertEqual(r.status, 200, r)
                self.assertIsNone(r.header("WWW-Authenticate"))

    def test_docs_without_token_unreachable(self):
        server = self.serve()
        found = server.wait_log(WARN_NO_TOKEN_RE)
        self.assertIsNotNone(found, server.stdout.text())
        attempts = [({}, "GET"), ({}, "HEAD"), ({}, "POST"),
                    ({"Authorization": "Bearer "}, "GET"),
                    ({"Authorization": "Bearer undefined"}, "GET"),
                    ({"X-Rover-Management-Token": ""}, "GET"),
                    ({"X-Rover-Management-Token": "nil"}, "GET")]
        for path in ("/_rover/docs", "/_rover/openapi.json"):
            for headers, method in attempts:
                with self.subTest(path=path, headers=headers, method=method):
                    r = server.request(method, path, headers=headers,
                                       body="" if method == "POST" else None)
                    self.assertEqual(r.status, 401, r)
                    self.assertEqual(r.header_all("WWW-Authenticate"), ["Bearer"])
                    if method != "HEAD":
                        self.assertEqual(r.json(), UNAUTH_BODY)
        # App routes are unaffected.
        self.assertEqual(server.get("/items/7").json(), {"id": "7"})
        warns = [l for l in server.stdout.lines() if re.match(WARN_NO_TOKEN_RE, l)]
        self.assertEqual(len(warns), 1, server.stdout.text())

    def test_no_warn_with_token(self):
        server = self.serve(OA_TOKEN="tok-abc")
        self.assertEqual(server.get("/_rover/docs", headers=bearer("tok-abc")).status, 200)
        self.assertFalse([l for l in server.stdout.lines() if "docs are unreachable" in l],
                         server.stdout.text())

    def test_custom_prefix_trailing_slash_removed(self):
        server = self.serve(OA_PREFIX="/admin/", OA_TOKEN="tok-abc")
        auth = bearer("tok-abc")
        r = server.get("/admin/docs", headers=auth)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header_all("Content-Type"), [CT_HTML])
        r = server.get("/admin/openapi.json", headers=auth)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header_all("Content-Type"), [CT_JSON])
        self.assertEqual(sorted(r.json()["paths"]), ["/items", "/items/{id}"])
        r = server.get("/admin/openapi.json")
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.json(), UNAUTH_BODY)
        r = server.request("PATCH", "/admin/docs", headers=auth, body="")
        self.assertEqual(r.status, 405, r)
        self.assertEqual(r.header_all("Allow"), [MGMT_ALLOW])
        for path in ("/_rover/docs", "/_rover/openapi.json", "/admin//docs",
                     "/admin/docs/", "/admin/", "/admin"):
            with self.subTest(path=path):
                r = server.get(path, headers=auth)
                self.assertEqual((r.status, r.body), (404, b"Route not found"), r)
        line = "📚 API docs available at http://%s:%d/admin/docs" % (server.banner_host,
                                                                    server.port)
        self.assertIsNotNone(server.wait_log(r"^" + LOG_TIME + " INFO " + re.escape(line) + "$"),
                             server.stdout.text())

    def test_nested_custom_prefix(self):
        server = self.serve(OA_PREFIX="/ops/mgmt", OA_TOKEN="tok-abc")
        r = server.get("/ops/mgmt/openapi.json", headers={"X-Rover-Management-Token": "tok-abc"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["openapi"], "3.0.3")
        r = server.get("/ops/docs", headers={"X-Rover-Management-Token": "tok-abc"})
        self.assertEqual((r.status, r.body), (404, b"Route not found"))

    def test_docs_false_paths_not_special(self):
        server = self.serve(OA_DOCS="false", OA_TOKEN="tok-abc")
        for path in ("/_rover/docs", "/_rover/openapi.json"):
            for headers in ({}, bearer("tok-abc")):
                with self.subTest(path=path, headers=headers):
                    r = server.get(path, headers=headers)
                    self.assertEqual(r.status, 404, r)
                    self.assertEqual(r.header_all("Content-Type"), [CT_TEXT])
                    self.assertEqual(r.body, b"Route not found")
                    self.assertIsNone(r.header("WWW-Authenticate"))
            r = server.request("POST", path, body="")
            self.assertEqual((r.status, r.body), (404, b"Route not found"), r)

    def test_docs_false_no_token_no_warn(self):
        server = self.serve(OA_DOCS="false")
        self.assertEqual(server.get("/items/1").status, 200)
        self.assertFalse([l for l in server.stdout.lines() if "docs are unreachable" in l],
                         server.stdout.text())

    def test_invalid_prefix_startup_error(self):
        for prefix in ("admin", "/", ""):
            with self.subTest(prefix=prefix):
                p = run_rover([self.APP, "--port", "0"],
                              env={"OA_PREFIX": prefix, "OA_TOKEN": "tok-abc"})
                self.assertEqual(p.returncode, 1, p)
                self.assertEqual(
                    p.stderr.decode().splitlines()[0],
                    "❌ Error: management_prefix must start with '/' and must not be '/'")

    def test_empty_token_startup_error(self):
        p = run_rover([self.APP, "--port", "0"], env={"OA_TOKEN": ""})
        self.assertEqual(p.returncode, 1, p)
        self.assertEqual(p.stderr.decode().splitlines()[0],
                         "❌ Error: management_token must be a non-empty string")


if __name__ == "__main__":
    unittest.main()

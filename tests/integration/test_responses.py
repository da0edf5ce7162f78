"""lua-api.md §7 (responses, builders, templates) and server-features.md §4
(response headers from the app)."""

import re
import unittest

from harness import CT_HTML, CT_JSON, CT_OCTET, CT_TEXT, RoverTestCase


class ReturnValuesTest(RoverTestCase):
    """§7.1: what a handler's return value becomes."""
    APP = "tests/apps/responses.lua"

    def test_table_is_json(self):
        self.assertJSONBytes(self.get("/ret/table"), 200, '{"a":1}')
        self.assertJSONBytes(self.get("/ret/array"), 200, "[1,2,3]")
        self.assertJSONBytes(self.get("/ret/empty_table"), 200, "{}")

    def test_plain_table_headers_field_is_body(self):
        r = self.get("/ret/headers_field")
        self.assertJSON(r, 200, {"headers": {"X-Not-A-Header": "1"}, "ok": True})
        self.assertFalse(r.has("X-Not-A-Header"))

    def test_string_is_text(self):
        self.assertText(self.get("/ret/string"), 200, b"hello \x00 world")
        self.assertText(self.get("/ret/empty_string"), 200, b"")

    def test_numbers_are_text(self):
        self.assertText(self.get("/ret/number"), 200, "42")
        self.assertText(self.get("/ret/div"), 200, "5")
        self.assertText(self.get("/ret/float"), 200, "2.5")
        self.assertText(self.get("/ret/negative"), 200, "-7")

    def test_booleans_are_text(self):
        self.assertText(self.get("/ret/true"), 200, "true")
        self.assertText(self.get("/ret/false"), 200, "false")

    def test_nil_is_204(self):
        for path in ("/ret/nil", "/ret/nothing", "/ret/multi_nil"):
            with self.subTest(path=path):
                c = self.connect()
                r = c.request("GET", path)
                self.assertStatus(r, 204)
                self.assertNoBodyHeaders(r)
                self.assertEqual(c.pending(), b"")
                self.assertText(c.request("GET", "/ret/number"), 200, "42")

    def test_unsupported_types_500(self):
        for kind in ("function", "thread", "userdata"):
            with self.subTest(kind=kind):
                self.assertJSONBytes(self.get("/ret/" + kind), 500,
                                     '{"error":"Unsupported return type: %s"}' % kind)

    def test_only_first_value_counts(self):
        self.assertText(self.get("/ret/multi"), 200, "first")


class BuildersTest(RoverTestCase):
    """§7.2 builders in every call form; §7.3 details."""
    APP = "tests/apps/responses.lua"

    def test_json(self):
        for form in ("dot", "colon", "call_string"):
            with self.subTest(form=form):
                self.assertJSONBytes(self.get("/build_json/" + form), 200, '{"a":1}')
        for form in ("status_colon", "status_dot"):
            with self.subTest(form=form):
                self.assertJSONBytes(self.get("/build_json/" + form), 201, '{"a":1}')
        self.assertJSONBytes(self.get("/build_json/status_error"), 422, '{"bad":true}')
        self.assertJSONBytes(self.get("/build_json/array"), 200, '["x","y"]')

    def test_json_scalars(self):
        self.assertJSONBytes(self.get("/build_json/verbatim"), 200, '{"raw": true, "n":[1, 2]}')
        self.assertJSONBytes(self.get("/build_json/number"), 200, "5")
        self.assertJSONBytes(self.get("/build_json/float"), 200, "0.5")
        self.assertJSONBytes(self.get("/build_json/boolean"), 200, "true")
        for form in ("nil", "noarg", "colon_noarg"):
            with self.subTest(form=form):
                self.assertJSONBytes(self.get("/build_json/" + form), 200, "{}")

    def test_json_headers_field(self):
        r = self.get("/build_json/headers")
        self.assertJSONBytes(r, 200, '{"saved":true}')
        self.assertEqual(r.header_all("Cache-Control"), ["no-store"])
        self.assertEqual(r.header_all("X-Num"), ["5"])
        r = self.get("/build_json/status_headers")
        self.assertJSONBytes(r, 201, '{"id":7}')
        self.assertEqual(r.header_all("Location"), ["/things/7"])
        # Only a table value is taken as headers.
        self.assertJSONBytes(self.get("/build_json/headers_not_table"), 200,
                             '{"headers":"kept in body"}')

    def test_text(self):
        self.assertText(self.get("/build_text/dot"), 200, "hi")
        self.assertText(self.get("/build_text/colon"), 200, "hi")
        self.assertText(self.get("/build_text/number"), 200, "42")
        self.assertText(self.get("/build_text/float"), 200, "2.5")
        self.assertText(self.get("/build_text/boolean"), 200, "false")
        self.assertText(self.get("/build_text/status_colon"), 202, "accepted")
        self.assertText(self.get("/build_text/status_dot"), 202, "accepted")

    def test_html_strings(self):
        self.assertText(self.get("/build_html/string"), 200, "<p>x & y</p>", CT_HTML)
        self.assertText(self.get("/build_html/colon"), 200, "<p>colon</p>", CT_HTML)
        self.assertText(self.get("/build_html/status_string"), 201, "<p>created</p>", CT_HTML)
        self.assertText(self.get("/build_html/status_string_dot"), 201, "<p>created</p>", CT_HTML)

    def test_html_templates(self):
        self.assertText(self.get("/build_html/template"), 200, "<h1>Sign in</h1>", CT_HTML)
        self.assertText(self.get("/build_html/template_colon"), 200, "<h1>Colon</h1>", CT_HTML)
        self.assertText(self.get("/build_html/template_nil"), 200, "<p>2</p>", CT_HTML)
        self.assertText(self.get("/build_html/status_template"), 404, "<p>no such page</p>", CT_HTML)
        self.assertText(self.get("/build_html/status_template_dot"), 404, "<p>no such page</p>",
                        CT_HTML)

    def test_html_template_renders_itself(self):
        for _ in range(3):  # the second and third reuse the template's idle render functions
            self.assertText(self.get("/build_html/recursive"), 200,
                            "<li>a<ul><li>b<ul><li>c</li></ul></li><li>d</li></ul></li>", CT_HTML)

    def test_html_template_after_a_raising_render(self):
        for _ in range(2):
            self.assertText(self.get("/build_html/raises"), 200, "false<p>2</p><p>3</p>", CT_HTML)

    def test_html_uncalled_renderer(self):
        for path in ("/build_html/uncalled", "/build_html/uncalled_status"):
            with self.subTest(path=path):
                self.assertJSONBytes(self.get(path), 500,
                                     '{"error":"api.html: template missing"}')

    def assertRedirect(self, resp, status, location):
        self.assertStatus(resp, status)
        self.assertEqual(resp.header_all("Location"), [location])
        self.assertEqual(resp.header_all("Content-Length"), ["0"])
        self.assertFalse(resp.has("Content-Type"))
        self.assertEqual(resp.body, b"")

    def test_redirect(self):
        self.assertRedirect(self.get("/build_redirect/dot"), 302, "/home?x=1&y=%20")
        self.assertRedirect(self.get("/build_redirect/colon"), 302, "/colon")
        self.assertRedirect(self.get("/build_redirect/absolute"), 302, "https://example.com/a b")
        self.assertRedirect(self.get("/build_redirect/permanent"), 301, "/new")
        self.assertRedirect(self.get("/build_redirect/permanent_dot"), 301, "/new")
        self.assertRedirect(self.get("/build_redirect/status"), 307, "/tmp")
        self.assertRedirect(self.get("/build_redirect/status_dot"), 308, "/perm")

    def test_error(self):
        self.assertJSONBytes(self.get("/build_error/dot"), 403, '{"error":"forbidden"}')
        self.assertJSONBytes(self.get("/build_error/colon"), 403, '{"error":"forbidden"}')
        self.assertJSONBytes(self.get("/build_error/reason"), 404, '{"error":"Not Found"}')
        self.assertJSONBytes(self.get("/build_error/reason503"), 503,
                             '{"error":"Service Unavailable"}')
        self.assertJSONBytes(self.get("/build_error/reason_nil"), 401, '{"error":"Unauthorized"}')
        self.assertJSONBytes(self.get("/build_error/table"), 400, '{"error":"from table"}')
        self.assertJSONBytes(self.get("/build_error/number"), 500, '{"error":"42"}')
        self.assertJSONBytes(self.get("/build_error/bool"), 409, '{"error":"true"}')
        self.assertJSONBytes(self.get("/build_error/status599"), 599, '{"error":"custom"}')

    def test_error_escaping(self):
        self.assertJSONBytes(self.get("/build_error/escape"), 400,
                             '{"error":"quote \\" back \\\\ nl \\n tab \\t ctl \\u0001 end"}')

    def test_error_with_guard_error(self):
        r = self.get("/build_error/guard")
        self.assertJSON(r, 422, {"errors": [
            {"field": "age", "message": "Must be an integer, got string", "type": "type"},
            {"field": "email", "message": "Field 'email' is required", "type": "required"},
        ]})

    def test_error_with_request_error(self):
        self.assertJSONBytes(self.request("POST", "/build_error/request"), 422,
                             '{"error":"Request has no body"}')

    def test_no_content(self):
        for form in ("dot", "colon"):
            with self.subTest(form=form):
                c = self.connect()
                r = c.request("GET", "/build_no_content/" + form)
                self.assertStatus(r, 204)
                self.assertNoBodyHeaders(r)
                self.assertEqual(c.pending(), b"")
                self.assertText(c.request("GET", "/build_text/dot"), 200, "hi")

    def test_raw(self):
        self.assertText(self.get("/build_raw/dot"), 200, b"\x00\x01\x02\xff raw", CT_OCTET)
        self.assertText(self.get("/build_raw/colon"), 200, "colon raw", CT_OCTET)
        self.assertText(self.get("/build_raw/status"), 201, "created raw", CT_OCTET)
        self.assertText(self.get("/build_raw/status_dot"), 201, "created raw", CT_OCTET)

    def test_invalid_status_codes(self):
        cases = {"json99": "99", "json600": "600", "text100": "100", "html199": "199",
                 "raw_float": "200.5", "redirect1000": "1000", "error0": "0",
                 "error_str": "abc"}
        for name, shown in cases.items():
            with self.subTest(name=name):
                r = self.get("/invalid/" + name)
                self.assertStatus(r, 500)
                self.assertContentType(r, CT_JSON)
                msg = r.json()["error"]
                self.assertTrue(msg.endswith("invalid status code " + shown), msg)


class ResponseHeadersTest(RoverTestCase):
    """server-features.md §4: resp:header and friends."""
    APP = "tests/apps/responses.lua"

    def test_header(self):
        r = self.get("/h/basic")
        self.assertText(r, 200, "x")
        self.assertEqual(r.header_all("X-One"), ["1"])
        self.assertEqual(r.header_all("X-Two"), ["2"])

    def test_header_replaces_case_insensitively(self):
        r = self.get("/h/replace")
        self.assertEqual(r.header_all("X-Rep"), ["second"])

    def test_array_value_gives_several_lines(self):
        r = self.get("/h/cookies")
        self.assertStatus(r, 302)
        self.assertEqual(r.header_all("Set-Cookie"), ["a=1; Path=/", "b=2; HttpOnly"])
        self.assertEqual(r.header_all("Location"), ["/home"])

    def test_app_content_type_replaces_builder(self):
        r = self.get("/h/content_type")
        self.assertText(r, 200, "a,b\n", "text/csv")

    def test_server_only_headers_ignored(self):
        c = self.connect()
        r = c.request("GET", "/h/server_only")
        self.assertText(r, 200, "body")
        self.assertEqual(r.header_all("X-Kept"), ["yes"])
        self.assertFalse(r.has("Transfer-Encoding"))
        self.assertNotEqual(r.header_all("Date"), ["yesterday"])
        self.assertEqual(len(r.header_all("Date")), 1)
        self.assertNotIn("close", [v.lower() for v in r.header_all("Connection")])
        # The connection was not closed.
        self.assertText(c.request("GET", "/h/basic"), 200, "x")

    def test_header_returns_same_object(self):
        self.assertJSONBytes(self.get("/h/returns_same"), 200, '{"same":true}')

    def test_header_on_other_builders(self):
        r = self.get("/h/on_error_builder")
        self.assertJSONBytes(r, 429, '{"error":"slow down"}')
        self.assertEqual(r.header_all("Retry-After"), ["30"])
        r = self.get("/h/on_no_content")
        self.assertStatus(r, 204)
        self.assertEqual(r.header_all("X-Empty"), ["yes"])
        self.assertNoBodyHeaders(r)

    def test_invalid_headers_raise(self):
        cases = {"/h/bad_name": "Bad Name", "/h/bad_value": "X-Bad",
                 "/h/bad_json_headers": "X-Bad"}
        for path, name in cases.items():
            with self.subTest(path=path):
                r = self.get(path)
                self.assertStatus(r, 500)
                self.assertContentType(r, CT_JSON)
                self.assertFalse(r.has("Injected"))
                msg = r.json()["error"]
                self.assertTrue(msg.endswith("invalid header '%s'" % name), msg)


class TemplatesTest(RoverTestCase):
    """§7.4 HTML templates."""
    APP = "tests/apps/responses.lua"

    def assertHTML(self, path, body, status=200):
        self.assertText(self.get(path), status, body, CT_HTML)

    def test_spec_example(self):
        self.assertHTML("/tpl/spec", "<p>ADA</p>\n<ul><li>x</li><li>y</li></ul>")

    def test_text_copied_verbatim(self):
        self.assertHTML("/tpl/verbatim", "  line 1\n\tline 2  \n\n<x a=\"b\">{ } }}\n")

    def test_expression_values_not_escaped(self):
        self.assertHTML("/tpl/values", "[str|42|2.5|true|false||<b>&</b>]")

    def test_escape_helper(self):
        r = self.get("/tpl/escape")
        self.assertStatus(r, 200)
        out = r.text
        self.assertNotRegex(out, r"[<>\"']")
        self.assertNotRegex(out, r"&(?!(amp|lt|gt|quot|#39|#x27|apos|#34|#x22);)")
        decoded = re.sub(r"&(#39|#x27|apos);", "'",
                         re.sub(r"&(quot|#34|#x22);", '"', out))
        decoded = decoded.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        self.assertEqual(decoded, """<a href="x">Tom & 'Jerry'</a>""")

    def test_statements(self):
        self.assertHTML("/tpl/branches", "two")
        self.assertHTML("/tpl/else_branch", "many")
        self.assertHTML("/tpl/loops", "1,2,3,|ww|1=a;2=b;")

    def test_name_lookup(self):
        self.assertHTML("/tpl/lookup", "from data|<b>new</b>|12|abab")

    def test_tag_boundaries(self):
        self.assertHTML("/tpl/first_close", "a v}} b")
        self.assertHTML("/tpl/unterminated", "a v b {{ x")

    def test_tostring_values(self):
        self.assertHTML("/tpl/table_value", "T!")

    def test_template_errors_are_500(self):
        for path in ("/tpl/compile_error", "/tpl/runtime_error"):
            with self.subTest(path=path):
                r = self.get(path)
                self.assertStatus(r, 500)
                self.assertContentType(r, CT_JSON)
                self.assertTrue(r.json()["error"])


if __name__ == "__main__":
    unittest.main()

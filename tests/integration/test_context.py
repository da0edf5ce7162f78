"""lua-api.md §6 (the request context) and server-features.md §3 (request id)."""

import unittest

from harness import GENERATED_ID_RE, CT_OCTET, RoverTestCase

NO_BODY = b'{"error":"Request has no body"}'
INVALID_JSON_PREFIX = "Invalid JSON in request body: "
NOT_OBJECT = b'{"error":"Request body must be a JSON object"}'


def unsupported(media_type):
    return ('{"error":"Unsupported Media Type (415): expected application/json, got %s"}'
            % media_type).encode()


class ContextFieldsTest(RoverTestCase):
    APP = "tests/apps/context.lua"

    # -- ctx fields ------------------------------------------------------------

    def test_fields(self):
        r = self.get("/info?x=1&y=2")
        self.assertJSON(r, 200, {
            "method": "GET", "path": "/info", "client_ip": "127.0.0.1",
            "ip": "127.0.0.1", "proto": "http", "client_proto": "http"})

    def test_method_post(self):
        self.assertJSONBytes(self.request("POST", "/info"), 200, '{"method":"POST"}')

    def test_method_head_served_by_get(self):
        r = self.request("HEAD", "/info")
        self.assertStatus(r, 200)
        self.assertEqual(r.header_all("X-Method"), ["HEAD"])

    def test_path_not_decoded_and_without_query(self):
        r = self.get("/info/a%20b%2Fc?q=1")
        self.assertJSON(r, 200, {"path": "/info/a%20b%2Fc", "rest": "a b/c"})

    def test_absolute_form_target(self):
        r = self.get("http://localhost/info?x=1")
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["path"], "/info")
        self.assertEqual(r.header_all("X-Path"), ["/info"])

    def test_forwarded_headers_not_trusted(self):
        r = self.get("/info", headers={"X-Forwarded-For": "203.0.113.1",
                                       "X-Forwarded-Proto": "https",
                                       "Forwarded": "for=203.0.113.2;proto=https"})
        d = r.json()
        self.assertEqual(d["client_ip"], "127.0.0.1")
        self.assertEqual(d["proto"], "http")

    # -- headers ---------------------------------------------------------------

    def test_headers(self):
        r = self.get("/headers", headers=[
            ("User-Agent", "test-agent"),
            ("AUTHORIZATION", "Bearer t"),
            ("X-Multi", "a"),
            ("x-multi", "b"),
            ("X-MULTI", "c"),
            ("Cookie", "a=1"),
            ("Cookie", "b=2"),
            ("X-Pad", "   padded  value \t"),
            ("X-Empty", ""),
            ("X-Forwarded-For", "203.0.113.1"),
            ("X-Forwarded-Host", "evil.example"),
            ("Forwarded", "for=203.0.113.2"),
        ])
        self.assertStatus(r, 200)
        d = r.json()
        self.assertEqual(d["names"], ["authorization", "cookie", "host", "user-agent",
                                      "x-empty", "x-multi", "x-pad"])
        self.assertEqual(d["all"], {
            "authorization": "Bearer t",
            "cookie": "a=1; b=2",
            "host": "localhost",
            "user-agent": "test-agent",
            "x-empty": "",
            "x-multi": "a, b, c",
            "x-pad": "padded  value",
        })
        self.assertEqual(d["lookups"], {"lower": "test-agent", "mixed": "test-agent",
                                        "upper": "test-agent", "dot": "Bearer t",
                                        "auth_upper": "Bearer t"})

    def test_header_bytes_passed_through(self):
        value = b"caf\xc3\xa9 \xff\x80 end"
        r = self.get("/header/X-Bytes", headers=[("X-Bytes", value)])
        self.assertStatus(r, 200)
        self.assertEqual(r.body, value)

    def test_header_lookup_through_param_name(self):
        r = self.get("/header/x-token", headers=[("X-TOKEN", "  tok  ")])
        self.assertEqual(r.body, b"tok")
        r = self.get("/header/X-Absent")
        self.assertText(r, 404, "absent")

    # -- query -----------------------------------------------------------------

    def test_query_spec_example(self):
        r = self.get("/query?q=lua+jit&tag=c%2B%2B&debug&q=openresty")
        self.assertJSON(r, 200, {"q": "openresty", "tag": "c++", "debug": ""})

    def test_query_empty(self):
        self.assertJSONBytes(self.get("/query"), 200, "{}")
        self.assertJSONBytes(self.get("/query?"), 200, "{}")
        self.assertJSONBytes(self.get("/query?&&"), 200, "{}")
        self.assertJSONBytes(self.get("/query?=x"), 200, "{}")

    def test_query_rules(self):
        cases = [
            ("/query?=x&&a=1=2&b", {"a": "1=2", "b": ""}),
            ("/query?x=%zz&y=%4&z=100%", {"x": "%zz", "y": "%4", "z": "100%"}),
            ("/query?A=1&a=2", {"A": "1", "a": "2"}),
            ("/query?a+b=c+d&%2B=%2b", {"a b": "c d", "+": "+"}),
            ("/query?k=%C3%A9", {"k": "\u00e9"}),
            ("/query?a=1?b=2", {"a": "1?b=2"}),
            ("/query?a=1&a=2&a=3", {"a": "3"}),
            ("/query?n=42", {"n": "42"}),
        ]
        for target, value in cases:
            with self.subTest(target=target):
                self.assertJSON(self.get(target), 200, value)

    def test_query_undecodable_bytes(self):
        r = self.get("/query?k=%FF")
        self.assertJSONBytes(r, 200, b'{"k":"\xff"}')

    # -- params ----------------------------------------------------------------

    def test_params(self):
        self.assertJSON(self.get("/params/one/x/t%C3%A9%20wo"), 200,
                        {"a": "one", "b": "t\u00e9 wo"})
        self.assertJSON(self.get("/noparams"), 200, {"type": "table", "count": 0})

    def test_new_table_each_call(self):
        r = self.get("/fresh/orig?x=orig")
        self.assertJSON(r, 200, {"headers_new": True, "query_new": True,
                                 "params_new": True, "host": "localhost",
                                 "added": True, "qx": "orig", "px": "orig"})

    # -- ctx:set / ctx:get ------------------------------------------------------

    def test_request_storage(self):
        c = self.connect()
        self.assertJSON(c.request("GET", "/store"), 200,
                        {"name": "value", "x": 1, "overwritten": 3, "missing_is_nil": True})
        self.assertJSON(c.request("GET", "/store/fresh"), 200, {"missing_is_nil": True})

    # -- stale ctx ---------------------------------------------------------------

    def test_ctx_invalid_after_request(self):
        c = self.connect()
        self.assertEqual(c.request("GET", "/stale/save").body, b"saved")
        r = c.request("GET", "/stale/use")
        self.assertStatus(r, 200)
        d = r.json()
        self.assertEqual(sorted(d), ["body", "headers", "method", "params", "path", "query"])
        for name, message in d.items():
            with self.subTest(method=name):
                self.assertIn("request context is no longer valid", message)

    # -- request id --------------------------------------------------------------

    def test_request_id_echoed(self):
        for value in ("abc-123_XYZ.~", "a\"b{}<>!", "x" * 256, "1"):
            with self.subTest(value=value[:20]):
                r = self.get("/reqid", headers={"X-Request-ID": value})
                self.assertStatus(r, 200)
                self.assertEqual(r.body, value.encode())
                self.assertFalse(r.has("X-Request-ID"))

    def test_request_id_generated(self):
        seen = set()
        for headers in ({}, {"X-Request-ID": "has space"}, {"X-Request-ID": "x" * 257},
                        {"X-Request-ID": b"caf\xc3\xa9"}, {"X-Request-ID": ""}):
            with self.subTest(headers=str(headers)[:40]):
                r = self.get("/reqid", headers=headers)
                self.assertStatus(r, 200)
                rid = r.body.decode("latin-1")
                self.assertRegex(rid, GENERATED_ID_RE)
                self.assertNotIn(rid, seen)
                seen.add(rid)
                self.assertFalse(r.has("X-Request-ID"))


class ContextBodyTest(RoverTestCase):
    APP = "tests/apps/context.lua"

    def post(self, path, body, ctype=None, headers=None):
        h = list((headers or {}).items())
        if ctype is not None:
            h.append(("Content-Type", ctype))
        return self.request("POST", path, headers=h, body=body)

    def test_text_and_as_string(self):
        body = b"hello\x00\xff\r\n world \xc3\xa9"
        for path in ("/body/as_text", "/body/as_string"):
            with self.subTest(path=path):
                r = self.post(path, body, ctype="text/plain")
                self.assertStatus(r, 200)
                self.assertEqual(r.header_all("Content-Type"), [CT_OCTET])
                self.assertEqual(r.body, body)

    def test_text_length_is_byte_length(self):
        r = self.post("/body/length", "\u00e9" * 500)
        self.assertText(r, 200, "1000")

    def test_bytes(self):
        r = self.post("/body/bytes", b"\x00\xffA\x80", ctype="image/png")
        self.assertJSONBytes(r, 200, "[0,255,65,128]")

    def test_json_roots(self):
        cases = [
            (b'{"a":[1,2,{"b":null}],"c":"x"}', {"type": "table", "value": {"a": [1, 2, {}], "c": "x"}}),
            (b"[10,20]", {"type": "table", "value": [10, 20]}),
            (b'"x"', {"type": "string", "value": "x"}),
            (b"7", {"type": "number", "value": 7}),
            (b"true", {"type": "boolean", "value": True}),
            (b"null", {"type": "nil"}),
            (b' \r\n\t {"a":1} \n ', {"type": "table", "value": {"a": 1}}),
        ]
        for path in ("/body/as_json", "/body/as_raw"):
            for body, value in cases:
                with self.subTest(path=path, body=body):
                    self.assertJSON(self.post(path, body, "application/json"), 200, value)

    def test_json_media_types_accepted(self):
        for ctype in (None, "application/json", "Application/JSON; charset=utf-8",
                      "application/json ; x=y", "application/vnd.api+json",
                      "application/problem+json"):
            with self.subTest(ctype=ctype):
                r = self.post("/body/as_json", b'{"a":1}', ctype)
                self.assertJSON(r, 200, {"type": "table", "value": {"a": 1}})

    def test_json_media_type_rejected(self):
        cases = [
            ("text/plain", "text/plain"),
            ("text/plain; charset=utf-8", "text/plain"),
            ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded"),
            ("application/jsonx", "application/jsonx"),
        ]
        for path in ("/body/as_json", "/body/as_raw", "/body/expect"):
            for ctype, shown in cases:
                with self.subTest(path=path, ctype=ctype):
                    r = self.post(path, b'{"name":"x"}', ctype)
                    self.assertJSONBytes(r, 415, unsupported(shown))

    def test_text_never_checks_media_type(self):
        r = self.post("/body/as_text", b"{not json", "image/png")
        self.assertEqual(r.body, b"{not json")

    def test_no_body(self):
        c = self.connect()
        cases = [
            b"POST /body/as_text HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST /body/as_json HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
            b"POST /body/bytes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"GET /body/as_text HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST /body/expect HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n",
        ]
        for raw in cases:
            with self.subTest(request=raw):
                c.send(raw)
                r = c.read_response()
                self.assertJSONBytes(r, 400, NO_BODY)
        # Request errors are application-level: the connection stays usable.
        r = c.request("GET", "/info")
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["path"], "/info")

    def test_get_with_body(self):
        r = self.request("GET", "/body/as_text", body=b"get body")
        self.assertEqual(r.body, b"get body")

    def test_invalid_json(self):
        for body in (b"{bad", b'{"a":1} x', b"[1,]", b'{"a":1', b"nul", b"'x'",
                     b"{} {}", b'{"a" 1}', b"01"):
            with self.subTest(body=body):
                r = self.post("/body/as_json", body, "application/json")
                self.assertStatus(r, 400)
                self.assertEqual(r.header_all("Content-Type"), ["application/json"])
                self.assertLength(r)
                d = r.json()
                self.assertEqual(list(d), ["error"])
                self.assertTrue(d["error"].startswith(INVALID_JSON_PREFIX), d)
                self.assertGreater(len(d["error"]), len(INVALID_JSON_PREFIX))

    def test_expect_non_object(self):
        for body in (b"[1,2]", b'"str"', b"7", b"true"):
            with self.subTest(body=body):
                self.assertJSONBytes(self.post("/body/expect", body, "application/json"),
                                     400, NOT_OBJECT)

    def test_expect_validation(self):
        r = self.post("/body/expect", b'{"count":2}', "application/json")
        self.assertJSON(r, 400, {"errors": [
            {"field": "name", "message": "Field 'name' is required", "type": "required"}]})
        r = self.post("/body/expect", b'{"name":5,"count":1.5}')
        self.assertJSON(r, 400, {"errors": [
            {"field": "count", "message": "Must be an integer, got float 1.5", "type": "type"},
            {"field": "name", "message": "Must be a string, got integer", "type": "type"}]})
        r = self.post("/body/expect", b'{"name":"x","extra":1}', "application/json")
        self.assertJSON(r, 200, {"name": "x", "count": 1})

    def test_each_parse_returns_new_table(self):
        r = self.post("/body/twice", b'{"a":"orig"}', "application/json")
        self.assertJSON(r, 200, {"same": False, "a2": "orig", "a3": "orig"})

    def test_request_errors_caught_with_pcall(self):
        r = self.request("POST", "/body/caught")
        self.assertJSON(r, 200, {"ok": False, "status": 400, "message": "Request has no body",
                                 "tostring": "Request has no body"})
        msg = "Unsupported Media Type (415): expected application/json, got text/csv"
        r = self.post("/body/caught", b"{}", "text/csv")
        self.assertJSON(r, 200, {"ok": False, "status": 415, "message": msg, "tostring": msg})
        r = self.post("/body/caught", b"{oops", "application/json")
        d = r.json()
        self.assertEqual(d["status"], 400)
        self.assertTrue(d["message"].startswith(INVALID_JSON_PREFIX), d)
        self.assertEqual(d["tostring"], d["message"])
        r = self.post("/body/caught", b"{}", "application/json")
        self.assertJSON(r, 200, {"ok": True})


if __name__ == "__main__":
    unittest.main()

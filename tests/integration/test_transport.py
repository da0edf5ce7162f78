"""lua-api.md §11.1 (parsing basics), §11.3 (connections) and
server-features.md §7 (body size limit)."""

import unittest

from harness import (CT_JSON, CT_OCTET, CT_TEXT, IMF_DATE_RE, RoverTestCase,
                     build_request)


def req(method, target, headers=(), body=None, version="HTTP/1.1", host="localhost"):
    return build_request(method, target, list(headers), body, version=version, host=host)


class TransportTestCase(RoverTestCase):
    APP = "tests/apps/transport.lua"

    def assertRejected(self, raw, status, body, ctype=CT_TEXT):
        """Sends raw bytes on a new connection: a transport rejection with
        Connection: close, then the server closes the connection."""
        c = self.connect()
        c.send(raw)
        r = c.read_response()
        self.assertStatus(r, status)
        self.assertEqual(r.header_all("Content-Type"), [ctype], r)
        self.assertEqual(r.body, body if isinstance(body, bytes) else body.encode())
        self.assertLength(r)
        self.assertEqual(r.header_all("Connection"), ["close"], r)
        self.assertDateOnly(r)
        self.assertEqual(c.read_until_eof(), b"", "bytes after a rejection")
        return r

    def assertDateOnly(self, r):
        dates = r.header_all("Date")
        self.assertEqual(len(dates), 1, r)
        self.assertRegex(dates[0], IMF_DATE_RE)
        self.assertFalse(r.has("Server"), r)

    def assertEcho(self, r, body, method="POST"):
        self.assertStatus(r, 200)
        self.assertEqual(r.header_all("Content-Type"), [CT_OCTET])
        self.assertEqual(r.body, body)
        self.assertEqual(r.header_all("X-Body-Length"), [str(len(body))])
        self.assertEqual(r.header_all("X-Method"), [method])


class ParsingTest(TransportTestCase):
    """§11.1 basics."""

    def test_bad_request_lines(self):
        for raw in (b"GARBAGE\r\n\r\n",
                    b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
                    b"GET /\r\nHost: x\r\n\r\n",
                    b"GET / http/1.1\r\nHost: x\r\n\r\n",
                    b"GET / HTTP/1.10\r\nHost: x\r\n\r\n",
                    b"GET / HTTP/x.1\r\nHost: x\r\n\r\n",
                    b"GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n"):
            with self.subTest(raw=raw):
                self.assertRejected(raw, 400, "Bad Request")

    def test_other_http_versions_505(self):
        for version in (b"HTTP/2.0", b"HTTP/3.0", b"HTTP/0.9", b"HTTP/1.2"):
            with self.subTest(version=version):
                self.assertRejected(b"GET / " + version + b"\r\nHost: x\r\n\r\n",
                                    505, "HTTP Version Not Supported")

    def test_host_required_once_in_http11(self):
        self.assertRejected(b"GET / HTTP/1.1\r\n\r\n", 400, "Bad Request")
        self.assertRejected(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "Bad Request")
        self.assertRejected(b"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400, "Bad Request")

    def test_http10_without_host(self):
        c = self.connect()
        c.send(b"GET / HTTP/1.0\r\n\r\n")
        self.assertText(c.read_response(), 200, "root")

    def test_bad_header_lines(self):
        for raw in (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n",
                    b"GET / HTTP/1.1\r\n Host: x\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: x\r\nX A: 1\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",
                    b"GET / HTTP/1.1\nHost: x\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: x\rX-A: 1\r\n\r\n"):
            with self.subTest(raw=raw):
                self.assertRejected(raw, 400, "Bad Request")

    def test_leading_empty_lines_ignored(self):
        c = self.connect()
        c.send(b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertText(c.read_response(), 200, "root")

    def test_htab_and_high_bytes_in_values(self):
        r = self.request("GET", "/", headers=[("X-A", b"a\tb \xff\x80")])
        self.assertText(r, 200, "root")

    def test_absolute_form(self):
        self.assertText(self.get("http://localhost:1234/path?x=abs"), 200, "/path?abs")
        self.assertText(self.get("http://example.com/path"), 200, "/path?")

    def test_content_length_body(self):
        self.assertEcho(self.request("POST", "/echo", body=b"hello world"), b"hello world")
        body = bytes(range(256)) * 4  # exactly the 1024-byte limit
        self.assertEcho(self.request("PUT", "/echo", body=body), body, "PUT")

    def test_identical_content_lengths_accepted(self):
        for headers in ([("Content-Length", "5"), ("Content-Length", "5")],
                        [("Content-Length", "5, 5")]):
            with self.subTest(headers=headers):
                c = self.connect()
                c.send(req("POST", "/echo", headers, b"abcde"))
                self.assertEcho(c.read_response(), b"abcde")

    def test_bad_content_length(self):
        for cl in (b"-1", b"+5", b"5 5", b"0x5", b"abc", b"99999999999999999999999",
                   b"5, 6"):
            with self.subTest(cl=cl):
                self.assertRejected(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: "
                                    + cl + b"\r\n\r\nabcde", 400, "Bad Request")
        self.assertRejected(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                            b"Content-Length: 6\r\n\r\nabcdef", 400, "Bad Request")

    def test_chunked_body(self):
        c = self.connect()
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n6;ext=1\r\n world\r\nA\r\n0123456789\r\n"
               b"0\r\nX-Trailer: t\r\n\r\n")
        self.assertEcho(c.read_response(), b"hello world0123456789")
        # Upper-case coding name, lower-case hex, no trailers.
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\n\r\n"
               b"a\r\n0123456789\r\n0\r\n\r\n")
        self.assertEcho(c.read_response(), b"0123456789")
        # The connection is still in sync.
        self.assertText(c.request("GET", "/"), 200, "root")

    def test_chunk_extensions_ignored(self):
        # RFC 9112 §7.1.1: chunk-ext = *( ";" name [ "=" value ] ),
        # value = token / quoted-string (BWS variants are not tested).
        for ext in (b";a", b";a;b", b";a=1", b';a="q v"', b";a=1;b=2", b";a=1;b",
                    b';a=1;b="q"'):
            with self.subTest(ext=ext):
                c = self.connect()
                c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"5" + ext + b"\r\nhello\r\n0\r\n\r\n")
                self.assertEcho(c.read_response(), b"hello")

    def test_bad_chunked_bodies(self):
        head = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        for body in (b"0x5\r\nhello\r\n0\r\n\r\n",
                     b"+5\r\nhello\r\n0\r\n\r\n",
                     b" 5\r\nhello\r\n0\r\n\r\n",
                     b"z\r\nhello\r\n0\r\n\r\n",
                     b"5\r\nhelloXX0\r\n\r\n",
                     b"11111111111111111\r\nx\r\n0\r\n\r\n"):
            with self.subTest(body=body):
                self.assertRejected(head + body, 400, "Bad Request")

    def test_transfer_encoding_rules(self):
        self.assertRejected(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                            b"Content-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                            400, "Bad Request")
        self.assertRejected(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
                            501, "Not Implemented")
        for te in (b"chunked, chunked", b"chunked,chunked"):
            with self.subTest(te=te):
                self.assertRejected(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                                    + te + b"\r\n\r\n0\r\n\r\n", 400, "Bad Request")
        self.assertRejected(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "Bad Request")
        self.assertRejected(b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"5\r\nhello\r\n0\r\n\r\n", 400, "Bad Request")

    def test_expect_100_continue(self):
        c = self.connect()
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
               b"Expect: 100-continue\r\n\r\n")
        interim = c.read_response(skip_1xx=False)
        self.assertEqual(interim.status, 100)
        self.assertTrue(interim.raw_head.startswith(b"HTTP/1.1 100 Continue\r\n"), interim)
        self.assertEqual(interim.body, b"")
        c.send(b"hello")
        self.assertEcho(c.read_response(), b"hello")
        self.assertText(c.request("GET", "/"), 200, "root")

    def test_expect_other_417(self):
        self.assertRejected(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                            b"Expect: something-else\r\n\r\nhello", 417, "Expectation Failed")

    def test_body_on_get_is_not_a_request(self):
        c = self.connect()
        inner = b"GET /n/2 HTTP/1.1\r\nHost: x\r\n\r\n"
        c.send(req("GET", "/echo", body=inner) + req("GET", "/n/1"))
        self.assertEcho(c.read_response(), inner, "GET")
        self.assertText(c.read_response(), 200, "n=1")


class BodyLimitTest(TransportTestCase):
    """server-features.md §7 with body_size_limit = 1024."""

    def test_content_length_over_limit(self):
        self.assertRejected(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n",
            413, b'{"error":"Request body too large: 2000 bytes exceeds limit of 1024 bytes"}',
            CT_JSON)

    def test_any_method_and_path(self):
        self.assertRejected(
            b"GET /no/such/route HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n",
            413, b'{"error":"Request body too large: 1025 bytes exceeds limit of 1024 bytes"}',
            CT_JSON)

    def test_413_instead_of_100_continue(self):
        self.assertRejected(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
            b"Expect: 100-continue\r\n\r\n",
            413, b'{"error":"Request body too large: 5000 bytes exceeds limit of 1024 bytes"}',
            CT_JSON)

    def test_chunked_over_limit(self):
        c = self.connect()
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"400\r\n" + b"a" * 1024 + b"\r\n10\r\n" + b"b" * 16 + b"\r\n0\r\n\r\n")
        r = c.read_response()
        self.assertStatus(r, 413)
        self.assertEqual(r.header_all("Content-Type"), [CT_JSON])
        self.assertEqual(r.header_all("Connection"), ["close"])
        self.assertRegex(r.json()["error"],
                         r"^Request body too large: (\d+) bytes exceeds limit of 1024 bytes$")
        n = int(r.json()["error"].split()[4])
        self.assertGreater(n, 1024)
        self.assertLessEqual(n, 1040)

    def test_chunked_at_limit_accepted(self):
        c = self.connect()
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"200\r\n" + b"a" * 512 + b"\r\n200\r\n" + b"b" * 512 + b"\r\n0\r\n\r\n")
        self.assertEcho(c.read_response(), b"a" * 512 + b"b" * 512)


class ConnectionsTest(TransportTestCase):
    """§11.3."""

    def test_keep_alive_by_default(self):
        c = self.connect()
        for i in range(5):
            r = c.request("GET", "/n/%d" % i)
            self.assertText(r, 200, "n=%d" % i)
            self.assertNotIn("close", [v.lower() for v in r.header_all("Connection")])

    def test_connection_close(self):
        c = self.connect()
        r = c.request("GET", "/n/1", headers={"Connection": "close"})
        self.assertText(r, 200, "n=1")
        self.assertEqual(r.header_all("Connection"), ["close"])
        self.assertTrue(c.closed_by_peer())

    def test_http10_closes_by_default(self):
        c = self.connect()
        c.send(b"GET /n/10 HTTP/1.0\r\n\r\n")
        r = c.read_response()
        self.assertText(r, 200, "n=10")
        self.assertNotIn("keep-alive", [v.lower() for v in r.header_all("Connection")])
        self.assertTrue(c.closed_by_peer())

    def test_http10_keep_alive(self):
        c = self.connect()
        for i in range(3):
            c.send(b"GET /n/%d HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" % i)
            r = c.read_response()
            self.assertText(r, 200, "n=%d" % i)
            self.assertEqual(r.header_all("Connection"), ["keep-alive"])
        c.send(b"GET /n/9 HTTP/1.0\r\n\r\n")
        self.assertText(c.read_response(), 200, "n=9")
        self.assertTrue(c.closed_by_peer())

    def test_pipelining_in_order(self):
        c = self.connect()
        raw = b"".join(req("GET", "/n/%d" % i) for i in range(10))
        raw += req("POST", "/echo", body=b"in the middle")
        raw += req("HEAD", "/n/head")
        raw += req("GET", "/empty")
        raw += req("GET", "/n/last")
        c.send(raw)
        for i in range(10):
            self.assertText(c.read_response(), 200, "n=%d" % i)
        self.assertEcho(c.read_response(), b"in the middle")
        h = c.read_response(head=True)
        self.assertStatus(h, 200)
        self.assertEqual(h.header_all("Content-Length"), [str(len("n=head"))])
        e = c.read_response()
        self.assertStatus(e, 204)
        self.assertText(c.read_response(), 200, "n=last")
        self.assertEqual(c.pending(), b"")

    def test_pipelining_stops_after_connection_close(self):
        c = self.connect()
        c.send(req("GET", "/n/1") + req("GET", "/n/2", [("Connection", "close")])
               + req("GET", "/n/3"))
        self.assertText(c.read_response(), 200, "n=1")
        r = c.read_response()
        self.assertText(r, 200, "n=2")
        self.assertEqual(r.header_all("Connection"), ["close"])
        self.assertEqual(c.read_until_eof(), b"")

    def test_pipelined_application_errors_keep_connection(self):
        c = self.connect()
        c.send(req("GET", "/nowhere") + req("DELETE", "/") + req("BREW", "/")
               + req("POST", "/n/1") + req("GET", "/n/ok"))
        self.assertText(c.read_response(), 404, "Route not found")
        self.assertText(c.read_response(), 405, "Method Not Allowed")
        self.assertStatus(c.read_response(), 400)
        self.assertStatus(c.read_response(), 405)
        self.assertText(c.read_response(), 200, "n=ok")

    def test_date_and_no_server_header_everywhere(self):
        c = self.connect()
        c.send(req("GET", "/") + req("GET", "/nowhere") + req("POST", "/")
               + req("BREW", "/") + req("GET", "/empty") + req("HEAD", "/")
               + req("OPTIONS", "/") + req("POST", "/echo", body=b"x"))
        heads = [False] * 5 + [True] + [False] * 2
        for head, expected in zip(heads, (200, 404, 405, 400, 204, 200, 204, 200)):
            r = c.read_response(head=head)
            self.assertStatus(r, expected)
            self.assertDateOnly(r)
        # Also on transport rejections.
        self.assertRejected(b"GET / HTTP/2.0\r\n\r\n", 505, "HTTP Version Not Supported")

    def test_no_body_on_head_and_204(self):
        c = self.connect()
        c.send(req("HEAD", "/n/abc") + req("GET", "/empty") + req("HEAD", "/empty")
               + req("GET", "/n/after"))
        h = c.read_response(head=True)
        self.assertStatus(h, 200)
        self.assertEqual(h.header_all("Content-Length"), ["5"])
        e = c.read_response()
        self.assertStatus(e, 204)
        self.assertNoBodyHeaders(e)
        e2 = c.read_response(head=True)
        self.assertStatus(e2, 204)
        # Nothing between the responses: the last one parses in place.
        self.assertText(c.read_response(), 200, "n=after")
        self.assertEqual(c.pending(), b"")

    def test_content_length_framing(self):
        r = self.get("/n/framing")
        self.assertEqual(r.header_all("Content-Length"), ["9"])
        self.assertFalse(r.has("Transfer-Encoding"))


if __name__ == "__main__":
    unittest.main()

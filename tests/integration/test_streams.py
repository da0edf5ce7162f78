"""Chunked streams and server-sent events (server-features.md §11), with the
security headers (§5), CORS headers (§6) and compression rule (§9) on
streams, after hooks (§1), HEAD / HTTP/1.0 / keep-alive / pipelining (core
§11) and the drain (§15). App: tests/apps/streams.lua (one worker).

Wire bytes are checked exactly: the response head is parsed by the harness,
the chunked body is read frame by frame with a strict reader
(``<hex>\\r\\n<data>\\r\\n`` per chunk, ``0\\r\\n\\r\\n`` at the end, no
extensions, no trailers), and for api.stream the framing bytes themselves are
compared (chunk sizes chosen so that their hex has no letters).

No sleeps and no timed assertions. Producer calls are counted in
rover.shared and read through other requests on other connections; "long
enough for a wrongly scheduled producer to have been called again" is a
later request whose own rover.delay is longer than the producer's and was
armed after it, so that the event loop fires the producer's timer first.
"""

import math
import re
import signal
import socket
import struct
import subprocess
import unittest

from harness import (IO_TIMEOUT, LOG_TIME, REPO_ROOT, ConnectionClosed, HttpConnection,
                     ProtocolError, RoverServer, RoverTestCase, app_line, build_request)

APP = "tests/apps/streams.lua"
EXIT_TIMEOUT = 15.0
BIG = 256 * 1024

SECURITY = [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "strict-origin-when-cross-origin")]
ORIGIN = "https://app.example"

EXAMPLE_SSE = (b"retry: 2000\n\n"
               b"id: 1\ndata: hello\n\n"
               b"id: job-7\nevent: progress\ndata: {\"pct\":40}\n\n")
ROWS_BODY = b"sku,qty\na-1,3\nb-22,10\n"
ROWS_WIRE = b"8\r\nsku,qty\n\r\n6\r\na-1,3\n\r\n8\r\nb-22,10\n\r\n0\r\n\r\n"


# ---------------------------------------------------------------------------
# strict chunk reading


def read_chunk(c):
    """One chunk from ``c``: its data, or None for the last chunk
    (``0\\r\\n\\r\\n`` exactly). Raises ConnectionClosed at EOF."""
    line = c._read_line()
    if not re.fullmatch(rb"0|[1-9a-fA-F][0-9a-fA-F]*", line):
        raise ProtocolError("bad chunk-size line %r" % line)
    size = int(line, 16)
    if size == 0:
        end = c._read_line()
        if end != b"":
            raise ProtocolError("last chunk followed by %r, not CRLF" % end)
        return None
    data = c._read_exact(size)
    crlf = c._read_exact(2)
    if crlf != b"\r\n":
        raise ProtocolError("chunk data followed by %r" % crlf)
    return data


def read_chunks(c):
    """All chunks up to and including the last one; returns the list of
    data (fails at EOF before the last chunk)."""
    out = []
    while True:
        d = read_chunk(c)
        if d is None:
            return out
        out.append(d)


def read_chunks_until_eof(c):
    """Chunks until the peer closes: (chunks, saw_last_chunk)."""
    out = []
    while True:
        if not c.buf and not c._fill():
            return out, False
        d = read_chunk(c)
        if d is None:
            return out, True
        out.append(d)


def read_body_until(c, marker):
    """Reads chunks until the concatenated data ends with ``marker``."""
    body = b""
    while not body.endswith(marker):
        d = read_chunk(c)
        if d is None:
            raise ProtocolError("stream ended before %r (got %r)" % (marker, body))
        body += d
    return body


def connect_with_rcvbuf(server, rcvbuf):
    """An HttpConnection whose socket got SO_RCVBUF before connecting (this
    also turns off receive-buffer autotuning)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(IO_TIMEOUT)
    s.connect((server.host, server.port))
    c = HttpConnection.__new__(HttpConnection)
    c.sock, c.buf, c.eof = s, bytearray(), False
    return c


def max_send_buffer():
    """The largest send buffer the server's socket can have: autotuned up to
    tcp_wmem's maximum, or set with SO_SNDBUF up to twice net.core.wmem_max."""
    sizes = [4 * 1024 * 1024]
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            sizes.append(int(f.read().split()[2]))
        with open("/proc/sys/net/core/wmem_max") as f:
            sizes.append(2 * int(f.read().strip()))
    except (OSError, ValueError, IndexError):
        pass
    return max(sizes)


class StreamTestBase(RoverTestCase):
    APP = APP

    def open_stream(self, target, headers=None, conn=None):
        """Sends GET ``target`` and reads the response head only."""
        c = conn or self.connect()
        c.send(build_request("GET", target, headers))
        return c, c.read_response(head=True)

    def calls(self, tag, conn=None):
        r = (conn.request("GET", "/count/" + tag) if conn else self.get("/count/" + tag))
        self.assertStatus(r, 200)
        return r.json()["calls"]

    def calls_after(self, tag, ms, conn=None):
        target = "/count_after/%s?ms=%d" % (tag, ms)
        r = conn.request("GET", target) if conn else self.get(target)
        self.assertStatus(r, 200)
        return r.json()["calls"]

    def assertStreamHead(self, head, status, ctype):
        self.assertStatus(head, status)
        self.assertEqual(head.header_all("Content-Type"), [ctype], head)
        self.assertEqual(head.header_all("Transfer-Encoding"), ["chunked"], head)
        self.assertFalse(head.has("Content-Length"), head)
        self.assertFalse(head.has("Content-Encoding"), head)

    def assertSseHead(self, head, status=200, cache_control="no-cache"):
        self.assertStreamHead(head, status, "text/event-stream")
        self.assertEqual(head.header_all("Cache-Control"), [cache_control], head)
        self.assertEqual(head.header_all("X-Accel-Buffering"), ["no"], head)

    def assertWire(self, c, expected):
        """The next bytes on ``c`` are exactly ``expected``."""
        try:
            got = c._read_exact(len(expected))
        except ConnectionClosed:
            got = bytes(c.buf)
        self.assertEqual(got, expected)

    def assertSecurityHeaders(self, resp):
        for name, value in SECURITY:
            self.assertEqual(resp.header_all(name), [value], resp)

    def error_log(self, request_id, path, start):
        """The ERROR line core §12 writes for request ``request_id``."""
        pattern = ("^" + LOG_TIME + r" ERROR \[" + re.escape(request_id) + r"\] GET "
                   + re.escape(path) + " - (.+)$")
        found = self.server.wait_log(pattern, start=start)
        self.assertIsNotNone(found, "no ERROR line for %s\n%s"
                             % (request_id, self.server.stdout.text()[-3000:]))
        return found[1].group(1)


# ---------------------------------------------------------------------------


class ChunkedStreamTest(StreamTestBase):
    """api.stream / api.stream_with_headers (§11.1)."""

    def test_dot_form_exact_framing_and_empty_strings(self):
        # Items: "sku,qty\n", "", "a-1,3\n", "", "", "b-22,10\n", then nil:
        # "" sends nothing and the producer is called again.
        c, head = self.open_stream("/s/dot/t1")
        self.assertStreamHead(head, 200, "text/csv; charset=utf-8")
        self.assertWire(c, ROWS_WIRE)
        self.assertEqual(c.pending(), b"")
        # 6 items + the nil call, read on the same (kept-alive) connection.
        self.assertEqual(self.calls("t1", conn=c), 7)

    def test_colon_form(self):
        c, head = self.open_stream("/s/colon/t2")
        self.assertStreamHead(head, 201, "application/x-ndjson")
        self.assertWire(c, b'8\r\n{"n":1}\n\r\n8\r\n{"n":2}\n\r\n0\r\n\r\n')
        self.assertEqual(self.calls("t2", conn=c), 3)

    def test_stream_with_headers_dot(self):
        c, head = self.open_stream("/s/headers/dot")
        # Content-Type verbatim; the app's Content-Length and
        # Transfer-Encoding are ignored (§4).
        self.assertStreamHead(head, 202, "Text/Weird; Charset=Latin-1")
        self.assertEqual(head.header_all("X-Stream"), ["yes"], head)
        self.assertEqual(head.header_all("Cache-Control"), ["no-store"], head)
        self.assertEqual(head.header_all("X-Number"), ["42"], head)
        self.assertEqual(head.header_all("Set-Cookie"), ["a=1", "b=2"], head)
        self.assertSecurityHeaders(head)
        self.assertWire(c, b"3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n")
        self.assertText(c.request("GET", "/plain"), 200, "plain")

    def test_stream_with_headers_colon(self):
        c, head = self.open_stream("/s/headers/colon")
        self.assertStreamHead(head, 203, "application/octet-stream")
        self.assertEqual(head.header_all("X-Colon"), ["1"], head)
        self.assertWire(c, b"1\r\nx\r\n0\r\n\r\n")

    def test_chunk_sizes_in_hex(self):
        c, head = self.open_stream("/s/sizes")
        self.assertStreamHead(head, 200, "application/octet-stream")
        self.assertWire(c, b"10000\r\n" + b"z" * 65536 + b"\r\n10\r\n" + b"q" * 16
                        + b"\r\n1\r\n1\r\n0\r\n\r\n")

    def test_never_compressed(self):
        c, head = self.open_stream("/s/compressible", headers={"Accept-Encoding": "gzip"})
        self.assertStreamHead(head, 200, "text/plain; charset=utf-8")
        self.assertWire(c, b"1000\r\n" + b"abcd" * 1024 + b"\r\n1000\r\n" + b"efgh" * 1024
                        + b"\r\n0\r\n\r\n")

    def test_producer_failure_closes_without_last_chunk(self):
        for kind in ("error", "number", "table", "boolean"):
            with self.subTest(kind=kind):
                tag = "t6" + kind
                rid = "stream-bad-" + kind
                path = "/s/bad/%s/%s" % (kind, tag)
                start = len(self.server.stdout.lines())
                c, head = self.open_stream(path, headers={"X-Request-ID": rid})
                self.assertStreamHead(head, 200, "text/plain")
                # The first chunk, then EOF: no "0\r\n\r\n".
                self.assertEqual(c.read_until_eof(), b"6\r\nfirst\n\r\n")
                message = self.error_log(rid, path, start)
                if kind == "error":
                    pos = "%s:%d: " % (APP, app_line(REPO_ROOT / APP, "producer failed on purpose"))
                    self.assertTrue(message.endswith(pos + "producer failed on purpose"), message)
                # Not called again after it failed.
                self.assertEqual(self.calls(tag), 2)
        self.assertText(self.get("/plain"), 200, "plain")

    # -- HEAD, HTTP/1.0, keep-alive, pipelining -------------------------------

    def test_head_of_a_stream_route(self):
        c = self.connect()
        r = c.request("HEAD", "/s/dot/t7")
        self.assertStreamHead(r, 200, "text/csv; charset=utf-8")
        self.assertSecurityHeaders(r)
        r = c.request("HEAD", "/e/example/t7e")
        self.assertSseHead(r)
        # No body bytes followed the heads: the connection is reusable and
        # the next response parses; the producers were never called.
        self.assertEqual(self.calls("t7", conn=c), 0)
        self.assertEqual(self.calls("t7e", conn=c), 0)
        self.assertEqual(c.pending(), b"")

    def test_http10_client_gets_unframed_body_then_eof(self):
        c = self.connect()
        c.send(build_request("GET", "/s/dot/t8", version="HTTP/1.0"))
        r = c.read_response()  # no framing headers: reads until EOF
        self.assertStatus(r, 200)
        self.assertEqual(r.header_all("Content-Type"), ["text/csv; charset=utf-8"], r)
        self.assertFalse(r.has("Transfer-Encoding"), r)
        self.assertFalse(r.has("Content-Length"), r)
        self.assertEqual(r.header_all("Connection"), ["close"], r)
        self.assertEqual(r.body, ROWS_BODY)
        self.assertTrue(c.eof)
        self.assertEqual(self.calls("t8"), 7)

    def test_http10_sse(self):
        c = self.connect()
        c.send(build_request("GET", "/e/example/t8e", version="HTTP/1.0"))
        r = c.read_response()
        self.assertStatus(r, 200)
        self.assertEqual(r.header_all("Content-Type"), ["text/event-stream"], r)
        self.assertFalse(r.has("Transfer-Encoding"), r)
        self.assertFalse(r.has("Content-Length"), r)
        self.assertEqual(r.header_all("Connection"), ["close"], r)
        self.assertEqual(r.body, EXAMPLE_SSE)

    def test_keep_alive_after_finished_streams(self):
        c = self.connect()
        for target, body in (("/s/dot/t9", ROWS_BODY), ("/e/status", b"id: 1\ndata: created\n\n"),
                             ("/s/colon/t9", b'{"n":1}\n{"n":2}\n')):
            with self.subTest(target=target):
                c.send(build_request("GET", target))
                head = c.read_response(head=True)
                self.assertStatus(head, 201 if target != "/s/dot/t9" else 200)
                self.assertNotEqual(head.header("Connection"), "close", head)
                self.assertEqual(b"".join(read_chunks(c)), body)
        self.assertText(c.request("GET", "/plain"), 200, "plain")

    def test_pipelined_request_answered_after_the_last_chunk(self):
        c = self.connect()
        c.send(build_request("GET", "/s/delayed/t10?n=3&ms=30") + build_request("GET", "/plain"))
        head = c.read_response(head=True)
        self.assertStreamHead(head, 200, "text/plain")
        # The stream's frames, its last chunk, and only then the next response.
        self.assertWire(c, b"8\r\nchunk 1\n\r\n8\r\nchunk 2\n\r\n8\r\nchunk 3\n\r\n0\r\n\r\n"
                        b"HTTP/1.1 200 OK\r\n")
        c.buf[:0] = b"HTTP/1.1 200 OK\r\n"
        self.assertText(c.read_response(), 200, "plain")

    # -- middleware, headers ----------------------------------------------------

    def test_after_hooks_run_before_the_first_producer_call(self):
        c, head = self.open_stream("/hooked/t11")
        self.assertStreamHead(head, 200, "text/plain")
        self.assertEqual(read_chunks(c), [b"after hooks run: 1, producer calls they saw: 0\n"])
        self.assertEqual(self.calls("t11", conn=c), 2)

    def test_security_and_cors_headers_on_streams(self):
        for target in ("/s/dot/t12", "/e/example/t12e"):
            with self.subTest(target=target):
                c, head = self.open_stream(target, headers={"Origin": ORIGIN})
                self.assertSecurityHeaders(head)
                self.assertEqual(head.header_all("Access-Control-Allow-Origin"), [ORIGIN], head)
                self.assertFalse(head.has("Access-Control-Allow-Credentials"), head)
                vary = [t.strip().lower() for v in head.header_all("Vary") for t in v.split(",")]
                self.assertIn("origin", vary, head)
                read_chunks(c)
                # A disallowed origin: no CORS headers; security headers still.
                c.send(build_request("GET", target, {"Origin": "https://evil.example"}))
                head = c.read_response(head=True)
                self.assertSecurityHeaders(head)
                self.assertFalse(head.has("Access-Control-Allow-Origin"), head)
                read_chunks(c)


class SseTest(StreamTestBase):
    """api.sse and its forms (§11.2)."""

    def sse(self, target, status=200, cache_control="no-cache", headers=None):
        c, head = self.open_stream(target, headers=headers)
        self.assertSseHead(head, status, cache_control)
        self.assertSecurityHeaders(head)
        return c, head, b"".join(read_chunks(c))

    def test_example_wire_output(self):
        c, head, body = self.sse("/e/example/t13", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(body, EXAMPLE_SSE)
        self.assertEqual(self.calls("t13", conn=c), 3)

    def test_colon_form(self):
        self.assertEqual(self.sse("/e/colon")[2], b"id: 1\ndata: colon\n\n")

    def test_status_forms(self):
        # retry_ms = 0: no retry block; dot call of :status with retry 150.
        self.assertEqual(self.sse("/e/status", 201)[2], b"id: 1\ndata: created\n\n")
        self.assertEqual(self.sse("/e/status_dot", 202)[2],
                         b"retry: 150\n\nid: 1\ndata: dot status\n\n")

    def test_with_headers(self):
        c, head, body = self.sse("/e/with_headers", 203, cache_control="no-store")
        self.assertEqual(head.header_all("X-Sse"), ["1"], head)
        self.assertEqual(body, b"retry: 1500\n\nid: 1\ndata: with headers\n\n")
        c, head, body = self.sse("/e/with_headers_default", 200)
        self.assertEqual(head.header_all("X-Sse"), ["2"], head)
        self.assertEqual(body, b"id: 1\ndata: x\n\n")

    def test_never_compressed(self):
        c, head, body = self.sse("/e/compressible",
                                 headers={"Accept-Encoding": "gzip, deflate, br"})
        self.assertEqual(body, b"id: 1\ndata: " + b"abcd" * 1024 + b"\n\n")

    def test_data_split_on_crlf_cr_lf(self):
        self.assertEqual(self.sse("/e/lines")[2],
                         b"id: 1\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
                         b"id: 2\nevent: multi\ndata: one\ndata: two\n\n")

    def test_data_kinds_and_ids(self):
        self.assertEqual(self.sse("/e/kinds")[2],
                         b"id: 1\ndata: first\n\n"
                         b"id: 2\nevent: ping\ndata: \n\n"
                         b"id: 3\ndata: 42\n\n"
                         b"id: explicit\ndata: true\n\n"
                         b"id: 4\ndata: 1.5\n\n"
                         b"id: 7\ndata: false\n\n"
                         b"id: 5\ndata: [1,2]\n\n"
                         b"id: only-id\ndata: \n\n")

    def test_comment_and_retry_blocks(self):
        self.assertEqual(self.sse("/e/blocks")[2],
                         b": keep-alive\n\n"
                         b"retry: 3000\n\n"
                         b"id: 1\ndata: after blocks\n\n"
                         b": c\n\nretry: 10\n\nid: 2\ndata: d\n\n"
                         b": c2\n\nid: 3\nevent: e\ndata: \n\n")

    def test_bad_producer_result_closes_without_last_chunk(self):
        start = len(self.server.stdout.lines())
        c, head = self.open_stream("/e/bad/t18", headers={"X-Request-ID": "sse-bad-1"})
        self.assertSseHead(head)
        chunks, last = read_chunks_until_eof(c)
        self.assertEqual((b"".join(chunks), last), (b"id: 1\ndata: ok\n\n", False))
        self.assertEqual(c.pending(), b"")
        self.error_log("sse-bad-1", "/e/bad/t18", start)
        self.assertEqual(self.calls("t18"), 2)


class SlowStreamTest(StreamTestBase):
    """Suspending producers, slow clients, back-pressure, clients that go
    away (§11.1, §11.2 "Producers run in coroutines")."""

    def test_worker_serves_others_while_a_producer_waits(self):
        c, head = self.open_stream("/e/gated/t19")
        self.assertSseHead(head)
        self.assertEqual(read_body_until(c, b"\n\n"), b"id: 1\ndata: before\n\n")
        # Not reading c; the producer is suspended in rover.delay until
        # /go/t19. With one worker, these are answered only if it is free.
        other = self.connect()
        self.assertText(other.request("GET", "/plain"), 200, "plain")
        self.assertEqual(self.calls("t19", conn=other), 2)
        self.assertText(other.request("GET", "/go/t19"), 200, "go t19")
        self.assertEqual(b"".join(read_chunks(c)),
                         b"id: 2\ndata: released\n\nid: 3\ndata: after 1\n\n"
                         b"id: 4\ndata: after 2\n\n")
        self.assertEqual(self.calls("t19", conn=other), 5)

    def test_stream_logged_when_its_head_is_sent(self):
        c, head = self.open_stream("/e/gated/t19log", headers={"X-Request-ID": "sse-gated-log"})
        self.assertSseHead(head)
        self.assertEqual(read_body_until(c, b"\n\n"), b"id: 1\ndata: before\n\n")
        # Core §12: streams are logged when their headers are sent, i.e.
        # already now, while the producer still waits for /go/t19log.
        line = ("^" + LOG_TIME + r" INFO \[sse-gated-log\] GET /e/gated/t19log - 200 in "
                r"\d+\.\d\dms$")
        found = self.server.wait_log(line)
        self.assertText(self.get("/go/t19log"), 200, "go t19log")
        self.assertEqual(len(read_chunks(c)), 3)
        self.assertIsNotNone(found, "stream not logged while it was running\n"
                             + self.server.stdout.text()[-2000:])

    def test_delayed_chunks_read_at_the_clients_pace(self):
        c, head = self.open_stream("/s/delayed/t19b?n=5&ms=20")
        self.assertStreamHead(head, 200, "text/plain")
        self.assertEqual(read_chunk(c), b"chunk 1\n")
        other = self.connect()
        self.assertText(other.request("GET", "/plain"), 200, "plain")
        self.assertEqual(read_chunks(c), [b"chunk %d\n" % k for k in range(2, 6)])
        self.assertEqual(self.calls("t19b", conn=other), 6)

    def test_producer_not_called_ahead_of_a_client_that_stops_reading(self):
        n = 96  # 24 MiB in all
        c = connect_with_rcvbuf(self.server, 64 * 1024)
        self.addCleanup(c.close)
        rcvbuf = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        # What can be accepted without the client reading: the client's
        # receive buffer and the server's send buffer, plus a few chunks held
        # by the server while writing.
        bound = 4 + math.ceil((rcvbuf + max_send_buffer()) / BIG)
        self.assertLess(bound, n)
        c.send(build_request("GET", "/s/big/t20?n=%d" % n))
        # The 300 ms wait is armed after the stream started; an unbounded
        # server would have produced all 64 chunks (no waits) by then.
        other = self.connect()
        first = self.calls_after("t20", 300, conn=other)
        self.assertGreaterEqual(first, 1)
        self.assertLessEqual(first, bound, "producer called %d times for a client that "
                             "reads nothing (bound %d)" % (first, bound))
        again = self.calls_after("t20", 300, conn=other)
        self.assertLessEqual(again, bound)
        # Now read everything.
        head = c.read_response(head=True)
        self.assertStreamHead(head, 200, "application/octet-stream")
        chunks = read_chunks(c)
        self.assertEqual(len(chunks), n)
        for k, d in enumerate(chunks):
            if d != bytes([65 + k % 26]) * BIG:
                self.fail("chunk %d: %d bytes, starts %r" % (k + 1, len(d), d[:20]))
        self.assertEqual(self.calls("t20", conn=other), n + 1)
        self.assertText(c.request("GET", "/plain"), 200, "plain")

    def test_client_gone_producer_no_longer_called(self):
        for how in ("fin", "rst"):
            with self.subTest(how=how):
                tag = "t21" + how
                start = len(self.server.stdout.lines())
                c, head = self.open_stream("/s/ticks/" + tag)
                self.assertStreamHead(head, 200, "text/plain")
                self.assertEqual(read_chunk(c), b"tick 1\n")
                self.assertEqual(read_chunk(c), b"tick 2\n")
                # Call 3 may have started (it waits 50 ms before returning).
                if how == "rst":
                    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                      struct.pack("ii", 1, 0))
                c.close()
                # Armed after the producer's 50 ms wait and 4x as long: a
                # producer still being called would be at call 4 or later.
                other = self.connect()
                n = self.calls_after(tag, 200, conn=other)
                self.assertIn(n, (2, 3), "producer called %d times" % n)
                self.assertEqual(self.calls_after(tag, 200, conn=other), n)
                errors = [l for l in self.server.stdout.lines()[start:]
                          if " ERROR " in l and tag in l]
                self.assertEqual(errors, [])


class StreamDrainTest(unittest.TestCase):
    """A stream running when SIGTERM arrives (§15 step 3)."""

    maxDiff = None

    def test_stream_keeps_running_through_the_drain(self):
        srv = RoverServer(APP)
        self.addCleanup(srv.stop)
        srv.start()
        c = srv.connect()
        self.addCleanup(c.close)
        c.send(build_request("GET", "/e/drain"))
        head = c.read_response(head=True)
        self.assertEqual(head.status, 200, head)
        self.assertEqual(head.header_all("Transfer-Encoding"), ["chunked"], head)
        self.assertEqual(read_body_until(c, b"\n\n"), b"id: 1\ndata: running\n\n")

        srv.proc.send_signal(signal.SIGTERM)

        # The producer waits for the shutdown hook's flag, then emits three
        # events with rover.delay between them, then ends.
        self.assertEqual(b"".join(read_chunks(c)),
                         b"id: 2\ndata: draining\n\n"
                         b"id: 3\ndata: drain 1\n\n"
                         b"id: 4\ndata: drain 2\n\n"
                         b"id: 5\ndata: drain 3\n\n")
        # The drain has no work left: the connection is closed.
        try:
            rest = c.read_until_eof()
        except socket.timeout:
            self.fail("connection still open %.0f s after the stream ended during the drain"
                      % IO_TIMEOUT)
        self.assertEqual(rest, b"")
        try:
            code = srv.proc.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail("rover still running after the stream ended\n" + srv.stdout.text()[-2000:])
        self.assertEqual(code, 0)
        srv.stdout.join()
        lines = srv.stdout.lines()
        self.assertIn("SHUTDOWN HOOK ran", lines)
        self.assertIn("DRAIN STREAM done", lines)


if __name__ == "__main__":
    unittest.main()

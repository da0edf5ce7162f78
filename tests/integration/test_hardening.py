"""Transport hardening: lua-api.md §11.1 (parsing), §11.2 (limits and
timeouts), §11.3 (connections) and server-features.md §7 (body size limit).

test_transport.py checks the basic parsing rules one by one; here every
rejection is also checked for the lingering close (the client may keep
sending and still reads the whole response, then the server closes) and for
the server staying healthy afterwards. The app (tests/apps/hardening.lua)
configures short timeouts (1 s each) so that timeout tests finish quickly.
No test sleeps to synchronise: each waits for an observable event (a response,
EOF, a reset) with a socket timeout as a generous upper bound.
"""

import os
import resource
import select
import socket
import struct
import time
import unittest

from harness import CT_JSON, CT_TEXT, RoverServer, RoverTestCase, build_request

APP = "tests/apps/hardening.lua"
LIMIT = 131072        # body_size_limit of the app
TIMEOUT = 1.0         # every timeouts.* value of the app (seconds)
LINGER = 1.0          # timeouts.linger of the app
MARGIN = 5.0          # generous slack on top of a configured timeout
H = b"Host: x\r\n"

REASONS = {
    400: "Bad Request", 408: "Request Timeout", 414: "URI Too Long",
    417: "Expectation Failed", 431: "Request Header Fields Too Large",
    501: "Not Implemented", 505: "HTTP Version Not Supported",
}


def too_large(n, limit=LIMIT):
    return ('{"error":"Request body too large: %d bytes exceeds limit of %d bytes"}'
            % (n, limit)).encode()


def req(method, target, headers=(), body=None, version="HTTP/1.1"):
    return build_request(method, target, list(headers), body, version=version)


def reset(conn):
    """Closes with SO_LINGER 0: the peer gets a TCP reset."""
    try:
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    conn.close()


def fields(n, size=None):
    """``n`` distinct header field lines (each ``size`` bytes without CRLF)."""
    out = []
    for i in range(n):
        name = b"X-F-%04d: " % i
        value = b"v" if size is None else b"v" * (size - len(name))
        out.append(name + value + b"\r\n")
    return b"".join(out)


class HardeningCase(RoverTestCase):
    APP = APP

    def assertServing(self):
        """A normal request on a new connection is answered."""
        r = self.get("/n/alive")
        self.assertText(r, 200, "n=alive")

    def assertRejection(self, r, status, body=None):
        self.assertStatus(r, status)
        if status == 413:
            self.assertEqual(r.header_all("Content-Type"), [CT_JSON], r)
        else:
            self.assertEqual(r.header_all("Content-Type"), [CT_TEXT], r)
            self.assertEqual(r.body, REASONS[status].encode(), r)
        if body is not None:
            self.assertEqual(r.body, body, r)
        self.assertLength(r)
        self.assertEqual(r.header_all("Connection"), ["close"], r)

    def assertClosedSoon(self, c, wait=LINGER + MARGIN):
        """The server closes the connection (EOF or reset) without sending
        more bytes, within ``wait`` seconds."""
        c.sock.settimeout(wait)
        try:
            rest = c.read_until_eof()
        except socket.timeout:
            self.fail("connection still open %.1fs after the last response" % wait)
        self.assertEqual(rest, b"", "bytes after the last response")

    def assertRejected(self, raw, status, body=None, extra=b""):
        """Sends ``raw`` (then ``extra`` in 512-byte pieces, as a client that
        keeps sending would), reads the whole rejection, expects the server to
        close, then a new connection to be served."""
        c = self.connect()
        c.send(raw)
        for i in range(0, len(extra), 512):
            try:
                c.send(extra[i:i + 512])
            except OSError as e:  # no lingering close: input not discarded
                self.fail("sending after the rejected request failed: %r" % e)
        r = c.read_response()
        self.assertRejection(r, status, body)
        self.assertClosedSoon(c)
        self.assertServing()
        return r


class RejectionsTest(HardeningCase):
    """§11.1 / §11.2 / server-features §7: exact status, Connection: close,
    lingering close while the client keeps sending, and the server serves
    the next connection."""

    JUNK = b"X" * 4096

    def check_all(self, cases):
        for raw, status in cases:
            with self.subTest(raw=raw[:120], status=status):
                self.assertRejected(raw, status, extra=self.JUNK)

    def test_414_target_too_long(self):
        self.check_all([
            (b"GET /" + b"a" * 20480 + b" HTTP/1.1\r\n" + H + b"\r\n", 414),
            (b"GET /?q=" + b"a" * 16384 + b" HTTP/1.1\r\n" + H + b"\r\n", 414),
            (b"GET http://x/" + b"a" * 16384 + b" HTTP/1.1\r\n" + H + b"\r\n", 414),
        ])

    def test_431_header_limits(self):
        self.check_all([
            # one field line > 16 KiB
            (b"GET / HTTP/1.1\r\n" + H + b"X-Big: " + b"a" * 17000 + b"\r\n\r\n", 431),
            # header section > 64 KiB (70 lines of 1000 bytes)
            (b"GET / HTTP/1.1\r\n" + H + fields(70, 1000) + b"\r\n", 431),
            # 101 header fields (Host + 100)
            (b"GET / HTTP/1.1\r\n" + H + fields(100) + b"\r\n", 431),
            # trailer section > 64 KiB
            (b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
             b"1\r\nx\r\n0\r\n" + fields(70, 1000) + b"\r\n", 431),
        ])

    def test_400_bad_chunks(self):
        head = b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
        self.check_all([(head + body, 400) for body in (
            b"-5\r\nhello\r\n0\r\n\r\n",                      # sign
            b"+5\r\nhello\r\n0\r\n\r\n",
            b" 5\r\nhello\r\n0\r\n\r\n",                      # space
            b"5 5\r\nhello\r\n0\r\n\r\n",
            b"0x5\r\nhello\r\n0\r\n\r\n",                     # 0x
            b"00000000000000005\r\nhello\r\n0\r\n\r\n",       # 17 hex digits
            b"11111111111111111\r\nx\r\n0\r\n\r\n",
            b"\r\nhello\r\n0\r\n\r\n",                        # empty size
            b"5\r\nhelloXX0\r\n\r\n",                         # no CRLF after data
            b"5\r\nhello\n0\r\n\r\n",                         # bare LF after data
            b"5\r\nhello0\r\n\r\n",
            b"1;" + b"e" * 5000 + b"\r\nx\r\n0\r\n\r\n",     # chunk-size line > 4 KiB
        )])

    def test_400_bad_heads(self):
        self.check_all([(b"GET / HTTP/1.1\r\n" + H + line + b"\r\n", 400) for line in (
            b"X-A: 1\r\n folded\r\n",                 # obs-fold
            b"X-A\t: 1\r\n",                          # whitespace before the colon
            b"X-A : 1\r\n",
            b": value\r\n",                           # empty name
            b"X-A: a\x00b\r\n",                       # NUL
            b"X-A: a\x1fb\r\n",                       # control characters
            b"X-A: a\x7fb\r\n",
            b"X-A: a\rb\r\n",                         # bare CR
            b"X-A: a\nX-B: b\r\n",                    # bare LF
            b"X\x01A: 1\r\n",                         # control in the name
        )])

    def test_400_framing(self):
        post = b"POST /echo HTTP/1.1\r\n" + H
        self.check_all([
            (post + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400),
            (post + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"0\r\n\r\n", 400),
            (post + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400),  # not last
            (post + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400),  # not alone
            (post + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
             b"5\r\nhello\r\n0\r\n\r\n", 400),
            (b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            (post + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
            (post + b"Content-Length: 5, 6\r\n\r\nhello!", 400),
            (post + b"Content-Length: 5x\r\n\r\nhello", 400),
            (post + b"Content-Length: 99999999999999999999\r\n\r\nhello", 400),
        ])

    def test_501_505_417(self):
        post = b"POST /echo HTTP/1.1\r\n" + H
        self.check_all([
            (post + b"Transfer-Encoding: gzip\r\n\r\n", 501),
            (post + b"Transfer-Encoding: deflate\r\n\r\n", 501),
            (post + b"Transfer-Encoding: gzip, deflate\r\n\r\n", 501),
            (b"GET / HTTP/2.0\r\n" + H + b"\r\n", 505),
            (b"GET / HTTP/3.1\r\n" + H + b"\r\n", 505),
            (post + b"Content-Length: 5\r\nExpect: something-else\r\n\r\nhello", 417),
        ])

    def test_413_content_length(self):
        for n in (LIMIT + 1, 10 ** 15):
            with self.subTest(n=n):
                self.assertRejected(b"POST /echo HTTP/1.1\r\n" + H
                                    + b"Content-Length: %d\r\n\r\n" % n,
                                    413, too_large(n), extra=self.JUNK)

    def test_413_instead_of_100_continue(self):
        c = self.connect()
        c.send(b"PUT /echo HTTP/1.1\r\n" + H + b"Content-Length: %d\r\n"
               b"Expect: 100-continue\r\n\r\n" % (LIMIT + 1))
        r = c.read_response(skip_1xx=False)
        self.assertRejection(r, 413, too_large(LIMIT + 1))
        self.assertClosedSoon(c)
        self.assertServing()

    def test_413_chunked_exact_body(self):
        # Exactly LIMIT + 1 data bytes are sent and nothing more, so the bytes
        # received when the limit is exceeded are known.
        for chunks in ([LIMIT + 1], [LIMIT, 1], [4096] * (LIMIT // 4096) + [1]):
            with self.subTest(chunks=chunks[:3]):
                c = self.connect()
                c.send(b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n")
                for i, n in enumerate(chunks):
                    size = n + 100 if i == len(chunks) - 1 else n  # last chunk unfinished
                    c.send(b"%x\r\n" % size + b"d" * n + (b"\r\n" if i < len(chunks) - 1 else b""))
                r = c.read_response()
                self.assertRejection(r, 413, too_large(LIMIT + 1))
                self.assertClosedSoon(c)
        self.assertServing()


class LimitsAnsweredEarlyTest(HardeningCase):
    """§11.2: "Limits are answered as soon as they are detected, without
    waiting for or buffering the rest": only the oversized part is sent, the
    request is never finished, and the rejection still arrives (before the
    1 s head timeout, which would answer 408 instead)."""

    def early(self, raw, status, body=None):
        c = self.connect()
        c.send(raw)
        r = c.read_response()
        self.assertRejection(r, status, body)
        self.assertClosedSoon(c)
        self.assertServing()

    def test_target_without_end(self):
        self.early(b"GET /" + b"a" * 20480, 414)

    def test_header_line_without_end(self):
        self.early(b"GET / HTTP/1.1\r\n" + H + b"X-Big: " + b"a" * 20480, 431)

    def test_header_section_without_end(self):
        self.early(b"GET / HTTP/1.1\r\n" + H + fields(70, 1000), 431)

    def test_header_count_without_end(self):
        self.early(b"GET / HTTP/1.1\r\n" + H + fields(101), 431)

    def test_chunk_size_line_without_end(self):
        self.early(b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                   b"1;" + b"e" * 5000, 400)

    def test_content_length_before_any_body_byte(self):
        self.early(b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: %d\r\n\r\n" % (LIMIT * 8),
                   413, too_large(LIMIT * 8))


class LimitsAcceptedTest(HardeningCase):
    """Values at or below the limits are served."""

    def test_target_of_16_kib(self):
        pad = "p" * (16384 - len("/n/"))
        self.assertText(self.get("/n/" + pad), 200, "n=" + pad)

    def test_100_header_fields(self):
        c = self.connect()
        c.send(b"GET /echo HTTP/1.1\r\n" + H + fields(99) + b"\r\n")
        r = c.read_response()
        self.assertStatus(r, 200)
        self.assertEqual(r.header_all("X-Header-Names"), ["100"])
        # The connection stays usable.
        self.assertText(c.request("GET", "/n/next"), 200, "n=next")

    def test_large_header_line_and_section(self):
        c = self.connect()
        c.send(b"GET /echo HTTP/1.1\r\n" + H + b"X-Big: " + b"a" * 16000 + b"\r\n\r\n")
        self.assertStatus(c.read_response(), 200)
        c.send(b"GET /echo HTTP/1.1\r\n" + H + fields(60, 1000) + b"\r\n")
        r = c.read_response()
        self.assertStatus(r, 200)
        self.assertEqual(r.header_all("X-Header-Names"), ["61"])

    def test_body_of_exactly_the_limit(self):
        body = bytes(range(256)) * (LIMIT // 256)
        c = self.connect()
        r = c.request("POST", "/echo", body=body)
        self.assertStatus(r, 200)
        self.assertEqual(r.body, body)
        c.send(b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
               + b"%x\r\n" % (LIMIT - 1) + body[:-1] + b"\r\n1\r\n" + body[-1:] + b"\r\n0\r\n\r\n")
        r = c.read_response()
        self.assertStatus(r, 200)
        self.assertEqual(r.header_all("X-Body-Length"), [str(LIMIT)])
        self.assertEqual(r.body, body)


class LingeringCloseTest(HardeningCase):
    """§11.3: after a transport rejection the server half-closes and discards
    input for up to `linger`, then closes."""

    def test_full_response_while_client_keeps_sending(self):
        c = self.connect()
        c.send(b"GET / HTTP/1.1\r\n" + H + b"X-Big: " + b"a" * 17000 + b"\r\n\r\n")
        # Keep sending 1 KiB at a time while reading, until the server closes.
        got = bytearray()
        closed = False
        send_failed = None
        deadline = time.monotonic() + LINGER + MARGIN
        while time.monotonic() < deadline:
            readable, _, _ = select.select([c.sock], [], [], 0.05)
            if readable:
                try:
                    data = c.sock.recv(65536)
                except ConnectionResetError:
                    closed = True
                    break
                if not data:
                    closed = True
                    break
                got += data
            elif send_failed is None:
                try:
                    c.sock.send(b"Y" * 1024)
                except OSError as e:
                    send_failed = e  # the server closed; EOF/reset follows
        self.assertTrue(closed, "server did not close within %.1fs of lingering"
                        % (LINGER + MARGIN))
        c.buf = got
        c.eof = True
        r = c.read_response()
        self.assertRejection(r, 431)
        self.assertEqual(c.pending(), b"")
        self.assertServing()

    def test_large_pipelined_junk_after_rejection(self):
        # A rejected request followed by 64 KiB the server must discard.
        self.assertRejected(b"GET / HTTP/2.0\r\n" + H + b"\r\n", 505,
                            extra=req("POST", "/echo", body=b"z" * 65536))


class TimeoutsTest(HardeningCase):
    """§11.2 with every timeout configured to 1 s."""

    def test_head_timeout(self):
        c = self.connect()
        c.sock.settimeout(TIMEOUT + MARGIN)
        c.send(b"GET /n/1 HTTP/1.1\r\nHost: x\r\nX-Half: ")
        r = c.read_response()
        self.assertRejection(r, 408)
        self.assertClosedSoon(c)
        self.assertServing()

    def test_head_timeout_after_keep_alive_request(self):
        c = self.connect()
        self.assertText(c.request("GET", "/n/1"), 200, "n=1")
        c.sock.settimeout(TIMEOUT + MARGIN)
        c.send(b"GET /n/2 HT")
        self.assertRejection(c.read_response(), 408)
        self.assertClosedSoon(c)
        self.assertServing()

    def test_idle_keep_alive_connection_closed(self):
        c = self.connect()
        self.assertText(c.request("GET", "/n/1"), 200, "n=1")
        c.sock.settimeout(TIMEOUT + MARGIN)
        self.assertTrue(c.closed_by_peer(), "idle keep-alive connection not closed "
                        "silently (pending %r)" % c.pending())
        self.assertServing()

    def test_idle_fresh_connection_closed(self):
        c = self.connect()
        c.sock.settimeout(TIMEOUT + MARGIN)
        self.assertTrue(c.closed_by_peer(), "fresh idle connection not closed "
                        "silently (pending %r)" % c.pending())
        self.assertServing()

    def test_slow_body(self):
        c = self.connect()
        c.sock.settimeout(TIMEOUT + MARGIN)
        c.send(b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 100000\r\n\r\n" + b"b" * 10)
        self.assertRejection(c.read_response(), 408)
        self.assertClosedSoon(c)
        self.assertServing()

    def test_slow_chunked_body(self):
        c = self.connect()
        c.sock.settimeout(TIMEOUT + MARGIN)
        c.send(b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
               b"100\r\n" + b"b" * 10)
        self.assertRejection(c.read_response(), 408)
        self.assertClosedSoon(c)
        self.assertServing()

    def trickle(self, c, pieces, interval):
        """Sends ``pieces`` one per ``interval`` (the wait is a select on the
        socket, so a response arriving early ends it). Returns the number of
        pieces sent before the server answered."""
        for i, p in enumerate(pieces):
            readable, _, _ = select.select([c.sock], [], [], interval)
            if readable:
                return i
            try:
                c.send(p)
            except OSError:
                return i
        return len(pieces)

    def test_body_trickle_below_1_kib_per_period(self):
        # 10 bytes every 0.2 s never reaches 1 KiB in a 1 s period.
        c = self.connect()
        c.sock.settimeout(TIMEOUT + MARGIN)
        c.send(b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 5000\r\n\r\n")
        sent = self.trickle(c, [b"t" * 10] * 100, 0.2)
        self.assertLess(sent, 100, "no 408 while the body trickled in")
        self.assertRejection(c.read_response(), 408)
        self.assertClosedSoon(c)
        self.assertServing()

    def test_body_at_1_kib_per_period_accepted(self):
        # 2 KiB every 0.2 s keeps the body alive longer than one period.
        body = bytes(range(256)) * 8 * 12  # 24 KiB, 12 pieces
        c = self.connect()
        c.send(b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: %d\r\n\r\n" % len(body))
        sent = self.trickle(c, [body[i:i + 2048] for i in range(0, len(body), 2048)], 0.2)
        if sent != 12:
            self.fail("answered before the body was complete: %r" % c.read_response())
        r = c.read_response()
        self.assertStatus(r, 200)
        self.assertEqual(r.body, body)

    def test_slowloris_gets_408_and_does_not_delay_others(self):
        slow = self.connect()
        slow.sock.settimeout(TIMEOUT + MARGIN)
        head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 1000
        answered_meanwhile = None
        deadline = time.monotonic() + TIMEOUT + MARGIN
        i = 0
        while time.monotonic() < deadline and i < len(head):
            readable, _, _ = select.select([slow.sock], [], [], 0.2)
            if readable:
                break
            slow.send(head[i:i + 1])
            i += 1
            if i == 3 and answered_meanwhile is None:
                # A normal request on another connection, while the slowloris
                # connection is open and trickling.
                with self.server.connect(timeout=TIMEOUT + MARGIN) as other:
                    r = other.request("GET", "/n/other")
                self.assertText(r, 200, "n=other")
                pending, _, _ = select.select([slow.sock], [], [], 0)
                answered_meanwhile = not pending
        self.assertTrue(answered_meanwhile,
                        "the normal request was not answered while the slowloris was open")
        self.assertLess(i, len(head), "slowloris never answered")
        self.assertRejection(slow.read_response(), 408)
        self.assertClosedSoon(slow)
        self.assertServing()


class PipeliningTest(HardeningCase):
    """§11.3 pipelining and connection handling."""

    def test_connection_close_in_the_middle(self):
        c = self.connect()
        c.send(req("GET", "/hit/mid-a")
               + req("POST", "/echo", [("Connection", "close")], b"closing body")
               + req("GET", "/hit/mid-b")
               + req("POST", "/echo", body=b"never")
               + req("GET", "/hit/mid-b"))
        self.assertText(c.read_response(), 200, "1")
        r = c.read_response()
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"closing body")
        self.assertEqual(r.header_all("Connection"), ["close"], r)
        self.assertClosedSoon(c)
        # The requests after it were not executed.
        self.assertText(self.get("/count/mid-a"), 200, "1")
        self.assertText(self.get("/count/mid-b"), 200, "0")

    def test_one_byte_at_a_time(self):
        raw = (req("GET", "/n/first")
               + req("POST", "/echo", body=b"0123456789")
               + b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
               b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n"
               + req("GET", "/n/last", [("Connection", "close")]))
        c = self.connect()
        for i in range(len(raw)):
            c.send(raw[i:i + 1])
        self.assertText(c.read_response(), 200, "n=first")
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"0123456789"), r)
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"abcde"), r)
        self.assertText(c.read_response(), 200, "n=last")
        self.assertClosedSoon(c)

    def test_expect_100_continue_chunked(self):
        c = self.connect()
        c.send(b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n"
               b"Expect: 100-continue\r\n\r\n")
        interim = c.read_response(skip_1xx=False)
        self.assertEqual(interim.status, 100, interim)
        self.assertTrue(interim.raw_head.startswith(b"HTTP/1.1 100 Continue\r\n"), interim)
        c.send(b"4\r\nwxyz\r\n0\r\n\r\n")
        r = c.read_response(skip_1xx=False)
        self.assertEqual((r.status, r.body), (200, b"wxyz"), r)
        self.assertText(c.request("GET", "/n/after"), 200, "n=after")

    def test_http10_body_keep_alive_then_close(self):
        c = self.connect()
        c.send(req("POST", "/echo", [("Connection", "keep-alive")], b"ten bytes!",
                   version="HTTP/1.0"))
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"ten bytes!"), r)
        self.assertEqual(r.header_all("Connection"), ["keep-alive"])
        c.send(req("POST", "/echo", body=b"last", version="HTTP/1.0"))
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"last"), r)
        self.assertNotIn("keep-alive", [v.lower() for v in r.header_all("Connection")])
        self.assertClosedSoon(c)

    def test_client_that_never_reads(self):
        # 20,000 pipelined requests, written again and again on a non-blocking
        # socket without reading any response: the server must stop reading
        # (1 MiB of pending responses), so the writes stall (or the server
        # gives up on the connection) well before the deadline.
        c = self.connect()
        data = memoryview(req("GET", "/n/p") * 20000)
        sock = c.sock
        sock.setblocking(False)
        off = total = 0
        outcome = "deadline"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                n = sock.send(data[off:off + 65536])
            except BlockingIOError:
                _, writable, _ = select.select([], [sock], [], 1.0)
                if not writable:
                    outcome = "stalled"
                    break
                continue
            except OSError:
                outcome = "closed"
                break
            off = (off + n) % len(data)
            total += n
        self.assertNotEqual(outcome, "deadline",
                            "the server kept reading (%d bytes) without its responses "
                            "being read" % total)
        self.assertGreater(total, len(data))
        # Another connection is served meanwhile.
        self.assertServing()
        # Output not progressing: the server closes the connection (it has
        # unread input, so the close arrives as a reset even though the
        # client's receive window is full).
        if outcome == "stalled":
            p = select.poll()
            p.register(sock, getattr(select, "POLLRDHUP", 0x2000))
            events = p.poll((TIMEOUT + MARGIN) * 1000)
            self.assertTrue(events, "stalled connection still open %.0fs later"
                            % (TIMEOUT + MARGIN))
        reset(c)
        self.assertServing()


class HandlerFaultsTest(HardeningCase):
    """lua-api.md §8 at the transport level."""

    def assert500(self, r):
        self.assertStatus(r, 500)
        self.assertEqual(r.header_all("Content-Type"), [CT_JSON], r)
        self.assertNotIn(b"stack traceback", r.body)
        self.assertNotIn("close", [v.lower() for v in r.header_all("Connection")])

    def test_raise_on_post_with_body_then_pipelined(self):
        c = self.connect()
        c.send(req("POST", "/fail/early", body=b"a" * 5000)
               + req("GET", "/n/1")
               + req("POST", "/fail/late", body=b"b" * 3000)
               + req("GET", "/n/2")
               + b"POST /fail/early HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
               b"5\r\nGET /\r\n0\r\n\r\n"
               + req("GET", "/n/3"))
        self.assert500(c.read_response())
        self.assertText(c.read_response(), 200, "n=1")
        r = c.read_response()
        self.assert500(r)
        self.assertTrue(r.json()["error"].endswith("failed after 3000 bytes"), r)
        self.assertText(c.read_response(), 200, "n=2")
        self.assert500(c.read_response())
        self.assertText(c.read_response(), 200, "n=3")

    def test_hundred_errors_in_a_row(self):
        c = self.connect()
        raw = b"".join(req("GET", "/fail") if i % 2 else req("POST", "/fail/late", body=b"x" * (i + 1))
                       for i in range(100))
        c.send(raw)
        for i in range(100):
            self.assert500(c.read_response())
        self.assertText(c.request("GET", "/n/ok"), 200, "n=ok")
        # And one by one on fresh connections.
        for i in range(100):
            self.assert500(self.get("/fail"))
        self.assertServing()


class ClientResetsTest(HardeningCase):
    """§11.3: an aborted connection is dropped silently; the server goes on."""

    def test_reset_mid_head(self):
        for i in range(5):
            c = self.connect()
            c.send(b"GET /n/1 HTTP/1.1\r\nHost: x\r\nX-Part")
            reset(c)
            self.assertServing()

    def test_reset_mid_body(self):
        for i in range(5):
            c = self.connect()
            c.send(b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 10000\r\n"
                   b"Expect: 100-continue\r\n\r\n")
            self.assertEqual(c.read_response(skip_1xx=False).status, 100)
            c.send(b"q" * 3000)
            reset(c)
            self.assertServing()

    def test_reset_mid_response(self):
        for i in range(5):
            c = self.connect()
            c.send(req("GET", "/big") + req("GET", "/big"))
            c.sock.recv(1000)
            reset(c)
            self.assertServing()

    def test_close_mid_response(self):
        c = self.connect()
        c.send(req("GET", "/big"))
        c.sock.recv(1000)
        c.close()
        self.assertServing()


class ManyIdleConnectionsTest(unittest.TestCase):
    """§11.2: thousands of idle keep-alive connections do not stop new
    requests from being answered (tests/apps/hardening_idle.lua)."""

    def setUp(self):
        self.server = RoverServer("tests/apps/hardening_idle.lua", ready_line=r"^READY$")
        self.addCleanup(self.server.stop)
        self.server.start()

    def raise_nofile(self, need):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft >= need:
            return
        if hard != resource.RLIM_INFINITY and hard < need:
            self.skipTest("RLIMIT_NOFILE hard limit %d < %d" % (hard, need))
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))

    def idle_connections(self, n):
        self.raise_nofile(n + 1024)
        conns = []

        def close_all():
            for c in conns:
                c.close()
        self.addCleanup(close_all)
        for i in range(n):
            c = self.server.connect()
            conns.append(c)
            r = c.request("GET", "/n/%d" % i)
            self.assertEqual((r.status, r.body), (200, b"n=%d" % i), r)
        # New connections are served while all of them stay open and idle.
        for i in range(10):
            r = self.server.get("/n/new%d" % i)
            self.assertEqual((r.status, r.body), (200, b"n=new%d" % i), r)
        # The idle ones are still usable.
        for i in (0, n // 2, n - 1):
            r = conns[i].request("GET", "/n/again%d" % i)
            self.assertEqual((r.status, r.body), (200, b"n=again%d" % i), r)

    def test_2000_idle_keep_alive_connections(self):
        self.idle_connections(2000)

    @unittest.skipUnless(os.environ.get("ROVER_SCALE_TESTS") == "1",
                         "set ROVER_SCALE_TESTS=1 for the 10,000-connection test")
    def test_10000_idle_keep_alive_connections(self):
        self.idle_connections(10000)


def cpu_ticks(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


class DescriptorExhaustionTest(unittest.TestCase):
    """§11.2: when descriptors run out the server backs off without a busy
    loop, and accepts again once descriptors are free."""

    LIMIT = 48

    def setUp(self):
        limit = self.LIMIT
        self.server = RoverServer(
            "tests/apps/hardening_idle.lua", ready_line=r"^READY$",
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit)))
        self.addCleanup(self.server.stop)
        self.server.start()

    def test_backs_off_and_recovers(self):
        conns = []
        self.addCleanup(lambda: [c.close() for c in conns])
        for i in range(self.LIMIT + 20):  # more than the server can hold
            c = self.server.connect()
            c.send(req("GET", "/n/%d" % i))
            conns.append(c)
        # Read until no connection gets an answer for a second.
        served, waiting = [], list(conns)
        while True:
            ready, _, _ = select.select([c.sock for c in waiting], [], [], 1.0)
            if not ready:
                break
            for c in [c for c in waiting if c.sock in ready]:
                self.assertEqual(c.read_response().status, 200)
                served.append(c)
                waiting.remove(c)
        self.assertTrue(served, "nothing was served")
        self.assertTrue(waiting, "the descriptor limit was never reached")
        # Exhausted: the accept loop must not spin (a busy loop burns ~100 ticks/s).
        before = cpu_ticks(self.server.proc.pid)
        select.select([waiting[0].sock], [], [], 1.0)
        self.assertLess(cpu_ticks(self.server.proc.pid) - before, 50)
        for c in served:
            c.close()
        for c in waiting:  # descriptors are free again: the rest are answered
            c.sock.settimeout(10)
            self.assertEqual(c.read_response().status, 200)


if __name__ == "__main__":
    unittest.main()

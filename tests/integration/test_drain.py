"""Graceful shutdown (server-features.md §15) with tests/apps/drain.lua.

Each test starts its own server, because SIGTERM ends it. The app has one
worker; GET /block/<tag>?ms=N prints "IN FLIGHT <tag>" and then busy-loops in
Lua for N ms of CPU time (handlers run to completion), so the test knows from
the log that the request is in flight before it sends SIGTERM. No sleeps: the
tests wait for log lines, responses, EOF and the process exit, with generous
upper bounds.
"""

import signal
import socket
import subprocess
import unittest

from harness import IO_TIMEOUT, RoverServer, build_request

APP = "tests/apps/drain.lua"
EXIT_TIMEOUT = 15.0  # generous bound for the process to exit after the drain
SHUTDOWN_LINE = r"^SHUTDOWN HOOK ran$"


class DrainTest(unittest.TestCase):
    maxDiff = None

    def start(self, **env):
        srv = RoverServer(APP, env={k: str(v) for k, v in env.items()})
        self.addCleanup(srv.stop)
        srv.start()
        return srv

    def connect(self, srv):
        c = srv.connect()
        self.addCleanup(c.close)
        return c

    def head_received(self, srv, size):
        """A POST whose head the server has accepted (it answered 100
        Continue) and whose body is only half sent."""
        c = self.connect(srv)
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
               b"Expect: 100-continue\r\n\r\n" % size)
        interim = c.read_response(skip_1xx=False)
        self.assertEqual(interim.status, 100, interim)
        return c

    def wait_exit(self, srv, timeout=EXIT_TIMEOUT):
        try:
            return srv.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.fail("rover still running %.0fs after the drain should have ended\n%s"
                      % (timeout, srv.stdout.text()[-2000:]))

    def assertRefused(self, srv):
        try:
            s = socket.create_connection((srv.host, srv.port), timeout=IO_TIMEOUT)
        except ConnectionRefusedError:
            return
        s.close()
        self.fail("a new connection was accepted during the drain")

    def assertClosedWithoutResponse(self, c, what):
        self.assertTrue(c.closed_by_peer(), "%s not closed (pending %r)" % (what, c.pending()))

    def test_drain_completes_in_flight_request(self):
        srv = self.start()
        idle = self.connect(srv)
        self.assertEqual(idle.request("GET", "/n/idle").body, b"n=idle")
        half_body = self.head_received(srv, 10)
        half_body.send(b"01234")
        partial_head = self.connect(srv)
        partial_head.send(b"GET /n/partial HTTP/1.1\r\nHo")
        busy = self.connect(srv)
        busy.send(build_request("GET", "/block/a?ms=1000"))
        self.assertIsNotNone(srv.wait_log(r"^IN FLIGHT a$"), srv.stdout.text())

        srv.proc.send_signal(signal.SIGTERM)

        # 3. The in-flight request completes, with Connection: close.
        r = busy.read_response()
        self.assertEqual((r.status, r.body), (200, b"done a"), r)
        self.assertEqual(r.header_all("Connection"), ["close"], r)
        self.assertEqual(busy.read_until_eof(), b"")
        # 2. Idle keep-alive connections and incomplete heads are closed.
        self.assertClosedWithoutResponse(idle, "idle keep-alive connection")
        self.assertClosedWithoutResponse(partial_head, "connection with a partial head")
        # 1. New connections are refused (the drain still waits for half_body).
        self.assertIsNone(srv.proc.poll(), "exited before the received request was completed")
        self.assertRefused(srv)
        # 3. A request whose head was received gets the rest of its body read.
        half_body.send(b"56789")
        r = half_body.read_response()
        self.assertEqual((r.status, r.body), (200, b"0123456789"), r)
        self.assertEqual(r.header_all("Connection"), ["close"], r)
        self.assertEqual(half_body.read_until_eof(), b"")
        # 4. No work remains: exit 0; the on_shutdown hook ran.
        self.assertEqual(self.wait_exit(srv), 0)
        srv.stdout.join()
        self.assertIsNotNone(srv.wait_log(SHUTDOWN_LINE, timeout=1), srv.stdout.text())

    def test_idle_server_exits_0_and_runs_on_shutdown(self):
        srv = self.start()
        self.assertEqual(srv.get("/n/1").body, b"n=1")
        srv.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(srv), 0)
        srv.stdout.join()
        lines = [l for l in srv.stdout.lines() if l == "SHUTDOWN HOOK ran"]
        self.assertEqual(len(lines), 1, srv.stdout.text())  # one worker

    def test_ctx_of_a_failed_handler_is_dead_after_it(self):
        srv = self.start()
        self.assertEqual(srv.get("/keep_and_fail").status, 500)
        srv.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(srv), 0)
        srv.stdout.join()
        kept = [l for l in srv.stdout.lines() if l.startswith("KEPT CTX")]
        self.assertEqual(kept, ["KEPT CTX dead"], srv.stdout.text())

    def test_second_signal_exits_at_once(self):
        # A long drain: a received head whose body never comes, with
        # drain_timeout_secs and the body timeout both at 60 s.
        srv = self.start(DRAIN_TIMEOUT_SECS=60)
        pending = self.head_received(srv, 10)
        pending.send(b"01234")
        srv.proc.send_signal(signal.SIGTERM)
        self.assertIsNotNone(srv.wait_log(SHUTDOWN_LINE), "drain did not start\n"
                             + srv.stdout.text())
        self.assertIsNone(srv.proc.poll(), "exited without waiting for the received request")
        srv.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(srv, timeout=5), 0)
        # The drain was cut short: the pending request got no response.
        self.assertEqual(pending.read_until_eof(), b"")

    def test_second_sigint_exits_at_once(self):
        srv = self.start(DRAIN_TIMEOUT_SECS=60)
        pending = self.head_received(srv, 10)
        srv.proc.send_signal(signal.SIGINT)
        self.assertIsNotNone(srv.wait_log(SHUTDOWN_LINE), srv.stdout.text())
        srv.proc.send_signal(signal.SIGINT)
        self.assertEqual(self.wait_exit(srv, timeout=5), 0)
        self.assertEqual(pending.read_until_eof(), b"")

    def test_drain_timeout_closes_remaining_connections(self):
        srv = self.start(DRAIN_TIMEOUT_SECS=1)
        pending = self.head_received(srv, 10)
        srv.proc.send_signal(signal.SIGTERM)
        pending.sock.settimeout(1 + 10)
        try:
            rest = pending.read_until_eof()
        except socket.timeout:
            self.fail("connection still open 10 s after drain_timeout_secs")
        self.assertNotIn(b"HTTP/1.1 200", rest)
        self.assertEqual(self.wait_exit(srv), 0)


if __name__ == "__main__":
    unittest.main()

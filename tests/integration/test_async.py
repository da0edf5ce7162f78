"""Suspension and timers (runtime-modules.md "Suspension" and §6): rover.delay,
rover.spawn, rover.interval, the handler time limit, a stale ctx after a wait
(lua-api.md §3), the drain with waiting handlers (server-features.md §15).

Apps: tests/apps/async.lua (one worker), async_timeout.lua
(timeouts.handler = 0.3), async_workers.lua (two workers, load-time tasks),
async_load_delay.lua (rover.delay at load time).

No sleeps and no timed assertions. Ordering is made observable instead:
handlers that must overlap wait on a condition (N requests in flight, a
release route, the drain's shutdown hook) polled with rover.delay in Lua;
"the wait has certainly passed" is shown by a later request or task whose
own rover.delay is longer and was armed later, so that the event loop fires
the earlier timer first.
"""

import re
import signal
import socket
import struct
import subprocess
import unittest

from harness import (IO_TIMEOUT, LOG_TIME, REPO_ROOT, RoverServer, RoverTestCase,
                     app_line, build_request, run_rover)

APP = "tests/apps/async.lua"
TIMEOUT_APP = "tests/apps/async_timeout.lua"
WORKERS_APP = "tests/apps/async_workers.lua"
LOAD_DELAY_APP = "tests/apps/async_load_delay.lua"

STALE_CTX = "request context is no longer valid"
DELAY_OUTSIDE = "rover.delay must be called inside a handler or task"
DELAY_BAD_MS = "rover.delay: ms must be a number >= 0"
TIMED_OUT = b'{"error":"Handler timed out"}'
EXIT_TIMEOUT = 15.0  # generous bound for the process to exit after the drain


def position(app, marker):
    """The ``file:line: `` prefix error() adds for the line holding ``marker``."""
    return "%s:%d: " % (app, app_line(REPO_ROOT / app, marker))


def error_line(request_id, path, message):
    return ("^" + LOG_TIME + r" ERROR \[" + re.escape(request_id) + r"\] GET "
            + re.escape(path) + " - " + re.escape(message) + "$")


class AsyncTestBase(RoverTestCase):
    def assertStale(self, message):
        self.assertRegex(message, r"^(.+:\d+: )?" + re.escape(STALE_CTX) + "$")

    def wait_lines(self, pattern, count, start=0):
        """Waits for ``count`` stdout lines matching ``pattern``; returns the
        index after the last one."""
        idx = start
        for _ in range(count):
            found = self.server.wait_log(pattern, start=idx)
            self.assertIsNotNone(found, "missing log line %r\n%s"
                                 % (pattern, self.server.stdout.text()[-3000:]))
            idx = found[0] + 1
        return idx


class SuspensionTest(AsyncTestBase):
    """Waiting handlers on one worker (async.lua)."""

    APP = APP

    def open_all(self, targets):
        """One connection per target, each request sent before any is read."""
        conns = []
        for target in targets:
            c = self.connect()
            c.send(build_request("GET", target))
            conns.append(c)
        return conns

    def test_200_requests_wait_at_once_on_one_worker(self):
        # Each handler waits until 200 are in flight together, then 200 ms
        # more: possible only if all 200 are suspended in the one Lua state.
        conns = self.open_all(["/overlap/t1?n=200"] * 200)
        for c in conns:
            self.assertJSON(c.read_response(), 200, {"max": 200})
        self.assertJSON(self.get("/inflight/t1"), 200, {"inflight": 0, "max": 200})

    def test_plain_route_answers_while_requests_wait(self):
        held = self.open_all(["/hold/t2"] * 5)
        self.wait_lines(r"^HOLD t2$", 5)
        self.assertText(self.get("/plain"), 200, "plain")
        # The five were still waiting when /plain was answered.
        self.assertJSON(self.get("/inflight/t2"), 200, {"inflight": 5, "max": 5})
        self.assertText(self.get("/release/t2"), 200, "ok")
        for c in held:
            self.assertText(c.read_response(), 200, "released t2")
        self.assertJSON(self.get("/inflight/t2"), 200, {"inflight": 0, "max": 5})

    def test_handler_ctx_usable_after_its_own_wait(self):
        self.assertText(self.get("/wait/20"), 200, "waited 20 /wait/20")
        self.assertText(self.get("/delay_zero"), 200, "zero ok")

    def test_pipelined_waits_answered_in_order(self):
        c = self.connect()
        c.send(build_request("GET", "/wait/300") + build_request("GET", "/wait/10")
               + build_request("GET", "/plain"))
        a, b, p = c.read_responses(3)
        self.assertText(a, 200, "waited 300 /wait/300")
        self.assertText(b, 200, "waited 10 /wait/10")
        self.assertText(p, 200, "plain")
        self.assertText(c.request("GET", "/plain"), 200, "plain")

    def test_pipelined_requests_run_one_at_a_time(self):
        c = self.connect()
        c.send(build_request("GET", "/seq/t3/a?ms=200") + build_request("GET", "/seq/t3/b?ms=5"))
        self.assertEqual([r.body for r in c.read_responses(2)], [b"a", b"b"])
        self.assertJSON(self.get("/seq_log/t3"), 200,
                        ["start a", "end a", "start b", "end b"])

    def test_client_gone_mid_delay_aborts_the_handler(self):
        closed = self.connect()
        closed.send(build_request("GET", "/abandon/t4fin?ms=800"))
        reset = self.connect()
        reset.send(build_request("GET", "/abandon/t4rst?ms=800"))
        self.wait_lines(r"^ABANDON START t4(fin|rst)$", 2)
        closed.close()  # FIN
        reset.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        reset.close()  # RST
        # These waits were armed after the abandoned ones and are longer, so
        # the abandoned handlers' timers would have fired before they end.
        c = self.connect()
        self.assertJSON(c.request("GET", "/abandon_state/t4fin?ms=1000"), 200,
                        {"state": "started"})
        self.assertJSON(c.request("GET", "/abandon_state/t4rst?ms=1"), 200,
                        {"state": "started"})
        self.assertNotIn("ABANDON RESUMED", self.server.stdout.text())
        self.assertText(c.request("GET", "/plain"), 200, "plain")

    # -- spawn / interval -----------------------------------------------------

    def test_spawn_runs_in_the_background(self):
        # Started at once (up to its first wait) with its arguments; still
        # waiting when the response was made; done after a longer wait.
        self.assertJSON(self.get("/spawn/t5?ms=50"), 200,
                        {"handle": "userdata", "started": "with args", "done": "nil"})
        self.assertJSON(self.get("/read_after/spawn:t5:done?ms=200"), 200, {"value": "done"})

    def test_spawn_cancel(self):
        self.assertJSON(self.get("/spawn_cancel/t5c"), 200, {"started": "yes"})
        self.assertJSON(self.get("/read_after/spawn_cancel:t5c:done?ms=200"), 200,
                        {"value": "nil"})

    def test_spawn_errors_logged(self):
        start = len(self.server.stdout.lines())
        self.assertText(self.get("/spawn_error/t5e"), 200, "spawned")
        for marker, message in (("marker:spawn_now", "spawn failed at once t5e"),
                                ("marker:spawn_later", "spawn failed after a wait t5e")):
            line = ("^" + LOG_TIME + r" ERROR rover\.spawn task failed: "
                    + re.escape(position(APP, marker) + message) + "$")
            self.assertIsNotNone(self.server.wait_log(line, start=start),
                                 self.server.stdout.text()[-3000:])
        self.assertText(self.get("/plain"), 200, "plain")

    def test_interval_ticks_until_cancelled(self):
        # The first call runs inside rover.interval, before it returns.
        self.assertJSON(self.get("/interval/t5i?ms=20"), 200, {"count": 1, "handle": "userdata"})
        # Each 100 ms wait outlasts the interval's next tick, which was armed
        # before it: the count grows across each wait.
        a, b, c = self.get("/interval_count/t5i?ms=100").json()
        self.assertLess(a, b)
        self.assertLess(b, c)
        r = self.get("/interval_cancel/t5i")
        self.assertStatus(r, 200)
        n = r.json()["count"]
        self.assertGreaterEqual(n, c)
        self.assertJSON(self.get("/interval_count/t5i?ms=100"), 200, [n, n, n])

    def test_interval_keeps_running_after_an_error(self):
        start = len(self.server.stdout.lines())
        self.assertJSON(self.get("/interval/t5f?ms=20&fail_at=2"), 200,
                        {"count": 1, "handle": "userdata"})
        self.addCleanup(self.get, "/interval_cancel/t5f")
        line = ("^" + LOG_TIME + r" ERROR rover\.interval callback failed: "
                + re.escape(position(APP, "marker:interval_fail") + "interval failed t5f") + "$")
        found = self.server.wait_log(line, start=start)
        self.assertIsNotNone(found, self.server.stdout.text()[-3000:])
        a, b, c = self.get("/interval_count/t5f?ms=60").json()
        self.assertGreaterEqual(a, 2)
        self.assertLess(a, b)
        self.assertLess(b, c)
        failures = [l for l in self.server.stdout.lines()[start:]
                    if "rover.interval callback failed" in l]
        self.assertEqual(len(failures), 1, failures)

    # -- stale ctx ------------------------------------------------------------

    def test_ctx_kept_across_a_wait_is_dead(self):
        self.assertText(self.get("/keep"), 200, "kept")
        r = self.get("/use_kept")
        self.assertStatus(r, 200)
        d = r.json()
        self.assertEqual(d["own"], "/use_kept")
        self.assertStale(d["field"])
        self.assertStale(d["method"])

    def test_ctx_kept_by_a_task_dies_with_its_request(self):
        self.assertText(self.get("/spawn_ctx/t8"), 200, "ok")
        self.assertJSON(self.get("/read_after/spawn_ctx:t8:during?ms=1"), 200,
                        {"value": "ok: /spawn_ctx/t8"})
        r = self.get("/read_after/spawn_ctx:t8:after?ms=200")
        self.assertStatus(r, 200)
        self.assertStale(r.json()["value"])

    # -- errors ---------------------------------------------------------------

    def assertDelayRejects(self, cases):
        expected = {"error": position(APP, "marker:delay_arg") + DELAY_BAD_MS}
        for case in cases:
            with self.subTest(case=case):
                self.assertJSON(self.get("/delay_arg/" + case), 500, expected)

    def test_delay_bad_ms_number(self):
        self.assertDelayRejects(("negative", "nan", "huge"))

    def test_delay_ms_not_a_number(self):
        self.assertDelayRejects(("nil", "string", "table"))

    def test_delay_in_an_app_coroutine(self):
        r = self.get("/delay_in_coroutine")
        self.assertStatus(r, 200)
        d = r.json()
        self.assertFalse(d["ok"])
        self.assertRegex(d["err"], r"^(.+:\d+: )?" + re.escape(DELAY_OUTSIDE) + "$")

    def test_error_after_a_wait(self):
        message = position(APP, "marker:fail_after") + "failed after a wait"
        start = len(self.server.stdout.lines())
        c = self.connect()
        r = c.request("GET", "/fail_after/20", headers={"X-Request-ID": "async-fail-1"})
        self.assertJSON(r, 500, {"error": message})
        self.assertIsNotNone(
            self.server.wait_log(error_line("async-fail-1", "/fail_after/20", message),
                                 start=start),
            self.server.stdout.text()[-3000:])
        # The connection and the worker go on, waits included.
        self.assertText(c.request("GET", "/wait/1"), 200, "waited 1 /wait/1")


class HandlerTimeoutTest(AsyncTestBase):
    """timeouts = { handler = 0.3 } (async_timeout.lua)."""

    APP = TIMEOUT_APP

    def test_handler_timed_out(self):
        start = len(self.server.stdout.lines())
        c = self.connect()
        r = c.request("GET", "/slow/t6?ms=5000", headers={"X-Request-ID": "async-timeout-1"})
        self.assertJSONBytes(r, 500, TIMED_OUT)
        self.assertNotEqual(r.header("Connection"), "close", r)
        self.assertIsNotNone(
            self.server.wait_log(error_line("async-timeout-1", "/slow/t6", "Handler timed out"),
                                 start=start),
            self.server.stdout.text()[-3000:])
        # Keep-alive: the same connection serves the next request.
        self.assertText(c.request("GET", "/plain"), 200, "plain")

    def test_timed_out_handler_never_resumed(self):
        c = self.connect()
        self.assertJSONBytes(c.request("GET", "/slow/t6b?ms=800"), 500, TIMED_OUT)
        # The task's 1000 ms wait starts after the slow handler's 800 ms one
        # and ends later: by then the slow handler would have resumed.
        self.assertText(c.request("GET", "/check_later/t6b?ms=1000"), 200, "checking")
        self.wait_lines(r"^CHECK t6b ", 1)
        self.assertIn("CHECK t6b waiting", self.server.stdout.lines())
        self.assertNotIn("SLOW RESUMED t6b", self.server.stdout.text())


class LoadTimeTasksTest(AsyncTestBase):
    """async_workers.lua: two workers, a task and an interval at load time."""

    APP = WORKERS_APP

    def test_load_time_tasks_run_in_every_worker(self):
        r = self.get("/load_tasks")
        self.assertStatus(r, 200)
        d = r.json()
        self.assertEqual((d["started"], d["done"], d["workers"]), (2, 2, [True, True]), d)
        self.assertGreaterEqual(min(d["ticks"]), 2, d)


class LoadTimeDelayTest(unittest.TestCase):
    def test_delay_at_load_time_is_a_startup_error(self):
        p = run_rover([LOAD_DELAY_APP])
        self.assertEqual(p.returncode, 1, p)
        err = p.stderr.decode("utf-8", errors="replace").splitlines()
        self.assertEqual(err[:2], ["❌ Error loading %s:" % LOAD_DELAY_APP,
                                   position(LOAD_DELAY_APP, "marker:load_delay") + DELAY_OUTSIDE],
                         p.stderr)


class DrainWithWaitingHandlersTest(unittest.TestCase):
    """SIGTERM while handlers are suspended (async.lua, one server per test)."""

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

    def wait_exit(self, srv):
        try:
            return srv.proc.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail("rover still running %.0fs after the drain should have ended\n%s"
                      % (EXIT_TIMEOUT, srv.stdout.text()[-2000:]))

    def wait_lines(self, srv, pattern, count):
        idx = 0
        for _ in range(count):
            found = srv.wait_log(pattern, start=idx)
            self.assertIsNotNone(found, srv.stdout.text())
            idx = found[0] + 1

    def test_waiting_handlers_finish_with_connection_close(self):
        srv = self.start()
        idle = self.connect(srv)
        self.assertEqual(idle.request("GET", "/plain").body, b"plain")
        tags = ["a", "b", "c"]
        conns = []
        for tag in tags:
            c = self.connect(srv)
            c.send(build_request("GET", "/drain_wait/%s?ms=300" % tag))
            conns.append(c)
        self.wait_lines(srv, r"^DRAIN WAIT [abc]$", 3)

        srv.proc.send_signal(signal.SIGTERM)

        # Each handler waits for the drain to start, then 300 ms more: it
        # is suspended in rover.delay during the drain, and completes.
        for tag, c in zip(tags, conns):
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, ("drained " + tag).encode()), r)
            self.assertEqual(r.header_all("Connection"), ["close"], r)
            self.assertEqual(c.read_until_eof(), b"")
        self.assertTrue(idle.closed_by_peer(), "idle keep-alive connection not closed")
        self.assertEqual(self.wait_exit(srv), 0)
        srv.stdout.join()
        self.assertEqual(sorted(l for l in srv.stdout.lines() if l.startswith("DRAIN RESUMED")),
                         ["DRAIN RESUMED a", "DRAIN RESUMED b", "DRAIN RESUMED c"])

    def test_drain_timeout_aborts_a_waiting_handler(self):
        srv = self.start(DRAIN_TIMEOUT_SECS=0.5)
        c = self.connect(srv)
        c.send(build_request("GET", "/drain_wait/long?ms=10000"))
        self.wait_lines(srv, r"^DRAIN WAIT long$", 1)

        srv.proc.send_signal(signal.SIGTERM)

        c.sock.settimeout(IO_TIMEOUT)
        try:
            rest = c.read_until_eof()
        except socket.timeout:
            self.fail("connection still open %.0f s after drain_timeout_secs" % IO_TIMEOUT)
        self.assertEqual(rest, b"", "the aborted request got bytes")
        self.assertEqual(self.wait_exit(srv), 0)
        srv.stdout.join()
        self.assertIn("SHUTDOWN HOOK ran", srv.stdout.lines())
        self.assertNotIn("DRAIN RESUMED long", srv.stdout.text())


if __name__ == "__main__":
    unittest.main()

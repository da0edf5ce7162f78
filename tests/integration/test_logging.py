"""lua-api.md §12: log format, levels, request lines, print."""

import re
import unittest

from harness import (BANNER_RE, GENERATED_ID_RE, LOG_LINE_RE, LOG_TIME,
                     RoverServer, RoverTestCase, ServerStartError)

MS = r" in \d+\.\d\dms$"


def request_line(level, rid, method, path, status):
    return ("^" + LOG_TIME + " " + level + r" \[" + re.escape(rid) + r"\] " + method + " "
            + re.escape(path) + " - " + str(status) + MS)


class LoggingInfoTest(RoverTestCase):
    APP = "tests/apps/logging.lua"

    def wait(self, pattern, start=0):
        found = self.server.wait_log(pattern, start=start)
        self.assertIsNotNone(found, "no log line %r in:\n%s"
                             % (pattern, self.server.stdout.text()[-3000:]))
        return found

    def test_every_line_is_a_log_line(self):
        self.assertStatus(self.get("/log/ok", headers={"X-Request-ID": "fmt-1"}), 200)
        self.wait(request_line("INFO", "fmt-1", "GET", "/log/ok", 200))
        for line in self.server.stdout.lines():
            if "MARKER" in line:
                continue  # print output from another test
            self.assertRegex(line, LOG_LINE_RE)

    def test_banner(self):
        lines = self.server.stdout.lines()
        banners = [l for l in lines if BANNER_RE.match(l)]
        self.assertEqual(len(banners), 1, lines)
        self.assertIn("http://localhost:%d" % self.server.port, banners[0])
        self.assertFalse(any("Debug mode enabled" in l for l in lines))

    def test_request_lines(self):
        cases = [
            ("GET", "/log/ok?x=1&y=2", "INFO", "/log/ok", 200),
            ("POST", "/log/ok", "INFO", "/log/ok", 200),
            ("GET", "/log/empty", "INFO", "/log/empty", 204),
            ("GET", "/log/a%20b", "WARN", "/log/a%20b", 404),
            ("DELETE", "/log/ok", "WARN", "/log/ok", 405),
            ("GET", "/log/unprocessable", "WARN", "/log/unprocessable", 422),
            ("GET", "/log/boom", "WARN", "/log/boom", 500),
        ]
        for i, (method, target, level, path, status) in enumerate(cases):
            with self.subTest(target=target, method=method):
                rid = "req-line-%d" % i
                start = len(self.server.stdout.lines())
                r = self.request(method, target, headers={"X-Request-ID": rid})
                self.assertStatus(r, status)
                self.wait(request_line(level, rid, method, path, status), start)

    def test_generated_id_in_log(self):
        r = self.get("/log/ok")
        rid = r.body.decode()
        self.assertRegex(rid, GENERATED_ID_RE)
        self.wait(request_line("INFO", rid, "GET", "/log/ok", 200))

    def test_error_line(self):
        self.get("/log/boom", headers={"X-Request-ID": "boom-1"})
        self.wait("^" + LOG_TIME + r" ERROR \[boom-1\] GET /log/boom - logged failure$")

    def test_print_goes_to_stdout_unchanged(self):
        self.assertText(self.get("/log/print"), 200, "printed")
        self.wait(r"^PRINTED-MARKER\t42$")
        self.wait(r"^WRITTEN-MARKER$")

    def test_no_debug_lines_at_info(self):
        self.request("POST", "/log/ok?a=1", headers={"X-Request-ID": "nodebug-1"}, body="x")
        self.wait(request_line("INFO", "nodebug-1", "POST", "/log/ok", 200))
        for line in self.server.stdout.lines():
            self.assertNotRegex(line, "^" + LOG_TIME + " DEBUG ")

    def test_unknown_config_key_warned_once(self):
        self.get("/log/ok", headers={"X-Request-ID": "after-start"})
        self.wait(request_line("INFO", "after-start", "GET", "/log/ok", 200))
        pattern = re.compile("^" + LOG_TIME + " WARN Unknown config key 'bogus_key' ignored$")
        matches = [l for l in self.server.stdout.lines() if pattern.match(l)]
        self.assertEqual(len(matches), 1, self.server.stdout.text()[-3000:])


class LoggingDebugTest(RoverTestCase):
    APP = "tests/apps/logging_debug.lua"

    def test_debug_banner(self):
        i = self.server.banner_index
        found = self.server.wait_log("^" + LOG_TIME + " INFO 🐛 Debug mode enabled$", start=i)
        self.assertIsNotNone(found, self.server.stdout.text())

    def test_request_details(self):
        r = self.request("POST", "/log/ok?a=1&b=%20", headers={"X-Request-ID": "dbg-1"},
                         body="hello")
        self.assertStatus(r, 200)
        found = self.server.wait_log(
            "^" + LOG_TIME + r" DEBUG \[dbg-1\] query: a=1&b=%20 body: 5 bytes$")
        self.assertIsNotNone(found, self.server.stdout.text()[-3000:])
        found = self.server.wait_log(request_line("INFO", "dbg-1", "POST", "/log/ok", 200))
        self.assertIsNotNone(found, self.server.stdout.text()[-3000:])


class QuietLevelsTest(RoverTestCase):
    """log_level warn / error / nope. The app prints READY from on_ready."""

    APP = "tests/apps/logging_quiet.lua"

    @classmethod
    def setUpClass(cls):
        # One server per test (the level differs). Probe once that the app
        # can tell us it is ready: without a banner, READY from api.on_ready
        # is the only sign (server-features.md §15).
        cls.no_ready_hook = None
        probe = RoverServer(cls.APP, env={"TEST_LOG_LEVEL": "warn"}, ready_line="^READY$")
        try:
            probe.start()
        except ServerStartError as e:
            if probe.exited_early:
                raise
            cls.no_ready_hook = str(e)
        finally:
            probe.stop()

    def start(self, level):
        if self.no_ready_hook:
            self.skipTest("needs api.on_ready (server-features.md §15) to see when a "
                          "server without banner is ready")
        server = RoverServer(self.APP, env={"TEST_LOG_LEVEL": level}, ready_line="^READY$")
        self.addCleanup(server.stop)
        server.start()
        return server

    def exercise(self, server):
        """200, 404 and 500 requests, then two print markers on one connection:
        when the second marker is visible, every earlier log line is too."""
        with server.connect() as c:
            self.assertEqual(c.request("GET", "/ok").status, 200)
            self.assertEqual(c.request("GET", "/missing").status, 404)
            self.assertEqual(c.request("GET", "/boom").status, 500)
            self.assertEqual(c.request("GET", "/print/one").status, 200)
            self.assertEqual(c.request("GET", "/print/two").status, 200)
        self.assertIsNotNone(server.wait_log("^PRINTED two$"), server.stdout.text())
        return server.stdout.lines()

    def levels(self, lines):
        out = []
        for l in lines:
            m = LOG_LINE_RE.match(l)
            if m:
                out.append(m.group(2))
            else:
                self.assertIn(l, ("READY", "PRINTED one", "PRINTED two"))
        return out

    def test_warn(self):
        server = self.start("warn")
        lines = self.exercise(server)
        self.assertEqual(set(self.levels(lines)), {"WARN", "ERROR"}, lines)
        self.assertTrue(any(re.search(r" WARN \[[^\]]+\] GET /missing - 404 in ", l)
                            for l in lines), lines)
        self.assertTrue(any(" WARN Unknown config key 'bogus_key' ignored" in l
                            for l in lines), lines)

    def test_error(self):
        server = self.start("ERROR")  # case-insensitive
        lines = self.exercise(server)
        self.assertEqual(self.levels(lines), ["ERROR"], lines)
        self.assertRegex(next(l for l in lines if LOG_LINE_RE.match(l)),
                         r" ERROR \[[^\]]+\] GET /boom - quiet failure$")

    def test_nope_writes_nothing(self):
        server = self.start("nope")
        lines = self.exercise(server)
        self.assertEqual(lines, ["READY", "PRINTED one", "PRINTED two"])
        self.assertEqual(server.stderr.text(), "")


if __name__ == "__main__":
    unittest.main()

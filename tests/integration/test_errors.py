"""lua-api.md §8: handler errors, expose_errors, error logging."""

import json
import re
import unittest

from harness import (APPS_DIR, CT_JSON, LOG_LINE_RE, LOG_TIME, RoverTestCase,
                     app_line)

APP = "tests/apps/errors.lua"


def line_of(marker):
    return app_line(APPS_DIR / "errors.lua", marker)


def error_body(message):
    return json.dumps({"error": message}, ensure_ascii=False,
                      separators=(",", ":")).encode()


class ErrorsTest(RoverTestCase):
    APP = APP

    def assertError(self, path, message, status=500):
        r = self.get(path)
        self.assertJSONBytes(r, status, error_body(message))

    def test_string_error_has_position(self):
        self.assertError("/err/string", "%s:%d: boom string" % (APP, line_of("marker:string")))

    def test_string_error_without_position(self):
        self.assertError("/err/level0", "no position")

    def test_runtime_error(self):
        r = self.get("/err/runtime")
        self.assertStatus(r, 500)
        self.assertContentType(r, CT_JSON)
        msg = r.json()["error"]
        prefix = "%s:%d: " % (APP, line_of("marker:runtime"))
        self.assertTrue(msg.startswith(prefix), msg)
        self.assertIn("attempt to index", msg)

    def test_error_in_nested_function(self):
        self.assertError("/err/deep", "%s:%d: deep failure" % (APP, line_of("marker:deep")))

    def test_table_with_message(self):
        self.assertError("/err/table", "table message")

    def test_numbers(self):
        # error(n, 0): a number value (error(n) would make it a string with position).
        self.assertError("/err/number", "42")
        self.assertError("/err/float", "2.5")

    def test_tostring_metamethod(self):
        self.assertError("/err/tostring", "custom tostring")

    def test_other_values(self):
        self.assertError("/err/boolean", "unknown error (boolean)")
        self.assertError("/err/plain_table", "unknown error (table)")
        self.assertError("/err/number_message", "unknown error (table)")
        self.assertError("/err/nil", "unknown error (nil)")

    def test_traceback_removed(self):
        r = self.get("/err/traceback")
        self.assertStatus(r, 500)
        msg = r.json()["error"]
        self.assertTrue(msg.startswith("tb message"), msg)
        self.assertNotIn("stack traceback", msg)
        self.assertLessEqual(len(msg.rstrip()), len("tb message"))

    def test_message_escaped_in_json(self):
        r = self.get("/err/quotes")
        self.assertJSONBytes(r, 500, b'{"error":"say \\"hi\\"\\n\\tthen \\\\ leave"}')

    def test_error_after_reading_body(self):
        r = self.request("POST", "/err/after_body", body=b'{"n":3}')
        self.assertJSONBytes(r, 500, '{"error":"failed with 3"}')

    def test_connection_and_worker_survive_errors(self):
        c = self.connect()
        for path in ("/err/string", "/err/runtime", "/err/table", "/err/nil",
                     "/err/deep", "/err/string"):
            r = c.request("GET", path)
            self.assertStatus(r, 500)
            self.assertNotEqual((r.header("Connection") or "").lower(), "close")
        self.assertText(c.request("GET", "/ok"), 200, "still serving")
        self.assertText(self.get("/ok"), 200, "still serving")

    def test_error_logged(self):
        start = len(self.server.stdout.lines())
        r = self.get("/err/string", headers={"X-Request-ID": "err-log-1"})
        self.assertStatus(r, 500)
        message = "%s:%d: boom string" % (APP, line_of("marker:string"))
        found = self.server.wait_log(
            "^" + LOG_TIME + r" ERROR \[err-log-1\] GET /err/string - "
            + re.escape(message) + "$", start=start)
        self.assertIsNotNone(found, self.server.stdout.text()[-3000:])
        err_idx = found[0]
        # The request line itself is WARN (status >= 400).
        self.assertIsNotNone(self.server.wait_log(
            "^" + LOG_TIME + r" WARN \[err-log-1\] GET /err/string - 500 in \d+\.\d\dms$",
            start=start), self.server.stdout.text()[-3000:])
        # The traceback follows at DEBUG.
        tb = self.server.wait_log("stack traceback", start=err_idx + 1)
        self.assertIsNotNone(tb, self.server.stdout.text()[-3000:])
        lines = self.server.stdout.lines()
        i = tb[0]
        while i > err_idx and not LOG_LINE_RE.match(lines[i]):
            i -= 1
        self.assertGreater(i, err_idx, "traceback is not its own log line")
        self.assertEqual(LOG_LINE_RE.match(lines[i]).group(2), "DEBUG", lines[i])


class HiddenErrorsTest(RoverTestCase):
    APP = "tests/apps/errors_hidden.lua"
    HIDDEN = b'{"error":"Internal Server Error"}'

    def test_500_bodies_hidden(self):
        for path in ("/boom", "/table_err", "/unsupported"):
            with self.subTest(path=path):
                self.assertJSONBytes(self.get(path), 500, self.HIDDEN)

    def test_request_errors_unchanged(self):
        self.assertJSONBytes(self.request("POST", "/nobody"), 400,
                             '{"error":"Request has no body"}')
        self.assertJSONBytes(
            self.request("POST", "/media", headers={"Content-Type": "text/plain"}, body="x"),
            415, '{"error":"Unsupported Media Type (415): expected application/json, got text/plain"}')
        r = self.request("POST", "/badjson", body="{x")
        self.assertStatus(r, 400)
        self.assertTrue(r.json()["error"].startswith("Invalid JSON in request body: "))

    def test_guard_errors_unchanged(self):
        r = self.request("POST", "/guard", body="{}")
        self.assertJSON(r, 400, {"errors": [
            {"field": "email", "message": "Field 'email' is required", "type": "required"}]})

    def test_builder_errors_unchanged(self):
        self.assertJSONBytes(self.get("/explicit"), 403, '{"error":"explicit message"}')

    def test_message_still_logged(self):
        start = len(self.server.stdout.lines())
        self.assertStatus(self.get("/boom", headers={"X-Request-ID": "hidden-1"}), 500)
        found = self.server.wait_log(
            "^" + LOG_TIME + r" ERROR \[hidden-1\] GET /boom - .*secret detail$", start=start)
        self.assertIsNotNone(found, self.server.stdout.text()[-2000:])
        self.assertText(self.get("/ok"), 200, "ok")


if __name__ == "__main__":
    unittest.main()

"""server-features.md §1 (middleware) and §2 (api.on_error), against the real
binary.

Apps: tests/apps/middleware.lua (hooks, one worker), middleware_on_error.lua
(on_error, one worker), middleware_on_error_hidden.lua (expose_errors =
false); startup errors use temporary apps.

Order is made observable without timing: before hooks append their names to
a ctx value the handler returns; after hooks append to a per-worker table
that GET /log/<tag> returns; "did not run" is shown by counters that a
later request reads (GET /count/<name>), and each such test also shows the
counter moving when the code does run.
"""

import json
import re
import unittest

from harness import (APPS_DIR, CT_JSON, CT_TEXT, GENERATED_ID_RE, LOG_TIME,
                     RoverTestCase, app_line, build_request, run_rover,
                     write_temp_app)

APP = "tests/apps/middleware.lua"
ON_ERROR_APP = "tests/apps/middleware_on_error.lua"
HIDDEN_APP = "tests/apps/middleware_on_error_hidden.lua"

GLOBAL = "g:alpha g:step10 g:step9"


def position(app, marker):
    """The ``file:line: `` prefix error() adds for the line holding ``marker``."""
    return "%s:%d: " % (app, app_line(APPS_DIR / app.split("/")[-1], marker))


def error_body(message):
    return json.dumps({"error": message}, separators=(",", ":")).encode()


class MiddlewareBase(RoverTestCase):
    APP = APP

    def count(self, name):
        r = self.get("/count/" + name)
        self.assertStatus(r, 200)
        return int(r.body)

    def counts(self, *names):
        return [self.count(n) for n in names]

    def after_log(self, tag):
        r = self.get("/log/" + tag)
        self.assertText(r, 200, r.body)
        return r.text.split(" ") if r.body else []

    def log_mark(self):
        return len(self.server.stdout.lines())

    def wait_line(self, pattern, start):
        found = self.server.wait_log(pattern, start=start)
        self.assertIsNotNone(found, "missing log line %r\n%s"
                             % (pattern, self.server.stdout.text()[-3000:]))
        return found


class OrderTest(MiddlewareBase):
    """§1 Order: root down to the route's node; unnamed first, then named in
    lexicographic order; after hooks in reverse."""

    def test_global_hooks_on_root_route_order(self):
        r = self.get("/plain", headers={"X-Tag": "o-plain"})
        self.assertJSON(r, 200, {"trace": GLOBAL + " handler"})
        self.assertEqual(self.after_log("o-plain"), ["g"])

    def test_scoped_node_hooks(self):
        r = self.get("/staff", headers={"X-Tag": "o-staff"})
        self.assertJSON(r, 200, {"trace": GLOBAL + " staff handler"})
        # The after list is [g, staff:abc, staff:zed], run in reverse.
        self.assertEqual(self.after_log("o-staff"), ["staff:zed", "staff:abc", "g"])

    def test_nested_scopes_order(self):
        r = self.get("/staff/x", headers={"X-Tag": "o-x"})
        self.assertJSON(r, 200, {"trace": GLOBAL + " staff x:first x:second handler"})
        self.assertEqual(self.after_log("o-x"), ["x", "staff:zed", "staff:abc", "g"])

    def test_order_same_on_every_request(self):
        c = self.connect()
        for i in range(3):
            r = c.request("GET", "/staff/x", headers={"X-Tag": "o-rep"})
            self.assertJSON(r, 200, {"trace": GLOBAL + " staff x:first x:second handler"})
        self.assertEqual(self.after_log("o-rep"),
                         ["x", "staff:zed", "staff:abc", "g"] * 3)

    def test_whole_segment_scoping(self):
        # /staff hooks cover /staff and /staff/x, not /staffing or /staff_x.
        for path in ("/staffing", "/staff_x"):
            with self.subTest(path=path):
                tag = "o-seg" + path.replace("/", "-")
                r = self.get(path, headers={"X-Tag": tag})
                self.assertJSON(r, 200, {"trace": GLOBAL + " handler"})
                self.assertEqual(self.after_log(tag), ["g"])

    def test_query_does_not_change_scope(self):
        r = self.get("/staff/x?a=/staff", headers={"X-Tag": "o-q"})
        self.assertJSON(r, 200, {"trace": GLOBAL + " staff x:first x:second handler"})


class ShortCircuitTest(MiddlewareBase):
    """§1 Short-circuit."""

    NAMES = ("guarded:before_a", "guarded:before_b", "guarded:handler", "guarded:after",
             "global:after")

    def test_response_object_ends_the_request(self):
        before = self.counts(*self.NAMES)
        r = self.get("/guarded", headers={"X-Tag": "sc-1"})
        self.assertJSONBytes(r, 403, '{"error":"forbidden here"}')
        a, b, h, af, gaf = self.counts(*self.NAMES)
        self.assertEqual([a, b, h, af, gaf],
                         [before[0] + 1, before[1], before[2], before[3], before[4]])
        self.assertEqual(self.after_log("sc-1"), [])

    def test_hooks_and_handler_run_when_not_short_circuited(self):
        before = self.counts(*self.NAMES)
        r = self.get("/guarded", headers={"X-Pass": "yes", "X-Tag": "sc-2"})
        self.assertText(r, 200, "guarded ok")
        self.assertEqual(self.counts(*self.NAMES), [n + 1 for n in before])
        self.assertEqual(self.after_log("sc-2"), ["g"])

    def test_short_circuit_keeps_connection(self):
        c = self.connect()
        self.assertStatus(c.request("GET", "/guarded"), 403)
        self.assertText(c.request("GET", "/guarded", headers={"X-Pass": "yes"}), 200,
                        "guarded ok")

    def test_other_return_values_are_ignored(self):
        r = self.get("/ignored")
        self.assertJSON(r, 200, {"trace": GLOBAL + " a b c d handler"})

    def test_suspending_hook_then_short_circuit(self):
        names = ("slow_deny:before", "slow_deny:later", "slow_deny:handler",
                 "slow_deny:after")
        before = self.counts(*names)
        r = self.get("/slow_deny", headers={"X-Tag": "sc-slow"})
        self.assertText(r, 401, "denied after wait /slow_deny")
        self.assertEqual(self.counts(*names),
                         [before[0] + 1, before[1], before[2], before[3]])
        self.assertEqual(self.after_log("sc-slow"), [])

    def test_suspending_hook_then_handler(self):
        before = self.count("slow_pass:handler")
        r = self.get("/slow_pass", headers={"X-Tag": "sc-pass"})
        self.assertJSON(r, 200, {"trace": GLOBAL + " before-wait after-wait handler",
                                 "waited": "/slow_pass"})
        self.assertEqual(self.count("slow_pass:handler"), before + 1)
        self.assertEqual(self.after_log("sc-pass"), ["g"])

    def test_suspending_hooks_on_pipelined_requests(self):
        c = self.connect()
        c.send(build_request("GET", "/slow_pass") + build_request("GET", "/slow_deny")
               + build_request("GET", "/plain"))
        a, b, p = c.read_responses(3)
        self.assertJSON(a, 200, {"trace": GLOBAL + " before-wait after-wait handler",
                                 "waited": "/slow_pass"})
        self.assertText(b, 401, "denied after wait /slow_deny")
        self.assertJSON(p, 200, {"trace": GLOBAL + " handler"})

    def test_other_response_objects_short_circuit(self):
        before = self.counts("sc_kinds:before", "sc_kinds:handler")
        r = self.get("/sc_kinds/redirect")
        self.assertStatus(r, 302)
        self.assertEqual(r.header_all("Location"), ["/elsewhere"])
        self.assertEqual(r.body, b"")
        r = self.get("/sc_kinds/empty")
        self.assertStatus(r, 204)
        self.assertNoBodyHeaders(r)
        r = self.get("/sc_kinds/html")
        self.assertText(r, 451, "<p>gone</p>", "text/html; charset=utf-8")
        r = self.get("/sc_kinds/header")
        self.assertText(r, 200, "with header")
        self.assertEqual(r.header_all("X-From-Hook"), ["yes"])
        r = self.request("HEAD", "/sc_kinds/header")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"")
        self.assertEqual(r.header_all("Content-Length"), ["11"])
        self.assertEqual(self.counts("sc_kinds:before", "sc_kinds:handler"),
                         [before[0] + 5, before[1]])
        self.assertText(self.get("/sc_kinds/none"), 200, "sc_kinds handler")
        self.assertEqual(self.counts("sc_kinds:before", "sc_kinds:handler"),
                         [before[0] + 6, before[1] + 1])

    def test_auth_without_token_401(self):
        before = self.count("protected:handler")
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            with self.subTest(headers=headers):
                r = self.get("/protected", headers=headers)
                self.assertJSONBytes(r, 401, '{"error":"missing or bad token"}')
        r = self.get("/protected/reports/7")
        self.assertJSONBytes(r, 401, '{"error":"missing or bad token"}')
        self.assertEqual(self.count("protected:handler"), before)

    def test_auth_with_token_200(self):
        before = self.count("protected:handler")
        r = self.get("/protected", headers={"Authorization": "Bearer s3cret"})
        self.assertJSON(r, 200, {"user": "ada"})
        self.assertEqual(self.count("protected:handler"), before + 1)
        r = self.get("/protected/reports/7", headers={"Authorization": "Bearer s3cret"})
        self.assertJSON(r, 200, {"user": "ada", "report": "7"})
        # Outside the protected subtree the hook does not run.
        self.assertJSON(self.get("/open"), 200, {"user": "nil"})


class AfterAndErrorsTest(MiddlewareBase):
    """§1 After hooks and errors in hooks."""

    def test_after_hook_error_logged_response_unchanged(self):
        before = self.counts("after_boom:handler", "after_boom:a_fine")
        start = self.log_mark()
        r = self.get("/after_boom", headers={"X-Request-ID": "mw-after-1"})
        self.assertJSONBytes(r, 201, '{"made":true}')
        self.assertEqual(r.header_all("X-Made"), ["yes"])
        self.assertEqual(self.count("after_boom:handler"), before[0] + 1)
        message = position(APP, "marker:after_boom") + "after exploded"
        self.wait_line("^" + LOG_TIME + r" ERROR \[mw-after-1\] .*" + re.escape(message) + "$",
                       start)
        self.wait_line("^" + LOG_TIME + r" INFO \[mw-after-1\] GET /after_boom - 201 in "
                       r"\d+\.\d\dms$", start)

    def test_after_hook_may_wait(self):
        r = self.get("/slow_after", headers={"X-Tag": "aft-wait"})
        self.assertText(r, 200, "slow_after handler")
        self.assertEqual(self.after_log("aft-wait"), ["slow-after:/slow_after", "g"])

    def test_after_hook_error_keeps_connection(self):
        c = self.connect()
        self.assertJSONBytes(c.request("GET", "/after_boom"), 201, '{"made":true}')
        self.assertJSON(c.request("GET", "/plain"), 200, {"trace": GLOBAL + " handler"})

    def test_before_hook_error_is_a_500(self):
        names = ("before_boom:handler", "before_boom:after")
        before = self.counts(*names)
        start = self.log_mark()
        r = self.get("/before_boom", headers={"X-Request-ID": "mw-before-1",
                                              "X-Tag": "err-before"})
        message = position(APP, "marker:before_boom") + "before exploded"
        self.assertJSONBytes(r, 500, error_body(message))
        self.assertEqual(self.counts(*names), before)
        self.assertEqual(self.after_log("err-before"), [])
        self.wait_line("^" + LOG_TIME + r" ERROR \[mw-before-1\] GET /before_boom - "
                       + re.escape(message) + "$", start)
        self.wait_line("^" + LOG_TIME + r" WARN \[mw-before-1\] GET /before_boom - 500 in "
                       r"\d+\.\d\dms$", start)
        self.assertJSON(self.get("/plain"), 200, {"trace": GLOBAL + " handler"})


class ScopeTest(MiddlewareBase):
    """§1 Scope of middleware."""

    NAMES = ("global:before", "global:after")

    def test_head_served_by_get_runs_middleware(self):
        names = ("headed:before", "headed:handler", "headed:after")
        before = self.counts(*names)
        c = self.connect()
        r = c.request("HEAD", "/headed")
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"")
        self.assertEqual(r.header_all("X-Trace"), [GLOBAL + " headed:HEAD"])
        self.assertEqual(r.header_all("Content-Length"), ["5"])
        self.assertEqual(self.counts(*names), [n + 1 for n in before])
        r = c.request("GET", "/headed")
        self.assertText(r, 200, "hello")
        self.assertEqual(r.header_all("X-Trace"), [GLOBAL + " headed:GET"])

    def test_not_run_for_404_405_automatic_options(self):
        before = self.counts(*self.NAMES)
        r = self.get("/nowhere")
        self.assertText(r, 404, "Route not found")
        r = self.get("/staff/nope")
        self.assertText(r, 404, "Route not found")
        r = self.request("POST", "/plain")
        self.assertText(r, 405, "Method Not Allowed")
        r = self.request("DELETE", "/staff/x")
        self.assertText(r, 405, "Method Not Allowed")
        r = self.request("OPTIONS", "/plain")
        self.assertStatus(r, 204)
        self.assertEqual(r.header_all("Allow"), ["GET, HEAD, OPTIONS"])
        r = self.request("OPTIONS", "/staff")
        self.assertStatus(r, 204)
        self.assertEqual(self.counts(*self.NAMES), before)
        # They do run for a routed request.
        self.assertJSON(self.get("/plain"), 200, {"trace": GLOBAL + " handler"})
        self.assertEqual(self.counts(*self.NAMES), [n + 1 for n in before])

    def test_not_run_for_probes(self):
        before = self.counts(*self.NAMES)
        self.assertJSONBytes(self.get("/healthz"), 200, '{"status":"ok"}')
        self.assertJSONBytes(self.get("/readyz"), 200, '{"status":"ready"}')
        self.assertEqual(self.counts(*self.NAMES), before)


class RequestStateTest(MiddlewareBase):
    """§1 Request state: ctx:set / ctx:get."""

    def test_state_shared_by_hooks_and_handler(self):
        r = self.get("/state?n=1", headers={"X-Tag": "st-1"})
        self.assertJSON(r, 200, {
            "prior": "nil", "name": "ada", "role": "admin", "number_key": "number key",
            "flag": "false", "fn": "called", "unset": "nil", "trace_prior": GLOBAL})
        self.assertEqual(self.after_log("st-1"), ["after-saw-h1", "g"])

    def test_state_does_not_leak_into_next_request(self):
        c = self.connect()
        for n in ("1", "2"):
            r = c.request("GET", "/state?n=" + n, headers={"X-Tag": "st-2"})
            self.assertStatus(r, 200)
            self.assertEqual(r.json()["prior"], "nil")
            self.assertEqual(r.json()["trace_prior"], GLOBAL)
        # The trace of /state does not reach the next request either.
        self.assertJSON(c.request("GET", "/plain"), 200, {"trace": GLOBAL + " handler"})
        self.assertEqual(self.after_log("st-2"), ["after-saw-h1", "g", "after-saw-h2", "g"])

    def test_hooks_below_parameter_and_request_id(self):
        r = self.get("/users/42", headers={"X-Request-ID": "mw-users-1"})
        self.assertJSON(r, 200, {"loaded": "user-42", "same_id": True, "id": "mw-users-1"})
        r = self.get("/users/43")
        self.assertStatus(r, 200)
        self.assertEqual(r.json()["loaded"], "user-43")
        self.assertTrue(r.json()["same_id"])
        self.assertRegex(r.json()["id"], GENERATED_ID_RE)
        # /users/me is a sibling node of /users/{id}: its hooks do not apply.
        self.assertJSON(self.get("/users/me"), 200, {"loaded": "nil"})

    def test_state_not_leaked_after_short_circuit(self):
        c = self.connect()
        self.assertJSON(c.request("GET", "/protected", headers={"Authorization": "Bearer s3cret"}),
                        200, {"user": "ada"})
        self.assertJSON(c.request("GET", "/open"), 200, {"user": "nil"})


class StartupErrorTest(unittest.TestCase):
    """§1: a non-function middleware entry is a startup error."""

    def assertStartupError(self, body, expected):
        text = "local api = rover.server { log_level = 'info' }\n" + body + \
               "function api.get(ctx) return 'x' end\nreturn api\n"
        d = write_temp_app(self, text)
        p = run_rover(["app.lua"], cwd=d, timeout=15)
        self.assertEqual(p.returncode, 1, p)
        self.assertNotIn("Rover server running", p.stdout.decode("utf-8", "replace"))
        err = p.stderr.decode("utf-8", "replace").splitlines()
        self.assertTrue(err, "no stderr output")
        self.assertEqual(err[0], "❌ Error: " + expected)

    def test_named_before_string(self):
        self.assertStartupError(
            "function api.admin.get(ctx) return 1 end\napi.admin.before.check = 'yes'\n",
            "Middleware 'check' at '/admin' must be a function")

    def test_named_after_number_on_root(self):
        self.assertStartupError("api.after.log = 5\n",
                                "Middleware 'log' at '/' must be a function")

    def test_table_entry_under_parameter(self):
        self.assertStartupError(
            "function api.users.p_id.get(ctx) return 1 end\napi.users.p_id.after.audit = {}\n",
            "Middleware 'audit' at '/users/{id}' must be a function")

    def test_boolean_entry_deep(self):
        self.assertStartupError(
            "function api.a.b.c.get(ctx) return 1 end\napi.a.b.before.z = true\n",
            "Middleware 'z' at '/a/b' must be a function")

    def test_function_entries_start(self):
        # The same shapes with functions are fine (the test above can fail).
        text = ("local api = rover.server { log_level = 'info' }\n"
                "function api.admin.before.check(ctx) end\n"
                "function api.after.log(ctx) end\n"
                "function api.admin.get(ctx) return 'x' end\n"
                "error('loaded fine', 0)\n")
        d = write_temp_app(self, text)
        p = run_rover(["app.lua"], cwd=d, timeout=15)
        self.assertEqual(p.returncode, 1, p)
        self.assertEqual(p.stderr.decode().splitlines()[:2],
                         ["❌ Error loading app.lua:", "loaded fine"])


# ---------------------------------------------------------------------------
# §2 api.on_error


class OnErrorTest(MiddlewareBase):
    APP = ON_ERROR_APP

    def calls(self):
        r = self.get("/calls")
        self.assertStatus(r, 200)
        return int(r.body)

    def on_error_json(self, r):
        self.assertStatus(r, 418)
        self.assertContentType(r, CT_JSON)
        self.assertLength(r)
        self.assertEqual(r.header_all("X-On-Error"), ["yes"])
        return r.json()

    def test_handler_error_fields(self):
        before = self.calls()
        r = self.get("/handler_err?x=1", headers={"X-Request-ID": "oe-h-1"})
        body = self.on_error_json(r)
        self.assertEqual(body, {
            "seen": {"message": position(ON_ERROR_APP, "marker:handler_err") + "handler failed",
                     "status": 500, "path": "/handler_err", "method": "GET", "code": "ERROR",
                     "has_errors": False},
            "id": "oe-h-1"})
        self.assertEqual(self.calls(), before + 1)

    def test_table_error_message_and_method(self):
        r = self.request("POST", "/handler_err", headers={"X-Request-ID": "oe-h-2"})
        self.assertEqual(self.on_error_json(r)["seen"],
                         {"message": "table failure", "status": 500, "path": "/handler_err",
                          "method": "POST", "code": "ERROR", "has_errors": False})

    def test_handler_error_still_logged(self):
        start = self.log_mark()
        r = self.get("/handler_err", headers={"X-Request-ID": "oe-log-1"})
        self.assertStatus(r, 418)
        message = position(ON_ERROR_APP, "marker:handler_err") + "handler failed"
        self.wait_line("^" + LOG_TIME + r" ERROR \[oe-log-1\] GET /handler_err - "
                       + re.escape(message) + "$", start)
        self.wait_line("^" + LOG_TIME + r" WARN \[oe-log-1\] GET /handler_err - 418 in "
                       r"\d+\.\d\dms$", start)

    def test_before_hook_error(self):
        before = self.count("before_err:handler")
        r = self.get("/before_err", headers={"X-Request-ID": "oe-b-1"})
        self.assertEqual(self.on_error_json(r), {
            "seen": {"message": position(ON_ERROR_APP, "marker:before_err") + "before hook failed",
                     "status": 500, "path": "/before_err", "method": "GET", "code": "ERROR",
                     "has_errors": False},
            "id": "oe-b-1"})
        self.assertEqual(self.count("before_err:handler"), before)

    def test_guard_error(self):
        r = self.request("POST", "/guard", headers={"Content-Type": "application/json"},
                         body='{"age": 3}')
        seen = self.on_error_json(r)["seen"]
        self.assertEqual(seen["status"], 400)
        self.assertEqual(seen["errors"], [{"field": "email",
                                           "message": "Field 'email' is required",
                                           "type": "required"}])
        self.assertTrue(seen["has_errors"])
        self.assertTrue(seen["message"].startswith("Validation failed for request body:"),
                        seen["message"])
        self.assertEqual((seen["path"], seen["method"], seen["code"]),
                         ("/guard", "POST", "ERROR"))

    def test_guard_passes_without_on_error(self):
        before = self.calls()
        r = self.request("POST", "/guard", body='{"email": "a@b.c", "age": 3}')
        self.assertJSON(r, 200, {"email": "a@b.c", "age": 3})
        self.assertEqual(self.calls(), before)

    def test_request_errors(self):
        r = self.request("POST", "/json_body", body="{not json")
        seen = self.on_error_json(r)["seen"]
        self.assertEqual(seen["status"], 400)
        self.assertTrue(seen["message"].startswith("Invalid JSON in request body: "), seen)
        self.assertNotIn("errors", seen)

        r = self.request("POST", "/json_body", headers={"Content-Type": "text/plain"}, body="{}")
        self.assertEqual(self.on_error_json(r)["seen"], {
            "message": "Unsupported Media Type (415): expected application/json, got text/plain",
            "status": 415, "path": "/json_body", "method": "POST", "code": "ERROR",
            "has_errors": False})

        r = self.request("POST", "/json_body")
        self.assertEqual(self.on_error_json(r)["seen"], {
            "message": "Request has no body", "status": 400, "path": "/json_body",
            "method": "POST", "code": "ERROR", "has_errors": False})

    def test_non_object_body(self):
        r = self.request("POST", "/object", body="[1, 2]")
        self.assertEqual(self.on_error_json(r)["seen"], {
            "message": "Request body must be a JSON object", "status": 400, "path": "/object",
            "method": "POST", "code": "ERROR", "has_errors": False})

    def test_on_error_may_wait(self):
        r = self.get("/handler_err", headers={"X-Mode": "delay", "X-Request-ID": "oe-wait-1"})
        self.assertText(r, 503, "after delay /handler_err oe-wait-1")

    def test_live_ctx_generated_request_id(self):
        start = self.log_mark()
        r = self.get("/handler_err", headers={"X-Extra": "seen by on_error"})
        body = self.on_error_json(r)
        self.assertEqual(body["header"], "seen by on_error")
        rid = body["id"]
        self.assertRegex(rid, GENERATED_ID_RE)
        self.wait_line("^" + LOG_TIME + r" WARN \[" + re.escape(rid) + r"\] GET /handler_err - "
                       r"418 in \d+\.\d\dms$", start)

    def test_non_response_return_means_default_handling(self):
        message = position(ON_ERROR_APP, "marker:handler_err") + "handler failed"
        for mode in ("nil", "table", "string"):
            with self.subTest(mode=mode):
                before = self.calls()
                r = self.get("/handler_err", headers={"X-Mode": mode})
                self.assertJSONBytes(r, 500, error_body(message))
                self.assertFalse(r.has("X-On-Error"))
                self.assertEqual(self.calls(), before + 1)

    def test_non_response_return_request_errors_default(self):
        r = self.request("POST", "/json_body", headers={"X-Mode": "nil"})
        self.assertJSONBytes(r, 400, '{"error":"Request has no body"}')
        r = self.request("POST", "/guard", headers={"X-Mode": "table"}, body="{}")
        self.assertJSON(r, 400, {"errors": [{"field": "email",
                                             "message": "Field 'email' is required",
                                             "type": "required"}]})

    def test_on_error_raising(self):
        before = self.calls()
        start = self.log_mark()
        r = self.get("/handler_err", headers={"X-Mode": "raise", "X-Request-ID": "oe-raise-1"})
        message = position(ON_ERROR_APP, "marker:handler_err") + "handler failed"
        self.assertJSONBytes(r, 500, error_body(message))
        self.assertEqual(self.calls(), before + 1)
        self.wait_line("^" + LOG_TIME + r" ERROR \[oe-raise-1\] .*on_error broke", start)
        self.wait_line("^" + LOG_TIME + r" ERROR \[oe-raise-1\] GET /handler_err - "
                       + re.escape(message) + "$", start)
        # The connection and the worker still serve.
        self.assertText(self.get("/ok"), 200, "ok")

    def test_on_error_raising_on_request_error(self):
        r = self.request("POST", "/json_body", headers={"X-Mode": "raise",
                                                        "Content-Type": "text/csv"}, body="a")
        self.assertJSONBytes(
            r, 415, '{"error":"Unsupported Media Type (415): expected application/json, got text/csv"}')

    def test_not_called_for_after_hook_errors(self):
        before_calls = self.calls()
        before_after = self.count("after_err:after")
        r = self.get("/after_err")
        self.assertText(r, 202, "after_err handler")
        self.assertEqual(self.count("after_err:after"), before_after + 1)
        self.assertEqual(self.calls(), before_calls)

    def test_not_called_for_serialisation_failures(self):
        before = self.calls()
        r = self.get("/serialize")
        self.assertStatus(r, 500)
        self.assertContentType(r, CT_JSON)
        self.assertTrue(r.json()["error"].startswith("Failed to serialize response: "), r)
        self.assertEqual(self.calls(), before)

    def test_not_called_without_error(self):
        before = self.calls()
        self.assertText(self.get("/ok"), 200, "ok")
        self.assertText(self.get("/nowhere"), 404, "Route not found")
        self.assertText(self.request("DELETE", "/ok"), 405, "Method Not Allowed")
        self.assertEqual(self.calls(), before)


class OnErrorHiddenTest(RoverTestCase):
    APP = HIDDEN_APP

    def test_message_whatever_expose_errors_says(self):
        r = self.get("/boom")
        self.assertJSON(r, 503, {"message": "secret detail", "status": 500})

    def test_default_handling_hides_message(self):
        r = self.get("/boom", headers={"X-Mode": "nil"})
        self.assertJSONBytes(r, 500, '{"error":"Internal Server Error"}')


if __name__ == "__main__":
    unittest.main()

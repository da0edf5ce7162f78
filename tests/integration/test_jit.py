"""The request path once LuaJIT has compiled it (tests/apps/jit.lua).

Handlers are called through a Lua dispatch that the JIT compiles together with
the handler after a few dozen calls; a trace then leaves at a side exit when a
request takes another branch. Each test sends hundreds of requests on one
connection, so most of them run compiled code, and checks every response.
"""

import json

from harness import RoverTestCase

ROUNDS = 300  # well past LuaJIT's hot-loop/hot-call thresholds


class CompiledPathTest(RoverTestCase):
    APP = "tests/apps/jit.lua"

    def test_return_kinds_change_between_requests(self):
        c = self.connect()
        for n in range(ROUNDS):
            method = "HEAD" if n % 5 == 4 else "GET"
            r = c.request(method, "/kind/%d" % n)
            k = n % 6
            want_status = {3: 204, 4: 201}.get(k, 200)
            self.assertEqual(r.status, want_status, (n, r))
            if method == "HEAD" or k == 3:
                self.assertEqual(r.body, b"", (n, r))
                continue
            if k == 0:
                self.assertEqual(r.json(), {"n": n, "method": method}, n)
            elif k == 1:
                self.assertEqual(r.json(), {"n": n}, n)
            elif k == 2:
                self.assertEqual(r.body, b"text %d" % n, n)
            elif k == 4:
                self.assertEqual(r.json(), {"created": n}, n)
            else:
                self.assertEqual(r.body, b"t%d" % n, n)
                self.assertEqual(r.header_all("X-N"), [str(n)], n)

    def test_errors_every_seventh_request_and_kept_ctx_is_dead(self):
        c = self.connect()
        for n in range(1, ROUNDS):
            r = c.request("GET", "/fail/%d" % n)
            if n % 7 == 0:
                self.assertEqual(r.status, 500, (n, r))
                self.assertIn(b"fail %d" % n, r.body)
                # the ctx kept by the failing request is dead in the next one
                k = c.request("GET", "/kept")
                self.assertEqual(json.loads(k.body), {"ok": False,
                                                      "err": "request context is no longer valid"}, n)
            else:
                self.assertEqual(r.status, 200, (n, r))
                self.assertEqual(r.json(), {"n": n, "method": "GET"}, n)

"""runtime-modules.md §5: rover.http against an upstream the test starts (a
threaded Python HTTP/1.1 server on a free port): methods, JSON and string
bodies, JSON decoding, params, create{}, lower-cased headers, redirects,
timeouts, failures, the private-address block (with a redirect from an
allowed address to loopback), calls overlapping on one worker, and a waiting
call cancelled when its client goes or its handler times out."""

import http.server
import json
import os
import socket
import subprocess
import threading
import time
import unittest

from harness import RoverServer, RoverTestCase, free_port

APP = "tests/apps/http_client.lua"
PUBLIC_ALIAS = "198.18.0.1"  # benchmarking range: not in the blocked list


class Upstream(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("0.0.0.0", free_port()), UpstreamHandler)
        self.barrier = threading.Barrier(2, timeout=10)
        self.hold_closed = {}  # id -> Event set when the held client hung up
        self.hold_arrived = {}  # id -> Event set when the held request arrived
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def hold_event(self, hid):
        with self.lock:
            return self.hold_closed.setdefault(hid, threading.Event())

    def arrived_event(self, hid):
        with self.lock:
            return self.hold_arrived.setdefault(hid, threading.Event())

    def close(self):
        self.shutdown()
        self.server_close()


class UpstreamHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body=b"", ctype="application/json", extra=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def route(self):
        path, _, query = self.path.partition("?")
        if path == "/json":
            return self.send(200, {"message": "hello", "list": [1, 2, 3]})
        if path == "/echo":
            b = self.body()
            return self.send(200, {
                "method": self.command, "path": path, "query": query,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": b.decode("latin-1"), "length": len(b)})
        if path == "/text":
            return self.send(200, "plain words", "text/plain; charset=utf-8")
        if path == "/problem":
            return self.send(422, {"title": "bad"}, "application/problem+json")
        if path == "/vendor-text":
            return self.send(200, '{"a":1}', "text/vnd.x+json")
        if path == "/badjson":
            return self.send(200, "{not json", "application/json")
        if path == "/empty":
            return self.send(204, ctype=None)
        if path == "/empty-json":
            return self.send(200, "", "application/json")
        if path == "/headers":
            return self.send(200, "h", "text/plain",
                             [("X-Mixed-Case", "Value"), ("X-Twice", "a"), ("X-Twice", "b")])
        if path.startswith("/status/"):
            return self.send(int(path.rsplit("/", 1)[1]), {"status": "set"})
        if path.startswith("/redirect/"):
            n = int(path.rsplit("/", 1)[1])
            if n == 0:
                return self.send(200, {"arrived": True}, extra=[("X-Hop", "last")])
            return self.send(302, "", "text/plain",
                             [("Location", "/redirect/%d" % (n - 1)), ("X-Hop", str(n))])
        if path == "/redirect-to":
            return self.send(302, "", "text/plain", [("Location", query.split("=", 1)[1])])
        if path == "/slow":
            time.sleep(2)  # the upstream's own pace: the client's timeout is shorter
            return self.send(200, {"slow": True})
        if path == "/barrier":
            try:
                self.server.barrier.wait()
                return self.send(200, {"together": True})
            except threading.BrokenBarrierError:
                return self.send(504, {"together": False})
        if path.startswith("/hold/"):
            hid = path.rsplit("/", 1)[1]
            ev = self.server.hold_event(hid)
            self.server.arrived_event(hid).set()
            # Never answers; reports when the client hung up.
            self.connection.settimeout(30)
            try:
                while self.connection.recv(4096):
                    pass
            except OSError:
                pass
            ev.set()
            self.close_connection = True
            return
        return self.send(404, {"error": "nope"})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = route


class HttpClientBase(RoverTestCase):
    ARGS = ("--workers", "1")

    @classmethod
    def setUpClass(cls):
        cls.upstream = Upstream()
        cls.addClassCleanup(cls.upstream.close)
        cls.U = "http://127.0.0.1:%d" % cls.upstream.server_address[1]
        cls.server = RoverServer(APP, cls.ARGS, env={"UPSTREAM": cls.U})
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def call(self, fn, url, **spec):
        spec.update(fn=fn, url=url)
        r = self.request("POST", "/call", headers={"Content-Type": "application/json"},
                         body=json.dumps(spec).encode())
        return r.status, r.json()

    def ok(self, fn, url, **spec):
        spec.setdefault("cfg", {}).setdefault("allow_private", True)
        status, res = self.call(fn, url, **spec)
        self.assertEqual(status, 200, res)
        return res

    def fails(self, fn, url, **spec):
        status, res = self.call(fn, url, **spec)
        self.assertEqual(status, 502, res)
        return res["error"]


class TestRequests(HttpClientBase):
    def test_get_json_decoded(self):
        res = self.ok("get", "{U}/json")
        self.assertEqual(res["status"], 200)
        self.assertIs(res["ok"], True)
        self.assertEqual(res["data"], {"message": "hello", "list": [1, 2, 3]})
        self.assertEqual(res["headers"]["content-type"], "application/json")

    def test_every_method_sent(self):
        for fn in ("get", "post", "put", "patch", "delete", "options"):
            with self.subTest(fn=fn):
                res = self.ok(fn, "{U}/echo")
                self.assertEqual(res["data"]["method"], fn.upper())

    def test_head_has_empty_string_data(self):
        res = self.ok("head", "{U}/json")
        self.assertEqual(res["status"], 200)
        self.assertEqual(res["data_type"], "string")
        self.assertEqual(res["data"], "")
        self.assertEqual(res["headers"]["content-length"], str(len(json.dumps(
            {"message": "hello", "list": [1, 2, 3]}))))

    def test_table_data_sent_as_json(self):
        res = self.ok("post", "{U}/echo", data={"name": "ada", "tags": ["x"]})
        d = res["data"]
        self.assertEqual(d["headers"]["content-type"], "application/json")
        self.assertEqual(json.loads(d["body"]), {"name": "ada", "tags": ["x"]})

    def test_string_data_sent_as_is(self):
        res = self.ok("put", "{U}/echo", data="raw=1&b=2")
        d = res["data"]
        self.assertEqual(d["body"], "raw=1&b=2")
        self.assertNotIn("content-type", d["headers"])
        self.assertNotIn("expect", d["headers"])

    def test_string_data_with_own_content_type(self):
        res = self.ok("patch", "{U}/echo", data="<a/>",
                      cfg={"headers": {"Content-Type": "application/xml"}})
        self.assertEqual(res["data"]["headers"]["content-type"], "application/xml")
        self.assertEqual(res["data"]["body"], "<a/>")

    def test_nil_data_sends_empty_body(self):
        res = self.ok("post", "{U}/echo", data_nil=True)
        self.assertEqual(res["data"]["length"], 0)
        self.assertEqual(res["data"]["headers"]["content-length"], "0")

    def test_large_body_round_trip(self):
        res = self.ok("post", "{U}/echo", data_rep=2 * 1024 * 1024)
        self.assertEqual(res["data"]["length"], 2 * 1024 * 1024)

    def test_custom_headers_and_user_agent(self):
        res = self.ok("get", "{U}/echo", cfg={"headers": {"X-Api-Key": "k1", "Accept": "text/x"}})
        h = res["data"]["headers"]
        self.assertEqual(h["x-api-key"], "k1")
        self.assertEqual(h["accept"], "text/x")
        self.assertTrue(h["user-agent"].startswith("rover/"), h)

    def test_params_percent_encoded_and_sorted(self):
        res = self.ok("get", "{U}/echo", cfg={"params": {"q": "a b&c", "n": 5, "flag": True,
                                                          "multi": ["1", "2"], "é": "ü/"}})
        self.assertEqual(res["data"]["query"],
                         "flag=true&multi=1&multi=2&n=5&q=a%20b%26c&%C3%A9=%C3%BC%2F")

    def test_params_appended_to_existing_query(self):
        res = self.ok("get", "{U}/echo?a=1", cfg={"params": {"b": "2"}})
        self.assertEqual(res["data"]["query"], "a=1&b=2")

    def test_non_2xx_is_a_result_not_an_error(self):
        res = self.ok("get", "{U}/status/503")
        self.assertEqual(res["status"], 503)
        self.assertIs(res["ok"], False)
        self.assertEqual(res["data"], {"status": "set"})

    def test_ok_bounds(self):
        self.assertIs(self.ok("get", "{U}/status/299")["ok"], True)
        self.assertIs(self.ok("get", "{U}/status/300")["ok"], False)
        self.assertIs(self.ok("get", "{U}/status/404")["ok"], False)

    def test_plus_json_decoded(self):
        res = self.ok("get", "{U}/problem")
        self.assertEqual(res["status"], 422)
        self.assertEqual(res["data"], {"title": "bad"})

    def test_text_is_a_string(self):
        res = self.ok("get", "{U}/text")
        self.assertEqual(res["data_type"], "string")
        self.assertEqual(res["data"], "plain words")

    def test_non_application_plus_json_is_a_string(self):
        res = self.ok("get", "{U}/vendor-text")
        self.assertEqual(res["data"], '{"a":1}')

    def test_invalid_json_gives_the_body_string(self):
        res = self.ok("get", "{U}/badjson")
        self.assertEqual(res["data"], "{not json")

    def test_empty_bodies_are_empty_strings(self):
        for path, status in (("/empty", 204), ("/empty-json", 200)):
            with self.subTest(path=path):
                res = self.ok("get", "{U}" + path)
                self.assertEqual(res["status"], status)
                self.assertEqual(res["data"], "")

    def test_response_headers_lower_case_and_joined(self):
        h = self.ok("get", "{U}/headers")["headers"]
        self.assertEqual(h["x-mixed-case"], "Value")
        self.assertEqual(h["x-twice"], "a, b")
        self.assertFalse([k for k in h if k != k.lower()], h)

    def test_redirects_followed_up_to_five(self):
        res = self.ok("get", "{U}/redirect/5")
        self.assertEqual(res["status"], 200)
        self.assertEqual(res["data"], {"arrived": True})
        self.assertEqual(res["headers"]["x-hop"], "last")  # the last response's headers only

    def test_sixth_redirect_fails(self):
        err = self.fails("get", "{U}/redirect/6", cfg={"allow_private": True})
        self.assertTrue(err.endswith("http request failed: too many redirects"), err)

    def test_timeout(self):
        err = self.fails("get", "{U}/slow", cfg={"allow_private": True, "timeout": 300})
        self.assertIn("http request failed: timed out after 300 ms", err)

    def test_connection_refused(self):
        port = free_port()
        err = self.fails("get", "http://127.0.0.1:%d/" % port, cfg={"allow_private": True})
        self.assertIn("http request failed: ", err)

    def test_unresolvable_host(self):
        err = self.fails("get", "http://no-such-host.invalid/", cfg={"allow_private": True})
        self.assertIn("http request failed: ", err)

    def test_only_http_and_https(self):
        for url in ("ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://127.0.0.1/"):
            with self.subTest(url=url):
                err = self.fails("get", url, cfg={"allow_private": True})
                self.assertIn("http request failed: ", err)

    def test_header_injection_refused(self):
        err = self.fails("get", "{U}/echo", cfg={"allow_private": True,
                                                  "headers": {"X-A": "1\r\nX-Injected: yes"}})
        self.assertIn("http request failed: invalid header", err)
        err = self.fails("get", "{U}/echo", cfg={"allow_private": True,
                                                  "headers": {"Bad Name": "1"}})
        self.assertIn("http request failed: invalid header", err)

    def test_bad_arguments(self):
        self.assertIn("http request failed: data must be a table or a string",
                      self.fails("post", "{U}/echo", data=5))
        self.assertIn("http request failed: timeout must be a number",
                      self.fails("get", "{U}/echo", cfg={"timeout": -1}))

    def test_outside_a_handler_raises(self):
        r = self.get("/load")
        self.assertEqual(r.json()["ok"], False)
        self.assertIn("rover.http must be called inside a handler or task", r.json()["err"])

    def test_from_a_background_task(self):
        r = self.get("/task?n=1")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"message": "hello"})


class TestCreate(HttpClientBase):
    def test_base_url_joined(self):
        for base, url in (("{U}", "/echo"), ("{U}/", "echo"), ("{U}/", "/echo"), ("{U}", "echo")):
            with self.subTest(base=base, url=url):
                res = self.ok("get", url, create={"baseURL": base, "allow_private": True})
                self.assertEqual(res["data"]["path"], "/echo")

    def test_absolute_url_ignores_base(self):
        res = self.ok("get", "{U}/echo", create={"baseURL": "http://unused.invalid",
                                                  "allow_private": True})
        self.assertEqual(res["data"]["method"], "GET")

    def test_headers_merged_call_wins(self):
        res = self.ok("post", "/echo", data={"a": 1},
                      create={"baseURL": "{U}", "allow_private": True,
                              "headers": {"X-Base": "b", "X-Both": "base"}},
                      cfg={"headers": {"x-both": "call"}})
        h = res["data"]["headers"]
        self.assertEqual(h["x-base"], "b")
        self.assertEqual(h["x-both"], "call")

    def test_create_timeout_applies(self):
        status, res = self.call("get", "/slow", create={"baseURL": "{U}", "timeout": 250,
                                                        "allow_private": True})
        self.assertEqual(status, 502)
        self.assertIn("timed out after 250 ms", res["error"])

    def test_create_without_allow_private_is_blocked(self):
        status, res = self.call("get", "/json", create={"baseURL": "{U}"})
        self.assertEqual(status, 502)
        self.assertIn("http request blocked: private address", res["error"])


class TestPrivateBlock(HttpClientBase):
    BLOCKED = "http request blocked: private address"

    def test_loopback_blocked_by_default(self):
        self.assertIn(self.BLOCKED, self.fails("get", "{U}/json"))

    def test_loopback_by_name_blocked(self):
        port = self.upstream.server_address[1]
        self.assertIn(self.BLOCKED, self.fails("get", "http://localhost:%d/json" % port))

    def test_connection_of_an_opted_out_call_not_reused(self):
        # A kept-alive connection opened with allow_private must not carry a
        # later call without it to the same host.
        for _ in range(2):
            self.assertEqual(self.ok("get", "{U}/json")["status"], 200)
            self.assertIn(self.BLOCKED, self.fails("get", "{U}/json"))

    def test_loopback_by_name_allowed_with_opt_out(self):
        port = self.upstream.server_address[1]
        res = self.ok("get", "http://localhost:%d/json" % port)
        self.assertEqual(res["data"]["message"], "hello")

    def test_ipv4_mapped_ipv6_checked_as_ipv4(self):
        port = self.upstream.server_address[1]
        self.assertIn(self.BLOCKED, self.fails("get", "http://[::ffff:127.0.0.1]:%d/json" % port))

    def test_other_blocked_ranges(self):
        # Nothing listens there: a blocked address fails before connecting.
        for host in ("10.1.2.3", "192.168.1.1", "172.16.0.1", "169.254.169.254", "100.64.0.1",
                     "0.0.0.0", "224.0.0.1", "192.0.2.1", "[::1]", "[fe80::1]", "[fd00::1]"):
            with self.subTest(host=host):
                self.assertIn(self.BLOCKED, self.fails("get", "http://%s:9/" % host,
                                                       cfg={"timeout": 2000}))


def _can_add_alias():
    return os.geteuid() == 0 and subprocess.run(
        ["ip", "-4", "addr", "show", "dev", "lo"], capture_output=True).returncode == 0


@unittest.skipUnless(_can_add_alias(), "needs root and iproute2 to add %s to lo" % PUBLIC_ALIAS)
class TestRedirectToPrivate(HttpClientBase):
    """An allowed address (198.18.0.1, added to lo for the test and removed
    after) whose redirect points at loopback: the hop is checked too."""

    @classmethod
    def setUpClass(cls):
        have = PUBLIC_ALIAS in subprocess.run(["ip", "-4", "addr", "show", "dev", "lo"],
                                              capture_output=True, text=True).stdout
        if not have:
            subprocess.run(["ip", "addr", "add", PUBLIC_ALIAS + "/32", "dev", "lo"], check=True)
            cls.addClassCleanup(subprocess.run,
                                ["ip", "addr", "del", PUBLIC_ALIAS + "/32", "dev", "lo"])
        super().setUpClass()
        cls.P = "http://%s:%d" % (PUBLIC_ALIAS, cls.upstream.server_address[1])

    def test_allowed_address_reached(self):
        status, res = self.call("get", self.P + "/json")
        self.assertEqual(status, 200, res)
        self.assertEqual(res["data"]["message"], "hello")

    def test_redirect_within_allowed_address(self):
        status, res = self.call("get", self.P + "/redirect/2")
        self.assertEqual(status, 200, res)

    def test_redirect_to_loopback_blocked(self):
        err = self.fails("get", self.P + "/redirect-to?url=" + self.U + "/json")
        self.assertIn("http request blocked: private address", err)

    def test_redirect_to_loopback_with_opt_out(self):
        status, res = self.call("get", self.P + "/redirect-to?url=" + self.U + "/json",
                                cfg={"allow_private": True})
        self.assertEqual(status, 200, res)
        self.assertEqual(res["data"]["message"], "hello")


class TestSuspension(HttpClientBase):
    def test_two_calls_overlap_on_one_worker(self):
        # The upstream's barrier opens only when both calls are in flight
        # at once: one worker (--workers 1) serving them one after the other
        # would leave each alone at the barrier (504 after its timeout).
        results = []

        def one():
            r = self.server.get("/overlap")
            results.append((r.status, r.json()))

        threads = [threading.Thread(target=one) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(sorted(s for s, _ in results), [200, 200], results)
        self.assertEqual([b["status"] for _, b in results], [200, 200], results)

    def test_client_gone_cancels_the_upstream_request(self):
        ev = self.upstream.hold_event("gone")
        c = self.server.connect()
        c.sock.sendall(b"GET /hold/gone HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(self.upstream.arrived_event("gone").wait(10))
        c.close()  # the client leaves while its handler waits on the upstream
        self.assertTrue(ev.wait(10), "the upstream request was not cancelled")
        self.assertEqual(self.get("/overlap-alone-ok").status, 404)  # still serving

    def test_handler_timeout_cancels_the_upstream_request(self):
        ev = self.upstream.hold_event("timeout")
        r = self.get("/hold/timeout")
        self.assertEqual(r.status, 500)
        self.assertEqual(r.json(), {"error": "Handler timed out"})
        self.assertTrue(ev.wait(10), "the upstream request was not cancelled")


if __name__ == "__main__":
    unittest.main()

"""The request pipeline of server-features.md: §3 (request id, client
address, trusted proxies), §7 (body size limit), §8 (health probes, also
during the drain of §15), §14 (strict mode, https_redirect), §15a (rate
limiting) and the §0.2 type errors of some of the newer keys.

Apps: tests/apps/pipeline.lua (configured from PIPELINE_* variables),
pipeline_ratelimit.lua (RL_MODE, RL_KEY_HEADER), pipeline_redirect.lua
(REDIRECT_TRUSTED). Startup refusals use temporary apps and run_rover.

The test client always connects from 127.0.0.1. No sleeps and no timed
assertions: the drain test waits for log lines and responses, the rate-limit
tests rely only on the bucket sizes (a 60 s window refills one token every
12 s at the fastest, far longer than the requests of one test take).
"""

import json
import os
import re
import signal
import subprocess
import unittest

from harness import (BANNER_RE, CT_JSON, CT_TEXT, GENERATED_ID_RE, RoverServer,
                     RoverTestCase, build_request, run_rover, write_temp_app)

APP = "tests/apps/pipeline.lua"
RL_APP = "tests/apps/pipeline_ratelimit.lua"
REDIRECT_APP = "tests/apps/pipeline_redirect.lua"

EXIT_TIMEOUT = 15.0
TOO_MANY = b'{"error":"Too Many Requests"}'
NOT_ALLOWED = "Method Not Allowed"
PROBE_ALLOW = "GET, HEAD"
STRICT_HEAD = "❌ Invalid server startup config:"

MSG_HOST = ("strict_mode blocks host '%s'. Use localhost/127.0.0.1, "
            "or set allow_public_bind = true")
MSG_HTTPS = ("strict_mode requires https_redirect=true for public bind. "
             "Set https_redirect = true, or set allow_insecure_http = true")
MSG_BODY = ("strict_mode requires body_size_limit. Set a positive limit, "
            "or set allow_unbounded_body = true")
MSG_CORS = ("strict_mode blocks cors_origin='*' with cors_credentials=true. "
            "Set a specific origin, or set allow_wildcard_cors_credentials = true")
MSG_SECHDR = ("strict_mode requires security_headers=true. Set security_headers = true, "
              "or set allow_insecure_security_header_overrides = true")
MSG_HTTP2 = ("HTTP/2 requires TLS. Set tls = { cert_file = '...', key_file = '...' }, "
             "or set http2 = false")


def lines(data):
    return data.decode("utf-8", errors="replace").splitlines()


def start_server(testcase, app, **env):
    srv = RoverServer(app, env={k: str(v) for k, v in env.items()})
    testcase.addCleanup(srv.stop)
    srv.start()
    return srv


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/%d/status" % pid)


def without_date(resp):
    return [(k, v) for k, v in resp.headers if k.lower() != "date"]


# ---------------------------------------------------------------------------
# §3 request id


class RequestIdTest(RoverTestCase):
    APP = APP  # two workers, no trusted proxies

    def rid(self, value=None, conn=None):
        headers = [] if value is None else [("X-Request-ID", value)]
        r = (conn.request("GET", "/rid", headers=headers) if conn
             else self.get("/rid", headers=headers))
        self.assertStatus(r, 200)
        self.assertFalse(r.has("X-Request-ID"), r)
        body = r.json()
        self.assertEqual(body["hook_id"], body["id"], r)
        return body

    def test_valid_ids_are_kept(self):
        for value in ("abc-123", "x", "~" * 256,
                      "".join(chr(c) for c in range(0x21, 0x7F))):
            with self.subTest(value=value[:40]):
                self.assertEqual(self.rid(value)["id"], value)

    def test_kept_id_in_log_line(self):
        self.rid("trace-me-42")
        self.assertIsNotNone(self.server.wait_log(r" INFO \[trace-me-42\] GET /rid - 200 in "),
                             self.server.stdout.text()[-2000:])

    def test_invalid_ids_are_replaced(self):
        for value in ("", "x" * 257, "a b", "a\tb", b"caf\xc3\xa9", b"\x80\xff"):
            with self.subTest(value=value[:40]):
                got = self.rid(value)["id"]
                self.assertRegex(got, GENERATED_ID_RE)
                self.assertNotEqual(got, value)

    def test_generated_id_without_header(self):
        body = self.rid()
        self.assertRegex(body["id"], GENERATED_ID_RE)

    def test_generated_ids_unique_across_workers(self):
        ids, workers = [], set()
        per_conn, n_conns = 250, 12
        conns = [self.connect() for _ in range(n_conns)]
        for c in conns:
            c.send(build_request("GET", "/rid") * per_conn)
        for c in conns:
            for r in c.read_responses(per_conn):
                self.assertStatus(r, 200)
                self.assertFalse(r.has("X-Request-ID"), r)
                body = r.json()
                self.assertRegex(body["id"], GENERATED_ID_RE)
                ids.append(body["id"])
                workers.add(body["worker"])
        if workers != {1, 2}:
            # The kernel spread all 12 connections on one worker: try more.
            for _ in range(200):
                body = self.rid()
                ids.append(body["id"])
                workers.add(body["worker"])
                if workers == {1, 2}:
                    break
        self.assertEqual(workers, {1, 2}, "requests never reached both workers")
        self.assertEqual(len(ids), len(set(ids)), "duplicate generated request ids")


# ---------------------------------------------------------------------------
# §3 client address and trusted proxies


class ProxyTestBase(unittest.TestCase):
    maxDiff = None

    def whoami(self, srv, headers):
        r = srv.get("/whoami", headers=headers)
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertEqual(body["ip_alias"], body["ip"], body)
        self.assertEqual(body["proto_alias"], body["proto"], body)
        return body


class TrustedProxyTableTest(ProxyTestBase):
    """The four rows of the §3 table (peer 127.0.0.1 plays 10.0.0.5)."""

    @classmethod
    def setUpClass(cls):
        cls.srv = RoverServer(APP, env={"PIPELINE_TRUSTED": '{ "127.0.0.0/8", "10.0.0.0/8" }'})
        cls.addClassCleanup(cls.srv.stop)
        cls.srv.start()

    def test_row1_xff_chain_skips_trusted(self):
        xff = "203.0.113.1, 198.51.100.2, 10.0.0.9"
        b = self.whoami(self.srv, {"X-Forwarded-For": xff})
        self.assertEqual((b["ip"], b["proto"]), ("198.51.100.2", "http"))
        self.assertEqual(b["headers"]["x-forwarded-for"], xff)

    def test_row2_forwarded_wins_over_xff(self):
        b = self.whoami(self.srv, {"Forwarded": "for=203.0.113.20;proto=https",
                                   "X-Forwarded-For": "198.51.100.9"})
        self.assertEqual((b["ip"], b["proto"]), ("203.0.113.20", "https"))
        self.assertEqual(b["headers"]["forwarded"], "for=203.0.113.20;proto=https")
        self.assertEqual(b["headers"]["x-forwarded-for"], "198.51.100.9")

    def test_row3_forwarded_without_for_uses_xff(self):
        b = self.whoami(self.srv, {"Forwarded": "proto=https",
                                   "X-Forwarded-For": "198.51.100.9"})
        self.assertEqual((b["ip"], b["proto"]), ("198.51.100.9", "https"))

    def test_no_headers_peer_address(self):
        b = self.whoami(self.srv, {})
        self.assertEqual((b["ip"], b["proto"]), ("127.0.0.1", "http"))

    def test_address_forms(self):
        cases = [
            ({"X-Forwarded-For": "203.0.113.9:4711"}, "203.0.113.9"),
            ({"Forwarded": "for=203.0.113.9:4711"}, "203.0.113.9"),
            ({"Forwarded": 'for="[2001:db8::1]"'}, "2001:db8::1"),
            ({"Forwarded": 'for="[2001:db8::1]:4711"'}, "2001:db8::1"),
            ({"Forwarded": "for=[2001:db8::1]:4711"}, "2001:db8::1"),
            ({"Forwarded": 'for="198.51.100.7"'}, "198.51.100.7"),
            # several elements: walked from the right
            ({"Forwarded": "for=198.51.100.1, for=198.51.100.2"}, "198.51.100.2"),
            ({"Forwarded": "for=198.51.100.1, for=10.0.0.3"}, "198.51.100.1"),
            # obfuscated tokens are skipped
            ({"Forwarded": "for=198.51.100.1, for=unknown, for=_hidden"}, "198.51.100.1"),
            # Forwarded without a valid address: X-Forwarded-For is used
            ({"Forwarded": "for=unknown", "X-Forwarded-For": "198.51.100.3"}, "198.51.100.3"),
            # every address trusted: the leftmost
            ({"X-Forwarded-For": "10.0.0.1, 10.0.0.2, 127.0.0.5"}, "10.0.0.1"),
            ({"X-Forwarded-For": "unknown"}, "127.0.0.1"),
        ]
        for headers, ip in cases:
            with self.subTest(headers=headers):
                self.assertEqual(self.whoami(self.srv, headers)["ip"], ip)

    def test_scheme_forms(self):
        cases = [
            ({"Forwarded": "proto=HTTPS"}, "https"),
            ({"Forwarded": "for=198.51.100.1;proto=http", "X-Forwarded-Proto": "https"}, "http"),
            ({"X-Forwarded-Proto": "https"}, "https"),
            ({"X-Forwarded-Proto": "https, http"}, "https"),
            ({"Forwarded": "proto=gopher", "X-Forwarded-Proto": "https"}, "https"),
            ({"Forwarded": "proto=https, proto=http"}, "https"),
        ]
        for headers, proto in cases:
            with self.subTest(headers=headers):
                self.assertEqual(self.whoami(self.srv, headers)["proto"], proto)


class UntrustedPeerTest(ProxyTestBase):
    """Row 4: the peer is not in trusted_proxies = { "10.0.0.0/8" }."""

    @classmethod
    def setUpClass(cls):
        cls.srv = RoverServer(APP, env={"PIPELINE_TRUSTED": '{ "10.0.0.0/8" }'})
        cls.addClassCleanup(cls.srv.stop)
        cls.srv.start()

    def test_row4_spoofed_xff_ignored_and_removed(self):
        b = self.whoami(self.srv, {"X-Forwarded-For": "1.2.3.4"})
        self.assertEqual((b["ip"], b["proto"]), ("127.0.0.1", "http"))
        self.assertEqual(b["headers"], {"host": "localhost"})

    def test_all_forwarding_headers_removed(self):
        b = self.whoami(self.srv, {
            "Forwarded": "for=203.0.113.20;proto=https",
            "X-Forwarded-For": "203.0.113.21",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "evil.example",
            "X-Forwarded-Port": "443",
            "X-Custom": "kept",
        })
        self.assertEqual((b["ip"], b["proto"]), ("127.0.0.1", "http"))
        self.assertEqual(b["headers"], {"host": "localhost", "x-custom": "kept"})

    def test_no_proxies_configured(self):
        srv = start_server(self, APP, PIPELINE_WORKERS=1)
        b = self.whoami(srv, {"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https"})
        self.assertEqual((b["ip"], b["proto"]), ("127.0.0.1", "http"))
        self.assertEqual(b["headers"], {"host": "localhost"})


class TrustedProxyEntriesTest(ProxyTestBase):
    """Every entry form, trusting and not trusting 127.0.0.1."""

    XFF = {"X-Forwarded-For": "198.51.100.77", "X-Forwarded-Proto": "https"}

    def check(self, entries, trusted):
        srv = start_server(self, APP, PIPELINE_TRUSTED=entries, PIPELINE_WORKERS=1)
        b = self.whoami(srv, self.XFF)
        if trusted:
            self.assertEqual((b["ip"], b["proto"]), ("198.51.100.77", "https"), entries)
            self.assertEqual(b["headers"]["x-forwarded-for"], "198.51.100.77")
        else:
            self.assertEqual((b["ip"], b["proto"]), ("127.0.0.1", "http"), entries)
            self.assertEqual(b["headers"], {"host": "localhost"}, entries)
        srv.stop()

    def test_entry_forms(self):
        cases = [
            ('{ "127.0.0.0/8" }', True),
            ('{ "127.0.0.1/32" }', True),
            ('{ "127.0.0.1" }', True),
            ('{ "127.0.0.2" }', False),
            ('{ "127.0.0.1-127.0.0.1" }', True),
            ('{ "127.0.0.0-127.0.0.255" }', True),
            ('{ "127.0.0.2-127.0.0.255" }', False),
            ('{ { cidr = "127.0.0.0/24" } }', True),
            ('{ { cidr = "10.0.0.0/8" } }', False),
            ('{ { start = "127.0.0.1", to = "127.0.0.3" } }', True),
            ('{ { start = "127.0.0.2", to = "127.0.0.3" } }', False),
            ('{ { start = "126.0.0.0", ["end"] = "127.0.0.1" } }', True),
            ('{ { start = "126.0.0.0", ["end"] = "127.0.0.0" } }', False),
            ('{ "fd00::/8", "10.0.0.0/8", { cidr = "127.0.0.0/8" } }', True),
        ]
        for entries, trusted in cases:
            with self.subTest(entries=entries):
                self.check(entries, trusted)


# ---------------------------------------------------------------------------
# Startup errors (config types, trusted_proxies, readiness)


class StartupErrorTestBase(unittest.TestCase):
    maxDiff = None

    def run_app(self, config, args=()):
        d = write_temp_app(self, "local api = rover.server { %s }\n"
                                 "function api.get() return 'x' end\nreturn api\n" % config)
        p = run_rover(["app.lua"] + list(args), cwd=d, timeout=15)
        self.assertEqual(p.returncode, 1, p)
        self.assertIsNone(BANNER_RE.search(p.stdout.decode("utf-8", "replace")), p.stdout)
        err = lines(p.stderr)
        self.assertTrue(err, "no stderr output")
        return err


class ConfigErrorTest(StartupErrorTestBase):
    def test_new_key_type_errors(self):
        cases = [
            ("cors_origin = 5", "cors_origin should be a string"),
            ("rate_limit = 5", "rate_limit should be a table"),
            ("management_prefix = 'x'",
             "management_prefix must start with '/' and must not be '/'"),
            ("management_prefix = '/'",
             "management_prefix must start with '/' and must not be '/'"),
            ("management_token = ''", "management_token must be a non-empty string"),
        ]
        for config, message in cases:
            with self.subTest(config=config):
                self.assertEqual(self.run_app(config)[0], "❌ Error: " + message)

    def test_readiness_dependency_not_boolean(self):
        for value in ("'yes'", "1", "{}"):
            with self.subTest(value=value):
                err = self.run_app("readiness = { dependencies = { db = %s } }" % value)
                self.assertTrue(err[0].startswith("❌ Error: "), err)
                self.assertIn("db", err[0])

    def test_invalid_trusted_proxies_string_entries(self):
        for entry in ("nope", "10.0.0.0/33", "10.0.0.300", "10.0.0.1-", "10.0.0.1-zz",
                      "2001:db8::/129", ""):
            with self.subTest(entry=entry):
                err = self.run_app("trusted_proxies = { '127.0.0.1', %s }" % json.dumps(entry))
                self.assertEqual(err[0], "❌ Error: Invalid trusted_proxies entry: " + entry)

    def test_invalid_trusted_proxies_table_entries(self):
        for entry in ('{ cidr = "x" }', '{ cidr = "10.0.0.0/40" }', '{ start = "10.0.0.1" }',
                      '{ start = "10.0.0.1", to = "zz" }', '{ ["end"] = "10.0.0.1" }',
                      '{ start = "bad", ["end"] = "10.0.0.1" }', '{}'):
            with self.subTest(entry=entry):
                err = self.run_app("trusted_proxies = { %s }" % entry)
                self.assertTrue(err[0].startswith("❌ Error: Invalid trusted_proxies entry: "),
                                err)


# ---------------------------------------------------------------------------
# §7 body size limit


class BodyLimitTest(RoverTestCase):
    APP = APP

    @classmethod
    def setUpClass(cls):
        unittest.TestCase.setUpClass()
        cls.server = RoverServer(APP, env={"PIPELINE_LIMIT": "4096", "PIPELINE_WORKERS": "1"})
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def assert413(self, c, n, limit=4096):
        r = c.read_response()
        self.assertJSONBytes(r, 413, ('{"error":"Request body too large: %d bytes exceeds '
                                      'limit of %d bytes"}' % (n, limit)))
        self.assertEqual(r.header_all("Connection"), ["close"], r)
        self.assertEqual(c.read_until_eof(), b"")

    def test_exactly_the_limit_accepted(self):
        c = self.connect()
        self.assertJSON(c.request("POST", "/upload", body=b"a" * 4096), 200, {"length": 4096})
        # The connection stays usable.
        self.assertJSON(c.request("POST", "/upload", body=b"b" * 10), 200, {"length": 10})

    def test_one_byte_more_rejected(self):
        c = self.connect()
        c.send(build_request("POST", "/upload", body=b"a" * 4097))
        self.assert413(c, 4097)

    def test_rejected_on_any_path_and_method(self):
        for method, target in (("PUT", "/nowhere"), ("GET", "/healthz"), ("DELETE", "/")):
            with self.subTest(method=method, target=target):
                c = self.connect()
                c.send(build_request(method, target, body=b"z" * 5000))
                self.assert413(c, 5000)

    def test_chunked_exactly_the_limit_accepted(self):
        c = self.connect()
        c.send(b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"800\r\n" + b"a" * 2048 + b"\r\n800\r\n" + b"b" * 2048 + b"\r\n0\r\n\r\n")
        self.assertJSON(c.read_response(), 200, {"length": 4096})

    def test_chunked_over_the_limit(self):
        c = self.connect()
        c.send(b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"1000\r\n" + b"a" * 4096 + b"\r\n1\r\nb\r\n0\r\n\r\n")
        r = c.read_response()
        self.assertStatus(r, 413)
        self.assertContentType(r, CT_JSON)
        self.assertEqual(r.header_all("Connection"), ["close"], r)
        m = re.match(r"^Request body too large: (\d+) bytes exceeds limit of 4096 bytes$",
                     r.json()["error"])
        self.assertIsNotNone(m, r)
        self.assertGreater(int(m.group(1)), 4096)
        self.assertLessEqual(int(m.group(1)), 4097)
        self.assertEqual(list(r.json()), ["error"])


class DefaultBodyLimitTest(unittest.TestCase):
    def test_default_limit_is_1_mib(self):
        srv = start_server(self, APP, PIPELINE_WORKERS=1)
        c = srv.connect()
        self.addCleanup(c.close)
        r = c.request("POST", "/upload", body=b"a" * 1048576)
        self.assertEqual((r.status, r.json()), (200, {"length": 1048576}), r)
        c.send(build_request("POST", "/upload", headers={"Content-Length": "1048577"}))
        r = c.read_response()
        self.assertEqual(r.status, 413, r)
        self.assertEqual(r.body, b'{"error":"Request body too large: 1048577 bytes exceeds '
                                 b'limit of 1048576 bytes"}')
        self.assertEqual(r.header_all("Connection"), ["close"], r)

    def test_unbounded_body(self):
        srv = start_server(self, APP, PIPELINE_WORKERS=1, PIPELINE_LIMIT=0,
                           PIPELINE_UNBOUNDED=1)
        n = 3 * 1048576 + 7
        r = srv.request("POST", "/upload", body=b"q" * n)
        self.assertEqual((r.status, r.json()), (200, {"length": n}), r)


# ---------------------------------------------------------------------------
# §8 health probes


class ProbeTest(RoverTestCase):
    APP = APP

    @classmethod
    def setUpClass(cls):
        unittest.TestCase.setUpClass()
        cls.server = RoverServer(APP, env={
            "PIPELINE_DEPS": "{ zeta = false, alpha = false, mid = true, beta = false }"})
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    NOT_READY = ('{"status":"not_ready","reasons":['
                 '{"code":"dependency_unavailable","dependency":"alpha"},'
                 '{"code":"dependency_unavailable","dependency":"beta"},'
                 '{"code":"dependency_unavailable","dependency":"zeta"}]}')

    def test_healthz_ignores_dependencies(self):
        self.assertJSONBytes(self.get("/healthz"), 200, '{"status":"ok"}')

    def test_readyz_lists_failed_dependencies_sorted(self):
        self.assertJSONBytes(self.get("/readyz"), 503, self.NOT_READY)

    def test_query_ignored(self):
        self.assertJSONBytes(self.get("/healthz?verbose=1&x"), 200, '{"status":"ok"}')
        self.assertJSONBytes(self.get("/readyz?full=true"), 503, self.NOT_READY)

    def test_head_same_status_and_headers_no_body(self):
        for path, status in (("/healthz", 200), ("/readyz", 503)):
            with self.subTest(path=path):
                c = self.connect()
                g = c.request("GET", path)
                h = c.request("HEAD", path)
                self.assertEqual(h.status, status, h)
                self.assertEqual(g.status, status, g)
                self.assertEqual(without_date(h), without_date(g))
                self.assertEqual(h.header_all("Content-Length"), [str(len(g.body))])
                self.assertEqual(h.body, b"")
                # Nothing was sent after the HEAD response's head.
                self.assertJSONBytes(c.request("GET", "/healthz"), 200, '{"status":"ok"}')

    def test_other_methods_405(self):
        for path in ("/healthz", "/readyz"):
            for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
                with self.subTest(method=method, path=path):
                    body = b"{}" if method in ("POST", "PUT", "PATCH") else None
                    r = self.request(method, path, body=body)
                    self.assertText(r, 405, NOT_ALLOWED)
                    self.assertEqual(r.header_all("Allow"), [PROBE_ALLOW], r)

    def test_probes_shadow_app_routes(self):
        # The app has GET /healthz, POST /healthz and GET /readyz routes.
        self.assertJSONBytes(self.get("/healthz"), 200, '{"status":"ok"}')
        self.assertJSONBytes(self.get("/readyz"), 503, self.NOT_READY)
        r = self.request("POST", "/healthz", body=b"x")
        self.assertText(r, 405, NOT_ALLOWED)

    def test_no_middleware_for_probes(self):
        # The app's before hook answers 418 to X-Block requests ...
        r = self.get("/worker", headers={"X-Block": "1"})
        self.assertJSON(r, 418, {"blocked_by": "middleware"})
        # ... but not for probes, which also do not count as middleware runs.
        before = self.get("/middleware_runs").json()["runs"]
        self.assertJSONBytes(self.get("/healthz", headers={"X-Block": "1"}), 200,
                             '{"status":"ok"}')
        self.assertJSONBytes(self.get("/readyz", headers={"X-Block": "1"}), 503, self.NOT_READY)
        self.assertEqual(self.request("HEAD", "/healthz", headers={"X-Block": "1"}).status, 200)
        self.assertEqual(self.request("DELETE", "/readyz", headers={"X-Block": "1"}).status, 405)
        after = self.get("/middleware_runs").json()["runs"]
        self.assertEqual(after, before + 1)  # only the second /middleware_runs


class ReadyProbeTest(unittest.TestCase):
    maxDiff = None

    def test_ready_when_all_dependencies_up(self):
        srv = start_server(self, APP, PIPELINE_DEPS="{ database = true, queue = true }")
        r = srv.get("/readyz")
        self.assertEqual((r.status, r.body), (200, b'{"status":"ready"}'), r)
        self.assertEqual(r.header_all("Content-Type"), [CT_JSON])
        r = srv.request("HEAD", "/readyz")
        self.assertEqual((r.status, r.body), (200, b""), r)
        self.assertEqual(r.header_all("Content-Length"), ["18"])

    def test_ready_without_dependencies(self):
        srv = start_server(self, APP)
        r = srv.get("/readyz")
        self.assertEqual((r.status, r.body), (200, b'{"status":"ready"}'), r)

    def test_readyz_with_body_during_drain(self):
        # A /readyz whose head was received before SIGTERM and whose body
        # arrives during the drain is answered during the drain.
        srv = start_server(self, APP, PIPELINE_WORKERS=1)
        c = srv.connect()
        self.addCleanup(c.close)
        c.send(b"GET /readyz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
               b"Expect: 100-continue\r\n\r\n")
        interim = c.read_response(skip_1xx=False)
        self.assertEqual(interim.status, 100, interim)
        c.send(b"01234")
        srv.proc.send_signal(signal.SIGTERM)
        self.assertIsNotNone(srv.wait_log(r"^SHUTDOWN HOOK ran$"), srv.stdout.text())
        c.send(b"56789")
        r = c.read_response()
        self.assertEqual((r.status, r.body), (503, b'{"status":"not_ready"}'), r)
        self.assertEqual(r.header_all("Content-Type"), [CT_JSON], r)
        self.assertEqual(r.header_all("Connection"), ["close"], r)
        self.assertEqual(c.read_until_eof(), b"")
        try:
            self.assertEqual(srv.proc.wait(EXIT_TIMEOUT), 0)
        except subprocess.TimeoutExpired:
            self.fail("rover still running after the drain\n" + srv.stdout.text()[-2000:])

    def test_pipelined_request_behind_the_drain_is_not_started(self):
        # The request in flight when the drain begins is completed with
        # Connection: close (§15 step 3), so a request pipelined behind it
        # cannot be answered on that connection: the connection ends there.
        srv = start_server(self, APP, PIPELINE_WORKERS=1)
        c = srv.connect()
        self.addCleanup(c.close)
        self.assertEqual(c.request("GET", "/readyz").body, b'{"status":"ready"}')
        c.send(build_request("GET", "/hold") + build_request("GET", "/readyz"))
        self.assertIsNotNone(srv.wait_log(r"^HOLD 1$"), srv.stdout.text())
        srv.proc.send_signal(signal.SIGTERM)
        held = c.read_response()
        self.assertEqual((held.status, held.body), (200, b"released"), held)
        self.assertEqual(held.header_all("Connection"), ["close"], held)
        self.assertEqual(c.read_until_eof(), b"")
        try:
            self.assertEqual(srv.proc.wait(EXIT_TIMEOUT), 0)
        except subprocess.TimeoutExpired:
            self.fail("rover still running after the drain\n" + srv.stdout.text()[-2000:])


# ---------------------------------------------------------------------------
# §15a rate limiting


class RateLimitTestBase(unittest.TestCase):
    maxDiff = None

    def start(self, **env):
        return start_server(self, RL_APP, **env)

    def conn(self, srv):
        c = srv.connect()
        self.addCleanup(c.close)
        return c

    def assertPassed(self, r, status, body, limit, remaining=None):
        self.assertEqual((r.status, r.body), (status, body), r)
        self.assertEqual(r.header_all("RateLimit-Limit"), [str(limit)], r)
        rem = r.header_all("RateLimit-Remaining")
        self.assertEqual(len(rem), 1, r)
        self.assertRegex(rem[0], r"^\d+$")
        if remaining is not None:
            self.assertEqual(rem[0], str(remaining), r)
        reset = r.header_all("RateLimit-Reset")
        self.assertEqual(len(reset), 1, r)
        self.assertRegex(reset[0], r"^\d+$")
        return int(rem[0])

    def assertLimited(self, r, max_retry):
        self.assertEqual(r.status, 429, r)
        self.assertEqual(r.body, TOO_MANY, r)
        self.assertEqual(r.header_all("Content-Type"), [CT_JSON], r)
        ra = r.header_all("Retry-After")
        self.assertEqual(len(ra), 1, r)
        self.assertRegex(ra[0], r"^\d+$")
        self.assertGreaterEqual(int(ra[0]), 1, r)
        self.assertLessEqual(int(ra[0]), max_retry, r)

    def workers_of(self, srv, wanted=7, key_header="X-Key"):
        """Opens keep-alive connections until ``wanted`` are open and both
        workers have some; returns {worker id: [connections]}. Each probe
        request uses its own key, so it draws from a bucket of its own."""
        by_worker = {1: [], 2: []}
        for i in range(300):
            c = self.conn(srv)
            r = c.request("GET", "/worker", headers={key_header: "discover-%d" % i})
            self.assertEqual(r.status, 200, r)
            by_worker[r.json()["worker"]].append(c)
            if (by_worker[1] and by_worker[2]
                    and len(by_worker[1]) + len(by_worker[2]) >= wanted):
                return by_worker
        self.fail("300 connections never reached both workers")


class GlobalRateLimitTest(RateLimitTestBase):
    def test_limit_shared_by_two_workers(self):
        srv = self.start(RL_KEY_HEADER="X-Key")
        by_worker = self.workers_of(srv, wanted=8)
        # Five connections, at least one on each worker, then three more.
        first = [by_worker[1][0], by_worker[2][0]]
        rest = by_worker[1][1:] + by_worker[2][1:]
        conns = first + rest[:3]
        later = rest[3:]
        self.assertGreaterEqual(len(later), 1)
        served = set()
        remaining = []
        for c in conns:
            r = c.request("GET", "/worker", headers={"X-Key": "main"})
            self.assertEqual(r.status, 200, r)
            served.add(r.json()["worker"])
            remaining.append(self.assertPassed(r, 200, r.body, 5))
        self.assertEqual(served, {1, 2})
        self.assertEqual(remaining, [4, 3, 2, 1, 0])
        # The sixth, on a new connection and again on each worker: 429.
        self.assertLimited(later[0].request("GET", "/worker", headers={"X-Key": "main"}), 12)
        for w in (1, 2):
            with self.subTest(worker=w):
                r = by_worker[w][0].request("GET", "/", headers={"X-Key": "main"})
                self.assertLimited(r, 12)

    def test_keyed_by_client_address(self):
        srv = self.start()
        for i in range(5):
            r = srv.get("/")
            self.assertPassed(r, 200, b"root", 5, remaining=4 - i)
        self.assertLimited(srv.get("/"), 12)
        self.assertLimited(srv.get("/other"), 12)  # one bucket for every route
        self.assertLimited(srv.get("/no/such/route"), 12)

    def test_probes_not_limited(self):
        srv = self.start()
        for i in range(5):
            self.assertEqual(srv.get("/").status, 200)
        self.assertLimited(srv.get("/"), 12)
        for _ in range(10):
            r = srv.get("/healthz")
            self.assertEqual((r.status, r.body), (200, b'{"status":"ok"}'), r)
            self.assertFalse(r.has("RateLimit-Limit"), r)
            self.assertFalse(r.has("Retry-After"), r)
            r = srv.get("/readyz")
            self.assertEqual((r.status, r.body), (200, b'{"status":"ready"}'), r)
            self.assertFalse(r.has("RateLimit-Remaining"), r)

    def test_probes_do_not_use_tokens(self):
        srv = self.start()
        for _ in range(20):
            self.assertEqual(srv.get("/healthz").status, 200)
            self.assertEqual(srv.request("HEAD", "/readyz").status, 200)
        self.assertPassed(srv.get("/"), 200, b"root", 5, remaining=4)

    def test_429_before_middleware(self):
        srv = self.start(RL_KEY_HEADER="X-Key")
        runs = srv.get("/middleware_runs", headers={"X-Key": "reader-1"}).json()["runs"]
        for i in range(5):
            self.assertEqual(srv.get("/", headers={"X-Key": "m"}).status, 200)
        for i in range(4):
            self.assertLimited(srv.get("/", headers={"X-Key": "m"}), 12)
        after = srv.get("/middleware_runs", headers={"X-Key": "reader-2"}).json()["runs"]
        self.assertEqual(after, runs + 5 + 1)

    def test_key_header_separate_buckets(self):
        srv = self.start(RL_KEY_HEADER="X-Key")
        for i in range(5):
            self.assertPassed(srv.get("/", headers={"X-Key": "alice"}), 200, b"root", 5,
                              remaining=4 - i)
        self.assertLimited(srv.get("/", headers={"X-Key": "alice"}), 12)
        # Another value: a bucket of its own.
        self.assertPassed(srv.get("/", headers={"X-Key": "bob"}), 200, b"root", 5, remaining=4)
        self.assertPassed(srv.get("/", headers={"x-key": "bob"}), 200, b"root", 5, remaining=3)
        # Without the header: the client address's bucket.
        self.assertPassed(srv.get("/"), 200, b"root", 5, remaining=4)
        self.assertLimited(srv.get("/", headers={"X-Key": "alice"}), 12)

    def test_flood_of_distinct_keys_keeps_memory_bounded(self):
        srv = self.start(RL_KEY_HEADER="X-Key")
        conns = [self.conn(srv) for _ in range(4)]
        batch = 250

        def flood(prefix, total):
            sent = 0
            while sent < total:
                for c in conns:
                    reqs = b"".join(build_request("GET", "/", headers={
                        "X-Key": "%s-%d" % (prefix, sent + i)}) for i in range(batch))
                    c.send(reqs)
                    sent += batch
                for c in conns:
                    for r in c.read_responses(batch):
                        self.assertEqual((r.status, r.body), (200, b"root"), r)
                        self.assertEqual(r.header_all("RateLimit-Remaining"), ["4"], r)

        flood("warmup", 2000)
        before = rss_kib(srv.proc.pid)
        flood("flood", 20000)
        after = rss_kib(srv.proc.pid)
        self.assertLess(after - before, 64 * 1024,
                        "RSS grew from %d KiB to %d KiB" % (before, after))
        # Still serving, and still limiting.
        for i in range(5):
            self.assertPassed(srv.get("/", headers={"X-Key": "after"}), 200, b"root", 5,
                              remaining=4 - i)
        self.assertLimited(srv.get("/", headers={"X-Key": "after"}), 12)
        self.assertEqual(srv.get("/healthz").status, 200)


class ScopedRateLimitTest(RateLimitTestBase):
    """global 100 / 60 s; /login 2, /users/{id} 3, /admin/* 1, /loose 1000."""

    def test_scoped_login_tighter_than_global(self):
        srv = self.start(RL_MODE="scoped")
        self.assertPassed(srv.get("/login"), 200, b"login", 2, remaining=1)
        self.assertPassed(srv.request("POST", "/login", body=b""), 200, b"login post", 2,
                          remaining=0)
        self.assertLimited(srv.get("/login"), 30)
        # Other paths only see the global bucket.
        self.assertPassed(srv.get("/other"), 200, b"other", 100)
        self.assertLimited(srv.get("/login?x=1"), 30)

    def test_looser_scope_reports_global(self):
        srv = self.start(RL_MODE="scoped")
        self.assertPassed(srv.get("/other"), 200, b"other", 100, remaining=99)
        self.assertPassed(srv.get("/loose"), 200, b"loose", 100, remaining=98)

    def test_path_pattern_with_parameter(self):
        srv = self.start(RL_MODE="scoped")
        self.assertPassed(srv.get("/users/1"), 200, b"user 1", 3, remaining=2)
        self.assertPassed(srv.get("/users/2"), 200, b"user 2", 3, remaining=1)
        self.assertPassed(srv.get("/users/abc"), 200, b"user abc", 3, remaining=0)
        self.assertLimited(srv.get("/users/4"), 20)
        # /users/{id}/posts is a different pattern.
        self.assertPassed(srv.get("/users/1/posts"), 200, b"posts of 1", 100)

    def test_prefix_pattern(self):
        srv = self.start(RL_MODE="scoped")
        self.assertPassed(srv.get("/admin/a"), 200, b"admin a", 1, remaining=0)
        self.assertLimited(srv.get("/admin/b/c"), 60)
        self.assertLimited(srv.get("/admin/a"), 60)
        # /administrator is not below /admin/.
        self.assertPassed(srv.get("/administrator"), 200, b"administrator", 100)


# ---------------------------------------------------------------------------
# §14 strict mode


class StrictModeTest(StartupErrorTestBase):
    def assertRefused(self, config, messages, args=()):
        err = self.run_app(config, args)
        self.assertEqual(err[0], STRICT_HEAD, err)
        body = err[1:]
        for line in body:
            self.assertTrue(line.startswith("   - "), err)
        self.assertEqual(sorted(l[5:] for l in body), sorted(messages), err)

    def assertStarts(self, config, args=("--port", "0")):
        d = write_temp_app(self, "local api = rover.server { log_level = 'info', %s }\n"
                                 "function api.get() return 'started' end\nreturn api\n"
                                 % config)
        srv = RoverServer(argv=["app.lua"] + list(args), cwd=d)
        self.addCleanup(srv.stop)
        srv.start()
        r = srv.get("/")
        self.assertEqual((r.status, r.body), (200, b"started"), r)
        self.assertNotIn(STRICT_HEAD, srv.stderr.text())
        self.assertEqual(srv.stop(), 0)
        return srv

    def test_each_rule(self):
        cases = [
            ("host = '0.0.0.0', port = 0", MSG_HOST % "0.0.0.0"),
            ("host = '0.0.0.0', port = 0, allow_public_bind = true", MSG_HTTPS),
            ("body_size_limit = 0", MSG_BODY),
            ("body_size_limit = -1", MSG_BODY),
            ("cors_origin = '*', cors_credentials = true", MSG_CORS),
            ("security_headers = false", MSG_SECHDR),
            ("http2 = true", MSG_HTTP2),
        ]
        for config, message in cases:
            with self.subTest(config=config):
                self.assertRefused(config, [message])

    def test_several_violations_listed_together(self):
        self.assertRefused(
            "host = '0.0.0.0', port = 0, body_size_limit = 0, cors_origin = '*', "
            "cors_credentials = true, security_headers = false, http2 = true",
            [MSG_HOST % "0.0.0.0", MSG_BODY, MSG_CORS, MSG_SECHDR, MSG_HTTP2])
        self.assertRefused(
            "host = '0.0.0.0', port = 0, allow_public_bind = true, body_size_limit = -5",
            [MSG_HTTPS, MSG_BODY])

    def test_cli_host_override_checked(self):
        self.assertRefused("port = 0", [MSG_HOST % "0.0.0.0"], args=("--host", "0.0.0.0"))
        self.assertRefused("port = 0, allow_public_bind = true", [MSG_HTTPS],
                           args=("--host", "0.0.0.0"))

    def test_cli_host_override_can_satisfy_rules(self):
        self.assertStarts("host = '0.0.0.0'", args=("--port", "0", "--host", "127.0.0.1"))

    def test_loopback_hosts_allowed(self):
        for host in ("localhost", "127.0.0.1", "127.1.2.3"):
            with self.subTest(host=host):
                srv = self.assertStarts("host = '%s'" % host)
                self.assertEqual(srv.banner_host, host)

    def test_escape_hatches(self):
        for config in (
                "host = '0.0.0.0', allow_public_bind = true, allow_insecure_http = true",
                "host = '0.0.0.0', allow_public_bind = true, https_redirect = true, "
                "trusted_proxies = { '127.0.0.0/8' }",
                "body_size_limit = 0, allow_unbounded_body = true",
                "cors_origin = '*', cors_credentials = true, "
                "allow_wildcard_cors_credentials = true",
                "security_headers = false, allow_insecure_security_header_overrides = true",
                "cors_origin = 'https://a.example', cors_credentials = true"):
            with self.subTest(config=config):
                if "https_redirect" in config:
                    # GET / would be redirected; the request goes through
                    # the trusted proxy as https.
                    d = write_temp_app(self, "local api = rover.server { log_level = 'info', "
                                             "%s }\nfunction api.get() return 'started' end\n"
                                             "return api\n" % config)
                    srv = RoverServer(argv=["app.lua", "--port", "0"], cwd=d)
                    self.addCleanup(srv.stop)
                    srv.start()
                    r = srv.get("/", headers={"X-Forwarded-Proto": "https"})
                    self.assertEqual((r.status, r.body), (200, b"started"), r)
                    self.assertEqual(srv.stop(), 0)
                else:
                    self.assertStarts(config)

    def test_strict_mode_false_skips_rules(self):
        self.assertStarts("strict_mode = false, host = '0.0.0.0', body_size_limit = 0, "
                          "cors_origin = '*', cors_credentials = true, "
                          "security_headers = false, http2 = true")

    def test_strict_mode_false_keeps_type_errors(self):
        err = self.run_app("strict_mode = false, cors_origin = 5")
        self.assertEqual(err[0], "❌ Error: cors_origin should be a string")
        err = self.run_app("strict_mode = false, trusted_proxies = { 'nope' }")
        self.assertEqual(err[0], "❌ Error: Invalid trusted_proxies entry: nope")


class HttpsRedirectTest(RoverTestCase):
    @classmethod
    def setUpClass(cls):
        unittest.TestCase.setUpClass()
        cls.server = RoverServer(REDIRECT_APP, env={"REDIRECT_TRUSTED": "1"})
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def assertRedirect(self, r, location):
        self.assertStatus(r, 308)
        self.assertEqual(r.header_all("Location"), [location], r)
        self.assertEqual(r.body, b"")
        self.assertIn(r.header_all("Content-Length"), ([], ["0"]), r)

    def test_redirects_with_host_and_target(self):
        cases = [
            ("GET", "/page?x=1&y=%20z", "example.com:8443",
             "https://example.com:8443/page?x=1&y=%20z"),
            ("GET", "/", "example.com", "https://example.com/"),
            ("POST", "/page", "api.example", "https://api.example/page"),
            ("GET", "/no/such/route", "example.com", "https://example.com/no/such/route"),
            ("HEAD", "/page", "example.com", "https://example.com/page"),
        ]
        for method, target, host, location in cases:
            with self.subTest(method=method, target=target):
                r = self.request(method, target, headers={"Host": host},
                                 body=b"" if method == "POST" else None)
                self.assertRedirect(r, location)

    def test_probes_exempt(self):
        r = self.get("/healthz", headers={"Host": "example.com"})
        self.assertJSONBytes(r, 200, '{"status":"ok"}')
        r = self.get("/readyz", headers={"Host": "example.com"})
        self.assertJSONBytes(r, 200, '{"status":"ready"}')

    def test_request_without_host_exempt(self):
        c = self.connect()
        c.send(b"GET /page HTTP/1.0\r\n\r\n")
        self.assertText(c.read_response(), 200, "page http")

    def test_http_1_0_with_host_redirected(self):
        c = self.connect()
        c.send(b"GET /page HTTP/1.0\r\nHost: example.com\r\n\r\n")
        self.assertRedirect(c.read_response(), "https://example.com/page")

    def test_https_behind_trusted_proxy_not_redirected(self):
        for headers in ({"X-Forwarded-Proto": "https"}, {"Forwarded": "proto=https"},
                        {"Forwarded": "for=198.51.100.1;proto=HTTPS"}):
            with self.subTest(headers=headers):
                self.assertText(self.get("/page", headers=headers), 200, "page https")

    def test_http_behind_trusted_proxy_redirected(self):
        r = self.get("/page", headers={"Host": "example.com", "X-Forwarded-Proto": "http"})
        self.assertRedirect(r, "https://example.com/page")

    def test_untrusted_forwarded_proto_redirected(self):
        srv = start_server(self, REDIRECT_APP)
        r = srv.get("/page", headers={"Host": "example.com", "X-Forwarded-Proto": "https"})
        self.assertRedirect(r, "https://example.com/page")
        r = srv.get("/page", headers={"Host": "example.com", "Forwarded": "proto=https"})
        self.assertRedirect(r, "https://example.com/page")


if __name__ == "__main__":
    unittest.main()

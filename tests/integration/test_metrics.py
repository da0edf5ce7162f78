"""GET <management_prefix>/metrics (issue 14 item 6): the Prometheus text
exposition of what the workers counted, under the docs endpoints' token rules
(server-features.md §13; test_openapi.py). The output is parsed with the
Prometheus project's own parser (prometheus_client, tests/tools/parse_prometheus.py),
and the counts are compared with what was sent over two workers."""

import json
import re
import subprocess
import threading
import time
import unittest

import pgcluster
from wsclient import WsClient
from harness import (CT_JSON, CT_TEXT, LOG_TIME, PROMETHEUS_PARSER, RoverServer,
                     prometheus_python)

TOKEN = "metrics-token-42"
UNAUTH_BODY = {"error": "Management endpoint requires auth token"}
CT_METRICS = "text/plain; version=0.0.4; charset=utf-8"
METRICS = "/_rover/metrics"
WARN_NO_TOKEN_RE = (r"^" + LOG_TIME +
                    r" WARN metrics enabled but no management_token set; metrics are unreachable$")
APP = "tests/apps/metrics.lua"
PUBLISH_WAIT = 1.3  # a worker publishes its gauges once a second


def bearer(token=TOKEN):
    return {"Authorization": "Bearer " + token}


def parse(testcase, body):
    exe, problem = prometheus_python()
    if problem:
        raise AssertionError(problem)
    p = subprocess.run([exe, str(PROMETHEUS_PARSER)], input=body, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    testcase.assertEqual(p.returncode, 0, "%s\n%s" % (p.stderr.decode(errors="replace"),
                                                       body.decode(errors="replace")))
    return json.loads(p.stdout)


class Scrape:
    """One parsed exposition."""

    def __init__(self, families, text):
        self.families = {f["name"]: f for f in families}
        self.text = text

    def samples(self, name):
        return [(s["labels"], s["value"]) for f in self.families.values()
                for s in f["samples"] if s["name"] == name]

    def requests(self, route, method=None, status=None):
        n = 0
        for labels, v in self.samples("rover_http_requests_total"):
            if labels["route"] == route and method in (None, labels["method"]) and \
                    status in (None, labels["status"]):
                n += v
        return n

    def histogram(self, route):
        """({le: cumulative}, in the exposition's order), _count, _sum."""
        buckets = [(l["le"], v) for l, v in self.samples("rover_http_request_duration_seconds_bucket")
                   if l["route"] == route]
        count = [v for l, v in self.samples("rover_http_request_duration_seconds_count")
                 if l["route"] == route]
        total = [v for l, v in self.samples("rover_http_request_duration_seconds_sum")
                 if l["route"] == route]
        return buckets, (count[0] if count else 0), (total[0] if total else 0)

    def gauge(self, name):
        return {l.get("worker", ""): v for l, v in self.samples(name)}


def skip_without_parser():
    _, problem = prometheus_python()
    if problem:
        raise unittest.SkipTest(problem)


class MetricsTest(unittest.TestCase):
    """tests/apps/metrics.lua: two workers, a token."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        skip_without_parser()
        cls.server = RoverServer(APP, env={"M_TOKEN": TOKEN})
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def get(self, target, **kw):
        return self.server.get(target, **kw)

    def scrape(self, conn=None):
        r = (conn.request("GET", METRICS, headers=bearer()) if conn
             else self.get(METRICS, headers=bearer()))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header_all("Content-Type"), [CT_METRICS], r)
        self.assertEqual(r.header_all("Content-Length"), [str(len(r.body))], r)
        return Scrape(parse(self, r.body), r.text)

    # -- token rules (as the docs endpoints') ------------------------------

    def assertUnauthorized(self, r, head=False):
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.header_all("WWW-Authenticate"), ["Bearer"], r)
        self.assertEqual(r.header_all("Content-Type"), [CT_JSON], r)
        if not head:
            self.assertEqual(r.json(), UNAUTH_BODY)

    def test_no_token_401(self):
        for method in ("GET", "HEAD"):
            with self.subTest(method=method):
                self.assertUnauthorized(self.server.request(method, METRICS),
                                        head=method == "HEAD")

    def test_wrong_tokens_401(self):
        for headers in ({"Authorization": "Bearer nope"}, {"Authorization": "Basic " + TOKEN},
                        {"Authorization": "Bearer " + TOKEN + "x"},
                        {"X-Rover-Management-Token": "nope"}):
            with self.subTest(headers=headers):
                self.assertUnauthorized(self.get(METRICS, headers=headers))
        self.assertUnauthorized(self.get(METRICS + "?token=" + TOKEN))

    def test_either_token_header(self):
        for headers in (bearer(), {"Authorization": "bearer " + TOKEN},
                        {"X-Rover-Management-Token": TOKEN}):
            with self.subTest(headers=headers):
                r = self.get(METRICS, headers=headers)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.header_all("Content-Type"), [CT_METRICS])
                self.assertIn(b"# TYPE rover_http_requests_total counter", r.body)

    def test_head_and_other_methods(self):
        r = self.server.request("HEAD", METRICS, headers=bearer())
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"")
        r = self.server.request("POST", METRICS, headers=bearer(), body="")
        self.assertEqual(r.status, 405, r)
        self.assertEqual(r.header_all("Allow"), ["GET, HEAD"])

    def test_other_paths_under_prefix_routed_normally(self):
        for path in ("/_rover/metrics/", "/_rover/METRICS", "/_rover/metrics/x"):
            with self.subTest(path=path):
                r = self.get(path, headers=bearer())
                self.assertEqual((r.status, r.body), (404, b"Route not found"), r)

    # -- what is counted ---------------------------------------------------

    def test_counts_summed_over_workers(self):
        before = self.scrape()
        sent = {}  # (route, method, class) -> n

        def send(method, target, status, route, body=None):
            r = self.server.request(method, target, body=body)
            self.assertEqual(r.status, status, r)
            key = (route, method, "%dxx" % (status // 100))
            sent[key] = sent.get(key, 0) + 1
            return r

        # Fresh connections: the kernel spreads them over both workers' sockets.
        workers = set()
        for _ in range(200):
            workers.add(send("GET", "/worker", 200, "/worker").json()["id"])
            if workers == {1, 2} and sent[("/worker", "GET", "2xx")] >= 10:
                break
        self.assertEqual(workers, {1, 2}, "both workers served requests")
        for i in range(12):
            send("GET", "/items/%d" % i, 200, "/items/{id}")
        for _ in range(3):
            send("HEAD", "/items/x", 200, "/items/{id}")
            send("PUT", "/items/y", 200, "/items/{id}", body="")
            send("POST", "/items", 201, "/items", body="{}")
        for _ in range(4):
            send("GET", "/fail", 500, "/fail")
        for _ in range(5):
            send("GET", "/nope/%d" % _, 404, "(unmatched)")
        send("DELETE", "/items/1", 405, "(unmatched)")
        for _ in range(3):
            send("GET", "/slow", 200, "/slow")
        send("GET", "/", 200, "/")

        after = self.scrape()
        # The first scrape is counted too (the second counts once it is queued).
        sent[("(unmatched)", "GET", "2xx")] = sent.get(("(unmatched)", "GET", "2xx"), 0) + 1
        got = {}
        for (route, method, cls) in sent:
            got[(route, method, cls)] = (after.requests(route, method, cls) -
                                         before.requests(route, method, cls))
        self.assertEqual(got, sent)
        for route in ("/worker", "/items/{id}", "/items", "/fail", "/slow", "/"):
            with self.subTest(route=route):
                n = sum(v for (r, _, _), v in sent.items() if r == route)
                buckets, count, _ = after.histogram(route)
                _, count0, _ = before.histogram(route)
                self.assertEqual(count - count0, n)
                # one series per pattern (GET, HEAD and PUT /items/{id} share it)
                self.assertEqual([l["le"] for l, _ in after.samples(
                    "rover_http_request_duration_seconds_bucket") if l["route"] == route
                    and l["le"] == "+Inf"], ["+Inf"])
        # /slow waits 50 ms in rover.delay: none of it is under 25 ms.
        buckets, count, total = after.histogram("/slow")
        b0 = dict(before.histogram("/slow")[0])
        le = dict(buckets)
        self.assertEqual(le["0.025"] - b0.get("0.025", 0), 0, buckets)
        self.assertEqual(le["+Inf"], count)
        self.assertGreaterEqual(total - before.histogram("/slow")[2], 3 * 0.05)

    def test_histograms_well_formed(self):
        for i in range(5):
            self.get("/items/%d" % i)
        s = self.scrape()
        routes = {l["route"] for l, _ in s.samples("rover_http_request_duration_seconds_bucket")}
        self.assertIn("/items/{id}", routes)
        self.assertEqual(s.families["rover_http_request_duration_seconds"]["type"], "histogram")
        self.assertEqual(s.families["rover_http_requests"]["type"], "counter")
        for route in routes:
            with self.subTest(route=route):
                buckets, count, total = s.histogram(route)
                les = [le for le, _ in buckets]
                self.assertEqual(les[-1], "+Inf")
                bounds = [float(le) for le in les[:-1]]
                self.assertEqual(bounds, sorted(bounds))
                values = [v for _, v in buckets]
                self.assertEqual(values, sorted(values), "cumulative buckets never decrease")
                self.assertEqual(values[-1], count, "+Inf is the count")
                self.assertEqual(count, s.requests(route), "one observation per request")
                self.assertGreaterEqual(total, 0)

    def test_gauges(self):
        # Idle keep-alive connections, a waiting handler, rover.shared entries.
        idle = [self.server.connect() for _ in range(6)]
        try:
            for c in idle:
                self.assertEqual(c.request("GET", "/").status, 200)
            for k in ("a", "b", "c"):
                self.assertEqual(self.server.request("PUT", "/shared/" + k, body="").status, 200)
            held = {}
            conn = self.server.connect()

            def hold():
                held["r"] = conn.request("GET", "/hold?ms=2500")
            t = threading.Thread(target=hold)
            t.start()
            time.sleep(PUBLISH_WAIT)  # every worker has published since
            with self.server.connect() as c:
                s = self.scrape(c)
            t.join(10)
            conn.close()
            self.assertEqual(held["r"].status, 200)
        finally:
            for c in idle:
                c.close()
        conns = s.gauge("rover_open_connections")
        self.assertEqual(sorted(conns), ["1", "2"])
        # the 6 idle ones, the waiting one and the scrape's own
        self.assertGreaterEqual(sum(conns.values()), 8, s.text)
        self.assertGreaterEqual(sum(s.gauge("rover_suspended_requests").values()), 1, s.text)
        lua = s.gauge("rover_lua_memory_bytes")
        self.assertEqual(sorted(lua), ["1", "2"])
        for w, v in lua.items():
            self.assertGreater(v, 10000, w)
        self.assertEqual(sorted(s.gauge("rover_websocket_connections")), ["1", "2"])
        self.assertGreaterEqual(s.gauge("rover_shared_entries")[""], 3)
        self.assertNotIn("rover_db_pool_connections", s.families)  # no database
        for f in s.families.values():
            self.assertTrue(f["documentation"], f["name"])

    def test_websockets(self):
        before = self.scrape()
        clients = [WsClient(self.server.host, self.server.port, "/live") for _ in range(3)]
        try:
            for c in clients:
                self.assertEqual(c.recv_json()["type"], "hello")
            time.sleep(PUBLISH_WAIT)
            s = self.scrape()
        finally:
            for c in clients:
                c.close()
        self.assertEqual(sum(s.gauge("rover_websocket_connections").values()), 3, s.text)
        self.assertEqual(s.requests("/live", "GET", "1xx") - before.requests("/live", "GET", "1xx"),
                         3)
        self.assertGreaterEqual(sum(s.gauge("rover_open_connections").values()), 4)

    def test_connections_gauge_during_scrape(self):
        # The scraping worker publishes before it renders: its own connection counts.
        s = self.scrape()
        self.assertGreaterEqual(sum(s.gauge("rover_open_connections").values()), 1)


class MetricsPostgresTest(unittest.TestCase):
    """The database pool's gauges (tests/apps/metrics_pg.lua, a private cluster)."""

    @classmethod
    def setUpClass(cls):
        skip_without_parser()
        if not pgcluster.available():
            raise unittest.SkipTest("PostgreSQL is not installed (initdb/psql not found)")
        cls.pg = pgcluster.PgCluster().start()
        cls.addClassCleanup(cls.pg.stop)
        cls.server = RoverServer("tests/apps/metrics_pg.lua", env={"PG_URL": cls.pg.url})
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def test_pool_gauges(self):
        for _ in range(10):
            r = self.server.get("/q")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json(), {"one": 1})
        r = self.server.get(METRICS, headers=bearer())
        s = Scrape(parse(self, r.body), r.text)
        open_ = s.samples("rover_db_pool_connections")
        cap = s.samples("rover_db_pool_max_connections")
        self.assertEqual([l for l, _ in open_], [{"pool": "1", "database": "postgres"}], s.text)
        self.assertGreaterEqual(open_[0][1], 1)
        self.assertLessEqual(open_[0][1], 3)
        self.assertEqual(cap, [({"pool": "1", "database": "postgres"}, 3)])
        self.assertEqual(s.requests("/q", "GET", "2xx"), 10)


class MetricsConfigTest(unittest.TestCase):
    """Configuration variants of tests/apps/metrics.lua."""

    @classmethod
    def setUpClass(cls):
        skip_without_parser()

    def serve(self, ready_line=None, **env):
        server = RoverServer(APP, env=env, ready_line=ready_line)
        self.addCleanup(server.stop)
        server.start()
        return server

    def test_metrics_off_routed_normally(self):
        server = self.serve(M_METRICS="false", M_TOKEN=TOKEN)
        r = server.get(METRICS, headers=bearer())
        self.assertEqual((r.status, r.body), (404, b"Route not found"), r)
        self.assertEqual(r.header_all("Content-Type"), [CT_TEXT])

    def test_no_token_unreachable(self):
        server = self.serve()
        self.assertIsNotNone(server.wait_log(WARN_NO_TOKEN_RE), server.stdout.text())
        for headers in ({}, {"Authorization": "Bearer "}, {"X-Rover-Management-Token": ""}):
            with self.subTest(headers=headers):
                r = server.get(METRICS, headers=headers)
                self.assertEqual(r.status, 401, r)
                self.assertEqual(r.json(), UNAUTH_BODY)
        self.assertEqual(server.get("/items/7").json(), {"id": "7"})

    def test_unauthenticated_opt_out(self):
        server = self.serve(M_UNAUTH="true")
        r = server.get(METRICS)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header_all("Content-Type"), [CT_METRICS])
        parse(self, r.body)
        self.assertFalse([l for l in server.stdout.lines() if "metrics are unreachable" in l])

    def test_with_docs(self):
        server = self.serve(M_DOCS="true", M_TOKEN=TOKEN)
        self.assertEqual(server.get("/_rover/openapi.json", headers=bearer()).status, 200)
        self.assertEqual(server.get("/_rover/docs", headers=bearer()).status, 200)
        r = server.get(METRICS, headers=bearer())
        self.assertEqual(r.status, 200, r)
        s = Scrape(parse(self, r.body), r.text)
        self.assertEqual(s.requests("(unmatched)", "GET", "2xx"), 2)  # the docs' two

    def test_without_logging(self):
        # Requests are timed for metrics even when no log line needs it.
        server = self.serve(M_TOKEN=TOKEN, M_LOG="nope", ready_line=r"^READY$")
        for i in range(3):
            self.assertEqual(server.get("/items/%d" % i).status, 200)
        r = server.get(METRICS, headers=bearer())
        s = Scrape(parse(self, r.body), r.text)
        self.assertEqual(s.requests("/items/{id}", "GET", "2xx"), 3)
        buckets, count, _ = s.histogram("/items/{id}")
        self.assertEqual(count, 3)
        self.assertEqual(dict(buckets)["+Inf"], 3)


if __name__ == "__main__":
    unittest.main()

"""Idempotency keys (server-features.md §12): api.idempotent with the memory
backend shared by both workers (tests/apps/idempotency.lua)."""

import unittest

from harness import RoverTestCase

JSON = {"Content-Type": "application/json"}


class IdempotencyTest(RoverTestCase):
    APP = "tests/apps/idempotency.lua"

    def pay(self, key, body=b'{"amount":5}'):
        headers = dict(JSON)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.request("POST", "/payments", headers=headers, body=body)

    def counts(self):
        return self.get("/counts").json()

    def test_replay_byte_for_byte_across_workers(self):
        first = self.pay("pay-1")
        self.assertEqual(first.status, 201, first)
        run = first.json()["run"]
        workers = set()
        for _ in range(12):  # fresh connections land on both workers
            r = self.pay("pay-1")
            self.assertEqual((r.status, r.body), (first.status, first.body), r)
            self.assertEqual(r.header_all("X-Run"), [str(run)])
            self.assertEqual(r.header_all("Set-Cookie"), ["a=1", "b=2"])
            self.assertEqual(r.header_all("Content-Type"), ["application/json"])
            workers.add(self.counts()["worker"])
        self.assertEqual(workers, {1, 2})
        self.assertEqual(self.counts()["runs"], run)  # the handler ran once for this key

    def test_different_payload_is_409(self):
        self.assertEqual(self.pay("pay-2").status, 201)
        r = self.pay("pay-2", b'{"amount":6}')
        self.assertJSON(r, 409, {"error": "Idempotency key already used with different payload"})

    def test_no_key_runs_every_time(self):
        before = self.counts()["runs"]
        for key in (None, ""):
            self.assertEqual(self.pay(key).status, 201)
        self.assertEqual(self.counts()["runs"], before + 2)

    def test_key_too_long_is_400(self):
        self.assertJSON(self.pay("k" * 256), 400, {"error": "Invalid idempotency key"})
        self.assertEqual(self.pay("k" * 255).status, 201)

    def test_middleware_sees_replays(self):
        self.pay("pay-3")
        before = self.counts()["before"]
        self.pay("pay-3")
        self.assertEqual(self.counts()["before"], before + 2)  # the replay and /counts

    def test_running_first_request_makes_a_retry_409(self):
        c = self.server.connect()
        self.addCleanup(c.close)
        c.send(b"POST /refunds HTTP/1.1\r\nHost: x\r\nX-Refund-Key: r1\r\nContent-Length: 0\r\n\r\n")
        # the first request is in its handler once refund_runs is 1 (polled
        # with requests: each is answered at once)
        for _ in range(10000):
            if self.counts()["refund_runs"] == 1:
                break
        self.assertEqual(self.counts()["refund_runs"], 1)
        r = self.request("POST", "/refunds", headers={"X-Refund-Key": "r1"})
        self.assertJSON(r, 409, {"error": "Idempotency key is already being processed"})
        self.request("POST", "/release")
        first = c.read_response()
        self.assertEqual((first.status, first.body), (200, b"refunded 1"), first)
        again = self.request("POST", "/refunds", headers={"X-Refund-Key": "r1"})
        self.assertEqual((again.status, again.body), (200, b"refunded 1"), again)

    def test_errors_and_5xx_are_not_stored(self):
        r = self.request("POST", "/fails", headers={"Idempotency-Key": "f1"})
        self.assertEqual(r.status, 500)
        r = self.request("POST", "/fails", headers={"Idempotency-Key": "f1"})
        self.assertJSON(r, 500, {"run": 2})  # ran again: the error was not stored
        r = self.request("POST", "/fails", headers={"Idempotency-Key": "f1"})
        self.assertJSON(r, 500, {"run": 3})  # nor the 500

    def test_plain_results_are_stored(self):
        a = self.get("/plain", headers={"Idempotency-Key": "g1"})
        b = self.get("/plain", headers={"Idempotency-Key": "g1"})
        self.assertEqual((a.status, a.body), (b.status, b.body))
        self.assertEqual(a.header_all("Content-Type"), b.header_all("Content-Type"))


class IdempotencyConfigTest(unittest.TestCase):
    def test_sqlite_backend_needs_a_path(self):
        from harness import run_rover
        import tempfile, os
        with tempfile.TemporaryDirectory() as d:
            app = os.path.join(d, "app.lua")
            with open(app, "w") as f:
                f.write('local api = rover.server { idempotency = { backend = "sqlite" } }\n'
                        "return api\n")
            r = run_rover([app])
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr.decode().splitlines()[0],
                             "❌ Error: idempotency.sqlite_path is required for backend 'sqlite'")


if __name__ == "__main__":
    unittest.main()

"""lua-api.md §3: worker threads, rover.worker, rover.shared."""

import threading
import unittest

from harness import RoverTestCase

SHARED_TYPE_MSG = "rover.shared values must be string, number or boolean"


class WorkersTest(RoverTestCase):
    APP = "tests/apps/workers.lua"

    def parallel(self, connections, per_connection, method, path):
        """Runs connections x per_connection requests; returns decoded bodies."""
        results = []
        errors = []
        lock = threading.Lock()
        start = threading.Barrier(connections)

        def worker():
            try:
                with self.server.connect() as c:
                    start.wait(timeout=30)
                    for _ in range(per_connection):
                        r = c.request(method, path)
                        if r.status != 200:
                            raise AssertionError("status %d: %r" % (r.status, r.body))
                        with lock:
                            results.append(r.json())
            except Exception as e:  # reported below
                with lock:
                    errors.append(repr(e))
        threads = [threading.Thread(target=worker) for _ in range(connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), connections * per_connection)
        return results

    def test_worker_ids_and_count(self):
        seen = set()
        for connections in (50, 100, 150, 200):
            for d in self.parallel(connections, 1, "GET", "/id"):
                self.assertEqual(d["count"], 2)
                self.assertEqual(d["load_count"], 2)
                self.assertEqual(d["load_id"], d["id"])
                seen.add(d["id"])
            if seen == {1, 2}:
                break
        self.assertEqual(seen, {1, 2})

    def test_shared_incr_is_atomic_across_workers(self):
        ids = set()
        total = 0
        for round_, connections in enumerate((50, 100, 150)):
            key = "concurrent-%d" % round_
            results = self.parallel(connections, 4, "POST", "/incr/" + key)
            total = connections * 4
            self.assertEqual(sorted(d["value"] for d in results), list(range(1, total + 1)))
            r = self.get("/value/" + key)
            self.assertJSON(r, 200, {"value": total, "type": "number"})
            ids = {d["id"] for d in results}
            if ids == {1, 2}:
                break
        self.assertEqual(ids, {1, 2}, "increments did not come from both workers")

    def test_shared_value_seen_by_all_workers(self):
        r = self.request("PUT", "/value/visible", body=b"hello shared")
        self.assertStatus(r, 200)
        seen = self.parallel(40, 1, "GET", "/value/visible")
        for d in seen:
            self.assertEqual(d, {"value": "hello shared", "type": "string"})

    def test_shared_semantics(self):
        r = self.get("/semantics")
        self.assertJSON(r, 200, {
            "missing_is_nil": True,
            "str": "v",
            "num": 2.5,
            "bool_false": False,
            "bool_type": "boolean",
            "replaced": "replaced",
            "ttl_value": "with ttl",
            "add_new": True,
            "add_again": False,
            "add_value": "first",
            "add_ttl": True,
            "incr_init": 15,
            "incr_more": 17,
            "incr_negative": 10,
            "incr_float": 10.5,
            "keys": ["sem:add", "sem:add_ttl", "sem:ctr", "sem:false", "sem:num",
                     "sem:str", "sem:ttl"],
            "deleted_is_nil": True,
            "add_after_delete": True,
            "keys_after_has_str": True,
            "keys_after_has_num": False,
        })

    def test_shared_rejects_tables(self):
        r = self.get("/shared_table")
        self.assertStatus(r, 500)
        self.assertContentType(r, "application/json")
        msg = r.json()["error"]
        self.assertTrue(msg.endswith(SHARED_TYPE_MSG), msg)
        d = self.get("/shared_table_caught").json()
        self.assertEqual(sorted(d), ["add", "fn", "set"])
        for name, message in d.items():
            with self.subTest(op=name):
                self.assertIn(SHARED_TYPE_MSG, message)


if __name__ == "__main__":
    unittest.main()

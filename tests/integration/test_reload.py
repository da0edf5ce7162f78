"""Reload without dropping connections (issue 14): SIGHUP and `rover --watch`
load the new version of the app into new workers, which take over the same
listening sockets; the old workers finish their in-flight requests and exit.
Proved by 20 reloads under concurrent load with zero failed requests; a
version that fails to load leaves the running one serving, with the error
logged.

The app is written by the test into a temporary directory, one version at a
time (VERSION = n).
"""

import os
import signal
import socket
import tempfile
import threading
import time
import unittest

from harness import IO_TIMEOUT, RoverServer

APP_TEMPLATE = """
local api = rover.server { workers = 2, log_level = "info", drain_timeout_secs = 10 }
local VERSION = %d
function api.version.get(ctx)
  return { version = VERSION, worker = rover.worker.id, slow = rover.shared:get("slow") or 0 }
end
function api.slow.get(ctx)
  rover.shared:incr("slow", 1, 0)
  rover.delay(tonumber(ctx:query().ms) or 500)
  return { version = VERSION, slow = true }
end
return api
"""

BROKEN = """
local api = rover.server { workers = 2 }
function api.version.get(ctx) return { version = "broken" } end
this is not lua
return api
"""


def http_get(host, port, path, timeout=IO_TIMEOUT):
    """One GET on a fresh connection: (status, body bytes)."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return status, body


def version_of(body):
    import json
    return json.loads(body)["version"]


class ReloadTestCase(unittest.TestCase):
    ARGS = ()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="rover-reload-")
        self.app = os.path.join(self.dir, "app.lua")
        self.write(1)
        self.server = RoverServer(self.app, args=self.ARGS, cwd=self.dir)
        self.server.start()
        self.addCleanup(self.server.stop)

    def write(self, version, text=None):
        tmp = self.app + ".tmp"
        with open(tmp, "w") as f:
            f.write(text if text is not None else APP_TEMPLATE % version)
        os.replace(tmp, self.app)  # what editors do: the whole file at once

    def get(self, path):
        return http_get(self.server.host, self.server.port, path)

    def wait_version(self, version, deadline_s=15):
        """Polls until every answer is the new version (both workers): True, or False at the deadline."""
        end = time.monotonic() + deadline_s
        streak = 0
        while time.monotonic() < end:
            status, body = self.get("/version")
            if status == 200 and version_of(body) == version:
                streak += 1
                if streak >= 6:
                    return True
            else:
                streak = 0
        return False

    def reload(self):
        self.server.proc.send_signal(signal.SIGHUP)


class SighupReloadTest(ReloadTestCase):
    def test_twenty_reloads_under_load_without_a_failed_request(self):
        stop = threading.Event()
        failures, counts = [], [0]
        lock = threading.Lock()

        def load():
            while not stop.is_set():
                try:
                    status, body = self.get("/version")
                    ok = status == 200 and isinstance(version_of(body), int)
                except Exception as e:  # refused, reset, timeout
                    ok, status = False, repr(e)
                with lock:
                    counts[0] += 1
                    if not ok:
                        failures.append(status)

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            for v in range(2, 22):
                self.write(v)
                self.reload()
                self.assertTrue(self.wait_version(v), "version %d never served" % v)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(failures, [])
        self.assertGreater(counts[0], 200)
        self.assertEqual(len([l for l in self.server.stdout.lines() if "🔄 Reloaded" in l]), 20)

    def test_in_flight_requests_finish_on_the_old_version(self):
        result = {}

        def slow():
            result["r"] = self.get("/slow?ms=800")

        t = threading.Thread(target=slow)
        start = len(self.server.stdout.lines())
        t.start()
        # the slow request has reached its handler before the reload
        deadline = time.monotonic() + IO_TIMEOUT
        import json
        while time.monotonic() < deadline:
            status, body = self.get("/version")
            if json.loads(body)["slow"] >= 1:
                break
        self.write(2)
        self.reload()
        self.assertTrue(self.wait_version(2))
        t.join(IO_TIMEOUT)
        status, body = result["r"]
        self.assertEqual(status, 200)
        self.assertEqual(version_of(body), 1)

    def test_a_broken_version_leaves_the_old_one_serving(self):
        start = len(self.server.stdout.lines())
        self.write(0, BROKEN)
        self.reload()
        self.assertTrue(self.server.wait_log(r"ERROR Reload of .*app\.lua failed; still serving",
                                             start=start))
        self.assertTrue(any("app.lua:4" in l for l in self.server.stdout.lines()[start:]),
                        self.server.stdout.text())
        for _ in range(6):
            status, body = self.get("/version")
            self.assertEqual((status, version_of(body)), (200, 1))
        self.write(3)  # and a good one after it is taken
        self.reload()
        self.assertTrue(self.wait_version(3))

    def test_changing_the_port_is_refused(self):
        start = len(self.server.stdout.lines())
        self.write(0, (APP_TEMPLATE % 5).replace("workers = 2", "workers = 1"))
        self.reload()
        self.assertTrue(self.server.wait_log(r"Reload of .* refused: host, port and workers",
                                             start=start))
        self.assertEqual(version_of(self.get("/version")[1]), 1)


class WatchReloadTest(ReloadTestCase):
    ARGS = ("--watch",)

    def test_a_saved_file_is_served_without_a_signal(self):
        self.assertTrue(self.server.wait_log(r"Watching .*app\.lua for changes"))
        self.write(7)
        self.assertTrue(self.wait_version(7))
        with open(os.path.join(self.dir, "notes.txt"), "w") as f:  # not a .lua file
            f.write("x")
        self.write(8)
        self.assertTrue(self.wait_version(8))


if __name__ == "__main__":
    unittest.main()

"""rover.db with SQLite, direct SQL (runtime-modules.md §9 and "Suspension"):
types and NULLs, parameters, exec counts, transactions, errors, the default
path, data shared by the workers, and locks held by another process.

App: tests/apps/db_sqlite.lua, with its database in a temporary directory
($DB_PATH). The test process opens the same file with Python's sqlite3 to
read what the server wrote, to write what the server reads, and to hold the
write lock (BEGIN IMMEDIATE) while the server's statements meet it.

No sleeps as synchronisation: a request is known to be waiting from the line
its handler prints before the statement (the statement runs right after it,
in the same run), and "the worker did not sleep" is shown by other requests
answered while that response has not arrived. The only timed assertions are
the 5 s limit on a lock (with a generous upper bound) and "a lock released
after 1 s", where the 1 s is the time the test holds the lock, spent waiting
on the waiting request's socket.
"""

import os
import re
import select
import shutil
import socket
import sqlite3
import struct
import tempfile
import time
import unittest

from harness import REPO_ROOT, RoverServer, build_request, run_rover

APP = str(REPO_ROOT / "tests" / "apps" / "db_sqlite.lua")
LOCKED = "db error: database is locked"
POSITION = r"^(.+:\d+: )?"
EXIT_TIMEOUT = 15.0


def readable(sock, timeout):
    """True when bytes (or EOF) can be read from ``sock`` within ``timeout`` s."""
    r, _, _ = select.select([sock], [], [], timeout)
    return bool(r)


class DbCase(unittest.TestCase):
    """One server per class, its database in a fresh temporary directory,
    which is also its working directory."""

    WORKERS = 1
    ENV = {}
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dir = tempfile.mkdtemp(prefix="rover-db-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.db_path = os.path.join(cls.dir, "app.sqlite")
        cls.server = RoverServer(APP, args=["--workers", str(cls.WORKERS)], cwd=cls.dir,
                                 env=dict(cls.ENV, DB_PATH=cls.db_path))
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def connect(self):
        c = self.server.connect()
        self.addCleanup(c.close)
        return c

    def get(self, target):
        return self.server.get(target)

    def get_json(self, target, status=200):
        r = self.get(target)
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.header("Content-Type"), "application/json", r)
        return r.json()

    def assertDbError(self, resp, message):
        """A 500 whose error is ``message``, after error()'s position if any."""
        self.assertEqual(resp.status, 500, resp)
        self.assertRegex(resp.json()["error"], POSITION + re.escape(message) + "$")

    def sqlite(self):
        """The test's own connection to the server's database (autocommit)."""
        con = sqlite3.connect(self.db_path, timeout=10, isolation_level=None)
        self.addCleanup(con.close)
        return con

    def hold_lock(self):
        """A connection holding the database's write lock until it commits."""
        con = self.sqlite()
        con.execute("BEGIN IMMEDIATE")
        return con

    def names(self, con, prefix):
        return [r[0] for r in con.execute(
            "SELECT name FROM items WHERE name LIKE ? ORDER BY id", (prefix + "%",))]

    def wait_line(self, line, start=0):
        found = self.server.wait_log("^" + re.escape(line) + "$", start=start)
        self.assertIsNotNone(found, "missing %r\n%s" % (line, self.server.stdout.text()[-2000:]))
        return found[0] + 1


class DirectSqlTest(DbCase):
    """db:query, db:exec, db:transaction on one worker."""

    def test_engine_and_the_file_in_wal_mode(self):
        self.assertEqual(self.get_json("/ping"), {"worker": 1, "engine": "sqlite"})
        mode = self.sqlite().execute("PRAGMA journal_mode").fetchone()[0]
        self.assertEqual(mode, "wal")

    def test_row_values_and_null_absent(self):
        self.assertEqual(self.get_json("/types"), {
            "count": 1, "keys": ["b", "big", "empty", "i", "neg", "r", "t"],
            "i": 42, "neg": -7, "r": 2.5, "t": "héllo", "b_hex": "00ff41", "b_type": "string",
            "i_type": "number", "r_type": "number", "n_present": False,
            "big": "9007199254740992", "empty": ""})

    def test_parameters_are_bound_never_interpolated(self):
        body = self.get_json("/params")
        self.assertEqual(body["row"], {
            "s": "str", "i": 42, "f": 1.5, "yes": 1, "no": 0,
            "tn": "null", "tb": "integer", "ti": "integer", "tf": "real", "ts": "text",
            "injected": "'); DROP TABLE items; --"})
        self.assertNotIn("n", body["keys"])  # nil bound as NULL: the column is absent
        self.assertEqual(self.get_json("/params_nil"), {"a": "integer", "b": "null"})
        self.assertEqual(self.get_json("/items/list?name=nothing")["worker"], 1)  # table intact

    def test_a_table_parameter_raises(self):
        self.assertDbError(self.get("/bind_table"), "db error: cannot bind a table")
        self.assertDbError(self.get("/bind_table_exec"), "db error: cannot bind a table")

    def test_exec_returns_the_rows_changed(self):
        self.assertEqual(self.get_json("/counts?tag=c1"), {
            "insert": 3, "update": 2, "none": 0, "ddl": 0, "select": 0, "delete": 3})

    def test_writes_are_seen_by_another_process_and_back(self):
        self.assertEqual(self.get_json("/items/add?name=xp1&qty=3&price=1.25&note=hi"),
                         {"changed": 1, "worker": 1})
        con = self.sqlite()
        row = con.execute("SELECT name, qty, price, note FROM items WHERE name = 'xp1'").fetchall()
        self.assertEqual(row, [("xp1", 3, 1.25, "hi")])
        con.execute("INSERT INTO items (name, qty) VALUES ('xp2', 7)")
        rows = self.get_json("/items/list?name=xp2")["rows"]
        self.assertEqual(len(rows), 1)
        self.assertEqual({k: v for k, v in rows[0].items() if k != "id"}, {"name": "xp2", "qty": 7})

    def test_transaction_commits_and_returns_the_functions_values(self):
        self.assertEqual(self.get_json("/tx/commit?name=t_ok"),
                         {"a": 2, "b": "two", "c_is_nil": True})
        rows = self.get_json("/items/list?name=t_ok")["rows"]
        self.assertEqual([r["qty"] for r in rows], [1, 2])
        self.assertEqual(self.names(self.sqlite(), "t_ok"), ["t_ok", "t_ok"])

    def test_transaction_rolls_back_and_reraises(self):
        self.assertEqual(self.get_json("/tx/rollback?name=t_rb"),
                         {"ok": False, "code": "custom", "seen": 0})
        r = self.get("/tx/raise?name=t_raise")
        self.assertEqual(r.status, 500, r)
        self.assertRegex(r.json()["error"], POSITION + "raised inside the transaction$")
        self.assertEqual(self.get_json("/items/list?name=t_rb")["rows"], {})  # empty table
        self.assertEqual(self.get_json("/items/list?name=t_raise")["rows"], {})
        self.assertEqual(self.names(self.sqlite(), "t_r"), [])
        # The connection is free again.
        self.assertEqual(self.get_json("/items/add?name=t_after")["changed"], 1)

    def test_engine_errors_raise_db_error_with_sqlites_message(self):
        self.assertDbError(self.get("/bad/syntax"), 'db error: near "SELEC": syntax error')
        self.assertDbError(self.get("/bad/table"), "db error: no such table: nowhere")
        self.assertDbError(self.get("/bad/constraint"),
                           "db error: NOT NULL constraint failed: items.name")
        body = self.get_json("/bad/caught")
        self.assertFalse(body["ok"])
        self.assertRegex(body["err"], POSITION + re.escape('db error: near "SELEC": syntax error') + "$")
        self.assertEqual(self.get_json("/ping")["worker"], 1)

    def test_a_path_that_cannot_be_opened_fails_at_first_use(self):
        missing = self.db_path + ".d/missing/x.sqlite"
        for _ in range(2):  # tried again, failing again
            self.assertDbError(self.get("/bad/path"),
                               "db error: connection failed: unable to open database file (%s)"
                               % missing)

    def test_default_path_is_rover_sqlite_in_the_working_directory(self):
        self.assertEqual(self.get_json("/default_path"), {"path": "rover.sqlite", "n": 1})
        con = sqlite3.connect(os.path.join(self.dir, "rover.sqlite"))
        self.addCleanup(con.close)
        self.assertEqual(con.execute("SELECT count(*) FROM here").fetchone()[0], 1)


class LockTest(DbCase):
    """Locks held by another process, on one worker: the statement waits
    suspended, the worker serves its other requests meanwhile."""

    def test_database_is_locked_after_5_s_and_the_worker_serves_others_meanwhile(self):
        hold = self.hold_lock()
        hold.execute("INSERT INTO items (name) VALUES ('lk5_other')")
        w = self.connect()
        started = time.monotonic()
        w.send(build_request("GET", "/locked_write?name=lk5"))
        self.wait_line("WRITE START lk5")
        c = self.connect()
        pings, worst, last_ping = 0, 0.0, 0.0
        while not readable(w.sock, 0.05):
            t0 = time.monotonic()
            r = c.request("GET", "/ping")
            worst = max(worst, time.monotonic() - t0)
            self.assertEqual(r.status, 200, r)
            pings += 1
            if pings % 10 == 0:  # reads go on too (WAL): the other process's row is not committed
                self.assertEqual(c.request("GET", "/read_count").json()["worker"], 1)
            last_ping = time.monotonic() - started
            self.assertLess(last_ping, 15, "the locked write never answered")
        resp = w.read_response()
        elapsed = time.monotonic() - started
        self.assertDbError(resp, LOCKED)
        self.assertGreaterEqual(elapsed, 4.9)
        self.assertLess(elapsed, 8.0)
        # Answered all along the 5 s, each at once.
        self.assertGreater(pings, 20)
        self.assertGreater(last_ping, 4.0)
        self.assertLess(worst, 1.0)
        self.assertNotIn("WRITE DONE lk5", self.server.stdout.text())
        hold.execute("COMMIT")
        self.assertEqual(self.names(self.sqlite(), "lk5"), ["lk5_other"])
        self.assertEqual(self.get_json("/locked_write?name=lk5_later")["changed"], 1)

    def test_a_lock_released_after_1_s_lets_the_waiting_write_succeed(self):
        hold = self.hold_lock()
        hold.execute("INSERT INTO items (name) VALUES ('lk1_first')")
        w = self.connect()
        started = time.monotonic()
        w.send(build_request("GET", "/locked_write?name=lk1_second"))
        self.wait_line("WRITE START lk1_second")
        self.assertEqual(self.get_json("/ping")["worker"], 1)
        self.assertFalse(readable(w.sock, 1.0))  # the lock is held for 1 s: no answer meanwhile
        hold.execute("COMMIT")
        resp = w.read_response()
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json(), {"changed": 1, "worker": 1})
        self.assertLess(time.monotonic() - started, 4.5)
        self.assertEqual(self.names(self.sqlite(), "lk1"), ["lk1_first", "lk1_second"])

    def test_a_client_gone_while_its_write_waits_leaves_the_server_healthy(self):
        for how in ("fin", "rst"):
            with self.subTest(how=how):
                gone, after = "gone_" + how, "gone_after_" + how
                hold = self.hold_lock()
                a = self.connect()
                a.send(build_request("GET", "/locked_write?name=" + gone))
                mark = self.wait_line("WRITE START " + gone)
                if how == "rst":
                    a.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                a.close()
                b = self.connect()
                b.send(build_request("GET", "/locked_write?name=" + after))
                self.wait_line("WRITE START " + after, start=mark)
                hold.execute("COMMIT")
                resp = b.read_response()
                self.assertEqual(resp.status, 200, resp)
                # Armed after the abandoned write's retries (at most 50 ms apart)
                # and longer: had that request lived on, it would have written by now.
                self.assertEqual(self.get_json("/ping_after?ms=200")["worker"], 1)
                self.assertNotIn("WRITE DONE " + gone, self.server.stdout.text())
                self.assertEqual(self.names(self.sqlite(), "gone_"), [after])
                self.sqlite().execute("DELETE FROM items WHERE name LIKE 'gone_%'")
                self.assertEqual(self.get_json("/items/add?name=gone_ok")["changed"], 1)
                self.sqlite().execute("DELETE FROM items WHERE name LIKE 'gone_%'")

    def test_a_client_gone_inside_its_transaction_rolls_it_back_and_hands_the_connection_on(self):
        a = self.connect()
        a.send(build_request("GET", "/tx/hold?name=txgone_a"))  # never released
        self.wait_line("TX HOLDING txgone_a")
        b = self.connect()
        b.send(build_request("GET", "/locked_write?name=txgone_b"))
        self.wait_line("WRITE START txgone_b")
        self.assertFalse(readable(b.sock, 0))
        a.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        a.close()
        resp = b.read_response()
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(self.names(self.sqlite(), "txgone_"), ["txgone_b"])
        con = sqlite3.connect(self.db_path, timeout=0, isolation_level=None)
        self.addCleanup(con.close)
        con.execute("BEGIN IMMEDIATE")  # the write lock is free
        con.execute("ROLLBACK")

    def test_other_coroutines_wait_for_a_transaction_of_their_worker(self):
        a = self.connect()
        a.send(build_request("GET", "/tx/hold?name=q_a"))
        self.wait_line("TX HOLDING q_a")
        b = self.connect()
        b.send(build_request("GET", "/locked_write?name=q_b"))
        self.wait_line("WRITE START q_b")
        # Had b's statement run (inside a's transaction), its answer would be
        # out before this one.
        self.assertEqual(self.get_json("/ping")["worker"], 1)
        self.assertFalse(readable(b.sock, 0))
        self.assertEqual(self.names(self.sqlite(), "q_"), [])  # nothing committed yet
        self.assertEqual(self.get("/release?name=q_a").status, 200)
        self.assertEqual(a.read_response().status, 200)
        resp = b.read_response()
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(self.names(self.sqlite(), "q_"), ["q_a", "q_a", "q_b"])


class HandlerTimeoutTest(DbCase):
    """timeouts.handler = 0.5: requests aborted while they wait on the database."""

    ENV = {"DB_HANDLER_TIMEOUT": "0.5"}
    TIMED_OUT = {"error": "Handler timed out"}

    def test_a_write_waiting_on_a_lock_times_out_and_never_runs(self):
        hold = self.hold_lock()
        r = self.get("/locked_write?name=tow_write")
        self.assertEqual(r.status, 500, r)
        self.assertEqual(r.json(), self.TIMED_OUT)
        hold.execute("COMMIT")
        # Armed after the aborted write's last retry and longer than its pauses.
        self.assertEqual(self.get_json("/ping_after?ms=200")["worker"], 1)
        self.assertNotIn("WRITE DONE tow_write", self.server.stdout.text())
        self.assertEqual(self.names(self.sqlite(), "tow_"), [])

    def test_a_transaction_that_times_out_is_rolled_back_and_frees_the_lock(self):
        r = self.get("/tx/hold?name=to_tx")  # never released
        self.assertEqual(r.status, 500, r)
        self.assertEqual(r.json(), self.TIMED_OUT)
        con = sqlite3.connect(self.db_path, timeout=0, isolation_level=None)
        self.addCleanup(con.close)
        con.execute("BEGIN IMMEDIATE")  # free at once
        con.execute("ROLLBACK")
        self.assertEqual(self.names(con, "to_tx"), [])  # rolled back
        self.assertEqual(self.get_json("/locked_write?name=to_next")["changed"], 1)
        self.assertEqual(self.names(con, "to_next"), ["to_next"])


class TwoWorkersTest(DbCase):
    """Each worker has its own connection to the same file."""

    WORKERS = 2

    def connections_by_worker(self, per_worker=2):
        """Keep-alive connections, ``per_worker`` on each worker."""
        found = {1: [], 2: []}
        for _ in range(200):
            if all(len(v) >= per_worker for v in found.values()):
                return found
            c = self.connect()
            wid = c.request("GET", "/ping").json()["worker"]
            if len(found[wid]) < per_worker:
                found[wid].append(c)
            else:
                c.close()
        self.fail("connections did not reach both workers: %r" % {k: len(v) for k, v in found.items()})

    def request_json(self, conn, target):
        r = conn.request("GET", target)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_data_written_on_one_worker_is_read_on_the_other(self):
        conns = self.connections_by_worker(1)
        w1, w2 = conns[1][0], conns[2][0]
        self.assertEqual(self.request_json(w1, "/items/add?name=ww1&qty=1"),
                         {"changed": 1, "worker": 1})
        body = self.request_json(w2, "/items/list?name=ww1")
        self.assertEqual(body["worker"], 2)
        self.assertEqual([r["qty"] for r in body["rows"]], [1])
        self.assertEqual(self.request_json(w2, "/items/add?name=ww2&qty=2")["worker"], 2)
        self.assertEqual([r["qty"] for r in self.request_json(w1, "/items/list?name=ww2")["rows"]],
                         [2])

    def test_a_transaction_on_one_worker_makes_a_write_on_the_other_wait(self):
        conns = self.connections_by_worker(2)
        holder, release = conns[1]
        writer, other = conns[2]
        holder.send(build_request("GET", "/tx/hold?name=xw_a"))
        self.wait_line("TX HOLDING xw_a")
        writer.send(build_request("GET", "/locked_write?name=xw_b"))
        self.wait_line("WRITE START xw_b")
        # Worker 2 meets worker 1's lock, waits suspended, serves others.
        self.assertEqual(self.request_json(other, "/ping")["worker"], 2)
        self.assertFalse(readable(writer.sock, 0))
        r = release.request("GET", "/release?name=xw_a")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(holder.read_response().status, 200)
        resp = writer.read_response()
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json()["worker"], 2)
        self.assertEqual(self.names(self.sqlite(), "xw_"), ["xw_a", "xw_a", "xw_b"])


class LoadTimeLockTest(unittest.TestCase):
    """A statement at load time cannot wait: a lock fails the start at once."""

    def test_a_lock_at_load_time_is_a_startup_error_without_waiting(self):
        d = tempfile.mkdtemp(prefix="rover-db-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "app.sqlite")
        con = sqlite3.connect(path, isolation_level=None)
        self.addCleanup(con.close)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        p = run_rover([APP, "--port", "0"], cwd=d, env={"DB_PATH": path})
        elapsed = time.monotonic() - started
        err = p.stderr.decode("utf-8", errors="replace")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("❌ Error loading %s:" % APP, err)
        self.assertRegex(err.splitlines()[1], POSITION + re.escape(LOCKED) + "$")
        self.assertLess(elapsed, 4.0)  # not the 5 s a handler would wait
        con.execute("ROLLBACK")


if __name__ == "__main__":
    unittest.main()

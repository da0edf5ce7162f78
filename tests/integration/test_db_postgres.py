"""rover.db on PostgreSQL, direct SQL (runtime-modules.md §9 and "Suspension"):
row types and NULLs, parameters, `?` in literals, exec counts, transactions,
engine and connection errors, load-time statements, data seen by both
workers, backends killed under the pool, the process-wide connection cap,
clients gone and handler timeouts while a statement or a transaction waits,
and statements of one worker overlapping on two connections.

App: tests/apps/db_postgres.lua. One private cluster (pgcluster.py) serves
the whole module; each server gets an application_name of its own
(rover_<class>), which is how the test finds its backends in
pg_stat_activity. The module is skipped when PostgreSQL is not installed.

No sleeps as synchronisation: a statement that must still be running is held
by an advisory lock the test keeps in a psql session of its own (it knows the
statement waits from pg_stat_activity); a handler is known to have submitted
its statement from the line it prints just before it (same run); what
happened on the server side is read from pg_stat_activity, polled with a
bound. The only timing in assertions is the pg_sleep the spec names for the
handler-timeout case.
"""

import os
import re
import select
import socket
import struct
import subprocess
import threading
import time
import unittest

import pgcluster
from harness import REPO_ROOT, RoverServer, build_request, run_rover

APP = str(REPO_ROOT / "tests" / "apps" / "db_postgres.lua")
POSITION = r"^(.+:\d+: )?"
POLL_LIMIT = 15.0
# What libpq reports for a backend terminated under a statement (the FATAL
# message, or the connection's end when it read both at once).
KILLED = ("(.*terminating connection due to administrator command"
          "|server closed the connection unexpectedly)")  # seconds any polled condition may take

PG = None


def setUpModule():
    global PG
    if not pgcluster.available():
        raise unittest.SkipTest("PostgreSQL is not installed (initdb/psql not found)")
    PG = pgcluster.PgCluster().start()
    try:
        PG.psql("ALTER DATABASE postgres SET timezone TO 'UTC'")
        PG.psql("""
            CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, qty int,
                                price float8, note text, worker int);
            CREATE TABLE counts (k text, v int);
            CREATE TABLE boot (worker int, what text);
            CREATE TABLE alt (a int);
            INSERT INTO alt VALUES (1);""")
    except Exception:
        PG.stop()
        raise


def tearDownModule():
    if PG is not None:
        PG.stop()


def readable(sock, timeout):
    r, _, _ = select.select([sock], [], [], timeout)
    return bool(r)


def reset(conn):
    """Closes ``conn`` with an RST (SO_LINGER 0)."""
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def poll(condition, what, limit=POLL_LIMIT):
    """Calls ``condition`` (which reads the database or the server's output)
    until it returns a true value; fails after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while True:
        v = condition()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.01)


class AdvisoryLock:
    """An exclusive advisory lock held by a psql session of the test's own
    until release(): the app's pg_advisory_xact_lock_shared(key) waits on it."""

    def __init__(self, key):
        self.key = key
        self.proc = subprocess.Popen(
            ["psql", "-X", "-q", "-At", "-h", PG.dir, "-p", str(PG.port), "-U", PG.USER,
             "-d", PG.DB], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=dict(os.environ, PGAPPNAME="rover_test_lock"))
        self.proc.stdin.write("SELECT 'locked' FROM pg_advisory_lock(%d);\n" % key)
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if line.strip() != "locked":
            self.release()
            raise AssertionError("could not take advisory lock %d: %r" % (key, line))

    def release(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()  # psql exits, its session (and the lock) ends
            self.proc.wait(10)
        self.proc.stdout.close()
        self.proc.stderr.close()


class PgCase(unittest.TestCase):
    """One server per class on the module's cluster."""

    WORKERS = 1
    POOL = None
    MAX = None
    ENV = {}
    maxDiff = None

    PER_TEST = False  # a fresh server for each test (state a test must not inherit)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not cls.PER_TEST:
            cls.start_server(cls, cls.__name__.lower())

    def setUp(self):
        if self.PER_TEST:
            self.start_server(self, "%s_%s" % (type(self).__name__.lower()[:20],
                                               self._testMethodName[-20:]))

    @staticmethod
    def start_server(holder, name):
        holder.app_name = "rover_" + name
        holder.boot_tag = "boot_" + name
        env = dict(holder.ENV, PG_URL=PG.url + "&application_name=" + holder.app_name,
                   BOOT_TAG=holder.boot_tag,
                   PG_KV="host=%s port=%d user=%s dbname=%s application_name=kv_%s"
                         % (PG.dir, PG.port, PG.USER, PG.DB, holder.app_name),
                   PG_BAD_DB_URL="postgresql://rover@/nope_db?host=%s&port=%d" % (PG.dir, PG.port))
        if holder.POOL is not None:
            env["PG_POOL"] = str(holder.POOL)
        if holder.MAX is not None:
            env["PG_MAX"] = str(holder.MAX)
        holder.server = RoverServer(APP, args=["--workers", str(holder.WORKERS)], env=env)
        if isinstance(holder, type):
            holder.addClassCleanup(holder.server.stop)
        else:
            holder.addCleanup(holder.server.stop)
        holder.server.start()

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

    def wait_line(self, line, start=0):
        found = self.server.wait_log("^" + re.escape(line) + "$", start=start)
        self.assertIsNotNone(found, "missing %r\n%s" % (line, self.server.stdout.text()[-2000:]))
        return found[0] + 1

    # -- the server's backends, seen from psql ---------------------------------

    def backends(self, where="true"):
        out = PG.psql("SELECT pid FROM pg_stat_activity WHERE application_name = '%s' AND (%s)"
                      % (self.app_name, where))
        return [int(x) for x in out.split()]

    def lock_waiters(self):
        return len(self.backends("wait_event_type = 'Lock' AND wait_event = 'advisory'"))

    def wait_lock_waiters(self, n):
        poll(lambda: self.lock_waiters() >= n, "%d statements waiting on the lock" % n)

    def names(self, prefix):
        out = PG.psql("SELECT name FROM items WHERE name LIKE '%s%%' ORDER BY id" % prefix)
        return out.split()

    def sql(self, q, name=""):
        from urllib.parse import quote
        return self.get("/sql?name=%s&q=%s" % (name, quote(q)))


class DirectSqlTest(PgCase):
    """db:query, db:exec, db:transaction on one worker."""

    ENV = {"SPAWN_AT_LOAD": "1"}

    def test_engine_and_statements_at_load_time(self):
        self.assertEqual(self.get_json("/ping"), {"worker": 1, "engine": "postgres"})
        t = self.boot_tag
        # A query, an exec and a committed transaction; the rolled back one left
        # nothing; the task spawned at load time wrote once the loop ran.
        poll(lambda: PG.psql("SELECT worker, what FROM boot WHERE what LIKE '%s:%%' ORDER BY what"
                             % t).split() == ["1|%s:query:1" % t, "1|%s:spawned" % t, "1|%s:tx" % t],
             "the load-time rows")

    def test_row_types(self):
        body = self.get_json("/types")
        self.assertEqual(body["count"], 1)
        row = body["row"]
        expected = {
            "i2": ["number", "1"], "i4": ["number", "-2147483648"], "i8_zero": ["number", "0"],
            "i8_max": ["number", "9007199254740992"], "i8_min": ["number", "-9007199254740992"],
            "i8_big": ["string", "9007199254740993"], "i8_small": ["string", "-9007199254740993"],
            "i8_top": ["string", "9223372036854775807"],
            "f4": ["number", "1.5"], "f8": ["number", "-2.25"],
            "num": ["number", "12.5"], "num_small": ["number", "-0.000125"],
            "num15": ["number", "123456789012345"],
            "num16": ["string", "1234567890123456"],
            "num_pi": ["string", "3.14159265358979323846"],
            # Zeros that only fill the scale are not significant digits (avg of
            # int8 has scale 16): 2.5000000000000000 is 2.5.
            "num_scale": ["number", "2.5"], "num_avg": ["number", "2005"],
            "num_tail": ["string", "1.00000000000000000001"],
            "num_e18": ["string", "1000000000000000000"],
            "o": ["number", "26"], "yes": ["boolean", "true"], "no": ["boolean", "false"],
            "t": ["string", "héllo"], "v": ["string", "abc"], "c": ["string", "x  "],
            "u": ["string", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"],
            "j": ["string", '{"a": [1, 2]}'], "jb": ["string", '{"a": [1, 2], "b": 1}'],
            "d": ["string", "2024-02-29"], "tm": ["string", "13:45:06"],
            "ts": ["string", "2024-02-29 13:45:06.5"],
            "tstz": ["string", "2024-02-29 13:45:06+00"],
            "iv": ["string", "1 day 02:00:00"], "empty": ["string", ""],
        }
        self.assertEqual(row, expected)  # the NULLs (n_int, n_text, ...) are absent keys

    def test_bytea_is_the_raw_bytes(self):
        self.assertEqual(self.get_json("/bytea"),
                         {"same": True, "len": 256, "type": "string", "e": "", "z": "00"})

    def test_parameters_are_bound_never_interpolated(self):
        body = self.get_json("/params")
        self.assertTrue(body["tricky_ok"])
        self.assertEqual(body["row"], {
            "s": ["string", "str"], "i": ["number", "-7"], "big": ["number", "9007199254740992"],
            "f": ["number", "0.10000000000000001"], "num": ["number", "12.25"],
            "yes": ["boolean", "true"], "no": ["boolean", "false"],
            "tricky": ["string", "it's a ? and ''?'' \\ $1 ? -- not a comment"],
            "injected": ["string", "'); DROP TABLE items; --"], "empty": ["string", ""],
            "utf8": ["string", "日本"], "big60": ["string", "1152921504606846976"],
            "big62": ["string", "-4611686018427387904"],
            "huge": ["number", "1.0000000000000001e+300"]})  # n: nil bound as NULL: absent
        self.assertEqual(self.get_json("/params_nil"), {"a": ["number", "1"]})
        self.assertEqual(PG.psql("SELECT count(*) FROM items WHERE false").strip(), "0")  # intact

    def test_parameters_written_to_typed_columns(self):
        body = self.get_json("/params_roundtrip?name=prt")
        self.assertEqual(body, {
            "n": 2,
            "first": {"qty": ["number", "3"], "price": ["number", "1.25"],
                      "note": ["string", "it's a ? and ''?'' \\ $1 ? -- not a comment"]},
            "second": {}})
        self.assertEqual(PG.psql("SELECT qty, price, note IS NULL FROM items WHERE name = 'prt' "
                                 "ORDER BY id").splitlines(), ["3|1.25|f", "||t"])

    def test_a_table_parameter_raises(self):
        self.assertDbError(self.get("/bind_table"), "db error: cannot bind a table")
        self.assertDbError(self.get("/bind_table_exec"), "db error: cannot bind a table")

    def test_a_wrong_parameter_count_raises(self):
        self.assertDbError(self.get("/too_few"), "db error: 1 parameters given for 2 placeholders")
        self.assertDbError(self.get("/too_many"), "db error: 1 parameters given for 0 placeholders")

    def test_question_marks_in_literals_identifiers_and_comments_are_not_placeholders(self):
        self.assertEqual(self.get_json("/literals"), {
            "q": "?", "q2": "a'?'b", "q3": "'?", "q4": "?", "q5": " ? ", "what?": 1, "p": 7})

    def test_exec_returns_the_rows_changed(self):
        self.assertEqual(self.get_json("/counts?tag=c1"), {
            "insert": 3, "update": 2, "none": 0, "ddl": 0, "returning": 1, "select": 0,
            "delete": 4})

    def test_transaction_commits_and_returns_the_functions_values(self):
        self.assertEqual(self.get_json("/tx/commit?name=t_ok"),
                         {"a": 2, "b": "two", "c_is_nil": True, "d": "postgres"})
        self.assertEqual(self.get_json("/items/list?name=t_ok")["qty"], [1, 2])
        self.assertEqual(self.names("t_ok"), ["t_ok", "t_ok"])

    def test_transaction_rolls_back_and_reraises(self):
        self.assertEqual(self.get_json("/tx/rollback?name=t_rb"),
                         {"ok": False, "code": "custom", "seen": 0})
        r = self.get("/tx/raise?name=t_raise")
        self.assertEqual(r.status, 500, r)
        self.assertRegex(r.json()["error"], POSITION + "raised inside the transaction$")
        body = self.get_json("/tx/engine_error?name=t_engine")
        self.assertFalse(body["ok"])
        self.assertRegex(body["err"], POSITION + re.escape(
            'db error: null value in column "name" of relation "items" violates not-null '
            'constraint') + "$")
        self.assertEqual(body["seen"], 0)
        self.assertEqual(self.names("t_r") + self.names("t_engine"), [])
        self.assertEqual(self.backends("state LIKE 'idle in transaction%'"), [])
        self.assertEqual(self.get_json("/items/add?name=t_after")["changed"], 1)

    def test_a_transaction_whose_statement_failed_inside_it_raises_instead_of_committing(self):
        body = self.get_json("/tx/caught_failure?name=t_caught")
        self.assertFalse(body["ok"])
        self.assertRegex(body["err"], POSITION + re.escape(
            "db error: the transaction was rolled back (a statement in it failed)") + "$")
        self.assertEqual(body["seen"], 0)
        self.assertEqual(self.names("t_caught"), [])

    def test_a_statement_from_a_nested_coroutine_raises_instead_of_blocking_the_worker(self):
        body = self.get_json("/nested")
        self.assertFalse(body["ok"])
        self.assertRegex(body["err"], POSITION + re.escape(
            "db error: rover.db must be called inside a handler or task") + "$")

    def test_server_notices_go_to_the_log_not_to_stderr(self):
        from urllib.parse import quote
        for q in ("DO $$BEGIN RAISE NOTICE 'just so'; END$$",
                  "DO $$BEGIN RAISE WARNING 'careful now'; END$$"):
            r = self.get("/sql?name=notice&q=" + quote(q))
            self.assertEqual(r.status, 200, r)
        # A WARNING is logged at WARN (a NOTICE only at debug), in the server's log format.
        self.assertIsNotNone(self.server.wait_log(r" WARN postgres WARNING: careful now$"))
        self.assertNotIn("just so", self.server.stdout.text())
        self.assertNotIn("NOTICE", self.server.stderr.text())
        self.assertNotIn("careful now", self.server.stderr.text())

    def test_a_finished_transaction_object_raises(self):
        body = self.get_json("/tx/finished")
        self.assertFalse(body["ok"])
        self.assertRegex(body["err"], POSITION + "db error: the transaction has ended$")

    def test_engine_errors_raise_db_error_with_the_servers_message(self):
        self.assertDbError(self.get("/bad/table"), 'db error: relation "nope" does not exist')
        self.assertDbError(self.get("/bad/syntax"), 'db error: syntax error at or near "SELEC"')
        self.assertDbError(self.get("/bad/constraint"),
                           'db error: null value in column "name" of relation "items" violates '
                           'not-null constraint')
        body = self.get_json("/bad/caught")
        self.assertFalse(body["ok"])
        self.assertRegex(body["err"], POSITION + re.escape(
            'db error: relation "nope" does not exist') + "$")
        # The same failing statement again (it was not left half-prepared), then others.
        self.assertDbError(self.get("/bad/table"), 'db error: relation "nope" does not exist')
        self.assertEqual(self.get_json("/params_nil"), {"a": ["number", "1"]})

    def test_an_unreachable_database_raises_connection_failed(self):
        for route in ("/bad/unreachable", "/bad/unreachable", "/bad/tx_unreachable"):
            r = self.get(route)
            self.assertEqual(r.status, 500, r)
            self.assertRegex(r.json()["error"],
                             POSITION + re.escape("db error: connection failed: ") + ".*"
                             "/nonexistent/rover/.s.PGSQL.1")
        self.assertEqual(self.get_json("/ping")["worker"], 1)

    def test_a_database_the_server_refuses_raises_connection_failed(self):
        for route in ("/bad/refused", "/bad/refused", "/bad/tx_refused", "/bad/tx_refused"):
            r = self.get(route)
            self.assertEqual(r.status, 500, r)
            self.assertRegex(r.json()["error"], POSITION + re.escape(
                "db error: connection failed: ") + '.*database "nope_db" does not exist')

    def test_a_key_value_connection_string(self):
        self.assertEqual(self.get_json("/kv"),
                         {"rows": [{"app": "kv_" + self.app_name}], "worker": 1})

    def test_a_prepared_statement_follows_a_table_altered_under_it(self):
        r = self.sql("SELECT * FROM alt ORDER BY a", "alt1")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["rows"], [{"a": ["number", "1"]}])
        PG.psql("ALTER TABLE alt ADD COLUMN b int DEFAULT 5")
        try:
            r = self.sql("SELECT * FROM alt ORDER BY a", "alt2")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["rows"], [{"a": ["number", "1"], "b": ["number", "5"]}])
            # Inside a transaction the refusal aborts it: raised, and the
            # statement is prepared anew the next time.
            self.assertEqual(self.get_json("/tx/stale"), {"ok": True, "err": "rows"})
            PG.psql("ALTER TABLE alt ADD COLUMN c int DEFAULT 6")
            body = self.get_json("/tx/stale")
            self.assertFalse(body["ok"])
            self.assertRegex(body["err"], POSITION + re.escape(
                "db error: cached plan must not change result type") + "$")
            self.assertEqual(self.get_json("/tx/stale"), {"ok": True, "err": "rows"})
        finally:
            PG.psql("ALTER TABLE alt DROP COLUMN IF EXISTS b; ALTER TABLE alt DROP COLUMN IF EXISTS c")


def read_only_server(listener):
    """Answers each connection as a read-only PostgreSQL server would: a
    startup with AuthenticationOk, ParameterStatus default_transaction_read_only
    = on, BackendKeyData and ReadyForQuery, then waits for the client to go.
    With target_session_attrs=read-write, libpq closes it and tries the next host."""
    def param(name, value):
        body = name.encode() + b"\0" + value.encode() + b"\0"
        return b"S" + struct.pack("!I", 4 + len(body)) + body

    def serve(c):
        with c:
            try:
                n = struct.unpack("!I", c.recv(4, socket.MSG_WAITALL))[0]
                c.recv(n - 4, socket.MSG_WAITALL)
                c.sendall(b"R" + struct.pack("!II", 8, 0) + param("server_version", "15.0")
                          + param("default_transaction_read_only", "on")
                          + param("in_hot_standby", "on")
                          + b"K" + struct.pack("!III", 12, 4242, 1) + b"Z" + struct.pack("!I", 5) + b"I")
                while c.recv(4096):
                    pass
            except OSError:
                pass

    while True:
        try:
            c, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=serve, args=(c,), daemon=True).start()


class FailoverTest(PgCase):
    """A host list: libpq leaves a host that is not what target_session_attrs
    asks for (a read-only one) and connects to the next, on a new socket
    (which may well get the same descriptor number)."""

    @classmethod
    def setUpClass(cls):
        cls.listener = socket.socket()
        cls.listener.bind(("127.0.0.1", 0))
        cls.listener.listen(16)
        port = cls.listener.getsockname()[1]
        threading.Thread(target=read_only_server, args=(cls.listener,), daemon=True).start()
        cls.addClassCleanup(cls.listener.close)
        cls.ENV = {"PG_FAILOVER_URL": "postgresql://rover@/postgres?host=127.0.0.1,%s&port=%d,%d"
                                      "&target_session_attrs=read-write&sslmode=disable"
                                      "&gssencmode=disable" % (PG.dir, port, PG.port)}
        super().setUpClass()

    def test_the_next_host_is_reached_when_the_first_is_read_only(self):
        for _ in range(2):
            r = self.get("/failover")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json(), {"rows": [{"a": 1}], "worker": 1})


class LoadTimeTest(unittest.TestCase):
    """Statements at load time use a blocking connection: a database that
    cannot be reached fails the start."""

    def test_an_unreachable_database_at_load_time_fails_the_start(self):
        p = run_rover([APP, "--port", "0"], env={
            "PG_URL": "postgresql://rover@/postgres?host=/nonexistent/rover&port=1"})
        err = p.stderr.decode("utf-8", errors="replace")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("❌ Error loading %s:" % APP, err)
        self.assertRegex(err, re.escape("db error: connection failed: ") + ".*/nonexistent/rover")


class LoadTimeConnectionTest(PgCase):
    """The blocking connection of load time is not kept once the workers run."""

    WORKERS = 2
    PER_TEST = True

    def test_the_load_time_connections_are_closed_once_the_workers_run(self):
        # No statement has run from a handler: the app has no connection at all.
        poll(lambda: self.backends() == [], "the load-time connections to close")
        self.assertEqual(self.get_json("/ping")["engine"], "postgres")
        self.assertEqual(self.get_json("/items/add?name=lt_after")["changed"], 1)


class TwoWorkersTest(PgCase):
    """Each worker has its own pool on the same database."""

    WORKERS = 2
    ENV = {"SPAWN_AT_LOAD": "1"}

    def connections_by_worker(self, per_worker=1):
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
        self.fail("connections did not reach both workers")

    def request_json(self, conn, target):
        r = conn.request("GET", target)
        self.assertEqual(r.status, 200, r)
        return r.json()

    def test_both_workers_ran_the_load_time_statements(self):
        t = self.boot_tag
        expected = ["1|%s:query:1" % t, "1|%s:spawned" % t, "1|%s:tx" % t,
                    "2|%s:query:1" % t, "2|%s:spawned" % t, "2|%s:tx" % t]
        # The spawned tasks' statements finish on the workers' loops.
        poll(lambda: PG.psql("SELECT worker, what FROM boot WHERE what LIKE '%s:%%' "
                             "ORDER BY worker, what" % t).split() == expected,
             "the load-time rows of both workers")

    def test_data_written_on_one_worker_is_read_on_the_other(self):
        conns = self.connections_by_worker()
        w1, w2 = conns[1][0], conns[2][0]
        self.assertEqual(self.request_json(w1, "/items/add?name=ww1&qty=1"),
                         {"changed": 1, "worker": 1})
        self.assertEqual(self.request_json(w2, "/items/list?name=ww1"),
                         {"qty": [1], "written_by": [1], "n": 1, "worker": 2})
        self.assertEqual(self.request_json(w2, "/items/add?name=ww2&qty=2")["worker"], 2)
        self.assertEqual(self.request_json(w1, "/items/list?name=ww2"),
                         {"qty": [2], "written_by": [2], "n": 1, "worker": 1})


class BackendKilledTest(PgCase):
    """pg_terminate_backend under the pool: the broken connection is dropped,
    the next statement opens a new one."""

    POOL = 1

    def terminate_all(self):
        pids = self.backends()
        self.assertTrue(pids)
        PG.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = '%s'" % self.app_name)
        poll(lambda: not set(pids) & set(self.backends()), "the backends to exit")
        return pids

    def test_an_idle_backend_killed_and_the_next_statement_succeeding(self):
        before = self.get_json("/backend")["pid"]
        self.assertEqual(self.terminate_all(), [before])
        after = self.get_json("/backend")["pid"]
        self.assertNotEqual(after, before)
        self.assertEqual(self.backends(), [after])
        self.assertEqual(self.get_json("/items/add?name=kill_idle")["changed"], 1)

    def test_a_busy_backend_killed_fails_its_statement_and_the_next_succeeds(self):
        lock = AdvisoryLock(101)
        self.addCleanup(lock.release)
        c = self.connect()
        c.send(build_request("GET", "/block?key=101&name=kill_busy"))
        self.wait_lock_waiters(1)
        self.terminate_all()
        r = c.read_response()
        self.assertEqual(r.status, 500, r)
        self.assertRegex(r.json()["error"], POSITION + re.escape("db error: ") + KILLED)
        lock.release()
        self.assertEqual(self.get_json("/items/add?name=kill_busy_after")["changed"], 1)
        self.assertEqual(len(self.backends()), 1)

    def test_a_transaction_whose_backend_is_killed_raises_and_the_pool_recovers(self):
        lock = AdvisoryLock(102)
        self.addCleanup(lock.release)
        c = self.connect()
        c.send(build_request("GET", "/tx/block?key=102&name=kill_tx"))
        self.wait_lock_waiters(1)
        self.terminate_all()
        r = c.read_response()
        self.assertEqual(r.status, 500, r)
        self.assertRegex(r.json()["error"], POSITION + re.escape("db error: ") + KILLED)
        lock.release()
        self.assertEqual(self.names("kill_tx"), [])
        self.assertEqual(self.get_json("/tx/commit?name=kill_tx_after")["a"], 2)


def concurrent_requests(server, targets):
    """Sends every request on its own connection at once, then reads every
    response; returns them in order."""
    conns = [server.connect() for _ in targets]
    try:
        for c, t in zip(conns, targets):
            c.send(build_request("GET", t))
        return [c.read_response() for c in conns]
    finally:
        for c in conns:
            c.close()


class PoolCapTest(PgCase):
    """pool = 2, max_connections = 4, two workers: 200 concurrent statements."""

    WORKERS = 2
    POOL = 2
    MAX = 4
    LIMIT = 4

    def test_200_concurrent_requests_succeed_within_the_connection_cap(self):
        seen = []
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                seen.append(len(self.backends()))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            responses = concurrent_requests(self.server, ["/load"] * 200)
        finally:
            stop.set()
            sampler.join(10)
        bad = [r for r in responses if r.status != 200]
        self.assertEqual(bad, [])
        bodies = [r.json() for r in responses]
        self.assertEqual({b["worker"] for b in bodies}, {1, 2})
        self.assertLessEqual(max(b["n"] for b in bodies), self.LIMIT)
        self.assertLessEqual(self.get_json("/max_seen")["max"], self.LIMIT)
        self.assertTrue(seen)
        self.assertLessEqual(max(seen), self.LIMIT)
        self.assertLessEqual(len(self.backends()), self.LIMIT)


class PoolCapBelowPoolsTest(PoolCapTest):
    """pool = 3 per worker but max_connections = 3 for the process: the cap
    binds before the pools are full."""

    POOL = 3
    MAX = 3
    LIMIT = 3


class CapStarvationTest(PgCase):
    """pool = 3, max_connections = 3, two workers: one worker holds every
    connection the cap allows, then the other needs one."""

    WORKERS = 2
    POOL = 3
    MAX = 3
    PER_TEST = True

    def pinned(self):
        found = {1: [], 2: []}
        for _ in range(400):
            if all(len(v) >= 3 for v in found.values()):
                return found
            c = self.connect()
            wid = c.request("GET", "/ping").json()["worker"]
            if len(found[wid]) < 3:
                found[wid].append(c)
            else:
                c.close()
        self.fail("connections did not reach both workers")

    def test_a_worker_at_the_cap_gets_a_connection_once_the_other_workers_are_idle(self):
        conns = self.pinned()
        lock = AdvisoryLock(103)
        self.addCleanup(lock.release)
        # Worker 1 takes every connection the cap allows.
        for i, c in enumerate(conns[1]):
            c.send(build_request("GET", "/block?key=103&name=cap1_%d" % i))
        self.wait_lock_waiters(3)
        poll(lambda: len(self.backends()) == 3, "the 3 connections the cap allows, no more")
        # Worker 2 finds the cap reached: its statement waits.
        conns[2][0].send(build_request("GET", "/items/add?name=cap2"))
        lock.release()
        for c in conns[1]:
            self.assertEqual(c.read_response().status, 200)
        # Worker 1's connections are idle now; worker 2's statement must get one.
        self.assertTrue(readable(conns[2][0].sock, 10), "worker 2 never got a connection")
        r = conns[2][0].read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"changed": 1, "worker": 2})
        self.assertLessEqual(len(self.backends()), 3)

    def test_a_transaction_on_a_worker_at_the_cap_gets_a_connection_too(self):
        conns = self.pinned()
        lock = AdvisoryLock(104)
        self.addCleanup(lock.release)
        for i, c in enumerate(conns[1]):
            c.send(build_request("GET", "/block?key=104&name=capt1_%d" % i))
        self.wait_lock_waiters(3)
        conns[2][0].send(build_request("GET", "/tx/commit?name=capt2"))
        lock.release()
        for c in conns[1]:
            self.assertEqual(c.read_response().status, 200)
        self.assertTrue(readable(conns[2][0].sock, 10), "worker 2's transaction never started")
        r = conns[2][0].read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["a"], 2)


class DefaultCapTest(PgCase):
    """pool = 1 and max_connections left to its default, pool x workers = 2:
    both workers have their connection at once."""

    WORKERS = 2
    POOL = 1
    PER_TEST = True

    def test_the_default_cap_is_pool_times_workers(self):
        conns = TwoWorkersTest.connections_by_worker(self)
        lock = AdvisoryLock(109)
        self.addCleanup(lock.release)
        for wid in (1, 2):
            conns[wid][0].send(build_request("GET", "/block?key=109&name=defcap%d" % wid))
        self.wait_lock_waiters(2)
        lock.release()
        for wid in (1, 2):
            r = conns[wid][0].read_response()
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json(), {"worker": wid})


class ClientGoneTest(PgCase):
    """One worker, one connection: a client that goes while its statement or
    transaction waits; the connection stays usable, the coroutine is never
    resumed."""

    POOL = 1

    def test_a_slow_query_whose_client_disconnects(self):
        for how in ("fin", "rst"):
            with self.subTest(how=how):
                name = "gone_sleep_" + how
                c = self.connect()
                c.send(build_request("GET", "/sleep?secs=0.5&name=" + name))
                self.wait_line("SLEEP START " + name)
                poll(lambda: self.backends("state = 'active' AND query LIKE '%pg_sleep%'"),
                     "pg_sleep to run")
                if how == "rst":
                    reset(c)
                else:
                    c.close()
                # The statement finishes on the server; its result is read and dropped.
                poll(lambda: not self.backends("state = 'active' AND query LIKE '%pg_sleep%'"),
                     "pg_sleep to end")
                # The same (only) connection serves the next statements.
                self.assertEqual(self.get_json("/items/add?name=" + name + "_after")["changed"], 1)
                self.assertEqual(len(self.backends()), 1)
                self.assertEqual(self.get_json("/mark?name=" + name),
                                 {"done": False, "resumed": False})
                self.assertNotIn("SLEEP DONE " + name, self.server.stdout.text())

    def test_a_blocked_query_whose_client_resets_and_others_queued_behind_it(self):
        lock = AdvisoryLock(105)
        self.addCleanup(lock.release)
        a = self.connect()
        a.send(build_request("GET", "/block?key=105&name=gone_block"))
        self.wait_lock_waiters(1)
        b = self.connect()
        b.send(build_request("GET", "/items/add?name=gone_block_b"))
        reset(a)
        self.assertEqual(self.get_json("/ping")["worker"], 1)
        self.assertFalse(readable(b.sock, 0))  # pipelined behind the blocked statement
        lock.release()
        r = b.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.names("gone_block_b"), ["gone_block_b"])
        self.assertEqual(self.get_json("/mark?name=gone_block"), {"done": False, "resumed": False})

    def test_a_transaction_whose_client_goes_is_rolled_back_and_hands_the_connection_on(self):
        a = self.connect()
        a.send(build_request("GET", "/tx/hold?name=gone_tx"))  # never released
        self.wait_line("TX HOLDING gone_tx")
        b = self.connect()
        b.send(build_request("GET", "/items/add?name=gone_tx_b"))
        self.assertEqual(self.get_json("/ping")["worker"], 1)
        self.assertFalse(readable(b.sock, 0))  # the only connection is leased
        self.assertEqual(len(self.backends("state LIKE 'idle in transaction%'")), 1)
        reset(a)
        r = b.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.names("gone_tx"), ["gone_tx_b"])
        self.assertEqual(self.backends("state LIKE 'idle in transaction%'"), [])
        self.assertEqual(len(self.backends()), 1)
        self.assertEqual(self.get_json("/mark?name=gone_tx"), {"done": False, "resumed": False})

    def test_a_transaction_whose_client_goes_while_it_waits_for_the_connection(self):
        a = self.connect()
        a.send(build_request("GET", "/tx/hold?name=gone_lw_a"))
        self.wait_line("TX HOLDING gone_lw_a")
        b = self.connect()
        b.send(build_request("GET", "/tx/block?key=0&name=gone_lw_b"))  # waits for the lease
        self.assertEqual(self.get_json("/ping")["worker"], 1)
        reset(b)
        self.assertEqual(self.get("/release?name=gone_lw_a").status, 200)
        self.assertEqual(a.read_response().status, 200)
        self.assertEqual(self.get_json("/tx/commit?name=gone_lw_c")["a"], 2)
        self.assertEqual(self.names("gone_lw"), ["gone_lw_a", "gone_lw_a", "gone_lw_c", "gone_lw_c"])
        self.assertEqual(self.get_json("/mark?name=gone_lw_b"), {"done": False, "resumed": False})

    def test_a_transaction_whose_client_goes_while_its_statement_waits(self):
        lock = AdvisoryLock(106)
        self.addCleanup(lock.release)
        a = self.connect()
        a.send(build_request("GET", "/tx/block?key=106&name=gone_txb"))
        self.wait_lock_waiters(1)
        b = self.connect()
        b.send(build_request("GET", "/tx/commit?name=gone_txb_b"))
        reset(a)
        self.assertEqual(self.get_json("/ping")["worker"], 1)
        lock.release()
        r = b.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.names("gone_txb"), ["gone_txb_b", "gone_txb_b"])
        self.assertEqual(self.backends("state LIKE 'idle in transaction%'"), [])
        self.assertEqual(self.get_json("/mark?name=gone_txb"), {"done": False, "resumed": False})


class PipelineTest(PgCase):
    """One worker, one connection: statements of several requests pipelined
    on it while the first one waits."""

    POOL = 1

    def test_the_same_failing_statement_pipelined_twice_reports_the_engines_error(self):
        lock = AdvisoryLock(107)
        self.addCleanup(lock.release)
        a = self.connect()
        a.send(build_request("GET", "/block?key=107&name=pipe_a"))
        self.wait_lock_waiters(1)
        mark = 0
        others = []
        for i in range(2):
            c = self.connect()
            c.send(build_request("GET", "/sql?name=pipe_bad%d&q=SELECT+*+FROM+nope_pipe" % i))
            mark = self.wait_line("SQL START pipe_bad%d" % i, mark)
            others.append(c)
        lock.release()
        self.assertEqual(a.read_response().status, 200)
        for c in others:
            r = c.read_response()
            self.assertEqual(r.status, 500, r)
            self.assertRegex(r.json()["error"], POSITION + re.escape(
                'db error: relation "nope_pipe" does not exist') + "$")

    def test_transactions_queue_for_the_only_connection(self):
        a = self.connect()
        a.send(build_request("GET", "/tx/hold?name=txq_a"))
        self.wait_line("TX HOLDING txq_a")
        others = []
        for name in ("txq_b", "txq_c"):
            c = self.connect()
            c.send(build_request("GET", "/tx/commit?name=" + name))
            others.append(c)
        self.assertEqual(self.get_json("/ping")["worker"], 1)
        self.assertEqual(self.get("/release?name=txq_a").status, 200)
        # a's commit hands the connection to b's transaction, b's to c's.
        self.assertEqual(a.read_response().status, 200)
        for c in others:
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["a"], 2)
        self.assertEqual(sorted(self.names("txq_")), ["txq_a"] * 2 + ["txq_b"] * 2 + ["txq_c"] * 2)
        self.assertEqual(self.backends("state LIKE 'idle in transaction%'"), [])

    def test_a_statement_failing_to_prepare_does_not_break_later_statements(self):
        lock = AdvisoryLock(108)
        self.addCleanup(lock.release)
        a = self.connect()
        a.send(build_request("GET", "/block?key=108&name=prep_a"))
        self.wait_lock_waiters(1)
        b = self.connect()
        b.send(build_request("GET", "/sql?name=prep_b&q=SELECT+*+FROM+nope_prep"))
        mark = self.wait_line("SQL START prep_b")
        c = self.connect()
        c.send(build_request("GET", "/sql?name=prep_c&q=SELECT+2+AS+two"))
        self.wait_line("SQL START prep_c", mark)
        lock.release()
        self.assertEqual(a.read_response().status, 200)
        self.assertEqual(b.read_response().status, 500)
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        # New statements after the failed one each get a statement of their own.
        for q, expected in (("SELECT 3 AS three", {"three": ["number", "3"]}),
                            ("SELECT 4 AS four", {"four": ["number", "4"]}),
                            ("SELECT 2 AS two", {"two": ["number", "2"]})):
            r = self.sql(q)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["rows"], [expected])


class HandlerTimeoutTest(PgCase):
    """timeouts.handler = 1: requests aborted while they wait on the database."""

    ENV = {"DB_HANDLER_TIMEOUT": "1"}
    TIMED_OUT = {"error": "Handler timed out"}

    def test_a_pg_sleep_longer_than_the_handler_limit(self):
        started = time.monotonic()
        r = self.get("/sleep?secs=3&name=to_sleep")
        self.assertEqual(r.status, 500, r)
        self.assertEqual(r.json(), self.TIMED_OUT)
        self.assertLess(time.monotonic() - started, 2.9)  # not the 3 s of the statement
        # Later statements are fine, on another connection of the pool meanwhile.
        self.assertEqual(self.get_json("/items/add?name=to_after")["changed"], 1)
        # The abandoned statement ends on the server; its result is dropped.
        poll(lambda: not self.backends("state = 'active' AND query LIKE '%pg_sleep%'"),
             "pg_sleep to end")
        for i in range(3):  # whichever connection they land on
            self.assertEqual(self.get_json("/items/add?name=to_after%d" % i)["changed"], 1)
        self.assertEqual(self.get_json("/mark?name=to_sleep"), {"done": False, "resumed": False})
        self.assertNotIn("SLEEP DONE to_sleep", self.server.stdout.text())

    def test_a_transaction_that_times_out_is_rolled_back(self):
        r = self.get("/tx/hold?name=to_tx")  # never released
        self.assertEqual(r.status, 500, r)
        self.assertEqual(r.json(), self.TIMED_OUT)
        self.assertEqual(self.get_json("/items/add?name=to_tx_next")["changed"], 1)
        self.assertEqual(self.names("to_tx"), ["to_tx_next"])
        self.assertEqual(self.backends("state LIKE 'idle in transaction%'"), [])


class OverlapTest(PgCase):
    """Two statements of one worker (pool = 2) run at the same time."""

    POOL = 2

    def test_two_pg_sleeps_on_one_worker_overlap(self):
        a, b = self.connect(), self.connect()
        a.send(build_request("GET", "/sleep?secs=1&name=ov_a"))
        b.send(build_request("GET", "/sleep?secs=1&name=ov_b"))
        # Both backends of the worker are inside pg_sleep at once.
        poll(lambda: len(self.backends("state = 'active' AND query LIKE '%pg_sleep%'")) == 2,
             "two pg_sleeps at once")
        for c in (a, b):
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json(), {"worker": 1})
        self.assertEqual(len(self.backends()), 2)


if __name__ == "__main__":
    unittest.main()

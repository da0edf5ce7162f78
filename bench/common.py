"""Helpers the single-purpose bench scripts share (static.py, cold_static.py,
db.py, suspended.py, ws.py, tfb.py): a free port, a process's CPU seconds from /proc,
waiting for a server to listen; and for db.py and tfb.py the World table, a
server in its own session, a wrk run, the machine's busy time."""

import os
import socket
import time

TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_user_sys(pids):
    """(utime, stime) in seconds of a pid or a list of pids (all threads); gone ones count 0."""
    if isinstance(pids, int):
        pids = [pids]
    user = system = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user += int(fields[11])
            system += int(fields[12])
        except OSError:
            pass
    return user / TICK, system / TICK


def cpu_seconds(pids):
    """utime + stime of a pid or a list of pids (all threads); gone ones count 0."""
    return sum(cpu_user_sys(pids))


def wait_port(port, proc, tries=300):
    """Until something accepts on 127.0.0.1:port; exits if `proc` ends first."""
    for _ in range(tries):
        if proc.poll() is not None:
            raise SystemExit("server exited: %s" % proc.args)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)  # startup only, not a measurement
    raise SystemExit("server did not listen: %s" % proc.args)


# ---------------------------------------------------------------------------
# Shared by db.py and tfb.py: the TechEmpower World table, servers started in
# a session of their own, wrk runs, machine-wide busy time.

WORLD_ROWS = 10000


def create_world(pg=None, sqlite_path=None):
    """The World table (id 1..10000, randomnumber 1..10000) in a PgCluster
    and/or a SQLite file (WAL)."""
    import random
    import sqlite3
    if pg is not None:
        pg.psql("CREATE TABLE world (id integer PRIMARY KEY, randomnumber integer NOT NULL);"
                "INSERT INTO world SELECT i, 1 + floor(random() * 10000) "
                "FROM generate_series(1, %d) i;" % WORLD_ROWS)
        pg.psql("VACUUM ANALYZE world")
    if sqlite_path is not None:
        con = sqlite3.connect(sqlite_path)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE world (id INTEGER PRIMARY KEY, randomnumber INTEGER NOT NULL)")
        con.executemany("INSERT INTO world VALUES (?, ?)",
                        [(i, random.randint(1, 10000)) for i in range(1, WORLD_ROWS + 1)])
        con.commit()
        con.close()


def session_pids(sid):
    """Every process whose session id is sid (a server started with start_new_session)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                if int(f.read().rsplit(")", 1)[1].split()[3]) == sid:
                    out.append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    return out


def machine_busy_seconds():
    """CPU seconds all CPUs spent busy since boot (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / TICK


class Server:
    """A server process in its own session (so every process it forks is found
    again), optionally pinned with taskset; stopped by PID (TERM, KILL after 5 s)."""

    def __init__(self, name, argv, env=None, cpus=None, cwd=None, log=None):
        self.name, self.argv, self.env, self.cpus, self.cwd, self.log = name, argv, env, cpus, cwd, log
        self.proc = None

    def start(self, port):
        import subprocess
        cmd = (["taskset", "-c", self.cpus] if self.cpus else []) + self.argv
        out = open(self.log, "wb") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, env=dict(os.environ, **(self.env or {})), cwd=self.cwd,
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                     start_new_session=True)
        wait_port(port, self.proc)
        return self

    def pids(self):
        return session_pids(self.proc.pid) if self.proc else []

    def cpu(self):
        return cpu_seconds(self.pids())

    def stop(self):
        import signal
        if not self.proc:
            return
        for p in self.pids():
            try:
                os.kill(p, signal.SIGTERM)
            except OSError:
                pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self.pids():
            time.sleep(0.05)
        for p in self.pids():
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except Exception:
            pass
        self.proc = None


WRK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrk")


def wrk_run(url, conns, duration, threads=1, cpus=None, pipeline=False, timeout_s=None):
    """One wrk run through wrk/report.lua (wrk/get_p16.lua when pipelined: 16
    requests per write). Returns a dict: BENCH_RESULT's fields (rps, requests,
    p99_us, err_*...) plus wrk_cpu (seconds, from its rusage) and raw (the output)."""
    import re
    import subprocess
    script = os.path.join(WRK_DIR, "get_p16.lua" if pipeline else "get.lua")
    # --timeout sizes wrk's latency histogram (one slot per microsecond), and for pipelined
    # runs report.lua walks all of it after the run: 2 s, as bench/harness.py uses, keeps
    # that walk to seconds (5 s made it take over a minute at c1024)
    if timeout_s is None:
        timeout_s = 2 if pipeline else 5
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % duration, "--timeout",
           "%ds" % timeout_s, "-s", script, url]
    if cpus:
        cmd = ["taskset", "-c", cpus] + cmd
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=dict(os.environ, WRK_CONNECTIONS=str(conns)))
    try:
        out, _ = p.communicate(timeout=duration + 240)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    # the child is reaped by communicate(); its CPU is in RUSAGE_CHILDREN deltas, so
    # the caller measures wrk's CPU around the call (resource.getrusage)
    text = out.decode(errors="replace")
    m = re.search(r"BENCH_RESULT (.*)", text)
    if not m:
        raise RuntimeError("wrk gave no result:\n" + text)
    r = {}
    for kv in m.group(1).split():
        k, _, v = kv.partition("=")
        try:
            r[k] = float(v)
        except ValueError:
            r[k] = v
    r["errors"] = sum(r.get(k, 0) for k in ("err_connect", "err_read", "err_write", "err_timeout",
                                             "err_status"))
    r["raw"] = text
    return r

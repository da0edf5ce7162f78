#!/usr/bin/env python3
"""Database workload, Rover vs Node.js + pg in the same run (issue #11).

    python3 bench/db.py [ROVER_BIN] [--reps 3] [--duration 5] [--only pinned|unpinned]

The TechEmpower model: a World table of 10,000 rows (id, randomNumber) in a
private PostgreSQL cluster (tests/integration/pgcluster.py: initdb in a temp
directory, Unix socket only, synchronous_commit = off, stopped at the end) and
in a SQLite file. Servers: Rover on PostgreSQL, Rover on SQLite, Node.js
(Debian's nodejs, Node's http module, npm `pg`, one process; `npm ci` in
bench/node). Workloads: GET /db and GET /queries?queries=20, c64 and c256.
Pinned: the server on CPU 1 (one worker / process), wrk on CPU 0, PostgreSQL
unpinned; unpinned: no pinning, Rover with 2 workers. Each response is checked
once before it is measured. Per run: req/s, p99, server CPU per request and
PostgreSQL CPU per request (the postmaster and all its children, utime +
stime from /proc, before/after); medians of the reps."""

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from pgcluster import PgCluster  # noqa: E402
from common import free_port, cpu_seconds, wait_port, create_world  # noqa: E402

POOL = 8


def wrk(port, path, conns, duration, pinned):
    cmd = ["wrk", "-t1" if pinned else "-t2", "-c%d" % conns, "-d%ds" % duration, "--latency",
           "http://127.0.0.1:%d%s" % (port, path)]
    if pinned:
        cmd = ["taskset", "-c", "0"] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    reqs = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99 = float(m.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[m.group(2)]
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit("errors during the run:\n" + out)
    return reqs, total, p99


def verify(port, n):
    with urllib.request.urlopen("http://127.0.0.1:%d/db" % port) as r:
        v = json.loads(r.read())
        assert set(v) == {"id", "randomNumber"} and 1 <= v["id"] <= 10000, v
    with urllib.request.urlopen("http://127.0.0.1:%d/queries?queries=%d" % (port, n)) as r:
        v = json.loads(r.read())
        assert isinstance(v, list) and len(v) == n, v


def start(server, rover, pg, sqlite_path, pinned, tmp, rover2=None):
    port = free_port()
    env = dict(os.environ, PORT=str(port), DB_POOL=str(POOL))
    if server == "node":
        env["DB_URL"] = pg.url
        cmd = ["node", os.path.join(HERE, "node", "db.js")]
    else:
        if server.endswith("-pg"):
            env["DB_URL"] = pg.url
        else:
            env["DB_PATH"] = sqlite_path
        binary = rover2 if server.startswith("rover2") else rover
        cmd = [binary, os.path.join(HERE, "app", "db.lua"), "--port", str(port),
               "--workers", "1" if pinned else "2"]
    if pinned:
        cmd = ["taskset", "-c", "1"] + cmd
    p = subprocess.Popen(cmd, env=env, cwd=tmp, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_port(port, p)
    return p, port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rover", nargs="?", default="build/rover")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--only", choices=("pinned", "unpinned"))
    ap.add_argument("--servers", default="rover-pg,rover-sqlite,node")
    ap.add_argument("--rover2", help="a second Rover binary, measured as rover2-pg / rover2-sqlite "
                                     "(add them to --servers)")
    a = ap.parse_args()
    rover = os.path.abspath(a.rover)
    for tool in ("wrk", "taskset", "node", "npm"):
        if not shutil.which(tool):
            raise SystemExit("%s missing" % tool)
    if not os.path.isdir(os.path.join(HERE, "node", "node_modules", "pg")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=os.path.join(HERE, "node"),
                       check=True, stdout=subprocess.DEVNULL)
    servers = a.servers.split(",")
    modes = [a.only] if a.only else ["pinned", "unpinned"]
    workloads = [("/db", 1), ("/queries?queries=20", 20)]
    tmp = tempfile.mkdtemp(prefix="rover-dbbench-")
    sqlite_path = os.path.join(tmp, "world.sqlite")
    results = {}
    with PgCluster() as pg:
        create_world(pg, sqlite_path)
        try:
            for mode in modes:
                pinned = mode == "pinned"
                for rep in range(a.reps):
                    for server in servers:
                        p, port = start(server, rover, pg, sqlite_path, pinned, tmp,
                                        a.rover2 and os.path.abspath(a.rover2))
                        try:
                            for path, n in workloads:
                                verify(port, n)
                                for conns in (64, 256):
                                    wrk(port, path, conns, 1, pinned)  # warm-up (pool, JIT)
                                    pg_pids = pg.pids()
                                    s0, d0 = cpu_seconds([p.pid]), cpu_seconds(pg_pids)
                                    reqs, total, p99 = wrk(port, path, conns, a.duration, pinned)
                                    s1, d1 = cpu_seconds([p.pid]), cpu_seconds(pg_pids)
                                    row = (reqs, p99, (s1 - s0) / total * 1e6,
                                           (d1 - d0) / total * 1e6)
                                    results.setdefault((mode, server, path, conns), []).append(row)
                                    print("%-8s rep %d %-12s %-20s c%-3d %9.0f req/s p99 %7.2f ms "
                                          "server %7.1f us/req  pg %7.1f us/req"
                                          % (mode, rep + 1, server, path, conns, *row), flush=True)
                        finally:
                            p.terminate()
                            p.wait()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print("\nmedians (%d x %ds):" % (a.reps, a.duration))
    print("| mode | server | workload | conns | req/s | p99 ms | server µs/req | PostgreSQL µs/req |")
    print("|---|---|---|---|---|---|---|---|")
    for key in sorted(results):
        v = results[key]
        med = [statistics.median(x[i] for x in v) for i in range(4)]
        print("| %s | %s | %s | %d | %.0f | %.2f | %.1f | %.1f |" % (*key, *med))
    for mode in modes:
        for path, _ in workloads:
            for conns in (64, 256):
                r = results.get((mode, "rover-pg", path, conns))
                nd = results.get((mode, "node", path, conns))
                if not r or not nd:
                    continue
                rm = [statistics.median(x[i] for x in r) for i in range(4)]
                nm = [statistics.median(x[i] for x in nd) for i in range(4)]
                print("%s %s c%d rover-pg/node: req/s %.2fx, server CPU/req %.2fx, PG CPU/req %.2fx"
                      % (mode, path, conns, rm[0] / nm[0], rm[2] / nm[2],
                         rm[3] / nm[3] if nm[3] else float("nan")))


if __name__ == "__main__":
    sys.exit(main())

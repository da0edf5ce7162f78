#!/usr/bin/env python3
"""The six TechEmpower Framework Benchmarks tests (issue 13): Rover next to
Node.js (http + npm pg) and nginx + its Lua module, same run. Run it through
`bash bench/tfb.sh` (installs and builds what is missing); see bench/README.md,
"TechEmpower tests", for the method and the results.

    python3 bench/tfb.py [--quick] [--reps 3] [--duration 3] [--modes pinned,unpinned]
                         [--tests plaintext,json,db,queries,fortunes,updates] [--out DIR]

Servers (all started once per mode, all verified before anything is measured):
  rover         build/rover bench/tfb/app.lua on PostgreSQL (every test)
  rover-sqlite  the same app on a SQLite file (tests db..updates)
  node          bench/node/tfb.js: one process pinned, the cluster module
                (one per CPU) unpinned
  nginx-lua     conf/nginx-tfb.conf.in: plaintext, json
  limit         the floor (limit/limit.c): plaintext, json, fixed bytes with
                no Server or Date (so not verified)
Pinned: each server on CPU 0 (one worker / process), wrk -t1 on CPU 1,
PostgreSQL unpinned; unpinned: nothing pinned, default workers, wrk -t2.
Per (mode, rep, test, level, connections) a back-to-back group runs every
server of that test one after the other (order reversed on odd reps).
Per run: req/s, p99, server CPU per request (all its processes), PostgreSQL
CPU per request (postmaster + children), wrk's CPU, other% (machine busy
time not accounted to those). Medians over reps; ratios inside groups."""

import argparse
import datetime
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(HERE, "tfb"))
from pgcluster import PgCluster  # noqa: E402
from common import free_port, cpu_seconds, create_world, Server, wrk_run, machine_busy_seconds  # noqa: E402
import verify as V  # noqa: E402

NCPU = os.cpu_count() or 1
POOL = 8
WEIGHTS = {"json": 1.0, "plaintext": 0.75, "db": 0.75, "queries": 0.75, "fortunes": 1.5, "updates": 1.25}
DB_TESTS = ("db", "queries", "fortunes", "updates")
IMPLEMENTS = {
    "rover": V.TESTS,
    "rover-sqlite": DB_TESTS,
    "node": V.TESTS,
    "nginx-lua": ("plaintext", "json"),
    "limit": ("plaintext", "json"),
}
PEERS = ("node", "nginx-lua")


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def create_fortunes(pg, sqlite_path):
    values = ", ".join("(%d, '%s')" % (i, m.replace("'", "''")) for i, m in V.FORTUNES)
    pg.psql("CREATE TABLE fortune (id integer PRIMARY KEY, message varchar(2048) NOT NULL);"
            "INSERT INTO fortune VALUES %s;" % values)
    pg.psql("VACUUM ANALYZE fortune")
    con = sqlite3.connect(sqlite_path)
    con.execute("CREATE TABLE fortune (id INTEGER PRIMARY KEY, message TEXT NOT NULL)")
    con.executemany("INSERT INTO fortune VALUES (?, ?)", V.FORTUNES)
    con.commit()
    con.close()


def pg_readback(pg):
    def rb(ids):
        out = pg.psql("SELECT id, randomnumber FROM world WHERE id IN (%s)" % ",".join(map(str, ids)))
        return {int(a): int(b) for a, b in (line.split("|") for line in out.split())}
    return rb


def sqlite_readback(path):
    def rb(ids):
        con = sqlite3.connect(path)
        try:
            return dict(con.execute("SELECT id, randomnumber FROM world WHERE id IN (%s)"
                                    % ",".join(map(str, ids))).fetchall())
        finally:
            con.close()
    return rb


def render_nginx(run_dir, port, workers):
    subst = {"@PORT@": str(port), "@WORKERS@": str(workers), "@RUN@": run_dir, "@BENCH@": HERE,
             "@DEPS@": os.path.join(HERE, ".deps", "root"), "@REUSEPORT@": "reuseport"}
    for src, dst in (("conf/nginx-common.inc", "nginx-common.inc"), ("conf/nginx-tfb.conf.in", "nginx-tfb.conf")):
        s = open(os.path.join(HERE, src)).read()
        for k, v in subst.items():
            s = s.replace(k, v)
        open(os.path.join(run_dir, dst), "w").write(s)
    os.makedirs(os.path.join(run_dir, "tmp"), exist_ok=True)
    return os.path.join(run_dir, "nginx-tfb.conf")


def make_servers(mode, a, pg, sqlite_path, run_dir):
    pinned = mode == "pinned"
    cpus = a.server_cpu if pinned else None
    workers = ["--workers", "1"] if pinned else []
    app = os.path.join(HERE, "tfb", "app.lua")
    servers = {}
    for name in a.servers:
        port = free_port()
        logf = os.path.join(run_dir, "%s-%s.log" % (mode, name))
        if name == "rover":
            s = Server(name, [a.rover, app, "--host", "127.0.0.1", "--port", str(port)] + workers,
                       env={"TFB_DB_URL": pg.url, "TFB_DB_POOL": str(POOL)}, cpus=cpus, cwd=run_dir, log=logf)
        elif name == "rover-sqlite":
            s = Server(name, [a.rover, app, "--host", "127.0.0.1", "--port", str(port)] + workers,
                       env={"TFB_DB_URL": "", "TFB_DB_PATH": sqlite_path}, cpus=cpus, cwd=run_dir, log=logf)
        elif name == "node":
            s = Server(name, ["node", os.path.join(HERE, "node", "tfb.js")],
                       env={"PORT": str(port), "TFB_DB_URL": pg.url, "TFB_DB_POOL": str(POOL),
                            "TFB_CLUSTER": "0" if pinned else "1"}, cpus=cpus, cwd=run_dir, log=logf)
        elif name == "nginx-lua":
            conf = render_nginx(run_dir, port, 1 if pinned else NCPU)
            s = Server(name, ["nginx", "-p", run_dir, "-c", conf, "-e", os.path.join(run_dir, "nginx-tfb.error.log"),
                              "-g", "daemon off;"],
                       env={"LD_LIBRARY_PATH": os.path.join(HERE, ".deps", "root", "usr", "lib", "x86_64-linux-gnu")},
                       cpus=cpus, cwd=run_dir, log=logf)
        elif name == "limit":
            s = Server(name, [os.path.join(HERE, ".deps", "bin", "limit-server"), "--port", str(port),
                              "--host", "127.0.0.1"], cpus=cpus, cwd=run_dir, log=logf)
        else:
            raise SystemExit("unknown server %s" % name)
        s.port = port
        servers[name] = s
    return servers


def stop_all(servers):
    """TERM to every process of every server at once, then Server.stop() (KILL after 5 s)."""
    import signal
    for s in servers:
        for p in s.pids():
            try:
                os.kill(p, signal.SIGTERM)
            except OSError:
                pass
    for s in servers:
        s.stop()


def workloads(a):
    """(test, level, path, pipelined, [conns])"""
    out = []
    for t in a.tests:
        if t == "plaintext":
            out.append((t, None, "/plaintext", True, a.plaintext_conns))
        elif t in ("queries", "updates"):
            for n in a.levels:
                out.append((t, n, "/%s?queries=%d" % (t, n), False, a.conns))
        else:
            out.append((t, None, "/" + t, False, a.conns))
    return out


def pg_cpu(pg):
    """PostgreSQL's CPU seconds so far: the postmaster's own and its reaped
    children's (cutime, cstime: backends that exited), plus every live child's,
    so a backend started or ended during a run is counted too."""
    root = pg.postmaster_pid()
    with open("/proc/%d/stat" % root) as f:
        v = f.read().rsplit(")", 1)[1].split()
    own = sum(int(x) for x in v[11:15]) / os.sysconf("SC_CLK_TCK")
    return own + cpu_seconds([p for p in pg.pids() if p != root])


def measure(s, path, conns, pipelined, a, pinned, pg):
    wrk_cpu = None if not pinned else "1" if a.server_cpu == "0" else "0"
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    s0, d0, b0, t0 = s.cpu(), pg_cpu(pg), machine_busy_seconds(), time.monotonic()
    r = wrk_run("http://127.0.0.1:%d%s" % (s.port, path), conns, a.duration,
                threads=1 if pinned else 2, cpus=wrk_cpu, pipeline=pipelined)
    s1, d1, b1, t1 = s.cpu(), pg_cpu(pg), machine_busy_seconds(), time.monotonic()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_s = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    n = max(r["requests"], 1)
    wall = t1 - t0
    return {"rps": r["rps"], "requests": r["requests"], "p99_ms": r["p99_us"] / 1000.0,
            "p50_ms": r["p50_us"] / 1000.0, "errors": r["errors"],
            "srv_us": (s1 - s0) / n * 1e6, "pg_us": (d1 - d0) / n * 1e6,
            "srv_pct": (s1 - s0) / wall * 100, "pg_pct": (d1 - d0) / wall * 100, "wrk_pct": wrk_s / wall * 100,
            "other_pct": max(0.0, ((b1 - b0) - (s1 - s0) - (d1 - d0) - wrk_s) / wall * 100),
            "raw": r["raw"]}


def med(rows, key):
    v = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(v) if v else float("nan")


def summarize(results, a):
    """results: list of dicts {mode, rep, test, level, conns, server, ...}. Returns Markdown."""
    by = {}
    for r in results:
        by.setdefault((r["mode"], r["test"], r["level"], r["conns"], r["server"]), []).append(r)
    order = [s for s in ("rover", "rover-sqlite", "node", "nginx-lua", "limit") if s in a.servers]
    lines = ["| mode | test | conns | server | req/s | p99 ms | server µs/req | PostgreSQL µs/req | errors | other% |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for mode in a.modes:
        for test, level, _, _, conns_list in workloads(a):
            for c in conns_list:
                for s in order:
                    rows = by.get((mode, test, level, c, s))
                    if not rows:
                        continue
                    name = test + ("=%d" % level if level else "")
                    pgus = med(rows, "pg_us")
                    lines.append("| %s | %s | %d | %s | %.0f | %.2f | %.1f | %s | %d | %.0f |" % (
                        mode, name, c, s, med(rows, "rps"), med(rows, "p99_ms"), med(rows, "srv_us"),
                        "%.1f" % pgus if s in ("rover", "node") and test in DB_TESTS else "—",
                        sum(r["errors"] for r in rows), med(rows, "other_pct")))
    # the same, one row per (mode, test, conns), for bench/README.md
    def cell(mode, test, level, c, srv, key, fmtx):
        rows = by.get((mode, test, level, c, srv))
        return fmtx % med(rows, key) if rows else ""
    compact = ["| mode | test | conns | req/s Rover | Rover SQLite | Node | nginx-lua | floor | p99 ms Rover | Node | nginx-lua "
               "| server µs/req Rover | Rover SQLite | Node | nginx-lua | floor | PostgreSQL µs/req Rover | Node |",
               "|" + "---|" * 18]
    for mode in a.modes:
        for test, level, _, _, conns_list in workloads(a):
            for c in conns_list:
                name = test + ("=%d" % level if level else "")
                pgc = test in DB_TESTS
                compact.append("| %s | %s | %d | %s |" % (mode, name, c, " | ".join([
                    cell(mode, test, level, c, "rover", "rps", "%.0f"), cell(mode, test, level, c, "rover-sqlite", "rps", "%.0f"),
                    cell(mode, test, level, c, "node", "rps", "%.0f"), cell(mode, test, level, c, "nginx-lua", "rps", "%.0f"),
                    cell(mode, test, level, c, "limit", "rps", "%.0f"),
                    cell(mode, test, level, c, "rover", "p99_ms", "%.2f"), cell(mode, test, level, c, "node", "p99_ms", "%.2f"),
                    cell(mode, test, level, c, "nginx-lua", "p99_ms", "%.2f"),
                    cell(mode, test, level, c, "rover", "srv_us", "%.1f"), cell(mode, test, level, c, "rover-sqlite", "srv_us", "%.1f"),
                    cell(mode, test, level, c, "node", "srv_us", "%.1f"), cell(mode, test, level, c, "nginx-lua", "srv_us", "%.1f"),
                    cell(mode, test, level, c, "limit", "srv_us", "%.1f"),
                    cell(mode, test, level, c, "rover", "pg_us", "%.1f") if pgc else "",
                    cell(mode, test, level, c, "node", "pg_us", "%.1f") if pgc else ""])))
    # ratios inside groups, medians over reps
    groups = {}
    for r in results:
        groups.setdefault((r["mode"], r["rep"], r["test"], r["level"], r["conns"]), {})[r["server"]] = r

    def ratio(mode, test, level, conns, f):
        v = []
        for (m, _rep, t, lv, c), g in groups.items():
            if (m, t, lv, c) == (mode, test, level, conns):
                x = f(g)
                if x is not None:
                    v.append(x)
        return statistics.median(v) if v else None

    goals = []
    matrix = {}

    def goal(what, target, value, ok, detail=""):
        goals.append((what, target, value, ok, detail))
        kind, _, rest = what.partition(", ")  # "<kind>, <mode>, <test> c<conns>"
        mode, _, tc = rest.partition(", ")
        tname, _, cc = tc.rpartition(" c")
        lst = a.plaintext_conns if tname == "plaintext" else a.conns
        label = "c%d" % a.conns[lst.index(int(cc))] if len(a.conns) == len(lst) else "c" + cc
        matrix.setdefault(tname, {})[(kind + " " + target.split(" ", 1)[1] if kind == "p99" else kind, mode, label)] = \
            "%s%s" % (value, "" if ok else " ✗")

    def div(x, y):
        return x / y if y else None

    for test, level, _, _, conns_list in workloads(a):
        name = test + ("=%d" % level if level else "")
        for c in conns_list:
            if "pinned" in a.modes:
                if test in ("plaintext", "json") and "nginx-lua" in a.servers:
                    r = ratio("pinned", test, level, c, lambda g: div(g["rover"]["rps"], g["nginx-lua"]["rps"])
                              if "rover" in g and "nginx-lua" in g else None)
                    if r is not None:
                        goal("req/s, pinned, %s c%d" % (name, c), ">= 1.5x nginx-lua", "%.2fx" % r, r >= 1.5)
                    if "limit" in a.servers:
                        def above(g):
                            if not all(k in g for k in ("rover", "nginx-lua", "limit")):
                                return None
                            return div(g["rover"]["srv_us"] - g["limit"]["srv_us"],
                                       g["nginx-lua"]["srv_us"] - g["limit"]["srv_us"])
                        r = ratio("pinned", test, level, c, above)
                        if r is not None:
                            goal("server CPU above the floor, pinned, %s c%d" % (name, c), "<= 0.5x nginx-lua",
                                 "%.2fx" % r, r <= 0.5)
                if test in DB_TESTS and "node" in a.servers:
                    both = lambda k: (lambda g: div(g["rover"][k], g["node"][k]) if "rover" in g and "node" in g else None)  # noqa: E731
                    r = ratio("pinned", test, level, c, both("srv_us"))
                    if r is not None:
                        goal("server CPU/req, pinned, %s c%d" % (name, c), "<= 0.4x node", "%.2fx" % r, r <= 0.4)
                    r = ratio("pinned", test, level, c, both("pg_us"))
                    if r is not None:
                        goal("PostgreSQL CPU/req, pinned, %s c%d" % (name, c), "<= 0.75x node", "%.2fx" % r, r <= 0.75)
                    r = ratio("pinned", test, level, c, both("rps"))
                    if r is not None:
                        goal("req/s, pinned, %s c%d" % (name, c), ">= 1.7x node", "%.2fx" % r, r >= 1.7)
            for mode in a.modes:
                for peer in PEERS:
                    if peer not in a.servers or test not in IMPLEMENTS[peer]:
                        continue
                    r = ratio(mode, test, level, c, lambda g: div(g["rover"]["p99_ms"], g[peer]["p99_ms"])
                              if "rover" in g and peer in g else None)
                    if r is not None:
                        goal("p99, %s, %s c%d" % (mode, name, c), "<= %s" % peer, "%.2fx" % r, r <= 1.0)
    # the goals as one row per test: Rover / peer per cell, ✗ = not met
    cols = []
    for row in matrix.values():
        for k in row:
            if k not in cols:
                cols.append(k)
    order_kind = ["req/s", "server CPU above the floor", "server CPU/req", "PostgreSQL CPU/req", "p99 nginx-lua", "p99 node"]
    cols.sort(key=lambda k: (order_kind.index(k[0]) if k[0] in order_kind else 9, k[1] != "pinned", int(k[2][1:])))
    gm = ["| test | " + " | ".join("%s %s %s" % k for k in cols) + " |", "|---|" + "---|" * len(cols)]
    for tname, row in matrix.items():
        gm.append("| %s | " % tname + " | ".join(row.get(k, "") for k in cols) + " |")
    gl = ["| goal | target | measured (Rover / peer, same group, median) | met |", "|---|---|---|---|"]
    for what, target, value, ok, _ in goals:
        gl.append("| %s | %s | %s | %s |" % (what, target, value, "yes" if ok else "**no**"))
    # composite: per test the best req/s of each server over its connection counts
    # (queries and updates at 20, as TechEmpower scores them), relative to the best
    # server of that test, weighted; 100 = best in every test.
    comp = ["| mode | " + " | ".join(s for s in order if s != "limit" and s != "rover-sqlite") + " |",
            "|---|" + "---|" * len([s for s in order if s not in ("limit", "rover-sqlite")])]
    for mode in a.modes:
        score = {s: 0.0 for s in order if s not in ("limit", "rover-sqlite")}
        for test in a.tests:
            level = 20 if test in ("queries", "updates") else None
            if level and level not in a.levels:
                level = max(a.levels)
            conns_list = a.plaintext_conns if test == "plaintext" else a.conns
            best = {}
            for s in score:
                v = [med(by[(mode, test, level, c, s)], "rps") for c in conns_list if (mode, test, level, c, s) in by]
                if v:
                    best[s] = max(v)
            top = max(best.values()) if best else 0
            for s, v in best.items():
                score[s] += WEIGHTS[test] * v / top
        total = sum(WEIGHTS[t] for t in a.tests)
        comp.append("| %s | " % mode + " | ".join("%.1f" % (100 * score[s] / total) for s in score) + " |")
    met = sum(1 for g in goals if g[3])
    gm.append("\nColumns c%s: plaintext's row is at c%s (16 pipelined). "
              % ("/c".join(map(str, a.conns)), "/c".join(map(str, a.plaintext_conns))) +
              "%d of %d goals met. Targets: req/s >= 1.5x nginx-lua (plaintext, json) / >= 1.7x node (database "
              "tests), pinned; server CPU above the floor <= 0.5x nginx-lua; server CPU/req <= 0.4x node; "
              "PostgreSQL CPU/req <= 0.75x node; p99 <= the peer's." % (met, len(goals)))
    return "\n".join(lines), "\n".join(gl) + "\n\nAs a matrix:\n\n" + "\n".join(gm), "\n".join(comp), goals, "\n".join(compact)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rover", default=os.path.join(ROOT, "build", "rover"))
    ap.add_argument("--quick", action="store_true", help="1 rep of 2 s, pinned, c64 (p16 c256), levels 20")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--modes", help="default pinned,unpinned (--quick: pinned)")
    ap.add_argument("--tests", default=",".join(V.TESTS))
    ap.add_argument("--servers", default="rover,rover-sqlite,node,nginx-lua,limit")
    ap.add_argument("--conns", default="64,256")
    ap.add_argument("--plaintext-conns", default="256,1024")
    ap.add_argument("--levels", default="1,5,10,15,20")
    ap.add_argument("--server-cpu", default="0", help="pinned mode: the server's CPU (wrk gets the other)")
    ap.add_argument("--out", help="results directory (default bench/results/tfb_<date>_<time>)")
    ap.add_argument("--verify-only", action="store_true")
    ap.add_argument("--summarize-only", metavar="DIR", help="the tables of an earlier run, from its results.json")
    a = ap.parse_args()
    if a.summarize_only:
        return summarize_only(a.summarize_only)
    if a.quick:
        a.reps, a.duration, a.conns, a.plaintext_conns, a.levels = 1, 2, "64", "256", "20"
        a.modes = a.modes or "pinned"
    a.modes = a.modes or "pinned,unpinned"
    a.modes, a.tests, a.servers = a.modes.split(","), a.tests.split(","), a.servers.split(",")
    a.conns = [int(x) for x in a.conns.split(",")]
    a.plaintext_conns = [int(x) for x in a.plaintext_conns.split(",")]
    a.levels = [int(x) for x in a.levels.split(",")]
    a.rover = os.path.abspath(a.rover)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H%M%S")
    out_dir = a.out or os.path.join(HERE, "results", "tfb_" + stamp + ("_quick" if a.quick else ""))
    os.makedirs(out_dir, exist_ok=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 65536), hard), hard))
    run_dir = tempfile.mkdtemp(prefix="rover-tfb-")
    os.chmod(run_dir, 0o755)  # nginx's workers run as nobody
    sqlite_path = os.path.join(run_dir, "tfb.sqlite")
    results, failed, raw = [], [], open(os.path.join(out_dir, "wrk_raw.txt"), "w")
    started = time.monotonic()
    with PgCluster() as pg:
        log("PostgreSQL cluster at %s (port %d); creating World and Fortune" % (pg.dir, pg.port))
        create_world(pg, sqlite_path)
        create_fortunes(pg, sqlite_path)
        readback = {"rover": pg_readback(pg), "node": pg_readback(pg), "rover-sqlite": sqlite_readback(sqlite_path)}
        try:
            for mode in a.modes:
                pinned = mode == "pinned"
                servers = make_servers(mode, a, pg, sqlite_path, run_dir)
                try:
                    for s in servers.values():
                        s.start(s.port)
                        log("%s: started %s on port %d (pids %s)" % (mode, s.name, s.port, s.pids()))
                    bad = []
                    for name, s in servers.items():
                        if name == "limit":
                            continue
                        tests = [t for t in a.tests if t in IMPLEMENTS[name]]
                        problems = V.verify(s.port, tests, readback.get(name))
                        log("%s: verified %s: %s" % (mode, name, "; ".join(problems) if problems else
                                                      "all %d tests right (%s)" % (len(tests), ",".join(tests))))
                        bad += ["%s %s" % (name, p) for p in problems]
                    if bad:
                        raise SystemExit("verification failed, nothing measured:\n  " + "\n  ".join(bad))
                    if a.verify_only:
                        continue
                    wl = workloads(a)
                    for test, level, path, pipelined, conns_list in wl:  # warm-up: JIT, pools
                        for name, s in servers.items():
                            if test in IMPLEMENTS[name]:
                                measure(s, path, conns_list[0], pipelined,
                                        argparse.Namespace(**dict(vars(a), duration=a.warmup)), pinned, pg)
                    log("%s: warmed up" % mode)
                    for rep in range(a.reps):
                        for test, level, path, pipelined, conns_list in wl:
                            for c in conns_list:
                                names = [n for n in a.servers if test in IMPLEMENTS[n]]
                                if rep % 2:
                                    names.reverse()
                                for name in names:
                                    try:
                                        m = measure(servers[name], path, c, pipelined, a, pinned, pg)
                                    except RuntimeError as e:  # a wrk run without a result: logged, left out
                                        log("%s rep %d %s c%d %s: FAILED: %s" % (mode, rep + 1, path, c, name, e))
                                        raw.write("== %s rep %d %s c%d %s FAILED\n%s\n" % (mode, rep + 1, path, c, name, e))
                                        failed.append((mode, rep + 1, path, c, name))
                                        continue
                                    raw.write("== %s rep %d %s c%d %s\n%s\n" % (mode, rep + 1, path, c, name, m.pop("raw")))
                                    m.update(mode=mode, rep=rep + 1, test=test, level=level, conns=c, server=name)
                                    results.append(m)
                                    save(out_dir, a, results, failed, started)
                                    log("%-8s rep %d %-22s c%-4d %-12s %9.0f req/s p99 %8.2f ms  server %7.1f us/req"
                                        "  pg %7.1f us/req  err %d  other %3.0f%%"
                                        % (mode, rep + 1, path, c, name, m["rps"], m["p99_ms"], m["srv_us"],
                                           m["pg_us"], m["errors"], m["other_pct"]))
                finally:
                    stop_all(servers.values())
        finally:
            raw.close()
            shutil.rmtree(run_dir, ignore_errors=True)
    if a.verify_only:
        return 0
    env = {"rover_commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                          capture_output=True, text=True).stdout.strip(),
           "node": subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip(),
           "nginx": subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip(),
           "minutes": round((time.monotonic() - started) / 60, 1), "argv": sys.argv[1:]}
    save(out_dir, a, results, failed, started, env)
    write_summary(results, a, out_dir, stamp, env)
    print("output: %s" % out_dir)
    return 0


def save(out_dir, a, results, failed, started, env=None):
    """results.json, rewritten after every run (a run cut short can still be summarized)."""
    env = env or {"minutes": round((time.monotonic() - started) / 60, 1), "rover_commit": "", "node": "",
                  "nginx": "", "partial": True}
    tmp = os.path.join(out_dir, "results.json.tmp")
    json.dump({"env": env, "settings": dict(vars(a)), "runs": results, "failed": failed}, open(tmp, "w"), indent=1)
    os.replace(tmp, os.path.join(out_dir, "results.json"))


def write_summary(results, a, out_dir, stamp, env):
    table, goals_md, comp, goals, compact = summarize(results, a)
    md = ("## TechEmpower tests, %s (rover %s, %s, %s, %s min)\n\nAll runs (medians over %d reps of %d s):\n\n%s\n\n"
          "The same, one row per test:\n\n%s\n\n"
          "Composite (TechEmpower weights, each test relative to its best server; queries/updates at 20):\n\n%s\n\n"
          "Goals:\n\n%s\n" % (stamp, env["rover_commit"], env["node"], env["nginx"], env["minutes"],
                              a.reps, a.duration, table, compact, comp, goals_md))
    open(os.path.join(out_dir, "summary.md"), "w").write(md)
    print("\n" + md)


def summarize_only(d):
    r = json.load(open(os.path.join(d, "results.json")))
    a = argparse.Namespace(**r["settings"])
    write_summary(r["runs"], a, d, os.path.basename(d), r["env"])
    return 0


if __name__ == "__main__":
    sys.exit(main())

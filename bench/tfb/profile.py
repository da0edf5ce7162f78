#!/usr/bin/env python3
"""Where a TechEmpower test's server CPU goes (issue 13): perf samples of the
server while wrk drives one test, pinned as in bench/tfb.py (server on CPU 0,
wrk on CPU 1, PostgreSQL unpinned), split by binary (kernel, LuaJIT's
interpreter and runtime, the JIT's compiled code, libpq, SQLite, libc,
rover) and the top symbols.

    python3 bench/tfb/profile.py [--server rover|rover-sqlite|node|nginx-lua]
        [--tests db,queries=20,...] [--seconds 4] [--conns 64] [--rover build/rover]

Needs perf (linux-perf). Prints a Markdown table per test."""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
sys.path.insert(0, BENCH)
import tfb  # noqa: E402
from common import wrk_run  # noqa: E402

DSO_NAMES = {"[kernel.kallsyms]": "kernel", "libluajit-5.1.so.2.1.0": "LuaJIT interpreter/runtime (incl. GC, C API)",
             "libpq.so.5.15": "libpq", "libsqlite3.so.0.8.6": "SQLite", "libc.so.6": "libc", "rover": "rover (C++)"}


def perf_split(pid, seconds, out):
    subprocess.run(["perf", "record", "-q", "-p", ",".join(map(str, pid)), "-o", out, "--", "sleep", str(seconds)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rep = subprocess.run(["perf", "report", "-i", out, "--no-children", "--sort", "dso", "--stdio"],
                         capture_output=True, text=True).stdout
    dsos = []
    for line in rep.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(\S+)", line)
        if m:
            name = m.group(2)
            if name.startswith("[JIT]"):
                name = "JIT-compiled Lua"
            dsos.append((float(m.group(1)), DSO_NAMES.get(name, name)))
    rep = subprocess.run(["perf", "report", "-i", out, "--no-children", "--sort", "dso,sym", "--stdio"],
                         capture_output=True, text=True).stdout
    syms = []
    for line in rep.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(\S+)\s+\[.\]\s+(.*)", line)
        if m and len(syms) < 12:
            syms.append((float(m.group(1)), m.group(2), m.group(3).strip()[:70]))
    return dsos, syms


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default="rover")
    ap.add_argument("--tests", default="json,db,queries=20,fortunes,updates=20")
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--rover", default=os.path.join(os.path.dirname(BENCH), "build", "rover"))
    a = ap.parse_args()
    ns = argparse.Namespace(servers=[a.server], rover=os.path.abspath(a.rover), server_cpu="0")
    run_dir = tempfile.mkdtemp(prefix="rover-tfbprof-")
    os.chmod(run_dir, 0o755)
    sqlite_path = os.path.join(run_dir, "tfb.sqlite")
    with tfb.PgCluster() as pg:
        tfb.create_world(pg, sqlite_path)
        tfb.create_fortunes(pg, sqlite_path)
        s = tfb.make_servers("pinned", ns, pg, sqlite_path, run_dir)[a.server]
        s.start(s.port)
        try:
            for t in a.tests.split(","):
                name, _, level = t.partition("=")
                path = "/%s?queries=%s" % (name, level) if level else "/" + name
                pipelined = name == "plaintext"
                url = "http://127.0.0.1:%d%s" % (s.port, path)
                wrk_run(url, a.conns, 1, cpus="1", pipeline=pipelined)  # warm-up
                res = {}
                th = threading.Thread(target=lambda: res.update(wrk_run(url, a.conns, a.seconds + 2, cpus="1",
                                                                        pipeline=pipelined)))
                th.start()
                time.sleep(1)
                dsos, syms = perf_split(s.pids(), a.seconds, os.path.join(run_dir, "perf.data"))
                th.join()
                print("\n%s %s, pinned c%d, %.0f req/s during the samples:\n" % (a.server, path, a.conns, res.get("rps", 0)))
                print("| share of the server's samples | where |\n|---|---|")
                for pct, d in dsos[:8]:
                    print("| %.1f%% | %s |" % (pct, d))
                print("\ntop symbols: " + "; ".join("%s %s %.1f%%" % (d.split(".so")[0], sym, pct) for pct, d, sym in syms))
        finally:
            tfb.stop_all([s])
    subprocess.run(["rm", "-rf", run_dir])


if __name__ == "__main__":
    main()

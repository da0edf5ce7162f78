#!/usr/bin/env python3
"""A/B two Rover binaries in one run: the before/after figure of a speed change.

  python3 bench/ab.py OLD_BINARY NEW_BINARY [--path /echo] [--reps 5] [--duration 5]
                      [--conns 100] [--pipeline 1] [--app bench/app/echo.lua]

Both run bench/app/echo.lua with one worker pinned to CPU 1; wrk (one thread)
runs on CPU 0 (--pipeline N > 1: bench/loadgen with N requests per write, also
on CPU 0). Runs alternate OLD, NEW, OLD, NEW ... so drift of the machine hits
both alike. Prints, per binary, the median req/s and the median server CPU per
request (user+sys of the server process from /proc, over the run), and the
ratios NEW/OLD. Needs wrk and taskset (bench/run.sh installs wrk), 2 CPUs, and for
--pipeline bench/.deps/bin/loadgen (run.sh builds it from bench/loadgen/loadgen.c).
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import socket

BENCH = os.path.dirname(os.path.abspath(__file__))
HZ = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def start(binary, app, port):
    p = subprocess.Popen(["taskset", "-c", "1", binary, app, "--host", "127.0.0.1", "--port", str(port),
                          "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p
        except OSError:
            if p.poll() is not None:
                sys.exit(f"{binary} exited at start")
            time.sleep(0.05)
    p.kill()
    sys.exit(f"{binary} did not listen on {port}")


def run_load(a, port):
    if a.pipeline > 1:
        lg = os.path.join(BENCH, ".deps", "bin", "loadgen")
        cmd = ["taskset", "-c", "0", lg, "--port", str(port), "--path", a.path, "--conns", str(a.conns),
               "--depth", str(a.pipeline), "--duration", str(a.duration), "--warmup", "0"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=a.duration + 30).stdout
        kv = dict(x.split("=", 1) for x in out.split() if "=" in x)
        return int(kv["responses"]), float(kv["rps"])
    cmd = ["taskset", "-c", "0", "wrk", "-t1", f"-c{a.conns}", f"-d{a.duration}s", "--timeout", "2s",
           f"http://127.0.0.1:{port}{a.path}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=a.duration + 30).stdout
    n = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    if "Non-2xx" in out or "Socket errors" in out:
        sys.exit("errors during the run:\n" + out)
    return n, rps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--path", default="/echo")
    ap.add_argument("--app", default=os.path.join(BENCH, "app", "echo.lua"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--conns", type=int, default=100)
    ap.add_argument("--pipeline", type=int, default=1)
    a = ap.parse_args()
    servers = {"old": (a.old, 19120), "new": (a.new, 19121)}
    procs = {k: start(b, a.app, port) for k, (b, port) in servers.items()}
    res = {k: dict(rps=[], us=[]) for k in servers}
    try:
        for k, (_, port) in servers.items():  # warm-up (JIT, caches)
            a2 = argparse.Namespace(**{**vars(a), "duration": 2})
            run_load(a2, port)
        for rep in range(a.reps):
            for k, (_, port) in servers.items():
                t0 = cpu_ticks(procs[k].pid)
                n, rps = run_load(a, port)
                us = (cpu_ticks(procs[k].pid) - t0) / HZ * 1e6 / n
                res[k]["rps"].append(rps)
                res[k]["us"].append(us)
                print(f"rep {rep + 1} {k}: {rps:,.0f} req/s, {us:.2f} us/req", file=sys.stderr)
    finally:
        for p in procs.values():
            p.terminate()
            p.wait(timeout=10)
    m = {k: (statistics.median(v["rps"]), statistics.median(v["us"])) for k, v in res.items()}
    load = f"loadgen depth {a.pipeline}" if a.pipeline > 1 else "wrk -t1"
    print(f"GET {a.path}, {load}, c{a.conns}, {a.reps} x {a.duration}s, server pinned to CPU 1, medians:")
    for k in servers:
        print(f"  {k}: {m[k][0]:>10,.0f} req/s  {m[k][1]:.2f} us/req  ({servers[k][0]})")
    print(f"  new/old: req/s {m['new'][0] / m['old'][0]:.3f}x, server CPU per request {m['new'][1] / m['old'][1]:.3f}x")


if __name__ == "__main__":
    main()

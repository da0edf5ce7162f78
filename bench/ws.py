#!/usr/bin/env python3
"""WebSockets, Rover vs Node.js + the npm `ws` package in the same run (issue #12).

    python3 bench/ws.py [ROVER_BIN] [--quick] [--reps 3] [--duration 5] [--warmup 1]
                        [--rounds 40] [--conns 100] [--bcast-conns 1000] [--only echo|broadcast]
                        [--quiet-wait 60]

Servers (all started once, side by side; idle ones cost nothing): Rover with
bench/app/ws.lua (WS_WORKERS workers), Node with bench/node/ws.js (one process,
or WORKERS=2: the cluster module, broadcasts relayed through the primary).
The load generator is bench/wsload/wsload.c (built here into
bench/.deps/bin/wsload; `npm ci` in bench/node if its ws package is missing).

* Echo, pinned: the server on CPU 1 (1 worker / 1 process), wsload on CPU 0,
  --conns connections each with one message in flight. Per run: messages/s,
  round-trip p50/p99 (wsload's), server CPU per message (utime + stime of all
  the server's processes and threads from /proc, read when wsload prints
  phase=measuring and phase=done), wsload's own CPU per message. Each server
  gets a warm-up run first (not recorded); then --reps reps, the servers'
  order alternating rep by rep (rover, node / node, rover / ...).
* Broadcast: --bcast-conns connections open, then one sends {"type":"go"} and
  the time runs until every connection has its tick; --rounds rounds (40;
  after 2 not counted), 50 ms apart; per run the median and the max over rounds and
  the server's CPU per broadcast (its threads' run time from
  /proc/<pid>/task/*/schedstat: ns resolution, where utime+stime ticks of 10 ms
  would be too coarse). Configurations: unpinned Rover 2 workers, Rover 1
  worker, Node 1 process, Node cluster of 2; pinned (server CPU 1, wsload CPU
  0) Rover 1 worker and Node 1 process. Same alternation.

Medians over the reps; ratios Rover / Node are taken rep by rep (the two runs
of one rep are back to back), then their median. `other%` is machine-wide busy
CPU during a run not accounted to the server or wsload (of one core; the
machine is shared): a noisy run is shown, not redone. Before each rep the
script waits up to --quiet-wait s (60) for a quiet second."""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import free_port, cpu_user_sys, wait_port  # noqa: E402

WSLOAD_SRC = os.path.join(HERE, "wsload", "wsload.c")
WSLOAD = os.path.join(HERE, ".deps", "bin", "wsload")
SERVER_CPU, LOAD_CPU = "1", "0"


def build_wsload():
    if os.path.exists(WSLOAD) and os.path.getmtime(WSLOAD) >= os.path.getmtime(WSLOAD_SRC):
        return
    os.makedirs(os.path.dirname(WSLOAD), exist_ok=True)
    subprocess.run(["cc", "-O2", "-o", WSLOAD, WSLOAD_SRC], check=True, timeout=120)


def descendants(pid):
    """pid and every process below it (Node's cluster workers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, t)) as f:
                    todo.extend(int(x) for x in f.read().split())
        except OSError:
            pass
    return out


def run_ns(pids):
    """CPU run time in seconds (ns resolution) of every thread of `pids`."""
    total = 0
    for pid in pids:
        try:
            tasks = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    return total / 1e9


def machine_busy():
    """Busy seconds of all CPUs (from /proc/stat) and wall time."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK"), time.monotonic()


def wait_quiet(max_s, busy_max=25.0):
    """Up to max_s s until one second with under busy_max % of a core busy."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < max_s:
        a = machine_busy()
        time.sleep(1)
        b = machine_busy()
        pct = (b[0] - a[0]) / (b[1] - a[1]) * 100
        if pct < busy_max:
            return
    if max_s > 0:
        print("(the machine was not quiet within %.0f s: %.0f%% of a core busy; measuring anyway)"
              % (max_s, pct), flush=True)


class Server:
    def __init__(self, name, kind, workers, pinned, rover):
        self.name, self.kind, self.workers, self.pinned = name, kind, workers, pinned
        self.port = free_port()
        env = dict(os.environ, PORT=str(self.port))
        if kind == "rover":
            env["WS_WORKERS"] = str(workers)
            cmd = [rover, os.path.join(HERE, "app", "ws.lua"), "--host", "127.0.0.1",
                   "--port", str(self.port)]
        else:
            env["WORKERS"] = str(workers)
            cmd = ["node", os.path.join(HERE, "node", "ws.js")]
        if pinned:
            cmd = ["taskset", "-c", SERVER_CPU] + cmd
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        wait_port(self.port, self.proc)
        if kind == "node" and workers > 1:
            time.sleep(1.0)  # every cluster worker listening (the primary accepts first)
        self.pids = descendants(self.proc.pid)

    def stop(self):
        pids = descendants(self.proc.pid)
        for p in reversed(pids):
            try:
                os.kill(p, 15)
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            for p in pids:
                try:
                    os.kill(p, 9)
                except OSError:
                    pass
            self.proc.wait()


def wsload(server, args, pinned, limit_s):
    """Runs wsload --phases against `server`; returns (its key=value dict,
    server CPU s as (utime, stime), server CPU s by schedstat, wsload CPU s,
    other CPU s, seconds) between phase=measuring and phase=done."""
    cmd = [WSLOAD, "--port", str(server.port), "--phases"] + args
    if pinned:
        cmd = ["taskset", "-c", LOAD_CPU] + cmd
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    timer = threading.Timer(limit_s, p.kill)
    timer.start()
    marks, result = {}, None
    try:
        for line in p.stdout:
            line = line.strip()
            if line.startswith("phase="):
                marks[line[6:]] = (cpu_user_sys(server.pids), run_ns(server.pids),
                                   sum(cpu_user_sys(p.pid)), machine_busy())
            elif "=" in line:
                result = dict(kv.split("=", 1) for kv in line.split())
        err = p.stderr.read()
        rc = p.wait()
    finally:
        timer.cancel()
    if rc != 0 or result is None or "measuring" not in marks or "done" not in marks:
        raise SystemExit("wsload failed against %s (rc %s): %s %s" % (server.name, rc, err.strip(), result))
    a, b = marks["measuring"], marks["done"]
    srv = (b[0][0] - a[0][0], b[0][1] - a[0][1])
    srv_ns, cli = b[1] - a[1], b[2] - a[2]
    busy, wall = b[3][0] - a[3][0], b[3][1] - a[3][1]
    return result, srv, srv_ns, cli, busy - sum(srv) - cli, wall


def echo_run(server, a, duration, warmup):
    r, srv, srv_ns, cli, other, wall = wsload(
        server, ["--mode", "echo", "--conns", str(a.conns), "--duration", str(duration),
                 "--warmup", str(warmup), "--phase-pause-ms", "200"], True, duration + warmup + 60)
    n = int(r["messages"])
    if int(r["errors"]) or n == 0:
        raise SystemExit("echo errors against %s: %s" % (server.name, r))
    return {"rate": float(r["rate"]), "p50": int(r["p50_us"]), "p99": int(r["p99_us"]),
            "srv_us": sum(srv) / n * 1e6, "usr_us": srv[0] / n * 1e6, "srv_ns_us": srv_ns / n * 1e6, "cli_us": float(r["cpu_us_per_msg"]),
            "other": other / wall * 100, "errors": int(r["errors"])}


def bcast_run(server, a, conns, rounds, pinned):
    r, srv, srv_ns, cli, other, wall = wsload(
        server, ["--mode", "broadcast", "--conns", str(conns), "--rounds", str(rounds),
                 "--warmup-rounds", "2", "--gap-ms", "50", "--phase-pause-ms", "300"], pinned, 120)
    if int(r["errors"]):
        raise SystemExit("broadcast errors against %s: %s" % (server.name, r))
    return {"median": float(r["median_us"]) / 1e3, "max": float(r["max_us"]) / 1e3,
            "first": float(r["first_median_us"]) / 1e3, "srv_ms": srv_ns / rounds * 1e3,
            "cli_ms": float(r["client_cpu_us_per_round"]) / 1e3, "other": other / wall * 100}


def verify(server):
    """A short echo run and a broadcast to 10 connections, both without errors."""
    r, *_ = wsload(server, ["--mode", "echo", "--conns", "4", "--duration", "0.3", "--warmup", "0",
                            "--phase-pause-ms", "0"], False, 30)
    if int(r["errors"]) or int(r["messages"]) == 0:
        raise SystemExit("%s does not echo right: %s" % (server.name, r))
    r, *_ = wsload(server, ["--mode", "broadcast", "--conns", "10", "--rounds", "2", "--warmup-rounds", "0",
                            "--gap-ms", "10", "--phase-pause-ms", "0"], False, 30)
    if int(r["errors"]):
        raise SystemExit("%s does not broadcast right: %s" % (server.name, r))


def med(rows, key):
    return statistics.median(x[key] for x in rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rover", nargs="?", default="build/rover")
    ap.add_argument("--quick", action="store_true", help="1 rep, 3 s echo runs, 10 rounds")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--conns", type=int, default=100)
    ap.add_argument("--bcast-conns", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--quiet-wait", type=float, default=60,
                    help="before each rep's runs, wait up to S s for the machine to be quiet "
                         "(under 25%% of a core busy over 1 s); 0: never (--quick)")
    ap.add_argument("--only", choices=("echo", "broadcast"))
    a = ap.parse_args()
    if a.quick:
        a.reps, a.duration, a.rounds, a.quiet_wait = 1, 3, 10, 0
    rover = os.path.abspath(a.rover)
    for tool in ("taskset", "node", "npm", "cc"):
        if not shutil.which(tool):
            raise SystemExit("%s missing" % tool)
    if not os.access(rover, os.X_OK):
        raise SystemExit("no Rover binary at %s (build it: cmake --build build --target rover)" % rover)
    if not os.path.isdir(os.path.join(HERE, "node", "node_modules", "ws")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=os.path.join(HERE, "node"),
                       check=True, stdout=subprocess.DEVNULL, timeout=300)
    build_wsload()

    specs = [("rover-w1-pinned", "rover", 1, True), ("node-1-pinned", "node", 1, True)]
    if a.only != "echo":
        specs += [("rover-w2", "rover", 2, False), ("rover-w1", "rover", 1, False),
                  ("node-1", "node", 1, False), ("node-cluster2", "node", 2, False)]
    servers = {}
    t_start = time.monotonic()
    try:
        for name, kind, workers, pinned in specs:
            servers[name] = Server(name, kind, workers, pinned, rover)
            verify(servers[name])
        print("verified: %s (echo and broadcast, errors=0)" % ", ".join(servers), flush=True)
        echo, bcast = {}, {}
        if a.only != "broadcast":
            pair = ["rover-w1-pinned", "node-1-pinned"]
            for name in pair:
                echo_run(servers[name], a, 1, 0.5)  # warm-up (JIT, allocator)
            for rep in range(a.reps):
                wait_quiet(a.quiet_wait)
                for name in (pair if rep % 2 == 0 else pair[::-1]):
                    row = echo_run(servers[name], a, a.duration, a.warmup)
                    echo.setdefault(name, []).append(row)
                    print("echo  rep %d %-16s %8.0f msg/s  p50 %6d us  p99 %6d us  server %6.2f us/msg "
                          "(user %5.2f; schedstat %6.2f)  wsload %5.2f us/msg  other %3.0f%%"
                          % (rep + 1, name, row["rate"], row["p50"], row["p99"], row["srv_us"],
                             row["usr_us"], row["srv_ns_us"], row["cli_us"], row["other"]), flush=True)
        if a.only != "echo":
            order = ["rover-w2", "node-cluster2", "rover-w1", "node-1", "rover-w1-pinned", "node-1-pinned"]
            for name in order:
                bcast_run(servers[name], a, a.bcast_conns, 3, servers[name].pinned)  # warm-up
            for rep in range(a.reps):
                wait_quiet(a.quiet_wait)
                for name in (order if rep % 2 == 0 else order[::-1]):
                    row = bcast_run(servers[name], a, a.bcast_conns, a.rounds, servers[name].pinned)
                    bcast.setdefault(name, []).append(row)
                    print("bcast rep %d %-16s median %7.2f ms  max %7.2f ms  first %5.2f ms  server %6.2f ms "
                          "CPU/broadcast  wsload %5.2f ms/round  other %3.0f%%"
                          % (rep + 1, name, row["median"], row["max"], row["first"], row["srv_ms"],
                             row["cli_ms"], row["other"]), flush=True)
    finally:
        for s in servers.values():
            s.stop()

    print("\nmedians of %d rep(s); %.0f s in all" % (a.reps, time.monotonic() - t_start))
    if echo:
        print("\nEcho, pinned (server CPU %s, wsload CPU %s), c%d, %g s runs:\n" % (SERVER_CPU, LOAD_CPU, a.conns, a.duration))
        print("| server | msg/s | p50 µs | p99 µs | server µs/msg | of it user | wsload µs/msg | other% |")
        print("|---|---|---|---|---|---|---|---|")
        for name in ("rover-w1-pinned", "node-1-pinned"):
            v = echo[name]
            print("| %s | %s | %d | %d | %.2f | %.2f | %.2f | %.0f |" % (
                name, format(round(med(v, "rate")), ","), med(v, "p50"), med(v, "p99"),
                med(v, "srv_us"), med(v, "usr_us"), med(v, "cli_us"), med(v, "other")))
        r, nd = echo["rover-w1-pinned"], echo["node-1-pinned"]
        ratio = lambda k: statistics.median(x[k] / y[k] for x, y in zip(r, nd))  # noqa: E731
        print("\nRover / Node, per rep, median: msg/s %.2fx, server CPU per message %.2fx (user %.2fx), p99 %.2fx"
              % (ratio("rate"), ratio("srv_us"), ratio("usr_us"), ratio("p99")))
    if bcast:
        print("\nBroadcast to %d connections, %d rounds per run (time from the go to the last tick):\n"
              % (a.bcast_conns, a.rounds))
        print("| server | pinned | median ms | max ms | first tick ms | server CPU ms/broadcast | wsload CPU ms/round | other% |")
        print("|---|---|---|---|---|---|---|---|")
        for name in ("rover-w2", "node-cluster2", "rover-w1", "node-1", "rover-w1-pinned", "node-1-pinned"):
            v = bcast[name]
            print("| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f |" % (
                name, "yes" if servers[name].pinned else "no", med(v, "median"), max(x["max"] for x in v),
                med(v, "first"), med(v, "srv_ms"), med(v, "cli_ms"), med(v, "other")))
        print()
        for rn, nn in (("rover-w2", "node-cluster2"), ("rover-w1", "node-1"),
                       ("rover-w1-pinned", "node-1-pinned"), ("rover-w2", "node-1")):
            r, nd = bcast[rn], bcast[nn]
            t = statistics.median(x["median"] / y["median"] for x, y in zip(r, nd))
            c = statistics.median(x["srv_ms"] / y["srv_ms"] for x, y in zip(r, nd))
            print("%s / %s, per rep, median: broadcast time %.2fx, server CPU per broadcast %.2fx" % (rn, nn, t, c))


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Rover's load benchmark (issue #4): Rover vs nginx + its Lua module vs the floor.

Run it through bench/run.sh, which installs what is needed, builds Rover and the
floor, then calls this file. Standard library only. See bench/README.md for the
method and the meaning of every figure.

Everything talks to 127.0.0.1 on ports 19100-19199. Every server is started by
this file in its own session (its PID is the session id) and stopped by PID:
TERM to each process of that session, KILL for any still alive after 5 s.
Every wrk run, check and start is bounded by a timeout.
"""
import argparse
import csv
import datetime
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
HZ = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1

# Ports (all in 19100-19199)
PORT = {
    "nginx-lua": 19101, "rover": 19102, "limit": 19103,      # main matrix
    "rover-w1": 19104, "rover-w2": 19105,                     # scaling
    "rss:nginx-lua": 19111, "rss:rover": 19112, "rss:limit": 19113,  # RSS with 1,000 connections
}
for _p in PORT.values():
    assert 19100 <= _p <= 19199

POST_BODY = '{"name":"bench","value":42}'
WORKLOADS = {
    "get_echo": dict(method="GET", path="/echo", depth=1, script="get.lua",
                     expect={"message": "Echo GET", "method": "GET"}),
    "get_user": dict(method="GET", path="/users/123", depth=1, script="get.lua", expect={"id": "123"}),
    "post_echo": dict(method="POST", path="/echo", depth=1, script="post.lua",
                      expect={"message": "Echo POST", "received_body": POST_BODY}),
    "get_echo_p16": dict(method="GET", path="/echo", depth=16, script="get_p16.lua",
                         expect={"message": "Echo GET", "method": "GET"}),
}
SERVERS = ["nginx-lua", "rover", "limit"]  # display order; limit = the floor


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Fatal(Exception):
    pass


# ----------------------------------------------------------------- /proc

def proc_stat_fields(pid):
    """Fields of /proc/PID/stat after the command name (index 0 = state)."""
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    return s[s.rindex(")") + 2:].split()


def session_pids(sid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if int(proc_stat_fields(d)[3]) == sid:
                out.append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    return out


def status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def machine_ticks():
    """(busy, steal) jiffies machine-wide; busy excludes idle, iowait and steal."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6], v[7]


# ----------------------------------------------------------------- servers

class Server:
    def __init__(self, name, port, argv, run_dir, cpus=None, env=None):
        self.name, self.port, self.argv, self.run_dir = name, port, argv, run_dir
        self.cpus, self.env = cpus, env
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def pids(self):
        return session_pids(self.pid) if self.proc else []

    def cpu_ticks(self):
        t = 0
        for p in self.pids():
            try:
                f = proc_stat_fields(p)
                t += int(f[11]) + int(f[12])  # utime + stime, all threads
            except (OSError, IndexError, ValueError):
                pass
        return t

    def peak_rss_kb(self):
        return sum(status_kb(p, "VmHWM") for p in self.pids())

    def rss_kb(self):
        return sum(status_kb(p, "VmRSS") for p in self.pids())

    def pss_kb(self):
        return sum(pss_kb(p) for p in self.pids())

    def start(self, timeout=10):
        if port_open(self.port):
            raise Fatal(f"port {self.port} is already in use (not by us): stop that first")
        cmd = (["taskset", "-c", self.cpus] if self.cpus else []) + self.argv
        env = dict(os.environ, **(self.env or {}))
        base = os.path.join(self.run_dir, self.name.replace(":", "_"))
        with open(base + ".stdout", "wb") as out, open(base + ".stderr", "wb") as err:
            # new session: the PID is the session id, so every process it forks
            # (nginx's workers) is found again by session_pids()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = open(base + ".stderr", errors="replace").read()[-2000:]
                rc, self.proc = self.proc.returncode, None
                raise Fatal(f"{self.name} exited on start (rc={rc}):\n{err}")
            try:
                http_exchange(self.port, request_bytes("get_echo", self.port), 1, timeout=1)
                log(f"started {self.name} pid={self.pid} port={self.port} cpus={self.cpus or 'all'}")
                return
            except (OSError, ValueError):
                time.sleep(0.1)
        self.stop()
        raise Fatal(f"{self.name} did not answer GET /echo on port {self.port} within {timeout}s")

    def stop(self):
        if not self.proc:
            return
        pids = self.pids()
        for p in pids:
            try:
                os.kill(p, signal.SIGTERM)
            except OSError:
                pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self.pids():
            if self.proc.poll() is not None and not self.pids():
                break
            time.sleep(0.05)
        for p in self.pids():
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        log(f"stopped {self.name} (pids {' '.join(map(str, pids))})")
        self.proc = None


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# ----------------------------------------------------------------- checks

def request_bytes(workload, port):
    w = WORKLOADS[workload]
    if w["method"] == "POST":
        return (f"POST {w['path']} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(POST_BODY)}\r\n\r\n{POST_BODY}").encode()
    return f"GET {w['path']} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()


def http_exchange(port, req, count, timeout=3):
    """Sends req (one write) on one connection and reads `count` responses.
    Returns [(status, body bytes)]."""
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(req)
        f = s.makefile("rb")
        for i in range(count):
            status = f.readline().split()
            if len(status) < 2:
                raise ValueError(f"response {i + 1}: no status line")
            hdrs = {}
            while True:
                line = f.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                k, _, v = line.decode("latin-1").partition(":")
                hdrs[k.strip().lower()] = v.strip()
            if "content-length" in hdrs:
                body = f.read(int(hdrs["content-length"]))
            elif hdrs.get("transfer-encoding", "").lower() == "chunked":
                body = b""
                while True:
                    n = int(f.readline().split(b";")[0], 16)
                    if n == 0:
                        while f.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    body += f.read(n)
                    f.readline()
            else:
                raise ValueError(f"response {i + 1}: no Content-Length and not chunked")
            out.append((int(status[1]), body))
    return out


def check(server, workload):
    """One request, then 16 pipelined in one write on one connection: each must
    be 200 with the expected JSON (compared parsed, key order free)."""
    w = WORKLOADS[workload]
    one = request_bytes(workload, server.port)
    for n in (1, 16):
        try:
            resps = http_exchange(server.port, one * n, n)
        except (OSError, ValueError) as e:
            return f"{n} request(s) in one write: {e}"
        for i, (st, body) in enumerate(resps):
            try:
                ok = st == 200 and json.loads(body) == w["expect"]
            except ValueError:
                ok = False
            if not ok:
                return f"{n} request(s) in one write: response {i + 1}: status {st} body {body[:200]!r}"
    return None


# ----------------------------------------------------------------- wrk

class Runner:
    def __init__(self, args, out_dir):
        self.args = args
        self.raw = open(os.path.join(out_dir, "wrk_raw.txt"), "a")
        self.retry_budget = args.retry_budget

    def wrk_once(self, server, workload, conns, dur, wrk_cpus, tag):
        w = WORKLOADS[workload]
        url = f"http://127.0.0.1:{server.port}{w['path']}"
        cmd = (["taskset", "-c", wrk_cpus] if wrk_cpus else []) + [
            "wrk", f"-t{self.args.wrk_threads}", f"-c{conns}", f"-d{dur}s", "--timeout", "2s", "--latency",
            "-s", os.path.join(BENCH, "wrk", w["script"]), url]
        env = dict(os.environ, WRK_CONNECTIONS=str(conns))  # read by wrk/report.lua (pipelined)
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        m0 = machine_ticks()
        t0 = server.cpu_ticks()
        w0 = time.monotonic()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=dur + 20)
            text, rc = p.stdout + p.stderr, p.returncode
        except subprocess.TimeoutExpired as e:  # subprocess.run killed wrk
            o = e.stdout or ""
            text, rc = (o.decode(errors="replace") if isinstance(o, bytes) else o), "timeout"
        w1 = time.monotonic()
        t1 = server.cpu_ticks()
        m1 = machine_ticks()
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = w1 - w0
        hwm = server.peak_rss_kb()
        self.raw.write(f"=== {tag} server={server.name} workload={workload} conns={conns} dur={dur}s "
                       f"wrk_cpus={wrk_cpus or 'all'} rc={rc} {datetime.datetime.now().isoformat()}\n"
                       f"$ {' '.join(cmd)}\n{text}\nSERVER_CPU ticks={t1 - t0} wall={wall:.3f} "
                       f"peak_rss_kb={hwm} MACHINE busy={m1[0] - m0[0]} steal={m1[1] - m0[1]}\n\n")
        self.raw.flush()
        m = re.search(r"BENCH_RESULT (.*)", text)
        kv = dict(x.split("=", 1) for x in m.group(1).split()) if m else {}
        nan = float("nan")
        req = int(kv.get("requests", 0))
        wrk_cpu = (ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime) / wall * 100
        srv_cpu = (t1 - t0) / HZ / wall * 100  # over the whole window, for other%
        # srv% shown: over wrk's own measuring time (its done() hook can take
        # seconds after it, with the server idle: see README, "Reading the table")
        dur_s = float(kv.get("duration_s", 0) or 0)
        busy = (m1[0] - m0[0]) / HZ / wall * 100
        row = dict(
            server=server.name, workload=workload, conns=conns,
            rps=float(kv.get("rps", nan)), requests=req,
            p50_us=float(kv.get("p50_us", nan)), p99_us=float(kv.get("p99_us", nan)),
            p999_us=float(kv.get("p999_us", nan)), max_us=float(kv.get("max_us", nan)),
            errors=sum(int(kv.get(k, 0)) for k in ("err_connect", "err_read", "err_write", "err_timeout",
                                                   "err_status")) if kv else -1,
            err_detail="/".join(kv.get(k, "?") for k in ("err_connect", "err_read", "err_write", "err_timeout",
                                                          "err_status")),
            srv_us_per_req=(t1 - t0) / HZ * 1e6 / req if req else nan,
            srv_ticks=t1 - t0,
            gen_us_per_req=(ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime) * 1e6 / req if req else nan,
            peak_rss_kb=hwm,
            wrk_cpu_pct=round(wrk_cpu, 1),
            srv_cpu_pct=round((t1 - t0) / HZ / dur_s * 100 if dur_s > 0 else srv_cpu, 1),
            other_cpu_pct=round(busy - wrk_cpu - srv_cpu, 1),
            steal_pct=round((m1[1] - m0[1]) / HZ / wall * 100, 1),
            wall_s=round(wall, 3), wrk_rc=rc,
        )
        if not kv:
            log(f"  wrk gave no result for {server.name} {workload} c={conns} (rc={rc}); see wrk_raw.txt")
        return row

    def wrk(self, server, workload, conns, dur, wrk_cpus, tag):
        """A measured run; redone (up to --max-retry times, within the retry
        budget) when other tenants of the machine used more than --other-max %
        of a core during it. Every attempt stays in wrk_raw.txt."""
        return self.redo_if_noisy(lambda t: self.wrk_once(server, workload, conns, dur, wrk_cpus, t), tag,
                                  f"{server.name} {workload} c={conns}")

    def redo_if_noisy(self, run, tag, what):
        attempt = 1
        while True:
            t = time.monotonic()
            row = run(f"{tag} attempt={attempt}")
            row["attempts"] = attempt
            noisy = row["other_cpu_pct"] > self.args.other_max
            if not noisy or attempt > self.args.max_retry or self.retry_budget <= 0:
                if noisy:
                    log(f"  {what}: other tenants used {row['other_cpu_pct']:.0f}% "
                        f"of a core during the run; kept (flagged)")
                return row
            log(f"  {what}: other tenants used {row['other_cpu_pct']:.0f}% of a core; "
                f"waiting for quiet and redoing")
            wait_quiet(self.args.quiet_wait, need=5)
            self.retry_budget -= time.monotonic() - t
            attempt += 1

    def loadgen(self, server, depth, conns, dur, tag):
        """A run of the lean generator (bench/loadgen/loadgen.c): GET /echo, `depth`
        requests per write. Same row shape as wrk's; the generator's own CPU per
        response is its figure (getrusage inside it)."""
        return self.redo_if_noisy(lambda t: self.loadgen_once(server, depth, conns, dur, t), tag,
                                  f"{server.name} loadgen d={depth} c={conns}")

    def loadgen_once(self, server, depth, conns, dur, tag):
        cmd = [os.path.join(BENCH, ".deps", "bin", "loadgen"), "--port", str(server.port), "--path", "/echo",
               "--conns", str(conns), "--depth", str(depth), "--duration", str(dur), "--warmup", "0"]
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        m0, t0, w0 = machine_ticks(), server.cpu_ticks(), time.monotonic()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=dur + 20)
            text, rc = p.stdout + p.stderr, p.returncode
        except subprocess.TimeoutExpired:
            text, rc = "", "timeout"
        w1, t1, m1 = time.monotonic(), server.cpu_ticks(), machine_ticks()
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = w1 - w0
        self.raw.write(f"=== {tag} server={server.name} loadgen depth={depth} conns={conns} dur={dur}s rc={rc} "
                       f"{datetime.datetime.now().isoformat()}\n$ {' '.join(cmd)}\n{text}\n"
                       f"SERVER_CPU ticks={t1 - t0} wall={wall:.3f} MACHINE busy={m1[0] - m0[0]}\n\n")
        self.raw.flush()
        kv = dict(x.split("=", 1) for x in text.split() if "=" in x) if rc == 0 else {}
        if not kv:
            log(f"  loadgen failed against {server.name} (rc={rc}): {text.strip()[:200]}")
        nan = float("nan")
        req = int(kv.get("responses", 0))
        gen_cpu = (ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime) / wall * 100
        srv_cpu = (t1 - t0) / HZ / wall * 100
        busy = (m1[0] - m0[0]) / HZ / wall * 100
        return dict(server=server.name, workload=f"get_echo_p{depth}", conns=conns, rps=float(kv.get("rps", nan)),
                    requests=req, errors=0 if kv else -1,
                    srv_us_per_req=(t1 - t0) / HZ * 1e6 / req if req else nan,
                    gen_us_per_req=float(kv.get("cpu_us_per_resp", nan)), srv_ticks=t1 - t0,
                    wrk_cpu_pct=round(gen_cpu, 1), srv_cpu_pct=round(srv_cpu, 1),
                    other_cpu_pct=round(busy - gen_cpu - srv_cpu, 1), wall_s=round(wall, 3), wrk_rc=rc)


def wait_quiet(max_wait, need=1):
    """Until machine-wide busy CPU has been below 15% of a core for `need`
    consecutive seconds, or max_wait s."""
    pct, quiet = 0, 0
    for _ in range(int(max_wait)):
        a = machine_ticks()[0]
        time.sleep(1)
        pct = (machine_ticks()[0] - a) / HZ * 100
        quiet = quiet + 1 if pct < 15 else 0
        if quiet >= need:
            return
    log(f"  machine still busy ({pct:.0f}% of a core) after {max_wait}s; measuring anyway")


# ----------------------------------------------------------------- helpers

def med(xs):
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def mean(xs):
    xs = [x for x in xs if x == x]
    return statistics.mean(xs) if xs else float("nan")


def div(a, b):
    try:
        return a / b
    except ZeroDivisionError:
        return float("nan")


def fmt(x, nd=2):
    if x is None or x != x:
        return "-"
    return f"{x:.{nd}f}"


class Ctx:
    """What starting a server needs: paths, run dir, binaries."""

    def __init__(self, args, run_dir):
        self.args, self.run_dir = args, run_dir
        self.deps = os.path.join(BENCH, ".deps", "root")
        self.limit_bin = os.path.join(BENCH, ".deps", "bin", "limit-server")
        self.rover_bin = args.rover
        self.app = os.path.join(BENCH, "app", "echo.lua")
        self.started = []

    def render(self, name, port, workers):
        subst = {"@PORT@": str(port), "@WORKERS@": str(workers), "@RUN@": self.run_dir, "@BENCH@": BENCH,
                 "@DEPS@": self.deps, "@REUSEPORT@": "reuseport"}
        for src, dst in ((f"{BENCH}/conf/nginx-common.inc", f"{self.run_dir}/nginx-common.inc"),
                         (f"{BENCH}/conf/nginx-lua.conf.in", f"{self.run_dir}/{name}.conf")):
            s = open(src).read()
            for k, v in subst.items():
                s = s.replace(k, v)
            # each instance gets its own pid file and error log
            s = s.replace(f"{self.run_dir}/nginx-lua.pid", f"{self.run_dir}/{name}.pid")
            s = s.replace(f"{self.run_dir}/nginx-lua.error.log", f"{self.run_dir}/{name}.error.log")
            open(dst, "w").write(s)
        return f"{self.run_dir}/{name}.conf"

    def make(self, kind, name, port, cpus, workers):
        """kind: nginx-lua | rover | limit. workers None: the server's default
        (nginx: one per CPU; Rover: its own default, CPUs available)."""
        if kind == "nginx-lua":
            conf = self.render(name.replace(":", "_"), port, workers or NCPU)
            argv = ["nginx", "-p", self.run_dir, "-c", conf, "-e", f"{self.run_dir}/{name.replace(':', '_')}.error.log",
                    "-g", "daemon off;"]
            env = {"LD_LIBRARY_PATH": f"{self.deps}/usr/lib/x86_64-linux-gnu"}
        elif kind == "rover":
            argv = [self.rover_bin, self.app, "--host", "127.0.0.1", "--port", str(port)]
            if workers:
                argv += ["--workers", str(workers)]
            env = None
        elif kind == "limit":
            argv = [self.limit_bin, "--port", str(port), "--host", "127.0.0.1"]
            env = None
        else:
            raise ValueError(kind)
        s = Server(name, port, argv, self.run_dir, cpus=cpus, env=env)
        self.started.append(s)
        return s

    def stop_all(self):
        for s in self.started:
            s.stop()
        self.started = []


# ----------------------------------------------------------------- phases

def phase_matrix(ctx, runner, rows):
    a = ctx.args
    for mode in a.modes:
        pinned = mode == "pinned"
        srv_cpus, wrk_cpus, workers = ("1", "0", 1) if pinned else (None, None, None)
        log(f"== mode {mode}: server cpus {srv_cpus or 'all'}, wrk cpus {wrk_cpus or 'all'}, "
            f"workers {workers or 'default'}")
        servers = {k: ctx.make(k, k, PORT[k], srv_cpus, workers) for k in SERVERS}
        try:
            for s in servers.values():
                s.start()
            for wl in a.workloads:
                for s in servers.values():
                    err = check(s, wl)
                    if err:
                        raise Fatal(f"{s.name} answers {wl} wrongly ({err}); nothing measured")
                log(f"checked {wl}: every server answers right (1 request, and 16 pipelined in one write)")
            for wl in a.workloads:  # warm-up (JIT, buffers, caches); not recorded
                for s in servers.values():
                    runner.wrk_once(s, wl, 100, a.warmup, wrk_cpus, f"warmup mode={mode}")
            for rep in range(1, a.reps + 1):
                for wl in a.workloads:
                    for c in a.conns:
                        log(f"mode={mode} rep={rep} workload={wl} conns={c}")
                        for pos, name in (("first", "nginx-lua"), ("mid", "rover"), ("mid", "limit"),
                                          ("last", "nginx-lua")):
                            r = runner.wrk(servers[name], wl, c, a.duration, wrk_cpus,
                                           f"mode={mode} rep={rep} pos={pos}")
                            r.update(mode=mode, rep=rep, pos=pos)
                            rows.append(r)
                            log(f"  {name:<9} {r['rps']:>10.0f} req/s  p99 {r['p99_us'] / 1000:7.2f} ms  "
                                f"{r['srv_us_per_req']:6.2f} us/req  srv {r['srv_cpu_pct']:.0f}%  "
                                f"wrk {r['wrk_cpu_pct']:.0f}%  other {r['other_cpu_pct']:.0f}%  err {r['errors']}")
        finally:
            for s in servers.values():
                s.stop()


def phase_rss(ctx, runner, rss_rows):
    """RSS with 1,000 active keep-alive connections: a fresh instance of each
    server (unpinned, default workers), wrk -c1000 on GET /echo; VmRSS and PSS
    sampled every 0.25 s during the run (max kept), VmHWM after it; summed
    over all the server's processes."""
    a = ctx.args
    for rep in range(1, a.rss_reps + 1):
        for kind in SERVERS:
            name = f"rss:{kind}"
            s = ctx.make(kind, name, PORT[name], None, None)
            try:
                s.start()
                idle = s.rss_kb()
                url = f"http://127.0.0.1:{s.port}/echo"
                cmd = ["wrk", "-t1", "-c1000", f"-d{a.rss_duration}s", "--timeout", "2s", "--latency",
                       "-s", os.path.join(BENCH, "wrk", "get.lua"), url]
                t_end = time.monotonic() + a.rss_duration + 20
                p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                rss_max = pss_max = 0
                while p.poll() is None and time.monotonic() < t_end:
                    rss_max = max(rss_max, s.rss_kb())
                    pss_max = max(pss_max, s.pss_kb())
                    time.sleep(0.25)
                if p.poll() is None:
                    p.kill()
                text = p.communicate(timeout=10)[0]
                hwm = s.peak_rss_kb()
                m = re.search(r"BENCH_RESULT (.*)", text)
                kv = dict(x.split("=", 1) for x in m.group(1).split()) if m else {}
                errs = sum(int(kv.get(k, 0)) for k in ("err_connect", "err_read", "err_write", "err_timeout",
                                                       "err_status")) if kv else -1
                runner.raw.write(f"=== rss rep={rep} server={kind}\n$ {' '.join(cmd)}\n{text}\n"
                                 f"idle_rss_kb={idle} rss_max_kb={rss_max} pss_max_kb={pss_max} hwm_kb={hwm}\n\n")
                r = dict(rep=rep, server=kind, processes=len(s.pids()), idle_rss_kb=idle, rss_kb=rss_max,
                         pss_kb=pss_max, peak_rss_kb=hwm, rps=float(kv.get("rps", "nan")), errors=errs,
                         err_detail="/".join(kv.get(k, "?") for k in ("err_connect", "err_read", "err_write",
                                                                       "err_timeout", "err_status")))
                rss_rows.append(r)
                log(f"rss rep={rep} {kind:<9} peak {hwm / 1024:7.1f} MiB  during load {rss_max / 1024:7.1f} MiB "
                    f"(PSS {pss_max / 1024:.1f})  idle {idle / 1024:.1f} MiB  {r['processes']} process(es)  "
                    f"errors {r['err_detail']}")
            finally:
                s.stop()


SCALING_GENERATORS = [("wrk", 16), ("loadgen", 16), ("loadgen", 64)]


def phase_scaling(ctx, runner, sc_rows):
    """Rover with 2 workers vs 1, unpinned, GET /echo pipelined, driven by wrk
    (16 per write) and by the lean generator (16 and 64 per write). Groups: w1,
    w2, w1 back to back; ratio = w2 / mean(w1). See README, "2 workers vs 1"."""
    a = ctx.args
    w1 = ctx.make("rover", "rover-w1", PORT["rover-w1"], None, 1)
    w2 = ctx.make("rover", "rover-w2", PORT["rover-w2"], None, 2)
    wl = "get_echo_p16"
    try:
        for s in (w1, w2):
            s.start()
            err = check(s, wl)
            if err:
                raise Fatal(f"{s.name} answers {wl} wrongly ({err})")
            runner.wrk_once(s, wl, 100, a.warmup, None, "warmup scaling")
        for gen, depth in SCALING_GENERATORS:
            for rep in range(1, a.scaling_reps + 1):
                for c in a.scaling_conns:
                    for pos, s in (("first", w1), ("mid", w2), ("last", w1)):
                        tag = f"scaling {gen} p{depth} rep={rep} pos={pos}"
                        r = (runner.wrk(s, wl, c, a.duration, None, tag) if gen == "wrk"
                             else runner.loadgen(s, depth, c, a.duration, tag))
                        r.update(mode="unpinned", rep=rep, pos=pos, workers=1 if s is w1 else 2, generator=gen,
                                 depth=depth)
                        sc_rows.append(r)
                        log(f"scaling {gen} p{depth} rep={rep} c={c} workers={r['workers']}: {r['rps']:.0f} req/s  "
                            f"srv {r['srv_cpu_pct']:.0f}%  {gen} {r['wrk_cpu_pct']:.0f}%  "
                            f"other {r['other_cpu_pct']:.0f}%")
    finally:
        w1.stop()
        w2.stop()


# ----------------------------------------------------------------- summary

def drop_noisy(rows, cell_key, limit):
    """Leaves out the back-to-back groups (cell, rep) in which some run had
    other tenants above `limit` % of a core, as long as the cell keeps at
    least one clean group (otherwise the cell keeps everything)."""
    groups = {}
    for r in rows:
        groups.setdefault((cell_key(r), r["rep"]), []).append(r)
    noisy = {k for k, rs in groups.items() if any(float(r["other_cpu_pct"]) > limit for r in rs)}
    clean_cells = {k[0] for k in groups if k not in noisy}
    keep = [r for r in rows if (cell_key(r), r["rep"]) not in noisy or cell_key(r) not in clean_cells]
    kept_noisy = len({k for k in noisy if k[0] not in clean_cells})
    return keep, len(noisy) - kept_noisy, kept_noisy


def srv_pct_over_wrk_time(rows):
    """srv% over wrk's measuring time (requests / rps), also for results
    written before it was computed that way."""
    for r in rows:
        try:
            d = float(r["requests"]) / float(r["rps"])
            r["srv_cpu_pct"] = round(float(r["srv_ticks"]) / HZ / d * 100, 1)
        except (KeyError, ValueError, ZeroDivisionError):
            pass


def summarize(rows, rss_rows, sc_rows, args):
    srv_pct_over_wrk_time(rows)
    srv_pct_over_wrk_time(sc_rows)
    rows, dropped, kept_noisy = drop_noisy(rows, lambda r: (r["mode"], r["workload"], r["conns"]), args.other_max)
    sc_rows, sc_dropped, sc_kept_noisy = drop_noisy(sc_rows, lambda r: r["conns"], args.other_max)
    noise = dict(other_max_pct=args.other_max, groups_dropped=dropped + sc_dropped,
                 noisy_groups_kept=kept_noisy + sc_kept_noisy)
    cell = {}
    groups = {}
    for r in rows:
        cell.setdefault((r["mode"], r["workload"], r["conns"], r["server"]), []).append(r)
        groups.setdefault((r["mode"], r["rep"], r["workload"], r["conns"]), {}).setdefault(r["server"], []).append(r)

    def gval(g, server, key):
        return mean([r[key] for r in g.get(server, [])])

    # per-group derived figures
    derived = {}  # (mode, workload, conns) -> lists
    for (mode, rep, wl, c), g in groups.items():
        d = derived.setdefault((mode, wl, c), {k: [] for k in (
            "rps_ratio", "p99_ratio", "p999_ratio", "above_rover", "above_nginx", "above_ratio", "cpu_ratio",
            "floor_us")})
        fl = gval(g, "limit", "srv_us_per_req")
        ng_us, rv_us = gval(g, "nginx-lua", "srv_us_per_req"), gval(g, "rover", "srv_us_per_req")
        d["rps_ratio"].append(div(gval(g, "rover", "rps"), gval(g, "nginx-lua", "rps")))
        d["p99_ratio"].append(div(gval(g, "rover", "p99_us"), gval(g, "nginx-lua", "p99_us")))
        d["p999_ratio"].append(div(gval(g, "rover", "p999_us"), gval(g, "nginx-lua", "p999_us")))
        d["cpu_ratio"].append(div(rv_us, ng_us))
        d["floor_us"].append(fl)
        d["above_rover"].append(rv_us - fl)
        d["above_nginx"].append(ng_us - fl)
        d["above_ratio"].append((rv_us - fl) / (ng_us - fl) if ng_us - fl > 0 else float("nan"))

    table = []
    for (mode, wl, c, srv) in sorted(cell, key=lambda k: (args.modes.index(k[0]), list(WORKLOADS).index(k[1]),
                                                          k[2], SERVERS.index(k[3]))):
        rs = cell[(mode, wl, c, srv)]
        d = derived[(mode, wl, c)]
        above = d["above_rover"] if srv == "rover" else d["above_nginx"] if srv == "nginx-lua" else [0.0]
        table.append(dict(
            mode=mode, workload=wl, conns=c, server=srv, n=len(rs),
            rps=med([r["rps"] for r in rs]), p50_ms=med([r["p50_us"] for r in rs]) / 1000,
            p99_ms=med([r["p99_us"] for r in rs]) / 1000, p999_ms=med([r["p999_us"] for r in rs]) / 1000,
            errors=sum(r["errors"] for r in rs),
            srv_us_per_req=med([r["srv_us_per_req"] for r in rs]),
            above_floor_us=med(above),
            peak_rss_mib=max(r["peak_rss_kb"] for r in rs) / 1024,
            wrk_cpu_pct=med([r["wrk_cpu_pct"] for r in rs]), srv_cpu_pct=med([r["srv_cpu_pct"] for r in rs]),
            other_cpu_pct=med([r["other_cpu_pct"] for r in rs]),
            rps_ratio=med(d["rps_ratio"]) if srv == "rover" else None,
            p99_ratio=med(d["p99_ratio"]) if srv == "rover" else None,
            above_ratio=med(d["above_ratio"]) if srv == "rover" else None,
        ))
    ratios = {f"{m}/{w}/c{c}": {k: med(v) for k, v in d.items()} | {"n": len(d["rps_ratio"])}
              for (m, w, c), d in derived.items()}

    rss = {}
    for srv in SERVERS:
        rs = [r for r in rss_rows if r["server"] == srv]
        if rs:
            rss[srv] = dict(n=len(rs), peak_rss_mib=med([r["peak_rss_kb"] for r in rs]) / 1024,
                            rss_under_load_mib=med([r["rss_kb"] for r in rs]) / 1024,
                            pss_under_load_mib=med([r["pss_kb"] for r in rs]) / 1024,
                            idle_rss_mib=med([r["idle_rss_kb"] for r in rs]) / 1024,
                            processes=rs[-1]["processes"], errors=sum(r["errors"] for r in rs),
                            rps=med([r["rps"] for r in rs]))

    scaling = {}
    sg = {}
    for r in sc_rows:
        key = f"{r.get('generator', 'wrk')} p{r.get('depth', 16)} c{r['conns']}"
        sg.setdefault((key, r["rep"]), {}).setdefault(int(r["workers"]), []).append(r)
    for (key, rep), g in sg.items():
        s = scaling.setdefault(key, dict(ratios=[], ceilings=[], w1_rps=[], w2_rps=[], w1_cpu=[], w2_cpu=[],
                                         gen_cpu=[], w2_srv_us=[], w2_gen_us=[]))
        if 1 in g and 2 in g:
            w1_rps, w2_rps = mean([r["rps"] for r in g[1]]), mean([r["rps"] for r in g[2]])
            s2 = mean([float(r["srv_us_per_req"]) for r in g[2]])
            g2 = mean([float(r.get("gen_us_per_req", "nan") or "nan") for r in g[2]])
            s["ratios"].append(div(w2_rps, w1_rps))
            # what 2 workers could reach with both CPUs busy, server and generator
            # costing what they cost per request in the 2-worker run
            s["ceilings"].append(div(div(2e6, s2 + g2), w1_rps))
            s["w1_rps"] += [r["rps"] for r in g[1]]
            s["w2_rps"] += [r["rps"] for r in g[2]]
            s["w1_cpu"] += [r["srv_cpu_pct"] for r in g[1]]
            s["w2_cpu"] += [r["srv_cpu_pct"] for r in g[2]]
            s["gen_cpu"] += [r["wrk_cpu_pct"] for r in g[2]]
            s["w2_srv_us"].append(s2)
            s["w2_gen_us"].append(g2)
    scaling = {k: dict(n=len(v["ratios"]), ratio=med(v["ratios"]), ceiling=med(v["ceilings"]),
                       w1_rps=med(v["w1_rps"]), w2_rps=med(v["w2_rps"]),
                       w1_srv_cpu_pct=med(v["w1_cpu"]), w2_srv_cpu_pct=med(v["w2_cpu"]),
                       wrk_cpu_pct_w2=med(v["gen_cpu"]), w2_srv_us_per_req=med(v["w2_srv_us"]),
                       w2_gen_us_per_req=med(v["w2_gen_us"]))
               for k, v in scaling.items()}

    goals = []

    def goal(name, measured, target_text, ok):
        goals.append(dict(goal=name, target=target_text, measured=measured, met=ok))

    for (mode, wl, c), d in sorted(derived.items(), key=lambda k: (args.modes.index(k[0][0]),
                                                                   list(WORKLOADS).index(k[0][1]), k[0][2])):
        if mode == "pinned":
            r = med(d["above_ratio"])
            goal(f"server CPU above the floor, pinned, {wl}, c{c}",
                 f"{fmt(r)}x ({fmt(med(d['above_rover']))} vs {fmt(med(d['above_nginx']))} us/req)",
                 "<= 0.5x nginx-lua", r <= 0.5)
    for (mode, wl, c), d in sorted(derived.items()):
        if mode == "pinned" and wl == "get_echo_p16":
            r = med(d["rps_ratio"])
            goal(f"req/s, 16 pipelined, pinned, GET /echo, c{c}", f"{fmt(r)}x", ">= 5x nginx-lua", r >= 5)
    for (mode, wl, c), d in sorted(derived.items(), key=lambda k: (args.modes.index(k[0][0]),
                                                                   list(WORKLOADS).index(k[0][1]), k[0][2])):
        if c == 1000:
            r = med(d["p99_ratio"])
            goal(f"p99 at c1000, {mode}, {wl}", f"{fmt(r)}x", "<= nginx-lua", r <= 1)
    for (mode, wl, c), d in sorted(derived.items(), key=lambda k: (list(WORKLOADS).index(k[0][1]), k[0][2])):
        if mode == "unpinned":
            r = med(d["rps_ratio"])
            goal(f"req/s unpinned, {wl}, c{c}", f"{fmt(r)}x", ">= nginx-lua", r >= 1)
    if "rover" in rss and "nginx-lua" in rss:
        rv, ng = rss["rover"]["peak_rss_mib"], rss["nginx-lua"]["peak_rss_mib"]
        goal("RSS with 1,000 active keep-alive connections (peak, all processes)",
             f"{fmt(rv, 1)} vs {fmt(ng, 1)} MiB ({fmt(div(rv, ng))}x)", "<= nginx-lua", rv <= ng)
    for k, v in scaling.items():
        goal(f"throughput 2 workers vs 1 (unpinned, {k})",
             f"{fmt(v['ratio'])}x (ceiling with this generator {fmt(v.get('ceiling'))}x)", ">= 1.7x",
             v["ratio"] >= 1.7)
    return dict(table=table, ratios=ratios, rss=rss, scaling=scaling, goals=goals, noise=noise)


def render_text(summary, args):
    lines = []
    hdr = ["mode", "workload", "conns", "server", "n", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "err",
           "us/req", "above floor", "peak RSS MiB", "wrk%", "srv%", "other%", "req/s R/N", "p99 R/N", "above R/N"]
    body = []
    for t in summary["table"]:
        body.append([t["mode"], t["workload"], str(t["conns"]), t["server"], str(t["n"]), fmt(t["rps"], 0),
                     fmt(t["p50_ms"]), fmt(t["p99_ms"]), fmt(t["p999_ms"]), str(t["errors"]),
                     fmt(t["srv_us_per_req"]), fmt(t["above_floor_us"]), fmt(t["peak_rss_mib"], 1),
                     fmt(t["wrk_cpu_pct"], 0), fmt(t["srv_cpu_pct"], 0), fmt(t["other_cpu_pct"], 0),
                     fmt(t["rps_ratio"]) if t["rps_ratio"] is not None else "",
                     fmt(t["p99_ratio"]) if t["p99_ratio"] is not None else "",
                     fmt(t["above_ratio"]) if t["above_ratio"] is not None else ""])
    if body:
        widths = [max(len(hdr[i]), *(len(b[i]) for b in body)) for i in range(len(hdr))]
        f = "  ".join(("{:<%d}" if i < 4 else "{:>%d}") % w for i, w in enumerate(widths))
        lines.append(f.format(*hdr))
        prev = None
        for b in body:
            if prev and prev != b[:3]:
                lines.append("")
            prev = b[:3]
            lines.append(f.format(*b))
        lines.append("")
        lines.append("Medians over reps. R/N = Rover / nginx-lua, per back-to-back group, median over reps. us/req =")
        lines.append("server CPU (user+sys, all its processes) per request; above floor = us/req minus limit's in")
        lines.append("the same group. *_p16: 16 requests per write, p50/p99 per batch. wrk%/srv%/other%: of one core.")
        nz = summary["noise"]
        lines.append(f"Noise: {nz['groups_dropped']} back-to-back group(s) left out because other tenants used more than "
                     f"{nz['other_max_pct']:g}% of a core during one of their runs; {nz['noisy_groups_kept']} such group(s) "
                     f"kept (their cell had no clean group).")
    if summary["rss"]:
        lines.append("")
        lines.append("RSS with 1,000 active keep-alive connections (unpinned, default workers, wrk -c1000 GET /echo):")
        for srv, v in summary["rss"].items():
            lines.append(f"  {srv:<9} peak {v['peak_rss_mib']:7.1f} MiB  during load {v['rss_under_load_mib']:7.1f} MiB"
                         f" (PSS {v['pss_under_load_mib']:.1f})  idle {v['idle_rss_mib']:.1f} MiB  "
                         f"{v['processes']} process(es)  errors {v['errors']}  n={v['n']}")
    if summary["scaling"]:
        lines.append("")
        lines.append("Rover, 2 workers vs 1 (unpinned, GET /echo pipelined; generator, depth, connections):")
        for k, v in summary["scaling"].items():
            lines.append(f"  {k:<17} {v['w2_rps']:.0f} vs {v['w1_rps']:.0f} req/s = {fmt(v['ratio'])}x, "
                         f"ceiling {fmt(v.get('ceiling'))}x  (srv cpu {v['w2_srv_cpu_pct']:.0f}% vs "
                         f"{v['w1_srv_cpu_pct']:.0f}%; with 2 workers: generator {v['wrk_cpu_pct_w2']:.0f}%, "
                         f"{fmt(v.get('w2_gen_us_per_req'))} us/req, server {fmt(v.get('w2_srv_us_per_req'))} us/req)"
                         f"  n={v['n']}")
        lines.append("  ceiling = 2 CPUs / (server + generator CPU per request, 2-worker runs) / 1-worker req/s:")
        lines.append("  the most 2 workers could serve with both CPUs busy and the load generator on them too.")
    lines.append("")
    lines.append("Goals of issue #4:")
    for g in summary["goals"]:
        lines.append(f"  [{'met' if g['met'] else 'NOT met'}] {g['goal']}: {g['measured']} (goal {g['target']})")
    return "\n".join(lines)


def render_md(summary):
    out = ["| goal | target | measured | met |", "|---|---|---|---|"]
    for g in summary["goals"]:
        out.append(f"| {g['goal']} | {g['target']} | {g['measured']} | {'yes' if g['met'] else 'no'} |")
    out.append("")
    out.append("| mode | workload | conns | server | req/s | p50 ms | p99 ms | p99.9 ms | errors | µs/req | "
               "above floor | peak RSS MiB | req/s R/N | p99 R/N | above-floor R/N |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for t in summary["table"]:
        out.append(f"| {t['mode']} | {t['workload']} | {t['conns']} | {t['server']} | {fmt(t['rps'], 0)} | "
                   f"{fmt(t['p50_ms'])} | {fmt(t['p99_ms'])} | {fmt(t['p999_ms'])} | {t['errors']} | "
                   f"{fmt(t['srv_us_per_req'])} | {fmt(t['above_floor_us'])} | {fmt(t['peak_rss_mib'], 1)} | "
                   f"{fmt(t['rps_ratio']) if t['rps_ratio'] is not None else ''} | "
                   f"{fmt(t['p99_ratio']) if t['p99_ratio'] is not None else ''} | "
                   f"{fmt(t['above_ratio']) if t['above_ratio'] is not None else ''} |")
    if summary["rss"]:
        out += ["", "| server | peak RSS MiB (1,000 conns) | RSS during load | PSS during load | idle RSS | processes |",
                "|---|---|---|---|---|---|"]
        for srv, v in summary["rss"].items():
            out.append(f"| {srv} | {v['peak_rss_mib']:.1f} | {v['rss_under_load_mib']:.1f} | "
                       f"{v['pss_under_load_mib']:.1f} | {v['idle_rss_mib']:.1f} | {v['processes']} |")
    if summary["scaling"]:
        out += ["", "| Rover 2 workers vs 1 (unpinned; generator, depth, conns) | 1 worker req/s | 2 workers req/s | "
                "ratio | ceiling | generator µs/req | server µs/req |", "|---|---|---|---|---|---|---|"]
        for k, v in summary["scaling"].items():
            out.append(f"| {k} | {v['w1_rps']:.0f} | {v['w2_rps']:.0f} | {fmt(v['ratio'])} | "
                       f"{fmt(v.get('ceiling'))} | {fmt(v.get('w2_gen_us_per_req'))} | "
                       f"{fmt(v.get('w2_srv_us_per_req'))} |")
    return "\n".join(out)


def write_csv(path, rows):
    if not rows:
        return
    keys = list(rows[0].keys())
    for r in rows:
        for k in r:
            if k not in keys:
                keys.append(k)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def environment(args):
    def cmd(*c):
        try:
            p = subprocess.run(list(c), capture_output=True, text=True, timeout=10)
            return (p.stdout + p.stderr).strip().splitlines()[0] if (p.stdout + p.stderr).strip() else ""
        except (OSError, subprocess.TimeoutExpired):
            return ""
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    commit = cmd("git", "-C", ROOT, "rev-parse", "--short", "HEAD")
    dirty = cmd("git", "-C", ROOT, "status", "--porcelain", "--", "src")
    return dict(date=datetime.datetime.now().isoformat(timespec="seconds"), host=" ".join(os.uname()[2:5:2]),
                cpus=NCPU, cpu=cpu, loadavg=open("/proc/loadavg").read().split()[:3],
                rover_commit=commit + (" (src/ modified)" if dirty else ""), rover_bin=args.rover,
                nginx=cmd("nginx", "-v"), wrk=cmd("wrk", "-v").split(" Copyright")[0],
                command=" ".join(sys.argv[1:]))


# ----------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rover", default=os.path.join(ROOT, "build", "rover"), help="Rover binary")
    ap.add_argument("--quick", action="store_true",
                    help="1 rep, 3 s runs, pinned only, c100, get_echo + get_echo_p16 (< 2 min)")
    ap.add_argument("--modes", help="pinned,unpinned")
    ap.add_argument("--workloads", help="comma list of " + ",".join(WORKLOADS))
    ap.add_argument("--conns", help="comma list, e.g. 100,1000")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--duration", type=int, help="seconds per measured run")
    ap.add_argument("--warmup", type=int, help="seconds of warm-up per server and workload")
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--no-matrix", action="store_true", help="skip the main matrix")
    ap.add_argument("--no-rss", action="store_true", help="skip the RSS measurement")
    ap.add_argument("--no-scaling", action="store_true", help="skip the 2-vs-1 workers measurement")
    ap.add_argument("--other-max", type=float, default=25,
                    help="redo a run when other tenants used more than this %% of a core")
    ap.add_argument("--max-retry", type=int)
    ap.add_argument("--retry-budget", type=float, help="seconds spent redoing noisy runs, at most")
    ap.add_argument("--quiet-wait", type=int, default=300,
                    help="seconds to wait for a quiet machine before redoing a noisy run")
    ap.add_argument("--start-quiet-wait", type=int,
                    help="seconds to wait, at most, for a quiet machine before starting (default 600; --quick 0); quiet = under 15%% of a core for 20 s")
    ap.add_argument("--out", help="output folder (default bench/results/<date>_<time>[_quick])")
    ap.add_argument("--summarize-only", metavar="DIR",
                    help="recompute the summary of an earlier run from DIR/results.json (no measuring)")
    a = ap.parse_args()
    if a.summarize_only:
        return resummarize(a)
    q = a.quick
    a.modes = (a.modes or ("pinned" if q else "pinned,unpinned")).split(",")
    a.workloads = (a.workloads or ("get_echo,get_echo_p16" if q else ",".join(WORKLOADS))).split(",")
    a.conns = [int(x) for x in (a.conns or ("100" if q else "100,1000")).split(",")]
    a.reps = a.reps or (1 if q else 3)
    a.duration = a.duration or (3 if q else 10)
    a.warmup = a.warmup or (1 if q else 3)
    a.max_retry = a.max_retry if a.max_retry is not None else (0 if q else 2)
    a.retry_budget = a.retry_budget if a.retry_budget is not None else (0 if q else 2400)
    a.start_quiet_wait = a.start_quiet_wait if a.start_quiet_wait is not None else (0 if q else 600)
    a.rss_reps = 1 if q else 3
    a.rss_duration = 3 if q else 6
    a.scaling_reps = a.reps
    a.scaling_conns = [100] if q else [100, 1000]
    for m in a.modes:
        if m not in ("pinned", "unpinned"):
            ap.error(f"unknown mode {m}")
    for w in a.workloads:
        if w not in WORKLOADS:
            ap.error(f"unknown workload {w}")
    if "pinned" in a.modes and NCPU < 2:
        ap.error("pinned mode needs 2 CPUs")

    stamp = time.strftime("%Y-%m-%d_%H%M%S")
    out = a.out or os.path.join(BENCH, "results", stamp + ("_quick" if q else ""))
    os.makedirs(out, exist_ok=True)
    run_dir = tempfile.mkdtemp(prefix="rover-bench.")
    os.chmod(run_dir, 0o755)  # nginx workers run as nobody
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(run_dir, "tmp", d))
        os.chmod(os.path.join(run_dir, "tmp", d), 0o777)

    env = environment(a)
    settings = dict(modes=a.modes, workloads=a.workloads, conns=a.conns, reps=a.reps, duration_s=a.duration,
                    warmup_s=a.warmup, wrk_threads=a.wrk_threads, other_max_pct=a.other_max, max_retry=a.max_retry,
                    rss_reps=a.rss_reps, rss_duration_s=a.rss_duration, scaling_conns=a.scaling_conns,
                    quick=q)
    log(f"results -> {out}")
    log("settings: " + json.dumps(settings))

    ctx = Ctx(a, run_dir)
    runner = Runner(a, out)
    rows, rss_rows, sc_rows = [], [], []

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    rc = 0
    t0 = time.monotonic()
    try:
        if a.start_quiet_wait > 0:
            log(f"waiting (at most {a.start_quiet_wait} s) for the machine to be quiet")
            wait_quiet(a.start_quiet_wait, need=20)
        if not a.no_matrix:
            phase_matrix(ctx, runner, rows)
        if not a.no_rss:
            phase_rss(ctx, runner, rss_rows)
        if not a.no_scaling:
            phase_scaling(ctx, runner, sc_rows)
    except Fatal as e:
        log(f"ERROR: {e}")
        rc = 1
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); stopping servers")
        rc = 130
    finally:
        ctx.stop_all()
        shutil.rmtree(run_dir, ignore_errors=True)

    summary = summarize(rows, rss_rows, sc_rows, a)
    text = render_text(summary, a)
    env["elapsed_s"] = round(time.monotonic() - t0)
    header = (f"Rover load benchmark, {env['date']} ({env['host']}, {env['cpus']} CPUs {env['cpu']}; "
              f"rover {env['rover_commit']}; {env['nginx']}; {env['wrk']})\n"
              f"settings: {json.dumps(settings)}; took {env['elapsed_s']} s\n")
    print(header + "\n" + text)
    write_csv(os.path.join(out, "runs.csv"), rows)
    write_csv(os.path.join(out, "rss.csv"), rss_rows)
    write_csv(os.path.join(out, "scaling.csv"), sc_rows)
    with open(os.path.join(out, "summary.txt"), "w") as f:
        f.write(header + "\n" + text + "\n")
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(render_md(summary) + "\n")
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(dict(environment=env, settings=settings, summary=summary, runs=rows, rss_runs=rss_rows,
                       scaling_runs=sc_rows), f, indent=1, default=str)
    log(f"results in {out} (runs.csv, rss.csv, scaling.csv, results.json, summary.txt, summary.md, wrk_raw.txt)")
    return rc


def resummarize(a):
    d = a.summarize_only
    res = json.load(open(os.path.join(d, "results.json")))
    st, env = res["settings"], res["environment"]
    a.modes = st["modes"]
    a.other_max = a.other_max if "--other-max" in sys.argv else st.get("other_max_pct", a.other_max)
    summary = summarize(res["runs"], res["rss_runs"], res["scaling_runs"], a)
    text = render_text(summary, a)
    header = (f"Rover load benchmark, {env['date']} ({env['host']}, {env['cpus']} CPUs {env['cpu']}; "
              f"rover {env['rover_commit']}; {env['nginx']}; {env['wrk']})\n"
              f"settings: {json.dumps(st)}; took {env.get('elapsed_s', '?')} s\n")
    print(header + "\n" + text)
    with open(os.path.join(d, "summary.txt"), "w") as f:
        f.write(header + "\n" + text + "\n")
    with open(os.path.join(d, "summary.md"), "w") as f:
        f.write(render_md(summary) + "\n")
    res["summary"] = summary
    with open(os.path.join(d, "results.json"), "w") as f:
        json.dump(res, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())

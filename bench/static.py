#!/usr/bin/env python3
"""Static files, Rover vs nginx in the same run (issue #10's performance goal).

    python3 bench/static.py [ROVER_BIN] [--reps 3] [--duration 3]

Serves a 1 KiB and a 1 MiB file from the same directory with nginx
(`sendfile on`, one process: master_process off) and with Rover (a root static
mount, `--workers 1`), each pinned to CPU 1, loaded by wrk pinned to CPU 0
(-t1 -c100, keep-alive, no Accept-Encoding: no compression on either side).
The two servers alternate, `--reps` runs each; medians of req/s, server CPU
per request (utime + stime from /proc/<pid>/stat) and, for 1 MiB, server CPU
per MiB sent. Needs nginx and wrk (bench/run.sh installs both)."""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import free_port, cpu_seconds, wait_port  # noqa: E402



def wrk(port, path, duration):
    out = subprocess.run(["taskset", "-c", "0", "wrk", "-t1", "-c100", "-d%ds" % duration,
                          "http://127.0.0.1:%d%s" % (port, path)],
                         capture_output=True, text=True, check=True).stdout
    reqs = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit("errors in wrk run:\n" + out)
    return reqs, total


def start_nginx(root, port, tmp):
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""daemon off; master_process off; worker_processes 1;
error_log %s/nginx.err; pid %s/nginx.pid;
events { worker_connections 4096; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  types { application/octet-stream bin; }
  client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s; uwsgi_temp_path %s; scgi_temp_path %s;
  server { listen 127.0.0.1:%d; root %s; } }
""" % (tmp, tmp, tmp, tmp, tmp, tmp, tmp, port, root))
    p = subprocess.Popen(["taskset", "-c", "1", "nginx", "-p", tmp, "-c", conf],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, p)
    return p


def start_rover(binary, root, port, tmp):
    app = os.path.join(tmp, "static_app.lua")
    with open(app, "w") as f:
        f.write('local api = rover.server { log_level = "nope" }\n'
                'api.static { dir = %r }\nreturn api\n' % root)
    p = subprocess.Popen(["taskset", "-c", "1", binary, app, "--port", str(port), "--workers", "1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, p)
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rover", nargs="?", default="build/rover")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=int, default=3)
    a = ap.parse_args()
    for tool in ("nginx", "wrk", "taskset"):
        if not shutil.which(tool):
            raise SystemExit("%s missing (bash bench/run.sh installs it)" % tool)
    tmp = tempfile.mkdtemp(prefix="rover-static-")
    root = os.path.join(tmp, "www")
    os.mkdir(root)
    sizes = {"/1k.bin": 1024, "/1m.bin": 1024 * 1024}
    for name, size in sizes.items():
        with open(root + name, "wb") as f:
            f.write(os.urandom(size))
    results = {}
    try:
        for rep in range(a.reps):
            for server in ("nginx", "rover"):
                port = free_port()
                p = (start_nginx(root, port, tmp) if server == "nginx"
                     else start_rover(os.path.abspath(a.rover), root, port, tmp))
                try:
                    for path, size in sizes.items():
                        wrk(port, path, 1)  # warm-up
                        c0 = cpu_seconds(p.pid)
                        reqs, total = wrk(port, path, a.duration)
                        cpu = cpu_seconds(p.pid) - c0
                        r = results.setdefault((server, path), [])
                        r.append((reqs, cpu / total * 1e6, cpu / (total * size / 2**20) * 1e3))
                        print("rep %d %-5s %-8s %10.0f req/s  %6.2f us/req  %6.3f ms/MiB"
                              % (rep + 1, server, path, *r[-1]), flush=True)
                finally:
                    p.terminate()
                    p.wait()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\nmedians (%d x %ds, c100, servers pinned to CPU 1, wrk to CPU 0):" % (a.reps, a.duration))
    for path in sizes:
        row = {}
        for server in ("nginx", "rover"):
            v = results[(server, path)]
            row[server] = [statistics.median(x[i] for x in v) for i in range(3)]
        n, r = row["nginx"], row["rover"]
        print("  %-8s nginx %9.0f req/s %6.2f us/req %6.3f ms/MiB | rover %9.0f req/s %6.2f us/req "
              "%6.3f ms/MiB | rover/nginx req/s %.2fx, CPU/req %.2fx"
              % (path, n[0], n[1], n[2], r[0], r[1], r[2], r[0] / n[0], r[1] / n[1]))


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Does a cold disk stall the worker? (issue #10: "opening files must not stall
the worker noticeably on a cold disk").

    sudo python3 bench/cold_static.py [ROVER_BIN] [--rounds 2]

One Rover worker (pinned to CPU 1) serves a root static mount holding 200 files
of 64 KiB in 20 directories and one 8 MiB file. Each round: connection A
fetches all of them one after the other while connection B, on the same
worker, fetches a warm 1 KiB file in a loop. The round runs twice, once with
A's files in the page cache and once after `echo 3 > /proc/sys/vm/drop_caches`
(dentries, inodes and pages dropped: every open walks the disk). If opening or
sending cold files stalled the worker, B's p99 and maximum latency would grow
in the cold rounds. Needs root (drop_caches) and taskset."""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import free_port  # noqa: E402


def get(s, path):
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
    buf, need = b"", None
    while need is None or len(buf) < need:
        chunk = s.recv(1 << 20)
        if not chunk:
            raise SystemExit("connection closed")
        buf += chunk
        if need is None and b"\r\n\r\n" in buf:
            head = buf.split(b"\r\n\r\n", 1)[0]
            if not head.startswith(b"HTTP/1.1 200"):
                raise SystemExit("unexpected response: %r" % head[:80])
            need = len(head) + 4 + int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])


def pct(v, q):
    return v[min(len(v) - 1, int(len(v) * q))]


FETCHER = r"""
import socket, sys, time
sys.path.insert(0, %r)
from cold_static import get
port = int(sys.argv[1]); paths = sys.argv[2:]
s = socket.create_connection(("127.0.0.1", port))
lat = []
for p in paths:
    t = time.perf_counter(); get(s, p); lat.append((time.perf_counter() - t) * 1e3)
print(" ".join("%%.4f" %% x for x in lat))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rover", nargs="?", default="build/rover")
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (writes /proc/sys/vm/drop_caches)")
    tmp = tempfile.mkdtemp(prefix="rover-cold-")
    files = []
    for d in range(20):
        os.mkdir(os.path.join(tmp, "d%d" % d))
        for f in range(10):
            rel = "d%d/f%d.bin" % (d, f)
            with open(os.path.join(tmp, rel), "wb") as out:
                out.write(os.urandom(65536))
            files.append("/" + rel)
    with open(os.path.join(tmp, "big.bin"), "wb") as out:
        out.write(os.urandom(8 << 20))
    files.append("/big.bin")
    with open(os.path.join(tmp, "warm.bin"), "wb") as out:
        out.write(os.urandom(1024))
    app = os.path.join(tmp, "app.lua")
    with open(app, "w") as f:
        f.write('local api = rover.server { log_level = "nope" }\n'
                'api.static { dir = %r }\nreturn api\n' % tmp)
    port = free_port()
    server = subprocess.Popen(["taskset", "-c", "1", a.rover, app, "--port", str(port),
                               "--workers", "1"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)  # startup only, not a measurement
        here = os.path.dirname(os.path.abspath(__file__))
        for rnd in range(a.rounds):
            for mode in ("warm", "cold"):
                s = socket.create_connection(("127.0.0.1", port))
                for p in files:  # everything in the page cache
                    get(s, p)
                if mode == "cold":
                    subprocess.run(["sync"], check=True)
                    with open("/proc/sys/vm/drop_caches", "w") as f:
                        f.write("3\n")
                a_proc = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-c",
                                           FETCHER % here, str(port)] + files,
                                          stdout=subprocess.PIPE, text=True)
                lat = []
                while a_proc.poll() is None:
                    t = time.perf_counter()
                    get(s, "/warm.bin")
                    lat.append((time.perf_counter() - t) * 1e3)
                a_lat = sorted(float(x) for x in a_proc.stdout.read().split())
                lat.sort()
                s.close()
                print("round %d %-4s A: 64 KiB median %.3f ms, max %.3f ms (8 MiB %.1f ms) | "
                      "B (warm 1 KiB, same worker): n=%d median %.3f p99 %.3f max %.3f ms"
                      % (rnd + 1, mode, pct(a_lat, 0.5), a_lat[-2], a_lat[-1], len(lat),
                         pct(lat, 0.5), pct(lat, 0.99), lat[-1]))
    finally:
        server.terminate()
        server.wait()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()

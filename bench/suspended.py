#!/usr/bin/env python3
"""Memory and resume time of requests suspended in rover.delay on one worker.

    python3 bench/suspended.py [BINARY=build/rover] [N=10000] [DELAY_MS=8000]

Starts BINARY on bench/app/suspended.lua (one worker), opens N keep-alive
connections and measures the server's RSS three times: before any connection,
with N idle connections, and with one request on each connection suspended
in rover.delay(DELAY_MS) (confirmed by GET /inflight on another connection).
Prints RSS per suspended request (over the idle connections, and over
nothing), then the time from the first to the last of the N responses once
the timers fire (they were all armed within the time it took to send the N
requests, which is printed too).
"""
import json
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import free_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def get(port, path):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    buf = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    s.close()
    return buf.partition(b"\r\n\r\n")[2]


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/rover")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    delay = int(sys.argv[3]) if len(sys.argv) > 3 else 8000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port = free_port()
    proc = subprocess.Popen([binary, os.path.join(ROOT, "bench/app/suspended.lua"),
                             "--port", str(port)], stdout=subprocess.DEVNULL)
    for _ in range(200):  # the app logs nothing: wait until it listens
        try:
            get(port, "/inflight")
            break
        except OSError:
            time.sleep(0.05)
    base = rss_kib(proc.pid)
    conns = []
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", port))
        conns.append(c)
    get(port, "/inflight")  # all accepted before we measure
    idle = rss_kib(proc.pid)
    req = f"GET /wait/{delay} HTTP/1.1\r\nHost: x\r\nUser-Agent: bench\r\n\r\n".encode()
    t_send0 = time.monotonic()
    for c in conns:
        c.sendall(req)
    t_send1 = time.monotonic()
    while json.loads(get(port, "/inflight"))["n"] < n:
        time.sleep(0.05)  # polling an observable count (a benchmark, not a test)
    suspended = rss_kib(proc.pid)
    sel = selectors.DefaultSelector()
    for c in conns:
        c.setblocking(False)
        sel.register(c, selectors.EVENT_READ)
    done, first, last = 0, None, None
    bufs = {}
    while done < n:
        for key, _ in sel.select(timeout=60):
            d = key.fileobj.recv(4096)
            bufs[key.fileobj] = bufs.get(key.fileobj, b"") + d
            if bufs[key.fileobj].endswith(b"ok"):
                now = time.monotonic()
                first = first or now
                last = now
                done += 1
                sel.unregister(key.fileobj)
    proc.send_signal(signal.SIGTERM)
    for c in conns:
        c.close()
    proc.wait(timeout=60)
    print(f"RSS {base} KiB (no connection) -> {idle} KiB ({n} idle connections) -> "
          f"{suspended} KiB ({n} requests suspended in rover.delay)")
    print(f"per suspended request: {(suspended - idle) * 1024 / n:.0f} bytes over an idle "
          f"connection, {(suspended - base) * 1024 / n:.0f} bytes with its connection")
    print(f"requests sent in {1000 * (t_send1 - t_send0):.0f} ms; all {n} answered "
          f"{1000 * (last - first):.0f} ms after the first resumed")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""RSS and CPU of a server holding many idle keep-alive connections.

    python3 bench/idle_rss.py PORT PID [N=10000]

Opens N connections to 127.0.0.1:PORT, sends one GET / on each and reads the
answer, then reports the RSS growth of process PID per connection and the CPU
ticks it used over 3 s while all of them sit idle. Start the server first,
e.g. build/rover app.lua --port PORT --workers 1.
"""
import resource
import socket
import sys
import time


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def main():
    port, pid = int(sys.argv[1]), int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    base = rss_kib(pid)
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        socks.append(s)
    for s in socks:
        s.recv(1000)
    after = rss_kib(pid)
    c0 = cpu_ticks(pid)
    time.sleep(3)  # measuring idle CPU over a window, not synchronising
    c1 = cpu_ticks(pid)
    print(f"RSS {base} KiB -> {after} KiB with {n} idle connections: "
          f"{(after - base) * 1024 / n:.0f} bytes each; CPU ticks over 3 s idle: {c1 - c0}")


if __name__ == "__main__":
    main()

"""Helpers the single-purpose bench scripts share (static.py, cold_static.py,
db.py, suspended.py, ws.py): a free port, a process's CPU seconds from /proc, and
waiting for a server to listen."""

import os
import socket
import time

TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_user_sys(pids):
    """(utime, stime) in seconds of a pid or a list of pids (all threads); gone ones count 0."""
    if isinstance(pids, int):
        pids = [pids]
    user = system = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user += int(fields[11])
            system += int(fields[12])
        except OSError:
            pass
    return user / TICK, system / TICK


def cpu_seconds(pids):
    """utime + stime of a pid or a list of pids (all threads); gone ones count 0."""
    return sum(cpu_user_sys(pids))


def wait_port(port, proc, tries=300):
    """Until something accepts on 127.0.0.1:port; exits if `proc` ends first."""
    for _ in range(tries):
        if proc.poll() is not None:
            raise SystemExit("server exited: %s" % proc.args)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)  # startup only, not a measurement
    raise SystemExit("server did not listen: %s" % proc.args)

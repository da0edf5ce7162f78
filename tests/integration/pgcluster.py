"""A private PostgreSQL cluster for tests and benchmarks: `initdb` into a
temporary directory, `pg_ctl start` on a free port with its Unix socket in
that directory (no TCP listener), stopped and deleted by stop(). Nothing is
left running; no system service is used. As root the server runs as the
`postgres` user (initdb refuses root), which the Debian package creates.

    with PgCluster() as pg:
        pg.psql("CREATE TABLE t (id int)")
        url = pg.url   # postgresql://rover@/postgres?host=<dir>&port=<port>
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile


def pg_bindir():
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    found = shutil.which("initdb")
    return os.path.dirname(found) if found else None


def available():
    return pg_bindir() is not None and shutil.which("psql") is not None


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class PgCluster:
    USER = "rover"
    DB = "postgres"

    def __init__(self, settings=None):
        self.settings = {"synchronous_commit": "off", "max_connections": "200",
                         "fsync": "off", "full_page_writes": "off"}
        self.settings.update(settings or {})
        self.dir = None
        self.port = None
        self.started = False

    def _as_owner(self, args):
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--"] + args
        return args

    def start(self):
        bindir = pg_bindir()
        if not bindir:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.dir = tempfile.mkdtemp(prefix="rover-pg-")
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            os.chmod(self.dir, 0o755)
        data = os.path.join(self.dir, "data")
        subprocess.run(self._as_owner([os.path.join(bindir, "initdb"), "-D", data, "-A", "trust",
                                       "-U", self.USER, "-E", "UTF8", "--locale=C.UTF-8"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.port = _free_port()
        opts = "-p %d -k %s -c listen_addresses=''" % (self.port, self.dir)
        for k, v in self.settings.items():
            opts += " -c %s=%s" % (k, v)
        subprocess.run(self._as_owner([os.path.join(bindir, "pg_ctl"), "-D", data, "-o", opts,
                                       "-l", os.path.join(self.dir, "log"), "-w", "start"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.started = True
        self.bindir = bindir
        return self

    @property
    def url(self):
        return "postgresql://%s@/%s?host=%s&port=%d" % (self.USER, self.DB, self.dir, self.port)

    def postmaster_pid(self):
        with open(os.path.join(self.dir, "data", "postmaster.pid")) as f:
            return int(f.readline())

    def pids(self):
        """The postmaster and every process it started (backends, workers)."""
        root = self.postmaster_pid()
        out = [root]
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == root:
                out.append(int(d))
        return out

    def psql(self, sql, db=None):
        r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-h", self.dir,
                            "-p", str(self.port), "-U", self.USER, "-d", db or self.DB,
                            "-c", sql], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("psql failed: %s" % r.stderr)
        return r.stdout

    def stop(self):
        if self.started:
            subprocess.run(self._as_owner([os.path.join(self.bindir, "pg_ctl"), "-D",
                                           os.path.join(self.dir, "data"), "-m", "immediate",
                                           "-w", "stop"]),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.started = False
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

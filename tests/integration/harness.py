"""Helpers for Rover's integration tests (Python 3 standard library only).

* ``RoverServer`` starts the real binary on ``--port 0``, drains stdout and
  stderr in background threads, waits for the banner (lua-api.md §1.3, §12)
  with a threading primitive (never with sleep) and stops the process with
  SIGTERM, then SIGKILL.
* ``HttpConnection`` talks raw HTTP/1.1 over a socket and parses responses
  byte for byte (status line, ordered/duplicated headers, Content-Length,
  chunked and close-delimited bodies, several pipelined responses).
* ``run_rover`` runs the binary to completion (CLI / startup-error tests).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import unittest
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
APPS_DIR = REPO_ROOT / "tests" / "apps"
EXAMPLES_DIR = REPO_ROOT / "examples"

START_TIMEOUT = 10.0  # seconds to wait for the banner
IO_TIMEOUT = 10.0  # seconds for one socket read
RUN_TIMEOUT = 30.0  # seconds for a CLI invocation that should exit by itself

LOG_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
LOG_LINE_RE = re.compile(r"^(" + LOG_TIME + r") (DEBUG|INFO|WARN|ERROR) (.*)$")
BANNER_RE = re.compile(
    r"^" + LOG_TIME + r" INFO 🚀 Rover server running at http://(.+):(\d+)$")
IMF_DATE_RE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d\d:\d\d:\d\d GMT$")
GENERATED_ID_RE = re.compile(r"^[0-9A-Za-z]{8,24}$")

CT_JSON = "application/json"
CT_TEXT = "text/plain; charset=utf-8"
CT_HTML = "text/html; charset=utf-8"
CT_OCTET = "application/octet-stream"
ALL_METHODS_ALLOW = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
INVALID_METHOD_FMT = ("Invalid HTTP method '{}'. Valid methods: get, post, put, "
                      "patch, delete, head, options")


TOOLS_DIR = REPO_ROOT / "tests" / "tools"  # npm tools of the tests (package.json)
NPM_TIMEOUT = 300


def npm_tools_problem():
    """None when tests/tools' npm packages can be used (running ``npm ci``
    first if one is missing), else why not."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if not node or not npm:
        return "node/npm not installed (Debian: apt-get install nodejs npm)"
    with open(TOOLS_DIR / "package.json", encoding="utf-8") as f:
        deps = json.load(f).get("dependencies", {})
    if not all((TOOLS_DIR / "node_modules" / name).is_dir() for name in deps):
        cmd = ([npm, "ci"] if (TOOLS_DIR / "package-lock.json").exists()
               else [npm, "install"]) + ["--no-audit", "--no-fund"]
        p = subprocess.run(cmd, cwd=str(TOOLS_DIR), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=NPM_TIMEOUT)
        if p.returncode != 0:
            raise AssertionError("%s failed in %s (exit %d):\n%s"
                                 % (" ".join(cmd), TOOLS_DIR, p.returncode,
                                    p.stdout.decode(errors="replace")))
    return None


PROMETHEUS_PARSER = TOOLS_DIR / "parse_prometheus.py"


def prometheus_python():
    """(python, None): an interpreter that imports the Prometheus project's
    text-format parser (prometheus_client; Debian: python3-prometheus-client,
    installed by scripts/deps.sh), to run tests/tools/parse_prometheus.py
    with; else (None, why not). The tests' own interpreter may be another
    Python than Debian's (e.g. pyenv), so Debian's is tried too."""
    for exe in (sys.executable, "/usr/bin/python3"):
        if not exe or not os.path.exists(exe):
            continue
        p = subprocess.run([exe, "-c", "import prometheus_client.parser"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if p.returncode == 0:
            return exe, None
    return None, ("prometheus_client not importable (Debian: apt-get install "
                  "python3-prometheus-client, see scripts/deps.sh)")


def rover_bin():
    """Absolute path of the binary: $ROVER_BIN or build/rover (repo-relative)."""
    p = Path(os.environ.get("ROVER_BIN", "build/rover"))
    if not p.is_absolute():
        p = REPO_ROOT / p
    return str(p)


def binary_problem():
    """None when the binary can be run, else a human-readable reason."""
    p = rover_bin()
    if not os.path.exists(p):
        return "Rover binary not found at %s" % p
    if not os.access(p, os.X_OK):
        return "Rover binary at %s is not executable" % p
    return None


def app_line(app_path, marker):
    """1-based number of the first line of ``app_path`` containing ``marker``."""
    with open(app_path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if marker in line:
                return n
    raise AssertionError("marker %r not found in %s" % (marker, app_path))


def free_port():
    """A port that was free a moment ago on 127.0.0.1."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------------------
# Process output


class OutputCollector:
    """Reads a pipe line by line in a daemon thread so it never fills."""

    def __init__(self, pipe, name):
        self._pipe = pipe
        self._cond = threading.Condition()
        self._lines = []
        self._raw = bytearray()
        self.eof = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            for raw in iter(self._pipe.readline, b""):
                line = raw.decode("utf-8", errors="replace")
                if line.endswith("\n"):
                    line = line[:-1]
                with self._cond:
                    self._raw += raw
                    self._lines.append(line)
                    self._cond.notify_all()
        finally:
            with self._cond:
                self.eof = True
                self._cond.notify_all()

    def lines(self):
        with self._cond:
            return list(self._lines)

    def text(self):
        with self._cond:
            return bytes(self._raw).decode("utf-8", errors="replace")

    def raw(self):
        with self._cond:
            return bytes(self._raw)

    def wait_for(self, pattern, timeout=START_TIMEOUT, start=0):
        """First line (index >= start) matching ``pattern`` (regex or callable).

        Returns (index, match) or None when the pipe closed or the timeout hit.
        """
        if isinstance(pattern, str):
            pattern = re.compile(pattern)
        test = pattern.search if hasattr(pattern, "search") else pattern
        idx = start
        with self._cond:
            def check():
                nonlocal idx
                while idx < len(self._lines):
                    m = test(self._lines[idx])
                    if m:
                        return (idx, m)
                    idx += 1
                return None
            found = [None]

            def ready():
                found[0] = check()
                return found[0] is not None or self.eof
            self._cond.wait_for(ready, timeout)
            return found[0]

    def join(self, timeout=5):
        self._thread.join(timeout)


class ServerStartError(AssertionError):
    pass


class RoverServer:
    """A running ``rover`` process serving one app."""

    def __init__(self, app=None, args=(), cwd=None, env=None, port_arg=True,
                 timeout=START_TIMEOUT, ready_line=None, argv=None, preexec_fn=None,
                 binary=None):
        """``ready_line``: for apps that log no banner (log_level warn and
        above), a regex for a line the app prints once it is accepting; the
        server is then started on a port chosen here instead of port 0."""
        self.app = str(app)
        self.args = list(args)
        self.cwd = str(cwd or REPO_ROOT)
        self.env = env
        self.port_arg = port_arg
        self.timeout = timeout
        self.ready_line = ready_line
        self.argv = argv  # full argument list (replaces app, --port 0 and args)
        self.preexec_fn = preexec_fn  # run in the child before exec (e.g. setrlimit)
        self.binary = binary  # another rover binary than rover_bin() (an installed copy)
        self.proc = None
        self.host = None
        self.port = None
        self.banner_host = None

    def start(self):
        fixed_port = free_port() if self.ready_line else 0
        if self.argv is not None:
            cmd = [self.binary or rover_bin()] + list(self.argv)
        else:
            cmd = [self.binary or rover_bin(), self.app]
            if self.port_arg:
                cmd += ["--port", str(fixed_port)]
            cmd += self.args
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        self.proc = subprocess.Popen(cmd, cwd=self.cwd, env=env,
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE,
                                     preexec_fn=self.preexec_fn)
        self.stdout = OutputCollector(self.proc.stdout, "rover-stdout")
        self.stderr = OutputCollector(self.proc.stderr, "rover-stderr")
        found = self.stdout.wait_for(self.ready_line or BANNER_RE, self.timeout)
        if not found:
            self.exited_early = self.proc.poll() is not None
            self.stop()
            raise ServerStartError(
                "rover did not print %s for %s (exit %s)\nstdout:\n%s\nstderr:\n%s"
                % ("its ready line" if self.ready_line else "its banner", " ".join(cmd),
                   self.proc.returncode, self.stdout.text(), self.stderr.text()))
        self.banner_index = found[0]
        if self.ready_line:
            self.host, self.port = "127.0.0.1", fixed_port
            return self
        m = found[1]
        self.banner_host = m.group(1)
        self.port = int(m.group(2))
        host = self.banner_host.strip("[]")
        self.host = "127.0.0.1" if host == "localhost" else host
        return self

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL after ``timeout``. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stdout.join()
        self.stderr.join()
        for pipe in (self.proc.stdout, self.proc.stderr):
            try:
                pipe.close()
            except OSError:
                pass
        return self.proc.returncode

    # -- requests ----------------------------------------------------------

    def connect(self, timeout=IO_TIMEOUT):
        return HttpConnection(self.host, self.port, timeout)

    def request(self, method, target, headers=None, body=None, **kw):
        """One request on a fresh connection; returns the response."""
        with self.connect() as c:
            return c.request(method, target, headers=headers, body=body, **kw)

    def get(self, target, **kw):
        return self.request("GET", target, **kw)

    # -- logs --------------------------------------------------------------

    def wait_log(self, pattern, timeout=IO_TIMEOUT, start=0):
        return self.stdout.wait_for(pattern, timeout, start)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def run_rover(args, cwd=None, timeout=RUN_TIMEOUT, env=None):
    """Runs ``rover args...`` to completion; returns CompletedProcess (bytes)."""
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([rover_bin()] + list(args), cwd=str(cwd or REPO_ROOT),
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, env=e)


# ---------------------------------------------------------------------------
# HTTP


class ProtocolError(AssertionError):
    pass


class ConnectionClosed(ProtocolError):
    pass


class Response:
    def __init__(self, version, status, reason, headers, body, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value) in arrival order
        self.body = body
        self.raw_head = raw_head

    def header(self, name):
        """First value of header ``name`` (case-insensitive), or None."""
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has(self, name):
        return self.header(name) is not None

    @property
    def text(self):
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<Response %s %s %r %r>" % (self.status, self.reason,
                                           self.headers, self.body[:300])


def build_request(method, target, headers=None, body=None, version="HTTP/1.1",
                  host="localhost", content_length=True):
    """Request bytes. ``headers``: dict or list of pairs (str or bytes).

    A ``Host`` header is added unless ``host`` is None or one is given; a
    ``Content-Length`` is added for a body unless ``content_length`` is False
    or framing headers are given.
    """
    if isinstance(headers, dict):
        headers = list(headers.items())
    headers = list(headers or [])
    names = {(k.decode() if isinstance(k, bytes) else k).lower() for k, _ in headers}
    if isinstance(body, str):
        body = body.encode("utf-8")
    lines = []
    if host is not None and "host" not in names:
        lines.append(b"Host: " + host.encode())
    for k, v in headers:
        k = k if isinstance(k, bytes) else k.encode("latin-1")
        v = v if isinstance(v, bytes) else str(v).encode("latin-1")
        lines.append(k + b": " + v)
    if (body is not None and content_length and "content-length" not in names
            and "transfer-encoding" not in names):
        lines.append(b"Content-Length: " + str(len(body)).encode())
    t = target if isinstance(target, bytes) else target.encode("latin-1")
    m = method if isinstance(method, bytes) else method.encode("latin-1")
    head = m + b" " + t + b" " + version.encode() + b"\r\n"
    head += b"".join(l + b"\r\n" for l in lines) + b"\r\n"
    return head + (body or b"")


class HttpConnection:
    """A raw client socket with a response reader."""

    def __init__(self, host, port, timeout=IO_TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.eof = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def request(self, method, target, headers=None, body=None, head=None, **kw):
        """Sends one request and reads its final response (1xx skipped)."""
        self.send(build_request(method, target, headers, body, **kw))
        if head is None:
            head = method == "HEAD"
        return self.read_response(head=head)

    # -- reading -----------------------------------------------------------

    def _fill(self):
        if self.eof:
            return False
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _read_line(self):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                if not line.endswith(b"\r\n"):
                    raise ProtocolError("line not terminated by CRLF: %r" % line)
                return line[:-2]
            if not self._fill():
                raise ConnectionClosed("connection closed while reading a line "
                                       "(pending %r)" % bytes(self.buf))

    def _read_exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionClosed("connection closed with %d of %d body bytes"
                                       % (len(self.buf), n))
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_response(self, head=False, skip_1xx=True):
        """Reads one response. ``head``: the request was HEAD (no body)."""
        while True:
            r = self._read_one(head)
            if skip_1xx and 100 <= r.status < 200:
                continue
            return r

    def _read_one(self, head):
        if not self.buf and not self._fill():
            raise ConnectionClosed("connection closed before a response")
        raw_head = bytearray()
        status_line = self._read_line()
        raw_head += status_line + b"\r\n"
        m = re.match(rb"^HTTP/(\d\.\d) (\d{3}) (.*)$", status_line)
        if not m:
            raise ProtocolError("bad status line %r" % status_line)
        version = m.group(1).decode()
        status = int(m.group(2))
        reason = m.group(3).decode("latin-1")
        headers = []
        while True:
            line = self._read_line()
            raw_head += line + b"\r\n"
            if line == b"":
                break
            hm = re.match(rb"^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$", line)
            if not hm:
                raise ProtocolError("bad header line %r" % line)
            headers.append((hm.group(1).decode("latin-1"), hm.group(2).decode("latin-1")))
        resp = Response(version, status, reason, headers, b"", bytes(raw_head))
        te = resp.header_all("Transfer-Encoding")
        cl = resp.header_all("Content-Length")
        if head or 100 <= status < 200 or status in (204, 304):
            return resp
        if te:
            if te != ["chunked"]:
                raise ProtocolError("unexpected Transfer-Encoding %r" % te)
            resp.body = self._read_chunked()
        elif cl:
            if len(cl) != 1 or not cl[0].isdigit():
                raise ProtocolError("bad Content-Length %r" % cl)
            resp.body = self._read_exact(int(cl[0]))
        else:
            while self._fill():
                pass
            resp.body = bytes(self.buf)
            self.buf.clear()
        return resp

    def _read_chunked(self):
        body = bytearray()
        while True:
            line = self._read_line()
            size = int(line.split(b";")[0], 16)
            if size == 0:
                while self._read_line() != b"":
                    pass
                return bytes(body)
            body += self._read_exact(size)
            if self._read_exact(2) != b"\r\n":
                raise ProtocolError("chunk data not followed by CRLF")

    def read_responses(self, n, heads=None):
        heads = heads or [False] * n
        return [self.read_response(head=h) for h in heads]

    def read_until_eof(self):
        """All remaining bytes until the peer closes (or resets)."""
        while self._fill():
            pass
        data = bytes(self.buf)
        self.buf.clear()
        return data

    def closed_by_peer(self):
        """True when the peer closes without sending more bytes.

        Waits up to the socket timeout; False if bytes arrive or nothing
        happens in that time.
        """
        if self.buf:
            return False
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        if data:
            self.buf += data
            return False
        self.eof = True
        return True

    def pending(self):
        return bytes(self.buf)


# ---------------------------------------------------------------------------
# Test case bases


class RoverTestCase(unittest.TestCase):
    """One server per class: set APP (path relative to the repo root)."""

    APP = None
    ARGS = ()
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = RoverServer(cls.APP, cls.ARGS)
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    # shortcuts
    def request(self, method, target, headers=None, body=None, **kw):
        return self.server.request(method, target, headers=headers, body=body, **kw)

    def get(self, target, **kw):
        return self.server.get(target, **kw)

    def connect(self):
        c = self.server.connect()
        self.addCleanup(c.close)
        return c

    # assertions
    def assertStatus(self, resp, status):
        self.assertEqual(resp.status, status, resp)

    def assertContentType(self, resp, ctype):
        self.assertEqual(resp.header_all("Content-Type"), [ctype], resp)

    def assertLength(self, resp):
        """Exactly one Content-Length header, equal to the body length."""
        self.assertEqual(resp.header_all("Content-Length"), [str(len(resp.body))], resp)

    def assertText(self, resp, status, body, ctype=CT_TEXT):
        self.assertStatus(resp, status)
        self.assertContentType(resp, ctype)
        self.assertEqual(resp.body, body.encode("utf-8") if isinstance(body, str) else body)
        self.assertLength(resp)

    def assertJSONBytes(self, resp, status, body):
        """JSON response whose body is exactly ``body``."""
        self.assertStatus(resp, status)
        self.assertContentType(resp, CT_JSON)
        self.assertEqual(resp.body, body.encode("utf-8") if isinstance(body, str) else body)
        self.assertLength(resp)

    def assertJSON(self, resp, status, value):
        """JSON response whose decoded body equals ``value`` (key order free)."""
        self.assertStatus(resp, status)
        self.assertContentType(resp, CT_JSON)
        self.assertLength(resp)
        self.assertEqual(resp.json(), value, resp)

    def assertNoBodyHeaders(self, resp):
        """204-style: no Content-Type, no Content-Length, no body."""
        self.assertFalse(resp.has("Content-Type"), resp)
        self.assertFalse(resp.has("Content-Length"), resp)
        self.assertFalse(resp.has("Transfer-Encoding"), resp)
        self.assertEqual(resp.body, b"")


def write_temp_app(testcase, text, name="app.lua"):
    """Writes ``text`` to ``<tmpdir>/<name>``; returns the tmpdir (str)."""
    d = tempfile.mkdtemp(prefix="rover-it-")
    testcase.addCleanup(_rmtree, d)
    p = os.path.join(d, name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w", encoding="utf-8") as f:
        f.write(text)
    return d


def _rmtree(d):
    import shutil
    shutil.rmtree(d, ignore_errors=True)

"""The TechEmpower response checks of bench/tfb.py (issue 13): every response
of every implementation is checked here before anything is measured.

    verify(port, tests, readback)  -> list of problems ("" list: all good)

tests: the subset of TESTS the server implements. readback(ids) -> {id:
randomnumber} reads the World rows straight from the database the server
uses (the updates check: what the response says was written must be what the
table holds). Raw sockets, so that framing is checked byte for byte:
status 200, Server and Date (a parseable HTTP date), the test's Content-Type,
Content-Length equal to the body's length (no chunking), the body's shape;
plaintext also with 16 requests pipelined in one write."""

import email.utils
import html
import json
import re
import socket

TESTS = ("plaintext", "json", "db", "queries", "fortunes", "updates")

# The 12 rows of TechEmpower's Fortune table (toolset/databases/*/create*.sql).
FORTUNES = [
    (1, "fortune: No such file or directory"),
    (2, "A computer scientist is someone who fixes things that aren't broken."),
    (3, "After enough decimal places, nobody gives a damn."),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (5, "A computer program does what you tell it to do, not what you want it to do."),
    (6, "Emacs is a nice operating system, but I prefer UNIX. \u2014 Tom Christaensen"),
    (7, "Any program that runs right is obsolete."),
    (8, "A list is only as strong as its weakest link. \u2014 Donald Knuth"),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (12, "\u30d5\u30ec\u30fc\u30e0\u30ef\u30fc\u30af\u306e\u30d9\u30f3\u30c1\u30de\u30fc\u30af"),
]
ADDED = (0, "Additional fortune added at request time.")


def expected_fortunes_page():
    rows = sorted(FORTUNES + [ADDED], key=lambda r: r[1].encode())  # byte order = code point order
    cells = "".join("<tr><td>%d</td><td>%s</td></tr>" % (i, html.escape(m, quote=True))
                    for i, m in rows)
    return ("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
            "<tr><th>id</th><th>message</th></tr>" + cells + "</table></body></html>")


class Problem(Exception):
    pass


def exchange(port, targets, timeout=10):
    """Writes one GET per target in ONE write on one connection; returns
    [(status, headers {lower name: value}, body bytes)] in order."""
    req = b"".join(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (t.encode(), port)
                   for t in targets)
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(req)
        buf = b""
        while len(out) < len(targets):
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    raise Problem("connection closed after %d of %d responses" % (len(out), len(targets)))
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            m = re.match(r"HTTP/1\.1 (\d{3}) ", lines[0] + " ")
            if not m:
                raise Problem("bad status line %r" % lines[0])
            hdrs = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.lower() in hdrs:
                    raise Problem("header %s twice" % name)
                hdrs[name.lower()] = value.strip()
            if "transfer-encoding" in hdrs:
                raise Problem("Transfer-Encoding %r: Content-Length framing expected" % hdrs["transfer-encoding"])
            if "content-length" not in hdrs:
                raise Problem("no Content-Length")
            n = int(hdrs["content-length"])
            while len(buf) < n:
                chunk = s.recv(65536)
                if not chunk:
                    raise Problem("body shorter than Content-Length %d" % n)
                buf += chunk
            out.append((int(m.group(1)), hdrs, buf[:n]))
            buf = buf[n:]
        s.settimeout(0.05)
        try:
            extra = s.recv(65536)
        except socket.timeout:
            extra = b""
        if extra:
            raise Problem("%d bytes after the last response (Content-Length wrong?)" % len(extra))
    return out


def check_common(resp, types):
    status, hdrs, body = resp
    if status != 200:
        raise Problem("status %d: %r" % (status, body[:200]))
    for h in ("server", "date"):
        if not hdrs.get(h):
            raise Problem("no %s header" % h.capitalize())
    if email.utils.parsedate_to_datetime(hdrs["date"]) is None:
        raise Problem("Date %r is not an HTTP date" % hdrs["date"])
    ct = hdrs.get("content-type", "").lower().replace(" ", "")
    if ct not in types:
        raise Problem("Content-Type %r, expected one of %s" % (hdrs.get("content-type"), types))
    return body


JSON_TYPES = ("application/json", "application/json;charset=utf-8")


def world(obj, where):
    if not isinstance(obj, dict) or set(obj) != {"id", "randomNumber"}:
        raise Problem("%s: %r is not a World object {id, randomNumber}" % (where, obj))
    for k in ("id", "randomNumber"):
        if not isinstance(obj[k], int) or isinstance(obj[k], bool) or not 1 <= obj[k] <= 10000:
            raise Problem("%s: %s = %r, expected an integer 1..10000" % (where, k, obj[k]))
    return obj


def check_plaintext(port, _readback):
    for resp in exchange(port, ["/plaintext"]) + exchange(port, ["/plaintext"] * 16):
        body = check_common(resp, ("text/plain", "text/plain;charset=utf-8"))
        if body != b"Hello, World!":
            raise Problem("plaintext body %r" % body)


def check_json(port, _readback):
    for resp in exchange(port, ["/json"]) + exchange(port, ["/json"] * 4):
        body = check_common(resp, JSON_TYPES)
        if json.loads(body) != {"message": "Hello, World!"}:
            raise Problem("json body %r" % body)
        if len(body) != 27:
            raise Problem("json body %r: 27 bytes expected" % body)


def check_db(port, _readback):
    seen = set()
    for resp in exchange(port, ["/db"] * 8):
        v = json.loads(check_common(resp, JSON_TYPES))
        seen.add(world(v, "/db")["id"])
    if len(seen) < 2:
        raise Problem("/db gave the same row 8 times: not random")


# (query string, expected count): TFB's own cases (missing, 0, not a number,
# empty, above 500) and the measured levels.
QUERY_CASES = [("", 1), ("?queries=", 1), ("?queries=foo", 1), ("?queries=0", 1), ("?queries=-3", 1),
               ("?queries=2.5", 1), ("?queries=1", 1), ("?queries=5", 5), ("?queries=20", 20),
               ("?queries=501", 500), ("?queries=100000", 500)]


def check_rows(port, path, readback=None):
    for qs, n in QUERY_CASES:
        (resp,) = exchange(port, [path + qs])
        v = json.loads(check_common(resp, JSON_TYPES))
        if not isinstance(v, list) or len(v) != n:
            raise Problem("%s%s: %s, expected an array of %d" % (path, qs, type(v).__name__ if not isinstance(v, list) else "%d rows" % len(v), n))
        for o in v:
            world(o, path + qs)
        if readback is not None:
            ids = [o["id"] for o in v]
            if len(set(ids)) == len(ids):
                db = readback(ids)
                wrong = [(o["id"], o["randomNumber"], db.get(o["id"])) for o in v
                         if db.get(o["id"]) != o["randomNumber"]]
                if wrong:
                    raise Problem("%s%s: %d of %d rows not written (id, sent, in the table): %s"
                                  % (path, qs, len(wrong), n, wrong[:3]))
            else:  # repeated ids: the last value sent for an id must be in the table
                last = {o["id"]: o["randomNumber"] for o in v}
                db = readback(list(last))
                if any(db.get(i) != r for i, r in last.items()):
                    raise Problem("%s%s: rows not written" % (path, qs))


def check_queries(port, _readback):
    check_rows(port, "/queries")


def check_updates(port, readback):
    check_rows(port, "/updates", readback)


def normalize(page):
    """The page with entities decoded (&#39; and &#x27; are the same text) and
    whitespace between tags dropped, as TechEmpower's verifier compares."""
    return re.sub(r">\s+<", "><", html.unescape(page)).strip()


def check_fortunes(port, _readback):
    for resp in exchange(port, ["/fortunes"] * 2):
        body = check_common(resp, ("text/html;charset=utf-8",)).decode("utf-8")
        for cell in re.findall(r"<td>(.*?)</td>", body, re.S):
            if re.search(r"[<>\"]|&(?!(amp|lt|gt|quot|#39|#x27|apos);)", cell):
                raise Problem("fortunes: unescaped text in a cell: %r" % cell)
        if normalize(body) != normalize(expected_fortunes_page()):
            raise Problem("fortunes page differs from the expected one:\n%s\nexpected:\n%s"
                          % (body, expected_fortunes_page()))


CHECKS = {"plaintext": check_plaintext, "json": check_json, "db": check_db,
          "queries": check_queries, "fortunes": check_fortunes, "updates": check_updates}


def verify(port, tests, readback=None):
    problems = []
    for t in tests:
        try:
            CHECKS[t](port, readback)
        except (Problem, OSError, ValueError, KeyError) as e:
            problems.append("%s: %s" % (t, e))
    return problems

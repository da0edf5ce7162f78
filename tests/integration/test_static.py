"""Static mounts: server-features.md §10 (declaration, precedence, methods,
path resolution, 200 headers, conditional requests, ranges, large files
sent without blocking the worker). Compression of files and precompressed
``.br``/``.gz`` siblings are not covered here.

Apps: tests/apps/static.lua (mounts under $STATIC_ROOT, one worker) and
tests/apps/static_decl.lua (one declaration case per run, STATIC_CASE).
The served trees are built by the tests in temporary directories.

Raw request targets are sent with HttpConnection so that nothing
normalises them. No sleeps and no timed assertions: the large-download
test relies on socket timeouts as its failure mode.
"""

import email.utils
import hashlib
import os
import re
import shutil
import socket
import struct
import tempfile
import unittest

from harness import (BANNER_RE, CT_OCTET, CT_TEXT, IO_TIMEOUT, REPO_ROOT,
                     RoverServer, RoverTestCase, build_request, run_rover)

APP = "tests/apps/static.lua"
DECL_APP = str(REPO_ROOT / "tests" / "apps" / "static_decl.lua")

ALLOW = "GET, HEAD, OPTIONS"
TRAVERSAL = "Forbidden: path traversal not allowed"
INVALID = "Forbidden: invalid path"
LISTING = "Forbidden: directory listing not allowed"
DENIED = "Forbidden: access denied"
NOT_FOUND = "Not Found"
ETAG_RE = re.compile(r'^"[0-9a-fA-F]{16}"$')

CC_NO = "no-cache"
CC_IMM = "public, max-age=31536000, immutable"
CC_DAY = "public, max-age=86400"
IMG_CACHE = "private, max-age=60"

FIXED_MTIME = 1700000000  # Tue, 14 Nov 2023 22:13:20 GMT
RANGE_DATA = bytes((i * 7 + 3) % 256 for i in range(100))
TEXT_DATA = b"0123456789abcdefghijklmnopqrstuvwxyz"
BIG_SIZE = 100 * 1024 * 1024
PIPE_SIZE = 3 * 1024 * 1024 + 17

# (file name, Content-Type, default Cache-Control) — the §10 table.
TYPES = [
    ("page.html", "text/html; charset=utf-8", CC_NO),
    ("old.htm", "text/html; charset=utf-8", CC_NO),
    ("UPPER.HTML", "text/html; charset=utf-8", CC_NO),
    ("data.json", "application/json", CC_NO),
    ("feed.xml", "application/xml", CC_NO),
    ("app.webmanifest", "application/manifest+json", CC_NO),
    ("style.css", "text/css; charset=utf-8", CC_IMM),
    ("Style.CsS", "text/css; charset=utf-8", CC_IMM),
    ("app.js", "application/javascript", CC_IMM),
    ("mod.mjs", "application/javascript", CC_IMM),
    ("common.cjs", "application/javascript", CC_IMM),
    ("app.js.map", "application/json", CC_IMM),
    ("pic.png", "image/png", CC_IMM),
    ("photo.jpg", "image/jpeg", CC_IMM),
    ("PHOTO.JPEG", "image/jpeg", CC_IMM),
    ("anim.gif", "image/gif", CC_IMM),
    ("pic.webp", "image/webp", CC_IMM),
    ("pic.avif", "image/avif", CC_IMM),
    ("logo.svg", "image/svg+xml", CC_IMM),
    ("favicon.ico", "image/x-icon", CC_IMM),
    ("f.woff", "font/woff", CC_IMM),
    ("f.woff2", "font/woff2", CC_IMM),
    ("f.ttf", "font/ttf", CC_IMM),
    ("f.otf", "font/otf", CC_IMM),
    ("f.eot", "application/vnd.ms-fontobject", CC_IMM),
    ("mod.wasm", "application/wasm", CC_IMM),
    ("notes.txt", "text/plain; charset=utf-8", CC_DAY),
    ("NOTES.TXT", "text/plain; charset=utf-8", CC_DAY),
    ("table.csv", "text/csv; charset=utf-8", CC_DAY),
    ("doc.pdf", "application/pdf", CC_DAY),
    ("blob.bin", CT_OCTET, CC_DAY),
    ("archive.tar.gz", CT_OCTET, CC_DAY),
    ("noextension", CT_OCTET, CC_DAY),
    ("trailingdot.", CT_OCTET, CC_DAY),
    ("html", CT_OCTET, CC_DAY),
]


def http_date(ts):
    return email.utils.formatdate(ts, usegmt=True)


def write(path, data, mtime=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/%d/status" % pid)


def build_tree(root):
    """The directories mounted by tests/apps/static.lua."""
    site = os.path.join(root, "site")
    assets = os.path.join(root, "assets")
    img = os.path.join(root, "img")
    # Root mount "/".
    write(os.path.join(site, "root.txt"), b"site root.txt")
    write(os.path.join(site, "assetsX"), b"site assetsX")
    write(os.path.join(site, "assetsX.txt"), b"site assetsX.txt")
    write(os.path.join(site, "assets", "a.txt"), b"site shadowed a.txt")
    write(os.path.join(site, "assets", "img", "p.png"), b"site shadowed p.png")
    write(os.path.join(site, "api", "hello"), b"site shadowed api/hello")
    # /assets
    write(os.path.join(assets, "a.txt"), TEXT_DATA)
    write(os.path.join(assets, "img", "p.png"), b"assets shadowed p.png")
    write(os.path.join(assets, "imgX", "p.png"), b"assets imgX p.png")
    write(os.path.join(assets, "shadow_txt"), b"file shadow_txt")
    write(os.path.join(assets, "routed"), b"file routed")
    write(os.path.join(assets, "sub", "b.txt"), b"sub b.txt")
    write(os.path.join(assets, "sub", "deeper", "c.txt"), b"deep c.txt")
    write(os.path.join(assets, "sub", ".hidden"), b"hidden")
    write(os.path.join(assets, ".env"), b"SECRET=1")
    write(os.path.join(assets, ".git", "config"), b"[core]")
    write(os.path.join(assets, ".hiddendir", "x.txt"), b"in hidden dir")
    write(os.path.join(assets, "cond.txt"), b"conditional body", mtime=FIXED_MTIME)
    write(os.path.join(assets, "range.bin"), RANGE_DATA, mtime=FIXED_MTIME)
    write(os.path.join(assets, "secret.txt"), b"secret")
    os.chmod(os.path.join(assets, "secret.txt"), 0)
    for name, _, _ in TYPES:
        write(os.path.join(assets, "types", name), ("type " + name).encode())
    # Symlinks: inside the directory (allowed) and leaving it (refused).
    os.symlink("a.txt", os.path.join(assets, "in_link.txt"))
    os.symlink("sub", os.path.join(assets, "in_dir"))
    os.symlink("../site/root.txt", os.path.join(assets, "out_link.txt"))
    os.symlink(os.path.join(site, "root.txt"), os.path.join(assets, "abs_out_link.txt"))
    os.symlink("../site", os.path.join(assets, "out_dir"))
    os.symlink("../../site/root.txt", os.path.join(assets, "sub", "out_link.txt"))
    # /assets/img (cache = "private, max-age=60")
    write(os.path.join(img, "p.png"), b"img p.png")
    write(os.path.join(img, "page.html"), b"img page.html")
    write(os.path.join(img, "cond.css"), b"img cond.css", mtime=FIXED_MTIME)
    # Large files (sparse, with data at a few offsets so the hash means something).
    big = os.path.join(assets, "big.bin")
    with open(big, "wb") as f:
        f.truncate(BIG_SIZE)
        for off in (0, 37 * 1024 * 1024 + 5, BIG_SIZE - 4096):
            f.seek(off)
            f.write(os.urandom(4096))
    write(os.path.join(assets, "pipe.bin"), os.urandom(PIPE_SIZE))


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class StaticBase(RoverTestCase):
    APP = APP

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="rover-static-")
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        build_tree(cls.root)
        cls.server = RoverServer(cls.APP, env={"STATIC_ROOT": cls.root})
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def raw(self, target, method="GET", headers=None):
        """One request with the exact target bytes, on a fresh connection."""
        with self.server.connect() as c:
            return c.request(method, target, headers=headers)

    def assertForbidden(self, resp, text):
        self.assertText(resp, 403, text)

    def assertFile(self, resp, data, ctype=None, cache=None):
        self.assertStatus(resp, 200)
        self.assertEqual(resp.body, data, resp)
        self.assertEqual(resp.header_all("Content-Length"), [str(len(data))], resp)
        if ctype is not None:
            self.assertContentType(resp, ctype)
        if cache is not None:
            self.assertEqual(resp.header_all("Cache-Control"), [cache], resp)


# ---------------------------------------------------------------------------
# Declaration


class DeclarationTest(unittest.TestCase):
    def run_case(self, case, dir_value, cwd=None):
        cwd = cwd or tempfile.mkdtemp(prefix="rover-static-decl-")
        self.addCleanup(shutil.rmtree, cwd, True)
        p = run_rover([DECL_APP], cwd=cwd, timeout=15,
                      env={"STATIC_CASE": case, "STATIC_DIR": dir_value})
        self.assertEqual(p.returncode, 1, p)
        self.assertIsNone(BANNER_RE.search(p.stdout.decode("utf-8", "replace")), p.stdout)
        err = p.stderr.decode("utf-8", "replace").splitlines()
        self.assertTrue(err, "no stderr output")
        return err[0]

    def test_directory_not_found(self):
        missing = os.path.join(tempfile.gettempdir(), "rover-static-no-such-dir-%d" % os.getpid())
        self.assertEqual(self.run_case("missing", missing),
                         "❌ Error: Static mount '/assets': directory '%s' not found" % missing)
        self.assertEqual(self.run_case("missing_root", "nope"),
                         "❌ Error: Static mount '/': directory 'nope' not found")

    def test_dir_is_a_file(self):
        d = tempfile.mkdtemp(prefix="rover-static-decl-")
        self.addCleanup(shutil.rmtree, d, True)
        write(os.path.join(d, "plain"), b"not a directory")
        self.assertEqual(self.run_case("missing", "plain", cwd=d),
                         "❌ Error: Static mount '/assets': directory 'plain' not found")

    def test_mount_already_defined(self):
        d = tempfile.mkdtemp(prefix="rover-static-decl-")
        self.addCleanup(shutil.rmtree, d, True)
        self.assertEqual(self.run_case("duplicate", d),
                         "❌ Error: Static mount already defined at '/assets'")

    def test_dir_required(self):
        self.assertEqual(self.run_case("no_dir", "unused"),
                         "❌ Error: Static mount '/downloads': dir is required")
        self.assertEqual(self.run_case("no_dir_root", "unused"),
                         "❌ Error: Static mount '/': dir is required")

    def test_dir_relative_to_working_directory(self):
        d = tempfile.mkdtemp(prefix="rover-static-decl-")
        self.addCleanup(shutil.rmtree, d, True)
        write(os.path.join(d, "public", "hello.txt"), b"relative mount")
        server = RoverServer(DECL_APP, cwd=d, env={"STATIC_CASE": "relative"})
        self.addCleanup(server.stop)
        server.start()
        r = server.get("/files/hello.txt")
        self.assertEqual((r.status, r.body), (200, b"relative mount"), r)
        # Files are opened at request time: one created after startup is served.
        write(os.path.join(d, "public", "late.txt"), b"created later")
        r = server.get("/files/late.txt")
        self.assertEqual((r.status, r.body), (200, b"created later"), r)


# ---------------------------------------------------------------------------
# Precedence and methods


class PrecedenceTest(StaticBase):
    def test_api_route_shadows_file_for_any_method(self):
        # Only POST is routed at /assets/shadow_txt: GET gets the route's 405.
        r = self.get("/assets/shadow_txt")
        self.assertText(r, 405, "Method Not Allowed")
        self.assertEqual(r.header_all("Allow"), ["POST, OPTIONS"])
        r = self.request("POST", "/assets/shadow_txt")
        self.assertText(r, 200, "api-post")
        r = self.request("OPTIONS", "/assets/shadow_txt")
        self.assertStatus(r, 204)
        self.assertEqual(r.header_all("Allow"), ["POST, OPTIONS"])
        r = self.get("/assets/routed")
        self.assertText(r, 200, "api-get")
        # /api/hello exists in the root mount's directory too.
        r = self.get("/api/hello")
        self.assertText(r, 200, "hello from the handler")

    def test_longest_prefix_wins(self):
        self.assertFile(self.get("/root.txt"), b"site root.txt")
        self.assertFile(self.get("/assets/a.txt"), TEXT_DATA)
        self.assertFile(self.get("/assets/img/p.png"), b"img p.png", "image/png", IMG_CACHE)
        self.assertFile(self.get("/assets/imgX/p.png"), b"assets imgX p.png")
        # The /assets mount does not see site/, /assets/img does not see assets/img.
        self.assertText(self.get("/assets/root.txt"), 404, NOT_FOUND)
        self.assertText(self.get("/assets/img/img/p.png"), 404, NOT_FOUND)

    def test_prefix_covers_whole_segments_only(self):
        self.assertFile(self.get("/assetsX"), b"site assetsX")
        self.assertFile(self.get("/assetsX.txt"), b"site assetsX.txt")
        # Not served from the /assets mount's directory:
        self.assertText(self.get("/assetsa.txt"), 404, NOT_FOUND)

    def test_mount_roots_are_directories(self):
        for target in ("/", "/assets", "/assets/", "/assets/img", "/assets/img/",
                       "/assets/.", "/assets/./", "/assets/.//", "/assets/%2e"):
            with self.subTest(target=target):
                self.assertForbidden(self.raw(target), LISTING)


class MethodsTest(StaticBase):
    def test_get_and_head(self):
        g = self.get("/assets/a.txt")
        self.assertFile(g, TEXT_DATA, CT_TEXT, CC_DAY)
        h = self.request("HEAD", "/assets/a.txt")
        self.assertStatus(h, 200)
        self.assertEqual(h.body, b"")
        drop = {"date"}
        self.assertEqual([(k, v) for k, v in h.headers if k.lower() not in drop],
                         [(k, v) for k, v in g.headers if k.lower() not in drop])
        self.assertEqual(h.header_all("Content-Length"), [str(len(TEXT_DATA))])

    def test_head_has_no_body_on_the_wire(self):
        c = self.connect()
        c.send(build_request("HEAD", "/assets/pipe.bin") + build_request("GET", "/api/hello"))
        h = c.read_response(head=True)
        self.assertStatus(h, 200)
        self.assertEqual(h.header_all("Content-Length"), [str(PIPE_SIZE)])
        r = c.read_response()
        self.assertText(r, 200, "hello from the handler")

    def test_options(self):
        for target in ("/assets/a.txt", "/assets/nope.txt", "/root.txt", "/assets"):
            with self.subTest(target=target):
                r = self.request("OPTIONS", target)
                self.assertStatus(r, 204)
                self.assertEqual(r.header_all("Allow"), [ALLOW])
                self.assertNoBodyHeaders(r)

    def test_other_methods_405(self):
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            for target in ("/assets/a.txt", "/root.txt"):
                with self.subTest(method=method, target=target):
                    r = self.request(method, target, body=b"x")
                    self.assertText(r, 405, "Method Not Allowed")
                    self.assertEqual(r.header_all("Allow"), [ALLOW])


# ---------------------------------------------------------------------------
# 200 headers


class HeadersTest(StaticBase):
    def test_content_type_and_cache_by_extension(self):
        for name, ctype, cache in TYPES:
            with self.subTest(name=name):
                r = self.get("/assets/types/" + name)
                self.assertFile(r, ("type " + name).encode(), ctype, cache)

    def test_mount_cache_overrides_extension(self):
        self.assertFile(self.get("/assets/img/page.html"), b"img page.html",
                        "text/html; charset=utf-8", IMG_CACHE)
        self.assertFile(self.get("/assets/img/p.png"), b"img p.png", "image/png", IMG_CACHE)

    def test_validators(self):
        r = self.get("/assets/cond.txt")
        self.assertFile(r, b"conditional body", CT_TEXT, CC_DAY)
        self.assertEqual(r.header_all("Accept-Ranges"), ["bytes"])
        self.assertEqual(len(r.header_all("ETag")), 1, r)
        self.assertRegex(r.header("ETag"), ETAG_RE)
        self.assertEqual(r.header_all("Last-Modified"), [http_date(FIXED_MTIME)])
        # Stable between requests.
        self.assertEqual(self.get("/assets/cond.txt").header("ETag"), r.header("ETag"))

    def test_etag_changes_when_file_changes(self):
        p = self.path("assets", "mutable.txt")
        write(p, b"first version", mtime=FIXED_MTIME)
        r1 = self.get("/assets/mutable.txt")
        self.assertFile(r1, b"first version")
        self.assertRegex(r1.header("ETag"), ETAG_RE)
        self.assertEqual(r1.header("Last-Modified"), http_date(FIXED_MTIME))
        # Same size, other mtime.
        write(p, b"other version", mtime=FIXED_MTIME + 3600)
        r2 = self.get("/assets/mutable.txt")
        self.assertFile(r2, b"other version")
        self.assertRegex(r2.header("ETag"), ETAG_RE)
        self.assertNotEqual(r2.header("ETag"), r1.header("ETag"))
        self.assertEqual(r2.header("Last-Modified"), http_date(FIXED_MTIME + 3600))
        # Other size, same mtime as before.
        write(p, b"a third, longer version", mtime=FIXED_MTIME + 3600)
        r3 = self.get("/assets/mutable.txt")
        self.assertFile(r3, b"a third, longer version")
        self.assertRegex(r3.header("ETag"), ETAG_RE)
        self.assertNotIn(r3.header("ETag"), (r1.header("ETag"), r2.header("ETag")))
        # The old tag no longer validates.
        r = self.get("/assets/mutable.txt", headers={"If-None-Match": r1.header("ETag")})
        self.assertFile(r, b"a third, longer version")

    def test_symlink_inside_is_served(self):
        self.assertFile(self.get("/assets/in_link.txt"), TEXT_DATA, CT_TEXT)
        self.assertFile(self.get("/assets/in_dir/b.txt"), b"sub b.txt", CT_TEXT)


# ---------------------------------------------------------------------------
# Path resolution


TRAVERSALS = [
    "/assets/../site/root.txt",
    "/assets/%2e%2e/site/root.txt",
    "/assets/%2E%2E/site/root.txt",
    "/assets/%2E%2e/site/root.txt",
    "/assets/.%2e/site/root.txt",
    "/assets/%2e./site/root.txt",
    "/assets/.%2E/site/root.txt",
    "/assets/%252e%252e/site/root.txt",
    "/assets/%252E%252E/site/root.txt",
    "/assets/..%2fsite%2froot.txt",
    "/assets/..%2Fsite/root.txt",
    "/assets/%2e%2e%2fsite%2froot.txt",
    "/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/assets/sub/../../site/root.txt",
    "/assets/sub/%2e%2e/%2e%2e/site/root.txt",
    "/assets/sub%2f..%2f..%2fsite%2froot.txt",
    "/assets/sub/../a.txt",
    "/assets/a.txt/..",
    "/assets/..",
    "/assets/%2e%2e",
    "/assets/img/../a.txt",
    "/assets/img/%2e%2e/%2e%2e/site/root.txt",
    "/%2e%2e/etc/passwd",
    "/sub/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
]

INVALID_PATHS = [
    "/assets/a.txt%00",
    "/assets/a%00.txt",
    "/assets/%00",
    "/assets/sub\\b.txt",
    "/assets/sub%5cb.txt",
    "/assets/sub%5Cb.txt",
    "/assets/%2fetc/passwd",
    "/assets/%2Fetc%2Fpasswd",
    "/%2fetc/passwd",
    "/assets/%zz",
    "/assets/a%zz.txt",
    "/assets/a%2",
    "/assets/a%",
    "/assets/%g0.txt",
    "/assets/" + "a" * 5000,
    "/assets/" + "/".join(["abcdefghij"] * 450),
]


class PathResolutionTest(StaticBase):
    def test_traversal(self):
        self.assertGreaterEqual(len(TRAVERSALS), 15)
        for target in TRAVERSALS:
            with self.subTest(target=target):
                self.assertForbidden(self.raw(target), TRAVERSAL)

    def test_traversal_head(self):
        r = self.raw("/assets/%2e%2e/site/root.txt", method="HEAD")
        self.assertStatus(r, 403)

    def test_invalid_paths(self):
        for target in INVALID_PATHS:
            with self.subTest(target=target[:80]):
                self.assertForbidden(self.raw(target), INVALID)

    def test_symlink_leaving_directory(self):
        for target in ("/assets/out_link.txt", "/assets/abs_out_link.txt",
                       "/assets/out_dir/root.txt", "/assets/sub/out_link.txt"):
            with self.subTest(target=target):
                self.assertForbidden(self.raw(target), TRAVERSAL)

    def test_directories(self):
        for target in ("/assets/sub", "/assets/sub/", "/assets/sub/deeper",
                       "/assets/in_dir", "/assets/%73ub"):
            with self.subTest(target=target):
                self.assertForbidden(self.raw(target), LISTING)

    def test_unreadable_file(self):
        if os.geteuid() != 0:
            self.assertForbidden(self.raw("/assets/secret.txt"), DENIED)
            return
        # Root reads mode-000 files: run a second server as "nobody".
        try:
            import pwd
            nobody = pwd.getpwnam("nobody")
        except (ImportError, KeyError):
            self.skipTest("running as root and there is no user 'nobody'")
        root = tempfile.mkdtemp(prefix="rover-static-nobody-")
        self.addCleanup(shutil.rmtree, root, True)
        os.chmod(root, 0o755)
        for d in ("site", "assets", "img"):
            os.makedirs(os.path.join(root, d))
        write(os.path.join(root, "assets", "ok.txt"), b"readable")
        write(os.path.join(root, "assets", "secret.txt"), b"secret")
        os.chmod(os.path.join(root, "assets", "secret.txt"), 0)

        def drop():
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
        server = RoverServer(self.APP, env={"STATIC_ROOT": root}, preexec_fn=drop)
        self.addCleanup(server.stop)
        try:
            server.start()
        except AssertionError as e:
            self.skipTest("cannot run rover as nobody: %s" % str(e)[:200])
        self.assertFile(server.get("/assets/ok.txt"), b"readable")
        with server.connect() as c:
            self.assertForbidden(c.request("GET", "/assets/secret.txt"), DENIED)
            self.assertStatus(c.request("HEAD", "/assets/secret.txt", head=True), 403)

    def test_missing_and_dotfiles(self):
        for target in ("/assets/nope.txt", "/assets/sub/nope", "/nope",
                       "/assets/sub/b.txt/x", "/assets/.env", "/assets/%2eenv",
                       "/assets/.git/config", "/assets/.git", "/assets/%2Egit/config",
                       "/assets/sub/.hidden", "/assets/.hiddendir/x.txt",
                       "/assets/.nonexistent"):
            with self.subTest(target=target):
                self.assertText(self.raw(target), 404, NOT_FOUND)

    def test_decoding_and_ignored_segments(self):
        for target, data in (("/assets/%61.txt", TEXT_DATA),
                             ("/assets/a%2Etxt", TEXT_DATA),
                             ("/assets/sub//b.txt", b"sub b.txt"),
                             ("/assets//a.txt", TEXT_DATA),  # a leading empty segment too
                             ("/assets/sub///deeper//c.txt", b"deep c.txt"),
                             ("/assets/./a.txt", TEXT_DATA),
                             ("/assets/%2e/a.txt", TEXT_DATA),
                             ("/assets/sub//./deeper/c.txt", b"deep c.txt"),
                             ("/assets/sub%2fb.txt", b"sub b.txt"),
                             ("/assets/a.txt?x=../../etc/passwd", TEXT_DATA)):
            with self.subTest(target=target):
                self.assertFile(self.raw(target), data)

    def test_percent_decoded_once(self):
        # "%2561.txt" decodes once to "%61.txt", which names no file.
        write(self.path("assets", "%61.txt"), b"literal percent name")
        self.assertFile(self.raw("/assets/%2561.txt"), b"literal percent name")


# ---------------------------------------------------------------------------
# Conditional requests


class ConditionalTest(StaticBase):
    def etag(self, target="/assets/cond.txt"):
        r = self.get(target)
        self.assertStatus(r, 200)
        return r.header("ETag")

    def assert304(self, resp, etag, cache=CC_DAY, mtime=FIXED_MTIME):
        self.assertStatus(resp, 304)
        self.assertEqual(resp.header_all("ETag"), [etag], resp)
        self.assertEqual(resp.header_all("Last-Modified"), [http_date(mtime)], resp)
        self.assertEqual(resp.header_all("Cache-Control"), [cache], resp)
        self.assertFalse(resp.has("Transfer-Encoding"), resp)
        self.assertIn(resp.header_all("Content-Length"), ([], ["0"]), resp)

    def cond(self, headers, target="/assets/cond.txt"):
        """Request then a second one on the same connection: a 304 must not
        have sent body bytes."""
        c = self.connect()
        c.send(build_request("GET", target, headers=headers)
               + build_request("GET", "/api/hello"))
        r = c.read_response()
        after = c.read_response()
        self.assertText(after, 200, "hello from the handler")
        return r

    def test_if_none_match(self):
        etag = self.etag()
        hexpart = etag.strip('"')
        for value in (etag, '"0000000000000000", ' + etag, etag + ', "0000000000000000"',
                      '"a","b",' + etag, "W/" + etag, '"0000000000000000", W/' + etag,
                      "*", '"%s-gzip"' % hexpart, 'W/"%s-deflate"' % hexpart):
            with self.subTest(value=value):
                self.assert304(self.cond({"If-None-Match": value}), etag)

    def test_if_none_match_mismatch(self):
        for value in ('"0000000000000000"', '"x", "y"', 'W/"0000000000000000"'):
            with self.subTest(value=value):
                r = self.cond({"If-None-Match": value})
                self.assertFile(r, b"conditional body")

    def test_304_with_mount_cache(self):
        etag = self.etag("/assets/img/cond.css")
        self.assert304(self.cond({"If-None-Match": etag}, "/assets/img/cond.css"),
                       etag, cache=IMG_CACHE)

    def test_if_modified_since(self):
        etag = self.etag()
        for ts in (FIXED_MTIME, FIXED_MTIME + 1, FIXED_MTIME + 86400 * 365):
            with self.subTest(ims=http_date(ts)):
                self.assert304(self.cond({"If-Modified-Since": http_date(ts)}), etag)
        for ts in (FIXED_MTIME - 1, FIXED_MTIME - 86400):
            with self.subTest(ims=http_date(ts)):
                self.assertFile(self.cond({"If-Modified-Since": http_date(ts)}),
                                b"conditional body")
        with self.subTest(ims="invalid"):
            self.assertFile(self.cond({"If-Modified-Since": "not a date"}),
                            b"conditional body")

    def test_if_none_match_wins(self):
        etag = self.etag()
        r = self.cond({"If-None-Match": '"0000000000000000"',
                       "If-Modified-Since": http_date(FIXED_MTIME + 3600)})
        self.assertFile(r, b"conditional body")
        r = self.cond({"If-None-Match": etag,
                       "If-Modified-Since": http_date(FIXED_MTIME - 3600)})
        self.assert304(r, etag)


# ---------------------------------------------------------------------------
# Ranges


class RangeTest(StaticBase):
    SIZE = len(RANGE_DATA)

    def rng(self, value, extra=None, method="GET", target="/assets/range.bin"):
        c = self.connect()
        headers = [("Range", value)] + list((extra or {}).items())
        c.send(build_request(method, target, headers=headers)
               + build_request("GET", "/api/hello"))
        r = c.read_response(head=method == "HEAD")
        after = c.read_response()
        self.assertText(after, 200, "hello from the handler")
        return r

    def assert206(self, resp, first, last):
        self.assertStatus(resp, 206)
        self.assertEqual(resp.header_all("Content-Range"),
                         ["bytes %d-%d/%d" % (first, last, self.SIZE)], resp)
        self.assertEqual(resp.body, RANGE_DATA[first:last + 1])
        self.assertLength(resp)
        self.assertContentType(resp, CT_OCTET)
        self.assertEqual(resp.header_all("Accept-Ranges"), ["bytes"], resp)
        self.assertRegex(resp.header("ETag"), ETAG_RE)
        self.assertFalse(resp.has("Content-Encoding"), resp)

    def assertWhole(self, resp):
        self.assertFile(resp, RANGE_DATA, CT_OCTET)
        self.assertFalse(resp.has("Content-Range"), resp)

    def test_satisfiable(self):
        last = self.SIZE - 1
        for value, first, end in (("bytes=0-0", 0, 0),
                                  ("bytes=10-19", 10, 19),
                                  ("bytes=10-", 10, last),
                                  ("bytes=-5", self.SIZE - 5, last),
                                  ("bytes=-1", last, last),
                                  ("bytes=%d-%d" % (last, last), last, last),
                                  ("bytes=%d-" % last, last, last),
                                  ("bytes=90-500", 90, last),
                                  ("bytes=0-%d" % last, 0, last),
                                  ("bytes=-500", 0, last)):
            with self.subTest(range=value):
                self.assert206(self.rng(value), first, end)

    def test_unsatisfiable(self):
        for value in ("bytes=%d-" % self.SIZE, "bytes=%d-" % (self.SIZE + 50),
                      "bytes=%d-%d" % (self.SIZE, self.SIZE + 10), "bytes=1000-2000"):
            with self.subTest(range=value):
                r = self.rng(value)
                self.assertStatus(r, 416)
                self.assertEqual(r.header_all("Content-Range"), ["bytes */%d" % self.SIZE], r)
                self.assertEqual(r.body, b"")
                self.assertIn(r.header_all("Content-Length"), ([], ["0"]), r)

    def test_several_or_malformed_ranges_send_whole_file(self):
        for value in ("bytes=0-1,5-6", "bytes=0-1, 10-", "bytes=-5,0-0", "bytes=abc",
                      "bytes=", "bytes=-", "bytes=5-2", "bytes=--5", "bytes=1-2-3",
                      "items=0-5", "bytes 0-5", "bytes=0x1-5", "0-5"):
            with self.subTest(range=value):
                self.assertWhole(self.rng(value))

    def test_if_range(self):
        etag = self.get("/assets/range.bin").header("ETag")
        self.assert206(self.rng("bytes=10-19", {"If-Range": etag}), 10, 19)
        self.assertWhole(self.rng("bytes=10-19", {"If-Range": '"0000000000000000"'}))
        self.assert206(self.rng("bytes=10-19", {"If-Range": http_date(FIXED_MTIME)}), 10, 19)
        self.assertWhole(self.rng("bytes=10-19",
                                  {"If-Range": http_date(FIXED_MTIME - 86400)}))

    def test_range_on_head_ignored(self):
        r = self.rng("bytes=10-19", method="HEAD")
        self.assertStatus(r, 200)
        self.assertEqual(r.header_all("Content-Length"), [str(self.SIZE)], r)
        self.assertFalse(r.has("Content-Range"), r)
        self.assertEqual(r.body, b"")

    def test_range_on_handler_response_ignored(self):
        r = self.rng("bytes=0-4", target="/api/hello")
        self.assertText(r, 200, "hello from the handler")
        self.assertFalse(r.has("Content-Range"), r)
        r = self.rng("bytes=500-", target="/api/hello")
        self.assertText(r, 200, "hello from the handler")
        r = self.rng("bytes=0-4", target="/assets/nope.txt")
        self.assertText(r, 404, NOT_FOUND)


# ---------------------------------------------------------------------------
# Large files, slow readers, pipelining, disconnects


def read_head(sock, buf):
    """Reads a response head from ``sock``; returns (status, headers, rest)."""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise AssertionError("connection closed before the response head")
        buf += data
    head, rest = bytes(buf).split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    return status, headers, rest


class LargeFileTest(StaticBase):
    def test_slow_reader_does_not_block_the_worker(self):
        big_path = self.path("assets", "big.bin")
        expected_hash = sha256_file(big_path)
        rss_before = rss_kib(self.server.proc.pid)

        slow = socket.create_connection((self.server.host, self.server.port),
                                        timeout=IO_TIMEOUT)
        self.addCleanup(slow.close)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        slow.sendall(build_request("GET", "/assets/big.bin"))
        status, headers, rest = read_head(slow, bytearray())
        self.assertEqual(status, 200, headers)
        self.assertEqual(headers.get("content-length"), str(BIG_SIZE))
        self.assertEqual(headers.get("content-type"), CT_OCTET)
        h = hashlib.sha256()
        h.update(rest)
        got = len(rest)
        # Read a little, then stop reading: the server's socket buffer fills.
        while got < 256 * 1024:
            data = slow.recv(65536)
            self.assertTrue(data, "big download closed early")
            h.update(data)
            got += len(data)

        # The only worker keeps serving other connections meanwhile.
        other = self.connect()
        for i in range(5):
            r = other.request("GET", "/api/hello")
            self.assertText(r, 200, "hello from the handler")
            r = other.request("GET", "/assets/a.txt")
            self.assertFile(r, TEXT_DATA)
            r = self.get("/assets/sub/b.txt")
            self.assertFile(r, b"sub b.txt")
        # The file is not buffered in user space.
        grown = rss_kib(self.server.proc.pid) - rss_before
        self.assertLess(grown, 32 * 1024, "RSS grew by %d KiB during the download" % grown)

        # Now read the rest.
        while got < BIG_SIZE:
            data = slow.recv(1 << 20)
            if not data:
                break
            h.update(data)
            got += len(data)
        self.assertEqual(got, BIG_SIZE)
        self.assertEqual(h.hexdigest(), expected_hash)
        # The connection is still usable after the file.
        slow.sendall(build_request("GET", "/api/hello"))
        status, headers, rest = read_head(slow, bytearray())
        self.assertEqual(status, 200)

    def test_pipelined_requests_after_file(self):
        with open(self.path("assets", "pipe.bin"), "rb") as f:
            pipe_data = f.read()
        c = self.connect()
        c.send(build_request("GET", "/assets/pipe.bin")
               + build_request("GET", "/api/hello")
               + build_request("GET", "/assets/range.bin", headers={"Range": "bytes=10-19"})
               + build_request("HEAD", "/assets/a.txt")
               + build_request("GET", "/assets/pipe.bin")
               + build_request("GET", "/assets/nope.txt")
               + build_request("GET", "/assets/a.txt"))
        r = c.read_response()
        self.assertFile(r, pipe_data)
        self.assertText(c.read_response(), 200, "hello from the handler")
        r = c.read_response()
        self.assertStatus(r, 206)
        self.assertEqual(r.body, RANGE_DATA[10:20])
        r = c.read_response(head=True)
        self.assertStatus(r, 200)
        self.assertEqual(r.header_all("Content-Length"), [str(len(TEXT_DATA))])
        self.assertFile(c.read_response(), pipe_data)
        self.assertText(c.read_response(), 404, NOT_FOUND)
        self.assertFile(c.read_response(), TEXT_DATA)
        self.assertEqual(c.pending(), b"")

    def test_client_disconnects_mid_download(self):
        for abortive in (False, True):
            with self.subTest(abortive=abortive):
                s = socket.create_connection((self.server.host, self.server.port),
                                             timeout=IO_TIMEOUT)
                try:
                    s.sendall(build_request("GET", "/assets/big.bin"))
                    status, headers, rest = read_head(s, bytearray())
                    self.assertEqual(status, 200)
                    got = len(rest)
                    while got < 128 * 1024:
                        data = s.recv(65536)
                        self.assertTrue(data)
                        got += len(data)
                    if abortive:
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     struct.pack("ii", 1, 0))
                finally:
                    s.close()
                # The server goes on serving.
                self.assertFile(self.get("/assets/a.txt"), TEXT_DATA)
                self.assertText(self.get("/api/hello"), 200, "hello from the handler")
                self.assertIsNone(self.server.proc.poll())


if __name__ == "__main__":
    unittest.main()

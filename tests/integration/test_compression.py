"""server-features.md §9 (compression) for dynamic responses, against the
real binary.

Apps (routes shared through tests/apps/compression_common.lua):
compression.lua (compress = true: br, gzip, deflate; min_size 1024; the
default type set), compression_default.lua (no compress key),
compression_gzip_only.lua (algorithms = { "gzip" }), compression_order.lua
(algorithms = { "deflate", "gzip", "br" }), compression_types.lua
(types = { "application/json", "text/csv" }, min_size = 2048),
compression_off.lua (compress = false), compression_disabled.lua
(compress = { enabled = false }), compression_lz4.lua (startup error).

Every compressed body is decoded here and compared byte for byte with the
identity body of the same target: gzip with Python's gzip module, deflate
with zlib.decompress (zlib format, RFC 1950), br with node's zlib (Python
has no brotli module); only the br decoding is skipped when node is
missing. Static files (§10) are not covered here.
"""

import gzip
import shutil
import subprocess
import unittest
import zlib
from urllib.parse import quote

from harness import (BANNER_RE, CT_JSON, CT_TEXT, RoverServer, RoverTestCase,
                     run_rover)

AE = "Accept-Encoding"
CODINGS = ("br", "gzip", "deflate")
NODE = shutil.which("node")
BR_DECODE_JS = ("process.stdout.write(require('zlib').brotliDecompressSync("
                "require('fs').readFileSync(0)))")

# Media types of the default set (§9) and some outside it.
DEFAULT_SET_TYPES = (
    "text/plain", "text/html", "text/css", "text/csv", "text/markdown",
    "text/plain; charset=utf-8", "application/json",
    "application/json; charset=utf-8", "application/javascript",
    "application/xml", "image/svg+xml", "application/problem+json",
    "application/vnd.api+json; charset=utf-8", "application/atom+xml",
    "application/rss+xml",
)
OUTSIDE_DEFAULT_SET = (
    "text/event-stream", "image/png", "image/jpeg", "application/octet-stream",
    "application/pdf", "application/zip", "application/wasm", "font/woff2",
    "video/mp4",
)


def brotli_decode(data):
    p = subprocess.run([NODE, "-e", BR_DECODE_JS], input=data,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    if p.returncode != 0:
        raise AssertionError("node could not decode the br body: %s"
                             % p.stderr.decode("utf-8", "replace"))
    return p.stdout


def ct_target(ctype, n=4096):
    return "/ct?type=%s&n=%d" % (quote(ctype, safe=""), n)


class CompressionBase(RoverTestCase):
    def ae(self, target, value, method="GET"):
        """``target`` with ``Accept-Encoding: value`` (None: no header)."""
        headers = [] if value is None else [(AE, value)]
        return self.request(method, target, headers=headers)

    def identity(self, target):
        """The identity response of ``target`` (no Accept-Encoding)."""
        r = self.request("GET", target)
        self.assertStatus(r, 200)
        self.assertEqual(r.header_all("Content-Encoding"), [], r)
        self.assertLength(r)
        return r

    def vary_tokens(self, resp):
        return [t.strip().lower() for v in resp.header_all("Vary")
                for t in v.split(",") if t.strip()]

    def assertVaryAE(self, resp):
        """``Accept-Encoding`` exactly once among the Vary tokens."""
        self.assertEqual(self.vary_tokens(resp).count("accept-encoding"), 1, resp)

    def assertNoVaryAE(self, resp):
        self.assertNotIn("accept-encoding", self.vary_tokens(resp), resp)

    def assertDecodes(self, coding, body, expected):
        """``body`` decoded with ``coding`` equals ``expected`` byte for byte."""
        with self.subTest(decode=coding):
            if coding == "gzip":
                self.assertEqual(body[:2], b"\x1f\x8b", "not a gzip member")
                self.assertEqual(gzip.decompress(body), expected)
            elif coding == "deflate":
                # zlib format (RFC 1950): zlib.decompress with its default
                # wbits refuses raw deflate and gzip data.
                self.assertEqual(zlib.decompress(body), expected)
            elif coding == "br":
                if NODE is None:
                    self.skipTest("node not found: br body not decoded "
                                  "(Python has no brotli module here)")
                self.assertEqual(brotli_decode(body), expected)
            else:
                self.fail("unknown coding %r" % coding)

    def assertCompressed(self, resp, coding, expected_body, status=200):
        """``resp`` is ``expected_body`` compressed with ``coding``."""
        self.assertStatus(resp, status)
        self.assertEqual(resp.header_all("Content-Encoding"), [coding], resp)
        self.assertEqual(resp.header_all("Transfer-Encoding"), [], resp)
        self.assertLength(resp)
        self.assertLess(len(resp.body), len(expected_body), resp)
        self.assertVaryAE(resp)
        self.assertDecodes(coding, resp.body, expected_body)

    def assertIdentity(self, resp, expected_body, vary=True, status=200):
        """``resp`` carries ``expected_body`` as is; ``vary``: whether
        ``Vary: Accept-Encoding`` is expected."""
        self.assertStatus(resp, status)
        self.assertEqual(resp.header_all("Content-Encoding"), [], resp)
        self.assertEqual(resp.body, expected_body)
        self.assertLength(resp)
        if vary:
            self.assertVaryAE(resp)
        else:
            self.assertNoVaryAE(resp)

    def check_table(self, target, table):
        """``table``: (Accept-Encoding value or None, coding or None)."""
        plain = self.identity(target).body
        for value, coding in table:
            with self.subTest(accept_encoding=value):
                r = self.ae(target, value)
                if coding is None:
                    self.assertIdentity(r, plain)
                else:
                    self.assertCompressed(r, coding, plain)


# ---------------------------------------------------------------------------
# Negotiation


class NegotiationTest(CompressionBase):
    """Default algorithms { "br", "gzip", "deflate" }."""
    APP = "tests/apps/compression.lua"

    def test_identity_response(self):
        r = self.ae("/plain", None)
        self.assertStatus(r, 200)
        self.assertContentType(r, CT_TEXT)
        self.assertEqual(r.header_all("Content-Encoding"), [])
        self.assertEqual(r.header_all("Content-Length"), ["4096"])
        self.assertEqual(len(r.body), 4096)
        self.assertEqual(r.header_all("Vary"), ["Accept-Encoding"])

    def test_each_coding_alone(self):
        plain = self.identity("/plain").body
        for coding in CODINGS:
            with self.subTest(coding=coding):
                r = self.ae("/plain", coding)
                self.assertCompressed(r, coding, plain)
                self.assertContentType(r, CT_TEXT)
                self.assertEqual(r.header_all("Vary"), ["Accept-Encoding"])

    def test_table(self):
        self.check_table("/plain", [
            (None, None),
            ("", None),
            ("identity", None),
            ("compress", None),
            ("compress, identity;q=0.5", None),
            ("zstd", None),
            ("gzip", "gzip"),
            ("x-gzip", "gzip"),
            ("deflate", "deflate"),
            ("br", "br"),
            # ties go to the earlier entry of algorithms (br, gzip, deflate)
            ("gzip, deflate, br", "br"),
            ("deflate, gzip", "gzip"),
            ("deflate, x-gzip", "gzip"),
            ("deflate;q=0.5, x-gzip;q=0.5", "gzip"),
            ("br;q=1.0, gzip;q=1", "br"),
            ("gzip;q=1, br;q=1.000", "br"),
            # the highest q wins
            ("gzip;q=0.5, deflate;q=0.8", "deflate"),
            ("br;q=0.1, gzip;q=0.2, deflate;q=0.3", "deflate"),
            ("br;q=0.9, gzip", "gzip"),
            ("br;q=0.5, x-gzip;q=0.9", "gzip"),
            ("deflate;q=1, br;q=0.999", "deflate"),
            ("gzip;q=0.000, deflate;q=0.001", "deflate"),
            # q=0: not acceptable
            ("gzip;q=0", None),
            ("br;q=0, gzip;q=0, deflate;q=0", None),
            ("x-gzip;q=0, br;q=0, deflate;q=0.0", None),
            ("br;q=0, gzip", "gzip"),
            # * stands for any coding not listed
            ("*", "br"),
            ("*;q=0.5", "br"),
            ("*;q=0.5, gzip", "gzip"),
            ("*;q=0.5, deflate;q=0.6", "deflate"),
            ("*;q=0.3, br;q=0.2", "gzip"),
            ("br;q=0, *", "gzip"),
            ("gzip;q=0, *", "br"),
            ("br;q=0, gzip;q=0, *", "deflate"),
            ("br;q=0, x-gzip;q=0, *", "deflate"),
            ("*;q=0", None),
            ("*;q=0, deflate", "deflate"),
            ("identity, *;q=0", None),
            # optional whitespace around ',' and ';'
            ("br ;q=0.4,  gzip; q=0.5", "gzip"),
            (" deflate ,gzip ", "gzip"),
        ])

    def test_coding_names_case_insensitive(self):
        # RFC 9110 §8.4.1: content-coding values are case-insensitive.
        self.check_table("/plain", [
            ("GZIP", "gzip"),
            ("X-Gzip", "gzip"),
            ("Br", "br"),
            ("DEFLATE", "deflate"),
            ("gzip;Q=0.5, Deflate;Q=0.9", "deflate"),
        ])

    def test_json_body_each_coding(self):
        plain = self.identity("/data").body
        self.assertEqual(plain, self.identity("/data").body)  # deterministic
        for coding in CODINGS:
            with self.subTest(coding=coding):
                r = self.ae("/data", coding)
                self.assertCompressed(r, coding, plain)
                self.assertContentType(r, CT_JSON)

    def test_keep_alive_sequence(self):
        """Several compressed and identity responses on one connection."""
        plain = self.identity("/plain").body
        c = self.connect()
        for value, coding in (("gzip", "gzip"), (None, None), ("br", "br"),
                              ("deflate", "deflate"), ("*;q=0", None), ("gzip", "gzip")):
            with self.subTest(accept_encoding=value):
                headers = [] if value is None else [(AE, value)]
                r = c.request("GET", "/plain", headers=headers)
                if coding is None:
                    self.assertIdentity(r, plain)
                else:
                    self.assertCompressed(r, coding, plain)


class DefaultConfigTest(CompressionBase):
    """No compress key: compression is on with its defaults."""
    APP = "tests/apps/compression_default.lua"

    def test_defaults(self):
        self.check_table("/plain", [
            (None, None),
            ("gzip", "gzip"),
            ("deflate", "deflate"),
            ("br", "br"),
            ("gzip, deflate, br", "br"),
        ])
        r = self.ae("/plain?n=1023", "gzip")
        self.assertIdentity(r, self.identity("/plain?n=1023").body)
        r = self.ae(ct_target("image/png"), "gzip")
        self.assertIdentity(r, self.identity(ct_target("image/png")).body, vary=False)


class GzipOnlyTest(CompressionBase):
    """algorithms = { "gzip" }."""
    APP = "tests/apps/compression_gzip_only.lua"

    def test_table(self):
        self.check_table("/plain", [
            (None, None),
            ("br", None),
            ("deflate", None),
            ("br, deflate", None),
            ("gzip", "gzip"),
            ("x-gzip", "gzip"),
            ("br, gzip", "gzip"),
            ("br;q=1, gzip;q=0.1", "gzip"),
            ("deflate, br, x-gzip;q=0.2", "gzip"),
            ("*", "gzip"),
            ("br, *;q=0.1", "gzip"),
            ("gzip;q=0, *", None),
            ("x-gzip;q=0, br, deflate", None),
            ("*;q=0", None),
        ])

    def test_uncompressed_still_varies(self):
        plain = self.identity("/plain").body
        for value in ("br", "deflate", None):
            with self.subTest(accept_encoding=value):
                r = self.ae("/plain", value)
                self.assertIdentity(r, plain)
                self.assertEqual(r.header_all("Vary"), ["Accept-Encoding"])


class OrderTest(CompressionBase):
    """algorithms = { "deflate", "gzip", "br" }: ties go to deflate first."""
    APP = "tests/apps/compression_order.lua"

    def test_table(self):
        self.check_table("/plain", [
            ("br, gzip, deflate", "deflate"),
            ("gzip, deflate, br", "deflate"),
            ("*", "deflate"),
            ("gzip, br", "gzip"),
            ("br, x-gzip", "gzip"),
            ("br", "br"),
            ("br;q=1, deflate;q=0.9", "br"),
            ("deflate;q=0, *", "gzip"),
            ("deflate;q=0, gzip;q=0, *", "br"),
            ("*;q=0.5, br", "br"),
            (None, None),
        ])


# ---------------------------------------------------------------------------
# When a response is compressed


class ConditionsTest(CompressionBase):
    APP = "tests/apps/compression.lua"

    def test_min_size_boundary(self):
        for coding in CODINGS:
            with self.subTest(coding=coding, n=1024):
                plain = self.identity("/plain?n=1024").body
                self.assertEqual(len(plain), 1024)
                self.assertCompressed(self.ae("/plain?n=1024", coding), coding, plain)
            with self.subTest(coding=coding, n=1023):
                plain = self.identity("/plain?n=1023").body
                self.assertEqual(len(plain), 1023)
                r = self.ae("/plain?n=1023", coding)
                self.assertIdentity(r, plain)
                self.assertEqual(r.header_all("Vary"), ["Accept-Encoding"])

    def test_small_body(self):
        r = self.ae("/plain?n=10", "gzip, br, deflate")
        self.assertIdentity(r, b"Rover comp")

    def test_default_types_compressed(self):
        for ctype in DEFAULT_SET_TYPES:
            with self.subTest(content_type=ctype):
                target = ct_target(ctype)
                plain = self.identity(target).body
                r = self.ae(target, "gzip")
                self.assertCompressed(r, "gzip", plain)
                self.assertEqual(r.header_all("Content-Type"), [ctype])
                self.assertEqual(r.header_all("Vary"), ["Accept-Encoding"])

    def test_other_types_not_compressed(self):
        for ctype in OUTSIDE_DEFAULT_SET:
            with self.subTest(content_type=ctype):
                target = ct_target(ctype)
                plain = self.identity(target).body
                r = self.ae(target, "gzip, br, deflate")
                self.assertIdentity(r, plain, vary=False)
                self.assertEqual(r.header_all("Content-Type"), [ctype])
                self.assertEqual(r.header_all("Vary"), [])

    def test_builders(self):
        # api.text, api.json, api.html compressible; api.raw is not.
        for target, ctype in (("/plain", CT_TEXT), ("/data", CT_JSON),
                              ("/page", "text/html; charset=utf-8")):
            with self.subTest(target=target):
                plain = self.identity(target).body
                r = self.ae(target, "deflate")
                self.assertCompressed(r, "deflate", plain)
                self.assertContentType(r, ctype)
        plain = self.identity("/octet").body
        r = self.ae("/octet", "gzip, br, deflate")
        self.assertIdentity(r, plain, vary=False)
        self.assertContentType(r, "application/octet-stream")
        self.assertEqual(r.header_all("Vary"), [])

    def test_incompressible_body_sent_as_is(self):
        # pseudo-random bytes in a text/plain body: every coding makes them larger
        for n in (4096, 1100):
            target = "/noise?n=%d&type=text/plain" % n
            plain = self.identity(target).body
            self.assertEqual(len(plain), n)
            for coding in CODINGS:
                with self.subTest(n=n, coding=coding):
                    r = self.ae(target, coding)
                    self.assertIdentity(r, plain)
                    self.assertEqual(r.header_all("Content-Type"), ["text/plain"])
                    self.assertEqual(r.header_all("Content-Length"), [str(n)])
                    self.assertEqual(r.header_all("Vary"), ["Accept-Encoding"])

    def test_app_content_encoding_not_compressed_again(self):
        plain = self.identity("/plain").body
        for ce in ("x-app-coding", "identity"):
            with self.subTest(content_encoding=ce):
                r = self.ae("/encoded?ce=" + ce, "gzip, br, deflate")
                self.assertStatus(r, 200)
                self.assertEqual(r.header_all("Content-Encoding"), [ce], r)
                self.assertEqual(r.body, plain)
                self.assertLength(r)

    def test_app_content_encoding_response_varies(self):
        # text/plain qualifies and compression is enabled: Vary even though
        # the app's own Content-Encoding keeps the server from compressing.
        r = self.ae("/encoded", "gzip")
        self.assertEqual(r.header_all("Content-Encoding"), ["x-app-coding"], r)
        self.assertEqual(r.header_all("Vary"), ["Accept-Encoding"], r)

    def test_204_not_compressed(self):
        for target in ("/nocontent", "/nil"):
            with self.subTest(target=target):
                r = self.ae(target, "gzip, br, deflate")
                self.assertStatus(r, 204)
                self.assertNoBodyHeaders(r)
                self.assertEqual(r.header_all("Content-Encoding"), [], r)
                self.assertEqual(r.header_all("Vary"), [], r)

    def test_304_not_compressed(self):
        r = self.ae("/s304", None)
        if r.status == 500:
            self.skipTest("the builder refuses api.json:status(304, ...): %r" % r.body)
        c = self.connect()
        for value in ("gzip", "br", "deflate"):
            with self.subTest(accept_encoding=value):
                r = c.request("GET", "/s304", headers=[(AE, value)])
                self.assertStatus(r, 304)
                self.assertEqual(r.header_all("Content-Encoding"), [], r)
                self.assertEqual(r.header_all("Content-Length"), [], r)
                self.assertEqual(r.header_all("Transfer-Encoding"), [], r)
                self.assertEqual(r.body, b"")
        # nothing of a body was written: the connection still frames correctly
        self.assertIdentity(c.request("GET", "/plain?n=10"), b"Rover comp")

    def skipIfNotBuilt(self, resp, builder):
        if resp.status == 500 and (b"attempt to call field '%s'" % builder.encode()) in resp.body:
            self.skipTest("api.%s is not implemented yet (server-features.md §11): %r"
                          % (builder, resp.body))

    def test_stream_not_compressed(self):
        c = self.connect()
        r = c.request("GET", "/csv", headers=[(AE, "gzip, br, deflate")])
        self.skipIfNotBuilt(r, "stream")
        self.assertStatus(r, 200)
        self.assertEqual(r.header_all("Content-Type"), ["text/csv"])
        self.assertEqual(r.header_all("Transfer-Encoding"), ["chunked"])
        self.assertEqual(r.header_all("Content-Encoding"), [], r)
        self.assertEqual(r.header_all("Content-Length"), [], r)
        unit = b"Rover compresses dynamic responses; this line repeats. 0123456789\n"
        self.assertEqual(r.body, unit[:64] * 64)

    def test_sse_not_compressed(self):
        r = self.ae("/events", "gzip, br, deflate")
        self.skipIfNotBuilt(r, "sse")
        self.assertStatus(r, 200)
        self.assertEqual(r.header_all("Content-Type"), ["text/event-stream"])
        self.assertEqual(r.header_all("Transfer-Encoding"), ["chunked"])
        self.assertEqual(r.header_all("Content-Encoding"), [], r)
        self.assertNoVaryAE(r)
        line = b"Rover compresses dynamic responses; this line repeats. 0123456789\n"[:60]
        expected = b"".join(b"id: %d\ndata: %s\n\n" % (i, line) for i in range(1, 33))
        self.assertEqual(r.body, expected)


# ---------------------------------------------------------------------------
# Headers of compressed responses


class HeadersTest(CompressionBase):
    APP = "tests/apps/compression.lua"

    def test_content_length_is_compressed_length(self):
        plain = self.identity("/plain").body
        for coding in CODINGS:
            with self.subTest(coding=coding):
                r = self.ae("/plain", coding)
                self.assertCompressed(r, coding, plain)
                self.assertEqual(r.header_all("Content-Length"), [str(len(r.body))])
                self.assertNotEqual(r.header_all("Content-Length"), [str(len(plain))])

    def test_vary_merged_into_app_vary(self):
        plain = self.identity("/vary").body
        for value, coding in ((None, None), ("gzip", "gzip"), ("br", "br"),
                              ("deflate", "deflate"), ("*;q=0", None)):
            with self.subTest(accept_encoding=value):
                r = self.ae("/vary", value)
                if coding is None:
                    self.assertIdentity(r, plain)
                else:
                    self.assertCompressed(r, coding, plain)
                self.assertEqual(sorted(self.vary_tokens(r)), ["accept-encoding", "origin"], r)

    def test_vary_not_duplicated(self):
        plain = self.identity("/vary?v=accept-encoding").body
        for value in ("gzip", None):
            with self.subTest(accept_encoding=value):
                r = self.ae("/vary?v=accept-encoding", value)
                self.assertEqual(self.vary_tokens(r), ["accept-encoding"], r)
                self.assertEqual(r.header_all("Content-Encoding"),
                                 [] if value is None else ["gzip"], r)
        r = self.ae("/vary?v=Origin,%20Accept-Encoding", "deflate")
        self.assertCompressed(r, "deflate", plain)
        self.assertEqual(sorted(self.vary_tokens(r)), ["accept-encoding", "origin"], r)

    def test_head_matches_get(self):
        names = ("Content-Encoding", "Content-Length", "Content-Type", "Vary", "ETag")
        for value in ("br", "gzip", "deflate", None, "*;q=0"):
            for target in ("/etag/strong", "/plain?n=1023", "/noise?n=2000&type=text/plain",
                           ct_target("image/png")):
                with self.subTest(accept_encoding=value, target=target):
                    headers = [] if value is None else [(AE, value)]
                    c = self.connect()
                    # (the first GET keeps the first-ETag case, covered by
                    # ETagTest, out of this comparison)
                    c.request("GET", target, headers=headers)
                    h = c.request("HEAD", target, headers=headers)
                    # the following GET on the same connection shows that
                    # the HEAD response had no body bytes
                    g = c.request("GET", target, headers=headers)
                    self.assertStatus(h, 200)
                    self.assertStatus(g, 200)
                    self.assertEqual(h.body, b"")
                    self.assertTrue(g.body)
                    for name in names:
                        self.assertEqual(h.header_all(name), g.header_all(name),
                                         "%s: HEAD %r, GET %r" % (name, h, g))
                    self.assertLength(g)

    def test_head_compressed_headers(self):
        get = self.ae("/plain", "gzip")
        self.assertCompressed(get, "gzip", self.identity("/plain").body)
        h = self.ae("/plain", "gzip", method="HEAD")
        self.assertStatus(h, 200)
        self.assertEqual(h.header_all("Content-Encoding"), ["gzip"], h)
        self.assertEqual(h.header_all("Content-Length"), [str(len(get.body))], h)
        self.assertEqual(h.header_all("Vary"), ["Accept-Encoding"], h)
        self.assertEqual(h.body, b"")


class ETagTest(CompressionBase):
    """ETag handling, each test on a fresh server: the first responses of a
    worker must behave like any later one."""
    APP = "tests/apps/compression.lua"

    @classmethod
    def setUpClass(cls):
        unittest.TestCase.setUpClass()

    def setUp(self):
        self.server = RoverServer(self.APP)
        self.addCleanup(self.server.stop)
        self.server.start()

    def test_strong_etag_suffixed(self):
        # compressed requests first, the identity ones last
        plain = None
        for coding in CODINGS:
            with self.subTest(coding=coding):
                r = self.ae("/etag/strong", coding)
                self.assertEqual(r.header_all("Content-Encoding"), [coding], r)
                self.assertEqual(r.header_all("ETag"), ['"v1-%s"' % coding], r)
                plain = plain or self.identity("/etag/strong").body
                self.assertCompressed(r, coding, plain)

    def test_first_etag_response_suffixed(self):
        # the very first request of the server carries an app ETag
        r = self.ae("/etag/strong", "gzip")
        self.assertEqual(r.header_all("Content-Encoding"), ["gzip"], r)
        self.assertEqual(r.header_all("ETag"), ['"v1-gzip"'], r)

    def test_first_etag_response_head(self):
        r = self.ae("/etag/strong", "deflate", method="HEAD")
        self.assertEqual(r.header_all("Content-Encoding"), ["deflate"], r)
        self.assertEqual(r.header_all("ETag"), ['"v1-deflate"'], r)
        self.assertEqual(r.body, b"")

    def test_strong_etag_unchanged_when_not_compressed(self):
        for value in (None, "*;q=0", "identity"):
            with self.subTest(accept_encoding=value):
                r = self.ae("/etag/strong", value)
                self.assertEqual(r.header_all("Content-Encoding"), [], r)
                self.assertEqual(r.header_all("ETag"), ['"v1"'], r)

    def test_weak_etag_unchanged(self):
        plain = self.identity("/etag/weak").body
        for value, coding in ((None, None), ("br", "br"), ("gzip", "gzip"),
                              ("deflate", "deflate")):
            with self.subTest(accept_encoding=value):
                r = self.ae("/etag/weak", value)
                if coding is None:
                    self.assertIdentity(r, plain)
                else:
                    self.assertCompressed(r, coding, plain)
                self.assertEqual(r.header_all("ETag"), ['W/"v1"'], r)

    def test_no_etag_invented(self):
        for value in (None, "gzip", "br", "deflate"):
            with self.subTest(accept_encoding=value):
                self.assertEqual(self.ae("/plain", value).header_all("ETag"), [])


# ---------------------------------------------------------------------------
# Configurations


class TypesConfigTest(CompressionBase):
    """types = { "application/json", "text/csv" }, min_size = 2048."""
    APP = "tests/apps/compression_types.lua"

    def test_listed_types_compressed(self):
        for target, ctype in ((ct_target("text/csv"), "text/csv"),
                              (ct_target("application/json"), "application/json"),
                              (ct_target("text/csv; charset=utf-8"), "text/csv; charset=utf-8"),
                              ("/data", CT_JSON)):
            for coding in CODINGS:
                with self.subTest(content_type=ctype, target=target, coding=coding):
                    plain = self.identity(target).body
                    r = self.ae(target, coding)
                    self.assertCompressed(r, coding, plain)
                    self.assertEqual(r.header_all("Content-Type"), [ctype])
                    self.assertEqual(r.header_all("Vary"), ["Accept-Encoding"])

    def test_default_set_replaced(self):
        for target in ("/plain", "/page", ct_target("text/html"), ct_target("application/xml"),
                       ct_target("image/svg+xml"), ct_target("application/problem+json"),
                       ct_target("application/javascript"), ct_target("text/plain")):
            with self.subTest(target=target):
                plain = self.identity(target).body
                r = self.ae(target, "gzip, br, deflate")
                self.assertIdentity(r, plain, vary=False)
                self.assertEqual(r.header_all("Vary"), [])

    def test_min_size(self):
        for coding in CODINGS:
            with self.subTest(coding=coding, n=2048):
                target = ct_target("text/csv", 2048)
                plain = self.identity(target).body
                self.assertEqual(len(plain), 2048)
                self.assertCompressed(self.ae(target, coding), coding, plain)
            with self.subTest(coding=coding, n=2047):
                target = ct_target("text/csv", 2047)
                plain = self.identity(target).body
                self.assertEqual(len(plain), 2047)
                r = self.ae(target, coding)
                self.assertIdentity(r, plain)
                self.assertEqual(r.header_all("Vary"), ["Accept-Encoding"])
            with self.subTest(coding=coding, n=1500):
                # above the default 1024, below the configured 2048
                target = ct_target("text/csv", 1500)
                self.assertIdentity(self.ae(target, coding), self.identity(target).body)


class OffTestMixin:
    def test_nothing_compressed_nothing_varies(self):
        for target in ("/plain", "/data", "/page", ct_target("image/svg+xml"),
                       "/plain?n=1023", "/etag/strong"):
            for value in ("gzip", "br", "deflate", "gzip, br, deflate", "*", None):
                with self.subTest(target=target, accept_encoding=value):
                    plain = self.identity(target).body
                    r = self.ae(target, value)
                    self.assertIdentity(r, plain, vary=False)
                    self.assertEqual(r.header_all("Vary"), [])

    def test_app_vary_and_etag_untouched(self):
        r = self.ae("/vary", "gzip")
        self.assertIdentity(r, self.identity("/vary").body, vary=False)
        self.assertEqual(r.header_all("Vary"), ["Origin"])
        r = self.ae("/etag/strong", "gzip")
        self.assertEqual(r.header_all("Content-Encoding"), [])
        self.assertEqual(r.header_all("ETag"), ['"v1"'])

    def test_head(self):
        h = self.ae("/plain", "gzip", method="HEAD")
        self.assertStatus(h, 200)
        self.assertEqual(h.header_all("Content-Encoding"), [])
        self.assertEqual(h.header_all("Content-Length"), ["4096"])
        self.assertEqual(h.header_all("Vary"), [])


class CompressFalseTest(OffTestMixin, CompressionBase):
    """compress = false."""
    APP = "tests/apps/compression_off.lua"


class EnabledFalseTest(OffTestMixin, CompressionBase):
    """compress = { enabled = false }."""
    APP = "tests/apps/compression_disabled.lua"


class StartupErrorTest(unittest.TestCase):
    def test_unsupported_algorithm(self):
        p = run_rover(["tests/apps/compression_lz4.lua"], timeout=15)
        self.assertEqual(p.returncode, 1, p)
        self.assertIsNone(BANNER_RE.search(p.stdout.decode("utf-8", "replace")), p.stdout)
        err = p.stderr.decode("utf-8", "replace").splitlines()
        self.assertTrue(err, "no stderr output")
        self.assertEqual(err[0], "❌ Error: compress.algorithms: unsupported algorithm 'lz4'")


if __name__ == "__main__":
    unittest.main()

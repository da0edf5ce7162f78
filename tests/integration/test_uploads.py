"""Uploads (server-features.md §16): multipart/form-data and
application/x-www-form-urlencoded bodies through ctx:body():form(), :file(),
:files() and :multipart(), their limits and errors (tests/apps/uploads.lua)."""

import unittest

from harness import RoverTestCase

BOUNDARY = "----RoverTestBoundary7MA4YWxk"


def part(name, data, filename=None, ctype=None):
    disp = 'form-data; name="%s"' % name
    if filename is not None:
        disp += '; filename="%s"' % filename
    head = "Content-Disposition: %s\r\n" % disp
    if ctype:
        head += "Content-Type: %s\r\n" % ctype
    return head.encode() + b"\r\n" + data


def multipart(*parts, boundary=BOUNDARY):
    out = b""
    for p in parts:
        out += b"--" + boundary.encode() + b"\r\n" + p + b"\r\n"
    return out + b"--" + boundary.encode() + b"--\r\n"


def mp_headers(boundary=BOUNDARY):
    return {"Content-Type": "multipart/form-data; boundary=" + boundary}


class UploadsTest(RoverTestCase):
    APP = "tests/apps/uploads.lua"

    def post(self, path, body, headers):
        return self.request("POST", path, headers=headers, body=body)

    def test_fields_and_several_files(self):
        binary = bytes(range(256)) + b"\r\n--" + BOUNDARY.encode()[:-1] + b"\x00\r\n"
        body = multipart(part("title", b"hello"), part("title2", "h\u00e9".encode()),
                         part("doc", b"%PDF-1.4 doc", "report.pdf", "application/pdf"),
                         part("pics", binary, "a.bin"),
                         part("pics", b"GIF89a", "b.gif", "image/gif"))
        r = self.post("/upload", body, mp_headers())
        self.assertEqual(r.status, 200, r)
        got = r.json()
        self.assertEqual(got["fields"], {"title": "hello", "title2": "h\u00e9"})
        self.assertEqual(got["doc"], {"name": "report.pdf", "size": 12,
                                      "type": "application/pdf", "data": "%PDF-1.4 doc"})
        self.assertEqual([p["name"] for p in got["pics"]], ["a.bin", "b.gif"])
        self.assertEqual(got["pics"][0]["size"], len(binary))
        self.assertEqual(got["pics"][0]["type"], "application/octet-stream")
        self.assertEqual(got["pics"][1]["type"], "image/gif")
        self.assertEqual(got["missing"], False)
        self.assertEqual(got["none"], 0)

    def test_binary_file_bytes_intact(self):
        data = bytes((i * 7) % 256 for i in range(70000))
        r = self.post("/binary", multipart(part("doc", data, "x.bin")), mp_headers())
        self.assertJSON(r, 200, {"ok": True, "size": 70000})
        broken = bytearray(data)
        broken[65000] ^= 1
        r = self.post("/binary", multipart(part("doc", bytes(broken), "x.bin")), mp_headers())
        self.assertJSON(r, 200, {"ok": False, "at": 65001})

    def test_multipart_object(self):
        body = multipart(part("a", b"1"), part("doc", b"text", "n.txt", "text/plain"))
        r = self.post("/multipart", body, mp_headers())
        self.assertJSON(r, 200, {"fields": {"a": "1"}, "doc": {
            "name": "n.txt", "size": 4, "type": "text/plain", "data": "text"}})

    def test_urlencoded_form(self):
        r = self.post("/form", b"a=1&b=x+y&c=%41%42&a=2",
                      {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertJSON(r, 200, {"a": "2", "b": "x y", "c": "AB"})

    def test_form_of_multipart_has_text_fields_only(self):
        body = multipart(part("a", b"1"), part("doc", b"x", "d.txt"))
        self.assertJSON(self.post("/form", body, mp_headers()), 200, {"a": "1"})

    def test_not_multipart_is_415(self):
        r = self.post("/file", b'{"a":1}', {"Content-Type": "application/json"})
        self.assertJSON(r, 415, {"error": "Unsupported Media Type (415): expected "
                                          "multipart/form-data, got application/json"})
        r = self.post("/file", b"a=1", {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 415, r)
        r = self.post("/form", b"x", {"Content-Type": "text/plain"})
        self.assertEqual(r.status, 415, r)

    def test_malformed_bodies_are_400(self):
        for body, headers in (
                (b"--" + BOUNDARY.encode() + b'\r\nContent-Disposition: form-data; name="a"'
                 b"\r\n\r\nno closing delimiter", mp_headers()),
                (multipart(b"Content-Type: text/plain\r\n\r\nno disposition"), mp_headers()),
                (multipart(part("a", b"1")), {"Content-Type": "multipart/form-data"})):
            with self.subTest(body=body[:40], headers=headers):
                r = self.post("/form", body, headers)
                self.assertEqual(r.status, 400, r)
                self.assertIn("error", r.json())

    def test_limits(self):
        ok = multipart(*[part("f%d" % i, b"v") for i in range(100)])
        self.assertEqual(self.post("/form", ok, mp_headers()).status, 200)
        too_many = multipart(*[part("f%d" % i, b"v") for i in range(101)])
        self.assertEqual(self.post("/form", too_many, mp_headers()).status, 413)
        big = multipart(part("doc", b"a" * (10 * 1024 * 1024 + 1), "big.txt"))
        self.assertEqual(self.post("/file", big, mp_headers()).status, 413)
        exact = multipart(part("doc", b"a" * (10 * 1024 * 1024), "big.txt"))
        r = self.post("/file", exact, mp_headers())
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["doc"]["size"], 10 * 1024 * 1024)


if __name__ == "__main__":
    unittest.main()

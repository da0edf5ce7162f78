"""Every example app loads: it starts with --port 0 and answers the first
plain-GET curl command of its header comment with a 2xx response."""

import os
import re
import shutil
import tempfile
import unittest

from harness import EXAMPLES_DIR, RoverServer
from wsclient import HandshakeRefused, WsClient

CURL_RE = re.compile(r"^--\s+(?:Try:\s+)?curl (?:-i )?'?http://localhost:4242(/[^'\s]*)'?\s*(#.*)?$")


def first_get(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("--"):
                break
            m = CURL_RE.match(line.strip())
            if m:
                return m.group(1)
    return None


class ExamplesTest(unittest.TestCase):
    EXPECTED = {"hello.lua", "routing.lua", "context.lua", "responses.lua", "json.lua",
                "guard.lua", "templates.lua", "errors.lua", "workers.lua", "async.lua"}

    def test_expected_examples_exist(self):
        names = {p.name for p in EXAMPLES_DIR.glob("*.lua")}
        self.assertLessEqual(self.EXPECTED, names)

    def test_hello_uses_default_port(self):
        text = (EXAMPLES_DIR / "hello.lua").read_text(encoding="utf-8")
        self.assertIn("rover.server {}", text)
        self.assertNotRegex(text, r"port\s*=")

    def test_every_example_answers(self):
        for path in sorted(EXAMPLES_DIR.glob("*.lua")):
            rel = path.relative_to(EXAMPLES_DIR.parent)
            with self.subTest(example=str(rel)):
                target = first_get(path)
                self.assertIsNotNone(target, "no 'curl http://localhost:4242/...' GET "
                                             "line in the header comment")
                server = RoverServer(str(rel))
                try:
                    server.start()
                    r = server.get(target)
                    self.assertTrue(200 <= r.status < 300, (target, r))
                    self.assertEqual(server.stderr.text(), "")
                finally:
                    server.stop()

    def test_chat_example(self):
        """examples/chat: the page, login with a JWT cookie, two members of a
        room (on whichever workers) see each other's messages, join and leave."""
        server = RoverServer("app.lua", cwd=EXAMPLES_DIR / "chat")
        try:
            server.start()
            r = server.get("/index.html")
            self.assertEqual(r.status, 200)
            self.assertIn(b"chat.js", r.body)
            self.assertIn(b"new WebSocket", server.get("/chat.js").body)
            with self.assertRaises(HandshakeRefused) as cm:
                WsClient(server.host, server.port, "/rooms/lobby")
            self.assertEqual(cm.exception.status, 401)

            def login(nick):
                r = server.request("POST", "/login", headers={"Content-Type": "application/json"},
                                   body=('{"nick":"%s"}' % nick).encode())
                self.assertEqual(r.status, 200, r)
                cookie = r.header("Set-Cookie")
                self.assertIn("HttpOnly", cookie)
                return {"Cookie": cookie.split(";")[0]}

            ann = WsClient(server.host, server.port, "/rooms/lobby", headers=login("ann"))
            self.addCleanup(ann.close)
            self.assertEqual(ann.recv_json(), {"type": "welcome", "room": "lobby", "nick": "ann",
                                               "members": 1})
            bob = WsClient(server.host, server.port, "/rooms/lobby", headers=login("bob"))
            self.addCleanup(bob.close)
            self.assertEqual(bob.recv_json()["members"], 2)
            self.assertEqual(ann.recv_json(), {"type": "joined", "nick": "bob", "members": 2})
            self.assertEqual(server.get("/rooms").json(),
                             {"rooms": [{"room": "lobby", "members": 2}]})
            bob.send_json({"type": "say", "text": "hi ann"})
            for c in (ann, bob):
                m = c.recv_json()
                self.assertEqual((m["type"], m["nick"], m["text"]), ("said", "bob", "hi ann"))
            bob.send_close(1000)
            self.assertEqual(bob.recv_close()[0], 1000)
            self.assertEqual(ann.recv_json(), {"type": "left", "nick": "bob", "members": 1})
            self.assertEqual(server.request("POST", "/login", headers={"Content-Type": "application/json"},
                                            body=b'{"nick":"no spaces"}').status, 400)
            self.assertEqual(server.stderr.text(), "")
        finally:
            server.stop()

    def test_service_example(self):
        """examples/service: settings from its .env, auth hook, validation,
        rate-limited login, docs behind the management token."""
        server = RoverServer("app.lua", cwd=EXAMPLES_DIR / "service")
        try:
            server.start()
            auth = {"Authorization": "Bearer demo-token-change-me"}
            r = server.request("POST", "/login", headers={"Content-Type": "application/json"},
                               body=b'{"user":"demo","password":"correct horse"}')
            self.assertEqual((r.status, r.json()), (200, {"token": "demo-token-change-me"}))
            self.assertEqual(server.get("/notes").status, 401)
            r = server.request("POST", "/notes", headers=dict(auth, **{"Content-Type": "application/json"}),
                               body=b'{"title":"milk"}')
            self.assertEqual(r.status, 201)
            self.assertEqual(r.json()["owner"], "demo")
            r = server.request("POST", "/notes", headers=dict(auth, **{"Content-Type": "application/json"}),
                               body=b'{"tags":"x"}')
            self.assertEqual(r.status, 400)
            self.assertEqual(r.json()["error"], "invalid request body")
            self.assertEqual(server.get("/_rover/openapi.json").status, 401)
            r = server.get("/_rover/openapi.json",
                           headers={"Authorization": "Bearer admin-token-change-me"})
            self.assertIn("/notes/{id}", r.json()["paths"])
            statuses = [server.request("POST", "/login").status for _ in range(5)]
            self.assertEqual(statuses, [400, 400, 400, 400, 429])
        finally:
            server.stop()

    def test_crud_example(self):
        """examples/crud: the migration applied at startup, create / list with
        filters / update / group by / delete, a body the schema rejects."""
        tmp = tempfile.mkdtemp(prefix="rover-crud-")
        self.addCleanup(shutil.rmtree, tmp, True)
        server = RoverServer(str(EXAMPLES_DIR / "crud" / "app.lua"), cwd=tmp,
                             env={"CRUD_DB": os.path.join(tmp, "books.sqlite")})
        json_h = {"Content-Type": "application/json"}
        try:
            server.start()
            r = server.request("POST", "/books", headers=json_h,
                               body=b'{"title":"Dune","author":"Frank Herbert","year":1965}')
            self.assertEqual(r.status, 201, r)
            book = r.json()
            self.assertEqual(book["title"], "Dune")
            server.request("POST", "/books", headers=json_h,
                           body=b'{"title":"Emma","author":"Jane Austen","year":1815}')
            r = server.get("/books?after=1900")
            self.assertEqual([b["title"] for b in r.json()["books"]], ["Dune"])
            self.assertEqual(r.json()["total"], 1)
            r = server.request("PATCH", "/books/%d" % book["id"], headers=json_h,
                               body=b'{"year":1966}')
            self.assertEqual(r.json()["year"], 1966)
            r = server.request("POST", "/books", headers=json_h, body=b'{"year":"x"}')
            self.assertEqual(r.status, 400)
            self.assertEqual(sorted(e["field"] for e in r.json()["errors"]),
                             ["author", "title", "year"])
            self.assertEqual(server.get("/authors").json(),
                             [{"author": "Frank Herbert", "books": 1},
                              {"author": "Jane Austen", "books": 1}])
            self.assertEqual(server.request("DELETE", "/books/%d" % book["id"]).status, 204)
            self.assertEqual(server.get("/books/%d" % book["id"]).status, 404)
            self.assertEqual(server.stderr.text(), "")
        finally:
            server.stop()
        self.assertTrue(os.path.exists(os.path.join(tmp, "books.sqlite")))

    def test_frontend_example(self):
        """examples/frontend: the page from a static mount, SSE, an upload."""
        server = RoverServer("app.lua", cwd=EXAMPLES_DIR / "frontend")
        try:
            server.start()
            r = server.get("/")
            self.assertEqual((r.status, r.header_all("Location")), (302, ["/index.html"]))
            r = server.get("/index.html")
            self.assertEqual(r.status, 200)
            self.assertIn(b'src="/app.js"', r.body)
            self.assertEqual(r.header_all("Content-Type"), ["text/html; charset=utf-8"])
            boundary = "exampleBoundary"
            body = ("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
                    "Content-Type: text/plain\r\n\r\nhello\r\n--%s--\r\n" % (boundary, boundary))
            r = server.request("POST", "/upload", body=body.encode(), headers={
                "Content-Type": "multipart/form-data; boundary=" + boundary})
            self.assertEqual(r.status, 201, r)
            self.assertEqual(r.json(), {"name": "a.txt", "size": 5, "type": "text/plain", "note": ""})
            with server.connect() as c:
                c.send(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
                head = b""
                while b'"uploads":1' not in head:
                    chunk = c.sock.recv(4096)
                    self.assertTrue(chunk, head)
                    head += chunk
                self.assertIn(b"text/event-stream", head)
                self.assertIn(b"retry: 3000", head)
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()

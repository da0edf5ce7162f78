"""`rover test [paths...]` (issue #14 item 3, README "Testing an app: rover
test"): *_test.lua files run in-process against apps loaded with t.app(),
whose requests go through the real pipeline without a socket.

RoverTestTest writes a small app and its tests into a temporary directory
(the working directory of the run, so t.app("app.lua") and the default
tests/ are found there) and checks the exact lines printed (with rover.delay, rover.http
against a local upstream, a waiting stream producer, a static file);
PostgresTest has handlers wait on rover.db against a private cluster;
ExamplesTest runs the tests that examples/crud and examples/service ship
with."""

import http.server
import json
import os
import shutil
import tempfile
import textwrap
import threading
import unittest

from harness import EXAMPLES_DIR, run_rover

try:
    import pgcluster
except ImportError:  # pragma: no cover
    pgcluster = None

APP = r"""local api = rover.server { log_level = "info" }

-- middleware: who is asking, and a gate
function api.before.who(ctx)
  if ctx:headers()["x-block"] then return api:error(403, "blocked") end
  ctx:set("who", ctx:headers()["x-user"] or "anon")
end
function api.after.stamp(ctx) end

function api.hello.get(ctx) return { hello = ctx:get("who") } end

-- a handler that suspends
function api.slow.get(ctx)
  local n = tonumber(ctx:query().ms) or 20
  rover.delay(n)
  rover.delay(n)
  return "waited " .. n
end

-- a handler that suspends in an outbound call (UPSTREAM: the test's server)
function api.proxy.get(ctx)
  local r = rover.http.get(rover.env.UPSTREAM .. "/data", { allow_private = true })
  return { upstream = r.status, data = r.data }
end

function api.items.post(ctx)
  local b = ctx:body():json()
  return api.json:status(201, { name = b.name, tags = #b.tags, who = ctx:get("who") })
    :header("Location", "/items/1")
end

function api.items.p_id.put(ctx)
  return { id = ctx:params().id, body = ctx:body():text() }
end

function api.items.p_id.delete(ctx) return api:no_content() end

function api.boom.get(ctx) error("kaput") end

-- a stream whose producer waits between chunks, and files from public/
function api.feed.get(ctx)
  local i = 0
  return api.stream(200, "text/plain; charset=utf-8", function()
    i = i + 1
    if i > 3 then return nil end
    rover.delay(5)
    return "line " .. i .. "\n"
  end)
end
api.files.static { dir = "public" }

return api
"""

PASSING = r"""local app = t.app("app.lua")

describe("hello", function()
  it("greets the user from a header", function()
    local res = app:get("/hello", { headers = { ["X-User"] = "ann" } })
    t.eq(res.status, 200)
    t.eq(res:json(), { hello = "ann" })
    t.match(res.headers["content-type"], "^application/json")
    t.eq(res.headers["Content-Type"], res.headers["CONTENT-TYPE"])
  end)
  describe("middleware", function()
    it("lets anonymous users in", function()
      t.eq(app:get("/hello"):json().hello, "anon")
    end)
    it("answers 403 from a before hook", function()
      local res = app:get("/hello", { headers = { ["X-Block"] = "1" } })
      t.eq(res.status, 403)
      t.match(res.body, "blocked")
    end)
  end)
end)

describe("waiting", function()
  it("runs a handler that suspends in rover.delay", function()
    local res = app:get("/slow", { query = { ms = 30 } })
    t.eq(res.status, 200)
    t.eq(res.body, "waited 30")
  end)
  it("runs a handler that suspends in rover.http", function()
    t.eq(app:get("/proxy"):json(), { upstream = 200, data = { from = "upstream" } })
  end)
end)

describe("bodies", function()
  it("posts json", function()
    local res = app:post("/items", { json = { name = "pen", tags = { "a", "b" } },
                                     headers = { ["x-user"] = "bob" } })
    t.eq(res.status, 201)
    t.eq(res.headers.location, "/items/1")
    t.eq(res:json(), { name = "pen", tags = 2, who = "bob" })
  end)
  it("puts a raw body", function()
    local res = app:put("/items/7", { body = "plain text" })
    t.eq(res:json(), { id = "7", body = "plain text" })
  end)
  it("deletes", function()
    t.eq(app:delete("/items/7").status, 204)
  end)
  it("rejects an invalid json body", function()
    local res = app:request("POST", "/items", { body = "{nope",
                                                headers = { ["Content-Type"] = "application/json" } })
    t.eq(res.status, 400)
  end)
end)

describe("other responses", function()
  it("streams chunks from a producer that waits", function()
    local res = app:get("/feed")
    t.eq(res.headers["transfer-encoding"], "chunked")
    t.eq(res.body, "line 1\nline 2\nline 3\n")
  end)
  it("serves a static file", function()
    local res = app:get("/files/big.txt")
    t.eq(res.status, 200)
    t.eq(#res.body, 200000)
    t.eq(res.body, string.rep("0123456789", 20000))
  end)
  it("answers HEAD without a body", function()
    local res = app:head("/hello")
    t.eq(res.status, 200)
    t.eq(res.body, "")
    t.eq(res.headers["content-length"], tostring(#app:get("/hello").body))
  end)
end)

it("answers 404 for an unknown route", function()
  local res = app:get("/nowhere")
  t.eq(res.status, 404)
  t.eq(res.body, "Route not found")
end)

it("reports a handler error as a 500", function()
  local res = app:get("/boom")
  t.eq(res.status, 500)
  t.match(res.body, "kaput")
end)

it("has every assertion", function()
  t.ok(true)
  t.ok(1, "one is true")
  t.eq({ a = { 1, 2 }, b = "x" }, { b = "x", a = { 1, 2 } })
  t.match("rover 1.2", "%d+%.%d+")
  local msg = t.errors(function() error("bad thing") end, "bad")
  t.match(msg, "bad thing")
  t.errors(function() t.eq(1, 2) end, "expected 2, got 1")
  t.errors(function() t.ok(false) end, "expected a true value")
  t.errors(function() t.match("abc", "^x") end, "does not match")
end)
"""

PASSING_LINES = [
    "✓ hello › greets the user from a header",
    "✓ hello › middleware › lets anonymous users in",
    "✓ hello › middleware › answers 403 from a before hook",
    "✓ waiting › runs a handler that suspends in rover.delay",
    "✓ waiting › runs a handler that suspends in rover.http",
    "✓ bodies › posts json",
    "✓ bodies › puts a raw body",
    "✓ bodies › deletes",
    "✓ bodies › rejects an invalid json body",
    "✓ other responses › streams chunks from a producer that waits",
    "✓ other responses › serves a static file",
    "✓ other responses › answers HEAD without a body",
    "✓ answers 404 for an unknown route",
    "✓ reports a handler error as a 500",
    "✓ has every assertion",
    "15 passed, 0 failed",
]

FAILING = r"""local app = t.app("app.lua")

describe("broken", function()
  it("compares deeply", function()
    t.eq(app:get("/hello"):json(), { hello = "someone" })
  end)
  it("checks a status", function()
    t.eq(app:get("/nowhere").status, 200, "status of /nowhere")
  end)
  it("still passes", function()
    t.ok(app:get("/hello").status == 200)
  end)
  it("raises", function()
    local x = nil
    return x.field
  end)
end)
"""


def out_lines(p):
    return p.stdout.decode("utf-8", errors="replace").splitlines()


def err_text(p):
    return p.stderr.decode("utf-8", errors="replace")


class Upstream(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"from": "upstream"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class RoverTestTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
        threading.Thread(target=cls.upstream.serve_forever, daemon=True).start()
        cls.upstream_url = "http://127.0.0.1:%d" % cls.upstream.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.upstream.shutdown()
        cls.upstream.server_close()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="rover-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.write("app.lua", APP)
        self.write("public/big.txt", "0123456789" * 20000)

    def write(self, rel, text):
        path = os.path.join(self.dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text))
        return path

    def run_test(self, *args):
        return run_rover(["test"] + list(args), cwd=self.dir, env={"UPSTREAM": self.upstream_url})

    def test_passing_file(self):
        self.write("tests/app_test.lua", PASSING)
        p = self.run_test("tests/app_test.lua")
        self.assertEqual(out_lines(p), PASSING_LINES, p)
        self.assertEqual(p.returncode, 0, p)

    def test_default_directory(self):
        self.write("tests/app_test.lua", PASSING)
        self.write("tests/more/second_test.lua",
                   'it("second file", function() t.eq(t.app("app.lua"):get("/hello").status, 200) end)\n')
        self.write("tests/helper.lua", "error('not a test file: never run')\n")
        p = self.run_test()
        self.assertEqual(out_lines(p), PASSING_LINES[:-1] + ["✓ second file", "16 passed, 0 failed"], p)
        self.assertEqual(p.returncode, 0, p)

    def test_no_tests_directory(self):
        p = self.run_test()
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("no tests/ directory", err_text(p))

    def test_failing_file(self):
        self.write("tests/fail_test.lua", FAILING)
        p = self.run_test("tests")
        self.assertEqual(p.returncode, 1, p)
        self.assertEqual(out_lines(p), [
            '✗ broken › compares deeply: tests/fail_test.lua:5: '
            '.hello: expected "someone", got "anon"',
            "✗ broken › checks a status: tests/fail_test.lua:8: "
            "status of /nowhere: expected 200, got 404",
            "✓ broken › still passes",
            "✗ broken › raises: tests/fail_test.lua:15: attempt to index local 'x' (a nil value)",
            "1 passed, 3 failed",
        ], p)

    def test_diff_of_tables(self):
        self.write("tests/diff_test.lua", """\
            it("lists", function()
              t.eq({ 1, 2, { k = "v" } }, { 1, 3, { k = "w", extra = true } })
            end)
            """)
        p = self.run_test()
        self.assertEqual(out_lines(p), [
            '✗ lists: tests/diff_test.lua:2: [2]: expected 3, got 2; '
            '[3].extra: expected true, got nil; [3].k: expected "w", got "v"',
            "0 passed, 1 failed",
        ], p)
        self.assertEqual(p.returncode, 1, p)

    def test_filter(self):
        self.write("tests/app_test.lua", PASSING)
        p = self.run_test("--filter", "middleware")
        self.assertEqual(out_lines(p), [
            "✓ hello › middleware › lets anonymous users in",
            "✓ hello › middleware › answers 403 from a before hook",
            "2 passed, 0 failed",
        ], p)
        self.assertEqual(p.returncode, 0, p)
        p = self.run_test("--filter=no such test")
        self.assertEqual(out_lines(p), ["0 passed, 0 failed"], p)
        self.assertEqual(p.returncode, 1, p)

    def test_broken_app(self):
        self.write("broken.lua", "local api = rover.server {}\nfunction api.get( return api\n")
        self.write("tests/broken_test.lua", 'local app = t.app("broken.lua")\n'
                                            'it("never runs", function() end)\n')
        p = self.run_test()
        self.assertEqual(p.returncode, 1, p)
        out = p.stdout.decode("utf-8", errors="replace")
        # where the test file called t.app, then startup's message
        self.assertTrue(out.startswith("✗ tests/broken_test.lua: tests/broken_test.lua:1: "
                                       "❌ Error loading broken.lua:\nbroken.lua:2: "), out)
        self.assertEqual(out_lines(p)[-1], "0 passed, 1 failed")
        # a file that failed is reported whatever --filter says
        p = self.run_test("--filter", "never")
        self.assertEqual(p.returncode, 1, p)
        self.assertEqual(out_lines(p)[-1], "0 passed, 1 failed", p)

    def test_invalid_config_inside_a_test(self):
        self.write("bad.lua", "return rover.server { port = 'x' }\n")
        self.write("tests/bad_test.lua", """\
            it("loads", function() t.app("bad.lua") end)
            it("sees the startup error", function()
              t.errors(function() t.app("bad.lua") end, "port")
            end)
            """)
        p = self.run_test()
        lines = out_lines(p)
        self.assertEqual(lines[0], "✗ loads: tests/bad_test.lua:1: ❌ Error: port should be a number",
                         lines)
        self.assertEqual(lines[-2:], ["✓ sees the startup error", "1 passed, 1 failed"], lines)
        self.assertEqual(p.returncode, 1, p)

    def test_usage(self):
        p = self.run_test("--bogus")
        self.assertEqual(p.returncode, 2, p)
        p = self.run_test("nothing_here")
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("no such file or directory", err_text(p))


PG_APP = r"""local api = rover.server {}
local db = rover.db.connect { url = assert(rover.env.PG_URL, "PG_URL is not set") }

function api.notes.post(ctx)
  local b = ctx:body():json()
  db:query("SELECT pg_sleep(0.05)")            -- the handler waits on its connection
  db:exec("INSERT INTO notes (body) VALUES (?)", b.body)
  return api.json:status(201, { ok = true })
end

function api.notes.get(ctx)
  return db:query("SELECT id, body FROM notes ORDER BY id")
end

return api
"""

PG_TEST = r"""local app = t.app("app.lua")

describe("postgres", function()
  it("writes and reads rows in handlers that wait", function()
    t.eq(app:post("/notes", { json = { body = "one" } }).status, 201)
    t.eq(app:post("/notes", { json = { body = "two" } }).status, 201)
    t.eq(app:get("/notes"):json(), { { id = 1, body = "one" }, { id = 2, body = "two" } })
  end)
end)
"""


@unittest.skipUnless(pgcluster and pgcluster.available(),
                     "PostgreSQL is not installed (initdb/psql not found)")
class PostgresTest(unittest.TestCase):
    """rover.db on PostgreSQL suspends its handler (runtime-modules.md §9): the
    test's request returns once the app's loop has run the queries."""

    def test_handlers_on_postgres(self):
        pg = pgcluster.PgCluster().start()
        self.addCleanup(pg.stop)
        pg.psql("CREATE TABLE notes (id serial PRIMARY KEY, body text)")
        d = tempfile.mkdtemp(prefix="rover-test-pg-")
        self.addCleanup(shutil.rmtree, d, True)
        with open(os.path.join(d, "app.lua"), "w", encoding="utf-8") as f:
            f.write(PG_APP)
        os.makedirs(os.path.join(d, "tests"))
        with open(os.path.join(d, "tests", "pg_test.lua"), "w", encoding="utf-8") as f:
            f.write(PG_TEST)
        p = run_rover(["test"], cwd=d, env={"PG_URL": pg.url})
        self.assertEqual(out_lines(p), [
            "✓ postgres › writes and reads rows in handlers that wait",
            "1 passed, 0 failed",
        ], p)
        self.assertEqual(p.returncode, 0, p)


class ExamplesTest(unittest.TestCase):
    """The examples' own tests (examples/<x>/tests/*_test.lua), run in their directories."""

    def run_example(self, name):
        p = run_rover(["test"], cwd=EXAMPLES_DIR / name)
        lines = out_lines(p)
        self.assertEqual(p.returncode, 0, p)
        self.assertTrue(lines, p)
        self.assertRegex(lines[-1], r"^\d+ passed, 0 failed$", p)
        self.assertFalse(lines[-1].startswith("0 passed"), lines)
        for line in lines[:-1]:
            self.assertTrue(line.startswith("✓ "), line)
        return lines

    def test_crud(self):
        lines = self.run_example("crud")
        self.assertIn("✓ books › creates a book and reads it back", lines)

    def test_service(self):
        lines = self.run_example("service")
        self.assertIn("✓ login › is rate limited after 5 attempts", lines)


if __name__ == "__main__":
    unittest.main()

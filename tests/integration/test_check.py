"""`rover check <app.lua>` (lua-api.md §1.1): loads and validates the app as
startup does, binds nothing, prints the route table (method, pattern, handler
file:line, middleware chain) and exits 0, or 1 with startup's message.

AppsCheckTest runs it on every app under examples/ and tests/apps/: each .lua
file there is an app that must pass (with the environment its own tests give
it, SETUP below), a deliberately broken one (BROKEN, with the message it must
fail with), or a module other apps require (MODULES)."""

import os
import re
import shutil
import socket
import tempfile
import unittest

from harness import APPS_DIR, EXAMPLES_DIR, REPO_ROOT, app_line, run_rover, write_temp_app

try:
    import pgcluster
except ImportError:  # pragma: no cover
    pgcluster = None

ROW_RE = re.compile(r"^(\S+)( +)(\S+)( +)(\S+)( +)(.+)$")
SUMMARY_RE = re.compile(r"^✅ (.+): (\d+) routes?, (\d+) static mounts?; would listen on (.+):(\d+)"
                        r" with (\d+) workers?$")


def out_lines(p):
    return p.stdout.decode("utf-8", errors="replace").splitlines()


def err_lines(p):
    return p.stderr.decode("utf-8", errors="replace").splitlines()


def route_rows(p):
    """The table's rows as (method, pattern, handler, middleware), checking that
    the columns are aligned under the header."""
    lines = out_lines(p)
    head = [i for i, l in enumerate(lines) if l.startswith("METHOD ")]
    assert len(head) == 1, lines
    header = lines[head[0]]
    starts = [header.index(h) for h in ("PATTERN", "HANDLER", "MIDDLEWARE")]
    rows = []
    for line in lines[head[0] + 1:]:
        m = ROW_RE.match(line)
        if not m or line.startswith(("static ", "migrations ", "✅ ")):
            break
        cols = [m.start(3), m.start(5), m.start(7)]
        assert cols == starts, (header, line)
        rows.append((m.group(1), m.group(3), m.group(5), m.group(7)))
    return rows


class CheckTableTest(unittest.TestCase):
    HANDLERS = ("local M = {}\n"
                "function M.create(ctx)  -- marker:create\n"
                "  return { created = true }\n"
                "end\n"
                "return M\n")
    APP = ("local api = rover.server { log_level = 'info', workers = 3 }\n"
           "local handlers = require('handlers')\n"
           "api.before = function(ctx) end  -- marker:root-before\n"
           "api.items.before = {\n"
           "  auth = function(ctx) end,  -- marker:items-auth\n"
           "}\n"
           "api.items.after = {\n"
           "  function(ctx) end,  -- marker:items-after-unnamed\n"
           "  timing = function(ctx) end,  -- marker:items-after-timing\n"
           "}\n"
           "\n"
           "function api.get(ctx)  -- marker:get-root\n"
           "  return 'root'\n"
           "end\n"
           "\n"
           "function api.items.p_sku.get(ctx)  -- marker:get-sku\n"
           "  return { sku = ctx:params().sku }\n"
           "end\n"
           "api.items.p_sku.delete = function(ctx) return api:no_content() end  -- marker:del-sku\n"
           "api.items.post = handlers.create\n"
           "return api\n")

    def test_route_table(self):
        d = write_temp_app(self, self.APP)
        with open(os.path.join(d, "handlers.lua"), "w") as f:
            f.write(self.HANDLERS)
        app = os.path.join(d, "app.lua")
        p = run_rover(["check", "app.lua"], cwd=d)
        self.assertEqual(p.returncode, 0, p)
        self.assertEqual(p.stderr, b"")

        def at(marker, path=app, name="app.lua"):
            return "%s:%d" % (name, app_line(path, "marker:" + marker))
        root_before = at("root-before")
        items_before = "before: %s, auth %s" % (root_before, at("items-auth"))
        # after hooks in the order they run: named last-listed first (reverse of the list).
        items_after = "after: timing %s, %s" % (at("items-after-timing"), at("items-after-unnamed"))
        create = at("create", os.path.join(d, "handlers.lua"), "./handlers.lua")
        self.assertEqual(route_rows(p), [
            ("GET", "/", at("get-root"), "before: " + root_before),
            ("POST", "/items", create, items_before + "; " + items_after),
            ("GET", "/items/{sku}", at("get-sku"), items_before + "; " + items_after),
            ("DELETE", "/items/{sku}", at("del-sku"), items_before + "; " + items_after),
        ])
        m = SUMMARY_RE.match(out_lines(p)[-1])
        self.assertIsNotNone(m, out_lines(p))
        self.assertEqual(m.groups(), ("app.lua", "4", "0", "localhost", "4242", "3"))

    def test_no_middleware_and_absolute_path(self):
        d = write_temp_app(self, "local api = rover.server {}\n"
                                 "function api.ping.get(ctx) return 'pong' end\n"
                                 "return api\n")
        app = os.path.join(d, "app.lua")
        p = run_rover(["check", app])
        self.assertEqual(p.returncode, 0, p)
        self.assertEqual(route_rows(p), [("GET", "/ping", app + ":2", "-")])

    def test_binds_nothing(self):
        """The configured port may be taken: check never listens."""
        holder = socket.socket()
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        self.addCleanup(holder.close)
        port = holder.getsockname()[1]
        d = write_temp_app(self, "local api = rover.server { host = '127.0.0.1', port = %d }\n"
                                 "function api.get(ctx) return 'x' end\n"
                                 "return api\n" % port)
        p = run_rover(["check", "app.lua"], cwd=d)
        self.assertEqual(p.returncode, 0, p)
        self.assertIn("would listen on 127.0.0.1:%d" % port, out_lines(p)[-1])
        # The CLI overrides apply as at startup.
        p = run_rover(["check", "app.lua", "--port", "9", "--workers", "1"], cwd=d)
        self.assertEqual(p.returncode, 0, p)
        self.assertIn("would listen on 127.0.0.1:9 with 1 worker", out_lines(p)[-1])

    def test_static_mounts_listed(self):
        d = write_temp_app(self, "local api = rover.server {}\n"
                                 "api.assets.static { dir = 'public', cache = 'no-store' }\n"
                                 "function api.get(ctx) return 'x' end\n"
                                 "return api\n")
        os.makedirs(os.path.join(d, "public"))
        p = run_rover(["check", "app.lua"], cwd=d)
        self.assertEqual(p.returncode, 0, p)
        self.assertIn("static  /assets -> public (Cache-Control: no-store)", out_lines(p))
        self.assertIn("1 route, 1 static mount;", out_lines(p)[-1])

    def test_script(self):
        d = write_temp_app(self, "print('ran')\n")
        p = run_rover(["check", "app.lua"], cwd=d)
        self.assertEqual(p.returncode, 0, p)
        self.assertEqual(out_lines(p), ["ran", "app.lua is a script (it returns no rover.server): "
                                        "it ran to completion, no routes"])

    def test_usage(self):
        p = run_rover(["check"])
        self.assertEqual(p.returncode, 2, p)
        self.assertIn(b"usage: rover check", p.stderr)
        p = run_rover(["check", "--help"])
        self.assertEqual(p.returncode, 0, p)
        self.assertIn(b"usage: rover check", p.stdout)
        p = run_rover(["check", "a.lua", "--bogus"])
        self.assertEqual(p.returncode, 2, p)


class CheckFailsTest(unittest.TestCase):
    """A broken app: exit 1, startup's message on stderr, no table."""

    def check_fails(self, text, name="app.lua"):
        d = write_temp_app(self, text, name)
        p = run_rover(["check", name], cwd=d)
        self.assertEqual(p.returncode, 1, p)
        self.assertNotIn(b"METHOD", p.stdout)
        return d, err_lines(p)

    def test_error_at_load_names_file_and_line(self):
        text = ("local api = rover.server {}\n"
                "function api.get(ctx) return 'x' end\n"
                "local cfg = nil\n"
                "print(cfg.port)  -- marker:boom\n"
                "return api\n")
        d, err = self.check_fails(text)
        self.assertEqual(err[0], "❌ Error loading app.lua:")
        n = app_line(os.path.join(d, "app.lua"), "marker:boom")
        self.assertRegex(err[1], r"^app\.lua:%d: attempt to index .*cfg" % n)

    def test_syntax_error_names_file_and_line(self):
        text = ("local api = rover.server {}\n"
                "function api.get(ctx)\n"
                "  return 'x' end end  -- marker:syntax\n"
                "return api\n")
        d, err = self.check_fails(text)
        self.assertEqual(err[0], "❌ Error loading app.lua:")
        n = app_line(os.path.join(d, "app.lua"), "marker:syntax")
        self.assertTrue(err[1].startswith("app.lua:%d: " % n), err)

    def test_route_tree_error(self):
        _, err = self.check_fails("local api = rover.server {}\n"
                                  "function api.things.fetch(ctx) end\n"
                                  "return api\n")
        self.assertTrue(err[0].startswith("❌ Error: Unknown HTTP method 'fetch' at path "
                                          "'/things'"), err)

    def test_config_error(self):
        _, err = self.check_fails("local api = rover.server { port = 'eighty' }\n"
                                  "function api.get(ctx) end\n"
                                  "return api\n")
        self.assertEqual(err, ["❌ Error: port should be a number"])

    def test_missing_static_dir(self):
        _, err = self.check_fails("local api = rover.server {}\n"
                                  "api.assets.static { dir = 'nowhere' }\n"
                                  "return api\n")
        self.assertTrue(err[0].startswith("❌ Error: Static mount "), err)
        self.assertIn("nowhere", err[0])

    def test_unreadable_file(self):
        p = run_rover(["check", "/nonexistent/app.lua"])
        self.assertEqual(p.returncode, 1, p)
        self.assertTrue(err_lines(p)[0].startswith(
            "❌ Error: cannot read app file '/nonexistent/app.lua': "), p)


MIGRATING_APP = """\
local api = rover.server {}
local db = rover.db.connect { path = "app.sqlite" }
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local files = {}
for _, name in ipairs { "001_a.lua", "002_b.lua" } do
  files[#files + 1] = { name = name, path = here .. "/migrations/" .. name }
end
rover.db.run_migrations(db, files, "migrate")
function api.get(ctx) return "x" end
return api
"""

GOOD_MIGRATION = "function change() migration.%s:create { id = rover.db.guard:integer():primary() } end\n"


class CheckMigrationsTest(unittest.TestCase):

    def app_dir(self, second):
        d = write_temp_app(self, MIGRATING_APP)
        os.makedirs(os.path.join(d, "migrations"))
        for name, text in (("001_a.lua", GOOD_MIGRATION % "a"), ("002_b.lua", second)):
            with open(os.path.join(d, "migrations", name), "w") as f:
                f.write(text)
        return d

    def test_pending_at_load_are_reported_not_applied(self):
        d = self.app_dir(GOOD_MIGRATION % "b")
        p = run_rover(["check", "app.lua"], cwd=d)
        self.assertEqual(p.returncode, 0, p)
        self.assertIn("migrations  run_migrations migrate at load on sqlite app.sqlite: 2 of 2 "
                      "pending: 001_a.lua, 002_b.lua", out_lines(p))
        self.assertFalse(os.path.exists(os.path.join(d, "app.sqlite")), "check created the database")
        # The real startup applies them (a script run of the same load code) ...
        with open(os.path.join(d, "apply.lua"), "w") as f:
            f.write(MIGRATING_APP.replace("return api\n", "print('applied')\n"))
        p = run_rover(["apply.lua"], cwd=d)
        self.assertEqual(p.returncode, 0, p)
        # ... and then check finds none pending.
        p = run_rover(["check", "app.lua"], cwd=d)
        self.assertEqual(p.returncode, 0, p)
        self.assertIn("migrations  run_migrations migrate at load on sqlite app.sqlite: 2 applied, "
                      "none pending", out_lines(p))

    def test_broken_pending_migration_fails(self):
        d = self.app_dir("function change(\n")
        p = run_rover(["check", "app.lua"], cwd=d)
        self.assertEqual(p.returncode, 1, p)
        err = err_lines(p)
        self.assertEqual(err[0], "❌ Error loading app.lua:")
        self.assertIn("migration 002_b.lua: cannot load: ", err[1])
        self.assertIn("002_b.lua:", err[1])
        d = self.app_dir("local x = 1\n")
        p = run_rover(["check", "app.lua"], cwd=d)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("db error: migration 002_b.lua: it defines neither change() nor up()",
                      err_lines(p)[1])

    def test_working_directory_migrations(self):
        """An app that runs none at load: db/migrations (what `rover db` uses) is
        reported against the databases the app connects at load."""
        d = write_temp_app(self, "local api = rover.server {}\n"
                                 "local db = rover.db.connect { path = 'rover.sqlite' }\n"
                                 "function api.get(ctx) return 'x' end\n"
                                 "return api\n")
        os.makedirs(os.path.join(d, "db", "migrations"))
        for name in ("001_a.lua", "002_b.lua"):
            with open(os.path.join(d, "db", "migrations", name), "w") as f:
                f.write(GOOD_MIGRATION % name[4])
        p = run_rover(["check", "app.lua"], cwd=d)
        self.assertEqual(p.returncode, 0, p)
        self.assertIn("migrations  db/migrations on sqlite rover.sqlite: 2 of 2 pending: "
                      "001_a.lua, 002_b.lua", out_lines(p))
        p = run_rover(["db", "migrate"], cwd=d)
        self.assertEqual(p.returncode, 0, p)
        p = run_rover(["check", "app.lua"], cwd=d)
        self.assertIn("migrations  db/migrations on sqlite rover.sqlite: 2 applied, none pending",
                      out_lines(p))


# ---------------------------------------------------------------------------
# Every app of the repository

# Required by other apps, not run on their own.
MODULES = {
    "tests/apps/compression_common.lua",
    "tests/apps/headers_cors_common.lua",
    "tests/apps/env/conf/answer.lua",
    "tests/apps/env/conf/broken.lua",
    "tests/apps/env/conf/settings.lua",
    "tests/apps/env/conf/syntax.lua",
    "examples/crud/db/migrations/001_create_books.lua",
}

# Broken on purpose (their tests check the failure): the first stderr line they fail with.
BROKEN = {
    "tests/apps/async_load_delay.lua": "❌ Error loading tests/apps/async_load_delay.lua:",
    "tests/apps/cli_script_raise.lua": "❌ Error loading tests/apps/cli_script_raise.lua:",
    "tests/apps/compression_lz4.lua": "❌ Error: compress.algorithms: unsupported algorithm 'lz4'",
    "tests/apps/env/script_assign.lua": "❌ Error loading tests/apps/env/script_assign.lua:",
    "tests/apps/env/script_config_error.lua":
        "❌ Error loading tests/apps/env/script_config_error.lua:",
}


def _static_tree(tmp):
    for sub in ("site", "assets", "img"):
        os.makedirs(os.path.join(tmp, sub))
    return {"STATIC_ROOT": tmp}


def _public_dir(tmp):
    os.makedirs(os.path.join(tmp, "public"))
    return {"STATIC_CASE": "relative"}


# How an app's own tests start it: (cwd, env, args). cwd "app" is the app's
# directory; None a fresh temporary directory (so that what an app writes at
# load, e.g. a SQLite file, lands there). env may be a function of that
# directory. Apps not listed: cwd None, no env, no args.
SETUP = {
    "examples/frontend/app.lua": ("app", {}, []),
    "examples/chat/app.lua": ("app", {}, []),
    "examples/service/app.lua": ("app", {}, []),
    "tests/apps/auth.lua": (None, {"JWT_SECRET": "s", "JWT_OLD_KEY": "o", "JWT_NEW_KEY": "n"}, []),
    "tests/apps/cli_override.lua": (None, {}, ["--port", "0", "--host", "127.0.0.1",
                                               "--workers", "3"]),
    "tests/apps/db_sqlite.lua": (None, lambda tmp: {"DB_PATH": os.path.join(tmp, "t.sqlite")}, []),
    "tests/apps/http_client.lua": (None, {"UPSTREAM": "http://127.0.0.1:9"}, []),
    "tests/apps/static.lua": (None, _static_tree, []),
    "tests/apps/static_decl.lua": (None, _public_dir, []),
}

# Need a PostgreSQL server at load: checked against a private cluster.
POSTGRES = {
    "tests/apps/db_postgres.lua": {},
    "tests/apps/db_builder.lua": {"DB_ENGINE": "postgres"},
    "tests/apps/metrics_pg.lua": {},
}
POSTGRES_DDL = """
    CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, qty int,
                        price float8, note text, worker int);
    CREATE TABLE counts (k text, v int);
    CREATE TABLE boot (worker int, what text);"""


def all_lua_files():
    """Every .lua file of examples/ and tests/apps/ but the examples' test
    files (*_test.lua, run by `rover test` in test_rover_test.py)."""
    out = []
    for base in (EXAMPLES_DIR, APPS_DIR):
        for root, _, files in os.walk(base):
            for name in files:
                if name.endswith(".lua") and not name.endswith("_test.lua"):
                    out.append(os.path.relpath(os.path.join(root, name), REPO_ROOT))
    return sorted(out)


class AppsCheckTest(unittest.TestCase):

    def check(self, rel, cwd_kind=None, env=None, args=()):
        tmp = tempfile.mkdtemp(prefix="rover-check-")
        self.addCleanup(shutil.rmtree, tmp, True)
        if callable(env):
            env = env(tmp)
        path = REPO_ROOT / rel
        if cwd_kind == "app":
            cwd, app = path.parent, path.name
        else:
            cwd, app = tmp, str(path)
        return run_rover(["check", app] + list(args), cwd=cwd, env=env)

    def test_every_file_is_classified(self):
        listed = MODULES | set(BROKEN) | set(SETUP) | set(POSTGRES)
        files = set(all_lua_files())
        self.assertLessEqual(listed, files, "listed files that do not exist")

    def test_apps_pass(self):
        for rel in all_lua_files():
            if rel in MODULES or rel in BROKEN or rel in POSTGRES:
                continue
            with self.subTest(app=rel):
                p = self.check(rel, *SETUP.get(rel, (None, None, [])))
                self.assertEqual(p.returncode, 0, p)
                last = out_lines(p)[-1] if p.stdout else ""
                self.assertTrue(last.startswith("✅ ") or " is a script " in last, p)

    def test_broken_apps_fail(self):
        for rel, first in sorted(BROKEN.items()):
            with self.subTest(app=rel):
                p = run_rover(["check", rel])
                self.assertEqual(p.returncode, 1, p)
                self.assertEqual(err_lines(p)[0], first, p)

    @unittest.skipUnless(pgcluster and pgcluster.available(),
                         "PostgreSQL is not installed (initdb/psql not found)")
    def test_postgres_apps_pass(self):
        pg = pgcluster.PgCluster().start()
        self.addCleanup(pg.stop)
        pg.psql(POSTGRES_DDL)
        for rel, env in sorted(POSTGRES.items()):
            with self.subTest(app=rel):
                p = self.check(rel, None, dict(env, PG_URL=pg.url))
                self.assertEqual(p.returncode, 0, p)
                self.assertTrue(out_lines(p)[-1].startswith("✅ "), p)


if __name__ == "__main__":
    unittest.main()

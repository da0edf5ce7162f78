"""runtime-modules.md §9, migrations: `rover db migrate | rollback [--steps n]
| status | reset --force` with `--path FILE` (SQLite, default rover.sqlite
in the working directory) or `--url URL` (PostgreSQL: a private cluster the
test starts), on migration files in db/migrations/ of the working
directory; the schema they leave is read back with sqlite3 / psql."""

import os
import shutil
import sqlite3
import tempfile
import textwrap
import unittest

import pgcluster
from harness import run_rover

MIGRATIONS = {
    "001_create_users.lua": """
        local g = rover.db.guard
        function change()
          migration.users:create {
            id = g:integer():primary():auto(),
            name = g:string():required(),
            email = g:string():unique(),
          }
        end
    """,
    "002_add_age.lua": """
        function change()
          migration.users:add_column("age", rover.db.guard:integer())
        end
    """,
    "003_posts.lua": """
        local g = rover.db.guard
        function up(tx)
          migration.posts:create { id = g:integer():primary():auto(), title = g:string() }
          migration.posts:create_index("posts_title", { "title" })
        end
        function down(tx)
          migration.posts:drop_index("posts_title")
          migration.posts:drop()
        end
    """,
}


class DbCliBase:
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="rover-dbcli-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        os.makedirs(os.path.join(self.dir, "db", "migrations"))
        for name, text in MIGRATIONS.items():
            self.write(name, text)

    def write(self, name, text):
        with open(os.path.join(self.dir, "db", "migrations", name), "w") as f:
            f.write(textwrap.dedent(text))

    def db(self, *args):
        r = run_rover(["db"] + list(args) + self.target(), cwd=self.dir)
        return r.returncode, r.stdout.decode(), r.stderr.decode()

    def ok(self, *args):
        rc, out, err = self.db(*args)
        self.assertEqual(rc, 0, err)
        self.assertEqual(err, "")
        return out.splitlines()

    def test_status_of_a_fresh_database(self):
        self.assertEqual(self.ok("status"), ["pending 001_create_users.lua",
                                             "pending 002_add_age.lua", "pending 003_posts.lua"])

    def test_migrate_applies_in_order_then_nothing(self):
        self.assertEqual(self.ok("migrate"), ["applied 001_create_users.lua",
                                              "applied 002_add_age.lua", "applied 003_posts.lua"])
        self.assertEqual(self.columns("users"), ["age", "email", "id", "name"])
        self.assertIn("posts", self.tables())
        self.assertEqual(self.ok("status"), ["applied 001_create_users.lua",
                                             "applied 002_add_age.lua", "applied 003_posts.lua"])
        self.assertEqual(self.ok("migrate"), ["nothing to migrate"])

    def test_rollback_one_then_steps(self):
        self.ok("migrate")
        self.assertEqual(self.ok("rollback"), ["rolled back 003_posts.lua"])
        self.assertNotIn("posts", self.tables())
        self.assertEqual(self.ok("rollback", "--steps", "2"), ["rolled back 002_add_age.lua",
                                                               "rolled back 001_create_users.lua"])
        self.assertNotIn("users", self.tables())
        self.assertEqual(self.ok("rollback"), ["nothing to roll back"])

    def test_change_rolled_back_by_its_inverse(self):
        self.ok("migrate")
        self.ok("rollback")
        self.ok("rollback")
        self.assertEqual(self.columns("users"), ["email", "id", "name"])

    def test_reset_needs_force(self):
        self.ok("migrate")
        rc, out, err = self.db("reset")
        self.assertEqual(rc, 1)
        self.assertIn("db error: reset needs --force", err)
        self.assertEqual(self.ok("status")[0], "applied 001_create_users.lua")

    def test_reset_force_rolls_back_all_then_applies_all(self):
        self.ok("migrate")
        self.assertEqual(self.ok("reset", "--force"), [
            "rolled back 003_posts.lua", "rolled back 002_add_age.lua",
            "rolled back 001_create_users.lua", "applied 001_create_users.lua",
            "applied 002_add_age.lua", "applied 003_posts.lua"])

    def test_new_file_is_pending_then_applied(self):
        self.ok("migrate")
        self.write("004_raw.lua", """
            function up(tx) migration.raw("CREATE TABLE notes (id INTEGER)") end
            function down(tx) migration.raw("DROP TABLE notes") end
        """)
        self.assertEqual(self.ok("status")[-1], "pending 004_raw.lua")
        self.assertEqual(self.ok("migrate"), ["applied 004_raw.lua"])
        self.assertIn("notes", self.tables())

    def test_failing_migration_stops_and_rolls_back(self):
        self.write("004_bad.lua", """
            function up(tx)
              migration.raw("CREATE TABLE half (id INTEGER)")
              migration.raw("THIS IS NOT SQL")
            end
            function down(tx) end
        """)
        rc, out, err = self.db("migrate")
        self.assertEqual(rc, 1)
        self.assertIn("db error: migration 004_bad.lua", err)
        self.assertEqual(out.splitlines(), ["applied 001_create_users.lua",
                                            "applied 002_add_age.lua", "applied 003_posts.lua"])
        self.assertNotIn("half", self.tables())
        self.assertEqual(self.ok("status")[-1], "pending 004_bad.lua")

    def test_usage_errors(self):
        for args in (["nope"], ["rollback", "--steps", "0"], ["status", "--force"], []):
            with self.subTest(args=args):
                r = run_rover(["db"] + args, cwd=self.dir)
                self.assertEqual(r.returncode, 2, r)
                self.assertIn(b"usage: rover db", r.stderr)


class TestDbCliSqlite(DbCliBase, unittest.TestCase):
    def target(self):
        return ["--path", os.path.join(self.dir, "app.sqlite")]

    def tables(self):
        con = sqlite3.connect(os.path.join(self.dir, "app.sqlite"))
        try:
            return sorted(r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'"))
        finally:
            con.close()

    def columns(self, table):
        con = sqlite3.connect(os.path.join(self.dir, "app.sqlite"))
        try:
            return sorted(r[1] for r in con.execute('PRAGMA table_info("%s")' % table))
        finally:
            con.close()

    def test_default_path_is_rover_sqlite_in_the_working_directory(self):
        r = run_rover(["db", "migrate"], cwd=self.dir)
        self.assertEqual(r.returncode, 0, r)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "rover.sqlite")))


@unittest.skipUnless(pgcluster.available(), "PostgreSQL is not installed")
class TestDbCliPostgres(DbCliBase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = pgcluster.PgCluster().start()
        cls.addClassCleanup(cls.pg.stop)

    def setUp(self):
        super().setUp()
        self.pg.psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")

    def target(self):
        return ["--url", self.pg.url]

    def tables(self):
        return sorted(self.pg.psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                      .split())

    def columns(self, table):
        return sorted(self.pg.psql("SELECT column_name FROM information_schema.columns "
                                   "WHERE table_name = '%s'" % table).split())

    def test_unreachable_database(self):
        r = run_rover(["db", "status", "--url", "postgresql://rover@/x?host=/nonexistent&port=1"],
                      cwd=self.dir)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"db error: connection failed: ", r.stderr)


if __name__ == "__main__":
    unittest.main()

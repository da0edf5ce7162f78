"""rover.db's query builder, schema DSL and migrations (runtime-modules.md §9) on both real
engines: the same scenario runs on SQLite (a file in a temporary directory) and on
PostgreSQL (a private cluster, pgcluster.py, one database per server; those classes are
skipped when PostgreSQL is not installed).

App: tests/apps/db_builder.lua. Tables are created by migration files written here into
the server's db/migrations/ (schema DSL + migration.<t>:create()). `rover db migrate` does
not exist yet, so the app calls the runner (B.run_migrations of prelude/db_migrate.lua)
from a route, reaching it through the builder module rover.db holds; when it cannot, the
classes that need it are skipped. What the server wrote is read back here with Python's
sqlite3 or psql.
"""

import os
import re
import shutil
import sqlite3
import tempfile
import unittest

import pgcluster
from harness import REPO_ROOT, RoverServer

APP = str(REPO_ROOT / "tests" / "apps" / "db_builder.lua")
POSITION = r"^(.+:\d+: )?"

PG = None
_databases = 0


def setUpModule():
    global PG
    if pgcluster.available():
        PG = pgcluster.PgCluster().start()


def tearDownModule():
    if PG is not None:
        PG.stop()


MIGRATIONS = {
    "001_create_authors.lua": """
function change()
  migration.authors:create()
end
""",
    "002_create_books.lua": """
function change()
  migration.books:create()
end
""",
    "003_isbn.lua": """
function change()
  migration.books:add_column("isbn", rover.db.guard:string():unique())
  migration.books:create_index("books_year_price", { "year", "price" })
end
""",
    "004_notes.lua": """
function up(tx)
  tx:exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
  migration.raw("INSERT INTO notes (id, body) VALUES (1, 'hello')")
end

function down(tx)
  migration.notes:drop()
end
""",
    "005_rename.lua": """
function change()
  migration.notes:rename_column("body", "text")
  migration.notes:rename("memos")
end
""",
    "006_bad.lua": """
function change()
  migration.half_done:create { id = rover.db.guard:integer():primary() }
  migration.raw("CREATE TABLE broken (")
end
""",
}
FIRST_TWO = ["001_create_authors.lua", "002_create_books.lua"]
FIVE = sorted(MIGRATIONS)[:5]


class SqliteEngine:
    name = "sqlite"
    TRUE, FALSE = 1, 0

    def __init__(self, workdir):
        self.path = os.path.join(workdir, "app.sqlite")

    def env(self):
        return {"DB_ENGINE": "sqlite", "DB_PATH": self.path}

    def rows(self, sql):
        con = sqlite3.connect(self.path, isolation_level=None)  # autocommit
        try:
            return [list(r) for r in con.execute(sql).fetchall()]
        finally:
            con.close()

    def tables(self):
        return sorted(r[0] for r in self.rows(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))

    def columns(self, table):
        return sorted(r[1] for r in self.rows("PRAGMA table_info(%s)" % table))

    def indexes(self):
        return sorted(r[0] for r in self.rows(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))


class PostgresEngine:
    name = "postgres"
    TRUE, FALSE = True, False

    def __init__(self, workdir):
        global _databases
        _databases += 1
        self.db = "builder_%d" % _databases
        PG.psql("CREATE DATABASE %s" % self.db)

    def env(self):
        return {"DB_ENGINE": "postgres",
                "PG_URL": "postgresql://%s@/%s?host=%s&port=%d" % (PG.USER, self.db, PG.dir,
                                                                     PG.port)}

    def rows(self, sql):
        out = PG.psql(sql, db=self.db)
        return [line.split("|") for line in out.splitlines() if line]

    def tables(self):
        return sorted(r[0] for r in self.rows(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))

    def columns(self, table):
        return sorted(r[0] for r in self.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_name = '%s'" % table))

    def indexes(self):
        # The ones the migrations name (not those of primary keys and UNIQUE columns).
        return sorted(r[0] for r in self.rows(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' "
            "AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'"))


class EngineCase(unittest.TestCase):
    """One server per class on a fresh database of ENGINE, its working
    directory a temporary one holding db/migrations/."""

    ENGINE = None
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.ENGINE is PostgresEngine and PG is None:
            raise unittest.SkipTest("PostgreSQL is not installed (initdb/psql not found)")
        cls.dir = tempfile.mkdtemp(prefix="rover-builder-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        mig = os.path.join(cls.dir, "db", "migrations")
        os.makedirs(mig)
        for name, text in MIGRATIONS.items():
            with open(os.path.join(mig, name), "w", encoding="utf-8") as f:
                f.write(text)
        cls.engine = cls.ENGINE(cls.dir)
        cls.server = RoverServer(APP, args=["--workers", "1"], cwd=cls.dir, env=cls.engine.env())
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def get_json(self, target, status=200):
        r = self.server.get(target)
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.header("Content-Type"), "application/json", r)
        return r.json()

    def migrate(self, command, names, status=200, **opts):
        q = "/migrate?command=%s&names=%s" % (command, ",".join(names))
        for k, v in opts.items():
            q += "&%s=%s" % (k, v)
        return self.get_json(q, status)

    @staticmethod
    def listed(v):
        """The JSON encoder writes an empty Lua table as {}."""
        return [] if v == {} else v


class BuilderScenario:
    """The builder on tables made by the first two migrations, with five books by three
    authors (one without books)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        r = cls.server.get("/migrate?command=migrate&names=" + ",".join(FIRST_TWO))
        if r.status != 200:
            raise AssertionError("migrations failed: %r" % r)
        cls.migrated = r.json()
        cls.seeded = cls.server.get("/seed").json()

    def test_schema_create_and_inserts_returning_ids(self):
        self.assertEqual(self.migrated, {"lines": ["applied " + n for n in FIRST_TWO]})
        self.assertEqual(self.seeded, {"authors": [1, 2, 3], "books": [1, 2, 3, 4, 5]})
        self.assertEqual(self.engine.tables(), ["authors", "books", "rover_migrations"])
        self.assertEqual(self.engine.columns("books"),
                         ["author_id", "id", "in_print", "note", "price", "title", "year"])
        self.assertIn("books_author_id_index", self.engine.indexes())

    # runtime-modules.md §9 "Queries": every op on real data.
    FILTERS = {
        "all": [1, 2, 3, 4, 5],
        "equals": [2], "equals_op": [3], "not_equals": [1, 3, 4],
        "bigger_than": [3, 4], "smaller_than": [1],
        "bigger_than_or_equals": [3, 4], "smaller_than_or_equals": [1, 2],
        "contains": [2, 4], "contains_case": [1], "contains_wildcards": [2],
        "contains_backslash": [3], "starts_with": [3], "ends_with": [1, 3, 4],
        "between": [2, 3], "in_list": [1, 3, 5], "in_empty": [],
        "not_in_list": [1, 2, 5], "not_in_empty": [1, 2, 3, 4, 5],
        "is_null": [3], "is_null_note": [2], "is_not_null": [1, 2, 3, 4],
        "boolean": [4], "chained": [2], "merge": [1, 2],
        "exists": [1, 2], "exists_late": [2],
    }

    def test_every_filter_on_real_rows(self):
        for name, expected in self.FILTERS.items():
            with self.subTest(query=name):
                body = self.get_json("/find/" + name)
                self.assertEqual(sorted(self.listed(body["ids"])), expected, body["sql"])
                self.assertEqual(body["count"], len(expected), body["sql"])

    def test_order_by_limit_and_offset(self):
        for name, expected in {"price_desc": [2, 1, 5, 4], "page": [1, 5], "offset_only": [5, 4],
                               "limit_zero": [], "two_orders": [5, 2, 1, 4, 3]}.items():
            with self.subTest(query=name):
                body = self.get_json("/find/" + name)
                self.assertEqual(self.listed(body["ids"]), expected, body["sql"])
                self.assertEqual(body["count"], len(expected), body["sql"])

    def test_rows_select_and_first(self):
        T, F = self.engine.TRUE, self.engine.FALSE
        self.assertEqual(self.get_json("/rows"), {
            "book1": {"id": 1, "title": "Alpha", "author_id": 1, "year": 1999, "price": 10.5,
                      "in_print": T, "note": "first"},
            "book2": {"id": 2, "title": "beta 50%_off", "author_id": 1, "year": 2001,
                      "price": 20, "in_print": T},  # note NULL: absent
            "book4": {"id": 4, "title": "delta", "author_id": 2, "year": 2010, "price": 5.25,
                      "in_print": F, "note": "last"},
            "picked": {"id": 3, "title": "Gamma"},
            "none": True,
        })

    def test_group_by_and_aggregates(self):
        body = self.get_json("/groups")
        self.assertEqual(body["rows"], [
            {"author_id": 1, "n": 3, "total": 37.5, "avg_year": 2000, "first": 1999,
             "last": 2001},
            {"author_id": 2, "n": 2, "total": 5.25, "avg_year": 2007.5, "first": 2005,
             "last": 2010},
        ])
        self.assertEqual(body["count"], 2)
        self.assertEqual(body["totals"], {"n": 5})
        self.assertEqual(body["sql"], 'SELECT "author_id", AVG("year") AS "avg_year", '
                         'MIN("year") AS "first", MAX("year") AS "last", COUNT(*) AS "n", '
                         'SUM("price") AS "total" FROM "books" GROUP BY "author_id" '
                         'ORDER BY "author_id" ASC')

    def test_update_and_delete_counts(self):
        body = self.get_json("/writes")
        extra = body.pop("extra_id")
        self.assertGreater(extra, 5)
        self.assertEqual(body, {
            "update": 2, "update_none": 0, "prices": [9, 9], "set_null": 1, "note_gone": True,
            "delete": 1, "delete_none": 0, "count_after": 5})
        # Put author 2's prices back for the other tests (Gamma had none).
        self.engine.rows("UPDATE books SET price = NULL WHERE id = 3")
        self.engine.rows("UPDATE books SET price = 5.25 WHERE id = 4")
        self.engine.rows("UPDATE books SET note = 'first' WHERE id = 1")

    def test_the_builder_inside_transactions(self):
        self.assertEqual(self.get_json("/tx_builder"),
                         {"id_type": "number", "ok": False, "names": ["Dee"], "deleted": 1})

    def test_raw_sql(self):
        self.assertEqual(self.get_json("/rawsql"), {
            "titles": ["Gamma", "delta"], "first": "Gamma", "changed": 1,
            "sql": "SELECT ? AS a", "params": [1], "note": "raw"})

    def test_a_guard_error_on_insert_is_a_400(self):
        r = self.server.get("/bad_insert?what=type")
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json(), {"errors": [
            {"field": "title", "message": "Must be a string, got integer", "type": "type"}]})
        r = self.server.get("/bad_insert?what=missing")
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json(), {"errors": [
            {"field": "title", "message": "Field 'title' is required", "type": "required"},
            {"field": "year", "message": "Must be an integer, got float 1.5", "type": "type"}]})
        r = self.server.get("/bad_update")
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json(), {"errors": [
            {"field": "year", "message": "Must be an integer, got string", "type": "type"}]})
        self.assertEqual(str(self.engine.rows("SELECT count(*) FROM books")[0][0]), "5")

    def test_constraint_errors_are_db_errors(self):
        r = self.server.get("/duplicate")
        self.assertEqual(r.status, 500, r)
        self.assertRegex(r.json()["error"], POSITION + re.escape(self.DUPLICATE) + "$")
        r = self.server.get("/orphan")
        self.assertEqual(r.status, 500, r)
        self.assertRegex(r.json()["error"], POSITION + re.escape(self.ORPHAN) + "$")

    def test_inspect_texts(self):
        like = "ILIKE" if self.engine.name == "postgres" else "LIKE"
        offset = ' OFFSET ?' if self.engine.name == "postgres" else ' LIMIT -1 OFFSET ?'
        self.assertEqual(self.get_json("/inspect"), {
            "select": {"sql": 'SELECT * FROM "books" WHERE "year" > ? AND "title" %s ? '
                              "ESCAPE '\\' ORDER BY \"id\" DESC LIMIT ?" % like,
                       "params": [2000, "%a%", 3]},
            "offset": {"sql": 'SELECT * FROM "books"' + offset, "params": [5]},
            "columns": {"sql": 'SELECT "id", "title" FROM "books" WHERE "author_id" IN (?, ?)',
                        "params": [1, 2]},
            "between": {"sql": 'SELECT * FROM "books" WHERE "year" BETWEEN ? AND ? AND '
                               '"note" IS NULL', "params": [1, 2]},
            "group": {"sql": 'SELECT "author_id", COUNT(*) AS "n" FROM "books" '
                             'GROUP BY "author_id"', "params": {}},
            "exists": {"sql": 'SELECT * FROM "authors" WHERE EXISTS (SELECT * FROM "books" '
                              'WHERE "author_id" = "authors"."id")', "params": {}},
            "update": {"sql": 'UPDATE "books" SET "note" = ?, "price" = ? WHERE "id" = ?',
                       "params": ["n", 2, 1]},
            "delete": {"sql": 'DELETE FROM "books" WHERE "year" < ?', "params": [1900]},
        })


class MigrationScenario:
    """The migration runner through files in db/migrations/: status, migrate, rollback
    (one step and --steps 2), a failing migration, reset (and its --force), a file gone."""

    def test_migrations_lifecycle(self):
        e = self.engine
        self.assertEqual(self.migrate("status", FIVE)["lines"], ["pending " + n for n in FIVE])
        self.assertEqual(self.migrate("migrate", FIVE)["lines"], ["applied " + n for n in FIVE])
        self.assertEqual(e.tables(), ["authors", "books", "memos", "rover_migrations"])
        self.assertIn("isbn", e.columns("books"))
        self.assertEqual(e.columns("memos"), ["id", "text"])
        self.assertEqual(e.indexes(), ["books_author_id_index", "books_isbn_unique",
                                       "books_year_price"])
        self.assertEqual(sorted(r[0] for r in e.rows("SELECT name FROM rover_migrations")), FIVE)
        self.assertEqual(e.rows("SELECT text FROM memos"), [["hello"]])
        self.assertEqual(self.migrate("migrate", FIVE)["lines"], ["nothing to migrate"])

        self.assertEqual(self.migrate("rollback", FIVE)["lines"], ["rolled back 005_rename.lua"])
        self.assertEqual(e.tables(), ["authors", "books", "notes", "rover_migrations"])
        self.assertEqual(e.columns("notes"), ["body", "id"])
        self.assertEqual(self.migrate("rollback", FIVE, steps=2)["lines"],
                         ["rolled back 004_notes.lua", "rolled back 003_isbn.lua"])
        self.assertEqual(e.tables(), ["authors", "books", "rover_migrations"])
        self.assertNotIn("isbn", e.columns("books"))
        self.assertEqual(e.indexes(), ["books_author_id_index"])
        self.assertEqual(self.migrate("status", FIVE)["lines"],
                         ["applied " + n for n in FIVE[:2]] + ["pending " + n for n in FIVE[2:]])
        self.assertEqual(self.migrate("migrate", FIVE)["lines"],
                         ["applied " + n for n in FIVE[2:]])

        # A failing migration: its transaction rolls back (the table its first operation
        # made is gone), it stays pending, the error names it.
        body = self.migrate("migrate", FIVE + ["006_bad.lua"], status=500)
        self.assertRegex(body["error"], r"^db error: migration 006_bad\.lua: " + self.BAD_SQL)
        self.assertNotIn("half_done", e.tables())
        self.assertEqual(self.migrate("status", FIVE + ["006_bad.lua"])["lines"][-1],
                         "pending 006_bad.lua")

        body = self.migrate("reset", FIVE, status=500)
        self.assertRegex(body["error"], r"^db error: reset needs --force$")
        self.assertEqual(self.migrate("reset", FIVE, force=1)["lines"],
                         ["rolled back " + n for n in reversed(FIVE)] +
                         ["applied " + n for n in FIVE])
        self.assertEqual(e.rows("SELECT text FROM memos"), [["hello"]])
        self.assertEqual(self.migrate("status", FIVE[:4])["lines"],
                         ["applied " + n for n in FIVE[:4]] +
                         ["applied 005_rename.lua (file missing)"])


class SqliteBuilderTest(BuilderScenario, EngineCase):
    ENGINE = SqliteEngine
    DUPLICATE = "db error: UNIQUE constraint failed: authors.name"
    ORPHAN = "db error: FOREIGN KEY constraint failed"


class PostgresBuilderTest(BuilderScenario, EngineCase):
    ENGINE = PostgresEngine
    DUPLICATE = 'db error: duplicate key value violates unique constraint "authors_name_key"'
    ORPHAN = ('db error: insert or update on table "books" violates foreign key constraint '
              '"books_author_id_fkey"')


class SqliteMigrationTest(MigrationScenario, EngineCase):
    ENGINE = SqliteEngine
    BAD_SQL = "incomplete input$"


class PostgresMigrationTest(MigrationScenario, EngineCase):
    ENGINE = PostgresEngine
    BAD_SQL = "syntax error at end of input$"


if __name__ == "__main__":
    unittest.main()

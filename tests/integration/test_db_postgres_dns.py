"""rover.db on PostgreSQL with a host name (runtime-modules.md §9): the name
is looked up off the worker (net/resolver) and given to libpq as hostaddr,
since PQconnectStart would block in getaddrinfo. A private cluster listening
on 127.0.0.1 (TCP) is reached as `localhost`; a name that does not resolve
fails the query with `db error: connection failed: ...`."""

import unittest

import pgcluster
from harness import RoverServer, write_temp_app

APP = """
local api = rover.server { log_level = "info", workers = 1 }
local db = rover.db.connect { url = os.getenv("PG_URL"), pool = 2 }
function api.get(ctx)
  local ok, res = pcall(db.query, db, "SELECT inet_client_addr()::text AS addr, 41 + 1 AS n")
  if not ok then return api.json:status(502, { error = tostring(res) }) end
  return res[1]
end
return api
"""


@unittest.skipUnless(pgcluster.available(), "PostgreSQL is not installed")
class PostgresHostNameTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = pgcluster.PgCluster({"listen_addresses": "127.0.0.1"}).start()
        cls.addClassCleanup(cls.pg.stop)

    def serve(self, url):
        d = write_temp_app(self, APP)
        server = RoverServer(d + "/app.lua", env={"PG_URL": url})
        self.addCleanup(server.stop)
        return server.start()

    def test_localhost_by_name(self):
        server = self.serve("postgresql://rover@localhost:%d/postgres" % self.pg.port)
        for _ in range(3):  # the first opens the pool's connection, the others reuse it
            r = server.get("/")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["n"], 42)
            self.assertIn(r.json()["addr"], ("127.0.0.1/32", "::1/128"))

    def test_key_value_conninfo_with_a_name(self):
        server = self.serve("host=localhost port=%d user=rover dbname=postgres" % self.pg.port)
        r = server.get("/")
        self.assertEqual((r.status, r.json()["n"]), (200, 42), r)

    def test_unresolvable_name(self):
        server = self.serve("postgresql://rover@no-such-host.invalid:%d/postgres" % self.pg.port)
        r = server.get("/")
        self.assertEqual(r.status, 502, r)
        self.assertIn('db error: connection failed: could not translate host name '
                      '"no-such-host.invalid"', r.json()["error"])
        self.assertEqual(server.get("/").status, 502)  # and again: nothing stuck


if __name__ == "__main__":
    unittest.main()

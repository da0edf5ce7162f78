// Tests for src/lua/prelude/db_builder.lua (rover.db's query builder, schema DSL and
// rover.db.guard, runtime-modules.md §9): the exact SQL text and parameters of each builder
// form, read through :inspect() or recorded by a fake db (fixtures/db_fake.lua).
#include "db_lua_test.h"

namespace rover::prelude_test {
namespace {

class DbBuilderTest : public DbLuaTest {
 protected:
  void SetUp() override {
    DbLuaTest::SetUp();
    run(R"lua(
      lite = fake_db("sqlite")
      pg = fake_db("postgres")
      users = B.table(lite, "users")
      pg_users = B.table(pg, "users")
      function q() return users:find() end
    )lua");
  }

  // The query built by the Lua expression `expr` as "SQL [params]".
  std::string sql(const std::string& expr) { return eval("return sqlp(" + expr + ")"); }
};

// --- Filters -----------------------------------------------------------------------------

TEST_F(DbBuilderTest, FindSelectsEverything) {
  EXPECT_EQ(sql("q()"), R"(SELECT * FROM "users" [])");
}

TEST_F(DbBuilderTest, ComparisonOps) {
  EXPECT_EQ(sql("q():by_id(1)"), R"(SELECT * FROM "users" WHERE "id" = ? [1])");
  EXPECT_EQ(sql("q():by_id_equals('1')"), R"(SELECT * FROM "users" WHERE "id" = ? ['1'])");
  EXPECT_EQ(sql("q():by_id_not_equals(true)"), R"(SELECT * FROM "users" WHERE "id" <> ? [true])");
  EXPECT_EQ(sql("q():by_age_bigger_than(1)"), R"(SELECT * FROM "users" WHERE "age" > ? [1])");
  EXPECT_EQ(sql("q():by_age_smaller_than(2.5)"), R"(SELECT * FROM "users" WHERE "age" < ? [2.5])");
  EXPECT_EQ(sql("q():by_age_bigger_than_or_equals(3)"),
            R"(SELECT * FROM "users" WHERE "age" >= ? [3])");
  EXPECT_EQ(sql("q():by_age_smaller_than_or_equals(4)"),
            R"(SELECT * FROM "users" WHERE "age" <= ? [4])");
}

TEST_F(DbBuilderTest, FiltersAreAndedInCallOrder) {
  EXPECT_EQ(sql("q():by_b(2):by_a(1):by_c_is_null()"),
            R"(SELECT * FROM "users" WHERE "b" = ? AND "a" = ? AND "c" IS NULL [2, 1])");
}

TEST_F(DbBuilderTest, FieldNamesWithUnderscoresTakeTheLongestOpSuffix) {
  EXPECT_EQ(sql("q():by_created_at_bigger_than(5)"),
            R"(SELECT * FROM "users" WHERE "created_at" > ? [5])");
  EXPECT_EQ(sql("q():by_created_at_bigger_than_or_equals(5)"),
            R"(SELECT * FROM "users" WHERE "created_at" >= ? [5])");
  EXPECT_EQ(sql("q():by_team_id_not_in_list{ 1 }"),
            R"(SELECT * FROM "users" WHERE "team_id" NOT IN (?) [1])");
  EXPECT_EQ(sql("q():by_deleted_at_is_not_null()"),
            R"(SELECT * FROM "users" WHERE "deleted_at" IS NOT NULL [])");
  EXPECT_EQ(sql("q():by_is_active(true)"), R"(SELECT * FROM "users" WHERE "is_active" = ? [true])");
  // An op name alone is a field name (nothing before the suffix).
  EXPECT_EQ(sql("q():by_equals(1)"), R"(SELECT * FROM "users" WHERE "equals" = ? [1])");
  EXPECT_EQ(sql("q():by_in_list_in_list{ 2 }"),
            R"(SELECT * FROM "users" WHERE "in_list" IN (?) [2])");
}

TEST_F(DbBuilderTest, LikeOpsEscapeTheirValue) {
  EXPECT_EQ(sql("q():by_name_contains('50%_off\\\\')"),
            R"(SELECT * FROM "users" WHERE "name" LIKE ? ESCAPE '\' ['%50\%\_off\\%'])");
  EXPECT_EQ(sql("q():by_name_starts_with('ab')"),
            R"(SELECT * FROM "users" WHERE "name" LIKE ? ESCAPE '\' ['ab%'])");
  EXPECT_EQ(sql("q():by_name_ends_with('_')"),
            R"(SELECT * FROM "users" WHERE "name" LIKE ? ESCAPE '\' ['%\_'])");
  EXPECT_EQ(sql("q():by_code_starts_with(12)"),
            R"(SELECT * FROM "users" WHERE "code" LIKE ? ESCAPE '\' ['12%'])");
  EXPECT_EQ(sql("pg_users:find():by_name_contains('A')"),
            R"(SELECT * FROM "users" WHERE "name" ILIKE ? ESCAPE '\' ['%A%'])");
  EXPECT_EQ(sql("q():by_name_contains(true)"),
            "error: db error: by_name_contains expects a string, got boolean");
  EXPECT_EQ(sql("q():by_name_contains()"),
            "error: db error: by_name_contains expects a string, got nil");
}

TEST_F(DbBuilderTest, BetweenIsInclusiveAndTakesAPair) {
  EXPECT_EQ(sql("q():by_age_between{ 18, 65 }"),
            R"(SELECT * FROM "users" WHERE "age" BETWEEN ? AND ? [18, 65])");
  EXPECT_EQ(sql("q():by_age_between{ 18 }"),
            "error: db error: by_age_between expects { low, high }");
  EXPECT_EQ(sql("q():by_age_between{ 1, 2, 3 }"),
            "error: db error: by_age_between expects { low, high }");
  EXPECT_EQ(sql("q():by_age_between(5)"), "error: db error: by_age_between expects { low, high }");
  EXPECT_EQ(sql("q():by_age_between{ {}, 2 }"),
            "error: db error: by_age_between: cannot bind a table");
}

TEST_F(DbBuilderTest, InListAndNotInList) {
  EXPECT_EQ(sql("q():by_id_in_list{ 1, 'b', 3 }"),
            R"(SELECT * FROM "users" WHERE "id" IN (?, ?, ?) [1, 'b', 3])");
  EXPECT_EQ(sql("q():by_id_not_in_list{ 4, 5 }"),
            R"(SELECT * FROM "users" WHERE "id" NOT IN (?, ?) [4, 5])");
  EXPECT_EQ(sql("q():by_id_in_list{ 7 }"), R"(SELECT * FROM "users" WHERE "id" IN (?) [7])");
  // A decoded JSON array may carry a metatable.
  EXPECT_EQ(sql("q():by_id_in_list(setmetatable({ 8, 9 }, {}))"),
            R"(SELECT * FROM "users" WHERE "id" IN (?, ?) [8, 9])");
}

TEST_F(DbBuilderTest, EmptyListsMatchNothingOrEverything) {
  EXPECT_EQ(sql("q():by_id_in_list{}"), R"(SELECT * FROM "users" WHERE 1 = 0 [])");
  EXPECT_EQ(sql("q():by_id_not_in_list{}:by_a(1)"),
            R"(SELECT * FROM "users" WHERE 1 = 1 AND "a" = ? [1])");
}

TEST_F(DbBuilderTest, ListsMustBeArrays) {
  EXPECT_EQ(sql("q():by_id_in_list(3)"),
            "error: db error: by_id_in_list expects an array, got number");
  EXPECT_EQ(sql("q():by_id_in_list{ a = 1 }"),
            "error: db error: by_id_in_list expects an array, got a table with key 'a'");
  EXPECT_EQ(sql("q():by_id_in_list{ 1, nil, 3 }"),
            "error: db error: by_id_in_list expects an array, got a table with holes");
  EXPECT_EQ(sql("q():by_id_not_in_list{ {} }"),
            "error: db error: by_id_not_in_list: cannot bind a table");
}

TEST_F(DbBuilderTest, NullTests) {
  EXPECT_EQ(sql("q():by_email_is_null()"), R"(SELECT * FROM "users" WHERE "email" IS NULL [])");
  EXPECT_EQ(sql("q():by_email_is_not_null()"),
            R"(SELECT * FROM "users" WHERE "email" IS NOT NULL [])");
  EXPECT_EQ(sql("q():by_email_is_null(false)"),
            "error: db error: by_email_is_null() takes no value");
}

TEST_F(DbBuilderTest, FilterValuesAreCheckedAndAlwaysBound) {
  EXPECT_EQ(sql("q():by_id(nil)"),
            "error: db error: by_id needs a value (nil given; use by_id_is_null())");
  EXPECT_EQ(sql("q():by_id()"),
            "error: db error: by_id needs a value (nil given; use by_id_is_null())");
  EXPECT_EQ(sql("q():by_id({})"), "error: db error: by_id: cannot bind a table");
  EXPECT_EQ(sql("q():by_id(print)"), "error: db error: by_id: cannot bind a function");
  EXPECT_EQ(sql("q():by_id(1, 2)"), "error: db error: by_id() takes one value, got 2");
  EXPECT_EQ(sql("q():by_name(\"x' OR '1'='1\")"),
            R"(SELECT * FROM "users" WHERE "name" = ? ['x' OR '1'='1'])");
}

// --- Identifiers and invalid usage ---------------------------------------------------------

TEST_F(DbBuilderTest, IdentifiersAreCheckedEverywhere) {
  EXPECT_EQ(eval("return B.table(lite, 'users; DROP')"),
            "error: db error: invalid table name 'users; DROP'");
  EXPECT_EQ(eval("return B.table(lite, 'a\"b')"), "error: db error: invalid table name 'a\"b'");
  EXPECT_EQ(eval("return B.table(lite, 12)"), "error: db error: invalid table name number");
  EXPECT_EQ(sql("q():select('name, password')"),
            "error: db error: invalid column name 'name, password'");
  EXPECT_EQ(sql("q():order_by('1; --')"), "error: db error: invalid column name '1; --'");
  EXPECT_EQ(sql("q():group_by('a b')"), "error: db error: invalid column name 'a b'");
  EXPECT_EQ(sql("q():agg{ ['n x'] = B.count() }"), "error: db error: invalid alias name 'n x'");
  EXPECT_EQ(sql("q():agg{ n = B.sum('x)') }"), "error: db error: invalid column name 'x)'");
  EXPECT_EQ(eval("return B.column('a.b.c')"), "error: db error: invalid column name 'a.b.c'");
  EXPECT_EQ(sql("q()['by_a-b'](q(), 1)"), "error: db error: invalid column name 'a-b' in by_a-b()");
  EXPECT_EQ(sql("q():by_(1)"), "error: db error: invalid column name '' in by_()");
  EXPECT_EQ(sql("q():by_9lives(1)"),
            "error: db error: invalid column name '9lives' in by_9lives()");
}

TEST_F(DbBuilderTest, UnknownMethodsRaise) {
  EXPECT_EQ(sql("q():where('1=1')"), "error: db error: select query has no method 'where'");
  EXPECT_EQ(sql("users:update():order_by('id')"),
            "error: db error: update query has no method 'order_by'");
  EXPECT_EQ(sql("users:delete():limit(1)"), "error: db error: delete query has no method 'limit'");
  EXPECT_EQ(eval("return users:find()[1]"), "nil");
}

TEST_F(DbBuilderTest, TheEngineMustBeKnown) {
  EXPECT_EQ(eval("return B.table(fake_db('mysql'), 'users')"),
            "error: db error: unknown engine 'mysql' (expected 'sqlite' or 'postgres')");
  EXPECT_EQ(eval("return B.table({}, 'users')"),
            "error: db error: unknown engine nil (expected 'sqlite' or 'postgres')");
}

// --- Modifiers ---------------------------------------------------------------------------

TEST_F(DbBuilderTest, SelectColumns) {
  EXPECT_EQ(sql("q():select('id', 'name')"), R"(SELECT "id", "name" FROM "users" [])");
  EXPECT_EQ(sql("q():select{ 'id', 'users.name' }:select('*')"),
            R"(SELECT "id", "users"."name", * FROM "users" [])");
  EXPECT_EQ(sql("q():select()"), "error: db error: select needs at least one column");
}

TEST_F(DbBuilderTest, OrderByAcceptsSeveralColumns) {
  EXPECT_EQ(sql("q():order_by('name'):order_by('id', 'desc'):order_by('age', 'ASC')"),
            R"(SELECT * FROM "users" ORDER BY "name" ASC, "id" DESC, "age" ASC [])");
  EXPECT_EQ(sql("q():order_by('id', 'down')"),
            "error: db error: order_by: direction must be 'asc' or 'desc', got 'down'");
  EXPECT_EQ(sql("q():order_by('id', 1)"),
            "error: db error: order_by: direction must be 'asc' or 'desc', got number");
}

TEST_F(DbBuilderTest, LimitAndOffsetAreBound) {
  EXPECT_EQ(sql("q():by_a(1):limit(10):offset(20)"),
            R"(SELECT * FROM "users" WHERE "a" = ? LIMIT ? OFFSET ? [1, 10, 20])");
  EXPECT_EQ(sql("q():limit(5):limit(3)"), R"(SELECT * FROM "users" LIMIT ? [3])");
  EXPECT_EQ(sql("q():offset(20)"), R"(SELECT * FROM "users" LIMIT -1 OFFSET ? [20])");
  EXPECT_EQ(sql("pg_users:find():offset(20)"), R"(SELECT * FROM "users" OFFSET ? [20])");
  EXPECT_EQ(sql("pg_users:find():limit(0)"), R"(SELECT * FROM "users" LIMIT ? [0])");
  EXPECT_EQ(sql("q():limit(-1)"), "error: db error: limit expects a non-negative integer, got -1");
  EXPECT_EQ(sql("q():limit(1.5)"),
            "error: db error: limit expects a non-negative integer, got 1.5");
  EXPECT_EQ(sql("q():offset('3')"),
            "error: db error: offset expects a non-negative integer, got string");
}

TEST_F(DbBuilderTest, ClauseOrderIsFixed) {
  EXPECT_EQ(
      sql("q():limit(2):order_by('id'):by_a(1):select('id'):offset(4)"),
      R"(SELECT "id" FROM "users" WHERE "a" = ? ORDER BY "id" ASC LIMIT ? OFFSET ? [1, 2, 4])");
}

// --- Aggregates --------------------------------------------------------------------------

TEST_F(DbBuilderTest, GroupByWithAggregatesSelectsGroupsThenAggregatesByName) {
  EXPECT_EQ(sql("q():group_by('country'):agg{ n = B.count('*'), avg_age = B.avg('age') }"
                ":order_by('n', 'desc')"),
            R"(SELECT "country", AVG("age") AS "avg_age", COUNT(*) AS "n" FROM "users" )"
            R"(GROUP BY "country" ORDER BY "n" DESC [])");
  EXPECT_EQ(sql("q():group_by('a', 'b'):group_by{ 'c' }"),
            R"(SELECT "a", "b", "c" FROM "users" GROUP BY "a", "b", "c" [])");
}

TEST_F(DbBuilderTest, EveryAggregate) {
  EXPECT_EQ(sql("q():agg{ a = B.count(), b = B.count('email'), c = B.sum('x'), d = B.avg('x'),"
                " e = B.min('users.x'), f = B.max('x') }"),
            R"(SELECT COUNT(*) AS "a", COUNT("email") AS "b", SUM("x") AS "c", AVG("x") AS "d", )"
            R"(MIN("users"."x") AS "e", MAX("x") AS "f" FROM "users" [])");
  EXPECT_EQ(sql("q():select('team'):agg{ n = B.count() }:agg{ m = B.max('age') }:group_by('team')"),
            R"(SELECT "team", MAX("age") AS "m", COUNT(*) AS "n" FROM "users" GROUP BY "team" [])");
  EXPECT_EQ(sql("q():agg{ n = 'COUNT(*)' }"),
            "error: db error: agg: 'n' is not an aggregate (rover.db.count/sum/avg/min/max)");
  EXPECT_EQ(sql("q():agg{}"),
            "error: db error: agg expects a table { alias = rover.db.count('*'), ... }");
  EXPECT_EQ(eval("return B.sum('*')"), "error: db error: invalid column name '*'");
}

// --- exists, merge, immutability --------------------------------------------------------

TEST_F(DbBuilderTest, ExistsEmbedsTheSubqueryAndItsParameters) {
  EXPECT_EQ(sql("q():by_active(true):exists(B.table(lite, 'posts'):find()"
                ":by_user_id(B.column('users.id')):by_draft(false)):by_age(3)"),
            R"(SELECT * FROM "users" WHERE "active" = ? AND EXISTS (SELECT * FROM "posts" )"
            R"(WHERE "user_id" = "users"."id" AND "draft" = ?) AND "age" = ? [true, false, 3])");
  EXPECT_EQ(sql("q():by_score_bigger_than(B.column('bonus'))"),
            R"(SELECT * FROM "users" WHERE "score" > "bonus" [])");
  EXPECT_EQ(sql("q():exists(users:update())"),
            "error: db error: exists expects a query (db.<table>:find()...)");
}

TEST_F(DbBuilderTest, MergeAndsTheOtherQuerysFilters) {
  EXPECT_EQ(
      sql("q():by_a(1):order_by('id'):merge(q():by_b(2):by_c_in_list{ 3, 4 }:limit(9))"),
      R"(SELECT * FROM "users" WHERE "a" = ? AND "b" = ? AND "c" IN (?, ?) ORDER BY "id" ASC )"
      R"([1, 2, 3, 4])");
  EXPECT_EQ(sql("users:delete():merge(q():by_a(1))"), R"(DELETE FROM "users" WHERE "a" = ? [1])");
  EXPECT_EQ(sql("q():merge({})"), "error: db error: merge expects a query");
}

TEST_F(DbBuilderTest, BuilderCallsReturnNewQueries) {
  run(R"lua(
    local base = q():by_active(true)
    local young = base:by_age_smaller_than(30):order_by("age")
    local old = base:by_age_bigger_than(60)
    assert(sqlp(base) == 'SELECT * FROM "users" WHERE "active" = ? [true]', sqlp(base))
    assert(sqlp(young) == 'SELECT * FROM "users" WHERE "active" = ? AND "age" < ? ORDER BY "age" ASC [true, 30]')
    assert(sqlp(old) == 'SELECT * FROM "users" WHERE "active" = ? AND "age" > ? [true, 60]')
    local merged = base:merge(old)
    assert(sqlp(base) == 'SELECT * FROM "users" WHERE "active" = ? [true]')
    assert(#merged.conds == 3)
  )lua");
}

// --- Terminals ---------------------------------------------------------------------------

TEST_F(DbBuilderTest, AllRunsTheQueryWithItsParameters) {
  run(R"lua(
    lite.rows = { { id = 1 }, { id = 2 } }
    local rows = q():by_a(true):by_b_in_list{ 'x', 'y' }:all()
    assert(rows == lite.rows)
    assert(lite:logged() == [=[query SELECT * FROM "users" WHERE "a" = ? AND "b" IN (?, ?) [true, 'x', 'y']]=])
  )lua");
}

TEST_F(DbBuilderTest, FirstLimitsToOneRow) {
  run(R"lua(
    lite.rows = { { id = 5 } }
    assert(q():by_a(1):offset(2):first().id == 5)
    assert(lite:logged() == 'query SELECT * FROM "users" WHERE "a" = ? LIMIT ? OFFSET ? [1, 1, 2]', lite.log[1])
    assert(q():limit(10):first().id == 5)
    assert(lite:logged() == 'query SELECT * FROM "users" LIMIT ? [1]')
    lite.rows = {}
    assert(q():first() == nil)
    assert(q():limit(0):first() == nil)
    assert(lite:logged() == 'query SELECT * FROM "users" LIMIT ? [1]\nquery SELECT * FROM "users" LIMIT ? [0]')
  )lua");
}

TEST_F(DbBuilderTest, CountReturnsANumber) {
  run(R"lua(
    lite.rows = { { count = 42 } }
    local n = q():by_a(1):order_by("id"):select("id"):count()
    assert(n == 42 and type(n) == "number")
    assert(lite:logged() == 'query SELECT COUNT(*) AS "count" FROM "users" WHERE "a" = ? [1]')
    lite.rows = { { count = "7" } }
    assert(q():count() == 7)
    lite.rows = {}
    assert(q():count() == 0)
  )lua");
}

TEST_F(DbBuilderTest, CountOfAPageOrGroupsCountsTheQuerysRows) {
  EXPECT_EQ(sql("q():by_a(1):limit(5):offset(10)"),
            R"(SELECT * FROM "users" WHERE "a" = ? LIMIT ? OFFSET ? [1, 5, 10])");
  EXPECT_EQ(
      eval("local s, p = q():by_a(1):limit(5):count_sql() return s .. ' ' .. show_params(p, p.n)"),
      R"(SELECT COUNT(*) AS "count" FROM (SELECT * FROM "users" WHERE "a" = ? LIMIT ?) )"
      R"(AS "rover_count" [1, 5])");
  EXPECT_EQ(
      eval("local s, p = q():group_by('t'):count_sql() return s .. ' ' .. show_params(p, p.n)"),
      R"(SELECT COUNT(*) AS "count" FROM (SELECT "t" FROM "users" GROUP BY "t") AS "rover_count" [])");
}

// --- Writes ------------------------------------------------------------------------------

TEST_F(DbBuilderTest, InsertWithoutSchemaReturnsTheIdOfReturningStar) {
  run(R"lua(
    lite.rows = { { id = 9, name = "a" } }
    assert(users:insert{ name = "a", age = 3, email = B.null } == 9)
    assert(lite:logged() == 'query INSERT INTO "users" ("age", "email", "name") VALUES (?, ?, ?) RETURNING * [3, nil, \'a\']', lite.log[1])
    assert(users:insert{} == 9)
    assert(lite:logged() == 'query INSERT INTO "users" DEFAULT VALUES RETURNING * []')
    lite.rows = { { user_id = 1 } }
    assert(users:insert{ user_id = 1 } == nil) -- no `id` column
  )lua");
  EXPECT_EQ(eval("return users:insert{ tags = { 1 } }"),
            "error: db error: insert tags: cannot bind a table");
  EXPECT_EQ(eval("return users:insert{ 1 }"),
            "error: db error: insert: column names must be strings, got number");
  EXPECT_EQ(eval("return users:insert{ ['a b'] = 1 }"),
            "error: db error: invalid column name 'a b'");
  EXPECT_EQ(eval("return users:insert('x')"),
            "error: db error: insert expects a table of column values");
}

TEST_F(DbBuilderTest, UpdateSetsSortedColumnsAndReturnsTheAffectedCount) {
  EXPECT_EQ(sql("users:update():by_id(1):set{ name = 'x', age = B.null }"),
            R"(UPDATE "users" SET "age" = ?, "name" = ? WHERE "id" = ? [nil, 'x', 1])");
  EXPECT_EQ(sql("users:update():set{ a = 1, b = 2 }:set{ b = 3 }:by_c_is_null()"),
            R"(UPDATE "users" SET "a" = ?, "b" = ? WHERE "c" IS NULL [1, 3])");
  EXPECT_EQ(sql("users:update():set{ a = 1 }"), R"(UPDATE "users" SET "a" = ? [1])");
  EXPECT_EQ(sql("users:update():by_id(1)"),
            "error: db error: update of 'users' has nothing to set (call :set{...})");
  EXPECT_EQ(sql("users:update():set{ a = {} }"), "error: db error: set a: cannot bind a table");
  run(R"lua(
    lite.affected = 3
    assert(users:update():by_team_id(4):set{ active = false }:exec() == 3)
    assert(lite:logged() == 'exec UPDATE "users" SET "active" = ? WHERE "team_id" = ? [false, 4]')
  )lua");
}

TEST_F(DbBuilderTest, DeleteReturnsTheAffectedCount) {
  EXPECT_EQ(sql("users:delete():by_id(1)"), R"(DELETE FROM "users" WHERE "id" = ? [1])");
  EXPECT_EQ(sql("users:delete()"), R"(DELETE FROM "users" [])");
  run(R"lua(
    lite.affected = 2
    assert(users:delete():by_age_smaller_than(18):exec() == 2)
    assert(lite:logged() == 'exec DELETE FROM "users" WHERE "age" < ? [18]')
  )lua");
}

TEST_F(DbBuilderTest, RawSqlBindsItsParameters) {
  EXPECT_EQ(sql("users:sql():raw('SELECT * FROM users WHERE a = ? AND b = ?', { 1, 'x' })"),
            "SELECT * FROM users WHERE a = ? AND b = ? [1, 'x']");
  EXPECT_EQ(sql("users:sql():raw('SELECT ?, ?, ?', { 1, nil, 3 })"), "SELECT ?, ?, ? [1, nil, 3]");
  EXPECT_EQ(sql("users:sql():raw('SELECT ?, ?', { n = 2 })"), "SELECT ?, ? [nil, nil]");
  EXPECT_EQ(sql("users:sql():raw('SELECT 1')"), "SELECT 1 []");
  EXPECT_EQ(sql("users:sql():raw(1)"), "error: db error: raw expects an SQL string");
  EXPECT_EQ(sql("users:sql():raw('SELECT ?', 1)"),
            "error: db error: raw expects its parameters as an array");
  run(R"lua(
    lite.rows = { { n = 1 }, { n = 2 } }
    local r = users:sql():raw("SELECT n FROM t WHERE n > ?", { 0 })
    assert(r:all() == lite.rows and r:first().n == 1)
    lite.affected = 4
    assert(users:sql():raw("DELETE FROM t"):exec() == 4)
    assert(lite:logged() == "query SELECT n FROM t WHERE n > ? [0]\nquery SELECT n FROM t WHERE n > ? [0]\nexec DELETE FROM t []")
  )lua");
}

// --- Schema DSL and rover.db.guard --------------------------------------------------------

TEST_F(DbBuilderTest, DbGuardExtendsRoverGuard) {
  run(R"lua(
    local v = dg:integer():primary():auto():unique():index():references("teams.id"):required()
    assert(g.is_validator(v) and v.kind == "integer" and v.is_required)
    assert(v.is_primary and v.is_auto and v.is_unique and v.is_indexed)
    assert(v.references_table == "teams" and v.references_column == "id")
    assert(g:integer().primary == nil) -- rover.guard itself is unchanged
    assert(g({ n = 1 }, { n = dg.integer():primary() }).n == 1)
    local ok, err = pcall(g, { n = "x" }, { n = dg:integer():unique() })
    assert(not ok and g.is_error(err))
  )lua");
  EXPECT_EQ(eval("return dg:integer():references('teams')"),
            "error: db error: references expects 'table.column', got 'teams'");
}

TEST_F(DbBuilderTest, InsertWithSchemaValidatesAndReturnsThePrimaryField) {
  run(R"lua(
    B.schema.members {
      uid = dg:integer():primary():auto(),
      email = dg:string():required(),
      plan = dg:string():enum{ "free", "team" }:default("free"),
      age = dg:integer(),
    }
    local members = B.table(lite, "members")
    lite.rows = { { uid = 12 } }
    assert(members:insert{ email = "a@b", junk = 1, age = B.null } == 12)
    assert(lite:logged() == [=[query INSERT INTO "members" ("age", "email", "plan") VALUES (?, ?, ?) RETURNING "uid" [nil, 'a@b', 'free']]=], lite.log[1])
    local ok, err = pcall(members.insert, members, { age = 1.5, plan = "gold" })
    assert(not ok and g.is_error(err), tostring(err))
    local e = err:to_json().errors
    assert(#e == 3 and e[1].field == "age" and e[1].type == "type")
    assert(e[2].field == "email" and e[2].type == "required")
    assert(e[3].field == "plan" and e[3].type == "enum")
    assert(#lite.log == 0) -- nothing written
    local ok2, err2 = pcall(members.insert, members, { email = B.null })
    assert(not ok2 and err2:to_json().errors[1].type == "required")
  )lua");
}

TEST_F(DbBuilderTest, UpdateWithSchemaChecksTheFieldsItSets) {
  run(R"lua(
    B.schema.members { id = dg:integer():primary(), email = dg:string():required(), age = dg:integer() }
    local members = B.table(lite, "members")
    assert(sqlp(members:update():by_id(1):set{ age = 3, junk = 1 }) == 'UPDATE "members" SET "age" = ? WHERE "id" = ? [3, 1]')
    assert(sqlp(members:update():set{ age = B.null }) == 'UPDATE "members" SET "age" = ? [nil]')
    local ok, err = pcall(function() return members:update():set{ age = "x" } end)
    assert(not ok and g.is_error(err) and err:to_json().errors[1].field == "age")
    ok, err = pcall(function() return members:update():set{ email = B.null } end)
    assert(not ok and g.is_error(err) and err:to_json().errors[1].type == "required")
    ok, err = pcall(function() return members:update():set{ junk = 1 }:exec() end)
    assert(err == "db error: update of 'members' has nothing to set (call :set{...})", err)
  )lua");
}

TEST_F(DbBuilderTest, SchemaRegistrationChecksItsFields) {
  EXPECT_EQ(eval("B.schema.t { a = dg:integer():primary(), b = dg:integer():primary() }"),
            "error: db error: table 't' has more than one primary field (a, b)");
  EXPECT_EQ(eval("B.schema.t { a = dg:string():primary():auto() }"),
            "error: db error: t.a: auto() needs an integer primary() field");
  EXPECT_EQ(eval("B.schema.t { a = dg:integer():auto() }"),
            "error: db error: t.a: auto() needs an integer primary() field");
  EXPECT_EQ(eval("B.schema.t { ['a-b'] = dg:integer() }"),
            "error: db error: invalid column name 'a-b'");
  EXPECT_EQ(eval("B.schema.t { a = 5 }"), "error: Invalid schema for field 'a'");
  EXPECT_EQ(eval("B.schema.t {}"), "error: db error: table 't' needs a table of fields");
  EXPECT_EQ(eval("return B.schema['no such']"), "error: db error: invalid table name 'no such'");
  EXPECT_EQ(eval("B.schema.t = {}"),
            "error: db error: register a schema with rover.db.schema.<table> { fields }");
  EXPECT_EQ(eval("return B.schema_of('t')"), "nil");
  run(R"lua(
    B.schema.t { id = { type = "integer", primary = true, auto = true }, name = dg:string() }
    local s = B.schema_of("t")
    assert(s.pk == "id" and s.columns[1].name == "id" and s.columns[1].is_auto)
    assert(s.columns[2].name == "name")
  )lua");
}

}  // namespace
}  // namespace rover::prelude_test

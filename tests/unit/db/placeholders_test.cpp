// Tests for src/db/placeholders.cpp: `?` -> `$n` for PostgreSQL, skipping literals and comments.
#include "db/placeholders.h"

#include <gtest/gtest.h>

#include <string>

namespace rover::db {
namespace {

// The translation, then " #<count>", so each case checks both in one comparison.
std::string translate(std::string_view sql) {
  std::size_t count = 99;
  std::string out = toDollarPlaceholders(sql, &count);
  EXPECT_EQ(countPlaceholders(sql), count) << sql;
  return out + " #" + std::to_string(count);
}

TEST(Placeholders, NumbersEachPlaceholderInOrder) {
  EXPECT_EQ(translate("SELECT * FROM \"t\" WHERE \"a\" = ? AND \"b\" IN (?, ?)"),
            "SELECT * FROM \"t\" WHERE \"a\" = $1 AND \"b\" IN ($2, $3) #3");
}

TEST(Placeholders, EmptyAndPlaceholderFreeTextIsUnchanged) {
  EXPECT_EQ(translate(""), " #0");
  EXPECT_EQ(translate("SELECT 1"), "SELECT 1 #0");
}

TEST(Placeholders, AdjacentPlaceholdersAndTextEdges) {
  EXPECT_EQ(translate("?"), "$1 #1");
  EXPECT_EQ(translate("??"), "$1$2 #2");
  EXPECT_EQ(translate("?,?"), "$1,$2 #2");
}

TEST(Placeholders, CountsPastNine) {
  std::string sql, want;
  for (int i = 1; i <= 12; ++i) {
    sql += "?,";
    want += "$" + std::to_string(i) + ",";
  }
  EXPECT_EQ(translate(sql), want + " #12");
}

TEST(Placeholders, SkipsSingleQuotedStrings) {
  EXPECT_EQ(translate("SELECT '?', ?"), "SELECT '?', $1 #1");
  EXPECT_EQ(translate("SELECT 'it''s ?', ?"), "SELECT 'it''s ?', $1 #1");
  EXPECT_EQ(translate("SELECT '', ?"), "SELECT '', $1 #1");
  // Standard strings: a backslash is an ordinary character (LIKE ... ESCAPE '\').
  EXPECT_EQ(translate("\"a\" LIKE ? ESCAPE '\\' AND \"b\" = ?"),
            "\"a\" LIKE $1 ESCAPE '\\' AND \"b\" = $2 #2");
}

TEST(Placeholders, EscapeStringsTakeBackslashEscapes) {
  EXPECT_EQ(translate("SELECT E'it\\'s ?', ?"), "SELECT E'it\\'s ?', $1 #1");
  EXPECT_EQ(translate("SELECT e'\\\\', ?"), "SELECT e'\\\\', $1 #1");
  // `typE'` is an identifier followed by a standard string, not an escape string.
  EXPECT_EQ(translate("SELECT typE'\\', ?"), "SELECT typE'\\', $1 #1");
}

TEST(Placeholders, SkipsQuotedIdentifiers) {
  EXPECT_EQ(translate("SELECT \"what?\", \"a\"\"?\" FROM t WHERE x = ?"),
            "SELECT \"what?\", \"a\"\"?\" FROM t WHERE x = $1 #1");
}

TEST(Placeholders, SkipsLineComments) {
  EXPECT_EQ(translate("SELECT ? -- why?\n, ?"), "SELECT $1 -- why?\n, $2 #2");
  EXPECT_EQ(translate("SELECT ? -- why?"), "SELECT $1 -- why? #1");
  EXPECT_EQ(translate("SELECT 5 - ?"), "SELECT 5 - $1 #1");
}

TEST(Placeholders, SkipsBlockCommentsNestedAsPostgresDoes) {
  EXPECT_EQ(translate("SELECT /* ? */ ?"), "SELECT /* ? */ $1 #1");
  EXPECT_EQ(translate("SELECT /* a /* ? */ ? */ ?"), "SELECT /* a /* ? */ ? */ $1 #1");
  EXPECT_EQ(translate("SELECT /*/ ? */ ?"), "SELECT /*/ ? */ $1 #1");
  EXPECT_EQ(translate("SELECT 4 / ?"), "SELECT 4 / $1 #1");
}

TEST(Placeholders, SkipsDollarQuotedStrings) {
  EXPECT_EQ(translate("SELECT $$?$$, ?"), "SELECT $$?$$, $1 #1");
  EXPECT_EQ(translate("SELECT $fn$ a $$ ? $ $fn$, ?"), "SELECT $fn$ a $$ ? $ $fn$, $1 #1");
  EXPECT_EQ(translate("SELECT $a$ ? $b$ ? $a$ ?"), "SELECT $a$ ? $b$ ? $a$ $1 #1");
  EXPECT_EQ(translate("SELECT $_1$?$_1$ ?"), "SELECT $_1$?$_1$ $1 #1");
}

TEST(Placeholders, DollarThatOpensNoQuoteIsText) {
  // $1 is a positional parameter, a$b$ an identifier, $ alone an operator character.
  EXPECT_EQ(translate("SELECT $1, ?"), "SELECT $1, $1 #1");
  EXPECT_EQ(translate("SELECT a$b$ ?"), "SELECT a$b$ $1 #1");
  EXPECT_EQ(translate("SELECT $ ?"), "SELECT $ $1 #1");
  EXPECT_EQ(translate("SELECT $1$ ?"), "SELECT $1$ $1 #1");
}

TEST(Placeholders, UnterminatedConstructsRunToTheEnd) {
  EXPECT_EQ(translate("SELECT ?, 'x ?"), "SELECT $1, 'x ? #1");
  EXPECT_EQ(translate("SELECT ?, \"x ?"), "SELECT $1, \"x ? #1");
  EXPECT_EQ(translate("SELECT ?, /* ?"), "SELECT $1, /* ? #1");
  EXPECT_EQ(translate("SELECT ?, $q$ ?"), "SELECT $1, $q$ ? #1");
  EXPECT_EQ(translate("SELECT ?, E'\\"), "SELECT $1, E'\\ #1");
}

TEST(Placeholders, CountIsOptional) {
  EXPECT_EQ(toDollarPlaceholders("? ?"), "$1 $2");
  EXPECT_EQ(countPlaceholders("'?' ? \"?\" ?"), 2u);
}

}  // namespace
}  // namespace rover::db

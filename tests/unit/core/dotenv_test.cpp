#include "core/dotenv.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace rover::core {
namespace {

// The single entry of a one-line file, checking there is no warning.
DotenvEntry only(std::string_view text) {
  DotenvResult r = parseDotenv(text, ".env");
  EXPECT_TRUE(r.warnings.empty()) << text << " -> " << (r.warnings.empty() ? "" : r.warnings[0]);
  EXPECT_EQ(r.entries.size(), 1u) << text;
  return r.entries.empty() ? DotenvEntry{} : r.entries[0];
}

std::string valueOf(std::string_view text) { return only(text).value; }

// The warning of a one-line malformed file, checking no entry came out of it.
std::string warningOf(std::string_view text) {
  DotenvResult r = parseDotenv(text, "app/.env");
  EXPECT_TRUE(r.entries.empty()) << text;
  EXPECT_EQ(r.warnings.size(), 1u) << text;
  return r.warnings.empty() ? "" : r.warnings[0];
}

TEST(DotenvParse, KeyValue) {
  DotenvEntry e = only("KEY=value");
  EXPECT_EQ(e.name, "KEY");
  EXPECT_EQ(e.value, "value");
}

TEST(DotenvParse, WhitespaceAroundNameEqualsAndValueIsTrimmed) {
  DotenvEntry e = only("  \tKEY \t=  some value \t");
  EXPECT_EQ(e.name, "KEY");
  EXPECT_EQ(e.value, "some value");  // inner blanks kept
}

TEST(DotenvParse, EmptyValueIsEmptyString) {
  EXPECT_EQ(valueOf("EMPTY="), "");
  EXPECT_EQ(valueOf("EMPTY =   "), "");
  EXPECT_EQ(valueOf("EMPTY=''"), "");
  EXPECT_EQ(valueOf("EMPTY=\"\""), "");
}

TEST(DotenvParse, ExportPrefix) {
  DotenvEntry e = only("export PORT=8080");
  EXPECT_EQ(e.name, "PORT");
  EXPECT_EQ(e.value, "8080");
  EXPECT_EQ(only("  export \t PORT = 8080").name, "PORT");
}

TEST(DotenvParse, ExportAsANameOrAPartOfOne) {
  EXPECT_EQ(only("export=1").name, "export");
  EXPECT_EQ(only("export = 1").name, "export");
  EXPECT_EQ(only("exporter=1").name, "exporter");
  EXPECT_EQ(only("EXPORT_DIR=/x").name, "EXPORT_DIR");
}

TEST(DotenvParse, ExportWithoutAssignmentIsMalformed) {
  EXPECT_EQ(warningOf("export PORT"), "app/.env:1: missing '='");
}

TEST(DotenvParse, CommentLinesAndBlankLinesAreSkipped) {
  DotenvResult r = parseDotenv("# a comment\n\n   \t\n  # indented comment\nA=1\n#B=2\n", ".env");
  EXPECT_TRUE(r.warnings.empty());
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].name, "A");
}

TEST(DotenvParse, CommentAfterUnquotedValue) {
  EXPECT_EQ(valueOf("A=b #c"), "b");
  EXPECT_EQ(valueOf("A=b\t# c"), "b");
  EXPECT_EQ(valueOf("A=two words   # c # d"), "two words");
  EXPECT_EQ(valueOf("A= # only a comment"), "");
  EXPECT_EQ(valueOf("A = #c"), "");
}

TEST(DotenvParse, HashNotAfterWhitespaceIsPartOfTheValue) {
  EXPECT_EQ(valueOf("A=b#c"), "b#c");
  EXPECT_EQ(valueOf("A=#c"), "#c");
  EXPECT_EQ(valueOf("COLOR=#ff0000"), "#ff0000");
  EXPECT_EQ(valueOf("URL=http://h/p#frag #comment"), "http://h/p#frag");
}

TEST(DotenvParse, UnquotedValueKeepsQuotesAndBackslashesInside) {
  EXPECT_EQ(valueOf("A=b\"c\""), "b\"c\"");
  EXPECT_EQ(valueOf("A=it's"), "it's");
  EXPECT_EQ(valueOf("A=c:\\dir\\n"), "c:\\dir\\n");
  EXPECT_EQ(valueOf("A=x=y=z"), "x=y=z");  // only the first '=' separates
}

TEST(DotenvParse, SingleQuotesAreVerbatim) {
  EXPECT_EQ(valueOf("A='  spaced  '"), "  spaced  ");
  EXPECT_EQ(valueOf("A='a\\nb \\\" # not a comment'"), "a\\nb \\\" # not a comment");
  EXPECT_EQ(valueOf("A='say \"hi\"'"), "say \"hi\"");
  EXPECT_EQ(valueOf("A='$HOME'"), "$HOME");
}

TEST(DotenvParse, DoubleQuoteEscapes) {
  EXPECT_EQ(valueOf("A=\"line1\\nline2\""), "line1\nline2");
  EXPECT_EQ(valueOf("A=\"say \\\"hi\\\"\""), "say \"hi\"");
  EXPECT_EQ(valueOf("A=\"back\\\\slash\""), "back\\slash");
  EXPECT_EQ(valueOf("A=\"\\\\n\""), "\\n");  // an escaped backslash, then a plain n
  EXPECT_EQ(valueOf("A=\"  # not a comment  \""), "  # not a comment  ");
  EXPECT_EQ(valueOf("A=\"it's\""), "it's");
}

TEST(DotenvParse, OtherBackslashSequencesInDoubleQuotesAreVerbatim) {
  EXPECT_EQ(valueOf("A=\"a\\tb\""), "a\\tb");
  EXPECT_EQ(valueOf("A=\"\\$HOME\""), "\\$HOME");
  EXPECT_EQ(valueOf("A=\"\\r\\'\""), "\\r\\'");
}

TEST(DotenvParse, WhitespaceOrCommentAfterClosingQuote) {
  EXPECT_EQ(valueOf("A='v'   "), "v");
  EXPECT_EQ(valueOf("A=\"v\"\t"), "v");
  EXPECT_EQ(valueOf("A='v' # comment"), "v");
  EXPECT_EQ(valueOf("A=\"v\"\t#comment"), "v");
  EXPECT_EQ(valueOf("A =   'v'"), "v");
}

TEST(DotenvParse, TextAfterClosingQuoteIsMalformed) {
  EXPECT_EQ(warningOf("A='v'x"), "app/.env:1: unexpected text after closing quote");
  EXPECT_EQ(warningOf("A=\"v\" x"), "app/.env:1: unexpected text after closing quote");
  EXPECT_EQ(warningOf("A='v'#c"), "app/.env:1: unexpected text after closing quote");
  EXPECT_EQ(warningOf("A=\"v\"\"w\""), "app/.env:1: unexpected text after closing quote");
}

TEST(DotenvParse, UnterminatedQuotesAreMalformed) {
  EXPECT_EQ(warningOf("A='open"), "app/.env:1: unterminated single-quoted value");
  EXPECT_EQ(warningOf("A=\"open"), "app/.env:1: unterminated double-quoted value");
  EXPECT_EQ(warningOf("A=\"escaped end\\\""), "app/.env:1: unterminated double-quoted value");
  EXPECT_EQ(warningOf("A=\"trailing backslash\\"), "app/.env:1: unterminated double-quoted value");
}

TEST(DotenvParse, MultiLineQuotedValuesAreNotSupported) {
  DotenvResult r = parseDotenv("A=\"first\nsecond\"\nB=ok\n", ".env");
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_EQ(r.warnings[0], ".env:1: unterminated double-quoted value");
  EXPECT_EQ(r.warnings[1], ".env:2: missing '='");
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].name, "B");
}

TEST(DotenvParse, CrlfLineEndings) {
  DotenvResult r = parseDotenv("A=1\r\nB='two'\r\nC=\"3\"\r\n# c\r\n\r\nD=x #c\r\n", ".env");
  EXPECT_TRUE(r.warnings.empty());
  ASSERT_EQ(r.entries.size(), 4u);
  EXPECT_EQ(r.entries[0].value, "1");
  EXPECT_EQ(r.entries[1].value, "two");
  EXPECT_EQ(r.entries[2].value, "3");
  EXPECT_EQ(r.entries[3].value, "x");
}

TEST(DotenvParse, LastLineWithoutNewline) {
  DotenvResult r = parseDotenv("A=1\nB=2", ".env");
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[1].value, "2");
}

TEST(DotenvParse, ByteOrderMarkAtTheStartIsSkipped) {
  EXPECT_EQ(only("\xEF\xBB\xBF"
                 "A=1")
                .name,
            "A");
}

TEST(DotenvParse, LineWithoutEqualsIsMalformed) {
  EXPECT_EQ(warningOf("JUSTANAME"), "app/.env:1: missing '='");
  EXPECT_EQ(warningOf("  some text  "), "app/.env:1: missing '='");
}

TEST(DotenvParse, EmptyNameIsMalformed) {
  EXPECT_EQ(warningOf("=value"), "app/.env:1: empty variable name");
  EXPECT_EQ(warningOf("   = value"), "app/.env:1: empty variable name");
}

TEST(DotenvParse, InvalidNamesAreMalformed) {
  EXPECT_EQ(warningOf("1A=x"), "app/.env:1: invalid variable name");
  EXPECT_EQ(warningOf("A-B=x"), "app/.env:1: invalid variable name");
  EXPECT_EQ(warningOf("MY KEY=x"), "app/.env:1: invalid variable name");
  EXPECT_EQ(warningOf(".A=x"), "app/.env:1: invalid variable name");
  EXPECT_EQ(warningOf("\"A\"=x"), "app/.env:1: invalid variable name");
  EXPECT_EQ(warningOf("export export A=x"), "app/.env:1: invalid variable name");
}

TEST(DotenvParse, ValidNames) {
  EXPECT_EQ(only("_=x").name, "_");
  EXPECT_EQ(only("_private9=x").name, "_private9");
  EXPECT_EQ(only("lower_case=x").name, "lower_case");
  EXPECT_EQ(only("app.db.host=x").name, "app.db.host");
}

TEST(DotenvParse, NulByteIsMalformed) {
  EXPECT_EQ(warningOf(std::string_view("A=b\0c", 5)), "app/.env:1: NUL byte in line");
}

TEST(DotenvParse, MalformedLinesAreSkippedWithTheirLineNumbers) {
  DotenvResult r = parseDotenv("A=1\nbad line\n# c\nB=2\n=x\nC='open\nD=4\n", "/srv/app/.env");
  ASSERT_EQ(r.entries.size(), 3u);
  EXPECT_EQ(r.entries[0].name, "A");
  EXPECT_EQ(r.entries[1].name, "B");
  EXPECT_EQ(r.entries[2].name, "D");
  std::vector<std::string> expected = {"/srv/app/.env:2: missing '='",
                                       "/srv/app/.env:5: empty variable name",
                                       "/srv/app/.env:6: unterminated single-quoted value"};
  EXPECT_EQ(r.warnings, expected);
}

TEST(DotenvParse, WarningsDoNotQuoteTheLine) {
  std::string w = warningOf("SECRET='hunter2");
  EXPECT_EQ(w.find("hunter2"), std::string::npos);
}

TEST(DotenvParse, EntriesInFileOrderWithDuplicatesKept) {
  DotenvResult r = parseDotenv("Z=1\nA=2\nZ=3\n", ".env");
  ASSERT_EQ(r.entries.size(), 3u);
  EXPECT_EQ(r.entries[0].name, "Z");
  EXPECT_EQ(r.entries[1].name, "A");
  EXPECT_EQ(r.entries[2].value, "3");
}

TEST(DotenvParse, EmptyText) {
  DotenvResult r = parseDotenv("", ".env");
  EXPECT_TRUE(r.entries.empty());
  EXPECT_TRUE(r.warnings.empty());
}

// A temporary directory tree, removed (files and directories made through it) at the end.
class TempTree {
 public:
  TempTree() {
    char tmpl[] = "/tmp/rover-dotenv-XXXXXX";
    const char* dir = ::mkdtemp(tmpl);
    EXPECT_NE(dir, nullptr);
    root_ = dir ? dir : "/nonexistent";
  }
  ~TempTree() {
    for (auto it = made_.rbegin(); it != made_.rend(); ++it) std::remove(it->c_str());
    ::rmdir(root_.c_str());
  }
  // `rel` relative to the root; returns the absolute path.
  std::string dir(const std::string& rel) {
    std::string p = root_ + "/" + rel;
    EXPECT_EQ(::mkdir(p.c_str(), 0700), 0) << p;
    made_.push_back(p);
    return p;
  }
  std::string file(const std::string& rel, std::string_view content) {
    std::string p = root_ + "/" + rel;
    FILE* f = std::fopen(p.c_str(), "wb");
    EXPECT_NE(f, nullptr) << p;
    if (f) {
      std::fwrite(content.data(), 1, content.size(), f);
      std::fclose(f);
    }
    made_.push_back(p);
    return p;
  }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
  std::vector<std::string> made_;
};

TEST(FindDotenv, InTheStartDirectory) {
  TempTree t;
  std::string env = t.file(".env", "A=1\n");
  EXPECT_EQ(findDotenv(t.root()), env);
}

TEST(FindDotenv, InAParentFoundFromAChild) {
  TempTree t;
  std::string env = t.file(".env", "A=1\n");
  t.dir("a");
  t.dir("a/b");
  std::string child = t.dir("a/b/c");
  EXPECT_EQ(findDotenv(child), env);
}

TEST(FindDotenv, NearestWins) {
  TempTree t;
  t.file(".env", "A=outer\n");
  t.dir("a");
  std::string inner = t.file("a/.env", "A=inner\n");
  std::string child = t.dir("a/b");
  EXPECT_EQ(findDotenv(child), inner);
}

TEST(FindDotenv, ADirectoryNamedDotenvIsSkipped) {
  TempTree t;
  std::string env = t.file(".env", "A=1\n");
  std::string a = t.dir("a");
  t.dir("a/.env");
  EXPECT_EQ(findDotenv(a), env);
}

TEST(FindDotenv, RelativeAndDottedStartDirectories) {
  TempTree t;
  std::string env = t.file(".env", "A=1\n");
  t.dir("a");
  t.dir("b");
  EXPECT_EQ(findDotenv(t.root() + "/a/../b/"), env);
}

TEST(FindDotenv, MissingStartDirectory) {
  TempTree t;
  t.file(".env", "A=1\n");
  EXPECT_EQ(findDotenv(t.root() + "/does-not-exist"), "");
}

// A variable name no other test (or the environment) uses.
std::string uniqueName(std::string_view tag) {
  std::string name = "ROVER_DOTENV_TEST_";
  name += tag;
  name += '_';
  name += std::to_string(::getpid());
  return name;
}

std::string envOr(const std::string& name, const char* fallback) {
  const char* v = std::getenv(name.c_str());
  return v ? v : fallback;
}

TEST(LoadDotenv, SetsVariablesAndReportsWarnings) {
  TempTree t;
  std::string a = uniqueName("LOAD_A");
  std::string b = uniqueName("LOAD_B");
  std::string env = t.file(".env", a + "=one\nnot a line\nexport " + b + "=\"two\\nlines\"\n");
  std::string child = t.dir("sub");
  std::vector<std::string> warnings = {"earlier"};
  EXPECT_EQ(loadDotenv(child, &warnings), env);
  EXPECT_EQ(envOr(a, "<unset>"), "one");
  EXPECT_EQ(envOr(b, "<unset>"), "two\nlines");
  std::vector<std::string> expected = {"earlier", env + ":2: missing '='"};
  EXPECT_EQ(warnings, expected);
  ::unsetenv(a.c_str());
  ::unsetenv(b.c_str());
}

TEST(LoadDotenv, DoesNotOverrideAVariableAlreadySet) {
  TempTree t;
  std::string kept = uniqueName("KEPT");
  std::string empty = uniqueName("KEPT_EMPTY");
  ::setenv(kept.c_str(), "from-environment", 1);
  ::setenv(empty.c_str(), "", 1);  // set but empty still wins
  t.file(".env", kept + "=from-file\n" + empty + "=from-file\n" + kept + "=again\n");
  EXPECT_NE(loadDotenv(t.root(), nullptr), "");
  EXPECT_EQ(envOr(kept, "<unset>"), "from-environment");
  EXPECT_EQ(envOr(empty, "<unset>"), "");
  ::unsetenv(kept.c_str());
  ::unsetenv(empty.c_str());
}

TEST(LoadDotenv, LastLineOfTheFileWinsForANameItSets) {
  TempTree t;
  std::string name = uniqueName("DUP");
  t.file(".env", name + "=first\n" + name + "=second\n");
  EXPECT_NE(loadDotenv(t.root(), nullptr), "");
  EXPECT_EQ(envOr(name, "<unset>"), "second");
  ::unsetenv(name.c_str());
}

TEST(LoadDotenv, NoFileFound) {
  TempTree t;
  std::vector<std::string> warnings;
  // A child of a fresh directory under /tmp: no .env unless /tmp or / has one.
  std::string child = t.dir("x");
  if (!findDotenv("/tmp").empty()) GTEST_SKIP() << "a .env in /tmp or /";
  EXPECT_EQ(loadDotenv(child, &warnings), "");
  EXPECT_TRUE(warnings.empty());
}

TEST(LoadDotenv, UnreadableFileIsAWarning) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  TempTree t;
  std::string env = t.file(".env", "A=1\n");
  ASSERT_EQ(::chmod(env.c_str(), 0), 0);
  std::vector<std::string> warnings;
  EXPECT_EQ(loadDotenv(t.root(), &warnings), "");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].rfind(env + ": cannot read: ", 0), 0u) << warnings[0];
}

TEST(EnvironmentWithPrefix, ListsTheRestOfTheNameSorted) {
  std::string prefix = uniqueName("PFX");
  std::string db_host = prefix + "_DB__HOST";
  std::string level = prefix + "_LOG_LEVEL";
  std::string bare = prefix + "_";
  std::string no_underscore = prefix + "X";
  std::string lower = uniqueName("pfx") + "_LOG_LEVEL";
  ::setenv(level.c_str(), "info", 1);
  ::setenv(db_host.c_str(), "db1", 1);
  ::setenv(bare.c_str(), "empty rest", 1);
  ::setenv(no_underscore.c_str(), "no", 1);
  ::setenv(lower.c_str(), "other case", 1);

  std::vector<DotenvEntry> got = environmentWithPrefix(prefix);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].name, "DB__HOST");
  EXPECT_EQ(got[0].value, "db1");
  EXPECT_EQ(got[1].name, "LOG_LEVEL");
  EXPECT_EQ(got[1].value, "info");

  for (const std::string& n : {db_host, level, bare, no_underscore, lower}) ::unsetenv(n.c_str());
  EXPECT_TRUE(environmentWithPrefix(prefix).empty());
}

TEST(EnvironmentWithPrefix, ValuesAreCopiedWhole) {
  std::string prefix = uniqueName("VAL");
  std::string name = prefix + "_URL";
  ::setenv(name.c_str(), "a=b=c #d", 1);
  std::vector<DotenvEntry> got = environmentWithPrefix(prefix);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].value, "a=b=c #d");
  ::unsetenv(name.c_str());
}

}  // namespace
}  // namespace rover::core

#include "http/query.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace rover::http {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs pairsOf(std::string_view query) {
  Pairs out;
  forEachQueryPair(query, [&](std::string_view n, std::string_view v) {
    out.emplace_back(std::string(n), std::string(v));
  });
  return out;
}

std::string query(std::string_view raw) {
  std::string out = "garbage";
  decodeQueryComponent(raw, &out);
  return out;
}

TEST(Query, SpecExample) {
  std::string_view q = "q=lua+jit&tag=c%2B%2B&debug&q=openresty";
  EXPECT_EQ(pairsOf(q),
            (Pairs{{"q", "lua jit"}, {"tag", "c++"}, {"debug", ""}, {"q", "openresty"}}));
  std::map<std::string, std::string> last_wins;
  forEachQueryPair(q, [&](std::string_view n, std::string_view v) {
    last_wins[std::string(n)] = std::string(v);
  });
  EXPECT_EQ(last_wins, (std::map<std::string, std::string>{
                           {"q", "openresty"}, {"tag", "c++"}, {"debug", ""}}));
}

TEST(Query, EmptyNamesAndPairsSkipped) {
  EXPECT_TRUE(pairsOf("").empty());
  EXPECT_TRUE(pairsOf("&&&").empty());
  EXPECT_TRUE(pairsOf("=1&=&=x=y").empty());
  EXPECT_EQ(pairsOf("&a=1&&b&"), (Pairs{{"a", "1"}, {"b", ""}}));
}

TEST(Query, FirstEqualsSplits) {
  EXPECT_EQ(pairsOf("a==b=c"), (Pairs{{"a", "=b=c"}}));
  EXPECT_EQ(pairsOf("a="), (Pairs{{"a", ""}}));
  EXPECT_EQ(pairsOf("a%3Db=c"), (Pairs{{"a=b", "c"}}));  // decoded '=' is part of the name
  EXPECT_EQ(pairsOf("a%26b=c%26d"), (Pairs{{"a&b", "c&d"}}));
  EXPECT_EQ(pairsOf("Name=1&name=2"), (Pairs{{"Name", "1"}, {"name", "2"}}));
}

TEST(Query, NameDecodingBeforeEmptyCheck) {
  // "+" decodes to a space: the raw name is not empty, so the pair is kept.
  EXPECT_EQ(pairsOf("+=1"), (Pairs{{" ", "1"}}));
}

TEST(Query, DecodeComponent) {
  EXPECT_EQ(query(""), "");
  EXPECT_EQ(query("plain"), "plain");
  EXPECT_EQ(query("a+b"), "a b");
  EXPECT_EQ(query("%2B"), "+");
  EXPECT_EQ(query("%2b%2F%41%61"), "+/Aa");
  EXPECT_EQ(query("%20+%20"), "   ");
  EXPECT_EQ(query("%E2%82%AC"), "\xE2\x82\xAC");
  EXPECT_EQ(query("%00"), std::string(1, '\0'));
  EXPECT_EQ(query("%FF"), "\xFF");
}

TEST(Query, MalformedPercentKeptLiterally) {
  EXPECT_EQ(query("%"), "%");
  EXPECT_EQ(query("%4"), "%4");
  EXPECT_EQ(query("%zz"), "%zz");
  EXPECT_EQ(query("a%"), "a%");
  EXPECT_EQ(query("%%41"), "%A");
  EXPECT_EQ(query("%+1"), "% 1");
  EXPECT_EQ(query("%4g%41"), "%4gA");
}

TEST(PathParam, DecodesOnceAndKeepsPlus) {
  std::string out = "garbage";
  EXPECT_TRUE(decodePathParam("a%2Fb", &out));
  EXPECT_EQ(out, "a/b");
  EXPECT_TRUE(decodePathParam("c+d", &out));
  EXPECT_EQ(out, "c+d");
  EXPECT_TRUE(decodePathParam("%252F", &out));
  EXPECT_EQ(out, "%2F");
  EXPECT_TRUE(decodePathParam("%aF%Af", &out));
  EXPECT_EQ(out, "\xAF\xAF");
  EXPECT_TRUE(decodePathParam("", &out));
  EXPECT_EQ(out, "");
}

TEST(PathParam, MalformedPercentFails) {
  std::string out;
  EXPECT_FALSE(decodePathParam("%", &out));
  EXPECT_FALSE(decodePathParam("a%4", &out));
  EXPECT_FALSE(decodePathParam("%zz", &out));
  EXPECT_FALSE(decodePathParam("%g0", &out));
  EXPECT_FALSE(decodePathParam("ok%2", &out));
}

TEST(PercentEncoding, Validity) {
  EXPECT_TRUE(isValidPercentEncoding(""));
  EXPECT_TRUE(isValidPercentEncoding("abc+"));
  EXPECT_TRUE(isValidPercentEncoding("%00%ff%FF"));
  EXPECT_TRUE(isValidPercentEncoding("%25"));
  EXPECT_FALSE(isValidPercentEncoding("%"));
  EXPECT_FALSE(isValidPercentEncoding("%2"));
  EXPECT_FALSE(isValidPercentEncoding("x%2"));
  EXPECT_FALSE(isValidPercentEncoding("%%25"));
  EXPECT_FALSE(isValidPercentEncoding("%2x"));
}

}  // namespace
}  // namespace rover::http

#include "client/response_headers.h"

#include <gtest/gtest.h>

namespace rover::client {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

TEST(ResponseHeaders, NamesLowerCasedValuesTrimmed) {
  ResponseHeaders h;
  h.addLine("HTTP/1.1 200 OK\r\n");
  h.addLine("Content-Type:  application/json \t\r\n");
  h.addLine("X-Request-ID: abc\r\n");
  h.addLine("\r\n");
  EXPECT_EQ(h.fields(), (Fields{{"content-type", "application/json"}, {"x-request-id", "abc"}}));
}

TEST(ResponseHeaders, RepeatedNamesJoined) {
  ResponseHeaders h;
  h.addLine("Vary: Accept\r\n");
  h.addLine("vary: Origin\r\n");
  h.addLine("VARY:\r\n");
  EXPECT_EQ(h.fields(), (Fields{{"vary", "Accept, Origin, "}}));
}

TEST(ResponseHeaders, StatusLineStartsOver) {
  ResponseHeaders h;
  h.addLine("HTTP/1.1 302 Found\r\n");
  h.addLine("Location: /next\r\n");
  h.addLine("\r\n");
  h.addLine("HTTP/2 200\r\n");
  h.addLine("X-Final: 1\r\n");
  EXPECT_EQ(h.fields(), (Fields{{"x-final", "1"}}));
}

TEST(ResponseHeaders, JunkLinesIgnored) {
  ResponseHeaders h;
  h.addLine(": no name\r\n");
  h.addLine("no colon\r\n");
  h.addLine("Bad Name: x\r\n");
  h.addLine(" folded: continuation\r\n");
  h.addLine("Bare: a\rb\r\n");
  h.addLine("Ok: yes\n");
  EXPECT_EQ(h.fields(), (Fields{{"ok", "yes"}}));
}

TEST(ResponseHeaders, DistinctNamesBounded) {
  ResponseHeaders h;
  for (size_t i = 0; i < ResponseHeaders::kMaxFields + 10; ++i)
    h.addLine("X-" + std::to_string(i) + ": v\r\n");
  EXPECT_EQ(h.fields().size(), ResponseHeaders::kMaxFields);
  h.addLine("X-0: again\r\n");  // an existing name still joins
  EXPECT_EQ(h.fields()[0].second, "v, again");
}

}  // namespace
}  // namespace rover::client

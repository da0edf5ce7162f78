// libFuzzer target: db::toDollarPlaceholders and db::countPlaceholders. Input: the SQL text.
// Invariants: no crash; countPlaceholders agrees with the reported count; the output is the
// input with `count` of its '?' replaced by "$1".."$count" (so it keeps every other byte:
// its length grows by the digits written, and it has exactly `count` fewer '?'); text
// without '?' comes back unchanged.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "db/placeholders.h"

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_placeholders: invariant broken: %s\n", what);
  std::abort();
}

std::size_t countChar(std::string_view s, char c) {
  std::size_t n = 0;
  for (char x : s) n += x == c;
  return n;
}

// Bytes added by writing "$1".."$count" in place of `count` single '?' characters.
std::size_t addedBytes(std::size_t count) {
  std::size_t added = 0;
  for (std::size_t k = 1; k <= count; ++k) added += std::to_string(k).size();
  return added;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view sql(reinterpret_cast<const char*>(data), size);
  std::size_t count = 0;
  std::string out = rover::db::toDollarPlaceholders(sql, &count);
  std::size_t marks = countChar(sql, '?');
  check(rover::db::countPlaceholders(sql) == count, "countPlaceholders differs");
  check(count <= marks, "more placeholders than '?'");
  check(countChar(out, '?') == marks - count, "a '?' was lost or added");
  check(out.size() == size + addedBytes(count), "output length");
  check(countChar(out, '$') == countChar(sql, '$') + count, "a '$' was lost or added");
  if (marks == 0) check(out == sql, "text without '?' changed");
  return 0;
}

#include "db/placeholders.h"

namespace rover::db {
namespace {

bool isIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool isIdentChar(char c) { return isIdentStart(c) || (c >= '0' && c <= '9') || c == '$'; }

// Each skip* function is called at the opening of its construct and returns the index just
// past its end (or sql.size() when it is not closed).

size_t skipQuoted(std::string_view sql, size_t i, char quote, bool backslashEscapes) {
  for (++i; i < sql.size(); ++i) {
    if (backslashEscapes && sql[i] == '\\') {
      ++i;  // the escaped character, whatever it is
    } else if (sql[i] == quote) {
      if (i + 1 < sql.size() && sql[i + 1] == quote) {
        ++i;  // doubled quote: one quote character inside the literal
      } else {
        return i + 1;
      }
    }
  }
  return sql.size();
}

size_t skipLineComment(std::string_view sql, size_t i) {
  size_t end = sql.find('\n', i);
  return end == std::string_view::npos ? sql.size() : end + 1;
}

size_t skipBlockComment(std::string_view sql, size_t i) {
  int depth = 0;
  while (i < sql.size()) {
    if (sql.compare(i, 2, "/*") == 0) {
      ++depth;
      i += 2;
    } else if (sql.compare(i, 2, "*/") == 0) {
      i += 2;
      if (--depth == 0) return i;
    } else {
      ++i;
    }
  }
  return sql.size();
}

// The length of the dollar-quote tag ("$", identifier characters without '$', "$") at i,
// or 0 when the '$' at i does not open a dollar-quoted string ($1 is a parameter).
size_t dollarTagLength(std::string_view sql, size_t i) {
  size_t j = i + 1;
  if (j < sql.size() && sql[j] != '$') {
    if (!isIdentStart(sql[j])) return 0;
    while (j < sql.size() && isIdentChar(sql[j]) && sql[j] != '$') ++j;
  }
  if (j >= sql.size() || sql[j] != '$') return 0;
  return j + 1 - i;
}

size_t skipDollarQuoted(std::string_view sql, size_t i, size_t tagLength) {
  std::string_view tag = sql.substr(i, tagLength);
  size_t end = sql.find(tag, i + tagLength);
  return end == std::string_view::npos ? sql.size() : end + tagLength;
}

// E'...' (or e'...'): the E must start a token, not end an identifier such as `type'`.
bool isEscapeStringStart(std::string_view sql, size_t i) {
  return i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') && (i < 2 || !isIdentChar(sql[i - 2]));
}

// Where the construct starting at i ends, or i itself when sql[i] starts none.
size_t skipNonCode(std::string_view sql, size_t i) {
  char c = sql[i];
  if (c == '\'') return skipQuoted(sql, i, '\'', isEscapeStringStart(sql, i));
  if (c == '"') return skipQuoted(sql, i, '"', false);
  if (c == '-' && sql.compare(i, 2, "--") == 0) return skipLineComment(sql, i);
  if (c == '/' && sql.compare(i, 2, "/*") == 0) return skipBlockComment(sql, i);
  if (c == '$' && (i == 0 || !isIdentChar(sql[i - 1]))) {
    size_t tag = dollarTagLength(sql, i);
    if (tag > 0) return skipDollarQuoted(sql, i, tag);
  }
  return i;
}

// Calls onPlaceholder(index) for each placeholder and onText(begin, end) for the text between.
template <typename OnText, typename OnPlaceholder>
void scan(std::string_view sql, OnText onText, OnPlaceholder onPlaceholder) {
  size_t textStart = 0;
  size_t i = 0;
  while (i < sql.size()) {
    size_t next = skipNonCode(sql, i);
    if (next != i) {
      i = next;
    } else if (sql[i] == '?') {
      onText(textStart, i);
      onPlaceholder();
      textStart = ++i;
    } else {
      ++i;
    }
  }
  onText(textStart, sql.size());
}

}  // namespace

std::string toDollarPlaceholders(std::string_view sql, std::size_t* count) {
  std::string out;
  out.reserve(sql.size() + 8);
  std::size_t n = 0;
  scan(
      sql, [&](size_t begin, size_t end) { out.append(sql.substr(begin, end - begin)); },
      [&] {
        out.push_back('$');
        out.append(std::to_string(++n));
      });
  if (count != nullptr) *count = n;
  return out;
}

std::size_t countPlaceholders(std::string_view sql) {
  std::size_t n = 0;
  scan(
      sql, [](size_t, size_t) {}, [&] { ++n; });
  return n;
}

}  // namespace rover::db

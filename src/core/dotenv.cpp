#include "core/dotenv.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <unordered_set>

extern char** environ;

namespace rover::core {
namespace {

enum class LineKind { kSkip, kEntry, kMalformed };

struct LineResult {
  LineKind kind = LineKind::kSkip;
  DotenvEntry entry;
  const char* reason = nullptr;  // when kMalformed
};

bool isBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view trimLeft(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && isBlank(s[i])) ++i;
  return s.substr(i);
}

std::string_view trimRight(std::string_view s) {
  size_t n = s.size();
  while (n > 0 && isBlank(s[n - 1])) --n;
  return s.substr(0, n);
}

bool isNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }

bool isNameChar(char c) { return isNameStart(c) || (c >= '0' && c <= '9') || c == '.'; }

bool validName(std::string_view name) {
  if (name.empty() || !isNameStart(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(), isNameChar);
}

// "export" followed by blanks; `export=1`, `export = 1` and `exporter=1` set
// variables named export and exporter.
std::string_view stripExport(std::string_view line) {
  constexpr std::string_view kExport = "export";
  if (line.size() > kExport.size() && line.substr(0, kExport.size()) == kExport &&
      isBlank(line[kExport.size()])) {
    std::string_view rest = trimLeft(line.substr(kExport.size()));
    if (!rest.empty() && rest[0] != '=') return rest;
  }
  return line;
}

// What follows a closing quote: nothing, blanks, or blanks then a comment.
bool validAfterQuote(std::string_view rest) {
  std::string_view after = trimLeft(rest);
  return after.empty() || (after[0] == '#' && after.size() < rest.size());
}

// Unquoted value: up to a `#` preceded by a blank, then trimmed. `raw` is the
// text right after the `=`, untrimmed, so `A= #c` is empty and `A=#c` is "#c".
std::string unquotedValue(std::string_view raw) {
  for (size_t i = 1; i < raw.size(); ++i) {
    if (raw[i] == '#' && isBlank(raw[i - 1])) {
      raw = raw.substr(0, i);
      break;
    }
  }
  return std::string(trimRight(trimLeft(raw)));
}

// `quoted` starts at the opening `'`. Returns the reason on error.
const char* singleQuotedValue(std::string_view quoted, std::string* out) {
  size_t close = quoted.find('\'', 1);
  if (close == std::string_view::npos) return "unterminated single-quoted value";
  if (!validAfterQuote(quoted.substr(close + 1))) return "unexpected text after closing quote";
  out->assign(quoted.substr(1, close - 1));
  return nullptr;
}

// `quoted` starts at the opening `"`. Returns the reason on error.
const char* doubleQuotedValue(std::string_view quoted, std::string* out) {
  out->clear();
  for (size_t i = 1; i < quoted.size(); ++i) {
    char c = quoted[i];
    if (c == '"') {
      if (!validAfterQuote(quoted.substr(i + 1))) return "unexpected text after closing quote";
      return nullptr;
    }
    if (c == '\\' && i + 1 < quoted.size()) {
      char next = quoted[++i];
      if (next == 'n') {
        out->push_back('\n');
      } else if (next == '"' || next == '\\') {
        out->push_back(next);
      } else {
        out->push_back('\\');
        out->push_back(next);
      }
      continue;
    }
    out->push_back(c);
  }
  return "unterminated double-quoted value";
}

LineResult malformed(const char* reason) {
  LineResult r;
  r.kind = LineKind::kMalformed;
  r.reason = reason;
  return r;
}

// One line without its line ending.
LineResult parseLine(std::string_view line) {
  line = trimLeft(line);
  if (line.empty() || line[0] == '#') return {};
  if (line.find('\0') != std::string_view::npos) return malformed("NUL byte in line");
  line = stripExport(line);
  size_t eq = line.find('=');
  if (eq == std::string_view::npos) return malformed("missing '='");
  std::string_view name = trimRight(line.substr(0, eq));
  if (name.empty()) return malformed("empty variable name");
  if (!validName(name)) return malformed("invalid variable name");

  LineResult r;
  r.kind = LineKind::kEntry;
  r.entry.name.assign(name);
  std::string_view raw = line.substr(eq + 1);
  std::string_view value = trimLeft(raw);
  const char* reason = nullptr;
  if (!value.empty() && value[0] == '\'') {
    reason = singleQuotedValue(value, &r.entry.value);
  } else if (!value.empty() && value[0] == '"') {
    reason = doubleQuotedValue(value, &r.entry.value);
  } else {
    r.entry.value = unquotedValue(raw);
  }
  return reason ? malformed(reason) : r;
}

std::string warning(std::string_view file_name, size_t line_no, std::string_view reason) {
  std::string w(file_name);
  w += ':';
  w += std::to_string(line_no);
  w += ": ";
  w += reason;
  return w;
}

// Reads the whole file; on failure returns false with errno set.
bool readFile(const std::string& path, std::string* out) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out->append(buf, n);
  bool ok = !std::ferror(f);
  int saved = errno;
  std::fclose(f);
  errno = saved;
  return ok;
}

bool isRegularFile(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec);  // follows symlinks
}

}  // namespace

DotenvResult parseDotenv(std::string_view text, std::string_view file_name) {
  DotenvResult result;
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    LineResult r = parseLine(line);
    if (r.kind == LineKind::kEntry) {
      result.entries.push_back(std::move(r.entry));
    } else if (r.kind == LineKind::kMalformed) {
      result.warnings.push_back(warning(file_name, line_no, r.reason));
    }
  }
  return result;
}

std::string findDotenv(const std::string& start_dir) {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::canonical(start_dir, ec);
  if (ec) return "";
  while (true) {
    std::filesystem::path candidate = dir / ".env";
    if (isRegularFile(candidate)) return candidate.string();
    std::filesystem::path parent = dir.parent_path();
    if (parent.empty() || parent == dir) return "";
    dir = std::move(parent);
  }
}

std::string loadDotenv(const std::string& start_dir, std::vector<std::string>* warnings) {
  std::string path = findDotenv(start_dir);
  if (path.empty()) return "";
  std::string text;
  if (!readFile(path, &text)) {
    if (warnings) warnings->push_back(path + ": cannot read: " + std::strerror(errno));
    return "";
  }
  DotenvResult parsed = parseDotenv(text, path);
  // Names this call set: a later line for one of them replaces the earlier
  // value; a name set before the call is never touched.
  std::unordered_set<std::string> set_here;
  for (const DotenvEntry& e : parsed.entries) {
    if (set_here.count(e.name) || std::getenv(e.name.c_str()) == nullptr) {
      ::setenv(e.name.c_str(), e.value.c_str(), 1);
      set_here.insert(e.name);
    }
  }
  if (warnings) {
    warnings->insert(warnings->end(), std::make_move_iterator(parsed.warnings.begin()),
                     std::make_move_iterator(parsed.warnings.end()));
  }
  return path;
}

std::vector<DotenvEntry> environmentWithPrefix(std::string_view prefix) {
  std::string head(prefix);
  head += '_';
  std::vector<DotenvEntry> out;
  for (char** env = environ; env && *env; ++env) {
    std::string_view var(*env);
    size_t eq = var.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = var.substr(0, eq);
    if (name.size() <= head.size() || name.substr(0, head.size()) != head) continue;
    out.push_back({std::string(name.substr(head.size())), std::string(var.substr(eq + 1))});
  }
  std::sort(out.begin(), out.end(),
            [](const DotenvEntry& a, const DotenvEntry& b) { return a.name < b.name; });
  return out;
}

}  // namespace rover::core

#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <ctime>
#include <string>

#include "core/clock.h"

namespace rover::core {
namespace {
std::atomic<LogLevel> g_level{LogLevel::kDebug};
constexpr std::string_view kNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};
}  // namespace

void setLogLevel(LogLevel level) { g_level.store(level, std::memory_order_relaxed); }
LogLevel logLevel() { return g_level.load(std::memory_order_relaxed); }

void logLine(LogLevel level, std::string_view message) {
  if (!logEnabled(level) || level == LogLevel::kNope) return;
  std::string line;
  line.reserve(message.size() + 40);
  char ts[32];
  line.append(ts, formatIsoTime(ts));
  line.push_back(' ');
  line.append(kNames[static_cast<int>(level)]);
  line.push_back(' ');
  line.append(message);
  line.push_back('\n');
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDOUT_FILENO, p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

bool parseLogLevel(std::string_view text, LogLevel* out) {
  std::string lower;
  for (char c : text)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "debug")
    *out = LogLevel::kDebug;
  else if (lower == "info")
    *out = LogLevel::kInfo;
  else if (lower == "warn")
    *out = LogLevel::kWarn;
  else if (lower == "error")
    *out = LogLevel::kError;
  else if (lower == "nope")
    *out = LogLevel::kNope;
  else
    return false;
  return true;
}

}  // namespace rover::core

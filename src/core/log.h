// Logging to stdout (lua-api.md §12): `<UTC time> <LEVEL> <message>`, one
// line per write(2) so lines of different workers never interleave.
#pragma once
#include <string_view>

namespace rover::core {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kNope = 4 };

// Set once at startup before workers start; read without locks afterwards.
void setLogLevel(LogLevel level);
LogLevel logLevel();
inline bool logEnabled(LogLevel level) { return level >= logLevel(); }
void logLine(LogLevel level, std::string_view message);
// Parses "debug", "info", ... case-insensitively.
bool parseLogLevel(std::string_view text, LogLevel* out);

}  // namespace rover::core

// Command line (lua-api.md §1.1): rover [run] <app.lua> [options] [-- args...]
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rover::app {

struct CliOptions {
  std::string app_path;
  std::vector<std::string> extra_args;
  std::optional<std::string> host;
  std::optional<int64_t> port;
  std::optional<int64_t> workers;
  bool watch = false;  // --watch: reload when a .lua file of the app's directory changes
  bool help = false;
  bool version = false;
};

// Returns false with *error set on a usage error (exit 2).
bool parseCli(int argc, char** argv, CliOptions* out, std::string* error);
const char* usageText();

}  // namespace rover::app

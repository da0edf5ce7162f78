// `.env` loading and environment listing (runtime-modules.md §1): at startup,
// before the app is loaded, the nearest `.env` fills in variables the
// environment does not already have; rover.config.from_env(prefix) lists the
// variables named <PREFIX>_... . Everything returned is an owned copy.
//
// Format, one KEY=VALUE per line (LF or CRLF; a UTF-8 BOM at the start is skipped):
// * blank lines and lines whose first non-blank character is `#` are ignored;
// * an optional `export` followed by spaces or tabs before the name (`export=1`
//   and `export = 1` set a variable named export);
// * names are [A-Za-z_][A-Za-z0-9_.]*; spaces and tabs around the name, the `=`
//   and an unquoted value are trimmed; an empty value is the empty string;
// * unquoted: a `#` preceded by a space or tab starts a comment, any other `#`
//   is part of the value (`A=b#c` is "b#c"); quotes inside it are literal;
// * 'single-quoted': verbatim up to the next `'`;
// * "double-quoted": `\n` is a newline, `\"` a quote, `\\` a backslash; any other
//   backslash sequence (`\t`, `\$`, ...) is kept verbatim, both characters;
// * after a closing quote only blanks, or blanks then a `#` comment, may follow.
// Malformed lines are skipped with a warning "<file>:<line>: <reason>": no `=`,
// an empty or invalid name, an unterminated quote, text after a closing quote,
// a NUL byte. Multi-line quoted values are not supported: a quote not closed on
// its own line is unterminated. Warnings never quote the line (it may hold a secret).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace rover::core {

struct DotenvEntry {
  std::string name;
  std::string value;
};

struct DotenvResult {
  std::vector<DotenvEntry> entries;   // in file order, duplicates kept
  std::vector<std::string> warnings;  // one per malformed line; the caller logs them at WARN
};

// Parses .env text. Pure: no file or environment access.
DotenvResult parseDotenv(std::string_view text, std::string_view file_name);

// The path of the first `.env` that is a regular file (or a symlink to one) in
// `start_dir` or one of its parents, or "" if none or `start_dir` does not
// exist. The directories are walked from the canonical path of `start_dir`
// (symlinks resolved, as getcwd() reports the working directory).
std::string findDotenv(const std::string& start_dir);

// Finds, parses and applies the `.env` for `start_dir`. A variable already in
// the environment before the call is never overridden; within the file the
// last line for a name wins. Returns the path loaded ("" if none, or if it
// could not be read: that adds a warning) and appends the warnings to
// `*warnings` (when not null). Called once at startup, single-threaded.
std::string loadDotenv(const std::string& start_dir, std::vector<std::string>* warnings);

// Every environment variable whose name starts with "<prefix>_" (compared
// exactly, case-sensitive) as (rest of the name, value), sorted by name; a
// variable named exactly "<prefix>_" (empty rest) is left out. Reads `environ`:
// call it where nothing calls setenv concurrently (startup, app loading).
std::vector<DotenvEntry> environmentWithPrefix(std::string_view prefix);

}  // namespace rover::core

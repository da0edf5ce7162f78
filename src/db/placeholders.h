// Placeholder translation for PostgreSQL: rover.db takes `?` placeholders on both engines
// (runtime-modules.md §9, "Direct SQL"); libpq wants `$1, $2, ...`. The scanner follows
// PostgreSQL's lexer closely enough to leave every `?` that is not a placeholder alone:
// inside '...' strings ('' escapes; E'...' strings also take backslash escapes), "..."
// identifiers ("" escapes), -- line comments, /* */ block comments (nested, as PostgreSQL
// nests them) and dollar-quoted strings ($$...$$, $tag$...$tag$). An unterminated string or
// comment runs to the end of the text (the server reports the syntax error). Every other `?`
// is a placeholder, so PostgreSQL's jsonb operators `?`, `?|`, `?&` cannot be written in
// builder SQL (use the jsonb_exists* functions instead).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rover::db {

// `sql` with the n-th placeholder `?` replaced by `$n`. When `count` is given it receives the
// number of placeholders. The returned string owns its text; `sql` is only read during the call.
std::string toDollarPlaceholders(std::string_view sql, std::size_t* count = nullptr);

// The number of placeholders in `sql` (the `count` toDollarPlaceholders would report).
std::size_t countPlaceholders(std::string_view sql);

}  // namespace rover::db

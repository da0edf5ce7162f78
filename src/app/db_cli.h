// `rover db migrate | rollback [--steps N] | status | reset --force`
// [--url URL | --path FILE] (runtime-modules.md §9): the migration files
// db/migrations/*.lua under the working directory, applied in name order
// through rover.db's runner, on the main thread with blocking connections
// (no worker, no loop). Prints one line per step; exit 0, 1 on a failure,
// 2 on a usage error.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace rover::app {

// db/migrations/*.lua under the working directory, in name order, as
// (file name, absolute path); also what `rover check` reports on.
std::vector<std::pair<std::string, std::string>> migrationFiles();

// argv[0] is "rover", argv[1] "db".
int runDbCommand(int argc, char** argv);

}  // namespace rover::app

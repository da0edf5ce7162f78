// `rover db migrate | rollback [--steps N] | status | reset --force`
// [--url URL | --path FILE] (runtime-modules.md §9): the migration files
// db/migrations/*.lua under the working directory, applied in name order
// through rover.db's runner, on the main thread with blocking connections
// (no worker, no loop). Prints one line per step; exit 0, 1 on a failure,
// 2 on a usage error.
#pragma once

namespace rover::app {

// argv[0] is "rover", argv[1] "db".
int runDbCommand(int argc, char** argv);

}  // namespace rover::app

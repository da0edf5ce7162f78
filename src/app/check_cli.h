// `rover check <app.lua> [--port N] [--host H] [--workers N] [-- args...]`
// (lua-api.md §1.1): loads and validates the app as startup does
// (app/startup.h: config, strict mode, pipeline, host, route tree, static
// mounts, docs) plus its pending migrations, without binding a socket, and
// prints the route table on stdout. Exit 0 when the app would start, 1 with
// startup's message on stderr otherwise, 2 on a usage error.
#pragma once

namespace rover::app {

// argv[0] is "rover", argv[1] "check".
int runCheckCommand(int argc, char** argv);

}  // namespace rover::app

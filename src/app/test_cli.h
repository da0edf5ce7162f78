// `rover test [paths...] [--filter S] [--log-level L]` (issue #14, README
// "Testing an app"): runs *_test.lua files (default: the working
// directory's tests/, recursively; a directory argument likewise; a file
// argument as it is). Each file runs in its own plain Lua state (LuaJIT's
// standard libraries and the globals t, describe, it: app/test_runner.lua),
// so a test file never shares globals with the app it tests, and the test
// drives the app's Vm and loop from outside (a request is a plain C call
// that returns once the app's loop has finished it) instead of being one of
// the coroutines of the state it waits on. Strings cross between the two
// states only as bytes (request and response).
//
// t.app("app.lua") (the path relative to the working directory, as for
// `rover app.lua`) loads the app as startup does (app/startup.h: config,
// strict mode, pipeline, routes, static mounts, docs; on_start and on_ready
// run) into its own Vm and event loop, worker 1 of 1. A request of its client
// is bytes written into a socketless Connection that the app's real
// Processor handles (parser, pipeline stages, router, middleware, handler,
// response filters, serializer); while its handler waits (rover.delay,
// rover.http, rover.db on PostgreSQL) the app's loop runs here (timers,
// outbound sockets, inbox) as a worker's would, until the response is
// complete. The response bytes are then parsed back (Content-Length or
// chunked framing).
//
// Output: one line per test, "✓ describe › it" or "✗ describe › it: message",
// then "N passed, M failed". Exit 0 when all passed, 1 when any failed or none
// ran, 2 on a usage error.
#pragma once

namespace rover::app {

// argv[0] is "rover", argv[1] "test".
int runTestCommand(int argc, char** argv);

}  // namespace rover::app

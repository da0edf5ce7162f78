// Startup's validation of an app (lua-api.md §1.3), one sequence shared by
// `rover <app.lua>` and `rover check <app.lua>`: .env, worker 1's VM loads the
// app, then its config (with the CLI overrides), strict mode, the pipeline,
// the host, the route tree, the static mounts and the docs are checked in
// that order. Each failure is the message startup prints on stderr.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "app/cli.h"
#include "app/pipeline.h"
#include "lua/vm.h"
#include "net/address.h"
#include "router/router.h"

namespace rover::app {

// What the checks produced; the pipeline is shared by every worker.
struct StartupApp {
  lua::ServerConfig cfg;
  std::unique_ptr<Pipeline> pipeline;
  net::Address addr;
};

// Workers when neither config nor CLI say: the CPUs this process may run on.
int cpusAvailable();

// runtime-modules.md §1: the working directory's .env fills in what the
// environment lacks; its warnings are logged whatever log_level says.
void loadDotenvOfCwd();

// The CLI's --host/--port/--workers as config overrides (views into `cli`).
lua::ConfigOverrides overridesOf(const CliOptions& cli);

// Loads the app into `vm` (worker 1) and checks what needs no router: config,
// strict mode, the pipeline and the host. kFailed: *error is the message.
lua::LoadResult loadApp(lua::Vm& vm, const lua::AppArgs& args, const lua::ConfigOverrides& ov,
                        StartupApp* out, std::string* error);

// Walks vm's route tree into `router`, opens the static mounts and builds the
// docs, both handed to app->pipeline; WebSocket endpoints go into ws_router.
// false: *error is the message.
bool buildApp(lua::Vm& vm, router::Router& router, StartupApp* app,
              std::vector<lua::RouteInfo>* routes, std::string* error,
              router::Router* ws_router);

}  // namespace rover::app

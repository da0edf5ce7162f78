#!/usr/bin/env bash
# Installs dependencies, builds, and serves an app (default examples/hello.lua
# on port 4242). Extra arguments go to rover: scripts/serve.sh app.lua --port 8080
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
[ $# -eq 0 ] && set -- examples/hello.lua
exec ./build/rover "$@"

#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: unit tests (ctest) and
# the integration suite against the real binary over real sockets.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
echo "== unit tests"
ctest --test-dir build --output-on-failure -j2
echo "== integration tests"
ROVER_BIN="$PWD/build/rover" python3 tests/integration/run.py

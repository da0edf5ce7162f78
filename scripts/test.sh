#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: unit tests (ctest), the
# integration suite against the real binary over real sockets, the same two
# under ASan+UBSan, and each libFuzzer target for FUZZ_SECONDS (default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
echo "== unit tests"
ctest --test-dir build --output-on-failure -j2
echo "== integration tests"
ROVER_BIN="$PWD/build/rover" python3 tests/integration/run.py
echo "== sanitizers (ASan+UBSan): unit and integration tests"
bash scripts/sanitize.sh
echo "== fuzzing"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-30}"

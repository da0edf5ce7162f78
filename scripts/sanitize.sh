#!/usr/bin/env bash
# Builds Rover with ASan+UBSan (-DROVER_SANITIZE=ON) into build-asan/ and runs
# the unit tests and the integration suite under it. Any sanitizer report
# fails the run: the processes halt on the first error, and every report is
# also written to build-asan/sanitizer-logs/, which must stay empty (servers
# the integration suite stops with SIGTERM report leaks there).
#
# Built with clang: GCC 12's UBSan ignores log_path, so a report of a server
# the suite runs would only reach its captured stderr.
#
#   bash scripts/sanitize.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh clang  # clang 14, libFuzzer and sanitizer runtimes (libclang-rt-14-dev)

BUILD=build-asan
LOGS="$PWD/$BUILD/sanitizer-logs"

cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DROVER_SANITIZE=ON -DROVER_BUILD_TESTS=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)"

rm -rf "$LOGS"
mkdir -p "$LOGS"
# LuaJIT works under ASan as is: Debian's libluajit2 is a GC64 build (no need
# for low 32-bit addresses) and allocates with its own mmap-based allocator,
# which LeakSanitizer does not track. No leak suppressions are needed.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$LOGS/report"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$LOGS/report"

status=0
echo "== unit tests (ASan+UBSan)"
ctest --test-dir "$BUILD" --output-on-failure -j2 || status=1
echo "== integration tests (ASan+UBSan)"
ROVER_BIN="$PWD/$BUILD/rover" python3 tests/integration/run.py || status=1

if compgen -G "$LOGS/*" >/dev/null; then
  echo "== sanitizer reports"
  for f in "$LOGS"/*; do
    echo "--- $f"
    cat "$f"
  done
  status=1
fi
[ $status -eq 0 ] && echo "sanitize: no sanitizer reports, all tests passed"
exit $status

#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang + ASan + UBSan) into
# build-fuzz/ and runs each for SECONDS (default 30) on a scratch copy of its
# seed corpus, so CI never writes into the repository. Exits non-zero when a
# target crashes, leaks, times out or breaks an invariant; the reproducer is
# left in build-fuzz/artifacts/<target>/.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]    # targets: fuzz_http fuzz_chunked fuzz_json fuzz_router fuzz_multipart fuzz_response_headers fuzz_placeholders fuzz_base64url fuzz_ws
#
# To replay one input: build-fuzz/fuzz/<target> FILE (ROVER_FUZZ_PRINT=1 shows
# fuzz_http's responses).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-30}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(fuzz_http fuzz_chunked fuzz_json fuzz_router fuzz_multipart fuzz_response_headers fuzz_placeholders fuzz_base64url fuzz_ws)

bash scripts/deps.sh clang  # clang 14, libFuzzer and sanitizer runtimes (libclang-rt-14-dev)

BUILD=build-fuzz
cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DROVER_BUILD_FUZZ=ON -DROVER_SANITIZE=ON -DROVER_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)" --target "${TARGETS[@]}"

export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
status=0
for t in "${TARGETS[@]}"; do
  work="$BUILD/run/$t"
  rm -rf "$work" "$BUILD/artifacts/$t"
  mkdir -p "$work" "$BUILD/artifacts/$t"
  cp tests/fuzz/corpus/"$t"/* "$work"/
  echo "== $t (${SECONDS_EACH}s)"
  if ! "$BUILD/fuzz/$t" "$work" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
      -dict="tests/fuzz/$t.dict" -artifact_prefix="$BUILD/artifacts/$t/" \
      -print_final_stats=1 >"$BUILD/$t.log" 2>&1; then
    tail -n 60 "$BUILD/$t.log"
    echo "!! $t failed; reproducer: $(ls "$BUILD/artifacts/$t"/* 2>/dev/null | head -n 1)"
    status=1
  else
    grep -E "DONE" "$BUILD/$t.log" || true
  fi
done
exit $status

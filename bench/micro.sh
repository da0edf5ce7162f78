#!/usr/bin/env bash
# Builds the micro-benchmarks (bench/micro/, Google Benchmark) in their own
# Release build dir, build-bench/ (-DROVER_BUILD_BENCH=ON, unit tests off), and
# runs them pinned to CPU 1 when the machine has 2+ CPUs, except the
# BM_Workers* ones (1 and 2 threads, each with its own app: they need both
# CPUs), which run after, unpinned. Results are printed and also written as
# JSON to bench/results/micro_<date>_<time>.json (and micro_workers_... for
# the unpinned run).
#
#   bash bench/micro.sh                                   # everything
#   bash bench/micro.sh --benchmark_filter=FullRequest    # a subset (regex)
#   bash bench/micro.sh --quick                           # short runs (0.05 s each)
# Other arguments go to the benchmark binary (--benchmark_repetitions=5 ...).
# Needs libbenchmark-dev (scripts/deps.sh installs it).
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
args=()
filter=
for a in "$@"; do
  case $a in
    --quick) args+=(--benchmark_min_time=0.05) ;;
    --benchmark_filter=*) filter=${a#*=}; args+=("$a") ;;
    *) args+=("$a") ;;
  esac
done
if ! dpkg-query -W -f='${Status}' libbenchmark-dev 2>/dev/null | grep -q 'install ok installed'; then
  echo "installing libbenchmark-dev" >&2
  timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q libbenchmark-dev >/dev/null
fi
timeout 600 cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release -DROVER_BUILD_BENCH=ON \
  -DROVER_BUILD_TESTS=OFF >/dev/null
timeout 1800 cmake --build "$ROOT/build-bench" -j"$(nproc 2>/dev/null || echo 2)" --target rover_micro
mkdir -p "$BENCH/results"
stamp=$(date +%F_%H%M%S)
bin=$ROOT/build-bench/bench/rover_micro
pin=()
(( $(nproc) >= 2 )) && command -v taskset >/dev/null && pin=(taskset -c 1)
if [[ -z $filter || $filter != *Workers* ]]; then
  out="$BENCH/results/micro_$stamp.json"
  timeout 1800 "${pin[@]}" "$bin" --benchmark_out="$out" --benchmark_out_format=json \
    --benchmark_filter=-Workers "${args[@]}"
  echo "JSON: $out" >&2
fi
if [[ -z $filter || $filter == *Workers* ]]; then
  out="$BENCH/results/micro_workers_$stamp.json"
  timeout 1800 "$bin" --benchmark_out="$out" --benchmark_out_format=json --benchmark_filter=Workers "${args[@]}"
  echo "JSON: $out" >&2
fi

#!/usr/bin/env bash
# The six TechEmpower Framework Benchmarks tests in one command (issue 13):
# Rover (PostgreSQL and SQLite) next to Node.js (http + npm pg) and nginx +
# its Lua module, same run. See bench/README.md, "TechEmpower tests".
#
#   bash bench/tfb.sh            # full suite: pinned + unpinned, 3 reps (~40 min on 2 CPUs)
#   bash bench/tfb.sh --quick    # 1 rep of 2 s, pinned, c64 / plaintext c256, levels 20 (~2 min)
#
# Options of this script: --no-install (no apt, no npm), --no-build (use
# build/rover as it is); the rest go to bench/tfb.py (`--help`: --reps,
# --duration, --modes, --tests, --servers, --conns, --levels, --rover, --out,
# --verify-only ...).
# Steps: 1. scripts/deps.sh (build dependencies, postgresql, nodejs + npm) if
# any is missing; 2. bench/run.sh --prepare-only (nginx, wrk, nginx's Lua
# module extracted into bench/.deps, Rover Release build, the floor);
# 3. npm ci in bench/node (the `pg` package); 4. bench/tfb.py: a private
# PostgreSQL cluster (temporary directory, Unix socket, synchronous_commit=off)
# and a SQLite file with World (10,000 rows) and Fortune, every server
# verified, then measured; output in bench/results/tfb_<date>_<time>/.
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

install=1 build=1 args=()
for a in "$@"; do
  case $a in
    --no-install) install=0 ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,21p' "$0"; echo; exec python3 "$BENCH/tfb.py" --help ;;
    *) args+=("$a") ;;
  esac
done

prep=()
if ((install)); then
  log "scripts/deps.sh (build dependencies, postgresql, node)"
  timeout 1800 bash "$ROOT/scripts/deps.sh" >/dev/null
else
  prep+=(--no-install)
fi
rover_given=0
for a in "${args[@]}"; do [[ $a == --rover || $a == --rover=* ]] && rover_given=1; done
((build && !rover_given)) || prep+=(--no-build)
bash "$BENCH/run.sh" --prepare-only "${prep[@]}"
if ((install)) && [[ ! -d $BENCH/node/node_modules/pg ]]; then
  log "npm ci in bench/node"
  (cd "$BENCH/node" && timeout 600 npm ci --no-audit --no-fund >/dev/null)
fi
[[ -d $BENCH/node/node_modules/pg ]] || { log "ERROR: bench/node/node_modules missing (run without --no-install)"; exit 1; }
for c in wrk taskset node psql; do command -v "$c" >/dev/null || { log "ERROR: $c missing"; exit 1; }; done
exec python3 "$BENCH/tfb.py" "${args[@]}"

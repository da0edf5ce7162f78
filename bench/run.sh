#!/usr/bin/env bash
# Rover's load benchmark in one command (issue #4): Rover vs nginx + its Lua
# module vs the floor (bench/limit/limit.c), measured with wrk. See
# bench/README.md for what is measured and how to read the table.
#
#   bash bench/run.sh            # full suite (~45 min on 2 CPUs)
#   bash bench/run.sh --quick    # 1 rep, 3 s runs, pinned, c100, get_echo + get_echo_p16 (< 2 min)
#
# Options of this script (the rest go to bench/harness.py; `--help` lists them):
#   --no-install   do not apt-get install / apt-get download anything
#   --no-build     use the existing build/rover (or --rover PATH) as it is
#   --prepare-only steps 1-3 only (packages, Rover, floor, loadgen), then exit (bench/tfb.sh)
# Steps: 1. Debian packages (nginx, lua-cjson, wrk, curl, procps, util-linux,
# python3); nginx's Lua module is NOT installed but `apt-get download`ed and
# extracted into bench/.deps/root (git-ignored): on Debian 12 it needs
# OpenResty's libluajit2-5.1-2, which conflicts with the LuaJIT Rover builds
# against when installed the ordinary way. 2. Rover, Release (scripts/build.sh).
# 3. The floor, bench/.deps/bin/limit-server. 4. bench/harness.py: starts the
# servers on 127.0.0.1:19100-19199, checks every answer, measures, writes
# bench/results/<date>_<time>/.
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
DEPS=$BENCH/.deps
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

install=1 build=1 prepare_only=0 args=()
for a in "$@"; do
  case $a in
    --no-install) install=0 ;;
    --no-build) build=0 ;;
    --prepare-only) prepare_only=1 ;;
    -h|--help) sed -n '2,20p' "$0"; echo; exec python3 "$BENCH/harness.py" --help ;;
    *) args+=("$a") ;;
  esac
done

# ---------------------------------------------------------------- 1. packages
if ((install)); then
  need=()
  for p in nginx lua-cjson wrk curl procps util-linux python3 gcc; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
  done
  if ((${#need[@]})); then
    log "installing: ${need[*]}"
    # keep the nginx package from starting a system nginx on port 80
    made_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1
    fi
    rc=0
    { timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q \
        --no-install-recommends "${need[@]}" >/dev/null; } || rc=$?
    ((made_policy)) && rm -f /usr/sbin/policy-rc.d
    ((rc == 0)) || die "apt-get install failed"
  fi
  # nginx's Lua module, extracted privately (see the header)
  LUA_DEBS="libnginx-mod-http-lua libnginx-mod-http-ndk libluajit2-5.1-2 lua-resty-core lua-resty-lrucache"
  if [[ ! -f $DEPS/root/usr/lib/nginx/modules/ngx_http_lua_module.so || ! -f $DEPS/root/usr/share/lua/5.1/resty/core.lua ]]; then
    log "extracting $LUA_DEBS into $DEPS/root (apt-get download, no install)"
    dl=$(mktemp -d /tmp/rover-bench-debs.XXXXXX)
    if ! (cd "$dl" && timeout 300 apt-get download $LUA_DEBS >/dev/null 2>&1); then
      timeout 300 apt-get update -qq || true
      (cd "$dl" && timeout 300 apt-get download $LUA_DEBS >/dev/null) || { rm -rf "$dl"; die "apt-get download failed"; }
    fi
    mkdir -p "$DEPS/root"
    for d in "$dl"/*.deb; do dpkg-deb -x "$d" "$DEPS/root"; done
    ls "$dl" >"$DEPS/root/PACKAGES"
    rm -rf "$dl"
  fi
fi
for c in nginx wrk taskset python3 cc; do command -v "$c" >/dev/null || die "$c missing (run without --no-install)"; done
[[ -f $DEPS/root/usr/lib/nginx/modules/ngx_http_lua_module.so ]] || die "nginx Lua module missing in $DEPS/root (run without --no-install)"
chmod -R a+rX "$DEPS"   # nginx's workers run as nobody and read the module's Lua files

# ---------------------------------------------------------------- 2. Rover
rover_given=0
for a in "${args[@]}"; do [[ $a == --rover || $a == --rover=* ]] && rover_given=1; done
if ((build && !rover_given)); then
  log "building Rover (Release): scripts/build.sh"
  timeout 1800 bash "$ROOT/scripts/build.sh" >/dev/null || die "Rover build failed (run: bash scripts/build.sh)"
fi
((rover_given)) || [[ -x $ROOT/build/rover ]] || die "build/rover missing (run without --no-build)"

# ---------------------------------------------------------------- 3. the floor
mkdir -p "$DEPS/bin"
if [[ ! -x $DEPS/bin/limit-server || $BENCH/limit/limit.c -nt $DEPS/bin/limit-server ]]; then
  log "building the floor: bench/limit/limit.c"
  cc -O2 -o "$DEPS/bin/limit-server" "$BENCH/limit/limit.c" || die "building bench/limit/limit.c failed"
fi
if [[ ! -x $DEPS/bin/loadgen || $BENCH/loadgen/loadgen.c -nt $DEPS/bin/loadgen ]]; then
  log "building the lean load generator: bench/loadgen/loadgen.c"
  cc -O2 -o "$DEPS/bin/loadgen" "$BENCH/loadgen/loadgen.c" || die "building bench/loadgen/loadgen.c failed"
fi

((prepare_only)) && exit 0

# ---------------------------------------------------------------- 4. measure
exec python3 "$BENCH/harness.py" "${args[@]}"

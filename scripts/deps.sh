#!/usr/bin/env bash
# Installs Rover's build and test dependencies from Debian 12 (as root, or via sudo).
#   bash scripts/deps.sh          # build, unit and integration tests
#   bash scripts/deps.sh clang    # also clang 14 for the sanitizer and fuzz builds
set -euo pipefail
PACKAGES=(
  build-essential cmake pkg-config
  libluajit2-5.1-dev   # OpenResty's LuaJIT, the one nginx's Lua module uses
  libsimdjson-dev libfmt-dev
  zlib1g-dev libbrotli-dev   # response compression (server-features.md §9)
  libssl-dev                 # libcrypto: SHA-256 of idempotency fingerprints (§12)
  libcurl4-openssl-dev       # rover.http (runtime-modules.md §5): libcurl's multi interface
  libsqlite3-dev             # rover.db's embedded engine (runtime-modules.md §9)
  libpq-dev                  # rover.db on PostgreSQL (§9)
  postgresql                 # tests and bench/db.py start private clusters (initdb, pg_ctl)
  luarocks                   # test_lua_modules.py builds a rock into an app's lua_modules/
  libgtest-dev libbenchmark-dev
  python3 curl
  python3-prometheus-client  # test_metrics.py parses /metrics with the Prometheus project's parser
)
if [ "${1:-}" = clang ]; then PACKAGES+=(clang libclang-rt-14-dev llvm); fi
# node + npm run the OpenAPI validator of tests/integration/test_openapi.py
# (tests/tools, npm ci); a node installed some other way (e.g. NodeSource) is used as is.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then PACKAGES+=(nodejs npm); fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# The postgresql package would create and start a system cluster: the tests
# start private ones, so no main cluster is made and no service is started
# while packages install (policy-rc.d refuses every start).
if [[ " ${missing[*]} " == *" postgresql "* ]]; then
  $SUDO mkdir -p /etc/postgresql-common
  grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf ||
    echo 'create_main_cluster = false' | $SUDO tee -a /etc/postgresql-common/createcluster.conf >/dev/null
fi
policy_added=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  policy_added=1
fi
status=0
$SUDO apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold \
  "${missing[@]}" || status=$?
[ -n "$policy_added" ] && $SUDO rm -f /usr/sbin/policy-rc.d
exit $status

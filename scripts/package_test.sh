#!/usr/bin/env bash
# Checks the Debian package on a fresh Debian 12 root: builds it
# (scripts/package.sh), debootstraps a minimal bookworm into ROOT (default: a
# new directory under /tmp; needs root and a reachable Debian mirror), then
# inside it: dpkg -i, apt-get -f install (the Depends), rover --version,
# rover check and rover serving examples/hello.lua, answered over loopback.
#   sudo bash scripts/package_test.sh [ROOT]
set -euo pipefail
cd "$(dirname "$0")/.."
MIRROR=${MIRROR:-http://deb.debian.org/debian}
bash scripts/package.sh >/dev/null
deb=$(ls build/rover*_amd64.deb)
ROOT=${1:-$(mktemp -d /tmp/rover-deb12.XXXXXX)}
if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
fi
[ -x "$ROOT/bin/sh" ] || debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >/dev/null
cp "$deb" examples/hello.lua "$ROOT/tmp/"
mount -t proc proc "$ROOT/proc"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  umount "$ROOT/proc"
}
trap cleanup EXIT
in_root() { chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive "$@"; }
in_root dpkg -i "/tmp/$(basename "$deb")" >/dev/null 2>&1 || true  # Depends missing: unconfigured
in_root apt-get update -qq
in_root apt-get -f install -y -qq --no-install-recommends >/dev/null
in_root dpkg-query -W -f='${Package} ${Version} ${Status}\n' "$(dpkg-deb -f "$deb" Package)"
in_root rover --version
in_root sh -c 'cd /tmp && rover check hello.lua'
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
chroot "$ROOT" sh -c "cd /tmp && exec rover hello.lua --port $port --host 127.0.0.1" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/hello/debian" && break; sleep 0.1; done
echo
curl -fs "http://127.0.0.1:$port/hello/debian" | grep -q "Hello, debian!"
echo "package_test: $(basename "$deb") installs and serves on Debian 12 ($ROOT)"

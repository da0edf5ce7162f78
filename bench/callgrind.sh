#!/usr/bin/env bash
# Instructions per request, repeatable (callgrind counts instructions, not time):
#   bash bench/callgrind.sh [BINARY] [APP] [N] [PATH]
# Runs BINARY (default build/rover) on APP (default bench/app/echo.lua) with one
# worker under callgrind twice, with 0 and with N (default 5000) sequential
# keep-alive GETs of PATH (default /echo, 3 request headers), and prints
# (total(N) - total(0)) / N. Runs of the same binary agree within ~30.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/rover}; APP=${2:-bench/app/echo.lua}; N=${3:-5000}; P=${4:-/echo}
command -v valgrind >/dev/null || { echo "valgrind missing (apt-get install valgrind)"; exit 1; }
total() {
  local n=$1 port=$((19190 + RANDOM % 9)) out
  out=$(mktemp /tmp/rover-cg.XXXXXX)
  valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" "$APP" --port "$port" --workers 1 \
    >/dev/null 2>&1 &
  local vp=$!
  python3 - "$port" "$n" "$P" <<'PY'
import socket, sys, time
port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for _ in range(400):
    try:
        s = socket.create_connection(("127.0.0.1", port)); break
    except OSError:
        time.sleep(0.05)
req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n".encode()
for _ in range(n):
    s.sendall(req); buf = b""
    while True:
        buf += s.recv(65536)
        head, sep, body = buf.partition(b"\r\n\r\n")
        if sep and len(body) >= int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0]):
            break
PY
  kill -INT "$vp"; wait "$vp" 2>/dev/null || true
  callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
  rm -f "$out"
}
a=$(total 0); z=$(total "$N")
echo "$(( (z - a) / N )) instructions/request ($BIN, $APP, GET $P, $N requests)"

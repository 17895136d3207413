#!/usr/bin/env bash
# Memory and restart figures for 1M keys x 256-byte values on one node (release build):
# RSS after loading (5, 30 and 60 s after, the last settled), RSS after a `kill -9` restart, and the time from the restart
# to the first successful read of the last key written.
#
#   benches/memory-1m.sh [extra serve flags...]
#
# Loads with 1000 `POST /api/v1/batch` requests of 1000 sets each from 4 threads.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
(cd "$root" && [ -n "${DCACHE_BIN:-}" ] || cargo build --release -q)
bin=${DCACHE_BIN:-$root/target/release/dcache}
work=$(mktemp -d); port=${PORT:-27011}; pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
start() {
  "$bin" serve --data-dir "$work/data" --listen-client-urls "http://127.0.0.1:$port" \
    --listen-peer-urls "http://127.0.0.1:$((port + 1))" --listen-resp-urls "" --log-level warn "$@" >>"$work/log" 2>&1 &
  pid=$!
}
rss() { awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$pid/status"; }
start "$@"
for _ in $(seq 300); do curl -sf "localhost:$port/health" >/dev/null && break; sleep 0.1; done
python3 - "$port" <<'PY'
import json, sys, threading, http.client
port = int(sys.argv[1]); value = "v" * 256; failed = []
def load(t):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for b in range(t, 1000, 4):
        ops = [{"op": "set", "key": "key/%07d" % (b * 1000 + i), "value": value} for i in range(1000)]
        c.request("POST", "/api/v1/batch", body=json.dumps({"ops": ops}))
        r = c.getresponse(); body = r.read()
        if r.status != 200: failed.append(body[:200]); return
threads = [threading.Thread(target=load, args=(t,)) for t in range(4)]
[t.start() for t in threads]; [t.join() for t in threads]
if failed: sys.exit(f"load failed: {failed[0]}")
PY
# A snapshot may still be being written, and idle threads hand freed pages back to the OS
# about once a second each: the figure at 60 s is the settled RSS.
sleep 5; at5=$(rss); sleep 25; at30=$(rss); sleep 30
echo "after loading 1M keys: RSS $(rss) settled at 60 s ($at5 at 5 s, $at30 at 30 s; peak $(awk '/VmHWM/ {printf "%.0f MB", $2 / 1024}' "/proc/$pid/status"))"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
t0=$(date +%s%N); start "$@"
until curl -sf "localhost:$port/api/v1/get/key/0999999" >/dev/null; do sleep 0.02; done
t1=$(date +%s%N)
echo "kill -9 and restart: first read after $(( (t1 - t0) / 1000000 )) ms"
sleep 2
echo "after the restart: RSS $(rss)"

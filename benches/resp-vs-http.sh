#!/usr/bin/env bash
# The same 3-node release cluster through its two front ends, rounds interleaved:
# redis-benchmark over RESP (without and with -P 16 pipelining) and `dcache bench` over HTTP,
# against the leader, 64 clients, 256-byte values. Prints one line per run; take medians.
#
#   benches/resp-vs-http.sh [ROUNDS]          (default 3; needs redis-tools)
#
# Env: DCACHE_BIN (default target/release/dcache, built if missing).
set -euo pipefail
rounds=${1:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${DCACHE_BIN:-$root/target/release/dcache}
[ -x "$bin" ] || (cd "$root" && cargo build --release -q)
command -v redis-benchmark >/dev/null || { echo "needs redis-benchmark (apt-get install redis-tools)" >&2; exit 1; }

work=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
. "$root/benches/cluster.sh"
start_cluster "$bin" "$work" 29100
port=${leader##*:}; rport=${port%1}3
# The cluster version must reach 3 before pipelines are batched.
for _ in $(seq 50); do
  [ "$(curl -s "$leader/api/v1/cluster/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["cluster_format"])')" = 3 ] && break
  sleep 0.2
done
value=$(head -c 256 /dev/zero | tr '\0' x)
rb() { redis-benchmark -p "$rport" -c 64 -d 256 -r 10000 -q "$@" 2>/dev/null | tr '\r' '\n' | grep -v 'rps=' | grep . | tail -1; }
hb() { "$bin" --server "$leader" bench --clients 64 --value-size 256 --key-space 10000 "$@" 2>/dev/null | grep -E 'throughput|latency' | tr '\n' ' '; echo; }
rb -t set -n 20000 >/dev/null # warm-up
for r in $(seq "$rounds"); do
  echo "round $r"
  echo "  resp set, 64 conns:            $(rb -t set -n 50000)"
  echo "  http set, 64 conns:            $(hb --workload set --requests 50000)"
  echo "  resp set, 64 conns, -P 16:     $(rb -t set -n 400000 -P 16)"
  echo "  resp get (linearizable):       $(rb -t get -n 100000)"
  echo "  http get (linearizable):       $(hb --workload get --requests 100000)"
done
echo "value: ${#value} bytes; leader $leader, RESP port $rport"

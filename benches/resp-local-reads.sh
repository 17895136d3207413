#!/usr/bin/env bash
# Local reads over RESP against a Redis server's GETs, with the same load generator and client
# settings (benches/resp_load.rs: one multiplexed `redis` crate connection per client, one
# request in flight each, 256-byte values, 10k keys), rounds interleaved, medians printed.
#
#   benches/resp-local-reads.sh ROUNDS [SECONDS]
#
# Each round runs, one after the other on the same machine:
#   redis      GETs to a one-node Redis 7 (unreplicated, no persistence)
#   local      GETs on READONLY connections spread over the three members of a release cluster
#   lin        linearizable GETs to the leader of that cluster
# and prints ops/s, p50 and p99. Issue 19's target: local >= 0.8x redis.
#
# Env: DCACHE_BIN (default target/release/dcache, built if missing), CLIENTS (64).
set -euo pipefail
rounds=${1:?usage: $0 ROUNDS [SECONDS]}; secs=${2:-10}; clients=${CLIENTS:-64}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${DCACHE_BIN:-$root/target/release/dcache}
[ -x "$bin" ] || (cd "$root" && cargo build --release -q)
load=$(cd "$root" && cargo bench --bench resp_load --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1)
[ -x "$load" ] || { echo "could not build benches/resp_load.rs" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server is needed (apt-get install redis-server)" >&2; exit 1; }

work=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
redis-server --port 29098 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
. "$root/benches/cluster.sh"
start_cluster "$bin" "$work" 29000
lport=$(( ${leader##*:} + 2 ))
members=redis://127.0.0.1:29013,redis://127.0.0.1:29023,redis://127.0.0.1:29033

echo "# $(date -u '+%F %T UTC'), $(nproc) cores, $clients clients, ${secs}s per run, $rounds rounds; $("$bin" --version)"
for r in $(seq "$rounds"); do
  for kind in redis local lin; do
    case $kind in
      redis) args=(--endpoints redis://127.0.0.1:29098) ;;
      local) args=(--endpoints "$members" --readonly) ;;
      lin) args=(--endpoints "redis://127.0.0.1:$lport") ;;
    esac
    out=$("$load" "${args[@]}" --clients "$clients" --duration "$secs" --workload get --json)
    echo "round $r $kind $out"
    echo "$kind $out" >>"$work/results"
  done
done
python3 - "$work/results" <<'EOF'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    kind, js = line.split(" ", 1)
    runs.setdefault(kind, []).append(json.loads(js))
med = {k: statistics.median(r["ops_per_sec"] for r in v) for k, v in runs.items()}
print(f"{'':8} {'median ops/s':>13} {'p50 ms':>8} {'p99 ms':>8} {'client us/op':>13}  rounds")
for k, v in runs.items():
    p50 = statistics.median(r["p50_ms"] for r in v)
    p99 = statistics.median(r["p99_ms"] for r in v)
    cpu = statistics.median(r["client_cpu_us_per_op"] for r in v)
    print(f"{k:8} {med[k]:13,.0f} {p50:8.3f} {p99:8.3f} {cpu:13.1f}  " + " / ".join(f"{r['ops_per_sec']:,.0f}" for r in v))
print(f"local / redis = {med['local'] / med['redis']:.2f}x (target >= 0.8x); lin / redis = {med['lin'] / med['redis']:.2f}x")
EOF

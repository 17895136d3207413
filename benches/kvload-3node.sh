#!/usr/bin/env bash
# dcache alone (no etcd): a 3-node release cluster on loopback driven by kvload, for
# before/after measurements of one change. Prints ops/s, p50/p99, the CPU the three nodes
# used during each run and the bytes they wrote to disk (per write and node for write runs).
#
#   benches/kvload-3node.sh SECONDS RUN...
#     RUN: put64 put1 putall lin64 lease64 loc64 put4k put64k (HTTP)
#          rput64 rput1 rput64m rputall rlin64 rlinl rput64k (RESP)
#
# put4k, put64k, rput64k: 16 clients writing 4 KiB or 64 KiB values to the leader (the
# large-value rows of compare-etcd.sh).
# putall: 64 clients writing through all three nodes (followers forward to the leader).
# rput64: 64 clients over 64 RESP connections to the leader (one request in flight each, like
# redis-benchmark without -P); rput64m: the same clients multiplexed over 4 connections (the
# redis crate pipelines them, so writes reach the node as pipelines); rputall: 64 clients
# over 64 connections spread over all three nodes; rlin64: linearizable GETs over RESP spread
# over the three nodes, rlinl: the same GETs all to the leader. lin64, lease64 and loc64 are
# HTTP reads spread over the three nodes at each consistency.
#
# Env: DCACHE_BIN (default target/release/dcache, built if missing), KVLOAD_DIR.
# Alternate two builds (DCACHE_BIN=...) a few times: this VM varies by 20% run to run.
set -euo pipefail
dur=${1:?usage: $0 SECONDS RUN...}; shift
root=$(cd "$(dirname "$0")/.." && pwd)
kvload_dir=${KVLOAD_DIR:-$root/../shared/tools/kvload}
bin=${DCACHE_BIN:-$root/target/release/dcache}
[ -x "$bin" ] || (cd "$root" && cargo build --release -q)
(cd "$kvload_dir" && cargo build --release -q)
kvload=$kvload_dir/target/release/kvload

work=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
. "$root/benches/cluster.sh"
start_cluster "$bin" "$work" 29000
all=http://127.0.0.1:29011,http://127.0.0.1:29021,http://127.0.0.1:29031
rleader=redis://127.0.0.1:${leader##*:}; rleader=${rleader%1}3
rall=redis://127.0.0.1:29013,redis://127.0.0.1:29023,redis://127.0.0.1:29033
"$kvload" --backend http-json --endpoints "$leader" --workload put --clients 32 --duration 2 >/dev/null 2>&1 # warm-up
for run in "$@"; do
  backend=http-json; vsize=256
  case $run in
    put64) args=(--endpoints "$leader" --workload put --clients 64) ;;
    put1) args=(--endpoints "$leader" --workload put --clients 1) ;;
    putall) args=(--endpoints "$all" --workload put --clients 64) ;;
    lin64) args=(--endpoints "$all" --workload get --clients 64 --get-url '{endpoint}/api/v1/get/{key}?consistency=linearizable') ;;
    lease64) args=(--endpoints "$all" --workload get --clients 64 --get-url '{endpoint}/api/v1/get/{key}?consistency=lease') ;;
    loc64) args=(--endpoints "$all" --workload get --clients 64 --get-url '{endpoint}/api/v1/get/{key}?consistency=local') ;;
    rput64) backend=redis; args=(--endpoints "$rleader" --workload put --clients 64 --conns 64) ;;
    rput1) backend=redis; args=(--endpoints "$rleader" --workload put --clients 1 --conns 1) ;;
    rput64m) backend=redis; args=(--endpoints "$rleader" --workload put --clients 64 --conns 4) ;;
    rputall) backend=redis; args=(--endpoints "$rall" --workload put --clients 64 --conns 64) ;;
    rlin64) backend=redis; args=(--endpoints "$rall" --workload get --clients 64 --conns 64) ;;
    rlinl) backend=redis; args=(--endpoints "$rleader" --workload get --clients 64 --conns 64) ;;
    put4k) vsize=4096; args=(--endpoints "$leader" --workload put --clients 16) ;;
    put64k) vsize=65536; args=(--endpoints "$leader" --workload put --clients 16) ;;
    rput64k) backend=redis; vsize=65536; args=(--endpoints "$rleader" --workload put --clients 16 --conns 16) ;;
    *) echo "unknown run $run" >&2; exit 2 ;;
  esac
  before=$(cpu_ms); wbefore=$(written)
  "$kvload" --backend "$backend" --duration "$dur" --value-size "$vsize" --key-space 10000 --json "${args[@]}" 2>"$work/kvload.err" | tail -1 >"$work/kvload.json"
  python3 -c "import json,sys; r=json.load(open('$work/kvload.json')); print('$run: %.0f ops/s, p50 %.2f ms, p99 %.2f ms, errors %s' % (r['ops_per_sec'], r['latency_us']['p50']/1000, r['latency_us']['p99']/1000, r.get('errors')), end='')"
  cpu=$(( $(cpu_ms) - before )); wrote=$(( $(written) - wbefore ))
  # Disk bytes per write and per value byte (per node: a third of the three nodes' bytes).
  python3 -c "import json; r=json.load(open('$work/kvload.json')); ops=r.get('ops', r['ops_per_sec']*$dur); w=$wrote/3
print(', 3 nodes used $cpu ms CPU, wrote %.0f MB' % ($wrote/1e6), end='')
print(', %.0f B per write per node (%.1fx the value)' % (w/ops, w/ops/$vsize) if '$run'.startswith(('put','rput')) and ops else '')"
  [ -s "$work/kvload.err" ] && sed -n 1,2p "$work/kvload.err" >&2; : >"$work/kvload.err"
done

#!/usr/bin/env bash
# One write run against a fresh 3-node release cluster, with CPU, blob files, data-dir size
# and RSS per node:  benches/put-3node.sh BIN SIZE SECONDS [redis|http]
# (CLIENTS, default 16; PERF=1 records the leader with perf into ./perf.data, PERF=follower a follower)
set -u
bin=$1; size=$2; secs=$3; backend=${4:-redis}
source "$(dirname "$0")/cluster.sh"
dir=$(mktemp -d /tmp/p64.XXXX); pids=()
base=$((10000 + RANDOM % 20000))
start_cluster "$bin" "$dir" "$base" || { kill ${pids[@]}; exit 1; }
trap 'kill ${pids[@]} 2>/dev/null; wait; rm -rf $dir' EXIT
for _ in $(seq 100); do curl -sf "$leader/api/v1/cluster/status" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; sys.exit(d["cluster_format"] != d["format"])' && break; sleep 0.1; done
lport=${leader##*:}; rport=$((lport + 2))
cpu() { for p in "${pids[@]}"; do awk '{print $14+$15}' /proc/$p/stat; done | paste -sd' '; }
c0=$(cpu)
if [ -n "${PERF:-}" ]; then li=$(( (lport - base) / 10 - 1 )); [ "$PERF" = follower ] && li=$(( (li + 1) % 3 )); lp=${pids[$li]}; perf record -F 199 --call-graph dwarf,32768 -p $lp -o perf.data -- sleep $((secs - 2)) >/dev/null 2>&1 & fi
if [ "$backend" = redis ]; then ep=redis://127.0.0.1:$rport; else ep=$leader; fi
"$(dirname "$0")/../../shared/tools/kvload/target/release/kvload" --key-space 10000 --json --backend $([ "$backend" = redis ] && echo redis || echo http-json) --endpoints "$ep" --workload put --clients ${CLIENTS:-16} --value-size "$size" --duration "$secs" 2>/dev/null | tail -1 | python3 -c 'import json,sys; d=json.load(sys.stdin); l=d["latency_us"]; print("ops/s %.0f p50 %.2f ms p99 %.2f ms max %.0f ms errors %s (%s) kvload cpu %s%%" % (d["ops_per_sec"], l["p50"]/1000, l["p99"]/1000, l["max"]/1000, d["errors"], d["first_error"], d["kvload_cpu_pct"]))'
c1=$(cpu)
echo "cpu ticks start: $c0 end: $c1"
for i in 1 2 3; do echo "n$i: $(ls $dir/n$i/raft.sled/blobs 2>/dev/null | wc -l) blobs, $(du -sm $dir/n$i | cut -f1) MB dir, rss $(awk '/VmRSS/{print $2/1024 " MB"}' /proc/${pids[i-1]}/status)"; done
grep -ih "snapshot" $dir/n*.log | head -5
echo "max rss MB: $(for p in "${pids[@]}"; do awk '/VmHWM/{print int($2/1024)}' /proc/$p/status; done | paste -sd' ')"

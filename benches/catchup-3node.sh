#!/usr/bin/env bash
# A follower catching up on large values: a fresh 3-node release cluster, one follower
# stopped, MB megabytes of 64 KiB values written through the leader (16 clients), the
# follower restarted. Prints how long it took to apply everything the leader had, the peak
# RSS of the follower and the leader, and how many appends timed out and were sent again.
#
#   benches/catchup-3node.sh BIN MB
set -u
bin=$1; mb=$2
root=$(cd "$(dirname "$0")/.." && pwd)
kv=${KVLOAD_DIR:-$root/../shared/tools/kvload}/target/release/kvload
source "$root/benches/cluster.sh"
dir=$(mktemp -d /tmp/catchup.XXXX); pids=(); base=$((10000 + RANDOM % 20000))
start_cluster "$bin" "$dir" "$base" || exit 1
trap 'kill ${pids[@]} 2>/dev/null; wait; rm -rf $dir' EXIT
lport=${leader##*:}; li=$(( (lport - base) / 10 - 1 )); fi=$(( (li + 1) % 3 )); fn=$((fi + 1))
kill "${pids[$fi]}"; wait "${pids[$fi]}" 2>/dev/null
"$kv" --backend redis --endpoints "redis://127.0.0.1:$((lport + 2))" --workload put --clients 16 \
  --value-size 65536 --ops $((mb * 16)) >/dev/null 2>&1
status() { curl -s "$1/api/v1/cluster/status" | python3 -c "import json,sys; print(json.load(sys.stdin)['data']['$2'])" 2>/dev/null; }
last=$(status "$leader" last_log_index)
cluster="n1=http://127.0.0.1:$((base + 12)),n2=http://127.0.0.1:$((base + 22)),n3=http://127.0.0.1:$((base + 32))"
t0=$(date +%s.%N)
"$bin" serve --name "n$fn" --data-dir "$dir/n$fn" \
  --listen-client-urls "http://127.0.0.1:$((base + 10 * fn + 1))" \
  --listen-peer-urls "http://127.0.0.1:$((base + 10 * fn + 2))" \
  --listen-resp-urls "redis://127.0.0.1:$((base + 10 * fn + 3))" \
  --initial-cluster "$cluster" --log-level warn >>"$dir/n$fn.log" 2>&1 &
pids[fi]=$!
done=""
for _ in $(seq 600); do
  a=$(status "http://127.0.0.1:$((base + 10 * fn + 1))" applied)
  if [ -n "$a" ] && [ "$a" -ge "$last" ]; then done=$(echo "$(date +%s.%N) - $t0" | bc); break; fi
  sleep 0.2
done
hwm() { awk '/VmHWM/{print int($2/1024)}' "/proc/$1/status"; }
echo "caught up to index $last in ${done:-(not within 120 s)} s; peak RSS MB: follower $(hwm "${pids[$fi]}") leader $(hwm "${pids[$li]}"); appends timed out: $(cat "$dir"/n*.log | grep 'did not answer' | grep -c 'openraft::replication:')"

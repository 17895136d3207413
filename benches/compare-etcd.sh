#!/usr/bin/env bash
# Side-by-side throughput of a 3-member etcd and a 3-node dcache on loopback, driven by the
# same closed-loop load generator (kvload, built from ../shared/tools/kvload) at the same
# concurrency and value size. Prints one table with dcache/etcd ratios.
#
#   benches/compare-etcd.sh [SECONDS_PER_RUN]        (default 10)
#
# Env: ROUNDS=N repeats the eight runs N times, interleaved (etcd, dcache, etcd, ...), and
# reports each workload's median ratio with the lowest and highest: on a noisy VM one round
# can be 20% off. KVLOAD_DIR (default ../shared/tools/kvload), KEEP=1 keeps the temp dir.
# Installs etcd-server, etcd-client and protobuf-compiler with apt-get when missing.
set -euo pipefail
DUR=${1:-10}
ROUNDS=${ROUNDS:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
kvload_dir=${KVLOAD_DIR:-$root/../shared/tools/kvload}

need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v protoc >/dev/null || need+=(protobuf-compiler)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi

echo "building dcache and kvload (release)..." >&2
(cd "$root" && cargo build --release -q)
(cd "$kvload_dir" && cargo build --release -q)
dcache=$root/target/release/dcache
kvload=$kvload_dir/target/release/kvload

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ "${KEEP:-0}" = 1 ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

# Ports: etcd clients 23791-3, peers 23801-3; dcache clients 28081/3/5, peers 28082/4/6.
ecluster="e1=http://127.0.0.1:23801,e2=http://127.0.0.1:23802,e3=http://127.0.0.1:23803"
for i in 1 2 3; do
  etcd --name e$i --data-dir "$work/etcd$i" \
    --listen-client-urls http://127.0.0.1:2379$i --advertise-client-urls http://127.0.0.1:2379$i \
    --listen-peer-urls http://127.0.0.1:2380$i --initial-advertise-peer-urls http://127.0.0.1:2380$i \
    --initial-cluster "$ecluster" --initial-cluster-state new >"$work/etcd$i.log" 2>&1 &
  pids+=($!)
done
dcluster="d1=http://127.0.0.1:28082,d2=http://127.0.0.1:28084,d3=http://127.0.0.1:28086"
for i in 1 2 3; do
  c=$((28079 + 2 * i)); p=$((c + 1))
  "$dcache" serve --name d$i --cluster-id bench --data-dir "$work/dcache$i" \
    --listen-client-urls http://127.0.0.1:$c --listen-peer-urls http://127.0.0.1:$p \
    --listen-resp-urls redis://127.0.0.1:$((c + 1000)) \
    --initial-cluster "$dcluster" --log-level warn >"$work/dcache$i.log" 2>&1 &
  pids+=($!)
done

wait_for() { # command... ; polls for up to 30 s
  for _ in $(seq 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "timed out waiting for: $*" >&2; return 1
}
wait_for etcdctl --endpoints=127.0.0.1:23791,127.0.0.1:23792,127.0.0.1:23793 endpoint health
for c in 28081 28083 28085; do wait_for curl -sf http://127.0.0.1:$c/health; done

eleader=$(etcdctl --endpoints=127.0.0.1:23791,127.0.0.1:23792,127.0.0.1:23793 endpoint status -w json |
  python3 -c 'import json,sys; s=json.load(sys.stdin); print([e["Endpoint"] for e in s if e["Status"]["leader"]==e["Status"]["header"]["member_id"]][0])')
dcache_leader() { # the leader's client URL, once one is elected
  curl -sf http://127.0.0.1:28081/api/v1/cluster/leader |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["client_url"])'
}
wait_for dcache_leader
dleader=$(dcache_leader)
dall=http://127.0.0.1:28081,http://127.0.0.1:28083,http://127.0.0.1:28085
echo "etcd leader $eleader, dcache leader $dleader" >&2

run() { # label backend endpoints extra...
  local label=$1; shift
  "$kvload" --duration "$DUR" --value-size 256 --key-space 10000 --json "$@" 2>>"$work/kvload.err" | tail -1 > "$work/$label.$round.json"
}
for round in $(seq "$ROUNDS"); do
  run etcd_put64  --backend etcd --endpoints "$eleader" --workload put --clients 64
  run dc_put64    --backend http-json --endpoints "$dleader" --workload put --clients 64
  run etcd_put1   --backend etcd --endpoints "$eleader" --workload put --clients 1
  run dc_put1     --backend http-json --endpoints "$dleader" --workload put --clients 1
  run etcd_get64  --backend etcd --endpoints "$eleader" --workload get --clients 64
  run dc_get64    --backend http-json --endpoints "$dall" --workload get --clients 64 \
    --get-url '{endpoint}/api/v1/get/{key}?consistency=linearizable'
  run etcd_sget64 --backend etcd --endpoints "127.0.0.1:23791,127.0.0.1:23792,127.0.0.1:23793" --workload get --clients 64 --serializable
  run dc_lget64   --backend http-json --endpoints "$dall" --workload get --clients 64 \
    --get-url '{endpoint}/api/v1/get/{key}?consistency=local'
done

python3 - "$work" "$DUR" "$ROUNDS" <<'PY'
import json, sys, os, datetime, platform
work, dur, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
def load(n, r):
    with open(os.path.join(work, f"{n}.{r}.json")) as f:
        return json.load(f)
rows = [("put, 64 clients", "etcd_put64", "dc_put64"),
        ("put, 1 client", "etcd_put1", "dc_put1"),
        ("linearizable get, 64 clients", "etcd_get64", "dc_get64"),
        ("serializable/local get, 64 clients", "etcd_sget64", "dc_lget64")]
print(f"# {datetime.date.today()}  {platform.node()}  {os.cpu_count()} cores  {dur}s per run, {rounds} round(s), 256-byte values, 10k keys")
print("| workload | etcd ops/s | dcache ops/s | ratio | ratio low-high | etcd p50/p99 ms | dcache p50/p99 ms |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
def ratio(pair):
    a, b = pair
    return b["ops_per_sec"] / a["ops_per_sec"] if a["ops_per_sec"] else float("nan")
lat = lambda r: f'{r["latency_us"]["p50"]/1000:.2f} / {r["latency_us"]["p99"]/1000:.2f}'
for label, e, d in rows:
    pairs = sorted(((load(e, r), load(d, r)) for r in range(1, rounds + 1)), key=ratio)
    # The round with the (lower) median ratio stands for the workload (ops and latencies).
    a, b = median = pairs[(len(pairs) - 1) // 2]
    print(f'| {label} | {a["ops_per_sec"]:.0f} | {b["ops_per_sec"]:.0f} | {ratio(median):.2f}x '
          f'| {ratio(pairs[0]):.2f}-{ratio(pairs[-1]):.2f}x | {lat(a)} | {lat(b)} |')
PY

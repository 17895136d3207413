#!/usr/bin/env bash
# dcache against etcd and Redis on one machine, each at its best client settings and driven
# by the same closed-loop load generator (kvload, ../shared/tools/kvload): a 3-member etcd,
# a 3-node dcache (HTTP and RESP front ends) and one unreplicated redis-server, all on
# loopback. Prints one table of medians over interleaved rounds with each row's ratio to
# etcd, then redis-benchmark (plain and -P 16) against the dcache leader and redis-server.
#
#   benches/compare-etcd.sh [SECONDS_PER_RUN]        (default 10)
#
# The tables are made by benches/compare_report.py from kvload's --json lines and
# redis-benchmark's --csv output.
#
# Workloads: 256-byte values, 10k keys, 64 clients unless the row says otherwise; writes;
# linearizable reads; serializable/local reads spread over the three members; writes from
# one client (its p50 is the figure); 4 KiB and 64 KiB values at 16 clients (MB/s, p99).
#
# Client settings:
# - etcd: gRPC multiplexes, and etcd is fastest with a few connections. Once per run, writes
#   at 64 clients go to its leader with 1, 2, 4 and 8 connections (PROBE_SECONDS each); the
#   best count is used for every etcd row, per endpoint (three times it for the serializable
#   reads spread over the three members).
# - dcache HTTP: one HTTP/1.1 connection per client (kvload's default).
# - dcache RESP and Redis: one connection per client, one request in flight on each (like
#   redis-benchmark without -P). The "mux" rows share MUX connections per endpoint between
#   the 64 clients, so the redis crate pipelines their requests.
# Where requests go: writes to each leader; linearizable reads both to each leader and
# spread over the three members (each system's best placement is the one its ratio is taken
# against: "x etcd" divides by the faster of etcd's two rows in the same round); every
# system's local or serializable reads spread over the three members. Reads over RESP are
# linearizable unless the connection sent READONLY.
# Not measured: dcache RESP local reads on READONLY connections. kvload's redis backend opens
# plain multiplexed connections and cannot send READONLY on them, so that row is left out
# rather than measured on linearizable connections under a local-read label.
#
# Env:
#   ROUNDS=N      every row N times (default 3), the systems interleaved within each round;
#                 a cell is the median over the rounds with (min-max)
#   DCACHE_BIN    the dcache binary; unset: `cargo build --release` and target/release/dcache
#   KVLOAD_DIR    kvload's source (default ../shared/tools/kvload); built in release mode
#                 when its binary is missing or older than its source
#   PROBE_SECONDS seconds per etcd connection-count probe (default 3)
#   MUX           connections per endpoint of the RESP "mux" rows (default 4)
#   RB=0          skips redis-benchmark; RB_N requests per redis-benchmark run without -P
#                 (default 10000 x SECONDS; five times that with -P 16)
#   KEEP=1        keeps the temp dir (raw kvload JSON, logs)
# Installs etcd-server, etcd-client, redis-server (with redis-tools) and, to build kvload,
# protobuf-compiler with apt-get when missing.
set -euo pipefail
# The exact command, with the settings given in the environment (before defaults are filled).
cmd=""
for v in ROUNDS DCACHE_BIN KVLOAD_DIR PROBE_SECONDS MUX RB RB_N KEEP; do
  [ -n "${!v+x}" ] && cmd+="$v=$(printf '%q' "${!v}") "
done
cmd+=$(printf '%q' "$0"); for a in "$@"; do cmd+=" $(printf '%q' "$a")"; done
DUR=${1:-10}
ROUNDS=${ROUNDS:-3}
PROBE_SECONDS=${PROBE_SECONDS:-3}
MUX=${MUX:-4}
RB=${RB:-1}
RB_N=${RB_N:-$((10000 * DUR))}
root=$(cd "$(dirname "$0")/.." && pwd)
kvload_dir=${KVLOAD_DIR:-$root/../shared/tools/kvload}
kvload=$kvload_dir/target/release/kvload

echo "# dcache vs etcd vs Redis, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(free -g | awk '/^Mem:/ {print $2}') GB RAM"
echo "# command: $cmd"
echo "# ${DUR} s per run, $ROUNDS round(s); 256-byte values and 10k keys unless a row says otherwise"

kvload_stale() {
  [ ! -x "$kvload" ] ||
    [ -n "$(find "$kvload_dir/src" "$kvload_dir/Cargo.toml" "$kvload_dir/Cargo.lock" -newer "$kvload" 2>/dev/null)" ]
}
need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-benchmark >/dev/null || need+=(redis-tools)
kvload_stale && ! command -v protoc >/dev/null && need+=(protobuf-compiler)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >&2
fi
if [ -n "${DCACHE_BIN:-}" ]; then
  dcache=$DCACHE_BIN
else
  echo "building dcache (release)..." >&2
  (cd "$root" && cargo build --release -q)
  dcache=$root/target/release/dcache
fi
if kvload_stale; then
  echo "building kvload (release)..." >&2
  (cd "$kvload_dir" && cargo build --release -q)
fi
echo "# dcache: $("$dcache" --version); $(etcd --version | head -1); $(redis-server --version | cut -d' ' -f1-3)"

work=$(mktemp -d)
mkdir -p "$work/res" "$work/rb"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 16 free loopback ports, consecutive and below the ephemeral range: a free port inside it
# could be taken by an outgoing connection (etcd's peers, kvload) before its server binds.
read -r -a port < <(python3 -c '
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    base = random.randrange(10000, low - 16)
    socks = []
    try:
        for p in range(base, base + 16):
            s = socket.socket(); socks.append(s); s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        for s in socks: s.close()
    print(" ".join(str(p) for p in range(base, base + 16))); break
else:
    raise SystemExit("no 16 free ports below the ephemeral range")')
[ ${#port[@]} -eq 16 ] || exit 1
ec=("${port[@]:0:3}"); ep=("${port[@]:3:3}")
dc=("${port[@]:6:3}"); dp=("${port[@]:9:3}"); dr=("${port[@]:12:3}")
rport=${port[15]}

ecluster=""
for i in 0 1 2; do ecluster+="${ecluster:+,}e$i=http://127.0.0.1:${ep[i]}"; done
for i in 0 1 2; do
  # A raised quota and compaction: the 64 KiB rows write about 1 GB per round, and etcd keeps
  # every revision until compacted (its default quota of 2 GB would stop the writes).
  etcd --name "e$i" --data-dir "$work/etcd$i" \
    --listen-client-urls "http://127.0.0.1:${ec[i]}" --advertise-client-urls "http://127.0.0.1:${ec[i]}" \
    --listen-peer-urls "http://127.0.0.1:${ep[i]}" --initial-advertise-peer-urls "http://127.0.0.1:${ep[i]}" \
    --initial-cluster "$ecluster" --initial-cluster-state new \
    --quota-backend-bytes 8589934592 --auto-compaction-mode revision --auto-compaction-retention 10000 \
    >"$work/etcd$i.log" 2>&1 &
  pids+=($!)
done
dcluster=""
for i in 0 1 2; do dcluster+="${dcluster:+,}d$i=http://127.0.0.1:${dp[i]}"; done
for i in 0 1 2; do
  "$dcache" serve --name "d$i" --cluster-id bench --data-dir "$work/dcache$i" \
    --listen-client-urls "http://127.0.0.1:${dc[i]}" --listen-peer-urls "http://127.0.0.1:${dp[i]}" \
    --listen-resp-urls "redis://127.0.0.1:${dr[i]}" \
    --initial-cluster "$dcluster" --log-level warn >"$work/dcache$i.log" 2>&1 &
  pids+=($!)
done
redis-server --bind 127.0.0.1 --port "$rport" --save "" --appendonly no --dir "$work" \
  >"$work/redis.log" 2>&1 &
pids+=($!)

wait_for() { # command... ; polls for up to 30 s
  for _ in $(seq 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "timed out waiting for: $*" >&2
  for log in "$work"/*.log; do echo "== $log" >&2; tail -5 "$log" >&2; done
  return 1
}
eall="127.0.0.1:${ec[0]},127.0.0.1:${ec[1]},127.0.0.1:${ec[2]}"
wait_for etcdctl --endpoints="$eall" endpoint health
for c in "${dc[@]}"; do wait_for curl -sf "http://127.0.0.1:$c/health"; done
wait_for redis-cli -p "$rport" ping

eleader=$(etcdctl --endpoints="$eall" endpoint status -w json |
  python3 -c 'import json,sys; s=json.load(sys.stdin); print([e["Endpoint"] for e in s if e["Status"]["leader"]==e["Status"]["header"]["member_id"]][0])')
dcache_leader() { # the leader's client URL, once one is elected
  curl -sf "http://127.0.0.1:${dc[0]}/api/v1/cluster/leader" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["client_url"])'
}
wait_for dcache_leader
dleader=$(dcache_leader)
# Pipelines and batched reads need the cluster version raised to the build's format.
cluster_at_format() {
  curl -sf "$dleader/api/v1/cluster/status" |
    python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; sys.exit(d["cluster_format"] != d["format"])'
}
wait_for cluster_at_format
dall=""; rall=""
for i in 0 1 2; do
  dall+="${dall:+,}http://127.0.0.1:${dc[i]}"; rall+="${rall:+,}redis://127.0.0.1:${dr[i]}"
  [ "$dleader" = "http://127.0.0.1:${dc[i]}" ] && rleader=redis://127.0.0.1:${dr[i]}
done
redis=redis://127.0.0.1:$rport
echo "etcd leader $eleader; dcache leader $dleader, RESP $rleader; redis $redis" >&2

kv() { # kvload with the common flags; prints its JSON line
  "$kvload" --key-space 10000 --json "$@" 2>>"$work/kvload.err" | tail -1
}
ops() { python3 -c 'import json,sys; print("%.0f" % json.load(sys.stdin)["ops_per_sec"])'; }

# etcd's best connection count, once per run.
best=1; best_ops=0; probe=""
for c in 1 2 4 8; do
  o=$(kv --backend etcd --endpoints "$eleader" --workload put --clients 64 --conns "$c" \
    --value-size 256 --duration "$PROBE_SECONDS" | ops) || o=0
  probe+="${probe:+, }$c: $o"
  if [ "$o" -gt "$best_ops" ]; then best=$c; best_ops=$o; fi
done
echo "# etcd connections (writes, 64 clients, ${PROBE_SECONDS} s each, ops/s): $probe -> using $best per endpoint"
kv --backend http-json --endpoints "$dleader" --workload put --clients 32 --duration 2 >/dev/null # warm-up

run() { # row system kvload-args... ; one measured run, appended to the manifest
  local row=$1 sys=$2 out; shift 2
  out=$work/res/$row.$sys.$round.json
  if ! kv --duration "$DUR" "$@" >"$out" || [ ! -s "$out" ]; then
    echo "kvload failed: $row $sys round $round (see $work/kvload.err)" >&2
    rm -f "$out"
  fi
  printf '%s\t%s\t%s\t%s\n' "$row" "$sys" "$round" "$out" >>"$work/manifest"
  [ -s "$out" ] && echo "round $round: $row $sys $(ops <"$out") ops/s" >&2
  return 0
}
for round in $(seq "$ROUNDS"); do
  v=(--value-size 256)
  w=(--workload put --clients 64 "${v[@]}")
  run put64 etcd        --backend etcd --endpoints "$eleader" --conns "$best" "${w[@]}"
  run put64 dc-http     --backend http-json --endpoints "$dleader" "${w[@]}"
  run put64 dc-resp     --backend redis --endpoints "$rleader" "${w[@]}"
  run put64 dc-resp-mux --backend redis --endpoints "$rleader" --conns "$MUX" "${w[@]}"
  run put64 redis       --backend redis --endpoints "$redis" "${w[@]}"
  run put64 redis-mux   --backend redis --endpoints "$redis" --conns "$MUX" "${w[@]}"

  w=(--workload get --clients 64 "${v[@]}")
  run lin64 etcd        --backend etcd --endpoints "$eleader" --conns "$best" "${w[@]}"
  run lin64 etcd-all    --backend etcd --endpoints "$eall" --conns $((3 * best)) "${w[@]}"
  run lin64 dc-http     --backend http-json --endpoints "$dall" "${w[@]}" \
    --get-url '{endpoint}/api/v1/get/{key}?consistency=linearizable'
  run lin64 dc-http-leader --backend http-json --endpoints "$dleader" "${w[@]}" \
    --get-url '{endpoint}/api/v1/get/{key}?consistency=linearizable'
  run lin64 dc-resp     --backend redis --endpoints "$rall" "${w[@]}"
  run lin64 dc-resp-leader --backend redis --endpoints "$rleader" "${w[@]}"
  run lin64 dc-resp-mux --backend redis --endpoints "$rall" --conns $((3 * MUX)) "${w[@]}"

  run loc64 etcd        --backend etcd --endpoints "$eall" --conns $((3 * best)) --serializable "${w[@]}"
  run loc64 dc-http     --backend http-json --endpoints "$dall" "${w[@]}" \
    --get-url '{endpoint}/api/v1/get/{key}?consistency=local'
  # dcache RESP on READONLY connections: not measured (kvload cannot send READONLY).
  run loc64 redis       --backend redis --endpoints "$redis" "${w[@]}"

  w=(--workload put --clients 1 "${v[@]}")
  run put1 etcd         --backend etcd --endpoints "$eleader" "${w[@]}"
  run put1 dc-http      --backend http-json --endpoints "$dleader" "${w[@]}"
  run put1 dc-resp      --backend redis --endpoints "$rleader" "${w[@]}"
  run put1 redis        --backend redis --endpoints "$redis" "${w[@]}"

  for size in 4096 65536; do
    w=(--workload put --clients 16 --value-size "$size")
    run "put$((size / 1024))k" etcd    --backend etcd --endpoints "$eleader" --conns "$best" "${w[@]}"
    run "put$((size / 1024))k" dc-http --backend http-json --endpoints "$dleader" "${w[@]}"
    run "put$((size / 1024))k" dc-resp --backend redis --endpoints "$rleader" "${w[@]}"
  done
done
echo
python3 "$root/benches/compare_report.py" kvload "$work/manifest"

[ "$RB" = 0 ] && exit 0
# redis-benchmark, 64 clients, 256-byte values over 10k keys (-r), SET then GET in one run;
# GETs on dcache are linearizable. Rounds interleaved: dcache, Redis, dcache -P 16, Redis -P 16.
rb() { # target port n extra...
  local target=$1 p=$2 n=$3 pipe=${4:-1}
  redis-benchmark -h 127.0.0.1 -p "$p" -c 64 -d 256 -r 10000 -n "$n" -P "$pipe" -t set,get --csv \
    >"$work/rb/$target.$pipe.$round.csv" 2>>"$work/rb.err" ||
    echo "redis-benchmark failed: $target -P $pipe round $round" >&2
  printf '%s\t%s\t%s\t%s\n' "$target" "$pipe" "$round" "$work/rb/$target.$pipe.$round.csv" >>"$work/rb-manifest"
}
rport_leader=${rleader##*:}
for round in $(seq "$ROUNDS"); do
  rb dcache "$rport_leader" "$RB_N"
  rb redis "$rport" "$RB_N"
  rb dcache "$rport_leader" $((5 * RB_N)) 16
  rb redis "$rport" $((5 * RB_N)) 16
  echo "round $round: redis-benchmark done" >&2
done
echo
echo "# redis-benchmark -c 64 -d 256 -r 10000 -t set,get, -n $RB_N (-n $((5 * RB_N)) with -P 16)"
python3 "$root/benches/compare_report.py" redis-benchmark "$work/rb-manifest"

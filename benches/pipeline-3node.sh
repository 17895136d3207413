#!/usr/bin/env bash
# Pipelined RESP against a fresh 3-node release cluster per build and round, builds
# alternated: `redis-benchmark -c 64 -P 16 -d 256 -r 10000` to the leader, a SET run and then
# a GET run on the same cluster (so the GETs find values). Prints requests/s and the CPU the
# three nodes used per request.
#
#   benches/pipeline-3node.sh ROUNDS BINARY...
#
# Env: N (requests per run, 300000), P (pipeline depth, 16), TESTS ("set get").
set -euo pipefail
rounds=${1:?usage: $0 ROUNDS BINARY...}; shift
[ $# -gt 0 ] || { echo "usage: $0 ROUNDS BINARY..." >&2; exit 2; }
n=${N:-300000}; depth=${P:-16}; tests=${TESTS:-set get}
work=$(mktemp -d); pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=(); }
trap 'stop; rm -rf "$work"' EXIT
cpu_ms() { local t=0; for p in "${pids[@]}"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $((t * 1000 / $(getconf CLK_TCK))); }
start() {
  rm -rf "$work"/n*
  local cluster="n1=http://127.0.0.1:29012,n2=http://127.0.0.1:29022,n3=http://127.0.0.1:29032"
  for i in 1 2 3; do
    "$1" serve --name n$i --data-dir "$work/n$i" --listen-client-urls http://127.0.0.1:290${i}1 \
      --listen-peer-urls http://127.0.0.1:290${i}2 --listen-resp-urls redis://127.0.0.1:290${i}3 \
      --initial-cluster "$cluster" --log-level warn >"$work/n$i.log" 2>&1 &
    pids+=($!)
  done
  local leader=""
  for _ in $(seq 150); do
    leader=$(curl -s localhost:29011/api/v1/cluster/leader | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["client_url"])' 2>/dev/null) && [ -n "$leader" ] && break
    sleep 0.2
  done
  [ -n "$leader" ] || { echo "no leader elected" >&2; exit 1; }
  port=$(( ${leader##*:} + 2 ))
}
echo "# $(date -u '+%F %T UTC'), $(nproc) cores; redis-benchmark -c 64 -P $depth -d 256 -r 10000 -n $n"
for r in $(seq "$rounds"); do
  for bin in "$@"; do
    start "$bin"
    line="round $r $bin"
    for t in $tests; do
      c0=$(cpu_ms)
      rps=$(redis-benchmark -p "$port" -c 64 -P "$depth" -d 256 -r 10000 -t "$t" -n "$n" -q 2>/dev/null |
        tr '\r' '\n' | grep -a 'requests per second' | tail -1 | awk '{print $2}')
      c1=$(cpu_ms)
      line="$line | $t ${rps}/s, $(( (c1 - c0) * 1000 / n )) us CPU per request"
    done
    echo "$line"
    stop
  done
done

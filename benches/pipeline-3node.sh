#!/usr/bin/env bash
# Pipelined RESP against a fresh 3-node release cluster per build and round, builds
# alternated: `redis-benchmark -c 64 -P 16 -d 256 -r 10000` to the leader, a SET run and then
# a GET run on the same cluster (so the GETs find values). Prints requests/s, the CPU the
# three nodes used per request and the bytes each node wrote to disk per request.
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
. "$(dirname "$0")/cluster.sh"
start() {
  rm -rf "$work"/n*
  start_cluster "$1" "$work" 29000
  port=$(( ${leader##*:} + 2 ))
}
echo "# $(date -u '+%F %T UTC'), $(nproc) cores; redis-benchmark -c 64 -P $depth -d 256 -r 10000 -n $n"
for r in $(seq "$rounds"); do
  for bin in "$@"; do
    start "$bin"
    line="round $r $bin"
    for t in $tests; do
      c0=$(cpu_ms); w0=$(written)
      rps=$(redis-benchmark -p "$port" -c 64 -P "$depth" -d 256 -r 10000 -t "$t" -n "$n" -q 2>/dev/null |
        tr '\r' '\n' | grep -a 'requests per second' | tail -1 | awk '{print $2}')
      c1=$(cpu_ms); w1=$(written)
      line="$line | $t ${rps}/s, $(( (c1 - c0) * 1000 / n )) us CPU and $(( (w1 - w0) / 3 / n )) B written per node per request"
    done
    echo "$line"
    stop
  done
done

# Sourced by the bench scripts: a 3-node release cluster on loopback, and the CPU and disk
# bytes its nodes used (`cpu_ms`, `written`).
#
#   start_cluster BIN DIR BASE
#
# Node i (1-3) listens on BASE+10i+1 (client API), BASE+10i+2 (peers) and BASE+10i+3 (RESP),
# with its data dir and log under DIR. The nodes' PIDs are appended to the caller's `pids`
# array; `leader` is set to the leader's client URL once one is elected.
start_cluster() {
  local bin=$1 dir=$2 base=$3 cluster="" i
  for i in 1 2 3; do
    cluster+="${cluster:+,}n$i=http://127.0.0.1:$((base + 10 * i + 2))"
  done
  for i in 1 2 3; do
    "$bin" serve --name "n$i" --data-dir "$dir/n$i" \
      --listen-client-urls "http://127.0.0.1:$((base + 10 * i + 1))" \
      --listen-peer-urls "http://127.0.0.1:$((base + 10 * i + 2))" \
      --listen-resp-urls "redis://127.0.0.1:$((base + 10 * i + 3))" \
      --initial-cluster "$cluster" --log-level warn >"$dir/n$i.log" 2>&1 &
    pids+=($!)
  done
  leader=""
  for _ in $(seq 150); do
    leader=$(curl -s "localhost:$((base + 11))/api/v1/cluster/leader" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["client_url"])' 2>/dev/null) &&
      [ -n "$leader" ] && return 0
    sleep 0.2
  done
  echo "no leader elected; logs in $dir" >&2
  return 1
}

# CPU (user + system, ms) and bytes written to disk (the kernel's count of pages dirtied)
# of the processes in the caller's `pids` array, summed.
cpu_ms() { local t=0; for p in "${pids[@]}"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $((t * 1000 / $(getconf CLK_TCK))); }
written() { local t=0; for p in "${pids[@]}"; do t=$((t + $(awk '/^write_bytes/{print $2}' "/proc/$p/io"))); done; echo "$t"; }

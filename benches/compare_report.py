#!/usr/bin/env python3
"""The tables of benches/compare-etcd.sh: medians over rounds, with (min-max) per cell.

    compare_report.py kvload MANIFEST           rows of kvload --json results
    compare_report.py redis-benchmark MANIFEST  rows of redis-benchmark --csv results

A manifest has one tab-separated line per run: row, system, round, result file (missing
when the run failed). Reads only those files; prints Markdown to stdout.
"""
import csv
import json
import os
import statistics
import sys

ROWS = {
    "put64": "writes, 64 clients",
    "lin64": "linearizable reads, 64 clients",
    "loc64": "serializable/local reads, 64 clients, 3 members",
    "put1": "writes, 1 client",
    "put4k": "writes of 4 KiB values, 16 clients",
    "put64k": "writes of 64 KiB values, 16 clients",
}
SYSTEMS = {
    "etcd": "etcd",
    "etcd-all": "etcd, 3 members",
    "dc-http": "dcache HTTP",
    "dc-http-leader": "dcache HTTP, leader",
    "dc-resp": "dcache RESP",
    "dc-resp-leader": "dcache RESP, leader",
    "dc-resp-mux": "dcache RESP, mux",
    "redis": "Redis (1 node)",
    "redis-mux": "Redis (1 node), mux",
    "dcache": "dcache RESP, leader",
}


def manifest(path):
    """(row, system) in first-seen order -> {round: result file or None}."""
    runs = {}
    with open(path) as f:
        for line in f:
            row, system, rnd, result = line.rstrip("\n").split("\t")
            runs.setdefault((row, system), {})[int(rnd)] = (
                result if os.path.exists(result) and os.path.getsize(result) else None
            )
    return runs


def cell(values, fmt):
    """The median of values, with (min-max) when they differ; '-' when there are none."""
    if not values:
        return "-"
    med = fmt(statistics.median(values))
    if min(values) == max(values):
        return med
    return f"{med} ({fmt(min(values))}-{fmt(max(values))})"


num = lambda v: f"{v:,.0f}"
ms = lambda v: f"{v:.2f}"
mb = lambda v: f"{v:.1f}"
ratio = lambda v: f"{v:.2f}x"


def etcd_best(results, row):
    """round -> etcd's best ops/s in that round over its rows (placements) of this workload."""
    best = {}
    for (r_row, system), rounds in results.items():
        if r_row != row or not system.startswith("etcd"):
            continue
        for rnd, j in rounds.items():
            if j and j["ops_per_sec"]:
                best[rnd] = max(best.get(rnd, 0), j["ops_per_sec"])
    return best


def kvload(path):
    runs = manifest(path)
    results = {
        key: {r: json.load(open(f)) if f else None for r, f in rounds.items()}
        for key, rounds in runs.items()
    }
    print("| workload | system | conns | ops/s | x etcd | p50 ms | p99 ms | MB/s | errors |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (row, system), rounds in results.items():
        ok = [j for j in rounds.values() if j is not None]
        failed = len(rounds) - len(ok)
        etcd = etcd_best(results, row)
        ratios = [j["ops_per_sec"] / etcd[r] for r, j in rounds.items() if j and etcd.get(r)]
        size = ok[0]["value_size"] if ok else 256
        mbs = [j["ops_per_sec"] * j["value_size"] / 1e6 for j in ok] if size > 256 else []
        errors = sum(j["errors"] for j in ok)
        print(
            f"| {ROWS.get(row, row)} | {SYSTEMS.get(system, system)} "
            f"| {ok[0]['conns'] if ok else '-'} "
            f"| {cell([j['ops_per_sec'] for j in ok], num)} "
            f"| {'' if system.startswith('etcd') else cell(ratios, ratio)} "
            f"| {cell([j['latency_us']['p50'] / 1000 for j in ok], ms)} "
            f"| {cell([j['latency_us']['p99'] / 1000 for j in ok], ms)} "
            f"| {cell(mbs, mb)} "
            f"| {errors}{f', {failed} run(s) failed' if failed else ''} |"
        )
    print()
    print(
        "x etcd: the median over the rounds of (ops/s / etcd's ops/s in the same round; where"
        " etcd has two rows, the faster of them)."
    )
    print("MB/s: value bytes written per second (10^6 bytes). A cell is median (min-max).")


def redis_benchmark(path):
    runs = manifest(path)
    table = {}  # (test, pipeline) -> target -> round -> row of the csv
    for (target, pipe), rounds in runs.items():
        for rnd, f in rounds.items():
            if f is None:
                continue
            with open(f) as fh:
                for rec in csv.DictReader(fh):
                    table.setdefault((rec["test"], pipe), {}).setdefault(target, {})[rnd] = rec
    print("| test | pipeline | target | requests/s | x Redis | p50 ms | p99 ms |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for (test, pipe), targets in sorted(table.items(), key=lambda kv: (int(kv[0][1]), kv[0][0] != "SET")):
        base = targets.get("redis", {})
        for target, rounds in sorted(targets.items(), key=lambda kv: kv[0] != "dcache"):
            recs = list(rounds.values())
            ratios = [
                float(rec["rps"]) / float(base[r]["rps"])
                for r, rec in rounds.items()
                if r in base and float(base[r]["rps"])
            ]
            print(
                f"| {test} | {'-P ' + pipe if pipe != '1' else 'none'} "
                f"| {SYSTEMS.get(target, target)} "
                f"| {cell([float(r['rps']) for r in recs], num)} "
                f"| {'' if target == 'redis' else cell(ratios, ratio)} "
                f"| {cell([float(r['p50_latency_ms']) for r in recs], ms)} "
                f"| {cell([float(r['p99_latency_ms']) for r in recs], ms)} |"
            )


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("kvload", "redis-benchmark"):
        sys.exit(__doc__)
    (kvload if sys.argv[1] == "kvload" else redis_benchmark)(sys.argv[2])

//! `dcache bench` runs briefly against a real node and reports its figures; `/metrics`
//! exposes request, Raft and cache metrics in Prometheus text format.

use serde_json::Value;

use crate::support::{dcache, run_dcache, Node};

#[test]
fn bench_runs_a_fixed_number_of_requests_and_reports_latencies() {
    let node = Node::start();
    let url = node.url();
    let (out, what) = run_dcache(
        dcache(Some(&url)),
        &[
            "bench",
            "--requests",
            "300",
            "--clients",
            "4",
            "--key-space",
            "50",
            "-o",
            "json",
        ],
    );
    assert!(out.status.success(), "{what}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {what}"));
    assert_eq!(report["ops"], 300, "{what}");
    assert_eq!(report["errors"], 0, "{what}");
    assert!(report["ops_per_sec"].as_f64().unwrap_or(0.0) > 0.0, "{what}");
    for p in ["p50", "p90", "p99", "p999", "max"] {
        assert!(report["latency_us"][p].as_u64().unwrap_or(0) > 0, "{p} missing: {what}");
    }

    let (out, what) = run_dcache(
        dcache(Some(&url)),
        &[
            "bench",
            "--requests",
            "200",
            "--clients",
            "2",
            "--workload",
            "mixed",
            "--key-space",
            "20",
        ],
    );
    assert!(out.status.success(), "{what}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("throughput") && text.contains("p99.9"), "{what}");
    assert!(text.starts_with("workload "), "{what}");
    assert!(
        !text.contains("workload Set") && !text.contains("workload Mixed"),
        "lowercase names: {what}"
    );
}

#[test]
fn bench_against_nothing_fails_with_a_clear_message() {
    let [port] = crate::support::free_ports::<1>();
    let url = format!("http://127.0.0.1:{port}");
    let (out, what) = run_dcache(dcache(Some(&url)), &["bench", "--requests", "10"]);
    assert!(!out.status.success(), "{what}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach"), "{what}");
}

#[test]
fn metrics_expose_requests_raft_and_cache_figures() {
    let node = Node::start();
    node.http.set("m1", "v");
    let (status, _) = node.http.get("/api/v1/get/m1");
    assert_eq!(status, 200);
    let body = reqwest::blocking::get(format!("{}/metrics", node.url()))
        .and_then(|r| r.text())
        .unwrap();
    for needle in [
        "dcache_http_requests_total{route=\"/api/v1/set\",method=\"POST\",status=\"200\"} 1",
        "dcache_http_request_seconds_bucket",
        "dcache_raft_term 1",
        "dcache_raft_is_leader 1",
        "dcache_raft_applied_index",
        "dcache_cache_keys 1",
        "dcache_raft_replication_lag",
        "dcache_cache_evictions 0",
    ] {
        assert!(body.contains(needle), "metrics lack {needle:?}:\n{body}");
    }
    // One set proposed alone, one linearizable read in one round.
    for line in [
        "dcache_write_entries_total 1",
        "dcache_coalesced_writes_total 1",
        "dcache_read_rounds_total 1",
        "dcache_http_requests_total{route=\"/api/v1/get/{*key}\",method=\"GET\",status=\"200\"} 1",
    ] {
        assert!(
            body.lines().any(|l| l == line),
            "metrics lack the line {line:?}:\n{body}"
        );
    }
}

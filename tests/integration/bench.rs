//! `dcache bench` runs briefly against a real node and reports its figures (per kind of
//! request, a histogram, a per-second timeline, errors by kind, prefill progress); `/metrics`
//! exposes request, Raft and cache metrics in Prometheus text format.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::support::{dcache, run_dcache, wait_until, Node, BIN};

/// Sum of `field` over the objects of the JSON array `v`.
fn sum(v: &Value, field: &str) -> u64 {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x[field].as_u64().unwrap_or_else(|| panic!("no {field} in {x}")))
        .sum()
}

/// Runs `dcache --server URL bench ARGS -o json`; returns the exit code, the report and stderr.
fn bench_json(url: &str, args: &[&str]) -> (Option<i32>, Value, String) {
    let (out, what) = run_dcache(dcache(Some(url)), &[&["bench", "-o", "json"][..], args].concat());
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {what}"));
    (
        out.status.code(),
        report,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

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
    // Every successful request is in one histogram bucket and one second of the timeline.
    assert_eq!(sum(&report["histogram_us"], "count"), 300, "{what}");
    assert_eq!(sum(&report["timeline"], "ok"), 300, "{what}");
    assert_eq!(sum(&report["timeline"], "errors"), 0, "{what}");
    assert_eq!(report["errors_by_kind"], serde_json::json!([]), "{what}");
    assert_eq!(report["set"]["ops"], 300, "a set run has set figures: {what}");
    assert!(report.get("get").is_none() && report.get("prefill").is_none(), "{what}");

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
    // A mixed run shows gets and sets apart, then the histogram and the timeline.
    for needle in [
        "\n  get      ",
        "\n  set      ",
        "\nhistogram",
        "ms [",
        "\ntimeline",
        "      0s  ",
    ] {
        assert!(text.contains(needle), "no {needle:?} in the report: {what}");
    }
    // Not a terminal: the prefill is one line on stderr, not a progress bar.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("prefilled 20 keys (bench-00000000 to bench-00000019) in "))
            .count(),
        1,
        "{what}"
    );
    assert!(
        !stderr.contains('\r') && !stderr.contains('\u{1b}'),
        "no terminal drawing: {what}"
    );
}

/// Issue 17, item 15: a mixed run reports gets and sets apart (their sum is the whole), the
/// prefill, and touches only keys under `--key-prefix`.
#[test]
fn bench_splits_gets_and_sets_and_keeps_to_its_key_prefix() {
    let node = Node::start();
    node.http.set("bench-00000001", "not the bench's");
    let (code, r, stderr) = bench_json(
        &node.url(),
        &[
            "--workload",
            "mixed",
            "--read-ratio",
            "0.5",
            "--requests",
            "400",
            "--clients",
            "4",
            "--key-space",
            "30",
            "--key-prefix",
            "load/",
        ],
    );
    assert_eq!(code, Some(0), "{r}\n{stderr}");
    let (gets, sets) = (r["get"]["ops"].as_u64().unwrap(), r["set"]["ops"].as_u64().unwrap());
    assert_eq!(gets + sets, 400, "{r}");
    assert!(gets > 50 && sets > 50, "a 0.5 read ratio sends both: {r}");
    for op in ["get", "set"] {
        assert!(r[op]["ops_per_sec"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r[op]["latency_us"]["p99"].as_u64().unwrap() > 0, "{r}");
    }
    assert_eq!(r["key_prefix"], "load/", "{r}");
    assert_eq!(r["prefill"]["keys"], 30, "{r}");
    assert!(
        stderr.contains("prefilled 30 keys (load/00000000 to load/00000029)"),
        "{stderr}"
    );
    assert_eq!(
        node.http.scan("load/", None)["count"],
        30,
        "the prefill wrote the key space"
    );
    assert_eq!(
        node.http.value_of("bench-00000001").map(|(v, _)| v).as_deref(),
        Some("not the bench's"),
        "keys outside --key-prefix are untouched"
    );

    // Without a prefill nothing is said about one.
    let (code, r, stderr) = bench_json(
        &node.url(),
        &[
            "--workload",
            "get",
            "--requests",
            "20",
            "--key-space",
            "5",
            "--no-prefill",
        ],
    );
    assert_eq!(code, Some(0), "{r}\n{stderr}");
    assert!(
        r.get("prefill").is_none() && !stderr.contains("prefilled"),
        "{r}\n{stderr}"
    );
}

/// Issue 17, item 15: failed requests are counted by kind, with an example message each,
/// in JSON and in text.
#[test]
fn bench_breaks_errors_down_by_kind() {
    // Keys of 14 bytes against a node that takes at most 8: every set is refused with 413.
    let node = Node::start_with(&["--max-key-bytes", "8"]);
    let (code, r, stderr) = bench_json(&node.url(), &["--requests", "20", "--clients", "2"]);
    assert_eq!(code, Some(1), "no request succeeded: {r}\n{stderr}");
    assert!(stderr.contains("no request succeeded"), "{stderr}");
    assert_eq!(r["errors"], 20, "{r}");
    let kinds = &r["errors_by_kind"];
    assert_eq!(kinds[0]["kind"], "HTTP 413 PAYLOAD_TOO_LARGE", "{r}");
    assert_eq!(kinds[0]["count"], 20, "{r}");
    assert!(!kinds[0]["example"].as_str().unwrap().is_empty(), "{r}");
    assert_eq!(sum(&r["timeline"], "errors"), 20, "{r}");

    // Without a prefix the keys fit (8 digits): those succeed, on the same node.
    let (out, what) = run_dcache(
        dcache(Some(&node.url())),
        &["bench", "--requests", "10", "--key-prefix", "", "--key-space", "9"],
    );
    assert!(out.status.success(), "{what}");
    let (out, what) = run_dcache(dcache(Some(&node.url())), &["bench", "--requests", "10"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\nerrors by kind\n  HTTP 413 PAYLOAD_TOO_LARGE        10  e.g. "),
        "{what}"
    );
}

/// Issue 17, item 15: the per-second timeline shows a stretch without answers. The node is
/// frozen (SIGSTOP) for a while mid-run: requests wait rather than fail (long --timeout),
/// so some whole second of the run finishes none, and requests finish again after it.
#[test]
fn bench_timeline_shows_a_stall() {
    let node = Node::start();
    let bench = std::process::Command::new(BIN)
        .env_remove("DCACHE_SERVER")
        .env_remove("DCACHE_ENDPOINTS")
        .args(["--server", &node.url(), "--timeout", "30s", "bench", "-o", "json"])
        .args([
            "--duration",
            "6s",
            "--clients",
            "2",
            "--key-prefix",
            "stall/",
            "--key-space",
            "1000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(20), || {
            node.http.scan("stall/", Some(1))["count"].as_u64().unwrap_or(0) > 0
        }),
        "the bench never wrote"
    );
    node.signal("STOP");
    // The stall is the scenario, not a wait for a state: two seconds frozen contain at least
    // one whole second of the run.
    std::thread::sleep(Duration::from_millis(2500));
    node.signal("CONT");
    let out = bench.wait_with_output().unwrap();
    let what = format!(
        "{}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {what}"));
    assert_eq!(r["errors"], 0, "{what}");
    let ok: Vec<u64> = r["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["ok"].as_u64().unwrap())
        .collect();
    let gap = ok.iter().position(|&n| n == 0);
    assert!(
        gap.is_some_and(|g| ok[..g].iter().any(|&n| n > 0) && ok[g..].iter().any(|&n| n > 0)),
        "no empty second between busy ones in the timeline {ok:?}: {what}"
    );
}

/// Issue 17, item 15: in a terminal the prefill draws a progress bar on stderr (`script`
/// gives the command a pseudo-terminal), and the one-line summary follows it.
#[test]
fn bench_prefill_shows_progress_in_a_terminal() {
    let node = Node::start();
    let dir = tempfile::tempdir().unwrap();
    let typescript = dir.path().join("typescript");
    let command = format!(
        "'{BIN}' --server {} bench --workload get --key-space 3000 --requests 10",
        node.url()
    );
    let out = std::process::Command::new("script")
        .args(["-q", "-e", "-c", &command])
        .arg(&typescript)
        .env_remove("DCACHE_SERVER")
        .env_remove("DCACHE_ENDPOINTS")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("`script` (util-linux) is needed for this test: {e}"));
    let screen = String::from_utf8_lossy(&std::fs::read(&typescript).unwrap_or_default()).into_owned();
    assert!(out.status.success(), "{}\n{screen}", out.status);
    assert!(
        screen.contains("prefill") && screen.contains("/3000 keys"),
        "no prefill progress bar:\n{screen}"
    );
    assert!(
        screen.contains("prefilled 3000 keys (bench-00000000 to bench-00002999)"),
        "{screen}"
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

//! Issue 17, item 16: scans page. `GET /api/v1/keys` continues with `after=KEY` (the answer's
//! `next` when truncated), and `dcache scan` follows the pages: `--limit` is a total, `--all`
//! lists everything.

use serde_json::{json, Value};

use crate::support::{data, dcache, run_dcache, Node};

/// Writes `n` keys `p/00000..` with 1000-op batches; returns them in key order.
fn fill(node: &Node, n: usize) -> Vec<String> {
    let keys: Vec<String> = (0..n).map(|i| format!("p/{i:05}")).collect();
    for chunk in keys.chunks(1000) {
        let ops: Vec<Value> = chunk
            .iter()
            .map(|k| json!({"op": "set", "key": k, "value": "v"}))
            .collect();
        data("batch", node.http.post_json("/api/v1/batch", &json!({ "ops": ops })));
    }
    keys
}

#[test]
fn scans_continue_after_the_last_key_over_http_and_the_cli() {
    let node = Node::start();
    let keys = fill(&node, 10_500);
    // Outside the prefix, on both sides: never listed.
    node.http.set("o", "x");
    node.http.set("q", "x");

    let first = data("page 1", node.http.get("/api/v1/keys?prefix=p/&limit=10000"));
    assert_eq!(first["count"], 10_000, "{}", first["count"]);
    assert_eq!(first["truncated"], true);
    assert_eq!(first["next"], json!(keys[9_999]));
    let second = data(
        "page 2",
        node.http.get(&format!(
            "/api/v1/keys?prefix=p/&limit=10000&after={}",
            crate::support::enc(&keys[9_999])
        )),
    );
    assert_eq!(second["count"], 500);
    assert_eq!(second["truncated"], false);
    assert!(
        second.get("next").is_none(),
        "no next on the last page: {}",
        second["next"]
    );
    assert_eq!(second["keys"][0]["key"], json!(keys[10_000]));

    let url = node.url();
    let lines = |args: &[&str]| {
        let (out, what) = run_dcache(dcache(Some(&url)), args);
        assert!(out.status.success(), "{what}");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let got: Vec<String> = stdout
            .lines()
            .map(|l| l.split('\t').next().unwrap_or_default().to_string())
            .collect();
        (got, String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (all, _) = lines(&["scan", "p/", "--all"]);
    assert_eq!(all, keys, "--all lists every key once, in order");
    let (some, err) = lines(&["scan", "p/", "--limit", "10200"]);
    assert_eq!(some, &keys[..10_200]);
    assert!(err.contains("more keys match"), "{err}");

    let (out, what) = run_dcache(dcache(Some(&url)), &["-o", "json", "scan", "p/", "--all"]);
    assert!(out.status.success(), "{what}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {what}"));
    assert_eq!(v["count"], 10_500);
    assert_eq!(v["truncated"], false);
    assert_eq!(v["keys"].as_array().map(Vec::len), Some(10_500));
    assert_eq!(v["keys"][10_499]["key"], json!(keys[10_499]));
}

//! Client tokens: with tokens configured every route but `/health` needs one; read-only
//! tokens read, read-write tokens also write, admin tokens also change the membership; the
//! CLI sends `--token` / `DCACHE_TOKEN`; a node joins such a cluster with its `join-token`.

use reqwest::Method;
use serde_json::json;

use crate::support::{assert_error, dcache, run_dcache, Cluster, Http, Node};

const RW: &str = "rw-token-0123456789abcdef";
const RO: &str = "ro-token-0123456789abcdef";
const ADMIN: &str = "admin-token-0123456789abcdef";

#[test]
fn tokens_gate_the_client_api_by_role() {
    let node = Node::start_with(&["--auth-token", RW, "--read-only-token", RO]);
    let url = node.url();
    let anonymous = Http::new(&url);
    let wrong = Http::secured(&url, None, Some("wrong-token-0123456789"));
    let reader = Http::secured(&url, None, Some(RO));
    let writer = Http::secured(&url, None, Some(RW));

    assert_eq!(anonymous.health(), Some(200), "/health stays open");
    for client in [&anonymous, &wrong] {
        assert_error(
            "get without a valid token",
            &client.get("/api/v1/get/k"),
            401,
            "UNAUTHORIZED",
        );
        assert_error(
            "set without a valid token",
            &client.post_json("/api/v1/set", &json!({"key": "k", "value": "v"})),
            401,
            "UNAUTHORIZED",
        );
        assert_error(
            "metrics without a valid token",
            &client.get("/metrics"),
            401,
            "UNAUTHORIZED",
        );
    }
    assert_error(
        "set with a read-only token",
        &reader.post_json("/api/v1/set", &json!({"key": "k", "value": "v"})),
        403,
        "FORBIDDEN",
    );
    assert_error(
        "delete with a read-only token",
        &reader.send(Method::DELETE, "/api/v1/delete/k", None, None),
        403,
        "FORBIDDEN",
    );
    writer.set("k", "v");
    let lower = reqwest::blocking::Client::new()
        .get(format!("{url}/api/v1/get/k"))
        .header("authorization", format!("bearer {RO}"))
        .send()
        .unwrap();
    assert_eq!(lower.status().as_u16(), 200, "the auth scheme is case-insensitive");
    assert_eq!(
        reader.value_of("k").map(|(v, _)| v).as_deref(),
        Some("v"),
        "read-only reads"
    );
    assert_eq!(reader.get("/metrics").0, 200);

    let (out, what) = run_dcache(dcache(Some(&url)), &["get", "k"]);
    assert_eq!(out.status.code(), Some(5), "{what}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token"), "{what}");
    let (out, what) = run_dcache(dcache(Some(&url)), &["--token", RW, "set", "k", "cli"]);
    assert!(out.status.success(), "{what}");
    let mut cmd = dcache(Some(&url));
    cmd.env("DCACHE_TOKEN", RO);
    let (out, what) = run_dcache(cmd, &["get", "k"]);
    assert!(out.status.success(), "{what}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "cli");
    assert!(
        node.stderr()
            .contains("refused a request the token's role does not allow"),
        "{}",
        node.log()
    );
}

#[test]
fn a_node_joins_a_token_protected_cluster_with_its_join_token() {
    let mut c = Cluster::start_secured(1, None, Some(RW), &[]);
    c.node(0).http.set("before-join", "1");
    let joined = c.join(0);
    let seen = crate::support::wait_until(std::time::Duration::from_secs(10), || {
        c.node(joined).http.get_key("before-join", Some("local")).0 == 200
    });
    assert!(seen, "the joined node did not catch up:\n{}", c.logs());
    let (out, what) = run_dcache(dcache(Some(&c.node(0).url())), &["--token", RW, "cluster", "members"]);
    assert!(out.status.success(), "{what}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("node2"), "{what}");
}

#[test]
fn membership_changes_need_an_admin_token() {
    let c = Cluster::start_secured(2, None, Some(ADMIN), &["--auth-token", RW, "--read-only-token", RO]);
    let url = c.node(0).url();
    let writer = Http::secured(&url, None, Some(RW));
    let reader = Http::secured(&url, None, Some(RO));
    let admin = Http::secured(&url, None, Some(ADMIN));
    let joiner = json!({"name": "intruder", "peer_url": "http://127.0.0.1:9"});
    for (what, path, body) in [
        ("join", "/api/v1/cluster/join", joiner.clone()),
        ("remove", "/api/v1/cluster/remove", json!({"id": 2})),
        ("transfer", "/api/v1/cluster/transfer-leadership", json!({"to": 2})),
    ] {
        for client in [&writer, &reader] {
            let got = client.post_json(path, &body);
            assert_error(&format!("{what} with a non-admin token"), &got, 403, "FORBIDDEN");
            let message = got.1["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains("admin token"), "{what}: {got:?}");
        }
    }
    // The read-write token still writes and takes backups; nothing joined or left.
    writer.set("k", "v");
    assert_eq!(
        writer.get("/api/v1/snapshot").0,
        200,
        "a backup with a read-write token"
    );
    let (out, what) = run_dcache(dcache(Some(&url)), &["--token", RW, "cluster", "remove", "node2"]);
    assert_eq!(out.status.code(), Some(5), "{what}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("admin token"), "{what}");
    let members = admin.get("/api/v1/cluster/status");
    assert_eq!(members.0, 200, "{members:?}");
    assert_eq!(
        members.1["data"]["members"].as_array().map(Vec::len),
        Some(2),
        "{members:?}"
    );

    // The admin token may: the leadership moves to the other member.
    let leader = c.leader();
    let other = 1 - leader;
    let (out, what) = run_dcache(
        dcache(Some(&c.node(leader).url())),
        &["--token", ADMIN, "cluster", "transfer-leadership", c.node(other).name()],
    );
    assert!(out.status.success(), "{what}");
    let moved = crate::support::wait_until(std::time::Duration::from_secs(10), || c.leader() == other);
    assert!(moved, "leadership did not move:\n{}", c.logs());
}

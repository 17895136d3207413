//! With `peer-token` set, the peer port refuses requests that lack it, and a cluster whose
//! nodes share the token forms and replicates as usual.

use std::time::Duration;

use crate::support::{wait_until, Cluster, Node};

const TOKEN: &str = "0123456789abcdef-test-token";

fn raw_post(url: &str, token: Option<&str>) -> u16 {
    let client = reqwest::blocking::Client::new();
    let mut req = client
        .post(url)
        .header("content-type", "application/msgpack")
        .body(vec![0x80]);
    if let Some(t) = token {
        req = req
            .header("x-dcache-peer-token", t)
            .header("x-dcache-cluster", "dcache");
    }
    req.send().unwrap().status().as_u16()
}

#[test]
fn peer_requests_without_the_token_are_refused_and_change_nothing() {
    let node = Node::start_with(&["--peer-token", TOKEN]);
    node.http.set("before", "1");
    let status_before = node.http.status();
    for rpc in [
        "raft/append",
        "raft/vote",
        "raft/snapshot",
        "peer/admin",
        "peer/forward-write",
        "raft/transfer-leader",
        "peer/removed",
    ] {
        let url = format!("{}/{rpc}", node.peer_url());
        assert_eq!(raw_post(&url, None), 401, "{rpc} without a token");
        assert_eq!(
            raw_post(&url, Some("wrong-token-wrong-token")),
            401,
            "{rpc} with a wrong token"
        );
    }
    // With the right token the request reaches Raft (and is rejected only as malformed).
    assert_eq!(raw_post(&format!("{}/raft/append", node.peer_url()), Some(TOKEN)), 400);
    let status_after = node.http.status();
    assert_eq!(
        status_before["term"], status_after["term"],
        "a refused vote must not change the term"
    );
    assert_eq!(node.http.value_of("before").map(|(v, _)| v).as_deref(), Some("1"));
    assert!(
        node.stderr().contains("refused a peer request"),
        "the refusal is logged"
    );
}

#[test]
fn a_cluster_sharing_the_token_replicates() {
    let c = Cluster::start(3, &["--peer-token", TOKEN]);
    let leader = c.leader();
    let follower = c.followers_of(leader)[0];
    c.node(follower).http.set("shared", "yes");
    for i in 0..c.len() {
        let ok = wait_until(Duration::from_secs(10), || {
            c.node(i).http.get_key("shared", Some("local")).0 == 200
        });
        assert!(ok, "node {i} did not get the write");
    }
}

#[test]
fn a_short_peer_token_is_refused_at_start() {
    let out = crate::support::dcache(None)
        .args(["serve", "--check", "--peer-token", "short", "--data-dir"])
        .arg(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("peer-token"));
}

/// A forward-write body `{"Batch": [... {"Batch": ["Purge"]} ...]}` nested `depth` times
/// (the shape a hostile peer would send; a batch holds writes, so no depth decodes).
fn nested_batch(depth: usize) -> Vec<u8> {
    let mut body = Vec::new();
    for _ in 0..depth {
        body.extend_from_slice(&[0x81, 0xa5, b'B', b'a', b't', b'c', b'h', 0x91]);
    }
    body.extend_from_slice(&[0xa5, b'P', b'u', b'r', b'g', b'e']);
    body
}

#[test]
fn a_peer_cannot_poison_the_log_with_nested_batches() {
    let mut node = Node::start_with(&["--peer-token", TOKEN]);
    let client = reqwest::blocking::Client::new();
    for depth in [1, 2, 1023] {
        let resp = client
            .post(format!("{}/peer/forward-write", node.peer_url()))
            .header("content-type", "application/msgpack")
            .header("x-dcache-peer-token", TOKEN)
            // Stamped as a current member stamps its requests: unstamped ones are refused
            // once the cluster version reaches 3, which races with the body being decoded.
            .header("x-dcache-cluster", "dcache")
            .body(nested_batch(depth))
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        let body = resp.bytes().unwrap();
        assert_eq!(status, 400, "depth {depth}: {body:?}");
    }
    node.http.set("after", "nested");
    node.restart();
    assert_eq!(node.http.value_of("after").map(|(v, _)| v).as_deref(), Some("nested"));
}

/// Issue 18, item 6: a read-write client token cannot add a member, so it cannot make the
/// leader send the peer token (and Raft traffic) to a URL of its choosing. A node started
/// with the peer token joins as before.
#[test]
fn a_client_token_alone_cannot_join_a_listener_and_steal_the_peer_token() {
    const CLIENT: &str = "client-token-for-the-join-test";
    // The token is the nodes' read-write client token and their join token.
    let mut c = Cluster::start_secured(3, None, Some(CLIENT), &["--peer-token", TOKEN]);
    let leader = c.leader();
    // The attacker's listener, where a successful join would send appends.
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let trap_url = format!("http://{}", trap.local_addr().unwrap());
    let http = crate::support::Http::secured(&c.node(leader).url(), None, Some(CLIENT));
    let join = serde_json::json!({"name": "thief", "peer_url": trap_url, "client_url": trap_url});
    let (status, body) = http.post_json("/api/v1/cluster/join", &join);
    assert_eq!(status, 403, "{body}");
    assert!(body.to_string().contains("peer-token"), "{body}");
    // The wrong scheme is refused by name too, even with the peer token.
    let https = serde_json::json!({"name": "thief", "peer_url": "https://127.0.0.1:1", "client_url": trap_url});
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/cluster/join", c.node(leader).url()))
        .bearer_auth(CLIENT)
        .header("x-dcache-peer-token", TOKEN)
        .json(&https)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.text().unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("must use http://"), "{body}");
    // Nothing was added, so nothing was sent to the trap.
    assert_eq!(c.status(leader)["members"].as_array().map(Vec::len), Some(3));
    assert!(
        trap.accept().is_err(),
        "the leader connected to the attacker's listener"
    );

    // A real node, started with the peer token, still joins.
    let joined = c.join(leader);
    assert!(
        wait_until(Duration::from_secs(20), || {
            c.status(leader)["members"].as_array().map(Vec::len) == Some(4)
        }),
        "node{} did not join",
        joined + 1
    );
}

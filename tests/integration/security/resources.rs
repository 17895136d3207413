//! No way down through resources: running out of file descriptors, floods of silent sockets
//! on the client and peer ports, and many watch streams never stop a node or its cluster.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use reqwest::Method;

use crate::support::{assert_error, wait_until, Cluster, Flood, Http, Node};

fn addr(url: &str) -> SocketAddr {
    url.split("://").nth(1).unwrap().parse().unwrap()
}

#[test]
fn running_out_of_file_descriptors_never_kills_the_node() {
    // ulimit -n 128 (soft and hard, so it cannot be raised), snapshots every 10 entries.
    let node = Node::start_with_nofile(128, &["--snapshot-logs", "10"]);
    // The writer's connection is open before the flood, as a busy client's would be.
    let writer = Http::new(&node.url());
    writer.set("fd/first", "before the flood");
    let flood = Flood::start(vec![addr(&node.url())], 200, Duration::from_millis(200));
    for i in 0..80 {
        let body = serde_json::json!({"key": format!("fd/{i}"), "value": "during the flood"});
        match writer.try_send(Method::POST, "/api/v1/set", None, Some(body.to_string().into_bytes())) {
            Ok((200, _)) => {}
            other => panic!(
                "write {i} during the flood failed: {other:?}; node log:\n{}",
                node.log()
            ),
        }
    }
    let snapshotted = wait_until(Duration::from_secs(10), || {
        writer.status()["snapshot_index"].as_u64().unwrap_or(0) >= 50
    });
    assert!(snapshotted, "snapshots were taken during the flood:\n{}", node.log());
    drop(flood);
    assert_eq!(
        writer.value_of("fd/79").map(|(v, _)| v).as_deref(),
        Some("during the flood")
    );
    assert_eq!(Http::new(&node.url()).health(), Some(200));
    assert!(
        node.stderr().contains("open-file limit (ulimit -n) is 128"),
        "the lowered caps must be logged:\n{}",
        node.log()
    );
}

#[test]
fn a_limit_too_low_for_any_connection_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    // Far below what a node needs: no start, and a message naming the limit and the fix.
    let out = std::process::Command::new("prlimit")
        .args(["--nofile=40:40", crate::support::BIN, "serve", "--check", "--data-dir"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("open-file limit (ulimit -n) is 40") && stderr.contains("raise it"),
        "{stderr}"
    );
}

#[test]
fn silent_sockets_on_every_port_do_not_stop_a_failover() {
    let mut cluster = Cluster::start(3, &["--max-connections", "20", "--header-read-timeout", "2s"]);
    let old = cluster.leader();
    let [a, b] = cluster.followers_of(old)[..] else {
        panic!("three nodes, one leader")
    };
    // The followers have not talked to each other since the first election, so their
    // keep-alive connections end within the head timeout: the election after the kill must
    // open new ones, through the flood.
    let (pid_a, pid_b) = (cluster.node(a).pid(), cluster.node(b).pid());
    let (port_a, port_b) = (
        addr(&cluster.node(a).peer_url()).port(),
        addr(&cluster.node(b).peer_url()).port(),
    );
    let apart = wait_until(Duration::from_secs(15), || {
        established(pid_a, port_b) == 0 && established(pid_b, port_a) == 0
    });
    assert!(apart, "the followers kept connections to each other open");
    // Four times max-connections of silent sockets on each peer port, three times on each
    // client port, reopened as soon as the node closes them.
    let peers: Vec<SocketAddr> = (0..3).map(|i| addr(&cluster.node(i).peer_url())).collect();
    let clients: Vec<SocketAddr> = (0..3).map(|i| addr(&cluster.node(i).url())).collect();
    let flood = (
        Flood::start(peers, 80, Duration::from_millis(100)),
        Flood::start(clients, 60, Duration::from_millis(100)),
    );
    cluster.kill9(old);
    let started = Instant::now();
    let rest = cluster.followers_of(old);
    let mut leader = None;
    // Election timeout 400-800 ms: a few of them, not the 7 s the flood used to cost.
    let elected = wait_until(Duration::from_secs(5), || {
        leader = rest.iter().copied().find(|&i| {
            cluster
                .node(i)
                .http
                .status_within(Duration::from_millis(500))
                .is_some_and(|s| s["role"] == "leader")
        });
        leader.is_some()
    });
    assert!(
        elected,
        "no new leader within 5 s of the kill under the flood:\n{}",
        cluster.logs()
    );
    let took = started.elapsed();
    let leader = leader.unwrap();
    cluster.node(leader).http.set("failover/under-flood", "written");
    drop(flood);
    eprintln!("new leader after {took:?} under the flood");
}

/// Established TCP connections of process `pid` to local port `port` (from `/proc`).
fn established(pid: u32, port: u16) -> usize {
    let inodes: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter_map(|l| {
                    let l = l.to_string_lossy().into_owned();
                    l.strip_prefix("socket:[")?.strip_suffix(']').map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|t| t.lines().skip(1).map(str::to_string).collect::<Vec<_>>())
        .filter(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let remote_port = cols.get(2).and_then(|r| r.rsplit(':').next());
            remote_port.and_then(|p| u16::from_str_radix(p, 16).ok()) == Some(port)
                && cols.get(3) == Some(&"01")
                && cols.get(9).is_some_and(|i| inodes.contains(*i))
        })
        .count()
}

#[test]
fn watchers_have_their_own_cap_and_never_keep_health_out() {
    let node = Node::start_with(&["--max-connections", "8", "--max-watchers", "12"]);
    // Twelve watch streams: more than max-connections, each open and streaming.
    let watchers: Vec<reqwest::blocking::Response> = (0..12)
        .map(|i| {
            let resp = reqwest::blocking::Client::builder()
                .timeout(None)
                .build()
                .unwrap()
                .get(format!("{}/api/v1/watch?prefix=w/{i}", node.url()))
                .send()
                .unwrap();
            assert_eq!(resp.status().as_u16(), 200, "watch {i}");
            resp
        })
        .collect();
    let quick = Http::with_timeout(&node.url(), Duration::from_secs(3));
    assert_eq!(quick.health(), Some(200), "/health answers beside 12 watchers");
    quick.set("w/0", "seen");
    // One more watcher is refused with a clear 503.
    let refused = quick.send(Method::GET, "/api/v1/watch?prefix=w/", None, None);
    assert_error("the 13th watcher", &refused, 503, "TOO_MANY_WATCHERS");
    // The first watcher saw the write; closing one frees a watcher slot.
    let mut first = BufReader::new(watchers.into_iter().next().unwrap());
    let mut line = String::new();
    let saw = (0..20).any(|_| {
        line.clear();
        first.read_line(&mut line).unwrap() > 0 && line.contains("\"w/0\"")
    });
    assert!(saw, "the watcher saw the write");
    drop(first);
    let freed = wait_until(Duration::from_secs(5), || {
        let mut resp = match reqwest::blocking::Client::new()
            .get(format!("{}/api/v1/watch?prefix=w/", node.url()))
            .send()
        {
            Ok(r) => r,
            Err(_) => return false,
        };
        let ok = resp.status().as_u16() == 200;
        let _ = resp.read(&mut [0u8; 1]);
        ok
    });
    assert!(freed, "a closed watch gives its slot back");
}

#[test]
fn backups_need_read_write_go_one_at_a_time_and_a_stalled_reader_loses_its_turn() {
    const RW: &str = "rw-token-0123456789abcdef";
    const RO: &str = "ro-token-0123456789abcdef";
    let node = Node::start_with(&[
        "--auth-token",
        RW,
        "--read-only-token",
        RO,
        "--header-read-timeout",
        "1s",
    ]);
    let writer = Http::secured(&node.url(), None, Some(RW));
    let reader = Http::secured(&node.url(), None, Some(RO));
    // 24 MB of values: more than the kernel buffers for a reader that stops reading.
    let value = "v".repeat(1_000_000);
    for i in 0..24 {
        writer.set(&format!("big/{i}"), &value);
    }
    assert_error(
        "a backup with a read-only token",
        &reader.get("/api/v1/snapshot"),
        403,
        "FORBIDDEN",
    );

    // A reader that asks for a backup, reads the head and stops reading.
    let mut stalled = TcpStream::connect(addr(&node.url())).unwrap();
    std::io::Write::write_all(
        &mut stalled,
        format!("GET /api/v1/snapshot HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {RW}\r\n\r\n").as_bytes(),
    )
    .unwrap();
    stalled.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = [0u8; 12];
    stalled.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200", "the first backup starts");

    assert_error(
        "a second backup while the first is sent",
        &writer.get("/api/v1/snapshot"),
        503,
        "BACKUP_IN_PROGRESS",
    );
    // After header-read-timeout without progress the stalled one is given up, and a backup
    // can be taken (whole) again.
    let full = || {
        let resp = reqwest::blocking::Client::new()
            .get(format!("{}/api/v1/snapshot", node.url()))
            .bearer_auth(RW)
            .send()
            .ok()?;
        if resp.status().as_u16() != 200 {
            return None;
        }
        let length: usize = resp.headers()["content-length"].to_str().ok()?.parse().ok()?;
        let body = resp.bytes().ok()?;
        (body.len() == length && body.starts_with(b"DCACHE-BACKUP 1\n")).then_some(length)
    };
    let mut got = None;
    let freed = wait_until(Duration::from_secs(20), || {
        got = full();
        got.is_some()
    });
    assert!(freed, "the stalled backup never gave its turn back:\n{}", node.log());
    assert!(got.unwrap() > 24_000_000);
    assert!(node.stderr().contains("stopped reading"), "{}", node.log());
    drop(stalled);
}

#[test]
fn peer_bodies_are_bounded_and_query_names_and_text_values_that_are_not_utf8_are_refused() {
    // Client body bound: 6 x (64 + 1024) + 64 KiB, about 70 KB.
    let node = Node::start_with(&["--max-key-bytes", "64", "--max-value-bytes", "1024"]);
    let peer = reqwest::blocking::Client::new();
    let post = |path: &str, len: usize| {
        // With the cluster id: once the node's cluster runs at format 3 or later a request
        // without one is refused (409) before its body is looked at.
        peer.post(format!("{}{path}", node.peer_url()))
            .header("content-type", "application/msgpack")
            .header("x-dcache-cluster", "dcache")
            .body(vec![0xc1u8; len])
            .send()
            .map(|r| r.status().as_u16())
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    };
    // 128 KiB, past the bound yet small enough for the socket buffers: a bigger body may be
    // cut off by the server's early 413 while the client still sends it (a reset, not an answer).
    assert_eq!(post("/peer/ping", 128 << 10), 413, "a 128 KiB ping");
    // A forwarded write may take eight requests' worth (one operation: about 570 KB here),
    // so a garbage one of 128 KiB is read and refused as garbage.
    assert_eq!(post("/peer/forward-write", 128 << 10), 400, "a 128 KiB forwarded write");
    assert_eq!(post("/raft/vote", 128 << 10), 413, "a 128 KiB vote");
    // Appends carry log entries and are not held to it (a garbage one is a decode error).
    assert_eq!(post("/raft/append", 1 << 20), 400, "a 1 MiB garbage append");

    // A query name, or the value of a text parameter, must be UTF-8 once decoded.
    for query in ["%FF=1", "prefix=ok&limit=%FE", "consistency=%FF"] {
        let got = node.http.get(&format!("/api/v1/keys?{query}"));
        assert_error(&format!("scan with ?{query}"), &got, 400, "INVALID_REQUEST");
        assert!(got.1["error"]["message"].as_str().unwrap().contains("UTF-8"), "{got:?}");
    }
    let got = node.http.get("/api/v1/watch?%FF=1");
    assert_error("watch with ?%FF=1", &got, 400, "INVALID_REQUEST");
    // A prefix is bytes: `%FF` and a cut UTF-8 sequence are byte prefixes, not errors.
    for query in ["prefix=%FF", "prefix=a%C3", "prefix=a&after=%FF"] {
        let got = node.http.get(&format!("/api/v1/keys?{query}"));
        assert_eq!(got.0, 200, "scan with ?{query}: {got:?}");
    }
    node.http.set("still", "serving");
    assert_eq!(
        node.http.get("/api/v1/keys?prefix=st%C3%A9").0,
        200,
        "UTF-8 escapes are fine"
    );
}

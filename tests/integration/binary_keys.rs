//! Keys that are any bytes, through real nodes: written over RESP (the `redis` crate) and
//! HTTP (percent-escaped octets, `key_base64`), read back identical on every member, after a
//! restart of every member (snapshot and log replay) and through a backup; byte-prefix
//! scans, keyspace notifications and the CLI with a key that is not UTF-8.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

use crate::resp::await_cluster_version;
use crate::support::{dcache, run_dcache, wait_until, Cluster};

/// Every byte value as a one-byte key, all of them in one key, and a few awkward ones.
fn test_keys() -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    keys.push((0..=255u8).collect());
    keys.push(b"a\r\nb".to_vec());
    keys.push(b"\xff\x00k".to_vec());
    keys.push("é/ключ".as_bytes().to_vec());
    keys
}

/// The value stored under the `i`th test key.
fn value_of(i: usize) -> Vec<u8> {
    format!("v{i}").into_bytes()
}

/// Each key's octets percent-escaped, for a URL path segment or query value.
fn enc(key: &[u8]) -> String {
    key.iter().map(|b| format!("%{b:02X}")).collect()
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// A key as JSON carries it: `key` when UTF-8, else `key_base64`.
fn json_key(v: &Value) -> Vec<u8> {
    match (
        v.get("key").and_then(Value::as_str),
        v.get("key_base64").and_then(Value::as_str),
    ) {
        (Some(text), None) => text.as_bytes().to_vec(),
        (None, Some(b)) => b64().decode(b).unwrap(),
        other => panic!("a key needs exactly one of key and key_base64: {other:?} in {v}"),
    }
}

fn resp(c: &Cluster, i: usize) -> redis::Connection {
    redis::Client::open(c.node(i).resp_url())
        .unwrap()
        .get_connection()
        .unwrap()
}

/// Every member holds every test key with its value, over RESP (MGET) and over HTTP (a
/// path GET of the awkward keys and one scan of everything, keys as `key`/`key_base64`).
fn check_all(c: &Cluster, members: usize, extra: &[(Vec<u8>, Vec<u8>)], when: &str) {
    let keys = test_keys();
    let mut want: Vec<(Vec<u8>, Vec<u8>)> = keys.iter().enumerate().map(|(i, k)| (k.clone(), value_of(i))).collect();
    want.extend_from_slice(extra);
    for i in 0..members {
        let mut con = resp(c, i);
        let got: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(want.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>())
            .query(&mut con)
            .unwrap();
        let expected: Vec<Option<Vec<u8>>> = want.iter().map(|(_, v)| Some(v.clone())).collect();
        assert!(got == expected, "node{} differs over RESP {when}", i + 1);

        let http = &c.node(i).http;
        for key in &keys[256..] {
            let (status, body) = http.get(&format!("/api/v1/get/{}", enc(key)));
            assert_eq!(status, 200, "node{} GET {key:?} {when}: {body}", i + 1);
            assert_eq!(json_key(&body["data"]), *key, "{body}");
            let is_text = std::str::from_utf8(key).is_ok();
            assert_eq!(
                body["data"].get("key").is_some(),
                is_text,
                "text keys stay `key`: {body}"
            );
        }
        let (status, body) = http.get("/api/v1/keys?limit=10000");
        assert_eq!(status, 200, "{body}");
        let mut listed: Vec<(Vec<u8>, Vec<u8>)> = body["data"]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|kv| !kv["key"].as_str().is_some_and(|k| k.starts_with("fill:")))
            .map(|kv| (json_key(kv), kv["value"].as_str().unwrap().as_bytes().to_vec()))
            .collect();
        let in_order = listed.windows(2).all(|w| w[0].0 < w[1].0);
        assert!(in_order, "node{}: a scan lists keys in byte order {when}", i + 1);
        listed.sort();
        let mut sorted = want.clone();
        sorted.sort();
        assert!(listed == sorted, "node{} differs over HTTP {when}", i + 1);
    }
}

#[test]
fn binary_keys_are_identical_on_every_member_after_restarts_and_through_a_backup() {
    let mut c = Cluster::start(3, &["--snapshot-logs", "40"]);
    await_cluster_version(&(0..3).map(|i| &c.node(i).http).collect::<Vec<_>>());
    let leader = c.leader();
    let followers = c.followers_of(leader);
    let mut con = resp(&c, followers[0]);

    // A subscriber on the other follower, for keys starting with 0xFF.
    let mut sub = resp(&c, followers[1]);
    let mut pubsub = sub.as_pubsub();
    pubsub.psubscribe(&b"__keyspace@0__:\xff*"[..]).unwrap();
    pubsub.set_read_timeout(Some(Duration::from_secs(20))).unwrap();

    // Over RESP through a follower: every test key but the last two.
    let keys = test_keys();
    let mut pipe = redis::pipe();
    for (i, key) in keys.iter().enumerate().take(keys.len() - 2) {
        pipe.cmd("SET").arg(key).arg(value_of(i)).ignore();
    }
    pipe.query::<()>(&mut con).unwrap();
    // Over HTTP: one with `key_base64` in the body, the last with text `key`.
    let n = keys.len();
    let (status, body) = c.node(leader).http.post_json(
        "/api/v1/set",
        &json!({"key_base64": b64().encode(&keys[n - 2]), "value": "v".to_string() + &(n - 2).to_string()}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_key(&body["data"]), keys[n - 2]);
    assert_eq!(body["data"].get("key"), None, "{body}");
    let (status, body) = c.node(leader).http.post_json(
        "/api/v1/set",
        &json!({"key": std::str::from_utf8(&keys[n - 1]).unwrap(), "value": format!("v{}", n - 1)}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["key"], "é/ключ", "text keys answer as before: {body}");
    // Both `key` and `key_base64`, or neither: 400 naming the field.
    for bad in [
        json!({"key": "a", "key_base64": "YQ==", "value": "v"}),
        json!({"value": "v"}),
    ] {
        let (status, body) = c.node(leader).http.post_json("/api/v1/set", &bad);
        assert_eq!(status, 400, "{bad} -> {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("key_base64"),
            "{body}"
        );
    }

    // The keyspace notification names the key's bytes exactly.
    let msg = pubsub.get_message().unwrap();
    assert_eq!(msg.get_channel::<Vec<u8>>().unwrap(), b"__keyspace@0__:\xff".to_vec());
    assert_eq!(msg.get_payload::<Vec<u8>>().unwrap(), b"set".to_vec());
    drop(pubsub);

    // Glob over bytes, a byte-prefix scan over HTTP, RENAME and DEL of binary keys.
    let mut matched: Vec<Vec<u8>> = redis::cmd("KEYS").arg(&b"\xff*"[..]).query(&mut con).unwrap();
    matched.sort();
    assert_eq!(matched, vec![b"\xff".to_vec(), b"\xff\x00k".to_vec()]);
    let (status, body) = c.node(followers[0]).http.get("/api/v1/keys?prefix=%FF");
    assert_eq!(status, 200, "{body}");
    let scanned: Vec<Vec<u8>> = body["data"]["keys"].as_array().unwrap().iter().map(json_key).collect();
    assert_eq!(scanned, vec![b"\xff".to_vec(), b"\xff\x00k".to_vec()], "{body}");
    assert_eq!(body["data"]["prefix_base64"], "/w==", "{body}");
    let _: () = redis::cmd("SET")
        .arg(&b"\xfe\x01tmp"[..])
        .arg("moved")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("RENAME")
        .arg(&b"\xfe\x01tmp"[..])
        .arg(&b"\xfe\x02renamed"[..])
        .query(&mut con)
        .unwrap();
    let (status, body) = c.node(leader).http.get(&format!("/api/v1/get/{}", enc(b"\xfe\x01tmp")));
    assert_eq!(status, 404, "{body}");
    let (status, body) = c
        .node(leader)
        .http
        .get(&format!("/api/v1/get/{}", enc(b"\xfe\x02renamed")));
    assert_eq!((status, body["data"]["value"].clone()), (200, json!("moved")), "{body}");
    assert_eq!(body["data"]["key_base64"], b64().encode(b"\xfe\x02renamed"), "{body}");

    // The CLI takes the key as raw argument bytes and prints it escaped.
    let cli_key = OsStr::from_bytes(b"\xfd cli\x01");
    let url = c.node(followers[1]).url();
    let out = dcache(Some(&url))
        .arg("set")
        .arg(cli_key)
        .arg("from-cli")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = dcache(Some(&url)).arg("get").arg(cli_key).output().unwrap();
    assert_eq!(out.stdout, b"from-cli\n", "{out:?}");
    let out = dcache(Some(&url))
        .arg("scan")
        .arg(OsStr::from_bytes(b"\xfd "))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "\\xfd cli\\x01\tfrom-cli\n",
        "{out:?}"
    );
    let (out, what) = run_dcache(dcache(Some(&url)), &["scan", "--all", "-o", "json"]);
    assert!(out.status.success(), "{what}");
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let has_cli_key = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|kv| kv["key_base64"] == b64().encode(b"\xfd cli\x01"));
    assert!(has_cli_key, "{what}");
    let extra = vec![
        (b"\xfd cli\x01".to_vec(), b"from-cli".to_vec()),
        (b"\xfe\x02renamed".to_vec(), b"moved".to_vec()),
    ];
    check_all(&c, 3, &extra, "after the writes");

    // Past --snapshot-logs on every member, then a restart of all of them.
    let mut pipe = redis::pipe();
    for i in 0..100 {
        pipe.cmd("SET").arg(format!("fill:{i}")).arg(i).ignore();
        // A read between writes: each write its own log entry, not one pipelined batch.
        pipe.cmd("GET").arg("fill:0").ignore();
    }
    pipe.query::<()>(&mut con).unwrap();
    for i in 0..3 {
        let mut status = Value::Null;
        assert!(
            wait_until(Duration::from_secs(20), || {
                status = c.status(i);
                status["snapshot_index"].as_u64().unwrap_or(0) > 0
            }),
            "node{} took no snapshot: {status:#}",
            i + 1
        );
    }
    // And a few entries after the snapshots, replayed from the log.
    let _: () = redis::cmd("SET")
        .arg(&b"\xff\xfflast"[..])
        .arg("log")
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("DEL").arg(&b"\xfe\x02renamed"[..]).query(&mut con).unwrap();
    let extra = vec![
        (b"\xfd cli\x01".to_vec(), b"from-cli".to_vec()),
        (b"\xff\xfflast".to_vec(), b"log".to_vec()),
    ];
    c.restart_many(&[0, 1, 2]);
    check_all(&c, 3, &extra, "after restarting every member");

    // Through a backup into a new one-node cluster.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("binary-keys.backup").display().to_string();
    let (out, what) = run_dcache(dcache(Some(&c.node(0).url())), &["backup", "save", &file]);
    assert!(out.status.success(), "{what}");
    drop(c);
    let target = Cluster::start_prepared(1, &[], &mut |nodes| {
        let node = &nodes[0];
        let initial = format!("{}={}", node.name(), node.peer_url());
        let args = crate::backup::restore_args(&file, node, &initial, &node.peer_url(), &node.url());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (out, what) = run_dcache(dcache(None), &args);
        assert!(out.status.success(), "{what}");
        Vec::new()
    });
    check_all(&target, 1, &extra, "after a restore from a backup");
}

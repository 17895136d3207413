//! The client HTTP API of one node: set/get/delete/scan, versions, odd keys, the status and
//! leader routes, and every kind of bad request (status, error code, envelope, and that the
//! node keeps serving afterwards). Uses only `support`; starts its own nodes.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{assert_error, data, enc, wait_until, Http, Node};

/// Keys that must survive URL encoding and storage unchanged.
const ODD_KEYS: &[&str] = &["a/b/c", "user:1", "with space", "ключ", "emoji😀", "q?x=1&y#z", "100%"];

#[test]
fn set_get_delete_round_trip() {
    let node = Node::start();
    let http = &node.http;

    let v1 = http.set("greeting", "hello");
    let got = data("get greeting", http.get_key("greeting", None));
    assert_eq!(got, json!({"key": "greeting", "value": "hello", "version": v1}));

    assert!(
        http.delete("greeting"),
        "deleting an existing key must answer deleted=true"
    );
    assert_error(
        "get after delete",
        &http.get_key("greeting", None),
        404,
        "KEY_NOT_FOUND",
    );
    assert!(
        !http.delete("greeting"),
        "deleting a missing key must answer deleted=false"
    );
    assert!(
        !http.delete("never-set"),
        "deleting a never-set key must answer deleted=false"
    );

    // An empty value is a value, not an absence.
    let v2 = http.set("empty", "");
    assert_eq!(http.value_of("empty"), Some((String::new(), v2)));
}

#[test]
fn versions_increase_with_every_write() {
    let node = Node::start();
    let http = &node.http;

    let a1 = http.set("v/a", "1");
    let b1 = http.set("v/b", "1");
    let a2 = http.set("v/a", "2");
    assert!(a1 < b1 && b1 < a2, "versions must increase: {a1}, {b1}, {a2}");
    assert_eq!(
        http.value_of("v/a"),
        Some(("2".to_string(), a2)),
        "get must show the last write"
    );
    assert_eq!(http.value_of("v/b"), Some(("1".to_string(), b1)));

    // A delete is a write too: a key set again afterwards gets a newer version.
    assert!(http.delete("v/a"));
    let a3 = http.set("v/a", "3");
    assert!(a3 > a2 + 1, "delete must take a log index between {a2} and {a3}");
}

#[test]
fn odd_keys_round_trip_through_get_delete_and_scan() {
    let node = Node::start();
    let http = &node.http;

    for (i, key) in ODD_KEYS.iter().enumerate() {
        let value = format!("value of {key} / №{i} ✓");
        let version = http.set(key, &value);
        assert_eq!(http.value_of(key), Some((value.clone(), version)), "key {key:?}");
    }
    // Percent-encoding must not collapse keys into each other.
    assert_eq!(http.value_of("a"), None, "`a/b/c` must not be stored as `a`");
    assert_eq!(http.value_of("with"), None);

    let all = http.scan("", None);
    let mut names: Vec<&str> = all["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    let mut expected = ODD_KEYS.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected, "scan of everything must list exactly the odd keys");

    let slash = http.scan("a/", None);
    assert_eq!(slash["keys"][0]["key"], json!("a/b/c"));
    assert_eq!(slash["count"], json!(1));
    let cyrillic = http.scan("клю", None);
    assert_eq!(cyrillic["keys"][0]["key"], json!("ключ"), "UTF-8 prefixes must match");

    for key in ODD_KEYS {
        assert!(http.delete(key), "delete {key:?}");
        assert_eq!(http.value_of(key), None, "{key:?} must be gone");
    }
    assert_eq!(http.scan("", None)["count"], json!(0));
}

#[test]
fn every_consistency_level_reads_the_latest_write() {
    let node = Node::start();
    let http = &node.http;
    let version = http.set("c", "latest");
    for level in ["linearizable", "lease", "local"] {
        let got = data(&format!("get ?consistency={level}"), http.get_key("c", Some(level)));
        assert_eq!(
            got,
            json!({"key": "c", "value": "latest", "version": version}),
            "consistency={level}"
        );
        assert_error(
            &format!("missing ?consistency={level}"),
            &http.get_key("nope", Some(level)),
            404,
            "KEY_NOT_FOUND",
        );
    }
}

#[test]
fn scan_honours_prefix_limit_and_truncated() {
    let node = Node::start();
    let http = &node.http;
    for key in ["p/03", "p/01", "q/1", "p/02", "p", "o/9"] {
        http.set(key, &format!("val-{key}"));
    }

    let p = http.scan("p/", None);
    let listed: Vec<Value> = p["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| json!([k["key"], k["value"]]))
        .collect();
    assert_eq!(
        listed,
        vec![
            json!(["p/01", "val-p/01"]),
            json!(["p/02", "val-p/02"]),
            json!(["p/03", "val-p/03"])
        ]
    );
    assert_eq!(p["truncated"], json!(false));
    assert!(
        p["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["version"].as_u64().unwrap_or(0) > 0),
        "{p}"
    );

    let two = http.scan("p/", Some(2));
    let names: Vec<&str> = two["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["p/01", "p/02"], "a limit keeps the first keys in order");
    assert_eq!(two["truncated"], json!(true), "more keys matched than the limit: {two}");

    let exact = http.scan("p/", Some(3));
    assert_eq!(exact["count"], json!(3));
    assert_eq!(
        exact["truncated"],
        json!(false),
        "exactly `limit` keys matched: {exact}"
    );

    let everything = http.scan("", None);
    assert_eq!(everything["count"], json!(6));
    assert_eq!(everything["keys"][0]["key"], json!("o/9"));
    assert_eq!(http.scan("zzz", None)["count"], json!(0));

    // No prefix parameter at all means every key.
    let (status, body) = http.scan_raw(None, None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["count"], json!(6));
}

#[test]
fn scan_defaults_to_100_keys_and_accepts_the_limit_bounds() {
    let node = Node::start();
    let http = &node.http;
    let items: Vec<(String, String)> = (0..105).map(|i| (format!("d/{i:03}"), i.to_string())).collect();
    crate::support::parallel_set(&node.url(), &items, 4);

    let default = http.scan("d/", None);
    assert_eq!(default["count"], json!(100), "default limit is 100");
    assert_eq!(default["truncated"], json!(true));
    assert_eq!(default["keys"][99]["key"], json!("d/099"));

    let one = http.scan("d/", Some(1));
    assert_eq!(one["count"], json!(1));
    assert_eq!(
        one["keys"][0],
        json!({"key": "d/000", "value": "0", "version": one["keys"][0]["version"]})
    );
    let max = http.scan("d/", Some(10_000));
    assert_eq!(max["count"], json!(105));
    assert_eq!(max["truncated"], json!(false));
}

#[test]
fn cluster_status_and_leader_describe_the_single_node() {
    let node = Node::start();
    let http = &node.http;
    http.set("s/1", "x");
    let v2 = http.set("s/2", "yy");

    let s = http.status();
    assert_eq!(s["name"], json!("node1"), "{s}");
    assert_eq!(s["role"], json!("leader"), "{s}");
    let id = s["id"].as_u64().unwrap_or_else(|| panic!("numeric id in {s}"));
    assert!(s["term"].as_u64().unwrap_or(0) >= 1, "term in {s}");
    assert_eq!(s["leader"]["id"], json!(id), "{s}");
    assert_eq!(s["leader"]["name"], json!("node1"), "{s}");
    assert_eq!(s["leader"]["client_url"], json!(node.url()), "{s}");
    // Raft's metrics may trail the acknowledged write by a moment; they must catch up.
    let mut s = s;
    let index = |s: &Value, field: &str| s[field].as_u64().unwrap_or_else(|| panic!("numeric {field} in {s}"));
    let caught_up = wait_until(Duration::from_secs(5), || {
        s = http.status();
        index(&s, "applied") >= v2
    });
    assert!(caught_up, "applied must reach the last write's version {v2}: {s}");
    let (last, committed, applied) = (
        index(&s, "last_log_index"),
        index(&s, "committed"),
        index(&s, "applied"),
    );
    assert!(applied <= committed && committed <= last, "log indexes in {s}");
    assert!(s["snapshot_index"].is_u64(), "{s}");
    assert_eq!(s["key_count"], json!(2), "{s}");
    assert!(s["approx_bytes"].as_u64().unwrap_or(0) > 0, "{s}");
    assert!(s["uptime_secs"].is_u64(), "{s}");
    assert!(s["version"].as_str().is_some_and(|v| !v.is_empty()), "{s}");
    let members = s["members"]
        .as_array()
        .unwrap_or_else(|| panic!("members array in {s}"));
    assert_eq!(members.len(), 1, "{s}");
    assert_eq!(members[0]["id"], json!(id));
    assert_eq!(members[0]["name"], json!("node1"));
    assert_eq!(members[0]["client_url"], json!(node.url()));
    assert!(
        members[0]["peer_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:")),
        "{s}"
    );
    assert_eq!(members[0]["voter"], json!(true));

    let leader = data("cluster leader", http.get("/api/v1/cluster/leader"));
    assert_eq!(leader, json!({"id": id, "name": "node1", "client_url": node.url()}));
}

/// Asserts the node still answers /health with 200 and serves a normal write and read.
fn assert_still_serving(http: &Http, after: &str) {
    assert_eq!(http.health(), Some(200), "/health after {after}");
    let version = http.set("canary", after);
    assert_eq!(
        http.value_of("canary"),
        Some((after.to_string(), version)),
        "canary after {after}"
    );
}

/// One bad request: what it is, how to send it, and the expected status and code.
type Case<'a> = (&'a str, Box<dyn Fn() -> (u16, Value) + 'a>, u16, &'a str);

#[test]
fn bad_requests_get_an_error_envelope_and_the_node_keeps_serving() {
    let node = Node::start();
    let http = &node.http;
    let json = Some("application/json");
    let (bad, wrong) = ("INVALID_REQUEST", "METHOD_NOT_ALLOWED");

    let cases: Vec<Case<'_>> = vec![
        (
            "malformed JSON",
            raw_set(http, json, r#"{"key": "k", "value":"#),
            400,
            bad,
        ),
        ("form-encoded body", raw_set(http, json, "key=k&value=v"), 400, bad),
        ("empty body", raw_set(http, json, ""), 400, bad),
        ("missing value", raw_set(http, json, r#"{"key":"k"}"#), 400, bad),
        ("missing key", raw_set(http, json, r#"{"value":"v"}"#), 400, bad),
        ("numeric key", raw_set(http, json, r#"{"key":1,"value":"v"}"#), 400, bad),
        (
            "numeric value",
            raw_set(http, json, r#"{"key":"k","value":5}"#),
            400,
            bad,
        ),
        (
            "null value",
            raw_set(http, json, r#"{"key":"k","value":null}"#),
            400,
            bad,
        ),
        ("empty key", raw_set(http, json, r#"{"key":"","value":"v"}"#), 400, bad),
        (
            "key of 4097 bytes",
            json_set(http, json!({"key": "k".repeat(4097), "value": "v"})),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            "value of 1 MiB + 1 byte",
            json_set(http, json!({"key": "big", "value": "v".repeat(1024 * 1024 + 1)})),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            "value of 3 MiB",
            json_set(http, json!({"key": "huge", "value": "v".repeat(3 * 1024 * 1024)})),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (
            "consistency=bogus",
            call(http, Method::GET, "/api/v1/get/k?consistency=bogus"),
            400,
            bad,
        ),
        (
            "scan limit=0",
            call(http, Method::GET, "/api/v1/keys?prefix=p&limit=0"),
            400,
            bad,
        ),
        (
            "scan limit=10001",
            call(http, Method::GET, "/api/v1/keys?prefix=p&limit=10001"),
            400,
            bad,
        ),
        (
            "scan limit=-1",
            call(http, Method::GET, "/api/v1/keys?prefix=p&limit=-1"),
            400,
            bad,
        ),
        (
            "scan limit=abc",
            call(http, Method::GET, "/api/v1/keys?prefix=p&limit=abc"),
            400,
            bad,
        ),
        (
            "unknown path",
            call(http, Method::GET, "/api/v1/nope"),
            404,
            "NOT_FOUND",
        ),
        ("unknown root path", call(http, Method::GET, "/nope"), 404, "NOT_FOUND"),
        (
            "POST to unknown path",
            json_set_at(http, "/api/v2/set"),
            404,
            "NOT_FOUND",
        ),
        ("GET on set", call(http, Method::GET, "/api/v1/set"), 405, wrong),
        ("POST on get", call(http, Method::POST, "/api/v1/get/k"), 405, wrong),
        ("PUT on delete", call(http, Method::PUT, "/api/v1/delete/k"), 405, wrong),
        ("DELETE on keys", call(http, Method::DELETE, "/api/v1/keys"), 405, wrong),
        ("DELETE on get", call(http, Method::DELETE, "/api/v1/get/k"), 405, wrong),
    ];
    for (what, send, status, code) in &cases {
        assert_error(what, &send(), *status, code);
        assert_still_serving(http, what);
    }
    for key in ["k", "big", "huge"] {
        assert_eq!(http.value_of(key), None, "a rejected write stored {key:?}");
    }
}

#[test]
fn a_json_array_body_is_not_a_set_request() {
    // serde's derived Deserialize also accepts a struct written as a sequence; the API
    // promises an object with `key` and `value`, so `["k","v"]` must be refused.
    let node = Node::start();
    let http = &node.http;
    let got = http.send(
        Method::POST,
        "/api/v1/set",
        Some("application/json"),
        Some(br#"["k","v"]"#.to_vec()),
    );
    assert_error("set with body [\"k\",\"v\"]", &got, 400, "INVALID_REQUEST");
    assert_eq!(http.value_of("k"), None, "the array body must not have stored `k`");
    assert_still_serving(http, "array body");
}

#[test]
fn a_json_set_is_accepted_whatever_the_content_type() {
    // Like the original dcache (and so that `curl -d` works), the content type is not
    // checked; the body must be a JSON object either way.
    let node = Node::start();
    let http = &node.http;
    let body = br#"{"key":"k","value":"v"}"#;
    for ct in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let (status, _) = http.send(Method::POST, "/api/v1/set", ct, Some(body.to_vec()));
        assert_eq!(status, 200, "set with content type {ct:?}");
    }
    assert_eq!(http.value_of("k").map(|(v, _)| v).as_deref(), Some("v"));
}

/// A set with a raw body and content type.
fn raw_set<'a>(http: &'a Http, ct: Option<&'static str>, body: &'static str) -> Box<dyn Fn() -> (u16, Value) + 'a> {
    Box::new(move || http.send(Method::POST, "/api/v1/set", ct, Some(body.as_bytes().to_vec())))
}

/// A set with a JSON body.
fn json_set(http: &Http, body: Value) -> Box<dyn Fn() -> (u16, Value) + '_> {
    Box::new(move || http.post_json("/api/v1/set", &body))
}

/// A bodiless request.
fn call<'a>(http: &'a Http, method: Method, path: &'static str) -> Box<dyn Fn() -> (u16, Value) + 'a> {
    Box::new(move || http.send(method.clone(), path, None, None))
}

/// A valid set body posted to `path`.
fn json_set_at<'a>(http: &'a Http, path: &'static str) -> Box<dyn Fn() -> (u16, Value) + 'a> {
    Box::new(move || http.post_json(path, &json!({"key": "k", "value": "v"})))
}

#[test]
fn limits_are_inclusive_and_follow_the_serve_flags() {
    let node = Node::start_with(&["--max-key-bytes", "8", "--max-value-bytes", "16"]);
    let http = &node.http;

    let version = http.set("12345678", "0123456789abcdef");
    assert_eq!(
        http.value_of("12345678"),
        Some(("0123456789abcdef".to_string(), version)),
        "limits are inclusive"
    );
    // Limits count bytes, not characters: "ключ" is 4 characters but 8 bytes.
    http.set("ключ", "v");
    let over_key = http.post_json("/api/v1/set", &json!({"key": "123456789", "value": "v"}));
    assert_error(
        "key of 9 bytes with --max-key-bytes 8",
        &over_key,
        413,
        "PAYLOAD_TOO_LARGE",
    );
    let over_key_utf8 = http.post_json("/api/v1/set", &json!({"key": "ключ1", "value": "v"}));
    assert_error(
        "9-byte UTF-8 key with --max-key-bytes 8",
        &over_key_utf8,
        413,
        "PAYLOAD_TOO_LARGE",
    );
    let over_value = http.post_json("/api/v1/set", &json!({"key": "k", "value": "0123456789abcdefg"}));
    assert_error(
        "value of 17 bytes with --max-value-bytes 16",
        &over_value,
        413,
        "PAYLOAD_TOO_LARGE",
    );
    let over_value_utf8 = http.post_json("/api/v1/set", &json!({"key": "k", "value": "ёёёёёёёёё"}));
    assert_error(
        "18-byte UTF-8 value with --max-value-bytes 16",
        &over_value_utf8,
        413,
        "PAYLOAD_TOO_LARGE",
    );
    assert_eq!(http.value_of("k"), None, "a rejected write must not be stored");
    assert_still_serving(http, "oversize");
}

#[test]
fn oversized_keys_are_rejected_on_read_and_delete_routes_too() {
    let node = Node::start_with(&["--max-key-bytes", "8"]);
    let http = &node.http;
    let key = enc("123456789");
    assert_error(
        "get of a 9-byte key",
        &http.get(&format!("/api/v1/get/{key}")),
        413,
        "PAYLOAD_TOO_LARGE",
    );
    let del = http.send(Method::DELETE, &format!("/api/v1/delete/{key}"), None, None);
    assert_error("delete of a 9-byte key", &del, 413, "PAYLOAD_TOO_LARGE");
    assert_still_serving(http, "oversized keys on read routes");
}

//! Random bodies for `POST /api/v1/set` and `POST /api/v1/batch`: arbitrary bytes, truncated
//! JSON, wrong types, deep nesting, unknown fields, strings past the limits, bodies past the
//! body limit, under random content types and content encodings. Runs one node with small
//! limits so oversized input stays cheap.

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::{addr_of, assert_still_serving, check_api, exchange, request, run_cases, ANSWER_TIMEOUT};
use crate::support::Node;

const MAX_KEY: usize = 64;
const MAX_VALUE: usize = 1024;
/// The body limit docs/http-api.md gives: 6 x (max-key-bytes + max-value-bytes) + 64 KiB.
const MAX_BODY: usize = 6 * (MAX_KEY + MAX_VALUE) + 64 * 1024;

/// A body and what the node must answer to it, when that is certain.
#[derive(Debug, Clone)]
struct Body {
    bytes: Vec<u8>,
    /// `(status, code)` the answer must have; `None` when any non-5xx answer will do.
    expect: Option<(u16, &'static str)>,
    /// A key that a refused request must not have stored.
    not_stored: Option<String>,
}

fn body(bytes: Vec<u8>) -> Body {
    Body {
        bytes,
        expect: None,
        not_stored: None,
    }
}

fn refused(value: &Value, status: u16, code: &'static str, key: Option<String>) -> Body {
    Body {
        bytes: value.to_string().into_bytes(),
        expect: Some((status, code)),
        not_stored: key,
    }
}

/// Any JSON value, leaves weighted towards the awkward ones.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::from),
        "[a-z]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec(("[a-z_]{0,8}", inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A set request object: each known field present or not, valid or of any type, and maybe
/// an unknown field.
fn set_object() -> impl Strategy<Value = Value> {
    let key = prop_oneof![6 => "[a-z/]{1,12}".prop_map(Value::from), 1 => json_value()];
    let value = prop_oneof![6 => ".{0,16}".prop_map(Value::from), 1 => json_value()];
    let number = prop_oneof![
        4 => (0u64..100_000).prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => json_value(),
    ];
    (
        proptest::option::weighted(0.9, key),
        proptest::option::weighted(0.9, value),
        proptest::option::weighted(0.3, number.clone()),
        proptest::option::weighted(0.3, number),
        proptest::option::weighted(0.1, ("[a-z_]{1,8}", json_value())),
    )
        .prop_map(|(key, value, ttl, ifv, extra)| {
            let mut o = serde_json::Map::new();
            let fields = [("key", key), ("value", value), ("ttl_ms", ttl), ("if_version", ifv)];
            for (name, v) in fields {
                if let Some(v) = v {
                    o.insert(name.into(), v);
                }
            }
            if let Some((name, v)) = extra {
                o.insert(name, v);
            }
            Value::Object(o)
        })
}

/// A batch: random operations (set, delete, unknown), or none, or too many.
fn batch_object() -> impl Strategy<Value = Value> {
    let op = prop_oneof![
        3 => set_object().prop_map(|mut o| {
            o["op"] = json!("set");
            o
        }),
        3 => ("[a-z/]{1,12}", proptest::option::weighted(0.3, 0u64..100)).prop_map(|(k, v)| match v {
            Some(v) => json!({"op": "delete", "key": k, "if_version": v}),
            None => json!({"op": "delete", "key": k}),
        }),
        1 => (json_value(), json_value()).prop_map(|(op, key)| json!({"op": op, "key": key})),
        1 => json_value(),
    ];
    prop_oneof![
        8 => vec(op, 0..6).prop_map(|ops| json!({ "ops": ops })),
        1 => json_value().prop_map(|ops| json!({ "ops": ops })),
        1 => set_object(),
    ]
}

/// Bodies of every kind; the route (`batch` or not) shapes the valid ones.
fn body_for(batch: bool) -> BoxedStrategy<Body> {
    let object = if batch {
        batch_object().boxed()
    } else {
        set_object().boxed()
    };
    let wrap = move |v: Value| -> Value {
        if batch {
            json!({"ops": [v]})
        } else {
            v
        }
    };
    let set_op = move |v: Value| -> Value {
        if batch {
            let mut v = v;
            v["op"] = json!("set");
            v
        } else {
            v
        }
    };
    prop_oneof![
        2 => vec(any::<u8>(), 0..256).prop_map(body),
        6 => object.clone().prop_map(|v| body(v.to_string().into_bytes())),
        2 => (object, any::<prop::sample::Index>()).prop_map(|(v, cut)| {
            let text = v.to_string().into_bytes();
            body(text[..cut.index(text.len())].to_vec())
        }),
        1 => (1usize..3000, any::<bool>()).prop_map(|(depth, arrays)| {
            let (open, close) = if arrays { ("[", "]") } else { ("{\"a\":", "}") };
            let nested = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            body(format!(r#"{{"key":{nested},"value":"v"}}"#).into_bytes())
        }),
        1 => proptest::sample::select(
            &["18446744073709551616", "-1", "1e400", "1.5", "-0", "0", "315360000001", "NaN", "Infinity", "0x10"][..]
        )
        .prop_map(move |n| {
            let one = format!(r#"{{"key":"n","value":"v","ttl_ms":{n}}}"#);
            let one = if batch { one.replacen('{', r#"{"op":"set","#, 1) } else { one };
            body(if batch { format!(r#"{{"ops":[{one}]}}"#) } else { one }.into_bytes())
        }),
        // Past the value limit, the key limit, and the body limit: 413 and nothing stored.
        1 => (MAX_VALUE + 1..MAX_VALUE * 3, 0u32..1000).prop_map(move |(n, id)| {
            let key = format!("big/{id}");
            refused(&wrap(set_op(json!({"key": key, "value": "v".repeat(n)}))), 413, "PAYLOAD_TOO_LARGE", Some(key))
        }),
        1 => (MAX_KEY + 1..MAX_KEY * 4).prop_map(move |n| {
            // Not looked up afterwards: a get of so long a key is itself refused.
            refused(&wrap(set_op(json!({"key": "k".repeat(n), "value": "v"}))), 413, "PAYLOAD_TOO_LARGE", None)
        }),
        1 => (MAX_BODY + 1..MAX_BODY + 4096, 0u32..1000).prop_map(move |(n, id)| {
            let key = format!("huge/{id}");
            let mut b = refused(&wrap(set_op(json!({"key": key, "value": ""}))), 413, "PAYLOAD_TOO_LARGE", Some(key));
            // Whitespace is valid JSON, so only the size is wrong.
            b.bytes.resize(n, b' ');
            b
        }),
        // Unicode that only passes the limit in bytes, not characters.
        1 => (0u32..1000).prop_map(move |id| {
            let key = format!("wide/{id}");
            let value = "ё".repeat(MAX_VALUE / 2 + 1);
            refused(&wrap(set_op(json!({"key": key, "value": value}))), 413, "PAYLOAD_TOO_LARGE", Some(key))
        }),
    ]
    .boxed()
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    proptest::option::weighted(
        0.8,
        proptest::sample::select(
            &[
                "application/json",
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "application/json; charset=utf-16",
                "application/octet-stream",
                "*/*",
                "",
                "json",
            ][..],
        ),
    )
}

fn content_encoding() -> impl Strategy<Value = Option<&'static str>> {
    proptest::option::weighted(
        0.3,
        proptest::sample::select(&["gzip", "deflate", "br", "identity", "gzip, gzip", "zstd", "x-nonsense"][..]),
    )
}

#[test]
fn random_set_and_batch_bodies_are_refused_with_the_envelope_or_applied() {
    let node = Node::start_with(&["--max-key-bytes", "64", "--max-value-bytes", "1024"]);
    let addr = addr_of(&node);
    let http = &node.http;
    let case = any::<bool>().prop_flat_map(|batch| (Just(batch), body_for(batch), content_type(), content_encoding()));
    run_cases(256, case, |(batch, body, ct, ce)| {
        let path = if batch { "/api/v1/batch" } else { "/api/v1/set" };
        let mut headers = Vec::new();
        headers.extend(ct.map(|t| ("Content-Type", t)));
        headers.extend(ce.map(|e| ("Content-Encoding", e)));
        let shown: String = String::from_utf8_lossy(&body.bytes).chars().take(300).collect();
        let what = format!("POST {path} {headers:?} with {} bytes {shown:?}", body.bytes.len());
        let answer = exchange(
            addr,
            &request("POST", path.as_bytes(), &headers, &body.bytes),
            ANSWER_TIMEOUT,
        )
        .unwrap_or_else(|e| panic!("{what}: no answer: {e}\nnode log:\n{}", node.log()));
        let code = check_api(&what, &answer);
        if let Some((status, want)) = body.expect {
            assert_eq!(
                (answer.status, code.as_deref()),
                (status, Some(want)),
                "{what}: {}",
                answer.describe()
            );
        }
        if let Some(key) = &body.not_stored {
            assert_eq!(http.value_of(key), None, "{what}: a refused write stored {key:?}");
        }
        assert_still_serving(http, &what);
    });
}

#[test]
fn a_batch_of_more_than_1000_operations_is_refused() {
    let node = Node::start();
    let addr = addr_of(&node);
    let ops: Vec<Value> = (0..1001)
        .map(|i| json!({"op": "set", "key": format!("many/{i}"), "value": "v"}))
        .collect();
    let body = json!({ "ops": ops }).to_string();
    let answer = exchange(
        addr,
        &request("POST", b"/api/v1/batch", &[], body.as_bytes()),
        ANSWER_TIMEOUT,
    )
    .unwrap();
    let code = check_api("batch of 1001 ops", &answer);
    assert_eq!(
        (answer.status, code.as_deref()),
        (400, Some("INVALID_REQUEST")),
        "{}",
        answer.describe()
    );
    assert_eq!(
        node.http.value_of("many/0"),
        None,
        "a refused batch stored its first key"
    );
    assert_still_serving(&node.http, "batch of 1001 ops");
}

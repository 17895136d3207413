//! Random query strings on the read, delete, scan and watch routes: `consistency`, `limit`,
//! `prefix`, `if_version` and `from_version` with negative, huge, empty, repeated and
//! non-UTF-8 values, and unknown names. Predicts each answer from the rules in docs/http-api.md.

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::Value;

use super::{addr_of, assert_still_serving, check_api, exchange, request, run_cases, Answer, ANSWER_TIMEOUT};
use crate::support::Node;

/// The routes under test, the parameters each accepts, and how it is called.
#[derive(Debug, Clone, Copy)]
enum Route {
    Get,
    Delete,
    Keys,
    Watch,
}

impl Route {
    fn call(self) -> (&'static str, &'static str) {
        match self {
            Route::Get => ("GET", "/api/v1/get/q/key"),
            Route::Delete => ("DELETE", "/api/v1/delete/q/gone"),
            Route::Keys => ("GET", "/api/v1/keys"),
            Route::Watch => ("GET", "/api/v1/watch"),
        }
    }

    fn params(self) -> &'static [&'static str] {
        match self {
            Route::Get => &["consistency"],
            Route::Delete => &["if_version"],
            Route::Keys => &["prefix", "limit", "consistency"],
            Route::Watch => &["prefix", "from_version"],
        }
    }
}

/// A query value as sent (already URI-legal).
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        (0u64..20_000).prop_map(|n| n.to_string()),
        proptest::sample::select(
            &[
                "",
                "0",
                "-0",
                "+5",
                "%2B5",
                "05",
                "1e3",
                "0x10",
                "5.0",
                "%205",
                "NaN",
                "18446744073709551615",
                "18446744073709551616",
                "340282366920938463463374607431768211456",
                "10000",
                "10001",
                "linearizable",
                "lease",
                "local",
                "serializable",
                "LOCAL",
                "local%00",
                "%FF%FE",
                "%C0%AF",
                "%ZZ",
                "%",
                "a+b",
                "%26limit%3D0",
                "=",
                "==",
            ][..]
        )
        .prop_map(str::to_string),
        // Any bytes, percent-encoded: most are not UTF-8.
        vec(any::<u8>(), 0..12).prop_map(|b| b.iter().map(|b| format!("%{b:02X}")).collect()),
        "[A-Za-z0-9%+=._~-]{0,12}",
    ]
}

/// A query string for `route`: mostly its own parameters, some other known or unknown
/// names, repeats, each with or without `=value`.
fn query(route: Route) -> impl Strategy<Value = String> {
    let name = prop_oneof![
        6 => proptest::sample::select(route.params()).prop_map(str::to_string),
        1 => proptest::sample::select(&["consistency", "limit", "prefix", "if_version", "from_version"][..])
            .prop_map(str::to_string),
        1 => proptest::sample::select(&["", "LIMIT", "prefix%00", "limit%20", "target", "key"][..])
            .prop_map(str::to_string),
        1 => "[a-z_%0-9]{1,8}",
    ];
    let pair = (name, proptest::option::weighted(0.9, value())).prop_map(|(n, v)| match v {
        Some(v) => format!("{n}={v}"),
        None => n,
    });
    vec(pair, 0..4).prop_map(|pairs| pairs.join("&"))
}

/// `application/x-www-form-urlencoded` decoding as query parsers do it: pairs split on `&`
/// (empty pieces skipped), name and value at the first `=`, `+` is a space, escapes decoded,
/// bytes that are not UTF-8 replaced.
fn pairs(query: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        let out: Vec<u8> = percent_encoding::percent_decode(s.as_bytes()).collect();
        String::from_utf8_lossy(&out).into_owned()
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(n), decode(v))
        })
        .collect()
}

/// Query values that are bytes, not text (key prefixes and keys).
const BYTE_PARAMS: [&str; 2] = ["prefix", "after"];

fn decode_bytes(s: &str) -> Vec<u8> {
    percent_encoding::percent_decode(s.replace('+', " ").as_bytes()).collect()
}

/// A piece of the raw query that is not UTF-8 once percent-decoded (`%FF`): a name, or the
/// value of a text parameter; refused, never replaced. Values of `prefix` and `after` are
/// bytes.
fn not_utf8(query: &str) -> Option<String> {
    query.split('&').find_map(|p| {
        let (n, v) = p.split_once('=').unwrap_or((p, ""));
        match String::from_utf8(decode_bytes(n)) {
            Err(_) => Some(format!("{n:?} is not UTF-8 once decoded")),
            Ok(name) if !BYTE_PARAMS.contains(&name.as_str()) && String::from_utf8(decode_bytes(v)).is_err() => {
                Some(format!("{v:?} is not UTF-8 once decoded"))
            }
            Ok(_) => None,
        }
    })
}

/// The bytes of the byte parameter `name` in the raw query, if given.
fn raw_param(query: &str, name: &str) -> Option<Vec<u8>> {
    query.split('&').filter(|p| !p.is_empty()).find_map(|p| {
        let (n, v) = p.split_once('=').unwrap_or((p, ""));
        (decode_bytes(n) == name.as_bytes()).then(|| decode_bytes(v))
    })
}

/// A key or prefix as JSON carries it: `NAME` when UTF-8, else `NAME_base64`.
fn json_bytes(v: &Value, name: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    match (v[name].as_str(), v[format!("{name}_base64")].as_str()) {
        (Some(text), None) => Some(text.as_bytes().to_vec()),
        (None, Some(b)) => base64::engine::general_purpose::STANDARD.decode(b).ok(),
        _ => None,
    }
}

/// Whether the query must be refused with 400 before the route does anything; `Some(reason)`.
fn refusal(route: Route, pairs: &[(String, String)]) -> Option<String> {
    for (i, (name, v)) in pairs.iter().enumerate() {
        if !route.params().contains(&name.as_str()) {
            return Some(format!("unknown parameter {name:?}"));
        }
        if pairs[..i].iter().any(|(n, _)| n == name) {
            return Some(format!("parameter {name:?} given twice"));
        }
        let bad = match name.as_str() {
            "consistency" => !["linearizable", "lease", "local", "serializable"].contains(&v.as_str()),
            "limit" => !v.is_empty() && !v.parse::<usize>().is_ok_and(|n| (1..=10_000).contains(&n)),
            "if_version" | "from_version" => v.parse::<u64>().is_err(),
            _ => false,
        };
        if bad {
            return Some(format!("{name}={v:?} is not a valid value"));
        }
    }
    None
}

/// Checks an accepted query's answer against the route's contract.
fn check_accepted(
    what: &str,
    route: Route,
    query: &str,
    pairs: &[(String, String)],
    answer: &Answer,
    code: Option<&str>,
) {
    let param = |n: &str| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    match route {
        Route::Get => assert!(
            code == Some("KEY_NOT_FOUND") || answer.status == 200,
            "{what}: {}",
            answer.describe()
        ),
        // Deleting an absent key answers deleted=false, or 412 when a version was demanded.
        Route::Delete => assert!(
            answer.status == 200 || (code == Some("CONDITION_FAILED") && param("if_version") != Some("0")),
            "{what}: {}",
            answer.describe()
        ),
        Route::Keys => {
            assert_eq!(answer.status, 200, "{what}: {}", answer.describe());
            let data = answer.json().unwrap_or_default()["data"].clone();
            let limit = param("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
            let prefix = raw_param(query, "prefix").unwrap_or_default();
            let keys = data["keys"].as_array().cloned().unwrap_or_default();
            assert!(keys.len() <= limit, "{what}: more than {limit} keys in {data}");
            assert_eq!(
                json_bytes(&data, "prefix"),
                Some(prefix.clone()),
                "{what}: prefix echoed wrongly in {data}"
            );
            assert!(
                keys.iter()
                    .all(|k| json_bytes(k, "key").is_some_and(|k| k.starts_with(&prefix))),
                "{what}: a key without the prefix in {data}"
            );
        }
        Route::Watch => assert!(
            answer.status == 200 && answer.is_event_stream(),
            "{what}: expected an event stream, got {}",
            answer.describe()
        ),
    }
}

#[test]
fn random_query_strings_are_parsed_or_refused_with_400() {
    let node = Node::start();
    let addr = addr_of(&node);
    let http = &node.http;
    for i in 0..5 {
        http.set(&format!("q/{i}"), "v");
    }
    http.set("q/key", "v");
    let routes = proptest::sample::select(&[Route::Get, Route::Delete, Route::Keys, Route::Watch][..]);
    let case = routes.prop_flat_map(|route| (Just(route), query(route)));
    run_cases(256, case, |(route, query)| {
        let (method, path) = route.call();
        let sent = format!("{path}?{query}");
        let what = format!("{method} {sent:?}");
        let answer = exchange(addr, &request(method, sent.as_bytes(), &[], b""), ANSWER_TIMEOUT)
            .unwrap_or_else(|e| panic!("{what}: no answer: {e}\nnode log:\n{}", node.log()));
        let code = check_api(&what, &answer);
        let pairs = pairs(&query);
        match not_utf8(&query).or_else(|| refusal(route, &pairs)) {
            Some(why) => assert_eq!(
                (answer.status, code.as_deref()),
                (400, Some("INVALID_REQUEST")),
                "{what}: {why}, so 400 was due: {}",
                answer.describe()
            ),
            None => check_accepted(&what, route, &query, &pairs, &answer, code.as_deref()),
        }
        assert_still_serving(http, &what);
    });
}

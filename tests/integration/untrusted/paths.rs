//! Random request paths: arbitrary bytes and unicode as keys in `/api/v1/get/{key}` and
//! `/api/v1/delete/{key}`, valid and broken percent-escapes, `..`, `//`, keys past
//! `max-key-bytes`, and random routes under `/api/v1/`. Knows the routes only from the README's route table.

use base64::Engine as _;
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::json;

use super::{
    addr_of, assert_still_serving, check_api, check_maybe_http, exchange, request, run_cases, Answer, ANSWER_TIMEOUT,
};
use crate::support::Node;

/// The default `max-key-bytes`.
const MAX_KEY_BYTES: usize = 4096;

/// Pieces of a path segment that are legal URI characters but tricky to decode: broken and
/// overlong escapes, dot segments, empty segments, an escaped `/` and NUL.
const TRICKY: &[&str] = &[
    "%ZZ",
    "%FF%FE",
    "%C0%AF",
    "%E0%80%AF",
    "%F0%80%80%AF",
    "%ED%A0%80",
    "%",
    "%2",
    "%%",
    "%2e%2e",
    "%2E",
    "%2F",
    "%2f",
    "%5C",
    "%00",
    "%0D%0A",
    "%25",
    "%u0041",
    "..",
    ".",
    "/",
    "//",
    "/../",
    "./",
    "+",
    ";",
    "=",
    "&",
    "@",
    ":",
    "!",
    "$",
    "'",
    "(",
    ")",
    "*",
    ",",
    "~",
    "-",
    "_",
];

/// A path segment as sent, and the key it must decode to.
#[derive(Debug, Clone)]
struct Segment {
    /// Bytes placed after `/api/v1/get/` (or `/delete/`) in the request line.
    sent: Vec<u8>,
    /// Whether every byte is a legal URI character, so the request is well-formed HTTP that
    /// must reach the API (and answer with its envelope).
    legal: bool,
}

impl Segment {
    /// Percent-decoding as every server does it: `%` plus two hex digits is one byte, any
    /// other `%` stays literal.
    fn decoded(&self) -> Vec<u8> {
        percent_encoding::percent_decode(&self.sent).collect()
    }
}

/// `bytes` percent-encoded except the RFC 3986 unreserved characters, in either hex case.
fn pct(bytes: &[u8], lower: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b);
        } else if lower {
            out.extend_from_slice(format!("%{b:02x}").as_bytes());
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    out
}

fn encoded(bytes: Vec<u8>, lower: bool) -> Segment {
    Segment {
        sent: pct(&bytes, lower),
        legal: true,
    }
}

/// Keys of every kind, each sent percent-encoded, or built from raw tricky pieces, or as raw
/// bytes that may not even be HTTP.
fn segment() -> impl Strategy<Value = Segment> {
    let tricky = prop_oneof![
        proptest::sample::select(TRICKY).prop_map(str::to_string),
        "[A-Za-z0-9]{1,6}",
    ];
    prop_oneof![
        (vec(any::<u8>(), 0..48), any::<bool>()).prop_map(|(b, l)| encoded(b, l)),
        (any::<String>(), any::<bool>()).prop_map(|(s, l)| encoded(s.into_bytes(), l)),
        (".{0,12}", any::<bool>()).prop_map(|(s, l)| encoded(s.into_bytes(), l)),
        // Around the key limit, in one-byte and two-byte characters.
        (MAX_KEY_BYTES - 4..MAX_KEY_BYTES + 64).prop_map(|n| encoded(vec![b'k'; n], false)),
        (MAX_KEY_BYTES / 2 - 2..MAX_KEY_BYTES / 2 + 32).prop_map(|n| encoded("я".repeat(n).into_bytes(), true)),
        vec(tricky, 1..8).prop_map(|parts| Segment {
            sent: parts.concat().into_bytes(),
            legal: true,
        }),
        vec(any::<u8>(), 1..24).prop_map(|sent| Segment { sent, legal: false }),
    ]
}

/// What a get or delete of `segment` must answer, from the decoded key.
#[derive(Debug, PartialEq)]
enum Expect {
    /// Nothing after `/get/`: no route matches.
    NoRoute,
    /// The key is over `max-key-bytes`.
    TooLong,
    /// A valid key (any bytes): what the answer must name, as `key` when it is UTF-8 and
    /// `key_base64` otherwise.
    Key(Vec<u8>),
}

fn expect(segment: &Segment) -> Expect {
    let key = segment.decoded();
    if key.is_empty() {
        return Expect::NoRoute;
    }
    if key.len() > MAX_KEY_BYTES {
        return Expect::TooLong;
    }
    Expect::Key(key)
}

/// Checks the answer to a get or delete of a legal segment against what the key demands.
fn check_key_route(what: &str, segment: &Segment, answer: &Answer, delete: bool) {
    let code = check_api(what, answer);
    let want = expect(segment);
    let got = (answer.status, code.as_deref());
    match &want {
        Expect::NoRoute => assert_eq!(got, (404, Some("NOT_FOUND")), "{what}: {}", answer.describe()),
        Expect::TooLong => assert_eq!(got, (413, Some("PAYLOAD_TOO_LARGE")), "{what}: {}", answer.describe()),
        Expect::Key(key) => {
            if !delete && got == (404, Some("KEY_NOT_FOUND")) {
                return;
            }
            assert_eq!(answer.status, 200, "{what}: key {key:?}: {}", answer.describe());
            let body = answer.json().unwrap_or_default();
            let named = match std::str::from_utf8(key) {
                Ok(text) => ("key", json!(text)),
                Err(_) => (
                    "key_base64",
                    json!(base64::engine::general_purpose::STANDARD.encode(key)),
                ),
            };
            assert_eq!(
                body["data"][named.0], named.1,
                "{what}: the answer names another key: {body}"
            );
        }
    }
}

fn target(prefix: &str, segment: &Segment) -> Vec<u8> {
    [prefix.as_bytes(), &segment.sent].concat()
}

#[test]
fn random_keys_in_get_and_delete_paths_are_decoded_or_refused() {
    let node = Node::start();
    let addr = addr_of(&node);
    let http = &node.http;
    // Deleting a key that is not UTF-8 needs cluster version 4 (a fresh node starts lower).
    crate::resp::await_cluster_version(&[http]);
    // A known key, so some gets also find something.
    http.set("a/b", "x");
    run_cases(256, (segment(), any::<bool>()), |(segment, delete)| {
        let (method, prefix) = if delete {
            ("DELETE", "/api/v1/delete/")
        } else {
            ("GET", "/api/v1/get/")
        };
        let sent = target(prefix, &segment);
        let what = format!("{method} {:?}", String::from_utf8_lossy(&sent));
        let answer = exchange(addr, &request(method, &sent, &[], b""), ANSWER_TIMEOUT)
            .unwrap_or_else(|e| panic!("{what}: no answer: {e}\nnode log:\n{}", node.log()));
        if segment.legal {
            check_key_route(&what, &segment, &answer, delete);
        } else {
            check_maybe_http(&what, &answer);
        }
        assert_still_serving(http, &what);
    });
}

/// Segments of a random route under `/api/v1/`: the real route names, dot segments, empty
/// segments and escapes.
fn route() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        proptest::sample::select(
            &[
                "get",
                "set",
                "delete",
                "keys",
                "batch",
                "watch",
                "cluster",
                "status",
                "leader",
                "join",
                "remove",
                "transfer-leadership",
                "health",
                "metrics",
                "api",
                "v1",
                "v2",
                "..",
                ".",
                "",
                "%2e%2e",
                "%2F",
                "GET",
                "keys%00",
                "ke%79s",
            ][..]
        )
        .prop_map(str::to_string),
        proptest::sample::select(TRICKY).prop_map(str::to_string),
        "[a-z0-9]{1,8}",
    ];
    let real = proptest::sample::select(
        &[
            "",
            "get/",
            "set",
            "delete/",
            "keys",
            "batch",
            "watch",
            "cluster/status",
            "cluster/leader",
            "cluster/join",
            "cluster/remove",
            "cluster/transfer-leadership",
        ][..],
    );
    (real, vec(part, 0..5)).prop_map(|(real, parts)| {
        let tail = parts.join("/");
        match (real, tail.is_empty()) {
            ("", _) => tail,
            (r, true) => r.to_string(),
            (r, false) if r.ends_with('/') => format!("{r}{tail}"),
            (r, false) => format!("{r}/{tail}"),
        }
    })
}

#[test]
fn random_routes_under_the_api_answer_with_the_envelope() {
    let node = Node::start();
    let addr = addr_of(&node);
    let http = &node.http;
    let methods = proptest::sample::select(&["GET", "DELETE", "PUT", "PATCH", "OPTIONS", "POST", "TRACE", "FOO"][..]);
    run_cases(256, (methods, route()), |(method, route)| {
        // Membership and leadership changes are not for fuzzing: a POST to them would change
        // the cluster, not probe the parser.
        let method = if method == "POST" && route.contains("cluster") {
            "PUT"
        } else {
            method
        };
        let sent = format!("/api/v1/{route}");
        let what = format!("{method} {sent:?}");
        let answer = exchange(addr, &request(method, sent.as_bytes(), &[], b""), ANSWER_TIMEOUT)
            .unwrap_or_else(|e| panic!("{what}: no answer: {e}\nnode log:\n{}", node.log()));
        check_api(&what, &answer);
        assert_still_serving(http, &what);
    });
}

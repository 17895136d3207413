//! Malformed HTTP on raw sockets: garbage request lines, lying `Content-Length`, broken
//! chunked encoding, a 100 KB request line, headers without a colon, NUL bytes, and random
//! mutations of valid requests. The node must keep running and healthy, and refuse what it
//! answers with a 4xx.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::prelude::*;

use super::{addr_of, assert_still_serving, check_maybe_http, read_answer, run_cases, Answer};
use crate::support::Node;

/// What the client does after sending its bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Then {
    /// Waits for an answer (half-closing if none comes at once).
    Read,
    /// Closes the connection at once, e.g. in the middle of a promised body.
    HangUp,
}

/// Sends `raw` on a fresh connection; with [`Then::Read`] returns the answer, if the server
/// gives one before closing. Write errors are ignored: the server may refuse and close early.
fn send(addr: SocketAddr, raw: &[u8], then: Then) -> Option<Answer> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = stream.write_all(raw);
    if then == Then::HangUp {
        return None;
    }
    let now = Instant::now();
    read_answer(
        &mut stream,
        now + Duration::from_secs(5),
        Some(now + Duration::from_millis(150)),
    )
    .ok()
}

/// A valid set, for building broken variants of it.
const SET: &str = "POST /api/v1/set HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
const BODY: &str = r#"{"key":"wire","value":"v"}"#;

/// Requests that are not valid HTTP/1.1, each with what the client does after sending.
fn malformed() -> Vec<(&'static str, Vec<u8>, Then)> {
    let chunked = |chunks: &str| format!("{SET}Transfer-Encoding: chunked\r\n\r\n{chunks}").into_bytes();
    let with_length = |len: &str, body: &str| format!("{SET}Content-Length: {len}\r\n\r\n{body}").into_bytes();
    let mut cases: Vec<(&'static str, Vec<u8>, Then)> = vec![
        ("garbage request line", b"HELLO WORLD\r\n\r\n".to_vec(), Then::Read),
        (
            "binary garbage",
            [&[0xff, 0xfe, 0x00, 0x13, 0x80][..], b"\r\n\r\n"].concat(),
            Then::Read,
        ),
        (
            "TLS client hello on plain http",
            vec![0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03],
            Then::Read,
        ),
        (
            "request line without version",
            b"GET /health\r\n\r\n".to_vec(),
            Then::Read,
        ),
        (
            "unknown HTTP version",
            b"GET /health HTTP/9.9\r\n\r\n".to_vec(),
            Then::Read,
        ),
        (
            "HTTP/2 preface",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
            Then::Read,
        ),
        (
            "method with a bad character",
            b"G@T /health HTTP/1.1\r\n\r\n".to_vec(),
            Then::Read,
        ),
        (
            "space in the target",
            b"GET /api/v1/get/a b HTTP/1.1\r\n\r\n".to_vec(),
            Then::Read,
        ),
        (
            "Content-Length larger than the body, then close",
            with_length("1000", BODY),
            Then::HangUp,
        ),
        (
            "Content-Length larger than the body, then half-close",
            with_length("1000", BODY),
            Then::Read,
        ),
        ("Content-Length not a number", with_length("abc", BODY), Then::Read),
        ("negative Content-Length", with_length("-1", BODY), Then::Read),
        ("Content-Length with a sign", with_length("+26", BODY), Then::Read),
        (
            "Content-Length past u64",
            with_length("99999999999999999999999", BODY),
            Then::Read,
        ),
        (
            "two different Content-Lengths",
            format!("{SET}Content-Length: 26\r\nContent-Length: 5\r\n\r\n{BODY}").into_bytes(),
            Then::Read,
        ),
        ("chunk size not hex", chunked("ZZ\r\nabc\r\n0\r\n\r\n"), Then::Read),
        ("chunk size negative", chunked("-1\r\nabc\r\n0\r\n\r\n"), Then::Read),
        (
            "chunk size past u64",
            chunked("FFFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n"),
            Then::Read,
        ),
        (
            "chunk longer than its size",
            chunked("2\r\nabcdef\r\n0\r\n\r\n"),
            Then::Read,
        ),
        (
            "chunk size larger than the data, then close",
            chunked("1000\r\nabc"),
            Then::HangUp,
        ),
        (
            "chunk extension of 64 KiB",
            chunked(&format!("1;{}\r\na\r\n0\r\n\r\n", "x".repeat(64 * 1024))),
            Then::Read,
        ),
        (
            "chunked and Content-Length",
            format!("{SET}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nZZ\r\n").into_bytes(),
            Then::Read,
        ),
        (
            "transfer coding other than chunked last",
            format!("{SET}Transfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n").into_bytes(),
            Then::Read,
        ),
        (
            "request line of 100 KB",
            format!("GET /api/v1/get/{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(100 * 1024)).into_bytes(),
            Then::Read,
        ),
        (
            "header of 100 KB",
            format!("GET /health HTTP/1.1\r\nX-Big: {}\r\n\r\n", "b".repeat(100 * 1024)).into_bytes(),
            Then::Read,
        ),
        (
            "200 headers",
            format!("GET /health HTTP/1.1\r\n{}\r\n", "X-H: 1\r\n".repeat(200)).into_bytes(),
            Then::Read,
        ),
        (
            "header without a colon",
            b"GET /health HTTP/1.1\r\nHost 127.0.0.1\r\nNoColon\r\n\r\n".to_vec(),
            Then::Read,
        ),
        (
            "space before the colon",
            b"GET /health HTTP/1.1\r\nHost : x\r\n\r\n".to_vec(),
            Then::Read,
        ),
        (
            "folded header",
            b"GET /health HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n".to_vec(),
            Then::Read,
        ),
        (
            "NUL in the request line",
            b"GET /hea\0lth HTTP/1.1\r\n\r\n".to_vec(),
            Then::Read,
        ),
        (
            "NUL in a header value",
            b"GET /health HTTP/1.1\r\nX-A: a\0b\r\n\r\n".to_vec(),
            Then::Read,
        ),
        (
            "NUL in a header name",
            b"GET /health HTTP/1.1\r\nX\0A: a\r\n\r\n".to_vec(),
            Then::Read,
        ),
        (
            "CR alone in a header",
            b"GET /health HTTP/1.1\r\nX-A: a\rb\r\n\r\n".to_vec(),
            Then::Read,
        ),
        ("only line breaks, then close", b"\r\n\r\n\r\n".to_vec(), Then::HangUp),
        (
            "half a request line, then close",
            b"GET /api/v1/ge".to_vec(),
            Then::HangUp,
        ),
        (
            "Expect: 100-continue without the body, then close",
            format!("{SET}Expect: 100-continue\r\nContent-Length: 26\r\n\r\n").into_bytes(),
            Then::HangUp,
        ),
    ];
    let mut junk = Vec::with_capacity(4096);
    for i in 0..4096u32 {
        junk.push((i.wrapping_mul(2_654_435_761) >> 24) as u8);
    }
    cases.push(("4 KiB of noise", junk, Then::Read));
    cases
}

#[test]
fn malformed_http_is_refused_with_4xx_and_the_node_keeps_serving() {
    let node = Node::start();
    let addr = addr_of(&node);
    for (what, raw, then) in malformed() {
        if let Some(answer) = send(addr, &raw, then) {
            assert!(
                (400..500).contains(&answer.status),
                "{what}: any answer must be a 4xx, got {}",
                answer.describe()
            );
            check_maybe_http(what, &answer);
        }
        assert_still_serving(&node.http, what);
    }
    assert_eq!(node.http.value_of("wire"), None, "a malformed set stored its key");
}

/// Valid requests to mutate: a set, a chunked batch, a get with a query, a scan.
fn valid_requests() -> Vec<Vec<u8>> {
    let batch = r#"{"ops":[{"op":"set","key":"m/1","value":"x"},{"op":"delete","key":"m/2"}]}"#;
    vec![
        format!("{SET}Content-Length: {}\r\n\r\n{BODY}", BODY.len()).into_bytes(),
        format!(
            "POST /api/v1/batch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{batch}\r\n0\r\n\r\n",
            batch.len()
        )
        .into_bytes(),
        b"GET /api/v1/get/m%2F1?consistency=local HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET /api/v1/keys?prefix=m%2F&limit=5 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n".to_vec(),
    ]
}

/// One edit of a request's bytes.
#[derive(Debug, Clone)]
enum Edit {
    /// Replace the byte at the position.
    Set(prop::sample::Index, u8),
    /// Insert bytes at the position.
    Insert(prop::sample::Index, Vec<u8>),
    /// Remove up to this many bytes from the position.
    Remove(prop::sample::Index, usize),
    /// Repeat the bytes from the position up to this many times over.
    Repeat(prop::sample::Index, usize, usize),
    /// Cut everything after the position.
    Truncate(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    let at = any::<prop::sample::Index>();
    let byte = prop_oneof![
        any::<u8>(),
        proptest::sample::select(&b"\r\n :\0%/?&=\"{}0123456789abcdef-"[..])
    ];
    prop_oneof![
        (at.clone(), byte.clone()).prop_map(|(i, b)| Edit::Set(i, b)),
        (at.clone(), vec(byte, 1..8)).prop_map(|(i, b)| Edit::Insert(i, b)),
        (at.clone(), 1usize..16).prop_map(|(i, n)| Edit::Remove(i, n)),
        (at.clone(), 1usize..32, 2usize..64).prop_map(|(i, n, times)| Edit::Repeat(i, n, times)),
        at.prop_map(Edit::Truncate),
    ]
}

fn apply(mut raw: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = raw.len().max(1);
        match e {
            Edit::Set(i, b) => {
                let i = i.index(len);
                if let Some(x) = raw.get_mut(i) {
                    *x = *b;
                }
            }
            Edit::Insert(i, b) => {
                let i = i.index(len + 1).min(raw.len());
                raw.splice(i..i, b.iter().copied());
            }
            Edit::Remove(i, n) => {
                let i = i.index(len).min(raw.len());
                let end = (i + n).min(raw.len());
                raw.drain(i..end);
            }
            Edit::Repeat(i, n, times) => {
                let i = i.index(len).min(raw.len());
                let piece = raw[i..(i + n).min(raw.len())].to_vec();
                let again: Vec<u8> = piece.repeat(*times);
                raw.splice(i..i, again);
            }
            Edit::Truncate(i) => raw.truncate(i.index(len)),
        }
    }
    raw
}

#[test]
fn mutated_requests_never_crash_the_node() {
    let node = Node::start();
    let addr = addr_of(&node);
    let bases = valid_requests();
    let case = (0..bases.len(), vec(edit(), 1..5), any::<bool>());
    run_cases(128, case, |(base, edits, hang_up)| {
        let raw = apply(bases[base].clone(), &edits);
        let shown: String = String::from_utf8_lossy(&raw).chars().take(300).collect();
        let what = format!("{shown:?} (request {base} after {edits:?})");
        let then = if hang_up { Then::HangUp } else { Then::Read };
        if let Some(answer) = send(addr, &raw, then) {
            // A mutation may leave the request valid, so success is allowed; 5xx never is.
            check_maybe_http(&what, &answer);
        }
        assert_still_serving(&node.http, &what);
    });
}

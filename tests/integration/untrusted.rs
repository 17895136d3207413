//! Property and fuzz tests of untrusted input: random paths, query strings, request bodies,
//! malformed HTTP on raw sockets, floods of connections, and random config files. Each test
//! drives one real node (or the real binary) and asserts that nothing panics, answers 5xx,
//! or answers the client API without the error envelope. Owns only `untrusted*`; uses
//! `support` for nodes and never reaches into `src/`.
//!
//! Requests go over raw sockets ([`exchange`]) rather than through `reqwest`, whose URL
//! parser would normalize `..`, `//` and percent-escapes before the server ever saw them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

use crate::support::{Http, Node};

mod bodies;
mod config_files;
mod connections;
mod paths;
mod queries;
mod wire;

/// How long one raw exchange may take before the test calls the server silent.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// One HTTP answer read off a raw socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// Header names lower-cased.
    headers: Vec<(String, String)>,
    /// Empty for an event stream: reading stops after its head.
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn is_event_stream(&self) -> bool {
        self.header("content-type")
            .is_some_and(|t| t.starts_with("text/event-stream"))
    }

    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The answer for assertion messages, body shortened.
    fn describe(&self) -> String {
        let body = String::from_utf8_lossy(&self.body);
        let cut: String = body.chars().take(400).collect();
        format!("HTTP {} {:?} body {cut:?}", self.status, self.headers)
    }
}

/// A node's client address, for raw sockets.
fn addr_of(node: &Node) -> SocketAddr {
    let url = node.url();
    url.strip_prefix("http://")
        .unwrap_or_else(|| panic!("raw sockets need a plain-http node, not {url}"))
        .parse()
        .unwrap()
}

/// A whole HTTP/1.1 request with `Host` and `Connection: close`, the given extra header lines
/// (sent verbatim), and a `Content-Length` whenever there is a body or the method carries one.
fn request(method: &str, target: &[u8], headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(target.len() + body.len() + 128);
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target);
    out.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Sends `raw` on a fresh connection to `addr` and reads one answer: its head, then a body by
/// `Content-Length`, chunked, or up to EOF; for an event stream only the head. `Err` when the
/// server closes without a complete answer or stays silent for `timeout`.
fn exchange(addr: SocketAddr, raw: &[u8], timeout: Duration) -> std::io::Result<Answer> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_write_timeout(Some(timeout))?;
    // The server may answer (and close) before reading everything, e.g. a 413 or 431: the
    // answer is still there to read, so a failed write is not yet a failure.
    let written = stream.write_all(raw);
    match read_answer(&mut stream, Instant::now() + timeout, None) {
        Ok(answer) => Ok(answer),
        Err(e) => Err(written.err().unwrap_or(e)),
    }
}

/// Reads one answer from `stream`, giving up at `deadline`. With `half_close_at`, shuts down
/// the sending side at that moment if no answer is complete yet, so a server still waiting
/// for more of a request sees its end instead of making the test wait out a timeout.
fn read_answer(
    stream: &mut TcpStream,
    deadline: Instant,
    mut half_close_at: Option<Instant>,
) -> std::io::Result<Answer> {
    let mut buf = Vec::new();
    loop {
        if let Some(answer) = complete_answer(&buf)? {
            return Ok(answer);
        }
        let now = Instant::now();
        if half_close_at.is_some_and(|t| t <= now) {
            let _ = stream.shutdown(std::net::Shutdown::Write);
            half_close_at = None;
        }
        let until = half_close_at.map_or(deadline, |t| t.min(deadline));
        let left = until.saturating_duration_since(now);
        if left.is_zero() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no complete answer in time",
            ));
        }
        stream.set_read_timeout(Some(left))?;
        let mut chunk = [0u8; 16 * 1024];
        match stream.read(&mut chunk) {
            Ok(0) => return answer_at_eof(&buf),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if half_close_at.is_some() && is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
}

/// Where the head in `buf` ends, if it is all there.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// The answer in `buf` once it is complete without waiting for EOF: the head and a body of
/// `Content-Length` bytes, or only the head of an event stream (which never ends).
fn complete_answer(buf: &[u8]) -> std::io::Result<Option<Answer>> {
    let Some(end) = head_end(buf) else {
        return Ok(None);
    };
    let mut answer = parse_head(&buf[..end])?;
    if answer.is_event_stream() {
        return Ok(Some(answer));
    }
    let body = &buf[end + 4..];
    match answer.header("content-length").and_then(|l| l.parse::<usize>().ok()) {
        Some(len) if body.len() >= len => {
            answer.body = body[..len].to_vec();
            Ok(Some(answer))
        }
        _ => Ok(None),
    }
}

/// The answer in `buf` after the server closed: its body is chunked or runs to the end.
fn answer_at_eof(buf: &[u8]) -> std::io::Result<Answer> {
    let eof = |what: &str| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, what.to_string());
    let end = head_end(buf).ok_or_else(|| eof("closed before an answer"))?;
    let mut answer = parse_head(&buf[..end])?;
    let body = &buf[end + 4..];
    answer.body = if answer.header("transfer-encoding") == Some("chunked") {
        dechunk(body)?
    } else if answer.header("content-length").is_some() {
        return Err(eof("body cut short"));
    } else {
        body.to_vec()
    };
    Ok(answer)
}

fn parse_head(head: &[u8]) -> std::io::Result<Answer> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let text = std::str::from_utf8(head).map_err(|_| bad("answer head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Answer {
        status,
        headers,
        body: Vec::new(),
    })
}

/// Decodes a complete chunked body.
fn dechunk(mut body: &[u8]) -> std::io::Result<Vec<u8>> {
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad chunked body");
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n").ok_or_else(bad)?;
        let size_text = std::str::from_utf8(&body[..line_end]).map_err(|_| bad())?;
        let size =
            usize::from_str_radix(size_text.split(';').next().unwrap_or_default().trim(), 16).map_err(|_| bad())?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(body.get(..size).ok_or_else(bad)?);
        body = body.get(size + 2..).ok_or_else(bad)?;
    }
}

/// The status every client-API error code must come with.
fn status_of_code(code: &str) -> Option<u16> {
    Some(match code {
        "INVALID_REQUEST" => 400,
        "UNAUTHORIZED" => 401,
        "FORBIDDEN" => 403,
        "KEY_NOT_FOUND" | "NOT_FOUND" | "MEMBER_NOT_FOUND" => 404,
        "METHOD_NOT_ALLOWED" => 405,
        "REQUEST_TIMEOUT" => 408,
        "CONFLICT" | "TRANSFER_REFUSED" | "CLUSTER_VERSION" => 409,
        "CONDITION_FAILED" => 412,
        "PAYLOAD_TOO_LARGE" => 413,
        _ => return None,
    })
}

/// Asserts what every answer of a healthy single node to a well-formed HTTP request on the
/// client API must be: no 5xx at all (500 `INTERNAL` is a bug; 503/504 mean a healthy
/// single node stalled), and every non-2xx is the error envelope with a non-empty message
/// and a code that belongs to the status. Returns the envelope's code (`None` on success).
fn check_api(what: &str, answer: &Answer) -> Option<String> {
    let status = answer.status;
    assert!(
        (200..500).contains(&status),
        "{what}: expected no 5xx from a healthy node, got {}",
        answer.describe()
    );
    if status < 300 {
        return None;
    }
    let body = answer.json().unwrap_or_else(|| {
        panic!(
            "{what}: a {status} must carry the JSON error envelope, got {}",
            answer.describe()
        )
    });
    assert_eq!(
        body["success"],
        Value::Bool(false),
        "{what}: `success` must be false in {body}"
    );
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no string `error.code` in {body}"));
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        !message.trim().is_empty(),
        "{what}: `error.message` must be a non-empty string in {body}"
    );
    assert_eq!(
        status_of_code(code),
        Some(status),
        "{what}: code {code} does not go with HTTP {status} in {body}"
    );
    Some(code.to_string())
}

/// Checks an answer to bytes that may not be HTTP at all: never 5xx; a refusal is the API's
/// envelope or the HTTP layer's own bodiless 4xx (hyper refuses a malformed head before any
/// route sees it).
fn check_maybe_http(what: &str, answer: &Answer) {
    if (400..500).contains(&answer.status) && answer.body.is_empty() {
        return;
    }
    check_api(what, answer);
}

/// Asserts the node answers `/health` with 200 and serves a normal write and read.
fn assert_still_serving(http: &Http, after: &str) {
    assert_eq!(http.health(), Some(200), "/health after {after}");
    let value: String = after.chars().take(200).collect();
    let version = http.set("untrusted-canary", &value);
    assert_eq!(
        http.value_of("untrusted-canary"),
        Some((value, version)),
        "the canary key after {after}"
    );
}

/// Runs `check` on `cases` random inputs from `strategy` against shared state; panics with
/// the smallest failing input proptest finds. Shrinking is capped because every step talks
/// to a real node or spawns a process; nothing is persisted into the source tree.
fn run_cases<S: Strategy>(cases: u32, strategy: S, check: impl Fn(S::Value)) {
    let config = Config {
        cases,
        max_shrink_iters: 200,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    if let Err(e) = runner.run(&strategy, |input| {
        check(input);
        Ok(())
    }) {
        panic!("{e}");
    }
}

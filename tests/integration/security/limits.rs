//! Limits that protect a node: oversized request heads and bodies are refused, clients that
//! send slowly or not at all are cut off, connections past the cap wait; meanwhile ordinary
//! clients keep being served.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::Method;

use crate::support::{assert_error, Http, Node};

/// Reads until the server closes the connection or `limit` passes; returns what was read and
/// whether the connection was closed.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    stream.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), true),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), false)
}

fn connect(node: &Node) -> TcpStream {
    TcpStream::connect(node.url().trim_start_matches("http://")).unwrap()
}

#[test]
fn oversized_heads_and_bodies_are_refused_while_others_are_served() {
    let node = Node::start_with(&["--max-header-bytes", "8192", "--max-value-bytes", "1024"]);
    let big_header = "x".repeat(16 * 1024);
    let resp = reqwest::blocking::Client::new()
        .get(format!("{}/health", node.url()))
        .header("x-filler", big_header)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 431, "a request head over max-header-bytes");

    let body = format!(r#"{{"key":"k","value":"{}"}}"#, "v".repeat(64 * 1024));
    let got = node.http.send(
        Method::POST,
        "/api/v1/set",
        Some("application/json"),
        Some(body.into_bytes()),
    );
    assert_error("a body over the limit", &got, 413, "PAYLOAD_TOO_LARGE");
    node.http.set("still", "served");
}

#[test]
fn slow_and_silent_clients_are_cut_off_while_others_are_served() {
    let node = Node::start_with(&["--header-read-timeout", "1s", "--request-timeout", "2s"]);
    // Slowloris: half a request head, then silence.
    let mut slow_head = connect(&node);
    slow_head.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").unwrap();
    // A head followed by a body that never arrives.
    let mut slow_body = connect(&node);
    slow_body
        .write_all(b"POST /api/v1/set HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"key\":")
        .unwrap();
    // A connection that never sends anything.
    let mut silent = connect(&node);

    let started = Instant::now();
    node.http.set("during", "slow clients");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "a normal client waited behind slow ones"
    );

    let (_, closed) = read_until_closed(&mut slow_head, Duration::from_secs(5));
    assert!(closed, "a half-sent request head must be cut off");
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(5));
    assert!(closed, "a silent connection must be cut off");
    let (answer, _) = read_until_closed(&mut slow_body, Duration::from_secs(6));
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "a stalled body gets 408, got: {answer:?}"
    );
    assert!(answer.contains("REQUEST_TIMEOUT"), "in the JSON envelope: {answer:?}");
    node.http.set("after", "slow clients");
}

#[test]
fn connections_past_the_cap_wait_until_one_closes() {
    let node = Node::start_with(&["--max-connections", "4", "--header-read-timeout", "30s"]);
    // The test's own keep-alive connection holds no slot between requests only once closed,
    // so use fresh clients and fill every slot with raw connections that have sent half a
    // request head (a silent one is only pending and holds no slot).
    let held: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut c = connect(&node);
            c.write_all(b"GET /health HTTP/1.1\r\n").unwrap();
            c
        })
        .collect();
    let quick = Http::with_timeout(&node.url(), Duration::from_millis(500));
    let waiting = quick.try_send(Method::GET, "/health", None, None);
    assert!(waiting.is_err(), "a fifth connection must wait, got {waiting:?}");
    drop(held);
    let served = crate::support::wait_until(Duration::from_secs(5), || {
        Http::with_timeout(&node.url(), Duration::from_millis(500))
            .try_send(Method::GET, "/health", None, None)
            .is_ok_and(|(s, _)| s == 200)
    });
    assert!(served, "once connections close, new clients are served");
}

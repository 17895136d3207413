//! Floods of connections: hundreds opened at once, silent, half-sent or idle with a request
//! pending, must not keep a normal client out; silent ones past `max-connections` must be cut
//! off by `header-read-timeout` so that waiting clients get in.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use super::{addr_of, assert_still_serving, check_api, read_answer};
use crate::support::{wait_until, Http, Node};

/// Opens `n` connections to `addr` from `n` threads released together.
fn open_at_once(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let barrier = Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    TcpStream::connect_timeout(&addr, Duration::from_secs(10))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().expect("connecting to the node"))
            .collect()
    })
}

/// The time a normal set and get through a fresh client take, failing after `within`.
fn normal_round_trip(base: &str, within: Duration) -> Duration {
    let http = Http::with_timeout(base, within);
    let started = Instant::now();
    let version = http.set("flood/canary", "still here");
    assert_eq!(
        http.value_of("flood/canary"),
        Some(("still here".to_string(), version)),
        "the canary written during the flood"
    );
    started.elapsed()
}

#[test]
fn two_hundred_connections_at_once_do_not_keep_a_normal_client_out() {
    let node = Node::start();
    let addr = addr_of(&node);
    let mut conns = open_at_once(addr, 200);
    // Half stay silent; a quarter send half a request head and stop (slowloris); a quarter
    // send a whole keep-alive request and do not read the answer yet.
    for (i, c) in conns.iter_mut().enumerate().skip(100) {
        let raw = if i < 150 {
            "GET /api/v1/get/flood HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".to_string()
        } else {
            format!("GET /api/v1/get/flood/{i} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        };
        c.write_all(raw.as_bytes()).unwrap();
    }
    let took = normal_round_trip(&node.url(), Duration::from_secs(5));
    assert!(
        took < Duration::from_secs(5),
        "a normal set+get took {took:?} during the flood"
    );

    for (i, c) in conns.iter_mut().enumerate().skip(150) {
        let what = format!("pending request {i} of the flood");
        let answer = read_answer(c, Instant::now() + Duration::from_secs(5), None)
            .unwrap_or_else(|e| panic!("{what}: no answer: {e}"));
        assert_eq!(check_api(&what, &answer).as_deref(), Some("KEY_NOT_FOUND"), "{what}");
    }
    drop(conns);
    assert_still_serving(&node.http, "200 connections at once");
}

#[test]
fn silent_connections_past_max_connections_are_cut_off_by_the_head_timeout() {
    let node = Node::start_with(&["--max-connections", "16", "--header-read-timeout", "1s"]);
    let addr = addr_of(&node);
    // Three times the limit, none sending a byte: the node admits 16, the rest wait in the
    // accept queue, and each admitted one must be dropped after about a second.
    let mut silent = open_at_once(addr, 48);
    let took = normal_round_trip(&node.url(), Duration::from_secs(15));
    assert!(
        took < Duration::from_secs(10),
        "a normal set+get waited {took:?} behind 48 silent connections"
    );
    // Every silent connection gets closed by the node (EOF), none stays open forever.
    for (i, c) in silent.iter_mut().enumerate() {
        c.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let closed = wait_until(Duration::from_secs(10), || closed_by_peer(c));
        assert!(closed, "silent connection {i} was never closed by the node");
    }
    assert_still_serving(&node.http, "silent connections past max-connections");
}

/// Whether the peer has closed `c` (EOF or reset); reads and drops whatever it sent first.
/// Waits at most the stream's read timeout.
fn closed_by_peer(c: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    match c.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
    }
}

//! The Redis protocol against clients that take more than their share: connection slots,
//! oversized requests and transactions, unauthenticated sockets, absurd expiry times, and
//! the bounds on what one request may carry. Real nodes, raw sockets and `redis-cli`.

use std::io::{Read, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::resp::{ask_raw, assert_same_answers, await_cluster_version, run_redis_cli, RedisServer};
use crate::support::{wait_until, Cluster, Node};

/// `redis-cli -p PORT ARGS...`: its stdout and stderr together, trimmed.
fn cli(port: u16, args: &[&str]) -> String {
    let out = run_redis_cli(port, args);
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text.trim().to_string()
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// A connection the node has admitted: one refused for want of a slot (a slot freed a
/// moment ago may not be back yet) is tried again, for up to 10 s.
fn connect_admitted(port: u16) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut s = connect(port);
        s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut buf = [0u8; 64];
        match s.read(&mut buf) {
            Ok(n) if n > 0 && Instant::now() < deadline => continue,
            Ok(n) => panic!("not admitted: {:?}", String::from_utf8_lossy(&buf[..n])),
            Err(_) => {
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                return s;
            }
        }
    }
}

/// Everything `s` receives until the node closes it (or 10 s pass).
fn read_to_close(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Past `max-connections`, a new client is told so in Redis's words and closed at once,
/// instead of hanging in the accept queue; a freed slot serves the next one. With tokens
/// required, sockets that never authenticate are closed after `header-read-timeout`, so
/// silent connections cannot keep clients out.
#[test]
fn connection_slots_are_refused_in_redis_words_and_silent_sockets_give_theirs_back() {
    let node = Node::start_with(&["--max-connections", "3"]);
    let port = node.resp_port();
    let held: Vec<TcpStream> = (0..3).map(|_| connect(port)).collect();
    // The node takes them in the background: poll until the fourth is refused.
    let mut last = String::new();
    let refused = wait_until(Duration::from_secs(10), || {
        last = cli(port, &["PING"]);
        last.contains("max number of clients reached")
    });
    assert!(refused, "a fourth client was not refused: {last}");
    let started = Instant::now();
    let mut extra = connect(port);
    assert_eq!(read_to_close(&mut extra), "-ERR max number of clients reached\r\n");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the refusal took {:?}",
        started.elapsed()
    );
    // The HTTP listener has slots of its own.
    assert_eq!(node.http.health(), Some(200));
    drop(held);
    let mut last = String::new();
    let served = wait_until(Duration::from_secs(10), || {
        last = cli(port, &["PING"]);
        last == "PONG"
    });
    assert!(served, "freed slots did not serve a client: {last}");

    const TOKEN: &str = "resp-limits-token-0123456789";
    let node = Node::start_with(&[
        "--auth-token",
        TOKEN,
        "--max-connections",
        "2",
        "--header-read-timeout",
        "1s",
    ]);
    let port = node.resp_port();
    let started = Instant::now();
    let mut silent: Vec<TcpStream> = (0..2).map(|_| connect(port)).collect();
    for s in &mut silent {
        let said = read_to_close(s);
        assert!(said.starts_with("-NOAUTH Authentication required"), "{said}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "silent sockets held their slots for {:?}",
        started.elapsed()
    );
    assert_eq!(cli(port, &["-a", TOKEN, "--no-auth-warning", "SET", "k", "v"]), "OK");
    // Neither a RESET now and then nor a stream of PINGs whose answers are never read
    // keeps an unauthenticated socket past its deadline.
    let started = Instant::now();
    let mut flooder = connect_admitted(port);
    flooder.set_write_timeout(Some(Duration::from_secs(15))).unwrap();
    let flood = std::thread::spawn(move || {
        let pings = b"PING\r\n".repeat(64 * 1024);
        while flooder.write_all(&pings).is_ok() {}
        started.elapsed()
    });
    let mut resetter = connect_admitted(port);
    resetter.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut said = Vec::new();
    let closed = wait_until(Duration::from_secs(10), || {
        if resetter.write_all(b"RESET\r\n").is_err() {
            return true;
        }
        let mut buf = [0u8; 256];
        match resetter.read(&mut buf) {
            Ok(0) => true,
            Ok(n) => {
                said.extend_from_slice(&buf[..n]);
                false
            }
            Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
        }
    });
    let said = String::from_utf8_lossy(&said);
    assert!(
        closed && said.contains("-NOAUTH"),
        "a RESET loop kept its slot: {said:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "RESET held the slot {:?}",
        started.elapsed()
    );
    let flooded = flood.join().unwrap();
    assert!(
        flooded < Duration::from_secs(8),
        "a PING flood held its slot for {flooded:?}"
    );
    let mut last = String::new();
    let served = wait_until(Duration::from_secs(5), || {
        last = cli(port, &["-a", TOKEN, "--no-auth-warning", "GET", "k"]);
        last == "v"
    });
    assert!(served, "the slots were not given back: {last}");
    // An authenticated connection may then sit idle: Redis does not time clients out.
    let mut idle = connect(port);
    idle.write_all(format!("AUTH {TOKEN}\r\n").as_bytes()).unwrap();
    let mut ok = [0u8; 5];
    idle.read_exact(&mut ok).unwrap();
    assert_eq!(&ok, b"+OK\r\n");
    let until = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < until {
        // A redis-cli's slot comes back when the node reads its close, which can trail the
        // exit under load: only that refusal is waited out, and the GET must answer.
        let mut got = String::new();
        wait_until(Duration::from_secs(5), || {
            got = cli(port, &["-a", TOKEN, "--no-auth-warning", "GET", "k"]);
            !got.contains("max number of clients reached")
        });
        assert_eq!(got, "v");
    }
    idle.write_all(b"GET k\r\n").unwrap();
    let mut got = [0u8; 7];
    idle.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"$1\r\nv\r\n");
}

/// One request, one `MULTI` and one operation are bounded by what one log entry may carry
/// (here about 94 KiB, from `max-value-bytes 1024`), with an error that says so, on the
/// leader and on a follower alike: nothing is buffered past it, and a follower never
/// forwards what the leader would refuse.
#[test]
fn requests_and_transactions_past_one_entry_are_refused_alike_on_every_member() {
    let cluster = Cluster::start(3, &["--max-value-bytes", "1024"]);
    await_cluster_version(&[&cluster.node(0).http, &cluster.node(1).http, &cluster.node(2).http]);
    let leader = cluster.leader();
    let follower = (leader + 1) % 3;
    let value = "v".repeat(1000);
    for at in [leader, follower] {
        let port = cluster.node(at).resp_port();
        // MSET of 120 values of 1000 bytes: each in bounds, 120 KB together.
        let mut req = String::from("*241\r\n$4\r\nMSET\r\n");
        for i in 0..120 {
            let k = format!("k{i}");
            req.push_str(&format!("${}\r\n{k}\r\n$1000\r\n{value}\r\n", k.len()));
        }
        let mut s = connect(port);
        let _ = s.write_all(req.as_bytes());
        let said = read_to_close(&mut s);
        assert!(
            said.starts_with("-ERR Protocol error: too big request: over ")
                && said.ends_with("the most one request may carry\r\n"),
            "node {at}: {said:?}"
        );
        // 60 values fit: the same command is applied.
        let mut args = vec!["MSET".to_string()];
        for i in 0..60 {
            args.push(format!("m{at}-{i}"));
            args.push(value.clone());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(cli(port, &args), "OK", "node {at}");
        assert_eq!(cli(port, &["STRLEN", &format!("m{at}-59")]), "1000");

        // A DEL of many short keys (28 KB here) is far larger on the peer wire than in RESP
        // (over 100 KB), and is applied all the same, alone or two in one pipeline.
        let dels: Vec<String> = (0..2000).map(|i| format!("d{i:07}")).collect();
        let mut args = vec!["DEL"];
        args.extend(dels.iter().map(String::as_str));
        assert_eq!(cli(port, &args), "0", "node {at}");
        let mut two = String::new();
        for half in dels.chunks(1000) {
            two.push_str(&format!("*{}\r\n$3\r\nDEL\r\n", half.len() + 1));
            for k in half {
                two.push_str(&format!("${}\r\n{k}\r\n", k.len()));
            }
        }
        let mut s = connect(port);
        s.write_all(two.as_bytes()).unwrap();
        let mut answers = [0u8; 8];
        s.read_exact(&mut answers).unwrap();
        assert_eq!(&answers, b":0\r\n:0\r\n", "node {at}");

        // MULTI: each SET fits, and one of them takes the transaction past one entry
        // (eight requests' worth: about 770 KB here).
        let mut s = std::io::BufReader::new(connect(port));
        assert_eq!(ask_raw(&mut s, "MULTI"), b"+OK\r\n");
        let mut refusal = None;
        for i in 0..1000 {
            let reply = ask_raw(&mut s, &format!("SET t{at}-{i} {value}"));
            if reply != b"+QUEUED\r\n" {
                refusal = Some((i, String::from_utf8_lossy(&reply).into_owned()));
                break;
            }
        }
        let (i, said) = refusal.expect("a transaction of 1 MB was queued whole");
        assert!((700..800).contains(&i), "refused at {i}");
        assert!(said.starts_with("-ERR a dcache transaction carries at most "), "{said}");
        assert_eq!(
            ask_raw(&mut s, "EXEC"),
            b"-EXECABORT Transaction discarded because of previous errors.\r\n"
        );
        assert_eq!(cli(port, &["EXISTS", &format!("t{at}-0")]), "0", "node {at}");
    }
    // The HTTP batch is bounded the same way, through a follower too: 413, nothing applied.
    let ops: Vec<_> = (0..100)
        .map(|i| serde_json::json!({"op": "set", "key": format!("h{i}"), "value": value}))
        .collect();
    let (status, body) = cluster
        .node(follower)
        .http
        .post_json("/api/v1/batch", &serde_json::json!({ "ops": ops }));
    assert_eq!(status, 413, "{body}");
    assert!(body.to_string().contains("one log entry"), "{body}");
    assert_eq!(cluster.node(leader).http.value_of("h0"), None);
    // A body within bounds whose writes take more on the peer wire than in JSON (1000
    // writes of 40-byte values, each with its framing) is forwarded and applied.
    let ops: Vec<_> = (0..1000)
        .map(|i| serde_json::json!({"op": "set", "key": format!("e{i}"), "value": "w".repeat(40)}))
        .collect();
    let (status, body) = cluster
        .node(follower)
        .http
        .post_json("/api/v1/batch", &serde_json::json!({ "ops": ops }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        cluster.node(leader).http.value_of("e999").map(|(v, _)| v),
        Some("w".repeat(40))
    );
}

/// Expiry times whose absolute time does not fit in a signed 64-bit count of ms are
/// refused as redis-server refuses them, and every TTL answer stays in range; pipelined
/// writes in RESP2's subscribed mode are refused one by one, as redis-server does.
#[test]
fn absurd_expiry_times_and_writes_while_subscribed_answer_as_redis_server_answers() {
    let node = Node::start();
    await_cluster_version(&[&node.http]);
    let redis = RedisServer::start();
    let reader = |port: u16| std::io::BufReader::new(connect(port));
    let (mut ours, mut theirs) = (reader(node.resp_port()), reader(redis.port));
    let script = "\
        SET p v|SET big v EX 9223372036854775|SET big v PX 9223372036854775807|\
        SET big v EX 9223372036854775807|SETEX big 9223372036854775 v|PSETEX big 9223372036854775807 v|\
        EXPIRE p 9223372036854775807|PEXPIRE p 9223372036854775807|EXPIRE p 9223372036854775|\
        EXPIREAT p 9223372036854775807|EXPIREAT p 9223372036854775|GETEX p PX 9223372036854775807|\
        GETEX p EX 9223372036854775|SET big v EXAT 9223372036854775807|EXISTS big|\
        SET big v EX 9223372036854|EXISTS big|EXPIRE p 9223372036854|\
        SET z v EX 01|SET z v EX -0|SET z v|EXPIRE z 00|EXPIRE z -0|INCRBY z 01|SETEX z 01 v|\
        EXPIRE p -9223372036854776|EXPIREAT p -9223372036854775808|EXISTS p|PEXPIRE p +5|EXISTS z";
    assert_same_answers(&mut ours, &mut theirs, script);
    // Near the bound the TTL answers stay positive and in range.
    let ttl = String::from_utf8(ask_raw(&mut ours, "PTTL p")).unwrap();
    let ttl: i64 = ttl.trim_start_matches(':').trim_end().parse().unwrap();
    assert!(ttl > 9_223_372_036_000_000 - 10_000, "{ttl}");

    let pipeline = b"SUBSCRIBE news\r\nSET a 1\r\nSET b 2\r\nDEL a\r\nGET a\r\nPING\r\n";
    let answers = |port: u16| {
        let mut s = connect(port);
        s.write_all(pipeline).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        // Six answers; the last is PING's, in subscribed mode an array ending in an empty bulk.
        while !out.ends_with(b"$0\r\n\r\n") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&out));
            out.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    let (a, b) = (answers(node.resp_port()), answers(redis.port));
    assert_eq!(a, b, "subscribed-mode pipeline answers differ");
    assert_eq!(cli(node.resp_port(), &["EXISTS", "a", "b"]), "0");
}

/// An absolute time queued in `MULTI` is taken against the clock at `EXEC`, as Redis does:
/// a time that passed between the two leaves no live key.
#[test]
fn an_absolute_time_in_multi_is_judged_when_exec_runs() {
    let node = Node::start();
    await_cluster_version(&[&node.http]);
    let mut s = std::io::BufReader::new(connect(node.resp_port()));
    let now_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    };
    let at = now_ms() + 700;
    assert_eq!(ask_raw(&mut s, "MULTI"), b"+OK\r\n");
    assert_eq!(ask_raw(&mut s, &format!("SET gone v PXAT {at}")), b"+QUEUED\r\n");
    assert_eq!(
        ask_raw(&mut s, &format!("SET kept v PXAT {}", at + 60_000)),
        b"+QUEUED\r\n"
    );
    assert_eq!(ask_raw(&mut s, "SET plain v"), b"+QUEUED\r\n");
    // The scenario is time passing between MULTI and EXEC, not a state to wait for.
    while now_ms() < at + 300 {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(ask_raw(&mut s, "EXEC"), b"*3\r\n+OK\r\n+OK\r\n+OK\r\n");
    assert_eq!(ask_raw(&mut s, "EXISTS gone kept plain"), b":2\r\n");
    let left = String::from_utf8(ask_raw(&mut s, "PTTL kept")).unwrap();
    let left: u64 = left.trim_start_matches(':').trim_end().parse().unwrap();
    assert!((58_000..=60_000).contains(&left), "{left}");
}

/// A pipeline of `GET`s of large values is answered in order and whole, though one read
/// copies out only about 256 KiB of values at a time (the rest waits for the next read).
#[test]
fn a_pipeline_of_large_gets_is_answered_whole_and_in_order() {
    let node = Node::start();
    let port = node.resp_port();
    let mut s = std::io::BufReader::new(connect(port));
    for i in 0..6 {
        let value = char::from(b'a' + i).to_string().repeat(200_000);
        let set = format!("*3\r\n$3\r\nSET\r\n$2\r\nk{i}\r\n$200000\r\n{value}\r\n");
        s.get_mut().write_all(set.as_bytes()).unwrap();
        let mut ok = [0u8; 5];
        s.read_exact(&mut ok).unwrap();
        assert_eq!(&ok, b"+OK\r\n");
    }
    let mut pipeline = String::new();
    for i in [0, 1, 2, 3, 4, 5, 9, 5, 0] {
        pipeline.push_str(&format!("*2\r\n$3\r\nGET\r\n$2\r\nk{i}\r\n"));
    }
    s.get_mut().write_all(pipeline.as_bytes()).unwrap();
    for i in [0u8, 1, 2, 3, 4, 5, 9, 5, 0] {
        let mut header = String::new();
        std::io::BufRead::read_line(&mut s, &mut header).unwrap();
        if i == 9 {
            assert_eq!(header, "$-1\r\n");
            continue;
        }
        assert_eq!(header, "$200000\r\n", "GET k{i}");
        let mut body = vec![0u8; 200_002];
        s.read_exact(&mut body).unwrap();
        assert!(
            body[..200_000].iter().all(|b| *b == b'a' + i),
            "GET k{i} answered another value"
        );
    }
}

/// Linearizable reads through a follower while the leader is killed: a read-index request
/// whose connection broke in flight changes nothing, so it is retried with the next leader
/// instead of failing with "a write may or may not have been applied".
#[test]
fn reads_through_a_follower_ride_out_the_leaders_death() {
    let mut cluster = Cluster::start(3, &[]);
    await_cluster_version(&[&cluster.node(0).http, &cluster.node(1).http, &cluster.node(2).http]);
    let leader = cluster.leader();
    let follower = (leader + 1) % 3;
    let port = cluster.node(follower).resp_port();
    assert_eq!(cli(port, &["SET", "held", "v"]), "OK");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..6)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut s = std::io::BufReader::new(connect(port));
                let (mut reads, mut failures) = (0, Vec::new());
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let reply = ask_raw(&mut s, "GET held");
                    if reply != b"$1\r\nv\r\n" {
                        failures.push(String::from_utf8_lossy(&reply).into_owned());
                    }
                    reads += 1;
                }
                (reads, failures)
            })
        })
        .collect();
    // Reads are flowing; then the leader dies under them.
    assert!(wait_until(Duration::from_secs(5), || cli(port, &["GET", "held"]) == "v"));
    cluster.kill9(leader);
    let survivors = [follower, (leader + 2) % 3];
    let elected = wait_until(Duration::from_secs(10), || {
        survivors.iter().any(|&i| cluster.status(i)["role"] == "leader")
    });
    assert!(elected, "no new leader");
    // A few more reads through the new leader, then stop.
    assert!(wait_until(Duration::from_secs(5), || cli(port, &["GET", "held"]) == "v"));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        let (reads, failures) = r.join().unwrap();
        assert!(reads > 0);
        assert!(
            failures.is_empty(),
            "{} of {reads} reads failed: {:?}",
            failures.len(),
            &failures[..failures.len().min(3)]
        );
    }
}

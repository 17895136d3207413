//! The Redis protocol through clients nobody here wrote (`redis-cli`, `redis-benchmark`,
//! the `redis` crate, Python's `redis` package) and raw sockets, against real nodes.

use std::io::{Read, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{free_ports, wait_until, Cluster, Node, BIN};

/// Runs `redis-cli -p PORT ARGS...` and returns its stdout (trimmed), asserting success.
fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli is installed (apt-get install redis-tools; .ci/run does it)");
    assert!(out.status.success(), "redis-cli {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Waits until every node in `urls` runs at cluster version 3, which INCR, EXPIRE and
/// PERSIST need: a fresh cluster starts at the oldest format and moves up within a second.
fn await_cluster_version(nodes: &[&crate::support::Http]) {
    let mut last = serde_json::Value::Null;
    let ok = wait_until(Duration::from_secs(10), || {
        nodes.iter().all(|h| {
            last = h.status();
            last["cluster_format"] == 3
        })
    });
    assert!(ok, "the cluster version never reached 3: {last:#}");
}

/// Sends `input` raw on a new connection and returns everything the node answers until it
/// closes the connection or goes quiet for a second.
fn raw(port: u16, input: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    // The node may close before it has read everything: a failed write is fine.
    let _ = s.write_all(input);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn redis_cli_sets_gets_expires_scans_and_reports_errors_in_redis_words() {
    let node = Node::start();
    await_cluster_version(&[&node.http]);
    let port = node.resp_port();
    assert_eq!(cli(port, &["set", "greeting", "hello"]), "OK");
    assert_eq!(cli(port, &["get", "greeting"]), "hello");
    // The same key through the HTTP API: one cache, two front ends.
    assert_eq!(node.http.value_of("greeting").map(|(v, _)| v).as_deref(), Some("hello"));
    assert_eq!(cli(port, &["set", "t", "v", "EX", "100"]), "OK");
    let ttl: i64 = cli(port, &["ttl", "t"]).parse().unwrap();
    assert!((99..=100).contains(&ttl), "{ttl}");
    assert_eq!(cli(port, &["ttl", "greeting"]), "-1");
    assert_eq!(cli(port, &["ttl", "missing"]), "-2");
    assert_eq!(cli(port, &["incrby", "n", "41"]), "41");
    assert_eq!(cli(port, &["incr", "n"]), "42");
    assert_eq!(cli(port, &["-3", "get", "n"]), "42");
    assert_eq!(cli(port, &["mset", "user:1", "a", "user:2", "b", "other", "c"]), "OK");
    let mut scanned: Vec<String> = cli(port, &["--scan", "--pattern", "user:*"])
        .lines()
        .map(String::from)
        .collect();
    scanned.sort();
    assert_eq!(scanned, ["user:1", "user:2"]);
    assert_eq!(cli(port, &["del", "user:1", "user:2", "nope"]), "2");
    assert_eq!(cli(port, &["exists", "other", "other", "nope"]), "2");

    // A script of mistakes, each answered as Redis answers it.
    let mut child = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"foo bar baz\nget\nset k v EX 0\nincr greeting\nselect 1\nset k v nonsense\nping\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "ERR unknown command 'foo', with args beginning with: 'bar' 'baz'",
        "ERR wrong number of arguments for 'get' command",
        "ERR invalid expire time in 'set' command",
        "ERR value is not an integer or out of range",
        "ERR DB index is out of range",
        "ERR syntax error",
        "PONG",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn redis_cli_pipe_inserts_20k_keys() {
    let node = Node::start();
    let mut input = Vec::new();
    for i in 0..20_000 {
        let (k, v) = (format!("mass:{i}"), format!("value-{i}"));
        input
            .extend_from_slice(format!("*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n", k.len(), v.len()).as_bytes());
    }
    let mut child = Command::new("redis-cli")
        .args(["-p", &node.resp_port().to_string(), "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("errors: 0, replies: 20000"), "{text}");
    assert_eq!(cli(node.resp_port(), &["dbsize"]), "20000");
    assert_eq!(cli(node.resp_port(), &["get", "mass:19999"]), "value-19999");
}

#[test]
fn any_member_of_a_cluster_serves_pipelines_through_the_redis_crate() {
    let c = Cluster::start(3, &[]);
    await_cluster_version(&(0..3).map(|i| &c.node(i).http).collect::<Vec<_>>());
    let leader = c.leader();
    let follower = c.followers_of(leader)[0];
    let client = redis::Client::open(c.node(follower).resp_url()).unwrap();
    let mut con = client.get_connection().unwrap();
    let mut pipe = redis::pipe();
    for i in 0..500 {
        pipe.cmd("SET").arg(format!("p:{i}")).arg(i).ignore();
    }
    pipe.cmd("INCRBY").arg("counter").arg(5);
    pipe.cmd("GET").arg("p:499");
    let (counter, last): (i64, String) = pipe.query(&mut con).unwrap();
    assert_eq!((counter, last.as_str()), (5, "499"));

    // Every member sees every write at once (linearizable reads), over RESP.
    for i in 0..3 {
        let mut con = redis::Client::open(c.node(i).resp_url())
            .unwrap()
            .get_connection()
            .unwrap();
        let values: Vec<Option<String>> = redis::cmd("MGET")
            .arg("p:0")
            .arg("p:250")
            .arg("nope")
            .query(&mut con)
            .unwrap();
        assert_eq!(
            values,
            [Some("0".to_string()), Some("250".to_string()), None],
            "node{}",
            i + 1
        );
        let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
        assert_eq!(n, 501);
    }
    // A non-integer increment fails in Redis's words and changes nothing.
    let err = redis::cmd("INCR")
        .arg("p:1x")
        .arg("extra")
        .query::<i64>(&mut con)
        .unwrap_err();
    assert!(err.to_string().contains("wrong number of arguments"), "{err}");
    redis::cmd("SET").arg("word").arg("abc").query::<()>(&mut con).unwrap();
    let err = redis::cmd("INCR").arg("word").query::<i64>(&mut con).unwrap_err();
    assert!(
        err.to_string().contains("value is not an integer or out of range"),
        "{err}"
    );
    let status = c.status(leader);
    let member = status["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == format!("node{}", follower + 1))
        .unwrap()
        .clone();
    assert_eq!(
        member["resp_url"],
        c.node(follower).resp_url(),
        "the RESP URL is published: {member:#}"
    );
}

#[test]
fn protocol_abuse_closes_only_that_connection() {
    let node = Node::start_with(&["--max-value-bytes", "1024"]);
    let port = node.resp_port();
    for (input, answer) in [
        (
            &b"*2147483647\r\n"[..],
            &b"-ERR Protocol error: invalid multibulk length\r\n"[..],
        ),
        (b"*1\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5000\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (b"*1\r\n:1\r\n", b"-ERR Protocol error: expected '$', got ':'\r\n"),
    ] {
        assert_eq!(raw(port, input), answer, "{input:?}");
    }
    // A 10 MB line without a newline: refused once it passes 64 KiB, not buffered.
    let answer = raw(port, &vec![b'a'; 10 * 1024 * 1024]);
    assert_eq!(answer, b"-ERR Protocol error: too big inline request\r\n");
    // Keys and values that are not UTF-8 are refused by name, not mangled.
    let answer = raw(port, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n\xff\xfe\r\nQUIT\r\n");
    assert!(
        String::from_utf8_lossy(&answer).starts_with("-ERR dcache stores UTF-8 keys and values only"),
        "{answer:?}"
    );
    // Pipelined requests are answered in order, and the node still serves everyone.
    assert_eq!(
        raw(port, b"PING\r\nSET a 1\r\nGET a\r\nQUIT\r\n"),
        b"+PONG\r\n+OK\r\n$1\r\n1\r\n+OK\r\n"
    );
    assert_eq!(node.http.health(), Some(200));
}

#[test]
fn tokens_gate_the_redis_protocol_like_the_http_api() {
    const RW: &str = "resp-rw-token-0123456789";
    const RO: &str = "resp-ro-token-0123456789";
    let node = Node::start_with(&["--auth-token", RW, "--read-only-token", RO]);
    let port = node.resp_port();
    let text = |input: &[u8]| String::from_utf8_lossy(&raw(port, input)).into_owned();
    assert_eq!(
        text(b"GET k\r\nQUIT\r\n"),
        "-NOAUTH Authentication required.\r\n+OK\r\n"
    );
    assert_eq!(
        text(b"AUTH wrong-token\r\nQUIT\r\n"),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n"
    );
    let ro = text(format!("AUTH {RO}\r\nGET k\r\nSET k v\r\nQUIT\r\n").as_bytes());
    assert_eq!(
        ro,
        "+OK\r\n$-1\r\n-NOPERM this user has no permissions to run the 'set' command\r\n+OK\r\n"
    );
    let rw = text(format!("HELLO 2 AUTH default {RW}\r\nSET k v\r\nGET k\r\nQUIT\r\n").as_bytes());
    assert!(rw.ends_with("+OK\r\n$1\r\nv\r\n+OK\r\n"), "{rw}");
    // Before authentication, a request past Redis's tight bounds is refused at once.
    assert_eq!(text(b"*11\r\n"), "-ERR Protocol error: invalid multibulk length\r\n");
}

#[test]
fn a_taken_resp_port_fails_the_start_with_one_line_naming_the_key() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let [client, peer] = free_ports();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .args(["--listen-client-urls", &format!("http://127.0.0.1:{client}")])
        .args(["--listen-peer-urls", &format!("http://127.0.0.1:{peer}")])
        .args(["--listen-resp-urls", &format!("redis://127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.contains("listen-resp-urls"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains(&port.to_string()) && line.contains("\"\" to turn"),
        "{line}"
    );
}

#[test]
fn redis_benchmark_and_python_redis_run_without_errors_against_a_cluster() {
    let c = Cluster::start(3, &[]);
    await_cluster_version(&(0..3).map(|i| &c.node(i).http).collect::<Vec<_>>());
    let port = c.node(c.followers_of(c.leader())[0]).resp_port();
    let out = Command::new("redis-benchmark")
        .args([
            "-p",
            &port.to_string(),
            "-t",
            "set,get,incr,mset",
            "-P",
            "16",
            "-n",
            "1000",
            "-c",
            "8",
            "-q",
        ])
        .output()
        .expect("redis-benchmark is installed (apt-get install redis-tools)");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for test in ["SET:", "GET:", "INCR:", "MSET (10 keys):"] {
        assert!(stdout.contains(test), "no {test} figure:\n{stdout}\n{stderr}");
    }
    assert!(!stdout.contains("ERR") && !stderr.contains("ERR"), "{stdout}\n{stderr}");

    let script = r#"
import redis, sys
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), decode_responses=True)
assert r.ping()
assert r.set("py", "thon") is True
assert r.get("py") == "thon"
assert r.set("py", "x", nx=True) is None
assert r.incr("py:n") == 1 and r.incr("py:n", 41) == 42
assert r.expire("py", 100) and 99 <= r.ttl("py") <= 100
assert r.persist("py") and r.ttl("py") == -1
assert r.mget(["py", "nope"]) == ["thon", None]
assert r.delete("py", "py:n", "nope") == 2
r.mset({"py:a": "1", "py:b": "2"})
assert sorted(r.scan_iter(match="py:*", count=1)) == ["py:a", "py:b"]
print("python ok")
"#;
    let out = Command::new("python3")
        .args(["-c", script, &port.to_string()])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("python ok"),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

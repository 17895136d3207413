//! The Redis protocol through clients nobody here wrote (`redis-cli`, `redis-benchmark`,
//! the `redis` crate, Python's `redis` package) and raw sockets, against real nodes.

use std::io::{Read, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{dcache, free_ports, run_dcache, wait_until, Cluster, Node, BIN};

/// Runs `redis-cli -p PORT ARGS...` to its end.
pub(crate) fn run_redis_cli(port: u16, args: &[&str]) -> std::process::Output {
    Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli is installed (apt-get install redis-tools; .ci/run does it)")
}

/// Runs `redis-cli -p PORT ARGS...` and returns its stdout (trimmed), asserting success.
fn cli(port: u16, args: &[&str]) -> String {
    let out = run_redis_cli(port, args);
    assert!(out.status.success(), "redis-cli {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Waits until every node in `urls` runs at this build's cluster version (4 or later is what
/// INCR, EXPIRE, PERSIST and values that are not UTF-8 need): a fresh cluster starts at the
/// oldest format and moves up within a second.
pub(crate) fn await_cluster_version(nodes: &[&crate::support::Http]) {
    let mut last = serde_json::Value::Null;
    let ok = wait_until(Duration::from_secs(10), || {
        nodes.iter().all(|h| {
            last = h.status();
            last["cluster_format"] == dcache::version::FORMAT
        })
    });
    assert!(
        ok,
        "the cluster version never reached {}: {last:#}",
        dcache::version::FORMAT
    );
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
    // INFO counts this very connection, and the replication section names the Raft state.
    let info = cli(port, &["info", "clients"]);
    assert!(
        info.contains("connected_clients:1\r\n") || info.contains("connected_clients:1\n"),
        "{info}"
    );
    let info = cli(port, &["info", "replication"]);
    assert!(
        info.contains("raft_role:leader") && info.contains("commit_index:"),
        "{info}"
    );

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
fn redis_cli_pipe_inserts_100k_keys() {
    let node = Node::start();
    let mut input = Vec::new();
    for i in 0..100_000 {
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
    assert!(text.contains("errors: 0, replies: 100000"), "{text}");
    assert_eq!(cli(node.resp_port(), &["dbsize"]), "100000");
    assert_eq!(cli(node.resp_port(), &["get", "mass:99999"]), "value-99999");
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
    // The pipeline's writes went to the leader in a few entries, not 500: they share versions.
    let scanned = c.node(leader).http.scan("p:", Some(1000));
    let versions: std::collections::BTreeSet<u64> = scanned["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["version"].as_u64().unwrap())
        .collect();
    assert_eq!(scanned["count"], 500);
    assert!(
        versions.len() <= 50,
        "{} entries for 500 pipelined writes",
        versions.len()
    );

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
    let (out, what) = run_dcache(dcache(Some(&c.node(leader).url())), &["cluster", "members"]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("RESP URL") && (0..3).all(|i| listing.contains(&c.node(i).resp_url())),
        "{what}"
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
    // Lengths are read as redis-server reads them: an empty or negative count is skipped,
    // a `+` or a leading zero is refused.
    let redis = RedisServer::start();
    for input in [
        &b"*-1\r\nPING\r\nQUIT\r\n"[..],
        b"*0\r\n*-5\r\nPING\r\nQUIT\r\n",
        b"*1\r\n$+4\r\nPING\r\n",
        b"*1\r\n$04\r\nPING\r\n",
        b"*+1\r\n$4\r\nPING\r\n",
        b"*01\r\n$4\r\nPING\r\n",
    ] {
        assert_eq!(
            String::from_utf8_lossy(&raw(port, input)),
            String::from_utf8_lossy(&raw(redis.port, input)),
            "{input:?}"
        );
    }
    // A 10 MB line without a newline: refused once it passes 64 KiB, not buffered.
    let answer = raw(port, &vec![b'a'; 10 * 1024 * 1024]);
    assert_eq!(answer, b"-ERR Protocol error: too big inline request\r\n");
    // Keys are any bytes (binary_keys.rs goes through them all), once the cluster runs at
    // format 4.
    await_cluster_version(&[&node.http]);
    let answer = raw(
        port,
        b"*3\r\n$3\r\nSET\r\n$2\r\n\xff\xfe\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$2\r\n\xff\xfe\r\nQUIT\r\n",
    );
    assert_eq!(answer, b"+OK\r\n$1\r\nv\r\n+OK\r\n", "{answer:?}");
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
    assert_eq!(
        text(b"*11\r\n"),
        "-ERR Protocol error: unauthenticated multibulk length\r\n"
    );
    assert_eq!(
        text(b"*1\r\n$16385\r\n"),
        "-ERR Protocol error: unauthenticated bulk length\r\n"
    );
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

/// The first Python interpreter that can import the `redis` package: `python3` on the
/// PATH may be a pyenv or venv build that does not see Debian's `python3-redis`, which
/// lands in `/usr/bin/python3`'s dist-packages. `.ci/run` makes sure one of them has it.
fn python_with_redis() -> &'static str {
    const CANDIDATES: [&str; 2] = ["python3", "/usr/bin/python3"];
    CANDIDATES
        .into_iter()
        .find(|python| {
            Command::new(python)
                .args(["-c", "import redis"])
                .output()
                .is_ok_and(|out| out.status.success())
        })
        .unwrap_or_else(|| {
            panic!("no Python among {CANDIDATES:?} imports `redis`: install python3-redis (.ci/run does)")
        })
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
    let out = Command::new(python_with_redis())
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

#[test]
fn watch_multi_exec_apply_at_one_version_or_not_at_all() {
    let c = Cluster::start(3, &[]);
    await_cluster_version(&(0..3).map(|i| &c.node(i).http).collect::<Vec<_>>());
    let leader = c.leader();
    let followers = c.followers_of(leader);
    let port = c.node(followers[0]).resp_port();
    let text = |input: &[u8]| String::from_utf8_lossy(&raw(port, input)).into_owned();

    // Without a conflict every queued write applies, each with its own answer, at one version.
    let out = text(
        b"SET word abc\r\nWATCH acct\r\nMULTI\r\nSET acct 10\r\nINCRBY n 5\r\nINCR word\r\nDEL gone word\r\nSET nx 1 NX\r\nEXEC\r\nQUIT\r\n",
    );
    assert_eq!(
        out,
        "+OK\r\n+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n\
         *5\r\n+OK\r\n:5\r\n-ERR value is not an integer or out of range\r\n:1\r\n+OK\r\n+OK\r\n"
    );
    let http = &c.node(leader).http;
    let (acct, n, nx) = (
        http.value_of("acct").unwrap(),
        http.value_of("n").unwrap(),
        http.value_of("nx").unwrap(),
    );
    assert_eq!((acct.0.as_str(), n.0.as_str()), ("10", "5"));
    assert!(
        acct.1 == n.1 && n.1 == nx.1,
        "one log entry, one version: {acct:?} {n:?} {nx:?}"
    );
    assert_eq!(http.value_of("word"), None, "deleted in the same transaction");

    // A watched key written by someone else (through another member): nothing applies.
    let mut a = TcpStream::connect(("127.0.0.1", port)).unwrap();
    a.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let ask = |s: &mut TcpStream, req: &str, want: &str| {
        s.write_all(req.as_bytes()).unwrap();
        let mut got = vec![0u8; want.len()];
        s.read_exact(&mut got).unwrap();
        assert_eq!(String::from_utf8_lossy(&got), want, "{req}");
    };
    ask(&mut a, "WATCH acct other\r\n", "+OK\r\n");
    assert_eq!(cli(c.node(followers[1]).resp_port(), &["set", "acct", "99"]), "OK");
    ask(
        &mut a,
        "MULTI\r\nSET acct 1\r\nSET other 1\r\n",
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n",
    );
    ask(&mut a, "EXEC\r\n", "*-1\r\n");
    assert_eq!(http.value_of("acct").map(|(v, _)| v).as_deref(), Some("99"));
    assert_eq!(http.value_of("other"), None);
    // EXEC unwatched everything: the same transaction now applies.
    ask(
        &mut a,
        "MULTI\r\nSET acct 1\r\nEXEC\r\n",
        "+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n",
    );

    // Errors while queueing abort the whole transaction, in Redis's words.
    ask(
        &mut a,
        "MULTI\r\nMULTI\r\n",
        "+OK\r\n-ERR MULTI calls can not be nested\r\n",
    );
    ask(
        &mut a,
        "SET acct 2\r\nNOSUCH x\r\n",
        "+QUEUED\r\n-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n",
    );
    ask(
        &mut a,
        "EXEC\r\n",
        "-EXECABORT Transaction discarded because of previous errors.\r\n",
    );
    ask(&mut a, "MULTI\r\nGET acct\r\nDISCARD\r\n", "+OK\r\n");
    let mut rest = [0u8; 256];
    let n = a.read(&mut rest).unwrap();
    let rest = String::from_utf8_lossy(&rest[..n]);
    assert!(
        rest.starts_with("-ERR 'get' cannot be queued in a dcache transaction") && rest.ends_with("+OK\r\n"),
        "{rest}"
    );
    ask(
        &mut a,
        "EXEC\r\nDISCARD\r\nMULTI\r\nWATCH k\r\nDISCARD\r\n",
        "-ERR EXEC without MULTI\r\n-ERR DISCARD without MULTI\r\n+OK\r\n-ERR WATCH inside MULTI is not allowed\r\n+OK\r\n",
    );
    assert_eq!(http.value_of("acct").map(|(v, _)| v).as_deref(), Some("1"));

    // The redis crate's optimistic-locking helper (WATCH, read, MULTI/EXEC, retry on a null
    // EXEC) from two members at once: no increment is lost.
    let threads: Vec<_> = followers
        .iter()
        .map(|&i| {
            let url = c.node(i).resp_url();
            std::thread::spawn(move || {
                let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
                for _ in 0..25 {
                    let () = redis::transaction(&mut con, &["counted"], |con, pipe| {
                        let now: Option<i64> = redis::cmd("GET").arg("counted").query(con)?;
                        pipe.cmd("SET")
                            .arg("counted")
                            .arg(now.unwrap_or(0) + 1)
                            .ignore()
                            .query(con)
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(http.value_of("counted").map(|(v, _)| v).as_deref(), Some("50"));

    // A pipeline of GETs through one follower (answered from one read) sees every write
    // acknowledged through the other before it was sent.
    let other = c.node(followers[1]).resp_port();
    for n in 0..20 {
        assert_eq!(cli(other, &["set", "seen", &n.to_string()]), "OK");
        let out = text(b"GET seen\r\nGET seen\r\nGET nothing\r\nGET seen\r\nQUIT\r\n");
        let v = format!("${}\r\n{n}\r\n", n.to_string().len());
        assert_eq!(out, format!("{v}{v}$-1\r\n{v}+OK\r\n"), "write {n}");
    }

    // Absolute times through a follower, queued in a transaction and pipelined (a pipeline
    // run leaves them to go one by one): each becomes the expiry it names.
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 60_000;
    let out = text(
        format!(
            "MULTI\r\nSET ma 1 PXAT {at}\r\nSET mb 1\r\nPEXPIREAT mb {at}\r\nEXEC\r\n\
             SET pa 1 PXAT {at}\r\nSET pb 1 PXAT {at}\r\nSET pc 1\r\nPEXPIREAT pc {at}\r\nQUIT\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(
        out,
        "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n+OK\r\n:1\r\n+OK\r\n+OK\r\n+OK\r\n:1\r\n+OK\r\n"
    );
    for key in ["ma", "mb", "pa", "pb", "pc"] {
        let got: i128 = cli(port, &["pexpiretime", key]).parse().unwrap();
        assert!(
            (got - at as i128).abs() < 1000,
            "{key} expires at {got}, asked for {at}"
        );
    }
}

#[test]
fn a_leader_killed_during_pipelines_loses_no_acknowledged_write() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let mut c = Cluster::start(3, &[]);
    await_cluster_version(&(0..3).map(|i| &c.node(i).http).collect::<Vec<_>>());
    let leader = c.leader();
    let follower = c.followers_of(leader)[0];
    let url = c.node(follower).resp_url();
    let stop = Arc::new(AtomicBool::new(false));
    // (acknowledged pipelines, failed pipelines with their errors)
    let record = Arc::new(Mutex::new((Vec::<u32>::new(), Vec::<String>::new())));
    let writer = {
        let (stop, record) = (stop.clone(), record.clone());
        std::thread::spawn(move || {
            let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
            con.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
            let mut round = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let mut pipe = redis::pipe();
                for i in 0..50 {
                    pipe.cmd("SET").arg(format!("r{round}:{i}")).arg(round).ignore();
                }
                let result: redis::RedisResult<()> = pipe.query(&mut con);
                let mut r = record.lock().unwrap();
                match result {
                    Ok(()) => r.0.push(round),
                    Err(e) => r.1.push(e.to_string()),
                }
                round += 1;
            }
        })
    };
    let acked = |record: &Mutex<(Vec<u32>, Vec<String>)>| record.lock().unwrap().0.len();
    assert!(
        wait_until(Duration::from_secs(20), || acked(&record) >= 5),
        "no pipeline acknowledged before the kill"
    );
    c.kill9(leader);
    let before = acked(&record);
    // Writes go on through the survivor once a new leader is elected.
    assert!(
        wait_until(Duration::from_secs(20), || acked(&record) >= before + 5),
        "no pipeline acknowledged after the kill:\n{}",
        c.logs()
    );
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let (ok, failed) = std::mem::take(&mut *record.lock().unwrap());
    // A pipeline in flight at the kill may fail, and says its outcome is unknown.
    for e in &failed {
        assert!(
            e.contains("TRYAGAIN") || e.contains("may or may not"),
            "an unclear error for a write in flight: {e}"
        );
    }
    let new_leader = c.leader();
    for i in c.live() {
        let http = &c.node(i).http;
        for &round in &ok {
            for key in [format!("r{round}:0"), format!("r{round}:49")] {
                assert_eq!(
                    http.value_of(&key).map(|(v, _)| v),
                    Some(round.to_string()),
                    "acknowledged {key} missing on node{} (leader node{})",
                    i + 1,
                    new_leader + 1
                );
            }
        }
    }
}

#[test]
fn keyspace_notifications_reach_subscribers_on_every_member() {
    let c = Cluster::start(3, &[]);
    await_cluster_version(&(0..3).map(|i| &c.node(i).http).collect::<Vec<_>>());
    let leader = c.leader();
    let follower = c.followers_of(leader)[0];
    // The redis crate subscribes on a follower; writes go through the leader's RESP port.
    let mut sub_con = redis::Client::open(c.node(follower).resp_url())
        .unwrap()
        .get_connection()
        .unwrap();
    let mut pubsub = sub_con.as_pubsub();
    pubsub.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    pubsub.psubscribe("__keyspace@0__:ks:*").unwrap();
    pubsub.subscribe("__keyevent@0__:del").unwrap();
    let port = c.node(leader).resp_port();
    assert_eq!(cli(port, &["set", "ks:a", "1"]), "OK");
    assert_eq!(cli(port, &["set", "other", "1"]), "OK");
    assert_eq!(cli(port, &["del", "ks:a", "other"]), "2");
    let mut got = Vec::new();
    for _ in 0..4 {
        let m = pubsub.get_message().expect("a notification within 10 s");
        let payload: String = m.get_payload().unwrap();
        got.push(format!("{} {payload}", m.get_channel_name()));
    }
    assert_eq!(
        got,
        [
            "__keyspace@0__:ks:a set",
            "__keyspace@0__:ks:a del",
            "__keyevent@0__:del ks:a",
            "__keyevent@0__:del other",
        ]
    );
    drop(pubsub);

    // Subscribed mode in Redis's words, byte for byte.
    let text = |input: &[u8]| String::from_utf8_lossy(&raw(port, input)).into_owned();
    assert_eq!(
        text(b"SUBSCRIBE a b\r\nGET k\r\nPING\r\nUNSUBSCRIBE\r\nGET k\r\nPUBLISH a x\r\nQUIT\r\n"),
        "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n\
         -ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n\
         *2\r\n$4\r\npong\r\n$0\r\n\r\n\
         *3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:0\r\n\
         $-1\r\n\
         -ERR dcache publishes keyspace notifications only (__keyspace@0__ and __keyevent@0__ channels); PUBLISH is not supported\r\n\
         +OK\r\n"
    );
}

/// A `redis-server` of our own on a free port, stopped (by its PID) when dropped.
pub(crate) struct RedisServer {
    child: std::process::Child,
    pub(crate) port: u16,
}

impl RedisServer {
    pub(crate) fn start() -> RedisServer {
        let [port] = free_ports();
        let child = Command::new("redis-server")
            .args(["--save", "", "--appendonly", "no", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (apt-get install redis-server; .ci/run does it)");
        let server = RedisServer { child, port };
        let up = wait_until(Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "redis-server did not listen on {port}");
        server
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends each command of `script` (`|` between commands) to both connections and fails,
/// naming every command and both answers, where the bytes of the answers differ.
pub(crate) fn assert_same_answers(
    ours: &mut std::io::BufReader<TcpStream>,
    theirs: &mut std::io::BufReader<TcpStream>,
    script: &str,
) {
    let mut differ = Vec::new();
    for line in script.split('|') {
        let (a, b) = (ask_raw(ours, line), ask_raw(theirs, line));
        if a != b {
            differ.push(format!(
                "{line}\n  dcache: {:?}\n  redis:  {:?}",
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b)
            ));
        }
    }
    assert!(differ.is_empty(), "answers differ:\n{}", differ.join("\n"));
}

/// Sends one command (`""` is an empty argument) as a RESP array and returns the raw bytes
/// of its one reply.
pub(crate) fn ask_raw(s: &mut std::io::BufReader<TcpStream>, line: &str) -> Vec<u8> {
    let args: Vec<&str> = line.split(' ').map(|a| if a == "\"\"" { "" } else { a }).collect();
    let mut req = format!("*{}\r\n", args.len()).into_bytes();
    for a in &args {
        req.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    s.get_mut().write_all(&req).unwrap();
    let mut out = Vec::new();
    read_reply(s, &mut out);
    out
}

/// Reads one RESP2 reply (nested arrays included) into `out`, bytes as they came.
fn read_reply(s: &mut std::io::BufReader<TcpStream>, out: &mut Vec<u8>) {
    use std::io::BufRead;
    let start = out.len();
    s.read_until(b'\n', out).unwrap();
    let header = String::from_utf8_lossy(&out[start..]).trim_end().to_string();
    let n: i64 = header[1..].parse().unwrap_or(0);
    match header.as_bytes()[0] {
        b'$' if n >= 0 => {
            let mut body = vec![0u8; n as usize + 2];
            s.read_exact(&mut body).unwrap();
            out.extend_from_slice(&body);
        }
        b'*' => (0..n.max(0)).for_each(|_| read_reply(s, out)),
        _ => {}
    }
}

/// A pipeline of GETs (answered from one read per run of them, see `read_run`) with writes
/// and malformed GETs between them answers exactly as redis-server does, in order.
#[test]
fn pipelined_gets_answer_as_redis_server_answers() {
    let node = Node::start();
    await_cluster_version(&[&node.http]);
    let redis = RedisServer::start();
    let mut pipeline = String::from("SET a 1\r\nGET a\r\nGET b\r\nSET b 2\r\nGET a\r\nGET b\r\nGET\r\n");
    pipeline.push_str("GET a b\r\nget a\r\nGET b\r\nDEL a\r\nGET a\r\nGET b\r\nINCR b\r\nGET b\r\n");
    pipeline.push_str("*2\r\n$3\r\nGET\r\n$1\r\nb\r\nGET b\r\n");
    // Longer than one run.
    for i in 0..150 {
        pipeline.push_str(&format!("GET {}\r\n", ["a", "b", "c"][i % 3]));
    }
    pipeline.push_str("SET c 3\r\nGET c\r\nGET c\r\n");
    let replies = 15 + 2 + 150 + 3;
    let answers = |port: u16| {
        let mut s = std::io::BufReader::new(TcpStream::connect(("127.0.0.1", port)).unwrap());
        s.get_ref().set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.get_mut().write_all(pipeline.as_bytes()).unwrap();
        let mut out = Vec::new();
        for _ in 0..replies {
            read_reply(&mut s, &mut out);
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    let (ours, theirs) = (answers(node.resp_port()), answers(redis.port));
    assert_eq!(ours, theirs, "pipelined GETs answer differently from redis-server");
    assert!(theirs.contains("$1\r\n3\r\n$1\r\n3\r\n"), "{theirs}");
}

#[test]
fn string_and_key_commands_answer_as_redis_server_answers() {
    let node = Node::start();
    await_cluster_version(&[&node.http]);
    let redis = RedisServer::start();
    let connect = |port: u16| {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        std::io::BufReader::new(s)
    };
    let (mut ours, mut theirs) = (connect(node.resp_port()), connect(redis.port));
    // Every line is asked of both; the answers must be the same bytes.
    let script = "\
        SET s hello|GETRANGE s 0 -1|GETRANGE s 1 3|GETRANGE s -3 -1|GETRANGE s -1 -3|GETRANGE s 10 20|\
        GETRANGE nope 0 -1|SUBSTR s 0 1|GETRANGE s a 1|SETRANGE s 6 world|GET s|SETRANGE fresh 3 ab|GET fresh|\
        SETRANGE s -1 x|SETRANGE s 0 \"\"|SETRANGE missing 5 \"\"|EXISTS missing|\
        SET f 10.50|INCRBYFLOAT f 0.1|SET f 3.0e3|INCRBYFLOAT f 0|SET f 1.1|INCRBYFLOAT f 2.2|\
        INCRBYFLOAT f 100000.1|INCRBYFLOAT f -1e-3|INCRBYFLOAT f -100003.399|INCRBYFLOAT nf 5|\
        INCRBYFLOAT f abc|INCRBYFLOAT s 1|INCRBYFLOAT f inf|INCRBYFLOAT f 1e99999|GET f|\
        SET t v EX 100|SET t w KEEPTTL|TTL t|GET t|SET t x KEEPTTL XX GET|SET t y KEEPTTL NX|\
        SET t y KEEPTTL EX 10|SET t y PX 10 KEEPTTL|TTL t|SET t z|TTL t|\
        SET p v|EXPIRE p 100 XX|EXPIRE p 100 GT|EXPIRE p 100 LT|EXPIRE p 50 GT|EXPIRE p 200 gt|\
        EXPIRE p 300 NX|EXPIRE p 100 XX LT|TTL p|PEXPIRE p 10 NX XX|EXPIRE p 10 GT LT|EXPIRE p 10 FOO|\
        EXPIRE nope 10 NX|EXPIREAT p 4102444800 GT|EXPIRETIME p|PEXPIRE p -1 XX|EXISTS p|\
        SET g v|GETEX g|GETEX g EX 100|TTL g|GETEX g PERSIST|TTL g|GETEX g EX 0|GETEX g PX 10 EX 10|\
        GETEX g FOO|GETEX g EXAT 1|EXISTS g|GETEX nope EX 10|\
        SET e v EXAT 4102444800|EXPIRETIME e|EXPIRETIME s|EXPIRETIME nope|PEXPIRETIME nope|PEXPIRETIME s|\
        SET r1 one EX 100|RENAME r1 r2|TTL r2|EXISTS r1|RENAME r1 r3|RENAMENX r2 r2|RENAME r2 r2|\
        SET r4 four|RENAMENX r2 r4|RENAMENX r2 r5|RENAME r5 r4|GET r4|TTL r4|\
        COPY r4 c1|COPY r4 c1|COPY r4 c1 REPLACE|COPY r4 c1 DB 0 REPLACE|COPY r4 r4|COPY nope c1|\
        COPY r4 c1 FOO|COPY r4 c1 DB x|TTL c1|GET c1|\
        SET gs v EX 100|GETSET gs w|TTL gs|GETSET nogs x|GET nogs|\
        FLUSHDB BAD|FLUSHDB SYNC SYNC|FLUSHDB|DBSIZE|RANDOMKEY|SET only one|RANDOMKEY|FLUSHALL ASYNC|DBSIZE|\
        GET only";
    assert_same_answers(&mut ours, &mut theirs, script);

    // Documented differences: one database, so COPY ... DB 1 is refused; PEXPIRETIME is
    // computed from the time left, so it is close to the time asked, not exact.
    assert_eq!(
        ask_raw(&mut ours, "COPY r4 c2 DB 1"),
        b"-ERR DB index is out of range\r\n"
    );
    ask_raw(&mut ours, "SET e v PXAT 4102444800123");
    let at = String::from_utf8(ask_raw(&mut ours, "PEXPIRETIME e")).unwrap();
    let at: i64 = at.trim_start_matches(':').trim_end().parse().unwrap();
    assert!((at - 4_102_444_800_123).abs() < 2_000, "{at}");
}

#[test]
fn rename_under_a_concurrent_writer_never_loses_a_write() {
    let c = Cluster::start(3, &[]);
    await_cluster_version(&(0..3).map(|i| &c.node(i).http).collect::<Vec<_>>());
    let followers = c.followers_of(c.leader());
    const WRITES: i64 = 200;
    let writer_url = c.node(followers[0]).resp_url();
    let writer = std::thread::spawn(move || {
        let mut con = redis::Client::open(writer_url).unwrap().get_connection().unwrap();
        for _ in 0..WRITES {
            let _: i64 = redis::cmd("INCR").arg("moving").query(&mut con).unwrap();
        }
    });
    // From another member, move the counter away again and again while it is written.
    let mut con = redis::Client::open(c.node(followers[1]).resp_url())
        .unwrap()
        .get_connection()
        .unwrap();
    let (mut moved, mut moved_while_writing) = (0, 0);
    while !writer.is_finished() || moved == 0 {
        let to = format!("held:{moved}");
        match redis::cmd("RENAME").arg("moving").arg(&to).query::<()>(&mut con) {
            Ok(()) => moved += 1,
            // Missing between two increments, or a hot key: a client retries.
            Err(e) => assert!(
                e.to_string().contains("no such key") || e.to_string().contains("TryAgain"),
                "{e}"
            ),
        }
        if !writer.is_finished() {
            moved_while_writing = moved;
        }
    }
    writer.join().unwrap();
    let mut total = 0;
    for i in 0..moved {
        let v: i64 = redis::cmd("GET").arg(format!("held:{i}")).query(&mut con).unwrap();
        assert!(v >= 1, "held:{i} = {v}");
        total += v;
    }
    let left: Option<i64> = redis::cmd("GET").arg("moving").query(&mut con).unwrap();
    assert_eq!(
        total + left.unwrap_or(0),
        WRITES,
        "{moved} renames; every increment is in exactly one key"
    );
    assert!(
        moved_while_writing >= 1,
        "no rename applied while the writer wrote ({moved} in all)"
    );
    eprintln!("{moved_while_writing} of {moved} renames applied while the writer wrote");
}

#[test]
fn flushdb_through_a_follower_empties_every_member() {
    let c = Cluster::start(3, &[]);
    await_cluster_version(&(0..3).map(|i| &c.node(i).http).collect::<Vec<_>>());
    let follower = c.followers_of(c.leader())[0];
    let mut con = redis::Client::open(c.node(follower).resp_url())
        .unwrap()
        .get_connection()
        .unwrap();
    // More keys than one flush page, some with an expiry.
    let mut pipe = redis::pipe();
    for i in 0..2500 {
        pipe.cmd("SET").arg(format!("f:{i}")).arg(i).ignore();
    }
    pipe.cmd("SET").arg("f:ttl").arg("v").arg("EX").arg(100).ignore();
    pipe.query::<()>(&mut con).unwrap();
    let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, 2501);
    let ok: String = redis::cmd("FLUSHDB").query(&mut con).unwrap();
    assert_eq!(ok, "OK");
    for i in 0..3 {
        let mut member = redis::Client::open(c.node(i).resp_url())
            .unwrap()
            .get_connection()
            .unwrap();
        // Each member's own applied state (READONLY: local reads), once it has caught up.
        let _: () = redis::cmd("READONLY").query(&mut member).unwrap();
        let mut last = -1;
        let empty = wait_until(Duration::from_secs(10), || {
            last = redis::cmd("DBSIZE").query(&mut member).unwrap();
            last == 0
        });
        assert!(empty, "node{} still holds {last} keys", i + 1);
        let key: Option<String> = redis::cmd("RANDOMKEY").query(&mut member).unwrap();
        assert_eq!(key, None, "node{}", i + 1);
    }
    let _: () = redis::cmd("SET").arg("after").arg("1").query(&mut con).unwrap();
    let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, 1, "writes go on after a flush");
}

/// Sends `input`, closes the sending side and returns what the node answered before it
/// closed (at most 2 s of waiting).
fn send_and_hang_up(port: u16, input: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let _ = s.write_all(input);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

#[test]
fn mutated_resp_input_never_crashes_the_node() {
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let node = Node::start_with(&["--max-value-bytes", "4096"]);
    await_cluster_version(&[&node.http]);
    let port = node.resp_port();
    let bases: Vec<&[u8]> = vec![
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        b"SET a 1 EX 100\r\nINCRBY n 5\r\nMGET a n\r\nTTL a\r\n",
        b"WATCH a\r\nMULTI\r\nSET a 2\r\nINCR n\r\nEXEC\r\n",
        b"HELLO 3\r\nSCAN 0 MATCH * COUNT 5\r\nINFO\r\n",
        b"SUBSCRIBE __keyevent@0__:set\r\nPING\r\nUNSUBSCRIBE\r\n",
        b"*2\r\n$6\r\nEXPIRE\r\n$1\r\na\r\n*4\r\n$6\r\nSETRANGE\r\n$1\r\ns\r\n$1\r\n3\r\n$2\r\nxy\r\n",
    ];
    let byte = prop_oneof![any::<u8>(), proptest::sample::select(&b"\r\n*$:+-_ 0123456789\""[..])];
    let edits = vec((any::<prop::sample::Index>(), prop::option::of(byte), 0usize..3), 1..6);
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&(0..bases.len(), edits, any::<bool>()), |(base, edits, truncate)| {
        let mut raw = bases[base].to_vec();
        for (at, byte, remove) in &edits {
            let i = at.index(raw.len() + 1).min(raw.len());
            raw.drain(i..(i + remove).min(raw.len()));
            if let Some(b) = byte {
                raw.insert(i.min(raw.len()), *b);
            }
        }
        if truncate {
            raw.truncate(raw.len() / 2);
        }
        let answer = send_and_hang_up(port, &raw);
        // Every answer is RESP: it starts with a type byte and ends a line.
        if !answer.is_empty() {
            prop_assert!(
                b"+-:$*_%>,#".contains(&answer[0]),
                "{:?} -> {:?}",
                String::from_utf8_lossy(&raw),
                String::from_utf8_lossy(&answer)
            );
            prop_assert!(answer.ends_with(b"\r\n"), "{:?}", String::from_utf8_lossy(&answer));
        }
        // And the node still serves everyone else.
        prop_assert_eq!(
            raw_ping(port),
            b"+PONG\r\n".to_vec(),
            "after {:?}",
            String::from_utf8_lossy(&raw)
        );
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}\n{}", node.log());
    }
    assert_eq!(node.http.health(), Some(200));
}

fn raw_ping(port: u16) -> Vec<u8> {
    send_and_hang_up(port, b"PING\r\n")
}

/// Every member's view of the binary test keys over RESP: `b:000`..`b:255` and `b:all`.
fn binary_keys(port: u16) -> Vec<Option<Vec<u8>>> {
    let mut con = redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .unwrap()
        .get_connection()
        .unwrap();
    let mut mget = redis::cmd("MGET");
    for b in 0..=255 {
        mget.arg(format!("b:{b:03}"));
    }
    mget.arg("b:all").query(&mut con).unwrap()
}

#[test]
fn binary_values_are_identical_on_every_member_after_restarts_and_through_a_backup() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut c = Cluster::start(3, &["--snapshot-logs", "40"]);
    await_cluster_version(&(0..3).map(|i| &c.node(i).http).collect::<Vec<_>>());
    let leader = c.leader();
    let follower = c.followers_of(leader)[0];
    let mut con = redis::Client::open(c.node(follower).resp_url())
        .unwrap()
        .get_connection()
        .unwrap();

    // Every byte value alone, and all of them in one value, through a follower.
    let all: Vec<u8> = (0..=255).collect();
    let mut pipe = redis::pipe();
    for b in 0..=255u8 {
        pipe.cmd("SET").arg(format!("b:{b:03}")).arg(vec![b]).ignore();
    }
    pipe.cmd("SET").arg("b:all").arg(&all).ignore();
    pipe.query::<()>(&mut con).unwrap();
    // Read-modify-write commands keep the bytes.
    let len: i64 = redis::cmd("APPEND")
        .arg("b:all")
        .arg(&[0u8, 0xff][..])
        .query(&mut con)
        .unwrap();
    assert_eq!(len, 258);
    let len: i64 = redis::cmd("SETRANGE")
        .arg("b:all")
        .arg(0)
        .arg(&[0xffu8][..])
        .query(&mut con)
        .unwrap();
    assert_eq!(len, 258);
    let mut want_all = all.clone();
    want_all[0] = 0xff;
    want_all.extend_from_slice(&[0, 0xff]);
    let mut want: Vec<Option<Vec<u8>>> = (0..=255u8).map(|b| Some(vec![b])).collect();
    want.push(Some(want_all.clone()));
    let check_all = |c: &Cluster, when: &str| {
        for i in 0..3 {
            assert!(
                binary_keys(c.node(i).resp_port()) == want,
                "node{} differs {when}",
                i + 1
            );
            // Over HTTP: text stays `value`, other bytes come as `value_base64`.
            let got = c.node(i).http.get_key("b:all", None).1;
            assert_eq!(got["data"].get("value"), None, "{got}");
            let bytes = b64.decode(got["data"]["value_base64"].as_str().unwrap()).unwrap();
            assert_eq!(bytes, want_all, "node{} over HTTP {when}", i + 1);
            assert_eq!(c.node(i).http.get_key("b:065", None).1["data"]["value"], "A");
        }
    };
    check_all(&c, "after the writes");

    // HTTP writes bytes with value_base64; RESP reads them back exactly.
    let (status, body) = c.node(leader).http.post_json(
        "/api/v1/set",
        &serde_json::json!({"key": "b:http", "value_base64": b64.encode([0u8, 0x80, 0xfe])}),
    );
    assert_eq!(status, 200, "{body}");
    let got: Vec<u8> = redis::cmd("GET").arg("b:http").query(&mut con).unwrap();
    assert_eq!(got, [0, 0x80, 0xfe]);
    let (status, body) = c.node(leader).http.post_json(
        "/api/v1/set",
        &serde_json::json!({"key": "b:bad", "value_base64": "not base64!"}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("value_base64"), "{body}");
    // The CLI prints the exact bytes.
    let (out, what) = run_dcache(dcache(Some(&c.node(follower).url())), &["get", "b:all"]);
    assert!(out.status.success(), "{what}");
    assert_eq!(out.stdout, [&want_all[..], b"\n"].concat(), "{what}");

    // Past --snapshot-logs on every member, then a restart of all of them: snapshots and
    // log replay give back the same bytes.
    let mut pipe = redis::pipe();
    for i in 0..100 {
        pipe.cmd("SET").arg(format!("fill:{i}")).arg(i).ignore();
        pipe.cmd("GET").arg("b:all").ignore();
    }
    pipe.query::<()>(&mut con).unwrap();
    for i in 0..3 {
        let mut status = serde_json::Value::Null;
        assert!(
            wait_until(Duration::from_secs(20), || {
                status = c.status(i);
                status["snapshot_index"].as_u64().unwrap_or(0) > 0
            }),
            "node{} took no snapshot: {status:#}",
            i + 1
        );
    }
    c.restart_many(&[0, 1, 2]);
    check_all(&c, "after restarting every member");

    // Through a backup into a new one-node cluster.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("binary.backup").display().to_string();
    let (out, what) = run_dcache(dcache(Some(&c.node(0).url())), &["backup", "save", &file]);
    assert!(out.status.success(), "{what}");
    drop(c);
    let target = Cluster::start_prepared(1, &[], &mut |nodes| {
        let node = &nodes[0];
        let initial = format!("{}={}", node.name(), node.peer_url());
        let args = crate::backup::restore_args(&file, node, &initial, &node.peer_url(), &node.url());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (out, what) = run_dcache(dcache(None), &args);
        assert!(out.status.success(), "{what}");
        Vec::new()
    });
    assert!(
        binary_keys(target.node(0).resp_port()) == want,
        "the restored node differs"
    );
}

/// Runs `redis-cli ARGS...` and returns its exit success and stdout plus stderr.
fn redis_cli(args: &[&str]) -> (bool, String) {
    let out = Command::new("redis-cli")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli is installed (apt-get install redis-tools; .ci/run does it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text.trim().to_string())
}

#[test]
fn rediss_serves_redis_cli_over_tls_with_the_client_certificate() {
    let pki = crate::support::Pki::new();
    let node = Node::start_secured(Some(&pki), None, &[]);
    assert!(node.resp_url().starts_with("rediss://"), "{}", node.resp_url());
    let port = node.resp_port().to_string();
    let ca = pki.ca().display().to_string();
    let tls = |args: &[&str]| {
        let mut all = vec!["--tls", "--cacert", &ca, "-h", "127.0.0.1", "-p", &port];
        all.extend_from_slice(args);
        redis_cli(&all)
    };
    assert_eq!(tls(&["SET", "secret", "over tls"]), (true, "OK".to_string()));
    assert_eq!(tls(&["GET", "secret"]), (true, "over tls".to_string()));
    assert_eq!(
        node.http.value_of("secret").map(|(v, _)| v).as_deref(),
        Some("over tls")
    );

    // A plain client gets no answer, and a client that does not trust the CA is refused;
    // neither disturbs the node.
    let (_, plain) = redis_cli(&["-h", "127.0.0.1", "-p", &port, "PING"]);
    assert!(!plain.contains("PONG"), "a plain client was answered: {plain}");
    let (ok, untrusted) = redis_cli(&["--tls", "-h", "127.0.0.1", "-p", &port, "PING"]);
    assert!(!ok || !untrusted.contains("PONG"), "{untrusted}");
    assert_eq!(tls(&["PING"]), (true, "PONG".to_string()));
    // Members publish their RESP URL once a leader exists: poll for it.
    let mut me = serde_json::Value::Null;
    let published = wait_until(Duration::from_secs(10), || {
        me = node.http.status()["members"][0].clone();
        me["resp_url"] == node.resp_url()
    });
    assert!(published, "the rediss:// URL is published: {me:#}");

    // rediss:// needs the client certificate and key, by name.
    let (out, what) = run_dcache(
        dcache(None),
        &[
            "serve",
            "--check",
            "--data-dir",
            &node.data_dir().join("unused").display().to_string(),
            "--listen-resp-urls",
            "rediss://127.0.0.1:1",
        ],
    );
    assert!(!out.status.success(), "{what}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("client-cert-file") && err.contains("rediss://127.0.0.1:1"),
        "{what}"
    );
}

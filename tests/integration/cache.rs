//! Cache semantics end to end on real clusters: TTL expiry on every node and at every read
//! consistency, the memory bound and its eviction order, compare-and-set under contention,
//! conditional deletes, atomic batches, watch streams (across a leader failover and after
//! compaction) and the `set --ttl`/`--if-absent`/`ttl`/`watch` CLI. Owns only this file;
//! uses `support` and must not reach into `src/` or change the support files.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{assert_error, data, dcache, enc, run_dcache, wait_until, Cluster, Http, Node, BIN};

/// Every consistency a read can ask for.
const CONSISTENCIES: [&str; 3] = ["local", "lease", "linearizable"];

/// How long a watch may take to deliver what the test waits for.
const WATCH_TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// `POST /api/v1/set` with `body` as given (for TTL and conditions).
fn set_raw(http: &Http, body: Value) -> (u16, Value) {
    http.post_json("/api/v1/set", &body)
}

/// The version a successful set answered with, after checking the envelope and the key.
fn set_ok(what: &str, http: &Http, body: Value) -> u64 {
    let key = body["key"].clone();
    let d = data(what, set_raw(http, body));
    assert_eq!(d["key"], key, "{what}: answer names another key: {d}");
    d["version"]
        .as_u64()
        .unwrap_or_else(|| panic!("{what}: no numeric version in {d}"))
}

/// Asserts a 412 `CONDITION_FAILED` whose `error.current_version` is `current`.
fn assert_condition_failed(what: &str, got: &(u16, Value), current: u64) {
    assert_error(what, got, 412, "CONDITION_FAILED");
    assert_eq!(
        got.1["error"]["current_version"],
        json!(current),
        "{what}: wrong `error.current_version` in {}",
        got.1
    );
}

/// `DELETE /api/v1/delete/{key}?if_version=N`.
fn delete_if(http: &Http, key: &str, if_version: u64) -> (u16, Value) {
    http.send(
        Method::DELETE,
        &format!("/api/v1/delete/{}?if_version={if_version}", enc(key)),
        None,
        None,
    )
}

/// The keys (with versions) a scan of `prefix` at `consistency` returns; asserts a complete
/// answer (one page of at most 10000 keys, not truncated).
fn scan_at(http: &Http, prefix: &str, consistency: &str) -> Vec<Value> {
    let what = format!("scan {prefix:?} at {consistency} on {}", http.base());
    let d = data(
        &what,
        http.get(&format!(
            "/api/v1/keys?prefix={}&limit=10000&consistency={consistency}",
            enc(prefix)
        )),
    );
    assert_eq!(d["truncated"], json!(false), "{what}: must fit in one page: {d}");
    let keys = d["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: `keys` is not an array in {d}"))
        .clone();
    assert_eq!(d["count"], json!(keys.len()), "{what}: `count` disagrees with `keys`");
    keys
}

/// A numeric field of a status report.
fn field(status: &Value, name: &str) -> u64 {
    status[name]
        .as_u64()
        .unwrap_or_else(|| panic!("status field `{name}` is not a number in {status}"))
}

/// The value (as a number) and version of `key`, read linearizably.
fn counter(http: &Http, key: &str) -> (u64, u64) {
    let d = data(
        &format!("get {key:?} on {}", http.base()),
        http.get_key(key, Some("linearizable")),
    );
    let value = d["value"].as_str().and_then(|v| v.parse().ok());
    let version = d["version"].as_u64();
    match (value, version) {
        (Some(v), Some(ver)) => (v, ver),
        _ => panic!("get {key:?}: expected a numeric value and a version in {d}"),
    }
}

/// Waits until every node in `nodes` has applied the same log index and returns their
/// statuses. Panics with the last statuses after `timeout`.
fn converged_statuses(c: &Cluster, nodes: &[usize], timeout: Duration) -> Vec<Value> {
    let mut last = Vec::new();
    let same = wait_until(timeout, || {
        last = nodes.iter().map(|&i| c.status(i)).collect();
        last.windows(2).all(|w| w[0]["applied"] == w[1]["applied"])
    });
    assert!(
        same,
        "nodes {nodes:?} did not reach the same `applied` within {timeout:?}: {last:#?}"
    );
    last
}

/// One server-sent event: the `event:` name, the `id:` and the joined `data:` lines.
#[derive(Debug, Clone)]
pub(crate) struct Sse {
    pub(crate) name: String,
    id: Option<String>,
    data: String,
}

impl Sse {
    /// The JSON in `data`, which every watch event carries.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("event data is not JSON ({e}): {self:?}"))
    }

    /// `(kind, key, version)` of a change event, after checking that `event:` matches
    /// `kind` and `id:` matches `version`.
    pub(crate) fn change(&self) -> (String, String, u64) {
        let d = self.json();
        let kind = d["kind"].as_str().unwrap_or_else(|| panic!("no kind in {self:?}"));
        let key = d["key"].as_str().unwrap_or_else(|| panic!("no key in {self:?}"));
        let version = d["version"]
            .as_u64()
            .unwrap_or_else(|| panic!("no version in {self:?}"));
        assert_eq!(self.name, kind, "`event:` must name the kind: {self:?}");
        assert_eq!(
            self.id.as_deref(),
            Some(version.to_string().as_str()),
            "`id:` must be the version: {self:?}"
        );
        (kind.to_string(), key.to_string(), version)
    }
}

/// What the reader thread of a [`Watch`] passes on.
enum SseMsg {
    Event(Sse),
    /// The stream ended (cleanly or not), with the reason.
    End(String),
}

/// A `GET /api/v1/watch` stream read line by line on its own thread; the test takes the
/// events from a channel with deadlines while it goes on writing. The thread ends when the
/// server closes the stream (at the latest when the test's nodes are killed).
pub(crate) struct Watch {
    rx: mpsc::Receiver<SseMsg>,
    what: String,
}

impl Watch {
    /// Opens a watch on `base`; returns once the server answered 200 with an event stream,
    /// which is after it subscribed, so every later change is delivered.
    pub(crate) fn open(base: &str, prefix: &str, from_version: Option<u64>) -> Watch {
        let mut url = format!("{base}/api/v1/watch?prefix={}", enc(prefix));
        if let Some(v) = from_version {
            url += &format!("&from_version={v}");
        }
        // The blocking client's timeout bounds each read, not the whole stream; the server
        // sends a keep-alive every 15 s, so only a stuck stream trips it.
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let resp = client
            .get(&url)
            .send()
            .unwrap_or_else(|e| panic!("GET {url}: no answer: {e}"));
        assert_eq!(resp.status().as_u16(), 200, "GET {url}: expected 200");
        let ct = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(ct.starts_with("text/event-stream"), "GET {url}: content type {ct:?}");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || read_events(BufReader::new(resp), &tx));
        Watch { rx, what: url }
    }

    /// The next event within `timeout`; `Err` says why there is none (stream ended or
    /// nothing arrived in time).
    pub(crate) fn next(&self, timeout: Duration) -> Result<Sse, String> {
        match self.rx.recv_timeout(timeout) {
            Ok(SseMsg::Event(e)) => Ok(e),
            Ok(SseMsg::End(why)) => Err(format!("stream ended: {why}")),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(format!("no event within {timeout:?}")),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err("stream ended".into()),
        }
    }

    /// Takes events until `done(&events)` holds; panics with what arrived if it does not
    /// hold within `timeout`.
    pub(crate) fn collect_until(&self, timeout: Duration, mut done: impl FnMut(&[Sse]) -> bool) -> Vec<Sse> {
        let deadline = Instant::now() + timeout;
        let mut events = Vec::new();
        while !done(&events) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left) {
                Ok(e) => events.push(e),
                Err(why) => panic!(
                    "{}: {why}; the {} events so far: {:#?}",
                    self.what,
                    events.len(),
                    events.iter().map(|e| &e.data).collect::<Vec<_>>()
                ),
            }
        }
        events
    }
}

/// Parses the SSE wire format from `reader` and forwards every event to `tx`.
fn read_events(reader: impl BufRead, tx: &mpsc::Sender<SseMsg>) {
    let mut name = String::new();
    let mut id = None;
    let mut data: Vec<String> = Vec::new();
    for line in reader.lines() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                let _ = tx.send(SseMsg::End(e.to_string()));
                return;
            }
        };
        if line.is_empty() {
            if !data.is_empty() || !name.is_empty() {
                let event = Sse {
                    name: if name.is_empty() {
                        "message".into()
                    } else {
                        std::mem::take(&mut name)
                    },
                    id: id.take(),
                    data: std::mem::take(&mut data).join("\n"),
                };
                if tx.send(SseMsg::Event(event)).is_err() {
                    return;
                }
            }
            continue;
        }
        if line.starts_with(':') {
            continue; // a comment: the keep-alive
        }
        let (f, v) = line.split_once(':').unwrap_or((line.as_str(), ""));
        let v = v.strip_prefix(' ').unwrap_or(v).to_string();
        match f {
            "event" => name = v,
            "id" => id = Some(v),
            "data" => data.push(v),
            _ => {}
        }
    }
    let _ = tx.send(SseMsg::End("EOF".into()));
}

// ---------------------------------------------------------------------------------------
// TTL
// ---------------------------------------------------------------------------------------

#[test]
fn ttl_key_expires_on_every_node_at_every_consistency_and_is_purged() {
    let c = Cluster::start(3, &[]);
    let leader = c.leader();
    let follower = c.followers_of(leader)[0];
    let https: Vec<Http> = (0..3).map(|i| c.node(i).http.clone()).collect();

    let t0 = Instant::now();
    let v = set_ok(
        "set t/k with ttl_ms 1000 via a follower",
        &https[follower],
        json!({"key": "t/k", "value": "v", "ttl_ms": 1000}),
    );

    // Readable everywhere right away, with the time left.
    for (i, http) in https.iter().enumerate() {
        let d = data(
            &format!("linearizable get t/k on node {i}"),
            http.get_key("t/k", Some("linearizable")),
        );
        assert_eq!(d["value"], json!("v"), "node {i}: {d}");
        assert_eq!(d["version"], json!(v), "node {i}: {d}");
        let ttl = d["ttl_ms"]
            .as_u64()
            .unwrap_or_else(|| panic!("node {i}: no ttl_ms in {d}"));
        assert!(ttl > 0 && ttl <= 1000, "node {i}: ttl_ms must be in 1..=1000, got {d}");
        let listed = scan_at(http, "t/", "local");
        assert!(
            listed
                .iter()
                .any(|k| k["key"] == "t/k" && k["ttl_ms"].as_u64().is_some_and(|t| t <= 1000)),
            "node {i}: a scan must list t/k with its ttl_ms before it expires: {listed:?}"
        );
    }
    assert!(
        t0.elapsed() < Duration::from_millis(1000),
        "the reads took {:?}, longer than the TTL: the test machine is too slow for this test",
        t0.elapsed()
    );

    // Gone on every node, at every consistency, and from scans, by TTL + 1500 ms.
    let deadline = Duration::from_millis(2500).saturating_sub(t0.elapsed());
    let mut visible = Vec::new();
    let gone = wait_until(deadline, || {
        visible.clear();
        for (i, http) in https.iter().enumerate() {
            for cons in CONSISTENCIES {
                let got = http.get_key("t/k", Some(cons));
                if got.0 != 404 {
                    visible.push(format!("node {i} get at {cons}: {} {}", got.0, got.1));
                }
                if scan_at(http, "t/", cons).iter().any(|k| k["key"] == "t/k") {
                    visible.push(format!("node {i} scan at {cons} lists t/k"));
                }
            }
        }
        visible.is_empty()
    });
    assert!(
        gone,
        "t/k (ttl 1000 ms) still visible {:?} after it was set: {visible:#?}",
        t0.elapsed()
    );
    for (i, http) in https.iter().enumerate() {
        for cons in CONSISTENCIES {
            assert_error(
                &format!("node {i} get expired t/k at {cons}"),
                &http.get_key("t/k", Some(cons)),
                404,
                "KEY_NOT_FOUND",
            );
        }
    }

    // Purged everywhere: counted as an expiration, memory freed.
    let mut last = Vec::new();
    let purged = wait_until(Duration::from_secs(3), || {
        last = (0..3).map(|i| c.status(i)).collect();
        last.iter()
            .all(|s| field(s, "expirations") >= 1 && field(s, "key_count") == 0 && field(s, "approx_bytes") == 0)
    });
    assert!(
        purged,
        "every node must count the expiration and drop the key (key_count 0, approx_bytes 0): {last:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// Memory bound
// ---------------------------------------------------------------------------------------

#[test]
fn memory_bound_evicts_least_recently_written_identically_on_every_node() {
    const KEYS: usize = 1536;
    const VALUE_BYTES: usize = 4096;
    const BOUND: u64 = 2 * 1024 * 1024;
    const THREADS: usize = 8;
    let c = Cluster::start(3, &["--max-memory", "2MiB", "--max-value-bytes", "65536"]);
    let urls: Vec<String> = (0..3).map(|i| c.node(i).url()).collect();

    let key = |i: usize| format!("m/{i:05}");
    let value = |i: usize| char::from(b'a' + (i % 26) as u8).to_string().repeat(VALUE_BYTES);
    // 6 MiB through all three nodes from 8 threads; every write must be acknowledged.
    let written: BTreeMap<String, u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let http = Http::new(&urls[t % 3]);
                s.spawn(move || {
                    (t..KEYS)
                        .step_by(THREADS)
                        .map(|i| (key(i), http.set(&key(i), &value(i))))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    assert_eq!(written.len(), KEYS);

    let statuses = converged_statuses(&c, &[0, 1, 2], Duration::from_secs(10));
    let views: Vec<BTreeMap<String, (u64, String)>> = (0..3)
        .map(|i| {
            scan_at(&c.node(i).http, "m/", "local")
                .iter()
                .map(|k| {
                    let name = k["key"].as_str().unwrap().to_string();
                    let ver = k["version"].as_u64().unwrap();
                    (name, (ver, k["value"].as_str().unwrap().to_string()))
                })
                .collect()
        })
        .collect();
    for i in 1..3 {
        let a: Vec<_> = views[0].iter().map(|(k, (v, _))| (k, v)).collect();
        let b: Vec<_> = views[i].iter().map(|(k, (v, _))| (k, v)).collect();
        assert!(
            a == b,
            "node 0 and node {i} hold different keys after eviction:\n{a:?}\nvs\n{b:?}"
        );
    }
    let kept = &views[0];
    let entry_bytes = (key(0).len() + VALUE_BYTES) as u64 + 96;
    for (k, (ver, val)) in kept {
        let i: usize = k[2..].parse().unwrap();
        assert_eq!(*val, value(i), "{k}: wrong value kept");
        assert_eq!(
            Some(ver),
            written.get(k),
            "{k}: kept version differs from the acknowledged one"
        );
    }
    let counted: u64 = kept.keys().map(|k| (k.len() + VALUE_BYTES) as u64 + 96).sum();
    for (i, s) in statuses.iter().enumerate() {
        assert_eq!(
            field(s, "max_memory"),
            BOUND,
            "node {i}: 2MiB must be 2097152 bytes: {s}"
        );
        assert!(field(s, "approx_bytes") <= BOUND, "node {i} is over the bound: {s}");
        assert_eq!(
            field(s, "approx_bytes"),
            counted,
            "node {i}: approx_bytes != sum of key+value+96: {s}"
        );
        assert_eq!(
            field(s, "key_count"),
            kept.len() as u64,
            "node {i}: key_count != keys scanned: {s}"
        );
        assert!(field(s, "evictions") > 0, "node {i}: 6 MiB into 2 MiB must evict: {s}");
        assert_eq!(
            s["evictions"], statuses[0]["evictions"],
            "evictions differ between nodes: {statuses:#?}"
        );
    }
    // Eviction stops as soon as the cache fits, and each key was written once.
    assert_eq!(
        kept.len() as u64,
        BOUND / entry_bytes,
        "entries kept under a {BOUND}-byte bound"
    );
    assert_eq!(field(&statuses[0], "evictions"), (KEYS - kept.len()) as u64);
    // Least recently written go first: no kept key is older than an evicted one. Concurrent
    // writes may share a version (one log entry); such ties go in key order on every node.
    let oldest_kept = kept.values().map(|(v, _)| *v).min().unwrap();
    let newest_evicted = written
        .iter()
        .filter(|(k, _)| !kept.contains_key(*k))
        .map(|(_, v)| *v)
        .max()
        .unwrap();
    assert!(
        newest_evicted <= oldest_kept,
        "an older key was kept (version {oldest_kept}) while a newer one was evicted (version {newest_evicted})"
    );
    if newest_evicted == oldest_kept {
        let (first_kept, _) = kept.iter().find(|(_, (v, _))| *v == oldest_kept).unwrap();
        let last_evicted = written
            .iter()
            .filter(|(k, v)| !kept.contains_key(*k) && **v == newest_evicted)
            .map(|(k, _)| k)
            .max()
            .unwrap();
        assert!(
            last_evicted < first_kept,
            "at version {oldest_kept}, {last_evicted} was evicted but {first_kept} (earlier in key order) was kept"
        );
    }

    // One value over --max-value-bytes is refused, not evicted into.
    let leader = c.leader();
    assert_error(
        "set a 70000-byte value with --max-value-bytes 65536",
        &set_raw(
            &c.node(leader).http,
            json!({"key": "m/big", "value": "x".repeat(70_000)}),
        ),
        413,
        "PAYLOAD_TOO_LARGE",
    );
}

// ---------------------------------------------------------------------------------------
// Compare-and-set
// ---------------------------------------------------------------------------------------

#[test]
fn compare_and_set_increments_from_eight_threads_lose_no_update() {
    const THREADS: usize = 8;
    const EACH: usize = 25;
    let c = Cluster::start(3, &[]);
    let urls: Vec<String> = (0..3).map(|i| c.node(i).url()).collect();
    c.node(0).http.set("cas/n", "0");

    // Each success records (version written, value written).
    let successes: Vec<(u64, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let http = Http::new(&urls[t % 3]);
                s.spawn(move || {
                    let deadline = Instant::now() + Duration::from_secs(40);
                    let mut done = Vec::new();
                    while done.len() < EACH {
                        assert!(
                            Instant::now() < deadline,
                            "thread {t}: {} increments in 40 s",
                            done.len()
                        );
                        let (n, version) = counter(&http, "cas/n");
                        let got = set_raw(
                            &http,
                            json!({"key": "cas/n", "value": (n + 1).to_string(), "if_version": version}),
                        );
                        match got.0 {
                            200 => done.push((got.1["data"]["version"].as_u64().unwrap(), n + 1)),
                            412 => {
                                assert_error("CAS lost a race", &got, 412, "CONDITION_FAILED");
                                let current = got.1["error"]["current_version"].as_u64();
                                assert!(
                                    current.is_some_and(|cur| cur > version),
                                    "a failed CAS at version {version} must report a newer current_version: {}",
                                    got.1
                                );
                            }
                            other => panic!("thread {t}: CAS set answered {other}: {}", got.1),
                        }
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });

    for i in 0..3 {
        assert_eq!(counter(&c.node(i).http, "cas/n").0, 200, "node {i}: final counter");
    }
    // In version order the successful writes wrote exactly 1, 2, ..., 200.
    let by_version: BTreeMap<u64, u64> = successes.iter().copied().collect();
    assert_eq!(
        by_version.len(),
        THREADS * EACH,
        "two successes share a version: {successes:?}"
    );
    let values: Vec<u64> = by_version.values().copied().collect();
    assert_eq!(
        values,
        (1..=200).collect::<Vec<u64>>(),
        "successful CAS writes out of order"
    );
}

// ---------------------------------------------------------------------------------------
// Conditional writes and deletes
// ---------------------------------------------------------------------------------------

#[test]
fn conditional_set_and_delete_report_the_current_version() {
    let c = Cluster::start(3, &[]);
    let leader = c.leader();
    let http = &c.node(c.followers_of(leader)[0]).http;

    // if_version 0: only if absent.
    let v1 = set_ok(
        "create c/a if absent",
        http,
        json!({"key": "c/a", "value": "1", "if_version": 0}),
    );
    let got = set_raw(http, json!({"key": "c/a", "value": "2", "if_version": 0}));
    assert_condition_failed("set existing c/a if absent", &got, v1);
    assert_eq!(
        http.value_of("c/a"),
        Some(("1".into(), v1)),
        "a failed set must change nothing"
    );

    // if_version N: only at version N.
    let got = set_raw(http, json!({"key": "c/a", "value": "2", "if_version": v1 + 1000}));
    assert_condition_failed("set c/a at a wrong version", &got, v1);
    let v2 = set_ok(
        "set c/a at its version",
        http,
        json!({"key": "c/a", "value": "2", "if_version": v1}),
    );
    assert!(v2 > v1);
    let got = set_raw(http, json!({"key": "c/a", "value": "3", "if_version": v1}));
    assert_condition_failed("set c/a at a stale version", &got, v2);
    let got = set_raw(http, json!({"key": "c/none", "value": "x", "if_version": 5}));
    assert_condition_failed("set an absent key at version 5", &got, 0);
    assert_eq!(http.value_of("c/none"), None);

    // Conditional delete.
    assert_condition_failed("delete c/a at a stale version", &delete_if(http, "c/a", v1), v2);
    assert_eq!(
        http.value_of("c/a"),
        Some(("2".into(), v2)),
        "a failed delete must change nothing"
    );
    let d = data("delete c/a at its version", delete_if(http, "c/a", v2));
    assert_eq!(d, json!({"key": "c/a", "deleted": true}));
    assert_eq!(http.value_of("c/a"), None);
    assert_condition_failed("delete deleted c/a at its old version", &delete_if(http, "c/a", v2), 0);
    let d = data("delete absent c/none if absent", delete_if(http, "c/none", 0));
    assert_eq!(d, json!({"key": "c/none", "deleted": false}));

    // A deleted key is absent again; so is an expired one, even before it is purged.
    let v3 = set_ok(
        "re-create c/a if absent",
        http,
        json!({"key": "c/a", "value": "again", "if_version": 0}),
    );
    assert!(v3 > v2);
    set_ok(
        "set c/ttl with ttl",
        http,
        json!({"key": "c/ttl", "value": "short", "ttl_ms": 300}),
    );
    assert!(
        // Linearizable: a local read on this follower could miss the write itself.
        wait_until(Duration::from_secs(3), || http.get_key("c/ttl", Some("linearizable")).0
            == 404),
        "c/ttl (ttl 300 ms) never expired"
    );
    let got = set_raw(http, json!({"key": "c/ttl", "value": "x", "if_version": 1}));
    assert_condition_failed("set expired c/ttl at version 1", &got, 0);
    set_ok(
        "create expired c/ttl if absent",
        http,
        json!({"key": "c/ttl", "value": "fresh", "if_version": 0}),
    );
    assert_eq!(http.value_of("c/ttl").map(|(v, _)| v), Some("fresh".to_string()));
}

// ---------------------------------------------------------------------------------------
// Batch
// ---------------------------------------------------------------------------------------

#[test]
fn batch_is_all_or_nothing_and_bounded() {
    let c = Cluster::start(3, &[]);
    let leader = c.leader();
    let http = &c.node(c.followers_of(leader)[0]).http;
    let vx = http.set("b/x", "old");

    let d = data(
        "batch of sets and a conditional delete",
        http.post_json(
            "/api/v1/batch",
            &json!({"ops": [
                {"op": "set", "key": "b/a", "value": "1"},
                {"op": "set", "key": "b/b", "value": "2", "ttl_ms": 60000},
                {"op": "delete", "key": "b/x", "if_version": vx},
                {"op": "set", "key": "b/c", "value": "3", "if_version": 0},
            ]}),
        ),
    );
    let v = d["version"]
        .as_u64()
        .unwrap_or_else(|| panic!("no batch version in {d}"));
    assert!(v > vx, "batch version {v} must follow {vx}");
    assert_eq!(
        d["results"],
        json!([
            {"key": "b/a", "version": v},
            {"key": "b/b", "version": v},
            {"key": "b/x", "deleted": true},
            {"key": "b/c", "version": v},
        ]),
        "batch results: {d}"
    );
    assert_eq!(http.value_of("b/a"), Some(("1".into(), v)));
    assert_eq!(http.value_of("b/c"), Some(("3".into(), v)));
    assert_eq!(http.value_of("b/x"), None);
    let b = data("get b/b", http.get_key("b/b", None));
    assert!(
        b["ttl_ms"].as_u64().is_some_and(|t| t > 0 && t <= 60000),
        "b/b lost its TTL: {b}"
    );

    // One failed condition anywhere: 412 and nothing applied.
    for (what, failing) in [
        (
            "a failing set condition last",
            json!({"op": "set", "key": "b/c", "value": "x", "if_version": v + 100}),
        ),
        (
            "a failing delete condition last",
            json!({"op": "delete", "key": "b/c", "if_version": 1}),
        ),
    ] {
        let got = http.post_json(
            "/api/v1/batch",
            &json!({"ops": [
                {"op": "set", "key": "b/d", "value": "new"},
                {"op": "delete", "key": "b/a"},
                {"op": "set", "key": "b/b", "value": "changed"},
                failing,
            ]}),
        );
        assert_condition_failed(&format!("batch with {what}"), &got, v);
        assert_eq!(http.value_of("b/d"), None, "batch with {what}: b/d was written");
        assert_eq!(
            http.value_of("b/a"),
            Some(("1".into(), v)),
            "batch with {what}: b/a changed"
        );
        assert_eq!(
            http.value_of("b/b"),
            Some(("2".into(), v)),
            "batch with {what}: b/b changed"
        );
        assert_eq!(
            http.value_of("b/c"),
            Some(("3".into(), v)),
            "batch with {what}: b/c changed"
        );
    }

    // 1..=1000 operations.
    let ops = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"op": "set", "key": format!("b/n/{i:04}"), "value": "v"}))
            .collect()
    };
    assert_error(
        "empty batch",
        &http.post_json("/api/v1/batch", &json!({"ops": []})),
        400,
        "INVALID_REQUEST",
    );
    assert_error(
        "batch of 1001 ops",
        &http.post_json("/api/v1/batch", &json!({"ops": ops(1001)})),
        400,
        "INVALID_REQUEST",
    );
    assert_eq!(
        scan_at(http, "b/n/", "linearizable").len(),
        0,
        "a refused batch wrote keys"
    );
    let d = data(
        "batch of 1000 ops",
        http.post_json("/api/v1/batch", &json!({"ops": ops(1000)})),
    );
    assert_eq!(d["results"].as_array().map(Vec::len), Some(1000), "results of 1000 ops");
    assert_eq!(scan_at(http, "b/n/", "linearizable").len(), 1000);
}

// ---------------------------------------------------------------------------------------
// Watch
// ---------------------------------------------------------------------------------------

/// Sets `key` through the first node in `https` (starting at `first`) that acknowledges
/// it, moving on when a node is down or has no leader; returns the version and how many
/// attempts failed (each may or may not have been applied).
fn set_through_any(https: &[Http], first: usize, key: &str, value: &str) -> (u64, usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut failures = Vec::new();
    for n in first.. {
        let http = &https[n % https.len()];
        match http.try_send(
            Method::POST,
            "/api/v1/set",
            Some("application/json"),
            Some(json!({"key": key, "value": value}).to_string().into_bytes()),
        ) {
            Ok((200, body)) => {
                let version = body["data"]["version"].as_u64();
                return (
                    version.unwrap_or_else(|| panic!("set {key}: no version in {body}")),
                    failures.len(),
                );
            }
            Ok((s @ (500 | 503 | 504), body)) => failures.push(format!("{}: {s} {body}", http.base())),
            Ok((s, body)) => panic!("set {key} via {}: unexpected {s} {body}", http.base()),
            Err(e) => failures.push(format!("{}: {e}", http.base())),
        }
        assert!(
            Instant::now() < deadline,
            "set {key} not acknowledged by any node in 30 s: {failures:#?}"
        );
        // Back off briefly before trying the next node; the failure was answered, not awaited.
        std::thread::sleep(Duration::from_millis(20));
    }
    unreachable!("the loop above only ends by returning or panicking")
}

#[test]
fn watch_on_a_follower_delivers_every_write_across_a_leader_failover() {
    const N: usize = 200;
    let mut c = Cluster::start(3, &[]);
    let leader = c.leader();
    let f = c.followers_of(leader)[0];
    let other = c.followers_of(leader)[1];
    let https: Vec<Http> = (0..3)
        .map(|i| Http::with_timeout(&c.node(i).url(), Duration::from_secs(10)))
        .collect();
    let watch = Watch::open(&c.node(f).url(), "w/", None);

    let mut acked: Vec<u64> = Vec::with_capacity(N);
    let mut retried: BTreeSet<String> = BTreeSet::new();
    for i in 0..N {
        let key = format!("w/{i}");
        let (version, failures) = set_through_any(&https, i, &key, &format!("value {i}"));
        if failures > 0 {
            retried.insert(key);
        }
        acked.push(version);
        if i == 99 {
            let now = c.leader();
            assert_ne!(
                now, f,
                "leadership moved to the watched follower by itself; cannot test its failover"
            );
            c.kill9(now);
        }
    }
    assert!(
        acked.windows(2).all(|w| w[0] < w[1]),
        "sequential writes got versions {acked:?}"
    );

    let want: BTreeSet<String> = (0..N).map(|i| format!("w/{i}")).collect();
    let events = watch.collect_until(WATCH_TIMEOUT, |evs| {
        let seen: BTreeSet<String> = evs.iter().filter(|e| e.name == "set").map(|e| e.change().1).collect();
        seen.is_superset(&want)
    });
    let changes: Vec<(String, String, u64)> = events.iter().map(Sse::change).collect();
    assert!(
        changes.iter().all(|(kind, _, _)| kind == "set"),
        "only set events expected: {changes:?}"
    );
    assert!(
        changes.windows(2).all(|w| w[0].2 < w[1].2),
        "events out of version order: {changes:?}"
    );
    // Collapse rewrites of one key by a retried write; what is left is w/0..w/199 in order.
    let mut order: Vec<&str> = Vec::new();
    for (_, key, _) in &changes {
        if order.last() == Some(&key.as_str()) {
            assert!(
                retried.contains(key),
                "{key} delivered twice but never retried: {changes:?}"
            );
        } else {
            order.push(key);
        }
    }
    let expected: Vec<String> = (0..N).map(|i| format!("w/{i}")).collect();
    assert_eq!(order, expected, "each key exactly once, in write order");
    for (i, version) in acked.iter().enumerate() {
        let last = changes
            .iter()
            .rev()
            .find(|(_, k, _)| *k == format!("w/{i}"))
            .map(|c| c.2);
        assert_eq!(
            last,
            Some(*version),
            "w/{i}: last event version != acknowledged version"
        );
    }

    // Replay from the version of w/149 on the other survivor: exactly what followed it.
    let from = acked[149];
    let after: Vec<(String, String, u64)> = changes.iter().filter(|c| c.2 > from).cloned().collect();
    let replay = Watch::open(&c.node(other).url(), "w/", Some(from));
    let (end_version, _) = set_through_any(&https, other, "w/end", "sentinel");
    let replayed = replay.collect_until(WATCH_TIMEOUT, |evs| evs.len() > after.len());
    let replayed: Vec<(String, String, u64)> = replayed.iter().map(Sse::change).collect();
    assert_eq!(
        replayed[..after.len()],
        after[..],
        "from_version={from} must replay exactly w/150..w/199"
    );
    assert_eq!(
        replayed[after.len()],
        ("set".to_string(), "w/end".to_string(), end_version),
        "after the replay the next event must be the next write"
    );
}

#[test]
fn watch_from_before_a_restored_snapshot_reports_compacted() {
    let mut node = Node::start_with(&["--snapshot-logs", "10"]);
    let versions: Vec<u64> = (0..30).map(|i| node.http.set(&format!("h/{i:02}"), "v")).collect();
    let mut status = Value::Null;
    assert!(
        wait_until(Duration::from_secs(10), || {
            status = node.http.status();
            field(&status, "snapshot_index") > 0
        }),
        "no snapshot after 30 writes with --snapshot-logs 10: {status}"
    );

    // While the node runs, its history reaches back to the start.
    let full = Watch::open(&node.url(), "h/", Some(0));
    let got = full.collect_until(WATCH_TIMEOUT, |evs| evs.len() >= 30);
    let got: Vec<u64> = got.iter().map(|e| e.change().2).collect();
    assert_eq!(got, versions, "from_version=0 before any restart replays every write");
    drop(full);

    // After a restart history starts at the snapshot: older versions are compacted.
    node.restart();
    let watch = Watch::open(&node.url(), "h/", Some(0));
    let e = watch
        .next(WATCH_TIMEOUT)
        .unwrap_or_else(|why| panic!("from_version=0 after restart: {why}"));
    assert_eq!(
        e.name, "error",
        "expected `event: error` for compacted history, got {e:?}"
    );
    assert_eq!(e.json()["code"], json!("COMPACTED"), "{e:?}");
    let end = watch.next(Duration::from_secs(10));
    assert!(
        end.as_ref().is_err_and(|why| why.starts_with("stream ended")),
        "the stream must end after the COMPACTED error, got {end:?}"
    );

    // A version inside the kept history still works.
    let v = node.http.set("h/new", "after restart");
    let watch = Watch::open(&node.url(), "h/", Some(v - 1));
    let e = watch
        .next(WATCH_TIMEOUT)
        .unwrap_or_else(|why| panic!("from_version={} after restart: {why}", v - 1));
    assert_eq!(e.change(), ("set".to_string(), "h/new".to_string(), v), "{e:?}");
}

// ---------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------

#[test]
fn cli_ttl_if_absent_and_watch() {
    let node = Node::start();
    let url = node.url();
    let ok = |args: &[&str]| -> String {
        let (out, what) = run_dcache(dcache(Some(&url)), args);
        assert!(out.status.success(), "{what}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };

    ok(&["set", "cli/ttl", "v", "--ttl", "2s"]);
    let shown = ok(&["ttl", "cli/ttl"]);
    let left = humantime::parse_duration(&shown).unwrap_or_else(|e| panic!("`dcache ttl` printed {shown:?}: {e}"));
    assert!(
        left > Duration::ZERO && left < Duration::from_secs(2),
        "`dcache ttl` after `set --ttl 2s` printed {shown:?}"
    );
    ok(&["set", "cli/plain", "v"]);
    assert_eq!(ok(&["ttl", "cli/plain"]), "none");

    ok(&["set", "cli/once", "first", "--if-absent"]);
    let (out, what) = run_dcache(dcache(Some(&url)), &["set", "cli/once", "second", "--if-absent"]);
    assert_eq!(out.status.code(), Some(5), "second --if-absent must exit 5: {what}");
    assert!(
        !out.stderr.is_empty(),
        "a failed condition must say why on stderr: {what}"
    );
    assert_eq!(ok(&["get", "cli/once"]), "first");
    let (_, version) = node.http.value_of("cli/once").unwrap();
    let wrong = (version + 7).to_string();
    let (out, what) = run_dcache(dcache(Some(&url)), &["set", "cli/once", "x", "--if-version", &wrong]);
    assert_eq!(out.status.code(), Some(5), "a wrong --if-version must exit 5: {what}");
    ok(&["set", "cli/once", "third", "--if-version", &version.to_string()]);
    assert_eq!(ok(&["get", "cli/once"]), "third");

    // `watch --from-version` replays, then follows: `VERSION KIND KEY [VALUE]` lines.
    let a = node.http.set("cli/w/a", "1");
    let b = node.http.set("cli/w/b", "two words");
    let mut child = Command::new(BIN)
        .args([
            "--server",
            &url,
            "watch",
            "cli/w/",
            "--from-version",
            &(a - 1).to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut lines = Vec::new();
    let next_line = |lines: &mut Vec<String>| {
        let line = rx.recv_timeout(WATCH_TIMEOUT);
        let line = line.unwrap_or_else(|e| panic!("`dcache watch`: no line ({e}); so far {lines:?}"));
        lines.push(line);
    };
    next_line(&mut lines);
    next_line(&mut lines);
    assert!(node.http.delete("cli/w/a"), "cli/w/a must exist before its delete");
    let cv = node.http.set("cli/w/c", "3");
    next_line(&mut lines);
    next_line(&mut lines);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(lines[0], format!("{a} set cli/w/a 1"));
    assert_eq!(lines[1], format!("{b} set cli/w/b two words"));
    let del: Vec<&str> = lines[2].split(' ').collect();
    assert!(
        del.len() == 3
            && del[1] == "delete"
            && del[2] == "cli/w/a"
            && del[0].parse::<u64>().is_ok_and(|v| v > b && v < cv),
        "expected `VERSION delete cli/w/a`, got {:?}",
        lines[2]
    );
    assert_eq!(lines[3], format!("{cv} set cli/w/c 3"));
}

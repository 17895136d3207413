//! Three-node clusters of real processes: replication, failover under load, the stale-leader
//! read guard and `dcache cluster status`. Leadership transfer and membership changes live in
//! `cluster/admin.rs`, crash recovery in `cluster/recovery.rs`. Uses only `support`.

mod admin;
mod health;
mod recovery;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{dcache, enc, run_dcache, wait_until, Cluster, Http};

/// Timing for tests that need many quick elections; the rest run on default settings.
const FAST: [&str; 4] = ["--heartbeat-interval-ms", "50", "--election-timeout-ms", "300"];

/// The status field `field` as a number.
fn u64_of(status: &Value, field: &str) -> u64 {
    status[field]
        .as_u64()
        .unwrap_or_else(|| panic!("numeric `{field}` in {status}"))
}

/// Every `key -> (value, version)` under each of `prefixes` as the node behind `http` lists
/// them with `consistency`, or `None` if a scan fails or is truncated (so it can be polled).
fn try_listing(http: &Http, prefixes: &[String], consistency: &str) -> Option<BTreeMap<String, (String, u64)>> {
    let mut all = BTreeMap::new();
    for prefix in prefixes {
        let path = format!(
            "/api/v1/keys?prefix={}&limit=10000&consistency={consistency}",
            enc(prefix)
        );
        let (status, body) = http.try_send(Method::GET, &path, None, None).ok()?;
        if status != 200 || body["data"]["truncated"] != json!(false) {
            return None;
        }
        for kv in body["data"]["keys"].as_array()? {
            let version = kv["version"].as_u64()?;
            all.insert(
                kv["key"].as_str()?.to_string(),
                (kv["value"].as_str()?.to_string(), version),
            );
        }
    }
    Some(all)
}

/// Like [`try_listing`], but panics naming the node when the listing fails.
fn listing(http: &Http, prefixes: &[String], consistency: &str) -> BTreeMap<String, (String, u64)> {
    try_listing(http, prefixes, consistency).unwrap_or_else(|| {
        panic!(
            "{consistency} scan of {prefixes:?} on {} failed or was truncated",
            http.base()
        )
    })
}

/// The first few acknowledged writes in `acked` that `listed` lacks or holds with another
/// value or version, and how many there are in all.
fn missing<'a>(
    acked: impl IntoIterator<Item = (&'a str, &'a str, u64)>,
    listed: &BTreeMap<String, (String, u64)>,
) -> (usize, Vec<String>) {
    let mut problems = Vec::new();
    for (key, value, version) in acked {
        match listed.get(key) {
            None => problems.push(format!("{key}: missing")),
            Some((v, ver)) if v != value || *ver != version => {
                problems.push(format!("{key}: acknowledged {value:?}@{version}, listed {v:?}@{ver}"))
            }
            Some(_) => {}
        }
    }
    let total = problems.len();
    problems.truncate(10);
    (total, problems)
}

/// Sets a flag when dropped, so load threads stop even when the test panics (a scoped
/// thread that never stops would turn a failure into a hang).
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn writes_through_leader_and_follower_are_readable_on_every_node() {
    let c = Cluster::start(3, &[]);
    let l = c.leader();
    let f = c.followers_of(l)[0];
    let via_leader = c.node(l).http.set("rep/via-leader", "from the leader");
    let via_follower = c.node(f).http.set("rep/via-follower", "from a follower");
    assert!(
        via_follower > via_leader,
        "the later write must get the higher version: {via_leader} then {via_follower}"
    );
    let written = [
        ("rep/via-leader", "from the leader", via_leader),
        ("rep/via-follower", "from a follower", via_follower),
    ];

    // A linearizable read sees an acknowledged write at once, whichever node serves it.
    for i in 0..c.len() {
        for (key, value, version) in written {
            assert_eq!(
                c.node(i).http.value_of(key),
                Some((value.to_string(), version)),
                "linearizable read of {key} on {} right after the acknowledgement",
                c.node(i).name()
            );
        }
    }
    // A local read may lag, but shows the write once the node has applied it.
    for i in 0..c.len() {
        for (key, value, version) in written {
            let mut got = (0, Value::Null);
            let seen = wait_until(Duration::from_secs(5), || {
                got = c.node(i).http.get_key(key, Some("local"));
                got.0 == 200 && got.1["data"]["value"] == value && got.1["data"]["version"] == version
            });
            assert!(
                seen,
                "local read of {key} on {} never showed {value:?}@{version}; last answer: {got:?}",
                c.node(i).name()
            );
        }
    }
    // The CLI's local read on a follower agrees.
    let (out, what) = run_dcache(
        dcache(Some(&c.node(f).url())),
        &["get", "rep/via-leader", "--consistency", "local"],
    );
    assert_eq!(out.status.code(), Some(0), "{what}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from the leader\n", "{what}");
    // Forming a cluster is routine: no node logs an error. Every founding member asks to
    // bootstrap, and those that lose the race are told so at info level.
    for i in 0..c.len() {
        let log = c.node(i).log();
        assert!(
            !log.lines().any(|l| l.contains(" ERROR ")),
            "{} logged an error while the cluster formed:\n{log}",
            c.node(i).name()
        );
    }
}

/// Concurrent writers share log entries (the leader coalesces waiting writes into one), yet
/// each write keeps a version of its own per key, conditional writes see one another, and
/// every node ends with the same data.
#[test]
fn concurrent_writes_share_log_entries_yet_keep_their_own_versions() {
    const KEYS: usize = 8;
    const WRITERS: usize = 24;
    const WRITES: usize = 25;
    const INCREMENTERS: usize = 8;
    const INCREMENTS: u64 = 15;
    let c = Cluster::start(3, &[]);
    let l = c.leader();
    let f = c.followers_of(l)[0];
    let first_index = u64_of(&c.node(l).http.status(), "last_log_index");
    let urls = [c.node(l).url(), c.node(f).url()];

    // Plain sets of a few shared keys, and read-modify-write increments of one counter with
    // `if_version`, all at once, through the leader and a follower.
    let (sets, increments) = std::thread::scope(|s| {
        let setters: Vec<_> = (0..WRITERS)
            .map(|t| {
                let url = &urls[t % 2];
                s.spawn(move || {
                    let http = Http::new(url);
                    (0..WRITES)
                        .map(|i| {
                            let (key, value) = (format!("co/{}", (t + i) % KEYS), format!("{t}-{i}"));
                            let version = http.set(&key, &value);
                            (key, value, version)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let incrementers: Vec<_> = (0..INCREMENTERS)
            .map(|t| {
                let url = &urls[t % 2];
                s.spawn(move || {
                    let http = Http::new(url);
                    let mut versions = Vec::new();
                    while (versions.len() as u64) < INCREMENTS {
                        let (count, version) = http
                            .value_of("co/counter")
                            .map_or((0, 0), |(v, ver)| (v.parse::<u64>().expect("counter"), ver));
                        let body =
                            json!({"key": "co/counter", "value": (count + 1).to_string(), "if_version": version});
                        let got = http.post_json("/api/v1/set", &body);
                        match got.0 {
                            200 => versions.push(got.1["data"]["version"].as_u64().expect("version")),
                            412 => assert_eq!(got.1["error"]["code"], "CONDITION_FAILED", "{got:?}"),
                            _ => panic!("increment: unexpected answer {got:?}"),
                        }
                    }
                    versions
                })
            })
            .collect();
        let sets: Vec<(String, String, u64)> = setters.into_iter().flat_map(joined).collect();
        let increments: Vec<u64> = incrementers.into_iter().flat_map(joined).collect();
        (sets, increments)
    });

    // No two acknowledged writes of one key share a version.
    let mut by_key: BTreeMap<&str, BTreeMap<u64, &str>> = BTreeMap::new();
    for (key, value, version) in &sets {
        let previous = by_key.entry(key).or_default().insert(*version, value);
        assert!(
            previous.is_none(),
            "{key}: {value:?} and {previous:?} both got version {version}"
        );
    }
    let mut counter_versions = increments.clone();
    counter_versions.sort_unstable();
    counter_versions.dedup();
    assert_eq!(
        counter_versions.len(),
        increments.len(),
        "two increments got one version: {increments:?}"
    );

    // Every node ends with the newest write of each key, and no increment was lost.
    let total = (INCREMENTERS as u64 * INCREMENTS).to_string();
    for i in 0..c.len() {
        let http = &c.node(i).http;
        for (key, versions) in &by_key {
            let (version, value) = versions.last_key_value().expect("a write");
            let mut got = None;
            let same = wait_until(Duration::from_secs(10), || {
                got = Some(http.get_key(key, Some("local")));
                got.as_ref().is_some_and(|(status, body)| {
                    *status == 200 && body["data"]["value"] == *value && body["data"]["version"] == *version
                })
            });
            assert!(
                same,
                "{} shows {key} as {got:?}, not {value:?}@{version}",
                c.node(i).name()
            );
        }
        assert_eq!(
            http.value_of("co/counter").map(|(v, _)| v),
            Some(total.clone()),
            "counter on {}",
            c.node(i).name()
        );
    }

    // And the writes shared entries: fewer entries than writes went into the log.
    let writes = (sets.len() + increments.len()) as u64;
    let entries = u64_of(&c.node(l).http.status(), "last_log_index") - first_index;
    assert!(
        entries < writes,
        "{writes} concurrent writes took {entries} log entries: none were coalesced"
    );
}

/// What a scoped thread returned, re-raising its panic.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// One acknowledged write of a load thread, with when it was sent and acknowledged.
struct Ack {
    key: String,
    value: String,
    version: u64,
    sent: Instant,
    acked: Instant,
}

/// Load thread `t`: writes unique keys `fo/{t}/{i}` one at a time, round-robin through every
/// node in `urls` (so most go through followers), until `stop` is set. Every acknowledged
/// write goes to `acks`; failed ones (refused by a dead node, 503 during the election) are
/// only counted in `failed`: they may or may not have been applied.
fn load_writer(t: usize, urls: &[String], stop: &AtomicBool, acks: &Mutex<Vec<Ack>>, failed: &AtomicUsize) {
    let clients: Vec<Http> = urls
        .iter()
        .map(|u| Http::with_timeout(u, Duration::from_secs(10)))
        .collect();
    let mut i = 0usize;
    while !stop.load(Ordering::SeqCst) {
        let key = format!("fo/{t}/{i:06}");
        let value = format!("load-{t}-{i}");
        let http = &clients[(t + i) % clients.len()];
        i += 1;
        let body = json!({"key": key, "value": value}).to_string().into_bytes();
        let sent = Instant::now();
        match http.try_send(Method::POST, "/api/v1/set", Some("application/json"), Some(body)) {
            Ok((200, answer)) => {
                let acked = Instant::now();
                let version = answer["data"]["version"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("set {key}: no version in {answer}"));
                acks.lock().unwrap().push(Ack {
                    key,
                    value,
                    version,
                    sent,
                    acked,
                });
            }
            _ => {
                failed.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

#[test]
fn failover_under_load_takes_under_2s_and_keeps_every_acknowledged_write() {
    const WRITERS: usize = 4;
    const BUDGET: Duration = Duration::from_secs(2);
    // Default timing on purpose: the failover budget is for default settings.
    let mut c = Cluster::start(3, &[]);
    let l = c.leader();
    let term_before = u64_of(&c.status(l), "term");
    let urls: Vec<String> = (0..c.len()).map(|i| c.node(i).url()).collect();
    let stop = AtomicBool::new(false);
    let acks = Mutex::new(Vec::<Ack>::new());
    let failed = AtomicUsize::new(0);

    let (kill_at, first_after) = std::thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        for t in 0..WRITERS {
            let (urls, stop, acks, failed) = (&urls, &stop, &acks, &failed);
            s.spawn(move || load_writer(t, urls, stop, acks, failed));
        }
        let count = || acks.lock().unwrap().len();
        assert!(
            wait_until(Duration::from_secs(30), || count() >= 400),
            "the load never reached 400 acknowledged writes (got {}, {} failed)",
            count(),
            failed.load(Ordering::SeqCst)
        );

        c.kill9(l);
        // Taken after the process is reaped: nothing sent later can reach the old leader.
        let kill_at = Instant::now();
        let mut first_after = None;
        wait_until(Duration::from_secs(15), || {
            first_after = acks
                .lock()
                .unwrap()
                .iter()
                .filter(|a| a.sent >= kill_at)
                .map(|a| a.acked)
                .min();
            first_after.is_some()
        });
        // Keep the load on a little longer, so writes to the new leader are checked too.
        let before = count();
        wait_until(Duration::from_secs(20), || count() >= before + 400);
        (kill_at, first_after)
    });
    let acks = acks.into_inner().unwrap();
    let failed = failed.into_inner();
    let first_after = first_after.unwrap_or_else(|| {
        panic!(
            "no write sent after killing leader {} was acknowledged within 15 s ({} acknowledged before, {failed} failed)\n{}",
            c.node(l).name(),
            acks.len(),
            c.logs()
        )
    });
    let failover = first_after - kill_at;
    let new = c.leader();
    // More than one term gone by means more than one election round was needed.
    let elections = format!(
        "{} led in term {term_before}, {} leads in term {}",
        c.node(l).name(),
        c.node(new).name(),
        u64_of(&c.status(new), "term")
    );
    eprintln!("FIGURE failover_ms={}", failover.as_millis());
    eprintln!(
        "failover: {} writes acknowledged, {failed} failed; {elections}",
        acks.len()
    );
    assert!(
        failover < BUDGET,
        "the first write sent after killing the leader was acknowledged {failover:?} later; budget {BUDGET:?}; {elections}"
    );

    c.restart(l);
    let leader = c.leader();
    let prefixes: Vec<String> = (0..WRITERS).map(|t| format!("fo/{t}/")).collect();
    let listed = listing(&c.node(leader).http, &prefixes, "linearizable");
    let (total, first) = missing(
        acks.iter().map(|a| (a.key.as_str(), a.value.as_str(), a.version)),
        &listed,
    );
    assert_eq!(
        total,
        0,
        "{total} of {} acknowledged writes wrong on the leader after failover; first: {first:#?}",
        acks.len()
    );

    // The restarted node catches up: every node's local view equals the leader's.
    for i in 0..c.len() {
        let mut local = None;
        let caught_up = wait_until(Duration::from_secs(20), || {
            local = try_listing(&c.node(i).http, &prefixes, "local");
            local.as_ref() == Some(&listed)
        });
        assert!(
            caught_up,
            "{} never showed the leader's {} keys locally (has {:?}); its status: {}",
            c.node(i).name(),
            listed.len(),
            local.map(|l| l.len()),
            c.status(i)
        );
    }
}

/// Classifies one linearizable read of `key` on a node that was a stale leader: `Ok` for
/// the expected value or an error status, `Err` for anything else.
fn guarded_read(got: &Result<(u16, Value), reqwest::Error>, value: &str, version: u64) -> Result<&'static str, String> {
    match got {
        Ok((200, body)) if body["data"]["value"] == value && body["data"]["version"] == version => Ok("current"),
        Ok((503 | 504, _)) => Ok("refused"),
        Ok((status, body)) => Err(format!("HTTP {status} {body}")),
        Err(e) => Err(format!("no answer: {e}")),
    }
}

#[test]
fn a_stale_leader_never_serves_an_old_value_to_a_linearizable_read() {
    let mut c = Cluster::start(3, &FAST);
    let l = c.leader();
    let old_term = u64_of(&c.status(l), "term");
    c.node(l).http.set("stale/k", "v1");

    c.stop_signal(l, "STOP");
    let others = c.followers_of(l);
    let new = c.leader_among(&others);
    let new_term = u64_of(&c.status(new), "term");
    assert!(
        new_term > old_term,
        "the new leader's term {new_term} must exceed {old_term}"
    );
    let v2 = c.node(new).http.set("stale/k", "v2");
    c.stop_signal(l, "CONT");

    // Straight after waking, the old leader still believes it leads: it must not answer from
    // its own stale state.
    let http = Http::with_timeout(&c.node(l).url(), Duration::from_secs(10));
    let path = "/api/v1/get/stale%2Fk?consistency=linearizable";
    let until = Instant::now() + Duration::from_secs(1);
    let mut answers = Vec::new();
    loop {
        let got = http.try_send(Method::GET, path, None, None);
        match guarded_read(&got, "v2", v2) {
            Ok(kind) => answers.push(kind),
            Err(e) => panic!(
                "linearizable read of stale/k on the old leader {} after {} answers {answers:?}: expected v2@{v2} or 503/504, got {e}",
                c.node(l).name(),
                answers.len()
            ),
        }
        if Instant::now() >= until {
            break;
        }
    }
    eprintln!("stale leader answers in the first second: {answers:?}");
    // It rejoins as a follower and then serves the new value.
    let served = wait_until(Duration::from_secs(10), || {
        matches!(
            guarded_read(&http.try_send(Method::GET, path, None, None), "v2", v2),
            Ok("current")
        )
    });
    assert!(
        served,
        "the old leader never served v2 after rejoining; its status: {}",
        c.status(l)
    );
}

/// The rows of `dcache -o json cluster status` asked of `url`.
fn status_rows(url: &str) -> (Vec<Value>, String) {
    let (out, what) = run_dcache(dcache(Some(url)), &["-o", "json", "cluster", "status"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {what}"));
    let rows = rows
        .as_array()
        .unwrap_or_else(|| panic!("expected a JSON array of rows: {what}"))
        .clone();
    (rows, what)
}

#[test]
fn cluster_status_gathers_every_member_and_reports_the_dead_one() {
    let mut c = Cluster::start(3, &[]);
    let l = c.leader();
    c.node(l).http.set("st/k", "v");
    let followers = c.followers_of(l);
    let (dead, alive) = (followers[0], followers[1]);

    // Everyone up: a row per member, no errors.
    let (rows, what) = status_rows(&c.node(alive).url());
    assert_eq!(rows.len(), 3, "{what}");
    assert!(rows.iter().all(|r| r["error"].is_null()), "no member is down: {what}");

    c.kill9(dead);
    let (rows, what) = status_rows(&c.node(alive).url());
    assert_eq!(rows.len(), 3, "one row per member, dead or alive: {what}");
    for i in 0..3 {
        let node = c.node(i);
        let row = rows
            .iter()
            .find(|r| r["name"] == node.name())
            .unwrap_or_else(|| panic!("no row for {}: {what}", node.name()));
        assert!(row["id"].is_u64(), "numeric id in {row}: {what}");
        assert_eq!(row["client_url"], json!(node.url()), "{what}");
        if i == dead {
            let error = row["error"].as_str().unwrap_or_default();
            assert!(
                !error.trim().is_empty(),
                "the dead member's row must carry an error: {what}"
            );
            assert!(
                row["role"].is_null() || row["role"] == "",
                "the dead member has no role: {what}"
            );
        } else {
            assert!(row["error"].is_null(), "a live member has no error: {what}");
            let role = if i == l { "leader" } else { "follower" };
            assert_eq!(row["role"], role, "{}'s role: {what}", node.name());
            for field in ["term", "committed", "applied", "lag"] {
                assert!(row[field].is_u64(), "numeric `{field}` in {row}: {what}");
            }
            assert!(u64_of(row, "term") > 0, "{what}");
            assert_eq!(row["keys"], json!(1), "{}'s key count: {what}", node.name());
        }
    }

    let (out, what) = run_dcache(dcache(Some(&c.node(alive).url())), &["cluster", "status"]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let mut lines = stdout.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().unwrap_or_else(|| panic!("no output: {what}"));
    let columns = [
        "NAME",
        "ID",
        "CLIENT URL",
        "ROLE",
        "TERM",
        "COMMITTED",
        "APPLIED",
        "LAG",
        "KEYS",
        "ERROR",
    ];
    let positions: Vec<Option<usize>> = columns.iter().map(|c| header.find(c)).collect();
    assert!(
        positions.iter().all(Option::is_some) && positions.windows(2).all(|w| w[0] < w[1]),
        "header must have the columns {columns:?} in order: {header:?}\n{what}"
    );
    let error_column = positions[9].unwrap_or_default();
    let mut rows: Vec<&str> = lines.collect();
    assert!(
        rows.pop()
            .is_some_and(|l| l.starts_with(&format!("cluster version: format {}", dcache::version::FORMAT))),
        "the cluster version line last: {what}"
    );
    assert_eq!(
        rows.pop(),
        Some("2/3 voters up, quorum OK"),
        "the quorum line before it: {what}"
    );
    assert_eq!(rows.len(), 3, "one row per member: {what}");
    for i in 0..3 {
        let name = c.node(i).name();
        let row = rows
            .iter()
            .find(|r| r.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row for {name}: {what}"));
        if i == dead {
            let error = row.get(error_column..).unwrap_or_default();
            assert!(
                !error.trim().is_empty(),
                "{name} is down: its ERROR cell must say why: {what}"
            );
        } else {
            let role = if i == l { "leader" } else { "follower" };
            assert!(
                row.split_whitespace().any(|w| w == role),
                "{name}'s row must show role {role}: {what}"
            );
        }
    }
}

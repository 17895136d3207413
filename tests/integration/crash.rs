//! Crashes at every step of a snapshot, a log purge and a membership change (issue 20): a
//! member runs with `DCACHE_CRASH_AT=POINT` (src/failpoint.rs; the test build has the
//! points, release builds do not), writes go on until it kills itself with SIGKILL exactly
//! there, it is started again without the point, and then every acknowledged write is on
//! every member and the crashed member is back, caught up, as a voter.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

use crate::support::{enc, wait_until, Cluster, Http};

/// Snapshots every 100 entries (the log behind them kept for 10), so a few hundred writes
/// snapshot and purge on every member, and a member down for them catches up by snapshot.
const SMALL_SNAPSHOTS: [&str; 2] = ["--snapshot-logs", "100"];

/// The environment that makes a node crash at `point`.
fn crash_at(point: &str) -> Vec<(String, String)> {
    vec![("DCACHE_CRASH_AT".to_string(), point.to_string())]
}

/// One client writing unique keys `crash/N` one after another, to each member in turn,
/// remembering what was acknowledged.
struct Writer {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<BTreeMap<String, String>>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    fn start(c: &Cluster, tag: &str) -> Writer {
        let urls: Vec<String> = (0..c.len()).map(|i| c.node(i).url()).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(BTreeMap::new()));
        let (s, a, tag) = (stop.clone(), acked.clone(), tag.to_string());
        let thread = std::thread::spawn(move || {
            let clients: Vec<Http> = urls
                .iter()
                .map(|u| Http::with_timeout(u, Duration::from_secs(3)))
                .collect();
            let mut n = 0usize;
            while !s.load(Ordering::Relaxed) {
                n += 1;
                let (key, value) = (format!("crash/{tag}/{n:06}"), format!("v{n}"));
                let body = serde_json::json!({"key": key, "value": value}).to_string();
                let answer = clients[n % clients.len()].try_send(
                    reqwest::Method::POST,
                    "/api/v1/set",
                    Some("application/json"),
                    Some(body.into_bytes()),
                );
                if matches!(answer, Ok((200, _))) {
                    a.lock().unwrap().insert(key, value);
                }
            }
        });
        Writer {
            stop,
            acked,
            thread: Some(thread),
        }
    }

    fn count(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    /// Waits until `more` further writes were acknowledged (within `timeout`).
    fn await_more(&self, more: usize, timeout: Duration) -> bool {
        let target = self.count() + more;
        wait_until(timeout, || self.count() >= target)
    }

    fn stop(mut self) -> BTreeMap<String, String> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        std::mem::take(&mut *self.acked.lock().unwrap())
    }
}

/// Waits for node `i` to kill itself at `point` and checks that it said so.
fn await_crash(c: &mut Cluster, i: usize, point: &str) {
    let exited = c.node_mut(i).wait_exit(Duration::from_secs(60));
    let stderr = c.node(i).stderr();
    assert!(
        exited.is_some(),
        "{} never reached crash point `{point}` (a release build has none):\n{}",
        c.node(i).name(),
        c.node(i).log()
    );
    assert!(
        stderr.contains(&format!("crash point `{point}` reached")),
        "{} exited ({exited:?}) but not at `{point}`:\n{}",
        c.node(i).name(),
        c.node(i).log()
    );
}

fn u64_of(v: &Value, field: &str) -> u64 {
    v[field].as_u64().unwrap_or(0)
}

/// The keys and values under `prefix` that node `i` holds, read locally, page by page.
fn local_listing(c: &Cluster, i: usize, prefix: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut after = String::new();
    loop {
        let (status, v) = c.node(i).http.get(&format!(
            "/api/v1/keys?prefix={}&limit=1000&consistency=local&after={}",
            enc(prefix),
            enc(&after)
        ));
        assert_eq!(status, 200, "scan on {}: {v}", c.node(i).name());
        let keys = v["data"]["keys"].as_array().cloned().unwrap_or_default();
        for k in &keys {
            out.insert(
                k["key"].as_str().unwrap_or_default().to_string(),
                k["value"].as_str().unwrap_or_default().to_string(),
            );
        }
        match keys.last() {
            Some(last) if v["data"]["truncated"] == true => {
                after = last["key"].as_str().unwrap_or_default().to_string();
            }
            _ => return out,
        }
    }
}

/// After the crashed member `crashed` is back: a leader takes writes, every member in
/// `members` is a voter and has applied everything the leader committed, and holds every
/// acknowledged write of `acked` under `crash/`.
fn check_recovered(c: &Cluster, members: &[usize], crashed: usize, acked: &BTreeMap<String, String>) {
    let leader = c.leader_among(members);
    c.node(leader).http.set("crash/last", "after recovery");
    let target = u64_of(&c.status(leader), "committed");
    let mut last = Value::Null;
    let caught_up = wait_until(Duration::from_secs(60), || {
        members.iter().all(|&i| {
            let Some(s) = c.node(i).http.status_within(Duration::from_secs(2)) else {
                return false;
            };
            let voter = s["members"].as_array().is_some_and(|ms| {
                ms.iter()
                    .any(|m| m["name"] == c.node(crashed).name() && m["voter"] == true)
            });
            let ok = voter && u64_of(&s, "applied") >= target;
            if !ok {
                last = s;
            }
            ok
        })
    });
    assert!(
        caught_up,
        "not every member caught up to {target} with {} a voter; last status: {last:#}\n{}",
        c.node(crashed).name(),
        c.logs()
    );
    for &i in members {
        let held = local_listing(c, i, "crash/");
        let missing: Vec<_> = acked
            .iter()
            .filter(|(k, v)| held.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .take(10)
            .collect();
        assert!(
            missing.is_empty(),
            "{} lost acknowledged writes (of {}), e.g. {missing:?}",
            c.node(i).name(),
            acked.len()
        );
    }
}

/// A follower crashes at `point` of building a snapshot or purging its log; started again
/// without it, it catches up and loses nothing.
fn follower_crashes_at(c: &mut Cluster, point: &str, tag: &str) {
    let leader = c.leader();
    let f = c.followers_of(leader)[0];
    c.node_mut(f).set_env(&[("DCACHE_CRASH_AT", point)]);
    c.restart(f);
    let writer = Writer::start(c, tag);
    await_crash(c, f, point);
    let acked = restart_without_crash_point(c, f, writer);
    assert!(acked.len() >= 50, "too few writes to mean anything: {}", acked.len());
    check_recovered(c, &[0, 1, 2], f, &acked);
}

#[test]
fn a_member_killed_at_each_step_of_a_snapshot_or_a_purge_comes_back_with_everything() {
    let mut c = Cluster::start(3, &SMALL_SNAPSHOTS);
    for (n, point) in [
        "snapshot-build-written",
        "snapshot-recorded",
        "log-purge-marked",
        "log-purge-done",
    ]
    .iter()
    .enumerate()
    {
        follower_crashes_at(&mut c, point, &format!("b{n}"));
    }
}

#[test]
fn a_member_killed_while_installing_a_snapshot_from_the_leader_comes_back_with_everything() {
    let mut c = Cluster::start(3, &SMALL_SNAPSHOTS);
    for (n, point) in ["snapshot-install-received", "snapshot-install-committed"]
        .iter()
        .enumerate()
    {
        let leader = c.leader();
        let f = c.followers_of(leader)[0];
        let behind = u64_of(&c.status(f), "last_log_index");
        c.kill9(f);
        let writer = Writer::start(&c, &format!("i{n}"));
        let purged = wait_until(Duration::from_secs(60), || {
            u64_of(&c.status(leader), "purged_index") > behind
        });
        assert!(purged, "the leader never purged past {behind}: {}", c.status(leader));
        c.node_mut(f).set_env(&[("DCACHE_CRASH_AT", point)]);
        c.node_mut(f).launch();
        await_crash(&mut c, f, point);
        let acked = restart_without_crash_point(&mut c, f, writer);
        check_recovered(&c, &[0, 1, 2], f, &acked);
    }
}

#[test]
fn a_leader_killed_in_the_middle_of_a_join_leaves_the_new_member_a_voter() {
    for point in ["join-learner-added", "join-promoted"] {
        let mut c = Cluster::start_prepared(3, &[], &mut |nodes| nodes.iter().map(|_| crash_at(point)).collect());
        let leader = c.leader();
        let via = c.followers_of(leader)[0];
        let writer = Writer::start(&c, "j");
        assert!(
            writer.await_more(20, Duration::from_secs(20)),
            "no writes before the join"
        );
        let joined = c.join(via);
        await_crash(&mut c, leader, point);
        let acked = restart_without_crash_point(&mut c, leader, writer);
        check_recovered(&c, &[0, 1, 2, joined], joined, &acked);
        check_recovered(&c, &[0, 1, 2, joined], leader, &acked);
    }
}

/// Removes member `target` through node `via`, retrying while the outcome is unknown
/// (the leader may die answering).
fn remove(c: &Cluster, via: usize, target: usize) {
    let name = c.node(target).name().to_string();
    let mut last = (0, Value::Null);
    let done = wait_until(Duration::from_secs(30), || {
        last = c.node(via).http.send(
            reqwest::Method::POST,
            &format!("/api/v1/cluster/remove?target={}", enc(&name)),
            None,
            None,
        );
        last.0 == 200 || (last.0 == 404 && last.1.to_string().contains("MEMBER_NOT_FOUND"))
    });
    assert!(done, "remove {name}: {} {}", last.0, last.1);
}

#[test]
fn a_member_removed_while_the_leader_or_itself_crashes_stops_for_good() {
    for (point, crashes_leader) in [("remove-committed", true), ("removed-told", false)] {
        // The founders carry the point when the leader is to crash (whoever leads meets
        // it); the joined member gets it by a restart when it is the one to crash.
        let founders_env = if crashes_leader { crash_at(point) } else { Vec::new() };
        let mut c = Cluster::start_prepared(3, &[], &mut |nodes| {
            nodes.iter().map(|_| founders_env.clone()).collect()
        });
        let leader = c.leader();
        let joined = c.join(leader);
        if !crashes_leader {
            c.node_mut(joined).set_env(&[("DCACHE_CRASH_AT", point)]);
            c.restart(joined);
        }
        let leader = c.leader_among(&[0, 1, 2]);
        let crashing = if crashes_leader { leader } else { joined };
        let via = c.followers_of(leader).into_iter().find(|&i| i != joined).unwrap();
        let writer = Writer::start(&c, "r");
        assert!(
            writer.await_more(20, Duration::from_secs(20)),
            "no writes before the removal"
        );
        remove(&c, via, joined);
        await_crash(&mut c, crashing, point);
        c.node_mut(crashing).set_env(&[]);
        if crashes_leader {
            c.restart(crashing);
        } else {
            c.node_mut(joined).launch();
        }
        // The removed member learns it is out and stops, leaving its mark; a start of its
        // data dir is refused from then on.
        let stopped = c.node_mut(joined).wait_exit(Duration::from_secs(30));
        assert!(
            stopped.is_some(),
            "the removed {} still runs after `{point}`:\n{}",
            c.node(joined).name(),
            c.node(joined).log()
        );
        assert!(
            c.node(joined).data_dir().join("REMOVED").exists(),
            "the removed member left no mark after `{point}`:\n{}",
            c.node(joined).log()
        );
        assert!(
            writer.await_more(50, Duration::from_secs(30)),
            "writes stalled after the removal"
        );
        let acked = writer.stop();
        check_recovered(&c, &[0, 1, 2], leader, &acked);
    }
}

/// Starts `node` again without its crash point, checks that `writer` gets 50 more writes
/// acknowledged within 30 s, stops it and returns every write it had acknowledged.
fn restart_without_crash_point(c: &mut Cluster, node: usize, writer: Writer) -> BTreeMap<String, String> {
    c.node_mut(node).set_env(&[]);
    c.restart(node);
    assert!(
        writer.await_more(50, Duration::from_secs(30)),
        "writes stalled after the restart"
    );
    writer.stop()
}

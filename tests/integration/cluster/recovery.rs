//! Coming back from crashes: a follower that missed more than the kept log catches up by
//! snapshot, one behind by tens of MB of large values catches up from the log, a paused
//! (SIGSTOP) follower neither stalls writes nor piles up connections on the leader, a whole
//! cluster killed with `kill -9` keeps every acknowledged write, a member whose
//! unacknowledged tail a new leader replaced restarts cleanly, and a data dir is refused to
//! a node configured with another cluster id.

use std::time::{Duration, Instant};

use super::{listing, missing, u64_of};
use crate::support::{parallel_set, parallel_set_over, wait_until, Cluster, Http};

#[test]
fn a_follower_that_missed_purged_log_catches_up_by_snapshot() {
    const N: usize = 20_000;
    let mut c = Cluster::start(3, &["--snapshot-logs", "1000"]);
    let l = c.leader();
    let f = c.followers_of(l)[0];
    c.node(l).http.set("cu/first", "before the crash");
    let seen = wait_until(Duration::from_secs(5), || {
        u64_of(&c.status(f), "applied") >= u64_of(&c.status(l), "committed")
    });
    assert!(
        seen,
        "the follower must be up to date before the crash: {}",
        c.status(f)
    );
    let follower_last = u64_of(&c.status(f), "last_log_index");
    c.kill9(f);

    let items: Vec<(String, String)> = (0..N)
        .map(|i| (format!("cu/{i:05}"), format!("catch-up-{i}")))
        .collect();
    parallel_set(&c.node(l).url(), &items, 8);
    let mut status = c.status(l);
    let purged = wait_until(Duration::from_secs(30), || {
        status = c.status(l);
        u64_of(&status, "purged_index") > follower_last
    });
    assert!(
        purged,
        "the leader never purged its log past {follower_last}, the killed follower's last entry: {status}"
    );

    let target = u64_of(&status, "committed");
    let keys = u64_of(&status, "key_count");
    assert_eq!(keys, N as u64 + 1, "{status}");
    let started = Instant::now();
    c.restart(f);
    let mut got = None;
    let caught_up = wait_until(Duration::from_secs(60), || {
        got = c.node(f).http.status_within(Duration::from_secs(2));
        got.as_ref()
            .is_some_and(|s| u64_of(s, "applied") >= target && u64_of(s, "key_count") == keys)
    });
    let took = started.elapsed();
    assert!(
        caught_up,
        "{} did not catch up to applied >= {target} with {keys} keys within 60 s; last status: {got:?}\n{}",
        c.node(f).name(),
        c.logs()
    );
    eprintln!("FIGURE catchup_ms={}", took.as_millis());
    let status = c.status(f);
    assert!(
        u64_of(&status, "snapshot_index") > 0,
        "a follower that catches up past a purged log must install a snapshot: {status}"
    );
    // Spot-check values served locally by the caught-up follower.
    for i in (0..N).step_by(997) {
        let (key, value) = &items[i];
        let got = c.node(f).http.get_key(key, Some("local"));
        assert_eq!(
            got.1["data"]["value"],
            value.as_str(),
            "local read of {key} on the follower: {got:?}"
        );
    }
}

#[test]
fn a_follower_behind_by_large_values_catches_up_from_the_log() {
    // 320 values of 64 KiB: 20 MiB of log, under the 32 MiB that triggers a snapshot, so the
    // follower catches up from the log. openraft would send the whole backlog (up to 300
    // entries, tens of MB) as one append; the network sends it in appends of a few MiB.
    const N: usize = 320;
    let mut c = Cluster::start(3, &[]);
    let l = c.leader();
    let f = c.followers_of(l)[0];
    c.kill9(f);
    let items: Vec<(String, String)> = (0..N)
        .map(|i| (format!("big/{i:04}"), format!("{i:04}").repeat(16 * 1024)))
        .collect();
    parallel_set(&c.node(l).url(), &items, 8);
    let status = c.status(l);
    let target = u64_of(&status, "committed");
    assert_eq!(u64_of(&status, "key_count"), N as u64, "{status}");

    c.restart(f);
    let mut got = None;
    let caught_up = wait_until(Duration::from_secs(60), || {
        got = c.node(f).http.status_within(Duration::from_secs(2));
        got.as_ref()
            .is_some_and(|s| u64_of(s, "applied") >= target && u64_of(s, "key_count") == N as u64)
    });
    assert!(
        caught_up,
        "{} did not catch up to applied >= {target} with {N} keys within 60 s; last status: {got:?}\n{}",
        c.node(f).name(),
        c.logs()
    );
    let status = c.status(f);
    assert_eq!(
        u64_of(&status, "snapshot_index"),
        0,
        "20 MiB of log is caught up from the log, not by a snapshot: {status}"
    );
    for (key, value) in items.iter().step_by(31) {
        let got = c.node(f).http.get_key(key, Some("local"));
        assert_eq!(
            got.1["data"]["value"].as_str().map(str::len),
            Some(value.len()),
            "local read of {key} on the follower: status {}",
            got.0
        );
        assert_eq!(
            got.1["data"]["value"],
            value.as_str(),
            "local read of {key} on the follower"
        );
    }
}

#[test]
fn a_whole_cluster_killed_with_kill_9_keeps_every_acknowledged_write() {
    const N: usize = 1000;
    const THREADS: usize = 6;
    let mut c = Cluster::start(3, &[]);
    let urls: Vec<String> = (0..c.len()).map(|i| c.node(i).url()).collect();
    let items: Vec<(String, String)> = (0..N)
        .map(|i| (format!("crash/{i:04}"), format!("crash-value-{i}")))
        .collect();
    // Two writer threads per node, so writes arrive through the leader and both followers.
    let written = parallel_set_over(&urls, &items, THREADS);
    assert_eq!(written.len(), N);

    c.restart_many(&[0, 1, 2]);
    let prefixes = ["crash/".to_string()];
    let acked = || written.iter().map(|(k, v, n)| (k.as_str(), v.as_str(), *n));
    let mut report = Vec::new();
    for i in 0..c.len() {
        let listed = listing(&c.node(i).http, &prefixes, "linearizable");
        let (total, first) = missing(acked(), &listed);
        if total == 0 && listed.len() == N {
            continue;
        }
        // Tell a read served too early (the writes show up later) from writes really lost.
        let mut later = listed.len();
        let appeared = wait_until(Duration::from_secs(5), || {
            let listed = listing(&c.node(i).http, &prefixes, "linearizable");
            later = listed.len();
            missing(acked(), &listed).0 == 0
        });
        report.push(format!(
            "{}: the first linearizable scan listed {} keys, {total} acknowledged writes wrong, first {first:?}; \
             {} (a scan 5 s later listed {later}); status {}",
            c.node(i).name(),
            listed.len(),
            if appeared {
                "they appeared later"
            } else {
                "still wrong 5 s later"
            },
            c.status(i)
        ));
    }
    assert!(
        report.is_empty(),
        "after killing all three with kill -9 and restarting them ({} leads):\n{}",
        c.node(c.leader()).name(),
        report.join("\n")
    );
}

#[test]
fn a_data_dir_is_refused_to_a_node_with_another_cluster_id() {
    let (ours, theirs) = ("alpha-7e1", "beta-2c9");
    let mut c = Cluster::start(3, &["--cluster-id", ours]);
    let l = c.leader();
    c.node(l).http.set("cid/k", "v");
    let f = c.followers_of(l)[0];
    c.kill9(f);

    let node = c.node_mut(f);
    node.set_extra(&["--cluster-id", theirs]);
    let started = Instant::now();
    node.launch();
    let exit = node.wait_exit(Duration::from_secs(10));
    let stderr = node.stderr();
    let exit =
        exit.unwrap_or_else(|| panic!("still running 10 s after a start with the wrong cluster id; stderr:\n{stderr}"));
    assert!(
        !exit.success(),
        "a cluster-id mismatch must exit non-zero, got {exit}; stderr:\n{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the mismatch must be caught at start-up, took {:?}",
        started.elapsed()
    );
    assert!(
        stderr.contains(ours) && stderr.contains(theirs),
        "stderr must name both cluster ids ({ours} on disk, {theirs} configured):\n{stderr}"
    );

    // The data dir is untouched: with the right id the node comes back with its data.
    c.node_mut(f).set_extra(&["--cluster-id", ours]);
    c.restart(f);
    let back = wait_until(Duration::from_secs(10), || {
        c.node(f).http.get_key("cid/k", Some("local")).1["data"]["value"] == "v"
    });
    assert!(
        back,
        "the node restarted with its own cluster id must still hold cid/k: {}",
        c.status(f)
    );
}

/// Open file descriptors of process `pid`.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

#[test]
fn a_paused_follower_stalls_no_write_piles_up_no_connections_and_catches_up() {
    let c = Cluster::start(3, &[]);
    let l = c.leader();
    let f = c.followers_of(l)[0];
    let http = &c.node(l).http;
    http.set("pause/before", "x");
    let leader_pid = c.node(l).pid();
    let fds_before = open_fds(leader_pid);

    // SIGSTOP: the follower's sockets stay open and the kernel still completes connections
    // to it, but nothing answers. Every heartbeat and append to it times out meanwhile.
    c.node(f).signal("STOP");
    let paused = Instant::now();
    let mut written = 0;
    let mut most_fds = fds_before;
    while paused.elapsed() < Duration::from_secs(4) {
        let slow = Instant::now();
        http.set(&format!("pause/{written:04}"), "during");
        assert!(
            slow.elapsed() < Duration::from_secs(3),
            "a write took {:?} with one follower paused; the other makes the quorum",
            slow.elapsed()
        );
        written += 1;
        most_fds = most_fds.max(open_fds(leader_pid));
    }
    c.node(f).signal("CONT");
    assert!(written > 5, "only {written} writes in 4 s with one follower paused");
    // Forty heartbeat intervals passed: a connection kept per timed-out call would show here.
    assert!(
        most_fds <= fds_before + 16,
        "the leader's open files grew from {fds_before} to {most_fds} while a follower was paused"
    );

    let caught_up = wait_until(Duration::from_secs(20), || {
        u64_of(&c.status(f), "applied") >= u64_of(&c.status(l), "committed")
    });
    assert!(caught_up, "the resumed follower did not catch up: {}", c.status(f));
    let last = format!("pause/{:04}", written - 1);
    assert_eq!(
        c.node(f).http.get_key(&last, Some("local")).0,
        200,
        "{last}, written while the follower was paused, is not on it after it resumed"
    );
    assert!(
        open_fds(leader_pid) <= fds_before + 16,
        "the leader holds {} open files after the pause, {fds_before} before",
        open_fds(leader_pid)
    );
}

/// A leader left with writes no one else has (its followers killed with `kill -9`),
/// superseded while it is frozen (the followers restarted elect one of them), then thawed:
/// the new leader replaces its unacknowledged tail. (Frozen followers would not do: a
/// stopped process's sockets still take in what the leader sends, and the entries reach
/// them when they thaw.) Killed
/// with `kill -9` once it has caught up and saved its log's floor, it starts again (the
/// floor names nothing its log lacks) and every member holds every acknowledged write and
/// none of the replaced ones.
#[test]
fn a_member_whose_unacknowledged_tail_was_replaced_restarts_with_every_acknowledged_write() {
    let mut c = Cluster::start(3, &[]);
    let old = c.leader();
    let followers = c.followers_of(old);
    let mut acked: Vec<(String, String, u64)> = Vec::new();
    let mut write = |c: &Cluster, via: usize, key: String| {
        let value = format!("value of {key}");
        let version = c.node(via).http.set(&key, &value);
        acked.push((key, value, version));
    };
    for i in 0..20 {
        write(&c, old, format!("tail/before-{i:02}"));
    }

    // The followers killed: the leader appends writes that cannot commit.
    for &f in &followers {
        c.kill9(f);
    }
    let committed = u64_of(&c.status(old), "committed");
    let cut_off = Http::with_timeout(&c.node(old).url(), Duration::from_millis(300));
    for i in 0..5 {
        let body = serde_json::json!({"key": format!("tail/lost-{i}"), "value": "never acknowledged"});
        let answer = cut_off.try_send(
            reqwest::Method::POST,
            "/api/v1/set",
            Some("application/json"),
            Some(body.to_string().into_bytes()),
        );
        assert!(
            !matches!(answer, Ok((200, _))),
            "a write was acknowledged with both followers down: {answer:?}"
        );
    }
    let tail = wait_until(Duration::from_secs(5), || {
        u64_of(&c.status(old), "last_log_index") > committed
    });
    assert!(
        tail,
        "the cut-off leader appended nothing past {committed}: {}",
        c.status(old)
    );

    // The old leader frozen, the followers restarted: one of them leads and goes on.
    c.stop_signal(old, "STOP");
    c.restart_many(&followers);
    let new = c.leader_among(&followers);
    for i in 0..20 {
        write(&c, new, format!("tail/after-{i:02}"));
    }

    // Thawed, the old leader follows, and its tail is replaced by the new leader's entries.
    c.stop_signal(old, "CONT");
    let target = u64_of(&c.status(new), "committed");
    let caught_up = wait_until(Duration::from_secs(10), || {
        c.node(old)
            .http
            .status_within(Duration::from_secs(1))
            .is_some_and(|s| u64_of(&s, "applied") >= target)
    });
    assert!(caught_up, "the old leader never applied {target}: {}", c.status(old));
    assert!(
        wait_until(Duration::from_secs(10), || c.node(old).log_floor() >= target),
        "the old leader's floor never reached {target} (it is {})",
        c.node(old).log_floor()
    );

    // Killed and restarted, it starts (`restart` fails the test if the start is refused).
    c.kill9(old);
    c.restart(old);
    let prefixes = ["tail/".to_string()];
    for i in 0..c.len() {
        let listed = listing(&c.node(i).http, &prefixes, "linearizable");
        let (wrong, first) = missing(acked.iter().map(|(k, v, n)| (k.as_str(), v.as_str(), *n)), &listed);
        assert_eq!(
            wrong,
            0,
            "{}: acknowledged writes wrong, first {first:?}",
            c.node(i).name()
        );
        let replaced: Vec<&String> = listed.keys().filter(|k| k.starts_with("tail/lost-")).collect();
        assert!(
            replaced.is_empty(),
            "{}: lists writes of the replaced tail: {replaced:?}",
            c.node(i).name()
        );
    }
}

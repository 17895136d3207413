//! What survives a crash or a stop: acknowledged writes after `kill -9`, with and without
//! snapshots and log purging, and a graceful SIGTERM/SIGINT exit. Uses only `support`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{parallel_set, wait_until, Node};

/// Every `(key, value, version)` under `prefix` as the node lists them, gathered from one
/// scan per sub-prefix so no single answer is truncated.
fn listed(node: &Node, sub_prefixes: &[String]) -> BTreeMap<String, (String, u64)> {
    let mut all = BTreeMap::new();
    for prefix in sub_prefixes {
        let d = node.http.scan(prefix, Some(10_000));
        assert_eq!(d["truncated"], json!(false), "scan {prefix:?} must not be truncated");
        for kv in d["keys"].as_array().unwrap() {
            let key = kv["key"].as_str().unwrap().to_string();
            let value = kv["value"].as_str().unwrap().to_string();
            let version = kv["version"]
                .as_u64()
                .unwrap_or_else(|| panic!("numeric version in {kv}"));
            all.insert(key, (value, version));
        }
    }
    all
}

/// Asserts that the node lists exactly `written`, each with its acknowledged value and
/// version; names the first few differences otherwise.
fn assert_all_present(node: &Node, sub_prefixes: &[String], written: &[(String, String, u64)], when: &str) {
    let got = listed(node, sub_prefixes);
    let mut problems = Vec::new();
    for (key, value, version) in written {
        match got.get(key) {
            None => problems.push(format!("{key}: missing")),
            Some((v, ver)) if v != value || ver != version => {
                problems.push(format!("{key}: expected {value:?}@{version}, got {v:?}@{ver}"))
            }
            Some(_) => {}
        }
    }
    let total = problems.len();
    problems.truncate(10);
    assert!(
        total == 0 && got.len() == written.len(),
        "{when}: {total} of {} acknowledged writes wrong, {} keys listed; first problems: {problems:#?}\nnode log:\n{}",
        written.len(),
        got.len(),
        node.log()
    );
}

/// `n` keys `{prefix}{i:05}` with values that differ per key and per test.
fn items(prefix: &str, n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            (
                format!("{prefix}{i:05}"),
                format!("{prefix}value-{i}-{}", i * 7919 % 1000),
            )
        })
        .collect()
}

/// The status field `field` as a number.
fn status_u64(status: &Value, field: &str) -> u64 {
    status[field]
        .as_u64()
        .unwrap_or_else(|| panic!("numeric `{field}` in {status}"))
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let mut node = Node::start();
    let written = parallel_set(&node.url(), &items("dur/", 500), 4);

    // Versions are log indexes; concurrent writes of different keys may share one entry.
    let last_index = status_u64(&node.http.status(), "last_log_index");
    assert!(
        written.iter().all(|w| (1..=last_index).contains(&w.2)),
        "every version must be a log index up to {last_index}"
    );
    // One key overwritten and one deleted: both must be remembered too.
    let (k0, _, _) = &written[0];
    let overwritten_version = node.http.set(k0, "overwritten");
    assert!(node.http.delete(&written[1].0));
    let mut expected = written.clone();
    expected[0] = (k0.clone(), "overwritten".to_string(), overwritten_version);
    expected.remove(1);

    node.kill();
    node.restart();
    assert_all_present(&node, &["dur/".to_string()], &expected, "after kill -9 and restart");
    assert_eq!(
        node.http.value_of(&written[1].0),
        None,
        "a deleted key must stay deleted"
    );

    // The restarted node keeps counting versions upwards and accepts writes.
    let after = node.http.set("dur/after-restart", "x");
    assert!(
        after > overwritten_version,
        "version {after} after restart must exceed {overwritten_version}"
    );
}

#[test]
fn writes_survive_kill_9_across_snapshots_and_log_purges() {
    const N: usize = 21_000;
    let mut node = Node::start_with(&["--snapshot-logs", "2000"]);
    let written = parallel_set(&node.url(), &items("snap/", N), 8);

    // Snapshots are built in the background: wait for the first one to be reported.
    let mut status = node.http.status();
    let snapshotted = wait_until(Duration::from_secs(20), || {
        status = node.http.status();
        status_u64(&status, "snapshot_index") > 0
    });
    assert!(
        snapshotted,
        "no snapshot after {N} writes with --snapshot-logs 2000; status: {status}"
    );
    assert_eq!(status_u64(&status, "key_count"), N as u64, "{status}");

    // One scan per thousand keys (`snap/00` .. `snap/20`), each well under the limit.
    let sub_prefixes: Vec<String> = (0..N.div_ceil(1000)).map(|i| format!("snap/{i:02}")).collect();
    assert_all_present(&node, &sub_prefixes, &written, "before the crash");

    node.kill();
    node.restart();
    assert_all_present(&node, &sub_prefixes, &written, "after kill -9 and restart");
    let status = node.http.status();
    assert!(
        status_u64(&status, "snapshot_index") > 0,
        "the snapshot must be known after restart: {status}"
    );
    assert_eq!(status_u64(&status, "key_count"), N as u64, "{status}");
    let last = written.iter().map(|w| w.2).max().unwrap_or(0);
    assert!(
        status_u64(&status, "applied") >= last,
        "applied must reach the last acknowledged write {last}: {status}"
    );
    assert_eq!(status["role"], json!("leader"), "{status}");
}

/// Sends `signal`, expects exit status 0 within the drain deadline, then restarts and finds
/// every acknowledged write.
fn graceful_stop_keeps_data(signal: &str) {
    let mut node = Node::start();
    let written = parallel_set(&node.url(), &items("term/", 100), 2);

    node.signal(signal);
    let status = node.wait_exit(Duration::from_secs(15));
    let log = node.log();
    let status = status.unwrap_or_else(|| panic!("still running 15 s after SIG{signal}; log:\n{log}"));
    assert_eq!(
        status.code(),
        Some(0),
        "SIG{signal} must exit with status 0, got {status}; log:\n{log}"
    );
    assert!(!log.contains("panicked"), "a panic during shutdown; log:\n{log}");

    node.restart();
    assert_all_present(
        &node,
        &["term/".to_string()],
        &written,
        &format!("after SIG{signal} and restart"),
    );
}

#[test]
fn sigterm_exits_0_and_keeps_data() {
    graceful_stop_keeps_data("TERM");
}

#[test]
fn sigint_exits_0_and_keeps_data() {
    graceful_stop_keeps_data("INT");
}

/// A log over 4 MiB but well under 32 MiB is snapshotted and purged through its last entry
/// once writes stop (after 2 s idle), so an idle node holds none of its log in sled's memory.
#[test]
fn an_idle_node_snapshots_and_purges_a_log_under_the_size_trigger() {
    let mut node = Node::start();
    let value = "v".repeat(256);
    let mut last = 0;
    for b in 0..20 {
        let ops: Vec<Value> = (0..1000)
            .map(|i| json!({"op": "set", "key": format!("idle/{b:02}/{i:04}"), "value": value}))
            .collect();
        let (status, body) = node.http.post_json("/api/v1/batch", &json!({ "ops": ops }));
        assert_eq!(status, 200, "batch {b}: {body}");
        last = body["data"]["version"].as_u64().unwrap();
    }
    let mut status = node.http.status();
    let purged = wait_until(Duration::from_secs(20), || {
        status = node.http.status();
        status_u64(&status, "snapshot_index") >= last && status_u64(&status, "purged_index") >= last
    });
    assert!(
        purged,
        "20 entries of ~300 KB (about 6 MB) must be snapshotted and purged through index {last} once idle; status: {status}"
    );
    node.restart();
    assert_eq!(
        node.http.value_of("idle/19/0999").map(|(v, _)| v),
        Some(value),
        "the snapshot holds the last write"
    );
}

/// A log of a few large entries (batches of 1000 sets, about 300 KB each, over 10,000 keys)
/// is snapshotted and purged once it passes 32 MiB (the least log a snapshot waits for; more
/// only when the cache itself is larger), long before `snapshot-logs` (10,000 entries) would.
/// The snapshot body is a file of its own in the data dir, and a restart from it keeps every
/// key at its version.
#[test]
fn a_log_of_large_entries_is_snapshotted_and_purged_by_size() {
    let mut node = Node::start();
    let value = "v".repeat(256);
    let mut written = Vec::new();
    for b in 0..130 {
        let ops: Vec<Value> = (0..1000)
            .map(|i| json!({"op": "set", "key": format!("big/{:03}/{i:04}", b % 10), "value": value}))
            .collect();
        let (status, body) = node.http.post_json("/api/v1/batch", &json!({ "ops": ops }));
        assert_eq!(status, 200, "batch {b}: {body}");
        written.push(body["data"]["version"].as_u64().unwrap());
    }
    let mut status = node.http.status();
    let compacted = wait_until(Duration::from_secs(30), || {
        status = node.http.status();
        status_u64(&status, "snapshot_index") > 0 && status_u64(&status, "purged_index") > 0
    });
    assert!(
        compacted,
        "130 entries of ~300 KB (over 32 MiB) must trigger a snapshot and a purge although snapshot-logs is 10000; status: {status}"
    );
    assert_eq!(
        status_u64(&status, "purged_index"),
        status_u64(&status, "snapshot_index"),
        "the log is purged up to the snapshot: {status}"
    );
    let files: Vec<String> = std::fs::read_dir(node.data_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("snapshot-") && n.ends_with(".bin"))
        .collect();
    assert_eq!(
        files.len(),
        1,
        "exactly one snapshot file, older ones removed: {files:?}"
    );
    let file_len = std::fs::metadata(node.data_dir().join(&files[0])).unwrap().len();
    let status = node.http.status();
    assert!(
        status_u64(&status, "disk_bytes") > file_len,
        "disk_bytes counts the snapshot file ({file_len} bytes) too: {status}"
    );

    node.kill();
    node.restart();
    // The entries after the snapshot are replayed from the log after the node is up.
    let mut status = node.http.status();
    let replayed = wait_until(Duration::from_secs(20), || {
        status = node.http.status();
        status_u64(&status, "key_count") == 10_000 && status_u64(&status, "applied") >= written[129]
    });
    assert!(replayed, "every key back after kill -9 and restart; status: {status}");
    for (b, version) in written.iter().enumerate().skip(120) {
        let key = format!("big/{:03}/0999", b % 10);
        assert_eq!(
            node.http.value_of(&key),
            Some((value.clone(), *version)),
            "{key} after kill -9 and restart"
        );
    }
}

/// A non-interactive shell starts background jobs with SIGINT ignored (`cmd &` in a script).
/// The node installs its own handler, so SIGINT sent right after its first healthy answer
/// still stops it cleanly, every time.
#[test]
fn sigint_right_after_start_stops_a_node_started_with_sigint_ignored() {
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let [client, peer] = crate::support::free_ports::<2>();
        let script = format!(
            "trap '' INT; exec {} serve --data-dir {} --listen-client-urls http://127.0.0.1:{client} --listen-peer-urls http://127.0.0.1:{peer}",
            crate::support::BIN,
            dir.path().join("data").display()
        );
        let mut child = std::process::Command::new("sh")
            .args(["-c", &script])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let http = crate::support::Http::new(&format!("http://127.0.0.1:{client}"));
        let healthy = wait_until(Duration::from_secs(20), || http.health() == Some(200));
        assert!(healthy, "round {round}: the node never answered /health");
        let pid = child.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -INT {pid}");
        let mut exited = None;
        wait_until(Duration::from_secs(15), || {
            exited = child.try_wait().unwrap();
            exited.is_some()
        });
        if exited.is_none() {
            let _ = child.kill();
        }
        assert_eq!(
            exited.and_then(|s| s.code()),
            Some(0),
            "round {round}: SIGINT right after start must stop the node with status 0"
        );
    }
}

/// A node runs with transparent huge pages off (a 2 MiB page is resident as soon as one byte
/// of it is used, which inflates a cache's RSS), unless `MIMALLOC_ALLOW_THP` says otherwise.
#[test]
fn a_node_runs_without_transparent_huge_pages() {
    let node = Node::start();
    let status = std::fs::read_to_string(format!("/proc/{}/status", node.pid())).expect("the node's /proc status");
    let thp = status
        .lines()
        .find_map(|l| l.strip_prefix("THP_enabled:"))
        .map(str::trim);
    assert_eq!(thp, Some("0"), "THP_enabled in /proc/{}/status:\n{status}", node.pid());
}

/// sled recovers its file only up to the first damaged record and silently drops the rest,
/// so a truncated `raft.sled` opens as a shorter log. The node must refuse to start from it
/// (it would vote and acknowledge as if it had never had the lost entries), naming the data
/// dir and what was lost; and a node whose data dir is whole starts as before.
#[test]
fn a_truncated_log_is_refused_at_start_instead_of_served_short() {
    let mut node = Node::start();
    let written = parallel_set(&node.url(), &items("floor/", 300), 2);
    let last = written.iter().map(|(_, _, v)| *v).max().unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || node.log_floor() >= last),
        "the log floor never reached the last acknowledged write's index {last} (it is {}); log:\n{}",
        node.log_floor(),
        node.log()
    );

    node.kill();
    let whole = tempfile::tempdir().unwrap();
    copy_dir(node.data_dir(), whole.path());
    let log = truncated_start_fails(&mut node, 2);
    assert!(
        log.contains("has lost log entries") && log.contains(&node.data_dir().display().to_string()),
        "the error must say the data dir lost log entries and name it; log:\n{log}"
    );

    // The same data dir whole starts and serves every write.
    std::fs::remove_dir_all(node.data_dir()).unwrap();
    copy_dir(whole.path(), node.data_dir());
    node.restart();
    assert_all_present(
        &node,
        &["floor/".to_string()],
        &written,
        "after restoring the whole data dir",
    );
}

/// Copies the directory tree `from` into `to` (created).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The same after a restart, when sled's own recovery record already covers the lost part:
/// sled then refuses the file itself, and the node stops with an error that calls the data
/// dir damaged (not busy or full) and names it, instead of serving the shorter log.
#[test]
fn a_truncated_log_after_a_restart_is_refused_as_damage() {
    let mut node = Node::start();
    let written = parallel_set(&node.url(), &items("damage/", 300), 2);
    node.restart();
    assert_all_present(&node, &["damage/".to_string()], &written, "after a restart");
    node.kill();
    let log = truncated_start_fails(&mut node, 4);
    let dir = node.data_dir().display().to_string();
    assert!(
        log.contains(&dir) && (log.contains("is damaged: raft.sled") || log.contains("has lost log entries")),
        "the error must call the data dir damaged or short and name it; log:\n{log}"
    );
    assert!(
        !log.contains("is another dcache using it"),
        "damage reported as a busy data dir; log:\n{log}"
    );
}

/// Cuts the stopped `node`'s sled file to `1 / fraction` of its length, starts it, and
/// returns its log after asserting that it exited with an error, not a panic.
fn truncated_start_fails(node: &mut Node, fraction: u64) -> String {
    let db = node.data_dir().join("raft.sled").join("db");
    let len = std::fs::metadata(&db).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    file.set_len(len / fraction).unwrap();
    drop(file);

    node.launch();
    let status = node.wait_exit(Duration::from_secs(20));
    let log = node.log();
    let status = status.unwrap_or_else(|| panic!("a node with a truncated log kept running; log:\n{log}"));
    assert!(
        !status.success(),
        "a node with a truncated log exited with {status}; log:\n{log}"
    );
    assert!(!log.contains("panicked"), "a panic instead of an error; log:\n{log}");
    log
}

//! Disk faults: a data dir that is unwritable or full when a node starts, and a disk that
//! fills up under a running node: each must give a clear error naming the cause, and no
//! acknowledged write may be lost once space returns. Every test mounts its own small tmpfs
//! (`tmpfs`), so they need root (as in CI) and fail with the reason, never skip, without it.
//! Nodes run on a data dir the test picks (`node`).

mod node;
mod snapshot;
pub(crate) mod tmpfs;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{dcache, free_ports, wait_until, Http};
use node::{serve_args, DiskNode, NotHealthy};
use tmpfs::Tmpfs;

const KIB: u64 = 1024;
pub(crate) const MIB: u64 = 1024 * KIB;

/// The node's default request timeout: every request must be answered within it (plus slack).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Room on top of deadlines for a loaded machine.
const SLACK: Duration = Duration::from_secs(5);

/// How long a start that must fail may take to fail.
const FAIL_FAST: Duration = Duration::from_secs(10);

/// How long a node whose Raft stopped on a storage error may take to exit: its drain
/// (request timeout + 1 s), and the node's 15 s bound on a flush that never returns.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Checks a refused start's stderr: no panic, and exactly one `error:` line, which names
/// `data_dir` and contains `cause` (the OS error). `what` describes the run for failures.
fn assert_one_clear_error(stderr: &str, data_dir: &Path, cause: &str, what: &str) {
    assert!(!stderr.contains("panicked"), "a panic instead of an error: {what}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "expected exactly one `error:` line: {what}");
    let dir = data_dir.display().to_string();
    assert!(
        errors[0].contains(&dir) && errors[0].contains(cause),
        "the error line must name the data dir {dir} and the cause {cause:?}: {what}"
    );
}

/// Runs `dcache serve --data-dir data_dir`, which must exit with status 1 within
/// [`FAIL_FAST`] and one clear error line (see [`assert_one_clear_error`]).
fn assert_start_refused(data_dir: &Path, cause: &str) {
    let started = Instant::now();
    let out = dcache(None)
        .args(serve_args(data_dir, free_ports()))
        .timeout(FAIL_FAST + SLACK)
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let what = format!(
        "dcache serve --data-dir {} -> {} after {elapsed:?}; stderr:\n{stderr}",
        data_dir.display(),
        out.status
    );
    assert_eq!(out.status.code(), Some(1), "{what}");
    assert!(elapsed < FAIL_FAST, "too slow to refuse: {what}");
    assert_one_clear_error(&stderr, data_dir, cause, &what);
}

/// Asserts that `node` serves every `(key, value, version)` in `written` unchanged.
fn assert_acknowledged(node: &DiskNode, written: &[(String, String, u64)], when: &str) {
    let mut problems = Vec::new();
    for (key, value, version) in written {
        match node.http.value_of(key) {
            None => problems.push(format!("{key}: missing")),
            Some((v, ver)) if v != *value || ver != *version => problems.push(format!(
                "{key}: expected {} B @{version}, got {} B @{ver}{}",
                value.len(),
                v.len(),
                if v == *value { "" } else { " with other content" }
            )),
            Some(_) => {}
        }
    }
    let total = problems.len();
    problems.truncate(10);
    assert!(
        total == 0,
        "{}",
        node.describe(&format!(
            "{when}: {total} of {} acknowledged writes wrong; first: {problems:#?}",
            written.len()
        ))
    );
}

#[test]
fn unwritable_data_dir_refuses_to_start_with_one_clear_line() {
    // Root ignores permission bits, so a read-only mount and a path under a regular file
    // stand in for "unwritable".
    let read_only = Tmpfs::mount_read_only();
    let plain = tempfile::tempdir().unwrap();
    let file = plain.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    for (data_dir, cause) in [
        (read_only.path().to_path_buf(), "Read-only file system"),
        (read_only.path().join("data"), "Read-only file system"),
        (file.join("data"), "Not a directory"),
    ] {
        assert_start_refused(&data_dir, cause);
    }
}

#[test]
fn full_disk_refuses_a_first_start_with_a_clear_error() {
    let disk = Tmpfs::mount(MIB);
    disk.fill("filler", 0);
    assert_start_refused(&disk.path().join("data"), "No space left on device");
}

#[test]
fn nearly_full_disk_at_restart_is_reported_and_loses_nothing() {
    let disk = Tmpfs::mount(16 * MIB);
    let mut node = DiskNode::start(&disk.path().join("data"));
    let written: Vec<(String, String, u64)> = (0..50)
        .map(|i| {
            let (key, value) = (format!("restart/{i:03}"), format!("value-{i}"));
            let version = node.http.set(&key, &value);
            (key, value, version)
        })
        .collect();
    node.signal("TERM");
    let status = node.wait_exit(Duration::from_secs(15));
    assert!(
        status.is_some_and(|s| s.success()),
        "{}",
        node.describe(&format!("SIGTERM must stop the node with status 0, got {status:?}"))
    );

    // A few KiB stay free: enough for the start-up write probe, not for the database.
    let filler = disk.fill("filler", 8 * KIB);
    let started = Instant::now();
    let outcome = node.run();
    let log = node.describe(&format!(
        "start on a nearly full disk: {outcome:?} after {:?}",
        started.elapsed()
    ));
    assert!(!log.contains("panicked"), "a panic instead of an error: {log}");
    match outcome {
        Err(NotHealthy::Exited(status)) => {
            eprintln!("nearly full disk at start: refused with {status}");
            assert_eq!(status.code(), Some(1), "{log}");
            assert!(started.elapsed() < FAIL_FAST, "too slow to refuse: {log}");
            assert_one_clear_error(&node.stderr(), node.data_dir(), "No space left on device", &log);
        }
        Ok(()) => {
            eprintln!("nearly full disk at start: served");
            assert_acknowledged(&node, &written, "serving on a nearly full disk");
            let got = node
                .http
                .post_json("/api/v1/set", &json!({"key": "restart/new", "value": "v"}));
            assert!(
                got.0 == 200 || (got.0 >= 500 && got.1["success"] == json!(false)),
                "a write on a nearly full disk must succeed or fail with an error envelope, got {got:?}: {log}"
            );
        }
        Err(NotHealthy::TimedOut) => panic!("neither healthy nor exited: {log}"),
    }

    std::fs::remove_file(filler).unwrap();
    if let Err(e) = node.run() {
        panic!("{}", node.describe(&format!("not healthy after space returned: {e:?}")));
    }
    assert_acknowledged(&node, &written, "after space returned");
    let newest = written.iter().map(|w| w.2).max().unwrap_or(0);
    let version = node.http.set("restart/after", "x");
    assert!(
        version > newest,
        "version {version} after space returned must exceed {newest}"
    );
}

/// What a node did once its disk was full.
#[derive(Debug)]
enum AfterFull {
    /// It exited by itself with this status (openraft stops Raft on any storage error).
    Stopped(ExitStatus),
    /// It kept running, answering with errors while the disk stays full.
    KeptRunning,
}

/// Value size of the writes that fill the disk: large values take sled's blob-file path.
const VALUE_BYTES: usize = 64 * 1024;

/// Upper bound on writes: 64 MiB, four times the file system.
const MAX_WRITES: usize = 1024;

#[test]
fn disk_full_during_a_run_fails_writes_clearly_and_loses_no_acknowledged_write() {
    let disk = Tmpfs::mount(16 * MIB);
    // Taken now and freed later: how "space returns" in this test.
    let spare = disk.reserve("spare", 8 * MIB);
    let mut node = DiskNode::start(&disk.path().join("data"));
    let data_dir = node.data_dir().display().to_string();
    let http = Http::with_timeout(&node.url(), REQUEST_TIMEOUT + SLACK);

    let mut acked: Vec<(String, String, u64)> = Vec::new();
    let mut failure: Option<(String, (u16, Value), Duration)> = None;
    for i in 0..MAX_WRITES {
        let key = format!("full/{i:04}");
        let value = format!("{i:04}{}", "x".repeat(VALUE_BYTES - 4));
        let body = json!({"key": key, "value": value}).to_string().into_bytes();
        let started = Instant::now();
        match http.try_send(Method::POST, "/api/v1/set", Some("application/json"), Some(body)) {
            Ok((200, d)) => {
                let version = d["data"]["version"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("set {key}: no numeric version in {d}"));
                acked.push((key, value, version));
            }
            Ok(answer) => {
                failure = Some((key, answer, started.elapsed()));
                break;
            }
            Err(e) => panic!(
                "{}",
                node.describe(&format!(
                    "set {key} after {} acknowledged writes: no answer within {:?}: {e}",
                    acked.len(),
                    REQUEST_TIMEOUT + SLACK
                ))
            ),
        }
    }
    let Some((failed_key, (status, body), elapsed)) = failure else {
        panic!(
            "{}",
            node.describe(&format!("the disk never filled: {MAX_WRITES} writes acknowledged"))
        )
    };
    let what = node.describe(&format!(
        "set {failed_key} on a full disk, after {} acknowledged writes: {status} {body} in {elapsed:?}",
        acked.len()
    ));
    assert!(acked.len() >= 10, "the disk filled too early to tell anything: {what}");
    assert!((500..600).contains(&status), "a full disk must answer 5xx: {what}");
    assert_eq!(body["success"], json!(false), "{what}");
    assert_eq!(body["error"]["code"], json!("INTERNAL"), "{what}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("No space left on device") && message.contains(&data_dir),
        "the error must name the cause and the data dir: {what}"
    );

    let after = match node.wait_exit(STOP_TIMEOUT) {
        Some(status) => AfterFull::Stopped(status),
        None => AfterFull::KeptRunning,
    };
    eprintln!(
        "disk full after {} acknowledged writes of {VALUE_BYTES} B: {status} {}; then the node {after:?}",
        acked.len(),
        body["error"]["code"]
    );
    let log = node.describe(&format!("after the disk filled: {after:?}"));
    assert!(!log.contains("panicked"), "a panic on a full disk: {log}");
    match &after {
        AfterFull::Stopped(status) => {
            assert_eq!(
                status.code(),
                Some(1),
                "a node stopped by a storage failure exits 1: {log}"
            );
            assert!(
                log.lines().any(|l| l.contains("ERROR")
                    && l.contains(&format!("storage failure in data dir {data_dir}"))
                    && l.contains("No space left on device")),
                "the node must log why it stopped, naming the data dir: {log}"
            );
        }
        AfterFull::KeptRunning => assert_acknowledged(&node, &acked, "while the disk is full"),
    }

    std::fs::remove_file(&spare).unwrap();
    match after {
        // One restart must do: no crash loop.
        AfterFull::Stopped(_) => {
            if let Err(e) = node.run() {
                panic!("{}", node.describe(&format!("not healthy after space returned: {e:?}")));
            }
        }
        AfterFull::KeptRunning => {
            let writable = wait_until(Duration::from_secs(30), || {
                node.http
                    .post_json("/api/v1/set", &json!({"key": "full/probe", "value": "p"}))
                    .0
                    == 200
            });
            assert!(
                writable,
                "{}",
                node.describe("no write succeeded within 30 s after space returned")
            );
        }
    }
    assert_acknowledged(&node, &acked, "after space returned");

    // Besides the acknowledged keys, only the failed write (which may or may not have been
    // applied) and the probe may exist.
    let listed = node.http.scan("full/", Some(10_000));
    let expected: BTreeSet<&str> = acked.iter().map(|w| w.0.as_str()).collect();
    for key in listed["keys"].as_array().unwrap() {
        let key = key["key"].as_str().unwrap_or_default();
        assert!(
            expected.contains(key) || key == failed_key || key == "full/probe",
            "{}",
            node.describe(&format!("{key} was never written or acknowledged, yet it is listed"))
        );
    }
    let newest = acked.iter().map(|w| w.2).max().unwrap_or(0);
    let version = node.http.set("full/after", "x");
    assert!(
        version > newest,
        "version {version} after space returned must exceed {newest}"
    );
}

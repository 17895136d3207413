//! Issue 17, item 10: client commands fail over across `--endpoints` (or `DCACHE_ENDPOINTS`)
//! when a member is down, and `watch` reconnects by itself and resumes without gaps or
//! repeats, saying so on stderr; a watch nobody takes back names its last version.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{dcache, run_dcache, wait_until, Cluster, Node, BIN};

#[test]
fn client_commands_fail_over_to_a_live_member() {
    let mut c = Cluster::start(3, &[]);
    let leader = c.leader();
    let down = c.followers_of(leader)[0];
    c.kill9(down);
    // The dead member first: every command must move on to the next.
    let mut urls: Vec<String> = vec![c.node(down).url()];
    urls.extend((0..3).filter(|&i| i != down).map(|i| c.node(i).url()));
    let endpoints = urls.join(",");

    let (out, what) = run_dcache(dcache(None), &["--endpoints", &endpoints, "set", "fo", "v1"]);
    assert!(out.status.success(), "{what}");
    let (out, what) = run_dcache(dcache(None), &["--endpoints", &endpoints, "get", "fo"]);
    assert!(out.status.success(), "{what}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "v1", "{what}");
    let mut cmd = dcache(None);
    cmd.env("DCACHE_ENDPOINTS", &endpoints);
    let (out, what) = run_dcache(cmd, &["cluster", "leader"]);
    assert!(out.status.success(), "{what}");

    // With no member up, the error names each endpoint and exits 4.
    let (out, what) = run_dcache(
        dcache(None),
        &["--endpoints", &c.node(down).url(), "--timeout", "2s", "get", "fo"],
    );
    assert_eq!(out.status.code(), Some(4), "{what}");
}

/// Starts `dcache watch w/` over `endpoints` in the background; stdout and stderr to files.
fn spawn_watch(dir: &std::path::Path, endpoints: &str) -> std::process::Child {
    Command::new(BIN)
        .env_remove("DCACHE_SERVER")
        .env_remove("DCACHE_ENDPOINTS")
        .args(["--endpoints", endpoints, "--timeout", "3s", "watch", "w/"])
        .stdout(std::fs::File::create(dir.join("out")).unwrap())
        .stderr(std::fs::File::create(dir.join("err")).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

fn read(dir: &std::path::Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_default()
}

/// The keys of the watch's text output, in order.
fn keys(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.split(' ').nth(2).map(str::to_string))
        .collect()
}

#[test]
fn watch_resumes_on_another_member_without_gaps_or_repeats() {
    let mut c = Cluster::start(3, &[]);
    let leader = c.leader();
    let first = c.followers_of(leader)[0];
    let mut urls: Vec<String> = vec![c.node(first).url()];
    urls.extend((0..3).filter(|&i| i != first).map(|i| c.node(i).url()));
    let dir = tempfile::tempdir().unwrap();
    let mut watch = spawn_watch(dir.path(), &urls.join(","));

    let want: Vec<String> = (0..30).map(|i| format!("w/{i:02}")).collect();
    // Write until the watch is seen to stream (it starts at the node's applied index).
    let started = wait_until(Duration::from_secs(10), || {
        c.node(leader).http.set("w/00", "x");
        keys(&read(dir.path(), "out")).contains(&want[0])
    });
    assert!(started, "the watch printed nothing: {}", read(dir.path(), "err"));
    for k in &want[1..15] {
        c.node(leader).http.set(k, "x");
    }
    let streamed = wait_until(Duration::from_secs(10), || {
        keys(&read(dir.path(), "out")).contains(&want[14])
    });
    assert!(streamed, "{}", read(dir.path(), "out"));

    c.kill9(first);
    for k in &want[15..] {
        c.node(leader).http.set(k, "x");
    }
    let resumed = wait_until(Duration::from_secs(20), || {
        keys(&read(dir.path(), "out")).contains(&want[29])
    });
    let (out, err) = (read(dir.path(), "out"), read(dir.path(), "err"));
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(resumed, "the watch did not resume:\nstdout:\n{out}\nstderr:\n{err}");
    assert!(err.contains("reconnecting") && err.contains("resumed on"), "{err}");
    // The probe writes of w/00 come first (any number of them), then each key once, in order.
    let got: Vec<String> = keys(&out).into_iter().skip_while(|k| k == &want[0]).collect();
    assert_eq!(got, &want[1..], "gap or repeat in:\n{out}\nstderr:\n{err}");
}

#[test]
fn a_watch_nobody_takes_back_names_its_last_version() {
    let mut node = Node::start();
    let dir = tempfile::tempdir().unwrap();
    let mut watch = spawn_watch(dir.path(), &node.url());
    let version = std::cell::Cell::new(0);
    let printed = wait_until(Duration::from_secs(10), || {
        version.set(node.http.set("w/k", "v"));
        read(dir.path(), "out").contains("w/k")
    });
    assert!(printed, "{}", read(dir.path(), "err"));
    node.kill();
    let ended = wait_until(Duration::from_secs(20), || matches!(watch.try_wait(), Ok(Some(_))));
    let err = read(dir.path(), "err");
    assert!(ended, "the watch kept waiting: {err}");
    assert_eq!(watch.wait().unwrap().code(), Some(4), "{err}");
    let last: u64 = read(dir.path(), "out")
        .lines()
        .last()
        .and_then(|l| l.split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(
        err.contains(&format!("last version printed is {last}")) && err.contains("--from-version"),
        "{err}"
    );
}

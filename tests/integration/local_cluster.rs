//! `dcache local-cluster` as a real process: every node healthy and said so, all nodes stopped
//! on SIGTERM and SIGHUP, none outliving a SIGKILLed launcher, a node's exit reported once.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{wait_until, BIN};

/// A base port with the ports a 3-node local cluster needs free: six consecutive client and
/// peer ports, and three RESP ports 1000 above. Picked below the kernel's ephemeral range
/// (32768 and up), where the other tests' port-0 listeners never land.
fn free_base() -> u16 {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        ^ std::process::id();
    for i in 0..200u32 {
        let base = 20_000 + ((seed.wrapping_add(i.wrapping_mul(7919))) % 9_000) as u16;
        let free = |q: u16| TcpListener::bind(("127.0.0.1", q)).is_ok();
        if (base..base + 6).all(free) && (base + 1000..base + 1003).all(free) {
            return base;
        }
    }
    panic!("no free base port for a local cluster");
}

struct Launcher {
    child: Child,
    dir: tempfile::TempDir,
    base: u16,
    /// Kept open: closing it would tell the launcher there is no more input.
    stdin: Option<std::process::ChildStdin>,
}

impl Launcher {
    /// Starts a 3-node local cluster and waits until it says every node is healthy.
    fn start() -> Launcher {
        Launcher::start_in(tempfile::tempdir().unwrap(), free_base(), 3)
    }

    /// Starts a 3-node local cluster on `dir` and `base`, and waits until it says `healthy`
    /// nodes are healthy.
    fn start_in(dir: tempfile::TempDir, base: u16, healthy: usize) -> Launcher {
        let base_arg = base.to_string();
        let child = Command::new(BIN)
            .args(["local-cluster", "--nodes", "3", "--base-port", &base_arg, "--data-dir"])
            .arg(dir.path().join("data"))
            .stdin(Stdio::piped())
            .stdout(std::fs::File::create(dir.path().join("out")).unwrap())
            .stderr(std::fs::File::create(dir.path().join("err")).unwrap())
            .spawn()
            .unwrap();
        let mut child = child;
        let stdin = child.stdin.take();
        let l = Launcher {
            child,
            dir,
            base,
            stdin,
        };
        let said = wait_until(Duration::from_secs(30), || {
            l.out().matches(": healthy").count() == healthy
        });
        assert!(said, "not every node said healthy:\n{}\n{}", l.out(), l.err());
        assert_eq!(l.nodes().len(), healthy, "{healthy} nodes run under the launcher");
        l
    }

    /// Client URL of node `k` (from 1).
    fn url(&self, k: u16) -> String {
        format!("http://127.0.0.1:{}", self.base + 2 * (k - 1))
    }

    fn out(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("out")).unwrap_or_default()
    }

    fn err(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("err")).unwrap_or_default()
    }

    /// PIDs of the processes whose parent is the launcher.
    fn nodes(&self) -> Vec<i32> {
        children_of(self.child.id() as i32)
    }

    fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{signal}");
    }
}

impl Drop for Launcher {
    fn drop(&mut self) {
        let nodes = self.nodes();
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in nodes {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
    }
}

fn children_of(parent: i32) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the command name (which may hold spaces) start after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse::<i32>().ok());
        if ppid == Some(parent) {
            pids.push(pid);
        }
    }
    pids
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
    })
}

#[test]
fn sigterm_and_sighup_stop_every_node() {
    for signal in ["TERM", "HUP"] {
        let mut l = Launcher::start();
        let nodes = l.nodes();
        l.signal(signal);
        let exited = wait_until(Duration::from_secs(20), || matches!(l.child.try_wait(), Ok(Some(_))));
        assert!(exited, "SIG{signal}: the launcher kept running");
        let gone = wait_until(Duration::from_secs(20), || nodes.iter().all(|&p| !alive(p)));
        assert!(gone, "SIG{signal}: nodes outlived the launcher: {nodes:?}");
    }
}

#[test]
fn nodes_do_not_outlive_a_killed_launcher() {
    let mut l = Launcher::start();
    let nodes = l.nodes();
    l.signal("KILL");
    let _ = l.child.wait();
    let gone = wait_until(Duration::from_secs(20), || nodes.iter().all(|&p| !alive(p)));
    assert!(gone, "nodes outlived a SIGKILLed launcher: {nodes:?}");
}

#[test]
fn a_node_that_exits_is_reported_once_with_its_log() {
    let l = Launcher::start();
    let node = l.nodes()[1];
    let ok = Command::new("kill")
        .args(["-KILL", &node.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let reported = wait_until(Duration::from_secs(10), || l.err().contains("exited"));
    assert!(reported, "the exit was not reported:\n{}", l.err());
    // The launcher checks every 500 ms; over several checks the report stays single.
    let repeated = wait_until(Duration::from_secs(3), || l.err().matches(" exited (").count() > 1);
    assert!(!repeated, "the exit was reported more than once:\n{}", l.err());
    assert!(l.err().contains("last lines of"), "{}", l.err());

    // `restart NAME` on its input starts the node again, on the same data dir.
    let err = l.err();
    let name = err
        .split_whitespace()
        .find(|w| w.starts_with("node"))
        .unwrap_or_else(|| panic!("no node named in:\n{err}"))
        .to_string();
    let mut l = l;
    let stdin = l.stdin.as_mut().unwrap();
    writeln!(stdin, "restart {name}").unwrap();
    stdin.flush().unwrap();
    let back = wait_until(Duration::from_secs(20), || {
        l.out().contains(&format!("{name}: restarted")) && l.nodes().len() == 3
    });
    assert!(back, "{name} was not restarted:\n{}\n{}", l.out(), l.err());
}

/// Issue 17, bug 7: a removed node leaves a mark in its data dir; `dcache serve` on that data
/// dir refuses to start and says how to add it back, and a new `local-cluster` run on the same
/// data does not start it (the old code started it as a stuck member answering "no leader").
#[test]
fn a_removed_node_is_not_started_again() {
    let mut l = Launcher::start();
    let (out, what) =
        crate::support::run_dcache(crate::support::dcache(Some(&l.url(2))), &["cluster", "remove", "node1"]);
    assert!(out.status.success(), "{what}");
    let said = wait_until(Duration::from_secs(20), || {
        l.err().contains("node1 exited") && l.err().contains("it will not be started again")
    });
    assert!(said, "the removed node's exit was not explained:\n{}", l.err());
    l.signal("TERM");
    assert!(wait_until(Duration::from_secs(20), || matches!(
        l.child.try_wait(),
        Ok(Some(_))
    )));

    // The node's own data dir refuses to serve, naming the fix.
    let node1_dir = l.dir.path().join("data").join("node1");
    let ports = crate::support::free_ports::<2>();
    let (out, what) = crate::support::run_dcache(
        crate::support::dcache(None),
        &[
            "serve",
            "--name",
            "node1",
            "--cluster-id",
            "dcache-local",
            "--data-dir",
            node1_dir.to_str().unwrap(),
            "--listen-client-urls",
            &format!("http://127.0.0.1:{}", ports[0]),
            "--listen-peer-urls",
            &format!("http://127.0.0.1:{}", ports[1]),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{what}");
    assert!(
        stderr.contains("removed") && stderr.contains("--join") && stderr.contains("node1"),
        "{what}"
    );

    // A new local-cluster run on the same data starts node2 and node3 only.
    let (dir, base) = (std::mem::replace(&mut l.dir, tempfile::tempdir().unwrap()), l.base);
    drop(l);
    let again = Launcher::start_in(dir, base, 2);
    assert!(again.out().contains("node1: not started"), "{}", again.out());
    let (out, what) = crate::support::run_dcache(crate::support::dcache(Some(&again.url(2))), &["set", "k", "v"]);
    assert!(out.status.success(), "the two remaining nodes serve: {what}");
}

//! A one-node `dcache serve` on a data dir the test chooses (support's `Node` always picks
//! its own, and the disk tests need it on a small or broken file system). Spawns, waits for
//! health or exit with deadlines, and keeps each run's log apart from the data dir, so a
//! full disk never eats the log. Knows dcache only through its CLI and HTTP API.

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::support::{free_ports, wait_until, Http, BIN};

/// How long a node may take from spawn to a healthy `GET /health`.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The `serve` flags for a one-node cluster named `n1` on `data_dir` and the two ports.
pub(crate) fn serve_args(data_dir: &Path, [client, peer]: [u16; 2]) -> Vec<OsString> {
    let client = format!("http://127.0.0.1:{client}");
    let peer = format!("http://127.0.0.1:{peer}");
    let mut args: Vec<OsString> = vec!["serve".into(), "--name".into(), "n1".into(), "--data-dir".into()];
    args.push(data_dir.into());
    for flag in [
        "--listen-client-urls",
        &client,
        "--advertise-client-urls",
        &client,
        "--listen-peer-urls",
        &peer,
        "--initial-advertise-peer-urls",
        &peer,
        "--initial-cluster",
        &format!("n1={peer}"),
        "--listen-resp-urls",
        "",
    ] {
        args.push(flag.into());
    }
    args
}

/// Why a run did not become healthy.
#[derive(Debug)]
pub(crate) enum NotHealthy {
    /// The process exited first, with this status.
    Exited(ExitStatus),
    /// Still running, but not healthy within the deadline.
    TimedOut,
}

/// One node's process (SIGKILLed when dropped), its data dir and its ports.
pub(crate) struct DiskNode {
    logs: TempDir,
    data_dir: PathBuf,
    ports: [u16; 2],
    child: Option<Child>,
    runs: u32,
    /// A client for this node's client URL.
    pub(crate) http: Http,
}

impl DiskNode {
    /// A healthy node on `data_dir`; retries on fresh ports when a port was taken meanwhile.
    /// Panics with the node's log when it does not become healthy.
    pub(crate) fn start(data_dir: &Path) -> DiskNode {
        let mut node = DiskNode {
            logs: tempfile::tempdir().unwrap(),
            data_dir: data_dir.to_path_buf(),
            ports: [0, 0],
            child: None,
            runs: 0,
            http: Http::new("http://unset"),
        };
        for _ in 0..3 {
            node.ports = free_ports();
            node.http = Http::new(&node.url());
            match node.run() {
                Err(NotHealthy::Exited(_)) if node.stderr().contains("cannot listen") => continue,
                Err(e) => panic!("{}", node.describe(&format!("not healthy: {e:?}"))),
                Ok(()) => return node,
            }
        }
        panic!("{}", node.describe("ports taken three times"))
    }

    /// Spawns the node again on the same data dir and ports (SIGKILLing a running one
    /// first) and waits until it is healthy or has exited.
    pub(crate) fn run(&mut self) -> Result<(), NotHealthy> {
        self.kill();
        self.runs += 1;
        let child = Command::new(BIN)
            .args(serve_args(&self.data_dir, self.ports))
            .stdin(Stdio::null())
            .stdout(File::create(self.log_path("stdout")).unwrap())
            .stderr(File::create(self.log_path("stderr")).unwrap())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let mut exited = None;
        let healthy = wait_until(START_TIMEOUT, || {
            exited = self.try_exit();
            exited.is_some() || self.http.health() == Some(200)
        });
        match (exited, healthy) {
            (Some(status), _) => Err(NotHealthy::Exited(status)),
            (None, true) => Ok(()),
            (None, false) => Err(NotHealthy::TimedOut),
        }
    }

    /// The client URL.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports[0])
    }

    /// The data dir, as given to `--data-dir`.
    pub(crate) fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Everything the current run wrote to stderr (where the node logs).
    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(self.log_path("stderr")).unwrap_or_default()
    }

    /// `what`, followed by the current run's log: for assertion messages.
    pub(crate) fn describe(&self, what: &str) -> String {
        format!(
            "{what}\n--- dcache serve run {} on {} (data dir {}), stderr ---\n{}",
            self.runs,
            self.url(),
            self.data_dir.display(),
            self.stderr()
        )
    }

    /// Sends `signal` (e.g. `TERM`) to the running process.
    pub(crate) fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("node is not running").id();
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {pid} failed: {status}");
    }

    /// Waits up to `timeout` for the running process to exit; its status, or `None` if it
    /// still runs.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        assert!(
            self.child.is_some(),
            "{}",
            self.describe("wait_exit: the node is not running")
        );
        let mut status = None;
        wait_until(timeout, || {
            status = self.try_exit();
            status.is_some()
        });
        status
    }

    /// SIGKILLs and reaps the process; no-op when it is not running.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The exit status (forgetting the child) if the process has exited.
    fn try_exit(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.try_wait().unwrap()?;
        self.child = None;
        Some(status)
    }

    fn log_path(&self, stream: &str) -> PathBuf {
        self.logs.path().join(format!("{stream}-{}.log", self.runs))
    }
}

impl Drop for DiskNode {
    fn drop(&mut self) {
        self.kill();
    }
}

//! `dcache local-cluster`: start N nodes on loopback in the foreground for trying dcache out.
//! SIGINT (Ctrl-C), SIGTERM and SIGHUP stop every node it started (by PID, with SIGTERM, then
//! SIGKILL after a grace); the nodes also get SIGTERM from the kernel if this process dies
//! without a chance to stop them (SIGKILL), so they never outlive it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

/// Options of `local-cluster`, already parsed.
pub struct LocalCluster {
    pub nodes: u16,
    pub base_port: u16,
    pub data_dir: PathBuf,
}

/// Node `i`'s RESP port is the base port plus this plus `i - 1` (9080, 9081, ... by default).
const RESP_OFFSET: u16 = 1000;

/// Starts the nodes, prints how to reach them, and waits for Ctrl-C.
pub async fn run(opts: &LocalCluster) -> anyhow::Result<()> {
    anyhow::ensure!((1..=9).contains(&opts.nodes), "--nodes must be between 1 and 9");
    let exe = std::env::current_exe().context("cannot find the dcache executable")?;
    let port = |i: u16, peer: u16| opts.base_port + 2 * (i - 1) + peer;
    let initial_cluster: Vec<String> = (1..=opts.nodes)
        .map(|i| format!("node{i}=http://127.0.0.1:{}", port(i, 1)))
        .collect();
    let initial_cluster = initial_cluster.join(",");
    std::fs::create_dir_all(&opts.data_dir).with_context(|| format!("cannot create {}", opts.data_dir.display()))?;

    let spawner = Spawner {
        exe,
        data_dir: opts.data_dir.clone(),
        base_port: opts.base_port,
        initial_cluster,
    };
    let mut children: Vec<(u16, String, Child)> = Vec::new();
    let mut removed = Vec::new();
    println!(
        "{:<6}  {:<24}  {:<24}  {:<24}  LOG",
        "NAME", "CLIENT URL", "PEER URL", "RESP URL"
    );
    for i in 1..=opts.nodes {
        let name = format!("node{i}");
        if let Some(note) = spawner.removed(i) {
            removed.push(format!(
                "{name}: not started: {note}; it stays out (delete {} to start it afresh)",
                spawner.node_dir(i).display()
            ));
            continue;
        }
        let child = spawner.spawn(i, false)?;
        println!(
            "{name:<6}  {:<24}  {:<24}  {:<24}  {}",
            spawner.url(i, 0),
            spawner.url(i, 1),
            spawner.resp_url(i),
            spawner.log_path(i).display()
        );
        children.push((i, name, child));
    }
    for line in &removed {
        println!("{line}");
    }
    anyhow::ensure!(
        !children.is_empty(),
        "every node in {} was removed from the cluster; delete it to start afresh",
        opts.data_dir.display()
    );
    let first = spawner.url(children[0].0, 0);
    println!();
    println!("try:  dcache --server {first} set greeting hello");
    println!("      dcache --server {first} cluster status");
    println!("      dcache dash --server {first}");
    println!(
        "      redis-cli -p {} set greeting hello",
        opts.base_port + RESP_OFFSET + children[0].0 - 1
    );
    println!("Ctrl-C stops every node; type `restart NAME` and Enter to restart a node that exited.");
    report_health(&children, &spawner).await;

    wait_for_signal_or_exit(&mut children, &spawner).await;
    println!("stopping {} nodes...", children.len());
    for (_, name, child) in &children {
        if let Some(pid) = child.id() {
            if let Err(e) = kill(Pid::from_raw(pid as i32), Signal::SIGTERM) {
                eprintln!("{name}: cannot signal pid {pid}: {e}");
            }
        }
    }
    for (_, name, child) in &mut children {
        match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
            Ok(Ok(status)) => println!("{name}: exited ({status})"),
            Ok(Err(e)) => eprintln!("{name}: {e}"),
            Err(_) => {
                eprintln!("{name}: still running after 10 s; killing it");
                let _ = child.kill().await;
            }
        }
    }
    Ok(())
}

/// How to start node `i` of the local cluster.
struct Spawner {
    exe: PathBuf,
    data_dir: PathBuf,
    base_port: u16,
    initial_cluster: String,
}

impl Spawner {
    /// `http://127.0.0.1:PORT` of node `i`'s client (`peer` 0) or peer (`peer` 1) listener.
    fn url(&self, i: u16, peer: u16) -> String {
        format!("http://127.0.0.1:{}", self.base_port + 2 * (i - 1) + peer)
    }

    /// `redis://127.0.0.1:PORT` of node `i`'s RESP listener: the base port plus
    /// [`RESP_OFFSET`] plus `i - 1`.
    fn resp_url(&self, i: u16) -> String {
        format!("redis://127.0.0.1:{}", self.base_port + RESP_OFFSET + (i - 1))
    }

    fn log_path(&self, i: u16) -> PathBuf {
        self.data_dir.join(format!("node{i}.log"))
    }

    fn node_dir(&self, i: u16) -> PathBuf {
        self.data_dir.join(format!("node{i}"))
    }

    /// Why node `i` must not be started: the note it left when it was removed from the
    /// cluster (`dcache serve` would refuse to start on its data dir).
    fn removed(&self, i: u16) -> Option<String> {
        crate::node::removed_note(&self.node_dir(i))
    }

    /// Starts node `i`, its stderr to its log (appended to on a restart). The node gets the
    /// parent-death signal, so it never outlives this process.
    fn spawn(&self, i: u16, append: bool) -> anyhow::Result<Child> {
        let name = format!("node{i}");
        let (client, peer, log_path) = (self.url(i, 0), self.url(i, 1), self.log_path(i));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let mut command = Command::new(&self.exe);
        // SAFETY: the closure runs in the forked child before exec and only makes one
        // async-signal-safe system call (prctl).
        unsafe {
            command.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(std::io::Error::from)?;
                Ok(())
            });
        }
        command
            .arg("serve")
            .args(["--name", &name, "--cluster-id", "dcache-local"])
            .arg("--data-dir")
            .arg(self.node_dir(i))
            .args(["--listen-client-urls", &client, "--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer, "--initial-advertise-peer-urls", &peer])
            .args(["--listen-resp-urls", &self.resp_url(i)])
            .args(["--initial-cluster", &self.initial_cluster])
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {name}"))
    }
}

/// Polls every node's `/health` until it answers 200 (up to 20 s) and says which did.
async fn report_health(children: &[(u16, String, Child)], spawner: &Spawner) {
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    for (i, name, _) in children {
        let url = format!("{}/health", spawner.url(*i, 0));
        loop {
            let healthy = http
                .get(&url)
                .timeout(Duration::from_secs(1))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if healthy {
                println!("{name}: healthy");
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                let log = spawner.log_path(*i);
                println!("{name}: not healthy after 20 s; see {}", log.display());
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Returns on SIGINT, SIGTERM or SIGHUP. A node that exits on its own is reported once, with
/// the last lines of its log; `restart NAME` on standard input starts an exited node again.
async fn wait_for_signal_or_exit(children: &mut [(u16, String, Child)], spawner: &Spawner) {
    use tokio::io::AsyncBufReadExt;
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut hup)) = (signal(SignalKind::terminate()), signal(SignalKind::hangup())) else {
        eprintln!("cannot listen for SIGTERM/SIGHUP; only Ctrl-C stops the nodes");
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let mut stdin = Some(tokio::io::BufReader::new(tokio::io::stdin()).lines());
    let mut reported = vec![false; children.len()];
    loop {
        let line = async {
            match stdin.as_mut() {
                Some(lines) => lines.next_line().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut ctrl_c => return,
            _ = term.recv() => return,
            _ = hup.recv() => return,
            line = line => match line {
                Ok(Some(line)) => restart(children, &mut reported, spawner, line.trim()),
                // No (more) input, e.g. run in the background: stop reading it.
                Ok(None) | Err(_) => stdin = None,
            },
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                for ((i, name, child), done) in children.iter_mut().zip(reported.iter_mut()) {
                    if let (false, Ok(Some(status))) = (*done, child.try_wait()) {
                        *done = true;
                        if let Some(note) = spawner.removed(*i) {
                            eprintln!("{name} exited ({status}): {note}; it will not be started again");
                            continue;
                        }
                        let log = spawner.data_dir.join(format!("{name}.log"));
                        eprintln!("{name} exited ({status}); last lines of {}:", log.display());
                        for line in last_lines(&log, 5) {
                            eprintln!("  {line}");
                        }
                        eprintln!("  (type `restart {name}` and Enter to start it again)");
                    }
                }
            }
        }
    }
}

/// Handles one line of standard input: `restart NAME` starts that node again if it exited.
fn restart(children: &mut [(u16, String, Child)], reported: &mut [bool], spawner: &Spawner, line: &str) {
    let Some(name) = line.strip_prefix("restart ").map(str::trim) else {
        if !line.is_empty() {
            eprintln!("unknown input `{line}`; type `restart NAME` to restart a node that exited");
        }
        return;
    };
    let Some(at) = children.iter().position(|(_, n, _)| n == name) else {
        eprintln!("no node is named `{name}` (a removed node is not started)");
        return;
    };
    if matches!(children[at].2.try_wait(), Ok(None)) {
        eprintln!("{name} is still running");
        return;
    }
    let i = children[at].0;
    if let Some(note) = spawner.removed(i) {
        eprintln!("{name}: not restarted: {note}");
        return;
    }
    match spawner.spawn(i, true) {
        Ok(child) => {
            children[at].2 = child;
            reported[at] = false;
            println!("{name}: restarted");
        }
        Err(e) => eprintln!("{name}: {e:#}"),
    }
}

/// The last `n` lines of the file at `path` (none if it cannot be read).
fn last_lines(path: &std::path::Path, n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

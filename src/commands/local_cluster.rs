//! `dcache local-cluster`: start N nodes on loopback in the foreground for trying dcache out;
//! Ctrl-C stops every node it started (by PID, with SIGTERM, then SIGKILL after a grace).

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

    let mut children: Vec<(String, Child)> = Vec::new();
    println!("{:<6}  {:<24}  {:<24}  LOG", "NAME", "CLIENT URL", "PEER URL");
    for i in 1..=opts.nodes {
        let name = format!("node{i}");
        let client = format!("http://127.0.0.1:{}", port(i, 0));
        let peer = format!("http://127.0.0.1:{}", port(i, 1));
        let log_path = opts.data_dir.join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path).with_context(|| format!("cannot create {}", log_path.display()))?;
        let child = Command::new(&exe)
            .arg("serve")
            .args(["--name", &name, "--cluster-id", "dcache-local"])
            .arg("--data-dir")
            .arg(opts.data_dir.join(&name))
            .args(["--listen-client-urls", &client, "--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer, "--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &initial_cluster])
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        println!("{name:<6}  {client:<24}  {peer:<24}  {}", log_path.display());
        children.push((name, child));
    }
    let first = format!("http://127.0.0.1:{}", opts.base_port);
    println!();
    println!("try:  dcache --server {first} set greeting hello");
    println!("      dcache --server {first} cluster status");
    println!("      dcache dash --server {first}");
    println!("Ctrl-C stops every node.");

    wait_for_ctrl_c_or_exit(&mut children).await;
    println!("stopping {} nodes...", children.len());
    for (name, child) in &children {
        if let Some(pid) = child.id() {
            if let Err(e) = kill(Pid::from_raw(pid as i32), Signal::SIGTERM) {
                eprintln!("{name}: cannot signal pid {pid}: {e}");
            }
        }
    }
    for (name, child) in &mut children {
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

/// Returns on Ctrl-C; reports (but keeps waiting through) nodes that exit on their own.
async fn wait_for_ctrl_c_or_exit(children: &mut [(String, Child)]) {
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        tokio::select! {
            _ = &mut ctrl_c => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                for (name, child) in children.iter_mut() {
                    if let Ok(Some(status)) = child.try_wait() {
                        eprintln!("{name} exited ({status}); see its log");
                    }
                }
            }
        }
    }
}

//! A member whose disk fills up under the fault workload: member 3's data dir moves onto a
//! small tmpfs, then the disk is filled (a few KiB left) for a while during the faults,
//! with snapshots due every 500 entries. The member may fail writes or stop (a storage
//! failure stops a node with a clear error, exit 1); the other two keep a quorum. Once space
//! returns, the member is restarted if it stopped and must catch up; everything a fault run
//! checks must hold: nothing acknowledged lost, every history linearizable.

use std::time::Duration;

use super::harness::{settle, FaultCluster, NODE_FLAGS};
use super::run::Run;
use super::{inject, Fault};
use crate::disk::tmpfs::Tmpfs;
use crate::disk::MIB;

/// The member whose disk fills.
const VICTIM: usize = 2;

#[test]
fn a_member_whose_disk_fills_up_under_faults_loses_nothing_and_catches_up() {
    let fc = FaultCluster::start_with(NODE_FLAGS, &[]);
    let mut run = Run::start(fc, Duration::ZERO);
    let mut injected = Vec::new();

    // Move the victim's data dir onto a small disk (the path becomes a link to it).
    run.fc.cluster.kill9(VICTIM);
    let disk = Tmpfs::mount(256 * MIB);
    disk.take_over(run.fc.cluster.node(VICTIM).data_dir());
    run.fc.cluster.restart(VICTIM);
    injected.push(format!(
        "[{} ms] member 3's data dir moved onto a 256 MiB tmpfs",
        run.elapsed_ms()
    ));

    let hold = Duration::from_secs(2);
    for fault in [Fault::KillLeader, Fault::TransferLeadership] {
        let from = run.elapsed_ms();
        let what = inject(&mut run.fc, fault, hold);
        injected.push(format!("[{from}-{} ms] {what}", run.elapsed_ms()));
    }
    let from = run.elapsed_ms();
    let filler = disk.fill("filler", 4 * 1024);
    // The full disk is the fault being held, under the workload (not a wait for a state).
    std::thread::sleep(Duration::from_secs(8));
    let exited = run.fc.cluster.node_mut(VICTIM).wait_exit(Duration::from_millis(100));
    let enospc = run
        .fc
        .cluster
        .node(VICTIM)
        .log()
        .matches("No space left on device")
        .count();
    std::fs::remove_file(&filler).unwrap();
    // Started again whether it stopped or not (a restart kills a running one first).
    run.fc.cluster.restart(VICTIM);
    settle(&run.fc.cluster);
    injected.push(format!(
        "[{from}-{} ms] member 3's disk full (4 KiB left) for 8 s: {enospc} log lines name ENOSPC; it {}; space returned",
        run.elapsed_ms(),
        match exited {
            Some(status) => format!("stopped ({status}) and was restarted"),
            None => "kept running and was restarted".to_string(),
        }
    ));
    for fault in [Fault::IsolateLeader, Fault::KillLeader] {
        let from = run.elapsed_ms();
        let what = inject(&mut run.fc, fault, hold);
        injected.push(format!("[{from}-{} ms] {what}", run.elapsed_ms()));
    }
    run.finish("full-disk run (member 3 on a 256 MiB tmpfs, filled for 8 s)", &injected);
}

//! A follower whose disk is slow: every fsync of its Raft log waits 1.5 s (the debug-build
//! hook `DCACHE_TEST_FSYNC_DELAY_FILE`), while every fault of the suite runs once against
//! the cluster. The other two members keep a quorum with a fast disk, so the cluster keeps
//! a leader and takes writes; when a fault takes one of them away the slow member's fsyncs
//! are on the commit path and writes slow down, but nothing acknowledged is lost and every
//! history stays linearizable. Then the disk recovers and the slow member catches up.
//! A member this slow cannot take part in an election (its vote is durable only after an
//! fsync longer than the election timeout): with the leader dead and only it and one other
//! member up, there is no leader until a member with a fast disk returns.

use std::time::Duration;

use super::harness::{FaultCluster, NODE_FLAGS};
use super::run::Run;
use super::{inject, Fault, ALL_FAULTS};

/// The member with the slow disk.
const SLOW: usize = 1;

#[test]
fn a_follower_with_a_slow_disk_under_every_fault_loses_nothing_and_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let delay = dir.path().join("fsync-delay-ms");
    std::fs::write(&delay, "0").unwrap();
    let env = vec![("DCACHE_TEST_FSYNC_DELAY_FILE".to_string(), delay.display().to_string())];
    let fc = FaultCluster::start_with(NODE_FLAGS, &[(SLOW, env)]);
    let mut run = Run::start(fc, Duration::ZERO);
    std::fs::write(&delay, "1500").unwrap();
    let hold = Duration::from_secs(2);
    let mut injected = vec![format!(
        "[{} ms] member {}'s fsyncs slowed to 1.5 s",
        run.elapsed_ms(),
        SLOW + 1
    )];
    // Not the flood fault: it waits for the two members left after the leader's death to
    // elect one, and a member whose fsync takes longer than the election timeout cannot
    // answer a vote in time (the vote must be durable first), so those two never agree
    // until a member with a fast disk returns. Every other fault brings the killed or cut
    // member back within its hold.
    for fault in ALL_FAULTS
        .into_iter()
        .filter(|f| !matches!(f, Fault::FloodAndKillLeader))
    {
        let from = run.elapsed_ms();
        let what = inject(&mut run.fc, fault, hold);
        injected.push(format!("[{from}-{} ms] {what}", run.elapsed_ms()));
    }
    std::fs::write(&delay, "0").unwrap();
    injected.push(format!("[{} ms] the slow disk recovered", run.elapsed_ms()));
    run.finish(&format!("slow-disk run (member {} fsyncs 1.5 s)", SLOW + 1), &injected);
}

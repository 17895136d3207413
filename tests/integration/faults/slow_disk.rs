//! A follower whose disk is slow: every fsync of its Raft log waits 1.5 s (the debug-build
//! hook `DCACHE_TEST_FSYNC_DELAY_FILE`), while every fault of the suite runs once against
//! the cluster. The other two members keep a quorum with a fast disk, so the cluster keeps
//! a leader and takes writes; when a fault takes one of them away the slow member's fsyncs
//! are on the commit path and writes slow down, but nothing acknowledged is lost and every
//! history stays linearizable. Then the disk recovers and the slow member catches up.
//! A member this slow cannot take part in an election (its vote is durable only after an
//! fsync longer than the election timeout): with the leader dead and only it and one other
//! member up, there is no leader until a member with a fast disk returns. When the slow
//! member leads (elected before its disk slowed, or handed leadership by a fault), it
//! hands leadership to a follower that keeps up.
//!
//! A leader whose disk turns slow, alone: it hands leadership to a follower, writes go on
//! meanwhile and none acknowledged is lost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::harness::{try_set, FaultCluster, NODE_FLAGS};
use super::run::Run;
use super::{inject, Fault, ALL_FAULTS};
use crate::support::{wait_until, Cluster, Http};

/// The member with the slow disk.
const SLOW: usize = 1;

#[test]
fn a_follower_with_a_slow_disk_under_every_fault_loses_nothing_and_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let delay = dir.path().join("fsync-delay-ms");
    std::fs::write(&delay, "0").unwrap();
    let env = vec![(FSYNC_DELAY_ENV.to_string(), delay.display().to_string())];
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

/// The debug-build hook that delays every fsync of a member's Raft log by the milliseconds
/// its file holds.
const FSYNC_DELAY_ENV: &str = "DCACHE_TEST_FSYNC_DELAY_FILE";

#[test]
fn a_leader_whose_disk_turns_slow_hands_leadership_to_a_follower_that_keeps_up() {
    let dir = tempfile::tempdir().unwrap();
    let delays: Vec<std::path::PathBuf> = (0..3).map(|i| dir.path().join(format!("fsync-delay-{i}"))).collect();
    for d in &delays {
        std::fs::write(d, "0").unwrap();
    }
    let c = Cluster::start_prepared(3, &[], &mut |nodes| {
        (0..nodes.len())
            .map(|i| vec![(FSYNC_DELAY_ENV.to_string(), delays[i].display().to_string())])
            .collect()
    });
    let slow = c.leader();
    let slowed_at = Instant::now();
    std::fs::write(&delays[slow], "1500").unwrap();

    // Writes go on throughout, to the slow member (which forwards them once it follows).
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (url, stop) = (c.node(slow).url(), stop.clone());
        std::thread::spawn(move || {
            let http = Http::with_timeout(&url, Duration::from_secs(10));
            let mut acked = Vec::new();
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let (key, value) = (format!("slow/{n}"), format!("v{n}"));
                if try_set(&http, &key, &value).is_ok_and(|(status, _)| status == 200) {
                    acked.push((key, value));
                }
            }
            acked
        })
    };
    let role = |i: usize| c.status(i)["role"].as_str().unwrap_or_default().to_string();
    let handed = wait_until(Duration::from_secs(30), || role(slow) != "leader");
    let took = slowed_at.elapsed();
    assert!(
        handed,
        "the leader with a slow disk still leads after 30 s:\n{}",
        c.logs()
    );
    assert!(
        c.node(slow)
            .stderr()
            .contains("handing leadership to a member that keeps up"),
        "the slow leader must have handed leadership off, not lost it to an election:\n{}",
        c.node(slow).log()
    );
    let leader = c.leader();
    assert_ne!(leader, slow, "the slow member leads again");
    // Writes go on at the new leader's pace, and leadership stays put (no ping-pong).
    c.node(leader).http.set("slow/after", "1");
    let moved = wait_until(Duration::from_secs(3), || role(leader) != "leader");
    assert!(
        !moved,
        "leadership moved again from the member that took over:\n{}",
        c.logs()
    );
    stop.store(true, Ordering::Relaxed);
    let acked = writer.join().unwrap();
    std::fs::write(&delays[slow], "0").unwrap();
    assert!(
        acked.len() >= 10,
        "too few writes acknowledged to mean anything: {}",
        acked.len()
    );
    let listed = c.node(leader).http.scan("slow/", Some(10_000));
    assert_eq!(
        listed["truncated"],
        serde_json::json!(false),
        "the scan must list every key"
    );
    let stored: std::collections::HashMap<&str, &str> = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| (kv["key"].as_str().unwrap(), kv["value"].as_str().unwrap()))
        .collect();
    let lost: Vec<_> = acked
        .iter()
        .filter(|(key, value)| stored.get(key.as_str()) != Some(&value.as_str()))
        .collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    println!(
        "the slow leader handed off {} ms after its disk slowed; {} writes acknowledged meanwhile, none lost",
        took.as_millis(),
        acked.len()
    );
}

//! Jepsen-style fault injection: concurrent clients on a 3-node cluster while the leader is
//! killed, paused, partitioned, links slowed or made lossy, leadership moved, a member added
//! and removed, and the whole cluster crashed; then a linearizability check of the recorded
//! history and a count of lost acknowledged writes. Two of the six clients speak the Redis
//! protocol (their writes and reads are checked by value: RESP reports no versions). A mixed
//! side workload (`faults/mixed.rs`) adds TTL keys, batches and scans with their own checks,
//! and member 3 runs with its wall clock skewed (`DCACHE_FAULT_SKEW`, default `+1s`).
//! Watchers (SSE) and Redis keyspace subscribers on every member are checked against the
//! history (`faults/run.rs`). `faults/clocks.rs` runs the workload under drifting and
//! stepped clocks, `faults/slow_disk.rs` with one member's fsyncs slowed to 1.5 s.
//!
//! `cargo test faults` runs every fault once (the CI version). For longer runs set
//! `DCACHE_FAULT_ROUNDS=N` (rounds of all faults in a shuffled order, default 1),
//! `DCACHE_FAULT_HOLD_MS` (how long each fault lasts, default 2000) and optionally
//! `DCACHE_FAULT_SEED` (printed by every run, to replay its fault order).

mod checker;
mod clocks;
mod full_disk;
mod harness;
mod mixed;
mod proxy;
mod run;
mod slow_disk;
mod subscriber;
mod watcher;

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use reqwest::Method;

use checker::{check, Op};
use harness::{keys, scan_keys, settle, settle_among, FaultCluster, Recorder, Workload};
use proxy::Mode;

use crate::support::{enc, Flood};

/// One kind of fault, injected for the hold time and then healed.
#[derive(Debug, Clone, Copy)]
enum Fault {
    KillLeader,
    FloodAndKillLeader,
    PauseLeader,
    IsolateLeader,
    CutLeaderFromFollower,
    SlowLinks,
    LossyLinks,
    TransferLeadership,
    AddAndRemoveMember,
    CrashAll,
}

const ALL_FAULTS: [Fault; 10] = [
    Fault::KillLeader,
    Fault::FloodAndKillLeader,
    Fault::PauseLeader,
    Fault::IsolateLeader,
    Fault::CutLeaderFromFollower,
    Fault::SlowLinks,
    Fault::LossyLinks,
    Fault::TransferLeadership,
    Fault::AddAndRemoveMember,
    Fault::CrashAll,
];

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The wall-clock skew of member [`harness::SKEWED`] (libfaketime's form, `+1s` or `-2s`):
/// `name` from the environment, `default` when unset, none when set to `none` or empty.
fn env_skew(name: &str, default: &str) -> Option<String> {
    let skew = std::env::var(name).unwrap_or_else(|_| default.to_string());
    (!skew.is_empty() && skew != "none").then_some(skew)
}

/// Injects `fault` into the running cluster, keeps it for `hold` (the fault's duration, a
/// deliberate pause), then heals it. Returns a one-line description.
fn inject(fc: &mut FaultCluster, fault: Fault, hold: Duration) -> String {
    let leader = settle(&fc.cluster);
    let names: Vec<String> = (0..fc.cluster.len())
        .map(|i| fc.cluster.node(i).name().to_string())
        .collect();
    let name = |i: usize| names[i].clone();
    match fault {
        Fault::KillLeader => {
            let who = name(leader);
            fc.cluster.kill9(leader);
            std::thread::sleep(hold);
            fc.cluster.restart(leader);
            format!("kill -9 leader {who}, restart after {hold:?}")
        }
        Fault::FloodAndKillLeader => {
            // Silent connections past the connection cap of every listener of every member
            // (client, peer and RESP ports), reopened as the nodes close them; then the
            // leader dies. The others must still elect a leader through the flood.
            let addrs: Vec<std::net::SocketAddr> = fc
                .cluster
                .live()
                .into_iter()
                .flat_map(|i| {
                    let n = fc.cluster.node(i);
                    [n.url(), n.peer_url(), n.resp_url()]
                })
                .map(|u| u.split("://").nth(1).unwrap().parse().unwrap())
                .collect();
            let flood = Flood::start(addrs, harness::FLOOD_PER_PORT, Duration::from_millis(200));
            let storm = watch_storm(&fc.cluster, WATCH_STORM_PER_MEMBER);
            fc.cluster.kill9(leader);
            let others = fc.cluster.followers_of(leader);
            let started = std::time::Instant::now();
            let next = fc.cluster.leader_among(&others);
            let elected = started.elapsed();
            std::thread::sleep(hold);
            drop(flood);
            let streams = storm.len();
            drop(storm);
            fc.cluster.restart(leader);
            format!(
                "{} silent connections on each port of every member and {streams} unread watch requests ({WATCH_STORM_PER_MEMBER} per member, past its 256 watcher slots), kill -9 leader {}: {} elected through the flood after {elected:?}; flood ended after {hold:?}, {} restarted",
                harness::FLOOD_PER_PORT,
                name(leader),
                name(next),
                name(leader)
            )
        }
        Fault::PauseLeader => {
            // Past the longest election timeout (800 ms), so the others elect a new leader.
            let pause = hold.max(Duration::from_millis(1600));
            let who = name(leader);
            fc.cluster.stop_signal(leader, "STOP");
            std::thread::sleep(pause);
            fc.cluster.stop_signal(leader, "CONT");
            format!("SIGSTOP leader {who} for {pause:?}")
        }
        Fault::IsolateLeader => {
            fc.isolate(leader);
            std::thread::sleep(hold);
            fc.heal();
            format!("partition leader {} from the majority for {hold:?}", name(leader))
        }
        Fault::CutLeaderFromFollower => {
            let follower = fc.cluster.followers_of(leader)[0];
            fc.set_link(leader, follower, Mode::Blackhole);
            std::thread::sleep(hold);
            fc.heal();
            format!("cut the link {} - {} for {hold:?}", name(leader), name(follower))
        }
        Fault::SlowLinks => {
            fc.set_all(Mode::Delay(Duration::from_millis(40)));
            std::thread::sleep(hold);
            fc.heal();
            format!("40 ms delay on every peer link for {hold:?}")
        }
        Fault::LossyLinks => {
            fc.set_all(Mode::Lossy { cut_probability: 0.05 });
            std::thread::sleep(hold);
            fc.heal();
            format!("5% of chunks cut their connection on every peer link for {hold:?}")
        }
        Fault::TransferLeadership => {
            let target = fc.cluster.followers_of(leader)[0];
            let (status, body) = fc.cluster.node(leader).http.send(
                Method::POST,
                &format!("/api/v1/cluster/transfer-leadership?target={}", enc(&name(target))),
                None,
                None,
            );
            assert!(
                status == 200 || status == 409,
                "transfer-leadership answered {status}: {body}"
            );
            format!("transfer leadership {} -> {} ({status})", name(leader), name(target))
        }
        Fault::AddAndRemoveMember => {
            let joined = fc.cluster.join(leader);
            let who = fc.cluster.node(joined).name().to_string();
            // A leader elected during the join may not list the new member for a moment
            // (seen once in a soak on a loaded machine): retry until it does, within a
            // deadline; a member that never shows up again fails the run.
            let mut last = (0, serde_json::Value::Null);
            let mut maybe_removed = false;
            let mut attempted = false;
            let removed = crate::support::wait_until(Duration::from_secs(20), || {
                // After an attempt the joined member may be stopping (its removal took but
                // the answer was lost): ask only the others which one leads.
                let among: Vec<usize> = fc
                    .cluster
                    .live()
                    .into_iter()
                    .filter(|&i| !attempted || i != joined)
                    .collect();
                attempted = true;
                let leader = settle_among(&fc.cluster, &among);
                last = fc.cluster.node(leader).http.send(
                    Method::POST,
                    &format!("/api/v1/cluster/remove?target={}", enc(&who)),
                    None,
                    None,
                );
                // After an attempt with an unknown outcome, "not found" means it took.
                let done = last.0 == 200 || (last.0 == 404 && maybe_removed);
                maybe_removed |= last.0 >= 500;
                done
            });
            assert!(removed, "remove {who}: {} {}\n{}", last.0, last.1, fc.cluster.logs());
            fc.cluster.kill9(joined);
            format!("join {who} as a fourth voter, then remove it")
        }
        Fault::CrashAll => {
            fc.cluster.restart_many(&[0, 1, 2]);
            "kill -9 every node, restart all".to_string()
        }
    }
}

#[test]
fn a_cluster_under_faults_stays_linearizable_and_loses_no_acknowledged_write() {
    let rounds = env_u64("DCACHE_FAULT_ROUNDS", 1) as usize;
    let hold = Duration::from_millis(env_u64("DCACHE_FAULT_HOLD_MS", 2000));
    let seed = env_u64(
        "DCACHE_FAULT_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    );
    let mut rng = SmallRng::seed_from_u64(seed);
    let skew = env_skew("DCACHE_FAULT_SKEW", "+1s");

    let fc = FaultCluster::start_skewed(skew.as_deref());
    let allowance = skew.as_deref().map(mixed::skew_size).unwrap_or_default();
    let mut run = run::Run::start(fc, allowance);
    let mut injected = Vec::new();
    for round in 0..rounds {
        let mut faults = ALL_FAULTS.to_vec();
        if round > 0 {
            faults.shuffle(&mut rng);
        }
        for (n, fault) in faults.into_iter().enumerate() {
            if round == 0 && n == ALL_FAULTS.len() / 2 {
                run.start_late_watchers();
                injected.push(format!("[{} ms] watchers opened from version 0", run.elapsed_ms()));
            }
            let from = run.elapsed_ms();
            let what = inject(&mut run.fc, fault, hold);
            injected.push(format!("[{from}-{} ms] {what}", run.elapsed_ms()));
        }
    }
    let title = format!(
        "fault run (seed {seed}, {rounds} round(s), hold {hold:?}, member {} skewed {skew:?})",
        harness::SKEWED
    );
    run.finish(&title, &injected);
}

/// Watch streams the flood fault opens on each member: past the default `max-watchers`.
const WATCH_STORM_PER_MEMBER: usize = 300;

/// Opens `per_member` watch streams on every live member's client port and leaves them
/// unread (a client that subscribes and never consumes); the streams a member refuses
/// (503 past its watcher cap) or that fail to connect are simply not kept. Closing the
/// returned sockets ends them.
fn watch_storm(c: &crate::support::Cluster, per_member: usize) -> Vec<std::net::TcpStream> {
    use std::io::Write;
    let mut open = Vec::new();
    for i in c.live() {
        let url = c.node(i).url();
        let addr: std::net::SocketAddr = url.split("://").nth(1).unwrap().parse().unwrap();
        for n in 0..per_member {
            let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
                continue;
            };
            let req = format!("GET /api/v1/watch?prefix=storm/{n} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
            if s.write_all(req.as_bytes()).is_ok() {
                open.push(s);
            }
        }
    }
    open
}

/// The counter `name` from the node's `/metrics` (0 if it cannot be read).
fn counter(url: &str, name: &str) -> u64 {
    let text = reqwest::blocking::get(format!("{url}/metrics"))
        .and_then(|r| r.text())
        .unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn local_reads_on_a_partitioned_leader_are_caught_as_not_linearizable() {
    let fc = FaultCluster::start();
    let rec = Recorder::new();
    let c = &fc.cluster;
    let leader = settle(c);
    let key = "reg/stale";
    write_then_cut_off(&fc, &rec, leader, key);
    // The old leader, cut off, still answers local reads from its stale copy.
    rec.run(&c.node(leader).http, 2, key, Op::Get, "local");
    fc.heal();
    assert_stale_read_caught(&rec, "a stale local read during a partition");
}

/// Writes `key` = "before" through `leader` (client 0) and waits until every member has it,
/// cuts `leader` off, and writes "after" through the leader the others elect (client 1):
/// the set-up for a stale read on the cut-off leader.
fn write_then_cut_off(fc: &FaultCluster, rec: &Recorder, leader: usize, key: &str) {
    let c = &fc.cluster;
    let set = |value: &str| Op::Set {
        value: value.to_string(),
    };
    rec.run(&c.node(leader).http, 0, key, set("before"), "");
    for i in 0..3 {
        let applied = crate::support::wait_until(Duration::from_secs(10), || {
            c.node(i).http.get_key(key, Some("local")).0 == 200
        });
        assert!(applied, "node {i} did not apply the first write");
    }
    fc.isolate(leader);
    let new_leader = c.leader_among(&c.followers_of(leader));
    rec.run(&c.node(new_leader).http, 1, key, set("after"), "");
}

/// Asserts that the three operations of `rec` (two writes, then a read on the cut-off leader)
/// all have a definite outcome and that the checker reports the stale read (`what`).
fn assert_stale_read_caught(rec: &Recorder, what: &str) {
    let history = rec.history();
    assert_eq!(
        history.len(),
        3,
        "every operation must have a definite outcome: {history:?}"
    );
    let report = check(&history, Duration::from_secs(10));
    println!("verdict: {}\n{}", report.summary(), report.details());
    assert!(
        !report.is_ok() && report.summary().contains("violation"),
        "{what} must be reported: {}",
        report.summary()
    );
}

/// A resource figure's name, how to read it from a [`Usage`], and the growth always allowed.
type Metric = (&'static str, fn(&Usage) -> u64, u64);

/// One member's resource use: resident memory, open descriptors, threads, disk.
#[derive(Debug, Clone, Copy)]
struct Usage {
    rss_kb: u64,
    fds: u64,
    threads: u64,
    disk: u64,
}

fn usage(node: &crate::support::Node) -> Option<Usage> {
    let pid = node.pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    let disk = node.http.status_within(Duration::from_secs(2))?["disk_bytes"].as_u64()?;
    Some(Usage {
        rss_kb: field("VmRSS:")?,
        fds,
        threads: field("Threads:")?,
        disk,
    })
}

/// Issue 20's soak: `DCACHE_SOAK_MINUTES` (default 30) of the fault workload (and the
/// watchers) with a random fault every few seconds, resource use of every member printed
/// every minute; at the end no linearizability or watch violation, no lost write, and no
/// member whose RSS, descriptors, threads or disk keep growing (the last quarter's peak over
/// 10% above the previous quarter's, beyond a little slack).
/// Long, so not part of `cargo test`:
/// `DCACHE_SOAK_MINUTES=30 cargo test --test integration soak -- --ignored --nocapture`.
#[test]
#[ignore = "a 30-minute soak; run it with --ignored (see its doc comment)"]
fn soak_under_faults_stays_correct_and_flat() {
    let minutes = env_u64("DCACHE_SOAK_MINUTES", 30);
    let hold = Duration::from_millis(env_u64("DCACHE_FAULT_HOLD_MS", 2000));
    let seed = env_u64("DCACHE_FAULT_SEED", 1);
    let skew = env_skew("DCACHE_SOAK_SKEW", "+1s");
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut fc = FaultCluster::start_skewed(skew.as_deref());
    let rec = Recorder::new();
    let urls: Vec<String> = (0..3).map(|i| fc.cluster.node(i).url()).collect();
    let nodes: Vec<(String, String)> = (0..3)
        .map(|i| (fc.cluster.node(i).url(), fc.cluster.node(i).resp_url()))
        .collect();
    let keys = keys(6);
    let watchers = watcher::Watchers::start(&urls, "reg/");
    let load = Workload::start(&rec, &nodes, 6, &keys);
    let side = mixed::Mixed::start(&rec, &urls, &[0, 1, 2, 0], skew.as_deref());
    let started = std::time::Instant::now();
    let mut injected = Vec::new();
    let end = Duration::from_secs(minutes * 60);
    let mut samples: Vec<Vec<Usage>> = Vec::new();
    let mut next_sample = Duration::ZERO;
    while started.elapsed() < end {
        let fault = *ALL_FAULTS.choose(&mut rng).unwrap();
        let from = side.elapsed_ms();
        let what = inject(&mut fc, fault, hold);
        injected.push(format!("[{from}-{} ms] {what}", side.elapsed_ms()));
        if started.elapsed() >= next_sample {
            settle(&fc.cluster);
            let now: Vec<Usage> = (0..3).filter_map(|i| usage(fc.cluster.node(i))).collect();
            println!("minute {:>3}: {what}; {now:?}", started.elapsed().as_secs() / 60);
            if now.len() == 3 {
                samples.push(now);
            }
            next_sample += Duration::from_secs(60);
        }
    }
    fc.heal();
    let leader = settle(&fc.cluster);
    load.stop();
    let side = side.finish();
    let lost = rec.lost_unique(&scan_keys(&fc.cluster, leader, "once/"));
    let history = rec.history();
    let report = check(&history, Duration::from_secs(120));
    let logs = watchers.stop();
    let watch_problems = watcher::check(&logs, &history);
    println!(
        "soak (seed {seed}, {minutes} min, member {} skewed {skew:?}): once-only writes acknowledged {}, lost {}",
        harness::SKEWED,
        rec.acked_unique(),
        lost.len()
    );
    println!(
        "verdict: {}; watch problems: {}",
        report.summary(),
        watch_problems.len()
    );
    println!("mixed: {}", side.summary());
    if !side.problems.is_empty() {
        println!("faults injected ({}):\n  {}", injected.len(), injected.join("\n  "));
    }
    assert!(report.is_ok(), "{}", report.details());
    assert!(watch_problems.is_empty(), "{}", watch_problems.join("\n"));
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    side.assert_ok();
    // Flat after warm-up: the peak of the last quarter against the peak of the quarter
    // before it, allowing 10% and a little slack (sled's log segments come and go by MiBs).
    let quarter = samples.len() / 4;
    if quarter > 0 {
        let peak =
            |range: &[Vec<Usage>], i: usize, f: fn(&Usage) -> u64| range.iter().map(|s| f(&s[i])).max().unwrap_or(0);
        let (third, last) = (
            &samples[samples.len() - 2 * quarter..samples.len() - quarter],
            &samples[samples.len() - quarter..],
        );
        let metrics: [Metric; 4] = [
            ("RSS KB", |u| u.rss_kb, 8 * 1024),
            ("descriptors", |u| u.fds, 8),
            ("threads", |u| u.threads, 2),
            ("disk bytes", |u| u.disk, 16 << 20),
        ];
        for i in 0..3 {
            for (what, f, slack) in metrics {
                let (before, after) = (peak(third, i, f), peak(last, i, f));
                assert!(
                    after <= before + before / 10 + slack,
                    "member {i}: {what} peaked at {before} and then at {after}: it grows"
                );
            }
        }
    }
}

//! Clocks that disagree by more than an offset: a member whose wall clock runs fast, one
//! whose wall clock is stepped back (twice, and across a full restart), while the fault
//! workload, TTL keys and watchers run and leadership moves between them; and a leader whose
//! monotonic clock runs slow, beyond the bound lease reads assume, caught serving a stale
//! lease read. libfaketime (`faketime` package) moves the clocks.

use std::time::Duration;

use reqwest::Method;

use super::checker::Op;
use super::harness::{settle, FaultCluster, Recorder, NODE_FLAGS};
use super::run::Run;
use crate::skew::LIBFAKETIME;
use crate::support::enc;

/// How fast member 0's wall clock runs: 5% fast (NTP keeps real clocks within parts per
/// million; this is far worse, to make the drift visible in a short run).
const FAST_RATE: &str = "x1.05";

/// The environment that preloads libfaketime with `vars`, after checking it is installed.
fn faketime(vars: &[(&str, String)]) -> Vec<(String, String)> {
    assert!(
        std::path::Path::new(LIBFAKETIME).exists(),
        "{LIBFAKETIME} is missing: install the `faketime` package (apt-get install faketime; .ci/run does)"
    );
    std::iter::once(("LD_PRELOAD".to_string(), LIBFAKETIME.to_string()))
        .chain(vars.iter().map(|(k, v)| (k.to_string(), v.clone())))
        .collect()
}

/// Moves leadership from `leader` to `to`; the answer may be 409 when an election moved
/// it first, which is fine here.
fn transfer(fc: &FaultCluster, leader: usize, to: usize) -> String {
    if leader == to {
        return format!("{} keeps leading", fc.cluster.node(to).name());
    }
    let target = fc.cluster.node(to).name().to_string();
    let (status, body) = fc.cluster.node(leader).http.send(
        Method::POST,
        &format!("/api/v1/cluster/transfer-leadership?target={}", enc(&target)),
        None,
        None,
    );
    assert!(
        status == 200 || status == 409,
        "transfer-leadership answered {status}: {body}"
    );
    format!(
        "transfer leadership {} -> {target} ({status})",
        fc.cluster.node(leader).name()
    )
}

#[test]
fn ttl_keys_reads_and_watches_stay_correct_while_clocks_drift_and_step_back() {
    let dir = tempfile::tempdir().unwrap();
    let stepped = dir.path().join("member-2-clock");
    let step = |offset: &str| std::fs::write(&stepped, format!("{offset}\n")).unwrap();
    step("+0");
    let fast = faketime(&[
        ("FAKETIME", format!("+0 {FAST_RATE}")),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1".into()),
    ]);
    let stepper = faketime(&[
        ("FAKETIME_TIMESTAMP_FILE", stepped.display().to_string()),
        ("FAKETIME_CACHE_DURATION", "1".into()),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1".into()),
    ]);
    let fc = FaultCluster::start_with(NODE_FLAGS, &[(0, fast), (1, stepper)]);
    // The fast member gains 5% of its uptime (under a minute here, restarts reset it): the
    // cluster clock may run up to that far ahead of true time once it has led.
    let mut run = Run::start(fc, Duration::from_secs(3));
    let hold = Duration::from_millis(1500);
    let mut injected = Vec::new();
    for round in 0..9 {
        let from = run.elapsed_ms();
        let what = match round {
            2 => {
                step("-2s");
                "member 2's wall clock stepped back 2 s".to_string()
            }
            5 => {
                step("-5s");
                "member 2's wall clock stepped back 3 s more".to_string()
            }
            7 => {
                run.fc.cluster.restart_many(&[0, 1, 2]);
                "kill -9 every node, restart all (member 2 still 5 s behind)".to_string()
            }
            _ => {
                let leader = settle(&run.fc.cluster);
                transfer(&run.fc, leader, round % 3)
            }
        };
        // The fault's hold: the workload runs under it (not a wait for a state).
        std::thread::sleep(hold);
        injected.push(format!("[{from}-{} ms] {what}", run.elapsed_ms()));
    }
    run.finish(
        &format!("clock run (member 1 wall clock {FAST_RATE}, member 2 stepped back 2 s then 5 s)"),
        &injected,
    );
}

#[test]
fn lease_reads_on_a_cut_off_leader_whose_clock_runs_slow_are_caught_as_stale() {
    const SLOW: usize = 0;
    // Member 1's monotonic clock (the one Raft's timers and the lease use) runs at a quarter
    // of the true rate: its lease of twice the election timeout (3 s by its clock) lasts
    // 12 s of true time, far past the moment the others elect a new leader.
    let slow = faketime(&[("FAKETIME", "+0 x0.25".to_string())]);
    let flags: Vec<&str> = NODE_FLAGS
        .iter()
        .copied()
        .chain(["--election-timeout-ms", "1500"])
        .collect();
    let fc = FaultCluster::start_with(&flags, &[(SLOW, slow)]);
    let c = &fc.cluster;
    let leader = settle(c);
    transfer(&fc, leader, SLOW);
    let leader = settle(c);
    assert_eq!(leader, SLOW, "leadership did not move to the slow member");

    let rec = Recorder::new();
    let key = "reg/lease";
    super::write_then_cut_off(&fc, &rec, SLOW, key);
    // The cut-off leader's lease has not run out by its slow clock: it answers from its
    // stale copy.
    let (status, body) = c.node(SLOW).http.get_key(key, Some("lease"));
    rec.run(&c.node(SLOW).http, 2, key, Op::Get, "lease");
    fc.heal();
    assert_eq!(
        status, 200,
        "the cut-off leader refused the lease read ({body}): its lease ran out before the others elected, so the test shows nothing"
    );
    super::assert_stale_read_caught(&rec, "a stale lease read beyond the drift bound");
}

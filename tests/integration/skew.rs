//! Clock skew: one node's wall clock runs 5 s ahead (libfaketime, monotonic clock left
//! alone). Expiry is judged by the leader's clock everywhere: a follower whose clock is
//! ahead does not hide live keys, and followers of a leader whose clock is ahead report the
//! time left truthfully. Needs the `faketime` package (`.ci/run` installs it).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{wait_until, Cluster, Http};

/// libfaketime as Debian's `faketime` package installs it.
pub(crate) const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// How far the skewed node's wall clock runs ahead.
const SKEW: &str = "+5s";

/// Slack for the time a request takes and a follower's apply delay, in ms.
const SLACK_MS: u64 = 250;

/// The environment that runs a process with its wall clock moved by `skew` (libfaketime's
/// relative form, e.g. `+2s` or `-2s`), its monotonic clock left alone. Panics when
/// libfaketime is not installed.
pub(crate) fn faketime_env(skew: &str) -> Vec<(String, String)> {
    assert!(
        std::path::Path::new(LIBFAKETIME).exists(),
        "{LIBFAKETIME} is missing: install the `faketime` package (apt-get install faketime; .ci/run does)"
    );
    vec![
        ("LD_PRELOAD".to_string(), LIBFAKETIME.to_string()),
        ("FAKETIME".to_string(), skew.to_string()),
        // Only the wall clock: tokio's timers and Raft's timeouts run on the monotonic one.
        ("FAKETIME_DONT_FAKE_MONOTONIC".to_string(), "1".to_string()),
    ]
}

/// The environment that runs a process with its wall clock `SKEW` ahead; checks first that
/// libfaketime is installed and works (a `date` under it is ahead).
fn skewed_env() -> Vec<(String, String)> {
    let env = faketime_env(SKEW);
    let (faked, real) = date_under(&env);
    assert!(
        faked >= real + 4,
        "libfaketime does not skew the clock here (date said {faked}, real {real})"
    );
    env
}

/// The Unix time in seconds that `date` tells under `env`, and the real one.
fn date_under(env: &[(String, String)]) -> (u64, u64) {
    let out = std::process::Command::new("date")
        .arg("+%s")
        .envs(env.iter().cloned())
        .output()
        .expect("run date");
    let told: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0);
    let real = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    (told, real)
}

/// A 3-node cluster whose node `skewed` runs with its wall clock `SKEW` ahead.
fn cluster_with_skewed(skewed: usize) -> Cluster {
    let env = skewed_env();
    Cluster::start_prepared(3, &[], &mut |nodes| {
        (0..nodes.len())
            .map(|i| if i == skewed { env.clone() } else { Vec::new() })
            .collect()
    })
}

/// A 3-node cluster whose node `fast` runs with its wall clock `SKEW` ahead and has never
/// led with it: once a member with a fast clock has led, the cluster clock runs ahead from
/// then on (it never goes back), which is right but not what a test of a fast *follower*
/// is after. Every member starts with a true clock; leadership moves off `fast` if it
/// leads; then `fast` restarts skewed and applies a fresh write. Returns the cluster and its
/// leader.
fn cluster_with_fast_follower(fast: usize) -> (Cluster, usize) {
    let mut c = Cluster::start(3, &[]);
    if c.leader() == fast {
        lead_with(&c, (fast + 1) % 3);
    }
    let env = skewed_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    c.node_mut(fast).set_env(&env);
    c.restart(fast);
    let l = c.leader();
    assert_ne!(l, fast, "the fast member took leadership on its restart");
    // A member that has just restarted knows the cluster clock only from the stamps it
    // replayed, which are as old as the last write before its restart: one fresh write
    // brings it the leader's time, as a member that never restarted has it.
    let version = c.node(l).http.set("clock/fresh", "1");
    let fresh = wait_until(Duration::from_secs(5), || {
        c.status(fast)["applied"].as_u64().is_some_and(|a| a >= version)
    });
    assert!(fresh, "the fast member never applied a write at {version}");
    (c, l)
}

/// Moves leadership to node `to` (if it does not lead already) and returns the leader.
fn lead_with(c: &Cluster, to: usize) -> usize {
    let l = c.leader();
    if l == to {
        return l;
    }
    let path = format!("/api/v1/cluster/transfer-leadership?target={}", c.node(to).name());
    let (status, body) = c.node(l).http.send(reqwest::Method::POST, &path, None, None);
    assert_eq!(status, 200, "transfer to {}: {body}", c.node(to).name());
    let now = c.leader();
    assert_eq!(now, to, "leadership did not move to {}", c.node(to).name());
    now
}

/// Sets `key` with a TTL through `http`, asserting success.
fn set_ttl(http: &Http, key: &str, ttl_ms: u64) {
    let (status, body) = http.post_json("/api/v1/set", &json!({"key": key, "value": "v", "ttl_ms": ttl_ms}));
    assert_eq!(status, 200, "set {key} with ttl {ttl_ms}: {body}");
}

/// The `ttl_ms` of a found key, or `None` on 404.
fn ttl_of(what: &str, got: &(u16, Value)) -> Option<u64> {
    match got.0 {
        200 => Some(
            got.1["data"]["ttl_ms"]
                .as_u64()
                .unwrap_or_else(|| panic!("{what}: no ttl_ms in {}", got.1)),
        ),
        404 => {
            assert_eq!(got.1["error"]["code"], "KEY_NOT_FOUND", "{what}: {}", got.1);
            None
        }
        s => panic!("{what}: unexpected {s} {}", got.1),
    }
}

#[test]
fn a_follower_whose_clock_runs_ahead_still_sees_live_keys() {
    const FAST: usize = 2;
    let (c, l) = cluster_with_fast_follower(FAST);
    let fast = &c.node(FAST).http;

    let before = Instant::now();
    set_ttl(&c.node(l).http, "tk", 3000);
    let set_at = Instant::now();
    for consistency in ["linearizable", "lease", "local"] {
        let what = format!("{consistency} GET tk on the fast follower right after the set");
        let ttl = ttl_of(&what, &fast.get_key("tk", Some(consistency)))
            .unwrap_or_else(|| panic!("{what}: KEY_NOT_FOUND for a key with 3 s left"));
        let waited = before.elapsed().as_millis() as u64;
        assert!(
            ttl <= 3000 && ttl + waited + SLACK_MS >= 3000,
            "{what}: ttl_ms {ttl} after {waited} ms"
        );
    }

    // It still expires on time there: not before 3 s after the set, and soon after.
    let mut gone_after = None;
    let expired = wait_until(Duration::from_secs(8), || {
        let r0 = Instant::now();
        let gone = ttl_of("poll tk", &fast.get_key("tk", Some("linearizable"))).is_none();
        if gone {
            gone_after = Some(r0.duration_since(before));
        }
        gone
    });
    assert!(expired, "tk never expired on the fast follower");
    let gone_after = gone_after.unwrap();
    assert!(
        gone_after + Duration::from_millis(SLACK_MS) >= Duration::from_secs(3),
        "tk expired on the fast follower {gone_after:?} after the set began, before its 3 s TTL"
    );
    assert!(
        set_at.elapsed() < Duration::from_secs(6),
        "tk took {:?} to expire on the fast follower",
        set_at.elapsed()
    );
}

#[test]
fn followers_of_a_leader_whose_clock_runs_ahead_count_the_ttl_down() {
    const FAST: usize = 0;
    let c = cluster_with_skewed(FAST);
    let l = lead_with(&c, FAST);
    let followers = c.followers_of(l);

    let before = Instant::now();
    set_ttl(&c.node(l).http, "tk", 8000);
    let acked = Instant::now();
    // Every node, every consistency: the time left is 8 s minus the time since the set, and
    // it counts down (it would stay at 8000 for 5 s if followers judged by their own clocks).
    let nodes: Vec<usize> = std::iter::once(l).chain(followers.iter().copied()).collect();
    let mut last = Vec::new();
    let counted_down = wait_until(Duration::from_secs(6), || {
        last.clear();
        for &n in &nodes {
            for consistency in ["linearizable", "local"] {
                let what = format!("{consistency} GET tk on {}", c.node(n).name());
                let r0 = Instant::now();
                let got = c.node(n).http.get_key("tk", Some(consistency));
                let r1 = Instant::now();
                let ttl = ttl_of(&what, &got).unwrap_or_else(|| panic!("{what}: gone before its TTL"));
                let most = 8000u64.saturating_sub(r0.duration_since(acked).as_millis() as u64) + SLACK_MS;
                let least = 8000u64.saturating_sub(r1.duration_since(before).as_millis() as u64 + SLACK_MS);
                assert!(
                    (least..=most).contains(&ttl),
                    "{what}: ttl_ms {ttl} is not the time left ({least}..={most} ms)"
                );
                last.push(ttl);
            }
        }
        last.iter().all(|&t| t < 5500)
    });
    assert!(counted_down, "ttl_ms did not count down below 5500 in 6 s: {last:?}");
}

#[test]
fn an_absolute_expiry_given_to_a_fast_follower_is_taken_against_the_leaders_clock() {
    const FAST: usize = 2;
    let (c, l) = cluster_with_fast_follower(FAST);
    let version_3 = wait_until(Duration::from_secs(10), || {
        (0..3).all(|i| {
            c.node(i).http.status()["cluster_format"]
                .as_u64()
                .is_some_and(|f| f >= 3)
        })
    });
    assert!(version_3, "the cluster version never reached 3 (PEXPIREAT needs it)");
    let port = c.node(FAST).resp_port();
    let cli = |args: &[&str]| {
        let out = std::process::Command::new("redis-cli")
            .args(["-p", &port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli is installed (apt-get install redis-tools)");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    // 20 s from now by the true clock: the fast follower's own clock would make it 15 s.
    let at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 20_000;
    assert_eq!(cli(&["set", "abs", "v", "PXAT", &at_ms.to_string()]), "OK");
    assert_eq!(cli(&["set", "abs2", "v"]), "OK");
    assert_eq!(cli(&["pexpireat", "abs2", &at_ms.to_string()]), "1");
    for key in ["abs", "abs2"] {
        let ttl =
            ttl_of(key, &c.node(l).http.get_key(key, Some("linearizable"))).unwrap_or_else(|| panic!("{key} is gone"));
        assert!(
            ttl > 18_000 && ttl <= 20_000,
            "{key}: {ttl} ms left on the leader; the follower converted the time with its own clock \
             (leader {l}, now {}):\n{}",
            c.leader(),
            c.logs()
        );
    }
}

/// Once a member whose clock runs ahead has led, the cluster clock runs ahead of the other
/// members' wall clocks. A full restart must carry it over the downtime (each member's
/// saved clock mark), not restart it from the last stamp in the log: a slower member that
/// leads after the restart would otherwise hand keys the downtime as extra life.
#[test]
fn after_a_full_restart_a_slower_leader_carries_the_cluster_clock_over_the_downtime() {
    const FAST: usize = 0;
    const TTL_MS: u64 = 30_000;
    // Long enough that a clock which lost the downtime stands out from request slack.
    const DOWNTIME: Duration = Duration::from_secs(3);
    let mut c = cluster_with_skewed(FAST);
    let l = lead_with(&c, FAST);
    set_ttl(&c.node(l).http, "tk", TTL_MS);
    let acked = Instant::now();
    // Every member has applied the set (so its clock has seen the fast leader's stamp) and
    // saved a clock mark since (once a second).
    let applied = wait_until(Duration::from_secs(5), || {
        (0..3).all(|n| c.node(n).http.get_key("tk", Some("local")).0 == 200)
    });
    assert!(applied, "tk did not reach every member");
    let marked = Instant::now();
    wait_until(Duration::from_secs(5), || {
        marked.elapsed() > Duration::from_millis(1500)
    });

    for n in 0..3 {
        c.kill9(n);
    }
    // The downtime itself is the fault being tested, not a wait for some state.
    std::thread::sleep(DOWNTIME);
    c.restart_many(&[0, 1, 2]);
    let l = lead_with(&c, 1);
    assert_ne!(l, FAST);

    for n in [l, 2, FAST] {
        let what = format!("linearizable GET tk on {} after the full restart", c.node(n).name());
        let r0 = Instant::now();
        let got = c.node(n).http.get_key("tk", Some("linearizable"));
        let ttl = ttl_of(&what, &got).unwrap_or_else(|| panic!("{what}: gone {TTL_MS} ms TTL early"));
        let most = TTL_MS.saturating_sub(r0.duration_since(acked).as_millis() as u64) + SLACK_MS;
        assert!(
            ttl <= most,
            "{what}: ttl_ms {ttl}, more than the {most} ms left: the cluster clock fell back by the downtime"
        );
    }
}

/// A member that has just restarted knows the cluster clock only from the stamps it
/// replayed, which are as old as the last write before its restart; in an idle cluster no
/// new stamp comes. A linearizable read of a key's time left, and an absolute expiry sent
/// to it, must still go by the leader's time, not by a clock that lost the downtime.
#[test]
fn a_just_restarted_follower_goes_by_the_leaders_clock_not_by_its_replayed_stamps() {
    const TTL_MS: u64 = 60_000;
    // Long enough that a clock which lost it stands out from request slack.
    const DOWNTIME: Duration = Duration::from_secs(3);
    let mut c = Cluster::start(3, &[]);
    let l = c.leader();
    let f = (l + 1) % 3;
    set_ttl(&c.node(l).http, "tk", TTL_MS);
    let acked = Instant::now();
    let applied = wait_until(Duration::from_secs(5), || {
        c.node(f).http.get_key("tk", Some("local")).0 == 200
    });
    assert!(applied, "tk did not reach {}", c.node(f).name());
    c.kill9(f);
    // The downtime itself is the fault being tested, not a wait for some state.
    std::thread::sleep(DOWNTIME);
    c.restart(f);
    assert_eq!(c.leader(), l, "leadership moved on the follower's restart");

    let what = format!("linearizable GET tk on {} just after its restart", c.node(f).name());
    let r0 = Instant::now();
    let got = c.node(f).http.get_key("tk", Some("linearizable"));
    let ttl = ttl_of(&what, &got).unwrap_or_else(|| panic!("{what}: gone {TTL_MS} ms TTL early"));
    let most = TTL_MS.saturating_sub(r0.duration_since(acked).as_millis() as u64) + SLACK_MS;
    assert!(
        ttl <= most,
        "{what}: ttl_ms {ttl}, more than the {most} ms left: the member judged by its replayed stamps"
    );

    // 20 s from now: a member whose clock lost the downtime would give the key 23 s.
    let at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 20_000;
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &c.node(f).resp_port().to_string()])
        .args(["set", "abs", "v", "PXAT", &at_ms.to_string()])
        .output()
        .expect("redis-cli is installed (apt-get install redis-tools)");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");
    let ttl = ttl_of("abs", &c.node(l).http.get_key("abs", Some("linearizable"))).expect("abs is gone");
    assert!(
        ttl > 18_000 && ttl <= 20_000,
        "abs: {ttl} ms left on the leader for an expiry 20 s ahead; the restarted member converted \
         it with a clock that lost the downtime:\n{}",
        c.logs()
    );
}

/// The leader's wall clock steps back an hour mid-run (an NTP step, a VM resumed and
/// corrected; libfaketime reading its offset from a file the test rewrites): keys go on
/// expiring on time on every member, those set before the step and those set after it.
/// The cluster clock never goes back, so a leader that took the stepped wall clock as its
/// time would stand the clock still for the hour, and neither key would expire.
#[test]
fn keys_expire_on_time_after_the_leaders_wall_clock_steps_back() {
    const STEPPED: usize = 0;
    let offset = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(offset.path(), "+0\n").unwrap();
    let env = faketime_env("+0")
        .into_iter()
        .filter(|(k, _)| k != "FAKETIME")
        .chain([
            (
                "FAKETIME_TIMESTAMP_FILE".to_string(),
                offset.path().display().to_string(),
            ),
            // Read the file at every clock call, so the step lands at once.
            ("FAKETIME_NO_CACHE".to_string(), "1".to_string()),
        ])
        .collect::<Vec<_>>();
    let c = Cluster::start_prepared(3, &[], &mut |nodes| {
        (0..nodes.len())
            .map(|i| if i == STEPPED { env.clone() } else { Vec::new() })
            .collect()
    });
    let l = lead_with(&c, STEPPED);
    let nodes: Vec<usize> = std::iter::once(l).chain(c.followers_of(l)).collect();

    let before_step = Instant::now();
    set_ttl(&c.node(l).http, "set-before", 3000);
    std::fs::write(offset.path(), "-3600\n").unwrap();
    // The step lands at the leader's next clock call (the node's log lines are stamped an
    // hour back from then on); a `date` under the same settings shows libfaketime took it.
    let (stepped, real) = date_under(&env);
    assert!(
        stepped + 3500 <= real,
        "libfaketime did not step the clock back (date said {stepped}, real {real})"
    );
    let set_after = Instant::now();
    set_ttl(&c.node(l).http, "set-after", 2000);

    // Each key is there at first, and gone from every member soon after its TTL.
    for (key, ttl_ms, set_at) in [("set-before", 3000, before_step), ("set-after", 2000, set_after)] {
        let mut seen_gone = None;
        let gone = wait_until(Duration::from_secs(10), || {
            let r0 = Instant::now();
            let everywhere = nodes.iter().all(|&n| {
                let what = format!("linearizable GET {key} on {}", c.node(n).name());
                ttl_of(&what, &c.node(n).http.get_key(key, Some("linearizable"))).is_none()
            });
            if everywhere && seen_gone.is_none() {
                seen_gone = Some(r0.duration_since(set_at));
            }
            everywhere
        });
        assert!(
            gone,
            "{key} (ttl {ttl_ms} ms) still on a member 10 s after it was set: the leader's clock stepped back and the cluster clock stood still"
        );
        let gone_after = seen_gone.unwrap();
        assert!(
            gone_after + Duration::from_millis(SLACK_MS) >= Duration::from_millis(ttl_ms),
            "{key} expired {gone_after:?} after it was set, before its {ttl_ms} ms TTL"
        );
    }
}

//! `/health` and `cluster leader` tell the truth when the leader is gone: a survivor without
//! a quorum is not healthy and names no leader.

use std::time::{Duration, Instant};

use crate::support::{dcache, run_dcache, wait_until, Cluster};

#[test]
fn a_survivor_without_quorum_is_unhealthy_and_names_no_leader() {
    let mut c = Cluster::start(3, &[]);
    let leader = c.leader();
    let survivor = c.followers_of(leader)[0];
    let other = c.followers_of(leader)[1];
    let http = &c.node(survivor).http;
    assert_eq!(http.health(), Some(200), "healthy while the cluster is whole");
    let (out, what) = run_dcache(dcache(Some(&c.node(survivor).url())), &["cluster", "leader"]);
    assert!(out.status.success(), "{what}");

    c.kill9(leader);
    c.kill9(other);
    let http = &c.node(survivor).http;
    // Within a few election timeouts the survivor stops vouching for the dead leader.
    let unhealthy = wait_until(Duration::from_secs(10), || http.health() == Some(503));
    assert!(unhealthy, "/health stayed {:?} with no quorum", http.health());
    let (status, body) = http.get("/health");
    assert_eq!(status, 503);
    assert_eq!(body["error"]["code"], "NO_LEADER", "{body}");
    let reason = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        reason.contains("not been heard from") || reason.contains("no leader") || reason.contains("never heard"),
        "the reason names what is wrong: {reason}"
    );

    let (out, what) = run_dcache(dcache(Some(&c.node(survivor).url())), &["cluster", "leader"]);
    assert_eq!(out.status.code(), Some(6), "{what}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("node"), "{what}");

    // Back to a quorum: healthy again.
    c.restart(other);
    let healthy = wait_until(Duration::from_secs(15), || c.node(survivor).http.health() == Some(200));
    assert!(healthy, "/health did not recover with a quorum back");
}

#[test]
fn a_member_the_new_leader_has_not_reached_shows_unknown_lag() {
    let mut c = Cluster::start(3, &[]);
    let leader = c.leader();
    let [down, heir] = [c.followers_of(leader)[0], c.followers_of(leader)[1]];
    c.node(leader).http.set("k", "v");
    let down_name = c.node(down).name().to_string();
    c.kill9(down);
    // The heir takes over without ever having replicated to `down`.
    let target = format!("/api/v1/cluster/transfer-leadership?target={}", c.node(heir).name());
    let (status, body) = c.node(leader).http.send(reqwest::Method::POST, &target, None, None);
    assert_eq!(status, 200, "transfer: {body}");
    let s = c.node(heir).http.status();
    let down_id = s["members"]
        .as_array()
        .and_then(|m| {
            m.iter()
                .find(|m| m["name"] == down_name.as_str())
                .map(|m| m["id"].clone())
        })
        .unwrap_or_else(|| panic!("{down_name} is not a member: {s}"));
    let row = |s: &serde_json::Value| {
        s["replication"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["id"] == down_id).cloned())
    };
    let reported = wait_until(Duration::from_secs(10), || {
        let s = c.node(heir).http.status();
        s["role"] == "leader" && row(&s).is_some()
    });
    assert!(reported, "the heir never reported the down member as leader");
    let s = c.node(heir).http.status();
    let row = row(&s).unwrap_or_default();
    assert!(row["matched"].is_null(), "{row}");
    assert!(
        row["lag"].is_null(),
        "unknown lag is shown as unknown, not the whole log: {row}"
    );
}

/// Issue 17, item 11: `cluster health` is scriptable (one line per member, exit 6 when a
/// member is down or the quorum is lost) and `cluster status` carries the quorum line.
#[test]
fn cluster_health_fails_when_a_member_is_down_and_says_the_quorum() {
    let mut c = Cluster::start(3, &[]);
    let leader = c.leader();
    let url = c.node(leader).url();
    let health = |url: &str| {
        let (out, what) = run_dcache(dcache(Some(url)), &["cluster", "health"]);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            what,
        )
    };
    let (code, stdout, what) = health(&url);
    assert_eq!(code, Some(0), "{what}");
    assert_eq!(stdout.lines().filter(|l| l.contains(" healthy ")).count(), 3, "{what}");
    assert!(stdout.contains("3/3 voters up, quorum OK"), "{what}");

    let followers = c.followers_of(leader);
    c.kill9(followers[0]);
    let down = c.node(followers[0]).name().to_string();
    let (code, stdout, what) = health(&url);
    assert_eq!(code, Some(6), "{what}");
    assert!(
        stdout.lines().any(|l| l.starts_with(&down) && l.contains(" down ")),
        "{what}"
    );
    assert!(stdout.contains("2/3 voters up, quorum OK"), "{what}");
    let (out, what) = run_dcache(dcache(Some(&url)), &["cluster", "status"]);
    assert!(out.status.success(), "status stays a report: {what}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("2/3 voters up, quorum OK"),
        "{what}"
    );

    c.kill9(followers[1]);
    let lost = wait_until(Duration::from_secs(10), || {
        let (code, stdout, _) = health(&url);
        code == Some(6) && stdout.contains("1/3 voters up, no quorum (needs 2)")
    });
    assert!(lost, "{}", health(&url).2);
}

#[test]
fn a_leader_cut_off_from_both_followers_reports_that_it_lost_its_quorum() {
    let mut c = Cluster::start(3, &[]);
    let leader = c.leader();
    let url = c.node(leader).url();
    let status = c.status(leader);
    assert_eq!(status["quorum_lost"], false, "{status}");
    assert_eq!(status["leader"]["id"], status["id"], "{status}");

    let cut = Instant::now();
    for f in c.followers_of(leader) {
        c.stop_signal(f, "STOP");
    }
    // Within ~3 s it no longer names itself a leader with a quorum.
    let mut last = serde_json::Value::Null;
    let lost = wait_until(Duration::from_secs(3), || {
        last = c.status(leader);
        last["quorum_lost"] == true && last["leader"].is_null()
    });
    assert!(
        lost,
        "{:?} after the cut the old leader still says it leads with a quorum: {last}",
        cut.elapsed()
    );
    assert_eq!(c.node(leader).http.health(), Some(503), "/health agrees");
    let (out, what) = run_dcache(dcache(Some(&url)), &["cluster", "leader"]);
    assert_eq!(out.status.code(), Some(6), "`cluster leader` agrees: {what}");
    let (out, what) = run_dcache(dcache(Some(&url)), &["cluster", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("leader (no quorum)") && text.contains("no quorum (needs 2)"),
        "`cluster status` shows the lost quorum: {what}"
    );

    // Followers back: the cluster has a leader with a quorum again.
    for f in 0..c.len() {
        if f != leader {
            c.stop_signal(f, "CONT");
        }
    }
    let back = wait_until(Duration::from_secs(15), || {
        (0..c.len()).any(|i| {
            c.node(i)
                .http
                .status_within(Duration::from_secs(2))
                .is_some_and(|s| s["role"] == "leader" && s["quorum_lost"] == false)
        })
    });
    assert!(
        back,
        "no leader with a quorum after the followers came back\n{}",
        c.logs()
    );
}

//! `/health` and `cluster leader` tell the truth when the leader is gone: a survivor without
//! a quorum is not healthy and names no leader.

use std::time::Duration;

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

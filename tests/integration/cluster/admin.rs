//! Changing a running cluster: leadership transfer (HTTP and CLI, and its refusals), a node
//! joining with `--join` and a member being removed while a writer keeps going.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use super::{listing, missing, u64_of, StopOnDrop, FAST};
use crate::support::{assert_error, data, dcache, enc, parallel_set, run_dcache, wait_until, Cluster, Http};

/// `POST /api/v1/cluster/{action}?target=TARGET` on the node behind `http`.
fn admin(http: &Http, action: &str, target: &str) -> (u16, Value) {
    http.send(
        Method::POST,
        &format!("/api/v1/cluster/{action}?target={}", enc(target)),
        None,
        None,
    )
}

/// Asserts that a transfer answer names node `i` of `c` as the new leader.
fn assert_names(c: &Cluster, what: &str, d: &Value, i: usize) {
    let status = c.status(i);
    assert_eq!(d["name"], json!(c.node(i).name()), "{what}: answer {d}");
    assert_eq!(d["id"], status["id"], "{what}: answer {d}");
    assert_eq!(d["client_url"], json!(c.node(i).url()), "{what}: answer {d}");
}

/// Asserts that node `i` leads right now (the transfer answers only once it does) and that
/// every live node soon names it as leader.
fn assert_leads(c: &Cluster, what: &str, i: usize) {
    let status = c.status(i);
    assert_eq!(
        status["role"], "leader",
        "{what}: the target must lead when the answer comes: {status}"
    );
    assert_eq!(
        c.leader(),
        i,
        "{what}: every node must name {} as leader",
        c.node(i).name()
    );
}

#[test]
fn leadership_moves_by_name_by_id_and_through_the_cli_and_refuses_bad_targets() {
    let mut c = Cluster::start(3, &FAST);
    let l = c.leader();
    let followers = c.followers_of(l);
    let (a, b) = (followers[0], followers[1]);

    // By name, asked of the follower that is not the target.
    let what = format!("transfer to {} asked of {}", c.node(a).name(), c.node(b).name());
    let d = data(&what, admin(&c.node(b).http, "transfer-leadership", c.node(a).name()));
    assert_names(&c, &what, &d, a);
    assert_leads(&c, &what, a);

    // By numeric id, asked of the leader itself.
    let b_id = u64_of(&c.status(b), "id").to_string();
    let what = format!("transfer to id {b_id} asked of {}", c.node(a).name());
    let d = data(&what, admin(&c.node(a).http, "transfer-leadership", &b_id));
    assert_names(&c, &what, &d, b);
    assert_leads(&c, &what, b);

    // To the current leader: nothing changes, not even the term.
    let term = u64_of(&c.status(b), "term");
    let what = format!("transfer to the current leader {}", c.node(b).name());
    let d = data(&what, admin(&c.node(a).http, "transfer-leadership", c.node(b).name()));
    assert_names(&c, &what, &d, b);
    assert_leads(&c, &what, b);
    assert_eq!(
        u64_of(&c.status(b), "term"),
        term,
        "{what}: a no-op must not start an election"
    );

    let got = admin(&c.node(a).http, "transfer-leadership", "no-such-node");
    assert_error("transfer to an unknown name", &got, 404, "MEMBER_NOT_FOUND");

    // Through the CLI, asked of a follower.
    let (out, what) = run_dcache(
        dcache(Some(&c.node(l).url())),
        &["cluster", "transfer-leadership", c.node(a).name()],
    );
    assert_eq!(out.status.code(), Some(0), "{what}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(c.node(a).name()),
        "the CLI must print the new leader's name: {what}"
    );
    assert_leads(&c, &what, a);

    // The CLI reports a refusal with exit code 5 and the reason on stderr.
    let (out, what) = run_dcache(
        dcache(Some(&c.node(l).url())),
        &["cluster", "transfer-leadership", "no-such-node"],
    );
    assert_eq!(out.status.code(), Some(5), "a refused transfer exits 5: {what}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no-such-node"),
        "stderr must name the unknown target: {what}"
    );

    // A target that has just crashed is refused at once, and leadership stays where it was.
    c.kill9(b);
    let name_b = c.node(b).name().to_string();
    let asked = Instant::now();
    let got = admin(&c.node(l).http, "transfer-leadership", &name_b);
    let what = format!(
        "transfer to {name_b} right after its kill -9 (answered in {:?})",
        asked.elapsed()
    );
    assert_error(&what, &got, 409, "TRANSFER_REFUSED");
    let message = got.1["error"]["message"].as_str().unwrap_or_default().to_lowercase();
    assert!(
        [
            "down",
            "unreachable",
            "not answering",
            "not responding",
            "not reachable"
        ]
        .iter()
        .any(|w| message.contains(w)),
        "{what}: the message must say the target is down: {:?}",
        got.1
    );
    let (out, what) = run_dcache(
        dcache(Some(&c.node(a).url())),
        &["cluster", "transfer-leadership", &name_b],
    );
    assert_eq!(out.status.code(), Some(5), "a refused transfer exits 5: {what}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&name_b),
        "stderr must name the refused target: {what}"
    );
    assert_eq!(
        c.leader(),
        a,
        "refused transfers must leave {} leading",
        c.node(a).name()
    );
}

/// What the steady writer saw: every write it made was eventually acknowledged, unless
/// `errors` says otherwise.
#[derive(Default)]
struct SteadyReport {
    acked: Vec<(String, String, u64)>,
    /// Time spent between a write's first 503 and its eventual acknowledgement, summed.
    unavailable: Duration,
    answers_503: usize,
    slowest: Duration,
    errors: Vec<String>,
}

/// Writes `live/{i}` to `url` one at a time until `stop`, retrying each write on 503 for up
/// to 10 s; any other failure is recorded as an error and the write is abandoned.
fn steady_writer(url: &str, stop: &AtomicBool, count: &AtomicUsize) -> SteadyReport {
    let http = Http::with_timeout(url, Duration::from_secs(15));
    let mut report = SteadyReport::default();
    let mut i = 0usize;
    while !stop.load(Ordering::SeqCst) {
        let (key, value) = (format!("live/{i:06}"), format!("steady-{i}"));
        i += 1;
        let body = json!({"key": key, "value": value}).to_string().into_bytes();
        let started = Instant::now();
        let mut first_503: Option<Instant> = None;
        loop {
            match http.try_send(
                Method::POST,
                "/api/v1/set",
                Some("application/json"),
                Some(body.clone()),
            ) {
                Ok((200, answer)) => {
                    if let Some(t) = first_503 {
                        report.unavailable += t.elapsed();
                    }
                    let version = answer["data"]["version"].as_u64().unwrap_or_default();
                    report.acked.push((key, value, version));
                    count.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                Ok((503, _)) if started.elapsed() < Duration::from_secs(10) => {
                    report.answers_503 += 1;
                    first_503.get_or_insert_with(Instant::now);
                    // A retry pause, not a wait for a condition.
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok((status, answer)) => {
                    report.errors.push(format!("set {key}: HTTP {status} {answer}"));
                    break;
                }
                Err(e) => {
                    report.errors.push(format!("set {key}: no answer: {e}"));
                    break;
                }
            }
        }
        report.slowest = report.slowest.max(started.elapsed());
    }
    report
}

/// The `members` entry named `name` in `status`, if any.
fn member<'a>(status: &'a Value, name: &str) -> Option<&'a Value> {
    status["members"].as_array()?.iter().find(|m| m["name"] == name)
}

#[test]
fn a_node_joins_catches_up_and_a_member_is_removed_while_writes_go_on() {
    let mut c = Cluster::start(3, &["--snapshot-logs", "500"]);
    let l = c.leader();
    let followers = c.followers_of(l);
    let (via, removed) = (followers[0], followers[1]);
    let items: Vec<(String, String)> = (0..2000)
        .map(|i| (format!("mem/{i:05}"), format!("member-value-{i}")))
        .collect();
    let written = parallel_set(&c.node(l).url(), &items, 4);
    let expected = listing(&c.node(l).http, &["mem/".to_string()], "linearizable");
    let (total, first) = missing(written.iter().map(|(k, v, n)| (k.as_str(), v.as_str(), *n)), &expected);
    assert_eq!(total, 0, "acknowledged writes wrong before the join: {first:#?}");
    let purged = wait_until(Duration::from_secs(20), || u64_of(&c.status(l), "purged_index") > 0);
    assert!(
        purged,
        "2000 writes with --snapshot-logs 500 must purge the log: {}",
        c.status(l)
    );

    let stop = AtomicBool::new(false);
    let count = AtomicUsize::new(0);
    let leader_url = c.node(l).url();
    let report = std::thread::scope(|s| {
        let writer = s.spawn(|| steady_writer(&leader_url, &stop, &count));
        let _stop = StopOnDrop(&stop);

        // Join through a follower's client URL.
        let j = c.join(via);
        let name_j = c.node(j).name().to_string();
        let mut roles: Vec<String> = Vec::new();
        let mut last = Vec::new();
        let voter_everywhere = wait_until(Duration::from_secs(30), || {
            let role = c.status(j)["role"].as_str().unwrap_or_default().to_string();
            if roles.last() != Some(&role) {
                roles.push(role.clone());
            }
            last = c.live().into_iter().map(|i| c.status(i)).collect();
            role == "follower"
                && last
                    .iter()
                    .all(|s| member(s, &name_j).is_some_and(|m| m["voter"] == true))
        });
        assert!(
            voter_everywhere,
            "{name_j} never became a voting follower in every node's members; its roles: {roles:?}; statuses: {last:#?}"
        );
        eprintln!("{name_j} roles while joining: {roles:?}");
        let mut local = None;
        let caught_up = wait_until(Duration::from_secs(20), || {
            local = super::try_listing(&c.node(j).http, &["mem/".to_string()], "local");
            local.as_ref() == Some(&expected)
        });
        assert!(
            caught_up,
            "{name_j}'s local reads never matched the {} keys (has {:?}); its status: {}",
            expected.len(),
            local.map(|l| l.len()),
            c.status(j)
        );
        let status_j = c.status(j);
        assert!(
            u64_of(&status_j, "snapshot_index") > 0,
            "the leader's log was purged, so {name_j} must have caught up from a snapshot: {status_j}"
        );

        // Remove an original follower through the CLI; it stops by itself.
        let name_r = c.node(removed).name().to_string();
        let got = admin(&c.node(j).http, "remove", "no-such-node");
        assert_error("remove an unknown name", &got, 404, "MEMBER_NOT_FOUND");
        let (out, what) = run_dcache(dcache(Some(&leader_url)), &["cluster", "remove", &name_r]);
        assert_eq!(out.status.code(), Some(0), "{what}");
        let exit = c.node_mut(removed).wait_exit(Duration::from_secs(15));
        let log = c.node(removed).log();
        assert_eq!(
            exit.and_then(|e| e.code()),
            Some(0),
            "the removed node must exit 0 by itself (got {exit:?}); its log:\n{log}"
        );
        assert!(
            log.contains("removed from the cluster"),
            "the removed node must log that it was removed; its log:\n{log}"
        );
        let mut last = Vec::new();
        let shrunk = wait_until(Duration::from_secs(10), || {
            last = c.live().into_iter().map(|i| c.status(i)).collect();
            last.iter().all(|s| {
                let members = s["members"].as_array().map(Vec::as_slice).unwrap_or_default();
                members.len() == 3
                    && members
                        .iter()
                        .all(|m| m["voter"] == true && m["name"] != name_r.as_str())
            })
        });
        assert!(shrunk, "members must be the three voters left; statuses: {last:#?}");
        assert_eq!(c.live().len(), 3, "three nodes keep running");
        let l2 = c.leader();
        assert_ne!(l2, removed);

        // The writer keeps going after the removal too.
        let before = count.load(Ordering::SeqCst);
        let more = wait_until(Duration::from_secs(10), || count.load(Ordering::SeqCst) >= before + 50);
        assert!(more, "writes stalled after the removal");
        stop.store(true, Ordering::SeqCst);
        writer.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
    });

    eprintln!(
        "FIGURE membership_writes={} unavailable_ms={} answers_503={} slowest_write_ms={}",
        report.acked.len(),
        report.unavailable.as_millis(),
        report.answers_503,
        report.slowest.as_millis()
    );
    assert!(
        report.errors.is_empty(),
        "writes failed during join and remove: {:#?}",
        &report.errors[..report.errors.len().min(10)]
    );
    assert!(
        report.unavailable <= Duration::from_millis(500),
        "writes saw {:?} of 503s ({} answers) during join and remove; at most a few hundred ms allowed",
        report.unavailable,
        report.answers_503
    );
    let l = c.leader();
    let listed = listing(&c.node(l).http, &["live/".to_string()], "linearizable");
    let (total, first) = missing(
        report.acked.iter().map(|(k, v, n)| (k.as_str(), v.as_str(), *n)),
        &listed,
    );
    assert_eq!(total, 0, "acknowledged writes lost during join and remove: {first:#?}");
}

/// A removed member's id is never given to a later joiner: every member may still hold
/// state about the old one (its removal, its replication progress, its connections), so the
/// second joiner must get a new id, be listed under its own name, become a voter and be
/// removable in turn.
#[test]
fn a_member_id_is_never_reused_after_a_removal() {
    let mut c = Cluster::start(3, &FAST);
    let mut ids = Vec::new();
    for round in 0..2 {
        let l = c.leader();
        let j = c.join(l);
        let name = c.node(j).name().to_string();
        let mut last = Value::Null;
        let voter = wait_until(Duration::from_secs(30), || {
            last = c.status(c.leader());
            member(&last, &name).is_some_and(|m| m["voter"] == true)
        });
        assert!(voter, "round {round}: {name} never became a voter: {last}");
        let id = member(&last, &name).unwrap()["id"].as_u64().unwrap();
        assert!(
            !ids.contains(&id),
            "round {round}: {name} got id {id}, already used by a removed member ({ids:?})"
        );
        ids.push(id);
        let got = admin(&c.node(c.leader()).http, "remove", &name);
        assert_eq!(got.0, 200, "round {round}: remove {name}: {}", got.1);
        let exit = c.node_mut(j).wait_exit(Duration::from_secs(15));
        assert_eq!(
            exit.and_then(|e| e.code()),
            Some(0),
            "round {round}: removed {name} must exit 0: {exit:?}\n{}",
            c.node(j).log()
        );
    }
}

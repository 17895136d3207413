//! Watch streams on followers that are behind: a stream resumed from version N on a node
//! that has not applied N never goes back to N or below, and a node that catches up by
//! installing a snapshot ends its open streams with `COMPACTED` instead of skipping events.
//! Uses the SSE reader of `cache.rs` and only `support`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::cache::{Sse, Watch};
use crate::support::{wait_until, Cluster};

/// How long a test waits for one watch event.
const EVENT_TIMEOUT: Duration = Duration::from_secs(20);

fn u64_of(status: &serde_json::Value, field: &str) -> u64 {
    status[field]
        .as_u64()
        .unwrap_or_else(|| panic!("numeric `{field}` in {status}"))
}

/// Waits until node `f` has applied everything node `l` has committed.
fn caught_up(c: &Cluster, l: usize, f: usize, timeout: Duration) -> bool {
    wait_until(timeout, || {
        let target = u64_of(&c.status(l), "committed");
        c.node(f)
            .http
            .status_within(Duration::from_secs(2))
            .is_some_and(|s| u64_of(&s, "applied") >= target)
    })
}

#[test]
fn a_watch_resumed_on_a_lagging_follower_never_goes_back() {
    let mut c = Cluster::start(3, &[]);
    let l = c.leader();
    let f = c.followers_of(l)[0];
    c.node(l).http.set("r/first", "before");
    assert!(caught_up(&c, l, f, Duration::from_secs(10)), "{}", c.logs());

    // The follower misses a run of writes; the client saw the newest one (from the leader).
    c.stop_signal(f, "STOP");
    let versions: Vec<u64> = (0..50)
        .map(|i| c.node(l).http.set(&format!("r/{i:02}"), "missed"))
        .collect();
    let newest = *versions.last().unwrap();

    // Open the watch while the follower is still frozen: its request is served as soon as it
    // runs again, before it has caught up.
    let url = c.node(f).url();
    let opener = std::thread::spawn(move || Watch::open(&url, "r/", Some(newest)));
    c.stop_signal(f, "CONT");
    let watch = opener.join().expect("the watch opener panicked");

    let after = c.node(l).http.set("r/after", "new");
    let events = watch.collect_until(EVENT_TIMEOUT, |evs: &[Sse]| {
        evs.iter().any(|e| e.name != "error" && e.change().2 >= after) || evs.iter().any(|e| e.name == "error")
    });
    assert!(
        events.iter().all(|e| e.name != "error"),
        "no error expected: {events:?}"
    );
    let changes: Vec<(String, String, u64)> = events.iter().map(Sse::change).collect();
    assert!(
        changes.iter().all(|(_, _, v)| *v > newest),
        "a watch from_version={newest} sent events at or below it: {changes:?}"
    );
    assert_eq!(
        changes,
        vec![("set".to_string(), "r/after".to_string(), after)],
        "exactly the one write after version {newest}"
    );
}

#[test]
fn a_follower_that_installs_a_snapshot_ends_its_watches_with_compacted() {
    let mut c = Cluster::start(3, &["--snapshot-logs", "100"]);
    let l = c.leader();
    let f = c.followers_of(l)[0];
    let first = c.node(l).http.set("g/first", "before");
    assert!(caught_up(&c, l, f, Duration::from_secs(10)), "{}", c.logs());
    let watch = Watch::open(&c.node(f).url(), "g/", Some(first - 1));
    let follower_last = u64_of(&c.status(f), "last_log_index");

    // Frozen, the follower misses enough writes for the leader to purge its log past them.
    c.stop_signal(f, "STOP");
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    acked.insert(first, "g/first".to_string());
    let deadline = Instant::now() + Duration::from_secs(25);
    let mut i = 0;
    while u64_of(&c.status(l), "purged_index") <= follower_last {
        assert!(
            Instant::now() < deadline,
            "the leader never purged its log past {follower_last}: {}",
            c.status(l)
        );
        for _ in 0..50 {
            let key = format!("g/{i:05}");
            acked.insert(c.node(l).http.set(&key, "missed"), key);
            i += 1;
        }
    }
    c.stop_signal(f, "CONT");
    assert!(caught_up(&c, l, f, Duration::from_secs(30)), "{}", c.logs());
    let status = c.status(f);
    assert!(
        u64_of(&status, "snapshot_index") > follower_last,
        "the follower must have caught up by snapshot: {status}"
    );
    let last = c.node(l).http.set("g/last", "after");
    acked.insert(last, "g/last".to_string());

    // Either every event, in order, or the events up to some version and then COMPACTED.
    let events = watch.collect_until(EVENT_TIMEOUT, |evs: &[Sse]| {
        evs.iter().any(|e| e.name == "error" || e.change().2 >= last)
    });
    let (changes, error): (Vec<&Sse>, Vec<&Sse>) = events.iter().partition(|e| e.name != "error");
    let got: Vec<(u64, String)> = changes
        .iter()
        .map(|e| {
            let (_, key, v) = e.change();
            (v, key)
        })
        .collect();
    let through = got.last().map_or(first - 1, |(v, _)| *v);
    let want: Vec<(u64, String)> = acked
        .iter()
        .filter(|(v, _)| **v <= through)
        .map(|(v, k)| (*v, k.clone()))
        .collect();
    if let Some(at) = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i)) {
        panic!(
            "the events sent must have no gap and no repeat: event {at} is {:?}, expected {:?} ({} sent, {} expected through version {through})",
            got.get(at),
            want.get(at),
            got.len(),
            want.len()
        );
    }
    match error.first() {
        None => assert_eq!(through, last, "without an error every event must arrive"),
        Some(e) => {
            let body = e.json();
            assert_eq!(body["code"], json!("COMPACTED"), "{body}");
            let compacted = body["compacted_through"].as_u64().unwrap_or(0);
            assert!(
                compacted > through && compacted >= follower_last,
                "COMPACTED must name the snapshot's index, past the last event {through}: {body}"
            );
            let end = watch.next(Duration::from_secs(10));
            assert!(
                end.as_ref().is_err_and(|why| why.starts_with("stream ended")),
                "the stream must end after COMPACTED, got {end:?}"
            );
            // Resuming from there replays exactly what followed, up to the newest write.
            let resumed = Watch::open(&c.node(f).url(), "g/", Some(compacted));
            let next = resumed.collect_until(EVENT_TIMEOUT, |evs: &[Sse]| {
                evs.iter().any(|e| e.name == "error" || e.change().2 >= last)
            });
            let got: Vec<(u64, String)> = next
                .iter()
                .map(|e| {
                    let (_, key, v) = e.change();
                    (v, key)
                })
                .collect();
            let want: Vec<(u64, String)> = acked.range(compacted + 1..).map(|(v, k)| (*v, k.clone())).collect();
            assert_eq!(got, want, "resumed from {compacted}");
        }
    }
}

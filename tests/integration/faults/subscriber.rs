//! Redis keyspace notifications under faults: one `PSUBSCRIBE __keyspace@0__:PREFIX*`
//! subscriber per member (the `redis` crate), reconnecting to the next member whenever its
//! connection drops (a killed member, a read quiet for 3 s, a subscriber the node cut off
//! for falling behind). A member notifies every change it applies, in log order, from the
//! moment a connection subscribes until it ends, so each connection's notifications must be
//! one contiguous run of the log's events under the prefix: none invented, repeated,
//! reordered or skipped. Notifications carry no versions, so the log's events come from the
//! SSE watchers ([`super::watcher::ordered_events`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How many notifications a connection may carry past the end of the watchers' record.
const PAST_THE_RECORD: usize = 16;

/// A subscriber gives up on a quiet connection after this long and moves on.
const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// What one subscriber received: per connection, the member it was connected to and
/// `(key, is_set)` in arrival order.
#[derive(Debug, Default)]
pub(crate) struct SubLog {
    name: String,
    sessions: Vec<(usize, Vec<(String, bool)>)>,
    problems: Vec<String>,
}

/// The subscriber threads.
pub(crate) struct Subscribers {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<SubLog>>,
}

impl Subscribers {
    /// One subscriber per member on keys under `prefix`, starting at member `i` of `resp_urls`.
    pub(crate) fn start(resp_urls: &[String], prefix: &str) -> Subscribers {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..resp_urls.len())
            .map(|i| {
                let (urls, prefix, stop) = (resp_urls.to_vec(), prefix.to_string(), stop.clone());
                std::thread::spawn(move || subscribe(i, &urls, &prefix, &stop))
            })
            .collect();
        Subscribers { stop, threads }
    }

    /// Stops the subscribers (each within [`READ_TIMEOUT`]) and returns what each received.
    pub(crate) fn stop(self) -> Vec<SubLog> {
        self.stop.store(true, Ordering::Relaxed);
        self.threads.into_iter().map(|t| t.join().unwrap()).collect()
    }
}

fn subscribe(first: usize, urls: &[String], prefix: &str, stop: &AtomicBool) -> SubLog {
    let mut log = SubLog {
        name: format!("subscriber {first}"),
        ..SubLog::default()
    };
    let pattern = format!("__keyspace@0__:{prefix}*");
    let mut attempt = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let member = (first + attempt) % urls.len();
        let url = &urls[member];
        attempt += 1;
        let connected = redis::Client::open(url.as_str()).and_then(|c| c.get_connection_with_timeout(READ_TIMEOUT));
        let Ok(mut con) = connected else {
            std::thread::sleep(Duration::from_millis(100)); // a member is down: try the next
            continue;
        };
        let mut pubsub = con.as_pubsub();
        if pubsub.set_read_timeout(Some(READ_TIMEOUT)).is_err() || pubsub.psubscribe(&pattern).is_err() {
            continue;
        }
        let mut session = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let Ok(msg) = pubsub.get_message() else { break };
            let channel = msg.get_channel_name().to_string();
            let payload: String = msg.get_payload().unwrap_or_default();
            let Some(key) = channel.strip_prefix("__keyspace@0__:") else {
                log.problems.push(format!("a message on channel {channel:?}"));
                continue;
            };
            match payload.as_str() {
                "set" => session.push((key.to_string(), true)),
                "del" | "expired" => session.push((key.to_string(), false)),
                other => log.problems.push(format!("{key}: unexpected event {other:?}")),
            }
        }
        if !session.is_empty() {
            log.sessions.push((member, session));
        }
    }
    log
}

/// Checks every connection's notifications against `record`, the log's changes under the
/// prefix in order as `(version, key, is_set)`. A connection still open when the log's
/// record ends is checked as far as the record goes. `gaps(lo, hi)` tells what the
/// watchers skipped near versions `lo..=hi`, for the message of a connection that does not
/// fit. Returns the notifications checked and the problems.
pub(crate) fn check(
    logs: &[SubLog],
    record: &[(u64, String, bool)],
    gaps: impl Fn(u64, u64) -> String,
) -> (usize, Vec<String>) {
    let events: Vec<(String, bool)> = record.iter().map(|(_, k, s)| (k.clone(), *s)).collect();
    let mut checked = 0;
    let mut problems = Vec::new();
    for log in logs {
        problems.extend(log.problems.iter().map(|p| format!("{}: {p}", log.name)));
        for (n, (member, session)) in log.sessions.iter().enumerate() {
            // How many of the session's notifications match the record from `start` on. A
            // session may run past the end of the record by a few notifications (changes
            // applied after the watchers stopped, e.g. a write whose outcome was unknown).
            let matched = |start: usize| {
                session
                    .iter()
                    .zip(&events[start..])
                    .take_while(|(got, want)| got == want)
                    .count()
            };
            let (best_start, best) = (0..events.len())
                .map(|start| (start, matched(start)))
                .max_by_key(|&(_, m)| m)
                .unwrap_or((0, 0));
            let fits = best == session.len()
                || (best > 0 && best == events.len() - best_start && session.len() - best <= PAST_THE_RECORD);
            if fits {
                checked += best;
            } else {
                let at = best_start + best;
                let near = &record[at.saturating_sub(3)..(at + 4).min(record.len())];
                let (lo, hi) = (near.first().map_or(0, |e| e.0), near.last().map_or(0, |e| e.0));
                problems.push(format!(
                    "{}: connection {n} to member {member} ({} notifications) is not a contiguous run of \
                     the log's events: the longest match is {best} from record position {best_start}, then \
                     it got {:?} (and next {:?}) where the record has {:?} (record positions {}..: {near:?}); \
                     watcher gaps near: {}",
                    log.name,
                    session.len(),
                    session.get(best),
                    &session[(best + 1).min(session.len())..(best + 4).min(session.len())],
                    events.get(at),
                    at.saturating_sub(3),
                    gaps(lo, hi),
                ));
            }
        }
    }
    (checked, problems)
}

#[test]
fn the_subscriber_check_catches_skipped_repeated_and_invented_notifications() {
    let ev = |k: &str, set: bool| (k.to_string(), set);
    let events: Vec<(String, bool)> = vec![
        ev("a", true),
        ev("b", true),
        ev("a", false),
        ev("b", true),
        ev("a", true),
        ev("z", true),
    ];
    let record: Vec<(u64, String, bool)> = events.iter().zip(1..).map(|((k, s), v)| (v, k.clone(), *s)).collect();
    let log = |sessions: Vec<Vec<(String, bool)>>| SubLog {
        name: "s".into(),
        sessions: sessions.into_iter().map(|s| (0, s)).collect(),
        problems: Vec::new(),
    };
    // A contiguous run, and one that runs past the end of the record, pass.
    let ok = log(vec![
        events[1..4].to_vec(),
        vec![ev("a", true), ev("z", true), ev("b", true)],
    ]);
    assert_eq!(check(&[ok], &record, |_, _| String::new()).1, Vec::<String>::new());
    for bad in [
        vec![ev("a", true), ev("a", false)],                // skipped b
        vec![ev("b", true), ev("b", true)],                 // repeated (no such run)
        vec![ev("c", true)],                                // invented
        vec![ev("a", false), ev("a", true), ev("b", true)], // reordered
    ] {
        let (_, problems) = check(&[log(vec![bad.clone()])], &record, |_, _| String::new());
        assert_eq!(problems.len(), 1, "{bad:?} must be caught: {problems:?}");
    }
}

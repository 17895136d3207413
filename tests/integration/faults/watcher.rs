//! Watch under faults: one watcher per member reads `GET /api/v1/watch` (server-sent events)
//! and resumes after every dropped stream as docs/http-api.md prescribes (from the last
//! version seen minus one, skipping what it handled; from `compacted_through` after
//! `COMPACTED` or `LAGGED`), moving to the next member each time. At the end each watcher's
//! stream is checked against the recorded client history:
//!
//! - versions never go backwards, and no event is delivered twice outside a resume overlap;
//! - every acknowledged set (its version is in the answer) arrived with its value, unless an
//!   error event covered its version;
//! - every set event carries a value some client wrote to that key.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

use super::checker::{Event, Op, Outcome};
use crate::support::enc;

/// A read that waits longer than this drops the stream and resumes (the server sends a
/// keep-alive every 15 s; events flow constantly while the workload runs).
const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// What one watcher saw.
#[derive(Debug, Default)]
pub(crate) struct WatchLog {
    pub(crate) name: String,
    /// `(version, key)` -> the set's value (`None` for other kinds).
    events: BTreeMap<(u64, String), Option<String>>,
    /// Versions an error event said were skipped: `(after, through]`.
    gaps: Vec<(u64, u64)>,
    /// Key -> the version of its `expire` event (the purge entry's log index).
    expiries: BTreeMap<String, u64>,
    /// Every event handled, in arrival order, as `(version, key, is_set)`: events that share
    /// a version (one entry of coalesced writes) keep the order the entry applies them in.
    order: Vec<(u64, String, bool)>,
    pub(crate) resumes: u64,
    pub(crate) violations: Vec<String>,
}

/// The watcher threads; each publishes the last version it has seen.
pub(crate) struct Watchers {
    stop: Arc<AtomicBool>,
    seen: Vec<Arc<AtomicU64>>,
    threads: Vec<JoinHandle<WatchLog>>,
}

impl Watchers {
    /// One watcher per member on `prefix`, starting at member `i` of `urls`.
    pub(crate) fn start(urls: &[String], prefix: &str) -> Watchers {
        let stop = Arc::new(AtomicBool::new(false));
        let mut seen = Vec::new();
        let threads = (0..urls.len())
            .map(|i| {
                let last = Arc::new(AtomicU64::new(0));
                seen.push(last.clone());
                let (urls, prefix, stop) = (urls.to_vec(), prefix.to_string(), stop.clone());
                std::thread::spawn(move || watch(i, &urls, &prefix, &stop, &last))
            })
            .collect();
        Watchers { stop, seen, threads }
    }

    /// The lowest version every watcher has reached.
    pub(crate) fn reached(&self) -> u64 {
        self.seen.iter().map(|s| s.load(Ordering::Relaxed)).min().unwrap_or(0)
    }

    /// Stops the watchers and returns what each saw.
    pub(crate) fn stop(self) -> Vec<WatchLog> {
        self.stop.store(true, Ordering::Relaxed);
        self.threads.into_iter().map(|t| t.join().unwrap()).collect()
    }
}

/// One watcher: reads and resumes until `stop`.
fn watch(first: usize, urls: &[String], prefix: &str, stop: &AtomicBool, published: &AtomicU64) -> WatchLog {
    let mut log = WatchLog {
        name: format!("watcher {first}"),
        ..WatchLog::default()
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(READ_TIMEOUT)
        .build()
        .unwrap();
    // Every event of `last` has been handled; `handled` holds the keys seen at `last`.
    let (mut last, mut handled, mut overlap) = (0u64, HashSet::<(String, String)>::new(), false);
    // After `COMPACTED`, resume from `compacted_through` itself, as docs/http-api.md says
    // (from one below it would be refused as compacted again, round and round).
    let mut exact = false;
    let mut attempt = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let url = &urls[(first + attempt) % urls.len()];
        attempt += 1;
        let from = match std::mem::take(&mut exact) {
            true => last,
            false => last.saturating_sub(1),
        };
        let full = format!("{url}/api/v1/watch?prefix={}&from_version={from}", enc(prefix));
        let Ok(resp) = client.get(&full).send() else {
            std::thread::sleep(Duration::from_millis(100)); // a member is down: try the next
            continue;
        };
        if resp.status().as_u16() != 200 {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        if last > 0 {
            log.resumes += 1;
            overlap = true;
        }
        let (mut name, mut data) = (String::new(), String::new());
        for line in BufReader::new(resp).lines() {
            let Ok(line) = line else { break };
            if let Some(v) = line.strip_prefix("event:") {
                name = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            } else if line.is_empty() && !data.is_empty() {
                let json: Value = serde_json::from_str(&std::mem::take(&mut data)).unwrap_or(Value::Null);
                if name == "error" {
                    let through = json["compacted_through"].as_u64().unwrap_or(0);
                    log.gaps.push((last, through));
                    if json["code"] == "COMPACTED" {
                        if through < last {
                            log.violations
                                .push(format!("COMPACTED through {through}, below the {last} already seen"));
                        }
                        (last, overlap, exact) = (through.max(last), false, true);
                        handled.clear();
                        published.store(last, Ordering::Relaxed);
                    }
                    break;
                }
                let (Some(key), Some(version)) = (json["key"].as_str(), json["version"].as_u64()) else {
                    log.violations.push(format!("malformed event {json}"));
                    continue;
                };
                let kind = json["kind"].as_str().unwrap_or_default().to_string();
                let id = (key.to_string(), kind.clone());
                if version < last {
                    if !overlap || version + 1 < last {
                        log.violations
                            .push(format!("went back from {last} to {version} ({json})"));
                    }
                    continue;
                }
                if version == last {
                    if handled.contains(&id) {
                        if !overlap {
                            log.violations.push(format!("delivered twice: {json}"));
                        }
                        continue;
                    }
                } else {
                    handled.clear();
                    last = version;
                    overlap = false;
                    published.store(last, Ordering::Relaxed);
                }
                handled.insert(id);
                if kind == "expire" {
                    log.expiries.insert(key.to_string(), version);
                }
                log.order.push((version, key.to_string(), kind == "set"));
                let value = (kind == "set").then(|| json["value"].as_str().unwrap_or_default().to_string());
                log.events.insert((version, key.to_string()), value);
            }
        }
    }
    log
}

/// The log's changes as the watchers saw them together, in log order, as `(key, is_set)`:
/// the record RESP keyspace notifications are checked against.
pub(crate) fn ordered_events(logs: &[WatchLog]) -> Vec<(u64, String, bool)> {
    // Per version, the fullest group any watcher saw (a watcher may have joined mid-entry).
    let mut groups: BTreeMap<u64, Vec<(String, bool)>> = BTreeMap::new();
    for log in logs {
        let mut seen: BTreeMap<u64, Vec<(String, bool)>> = BTreeMap::new();
        for (version, key, set) in &log.order {
            seen.entry(*version).or_default().push((key.clone(), *set));
        }
        for (version, group) in seen {
            let best = groups.entry(version).or_default();
            if group.len() > best.len() {
                *best = group;
            }
        }
    }
    groups
        .into_iter()
        .flat_map(|(version, group)| group.into_iter().map(move |(key, set)| (version, key, set)))
        .collect()
}

/// Each watcher's gaps (versions an error event said it skipped) that touch `lo..=hi`: what
/// a failed notification check prints, since a version every watcher skipped is missing
/// from the record.
pub(crate) fn gaps_near(logs: &[WatchLog], lo: u64, hi: u64) -> String {
    logs.iter()
        .map(|log| {
            let near: Vec<_> = log
                .gaps
                .iter()
                .filter(|&&(after, through)| after < hi && through >= lo)
                .collect();
            format!("{}: {near:?}", log.name)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Every replica drops the same keys at the same log index: a key's `expire` event carries
/// one version in every watcher that saw it (watchers move between members as they resume).
/// Returns how many keys were seen expire by more than one watcher, and one line per key
/// whose versions differ.
pub(crate) fn check_expiries(logs: &[WatchLog]) -> (usize, Vec<String>) {
    let mut by_key: BTreeMap<&str, Vec<(&str, u64)>> = BTreeMap::new();
    for log in logs {
        for (key, &version) in &log.expiries {
            by_key.entry(key).or_default().push((&log.name, version));
        }
    }
    let compared = by_key.values().filter(|seen| seen.len() > 1).count();
    let problems = by_key
        .iter()
        .filter(|(_, seen)| seen.iter().any(|&(_, v)| v != seen[0].1))
        .map(|(key, seen)| format!("{key} expired at different log indexes: {seen:?}"))
        .collect();
    (compared, problems)
}

/// Checks each watcher's events against the client `history` (see the module comment);
/// returns one line per problem.
pub(crate) fn check(logs: &[WatchLog], history: &[Event]) -> Vec<String> {
    let mut written: HashSet<(&str, &str)> = HashSet::new();
    let mut acked: Vec<(u64, &str, &str)> = Vec::new();
    for e in history {
        if let Op::Set { value } = &e.op {
            written.insert((&e.key, value));
            if let Outcome::Set { version } = e.outcome {
                acked.push((version, &e.key, value));
            }
        }
    }
    let mut problems = Vec::new();
    for log in logs {
        problems.extend(log.violations.iter().map(|v| format!("{}: {v}", log.name)));
        for ((version, key), value) in &log.events {
            if let Some(value) = value {
                if !written.contains(&(key.as_str(), value.as_str())) {
                    problems.push(format!(
                        "{}: {key} = {value:?} @{version}, which no client wrote",
                        log.name
                    ));
                }
            }
        }
        let covered = |v: u64| log.gaps.iter().any(|&(after, through)| v > after && v <= through);
        for &(version, key, value) in &acked {
            if covered(version) {
                continue;
            }
            match log.events.get(&(version, key.to_string())) {
                Some(Some(seen)) if seen == value => {}
                other => problems.push(format!(
                    "{}: acknowledged set {key} = {value:?} @{version} arrived as {other:?}",
                    log.name
                )),
            }
        }
    }
    problems
}

#[test]
fn the_watch_check_catches_missing_and_foreign_events_and_honours_gaps() {
    let set = |key: &str, value: &str, version: u64| Event {
        client: 0,
        key: key.into(),
        op: Op::Set { value: value.into() },
        call: 0,
        ret: Some(1),
        outcome: Outcome::Set { version },
    };
    let history = [set("reg/0", "a", 5), set("reg/1", "b", 7), set("reg/0", "c", 9)];
    let log = |events: &[(u64, &str, &str)], gaps: Vec<(u64, u64)>| WatchLog {
        name: "w".into(),
        events: events
            .iter()
            .map(|&(v, k, val)| ((v, k.to_string()), Some(val.to_string())))
            .collect(),
        gaps,
        ..WatchLog::default()
    };
    let all = [(5, "reg/0", "a"), (7, "reg/1", "b"), (9, "reg/0", "c")];
    assert!(check(&[log(&all, vec![])], &history).is_empty());
    // A dropped write is caught, unless an error event covered its version.
    let missing = check(&[log(&all[..2], vec![])], &history);
    assert!(missing.len() == 1 && missing[0].contains("@9"), "{missing:?}");
    assert!(check(&[log(&all[..2], vec![(7, 9)])], &history).is_empty());
    // A value nobody wrote is caught.
    let foreign = check(
        &[log(&[(5, "reg/0", "a"), (7, "reg/1", "b"), (9, "reg/0", "zz")], vec![])],
        &history,
    );
    assert!(foreign.iter().any(|p| p.contains("no client wrote")), "{foreign:?}");
}

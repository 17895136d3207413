//! The mixed side workload of the fault runs: TTL keys, batches and paged scans, next to the
//! register clients of `harness.rs`, each checked by what the product promises under faults
//! and clock skew. Owns the `ttl/` and `batch/` prefixes; reads `once/` (the register
//! clients' once-only writes) and touches nothing else.
//!
//! - **TTL keys** (`ttl/c/seq`, 1-3 s): for an acknowledged set called at C, returned at R,
//!   with TTL T, the leader stamps the expiry E within [C+T, R+T]. A linearizable read called
//!   after R+T+[`MARGIN`] must not find the key (visible after expiry); one called after R
//!   that returns before C+T-MARGIN must find it (a live key hidden), except by the documented
//!   jump of the cluster clock when leadership passes to a member whose clock is ahead
//!   (docs/http-api.md: keys set under the old leader expire up to the skew early), counted
//!   apart; symmetrically a key seen up to the skew after its expiry (the cluster clock
//!   handed back from a fast member to slower ones by a full restart or a leader change) is
//!   counted apart; a read that finds the key after an earlier read (returned before it was called)
//!   did not is a revival; `ttl_ms` never exceeds T. At the end every member's `local` scan
//!   of `ttl/` empties within a deadline.
//! - **Batches** (`batch/c/seq/i`, 2-5 sets in one `POST /api/v1/batch`): acknowledged, all
//!   its keys are present at the end; outcome unknown, all or none; refused, none.
//! - **Scans** of `once/` (linearizable, the default, paged with `after=`): every once-only
//!   write acknowledged before the scan was called is in its result.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};

use super::harness::{Recorder, CLIENT_TIMEOUT};
use crate::support::{enc, wait_until, Http};

/// Scheduling slack allowed around the TTL bounds: a request's own time on the wire and a
/// follower's apply delay.
const MARGIN: Duration = Duration::from_millis(300);

/// The longest TTL the workload gives a key.
const MAX_TTL_MS: u64 = 3000;

/// Keys per page of the end checks' scans.
const PAGE: usize = 1000;

/// An acknowledged set of a TTL key: when it was called and returned, and its TTL.
#[derive(Debug, Clone)]
struct TtlWrite {
    key: String,
    call: Instant,
    ret: Instant,
    ttl: Duration,
}

/// What a batch's request came back with.
#[derive(Debug, Clone, Copy, PartialEq)]
enum BatchOutcome {
    Acked,
    Unknown,
    Refused,
}

/// Counters of the side workload; every one is printed by [`MixedReport::summary`].
#[derive(Default)]
struct Counts {
    ttl_written: AtomicU64,
    ttl_unknown: AtomicU64,
    ttl_reads: AtomicU64,
    /// Reads that fell in a key's live window (after R, before C+T-MARGIN).
    ttl_live_checked: AtomicU64,
    /// Reads that fell after a key's expiry window (after R+T+MARGIN).
    ttl_expired_checked: AtomicU64,
    /// Live keys hidden early, but within the documented skew jump.
    ttl_early_in_skew: AtomicU64,
    /// Keys still seen after their expiry, but within the documented skew (a full restart
    /// or a leader change hands the cluster clock from a fast member back to slower ones).
    ttl_late_in_skew: AtomicU64,
    batches_acked: AtomicU64,
    batches_unknown: AtomicU64,
    batches_refused: AtomicU64,
    scans: AtomicU64,
    scans_failed: AtomicU64,
    scan_pages: AtomicU64,
}

/// What the side clients share: the log of acknowledged writes, counters and problems.
struct Shared {
    counts: Counts,
    ttl_acked: Mutex<Vec<TtlWrite>>,
    /// Per TTL key, when the latest read that did not find it returned.
    ttl_gone: Mutex<HashMap<String, Instant>>,
    batches: Mutex<Vec<(Vec<String>, BatchOutcome)>>,
    problems: Mutex<Vec<String>>,
    /// How far the cluster clock may jump forward at a leader change (the skew, if ahead).
    skew_allowance: Duration,
    /// When the side workload started: problems and [`Mixed::elapsed_ms`] count from here.
    epoch: Instant,
}

impl Shared {
    /// Notes a violation, stamped with the time into the run.
    fn problem(&self, what: String) {
        let at = self.epoch.elapsed().as_millis();
        self.problems.lock().unwrap().push(format!("[{at} ms] {what}"));
    }
}

/// The side clients, running until [`Mixed::stop`].
pub(crate) struct Mixed {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
    urls: Vec<String>,
}

impl Mixed {
    /// One client per member in `bind` (writing through that member, reading from any of
    /// `urls`), doing TTL sets and reads, batches and now and then a scan of `once/`, paced a
    /// few milliseconds apart. `skew` is the member skew the run uses (libfaketime's form):
    /// early expiry within its size is counted apart, not as a violation.
    pub(crate) fn start(rec: &Arc<Recorder>, urls: &[String], bind: &[usize], skew: Option<&str>) -> Mixed {
        Mixed::start_allowing(rec, urls, bind, skew.map(skew_size).unwrap_or_default())
    }

    /// Like [`Mixed::start`], with the allowance for the cluster clock's forward jumps given
    /// directly (for clocks that drift or jump rather than sit at one offset).
    pub(crate) fn start_allowing(rec: &Arc<Recorder>, urls: &[String], bind: &[usize], allowance: Duration) -> Mixed {
        let shared = Arc::new(Shared {
            counts: Counts::default(),
            ttl_acked: Mutex::new(Vec::new()),
            ttl_gone: Mutex::new(HashMap::new()),
            batches: Mutex::new(Vec::new()),
            problems: Mutex::new(Vec::new()),
            skew_allowance: allowance,
            epoch: Instant::now(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let threads = bind
            .iter()
            .enumerate()
            .map(|(c, &member)| {
                let (rec, stop, shared) = (rec.clone(), stop.clone(), shared.clone());
                let readers: Vec<Http> = urls.iter().map(|u| Http::with_timeout(u, CLIENT_TIMEOUT)).collect();
                let own = readers[member].clone();
                std::thread::spawn(move || {
                    let mut rng = SmallRng::seed_from_u64(c as u64 * 104_729 + 17);
                    let mut seq = 0u64;
                    let mut next_scan = Instant::now() + Duration::from_secs(1);
                    while !stop.load(Ordering::Relaxed) {
                        seq += 1;
                        let reader = &readers[rng.gen_range(0..readers.len())];
                        if Instant::now() >= next_scan {
                            scan_once(&shared, &rec, reader);
                            next_scan = Instant::now() + Duration::from_millis(rng.gen_range(500..2000));
                        }
                        match rng.gen_range(0..100) {
                            0..=39 => set_ttl(
                                &shared,
                                &own,
                                format!("ttl/{c}/{seq}"),
                                rng.gen_range(1000..=MAX_TTL_MS),
                            ),
                            40..=84 => read_ttl(&shared, reader, &mut rng),
                            _ => batch(&shared, &own, c, seq, rng.gen_range(2..=5)),
                        }
                        // Load shaping, not waiting for a state.
                        std::thread::sleep(Duration::from_millis(rng.gen_range(2..12)));
                    }
                })
            })
            .collect();
        Mixed {
            stop,
            threads,
            shared,
            urls: urls.to_vec(),
        }
    }

    /// Whether the workload has done enough of each kind for its checks to mean anything
    /// (a loaded machine or a slow member can leave a short run below that).
    pub(crate) fn did_enough(&self) -> bool {
        minimums(&self.shared.counts_snapshot())
            .iter()
            .all(|&(_, done, least)| done >= least)
    }

    /// Milliseconds since the side workload started (the clock its problems are stamped with).
    pub(crate) fn elapsed_ms(&self) -> u128 {
        self.shared.epoch.elapsed().as_millis()
    }

    /// Stops the clients, then runs the end checks against the healed cluster: the batches'
    /// keys on every member, and every member's `ttl/` emptying once the last TTL has passed.
    pub(crate) fn finish(self) -> MixedReport {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
        let shared = self.shared;
        for (i, url) in self.urls.iter().enumerate() {
            let http = Http::new(url);
            let present: HashSet<String> = match scan_all(&http, "batch/", "linearizable") {
                Ok((keys, _)) => keys.into_iter().collect(),
                Err(e) => {
                    shared.problem(format!("member {i}: the final scan of batch/ failed: {e}"));
                    continue;
                }
            };
            for (keys, outcome) in shared.batches.lock().unwrap().iter() {
                let found = keys.iter().filter(|k| present.contains(*k)).count();
                let fine = match outcome {
                    BatchOutcome::Acked => found == keys.len(),
                    BatchOutcome::Unknown => found == 0 || found == keys.len(),
                    BatchOutcome::Refused => found == 0,
                };
                if !fine {
                    shared.problem(format!(
                        "member {i}: batch {keys:?} ({outcome:?}) has {found} of its {} keys",
                        keys.len()
                    ));
                }
            }
        }
        // Every replica drops the same keys: each member's local view of ttl/ empties once
        // the longest TTL (and a purge) has passed since the last acknowledged set.
        let mut left = Vec::new();
        let emptied = wait_until(
            Duration::from_millis(MAX_TTL_MS) + shared.skew_allowance + Duration::from_secs(30),
            || {
                left = self
                    .urls
                    .iter()
                    .map(|u| scan_all(&Http::new(u), "ttl/", "local").map_or(usize::MAX, |(k, _)| k.len()))
                    .collect();
                left.iter().all(|&n| n == 0)
            },
        );
        if !emptied {
            shared.problem(format!(
                "ttl/ never emptied on every member: keys left per member {left:?}"
            ));
        }
        let problems = shared.problems.lock().unwrap().clone();
        MixedReport {
            counts: shared.counts_snapshot(),
            problems,
        }
    }
}

impl Shared {
    fn counts_snapshot(&self) -> [u64; 13] {
        let c = &self.counts;
        [
            &c.ttl_written,
            &c.ttl_unknown,
            &c.ttl_reads,
            &c.ttl_live_checked,
            &c.ttl_expired_checked,
            &c.ttl_early_in_skew,
            &c.ttl_late_in_skew,
            &c.batches_acked,
            &c.batches_unknown,
            &c.batches_refused,
            &c.scans,
            &c.scans_failed,
            &c.scan_pages,
        ]
        .map(|a| a.load(Ordering::Relaxed))
    }
}

/// The side workload's figures and the violations found.
pub(crate) struct MixedReport {
    counts: [u64; 13],
    pub(crate) problems: Vec<String>,
}

impl MixedReport {
    /// One line of figures for the run's summary.
    pub(crate) fn summary(&self) -> String {
        let [written, unknown, reads, live, expired, early, late, b_ok, b_unknown, b_refused, scans, s_failed, pages] =
            self.counts;
        format!(
            "ttl keys written {written} (and {unknown} not acknowledged), read {reads} (in the live window {live}, \
             past expiry {expired}, hidden early within the skew jump {early}, seen late within the skew {late}); batches acked {b_ok} / \
             unknown {b_unknown} / refused {b_refused}; scans of once/ {scans} ({pages} pages, failed \
             {s_failed}); violations {}",
            self.problems.len()
        )
    }

    /// Panics with the violations, or when too few operations ran for the checks to mean
    /// anything.
    pub(crate) fn assert_ok(&self) {
        assert!(
            self.problems.is_empty(),
            "mixed workload violations ({}):\n{}",
            self.problems.len(),
            self.problems.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
        );
        for (what, got, least) in minimums(&self.counts) {
            assert!(got >= least, "too few {what} to mean anything: {got} < {least}");
        }
    }
}

/// What the side workload must have done for its checks to mean anything: `(what, done,
/// least)` for each kind, from the counts.
fn minimums(counts: &[u64; 13]) -> [(&'static str, u64, u64); 6] {
    let [written, _, reads, live, expired, _, _, b_ok, _, _, scans, _, _] = *counts;
    [
        ("TTL keys written", written, 50),
        ("TTL reads", reads, 100),
        ("TTL reads in a live window", live, 20),
        ("TTL reads past expiry", expired, 20),
        ("batches acknowledged", b_ok, 20),
        ("scans of once/", scans, 5),
    ]
}

/// The size of a libfaketime skew like `+2s`, `-1500ms`: how far the cluster clock may jump.
pub(crate) fn skew_size(skew: &str) -> Duration {
    let raw = skew.trim_start_matches(['+', '-']);
    humantime::parse_duration(raw).unwrap_or_else(|e| panic!("skew {skew:?} is not like +2s or -2s: {e}"))
}

/// Sets `key` with a TTL of `ttl_ms` through `http`; remembers it when acknowledged.
fn set_ttl(shared: &Shared, http: &Http, key: String, ttl_ms: u64) {
    let body = json!({"key": key, "value": "t", "ttl_ms": ttl_ms});
    let call = Instant::now();
    let answer = post(http, "/api/v1/set", &body);
    let ret = Instant::now();
    match answer {
        Ok((200, _)) => {
            shared.counts.ttl_written.fetch_add(1, Ordering::Relaxed);
            shared.ttl_acked.lock().unwrap().push(TtlWrite {
                key,
                call,
                ret,
                ttl: Duration::from_millis(ttl_ms),
            });
        }
        Ok((status, v)) if (400..500).contains(&status) => {
            shared.problem(format!("set {key} with ttl {ttl_ms}: refused with {status}: {v}"))
        }
        // Never sent, or may have been applied: not checked.
        _ => {
            shared.counts.ttl_unknown.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Reads a recently acknowledged TTL key (the newest, or one of the last hundred) through
/// `http` linearizably and checks the answer against its expiry window.
fn read_ttl(shared: &Shared, http: &Http, rng: &mut SmallRng) {
    let w = {
        let acked = shared.ttl_acked.lock().unwrap();
        if acked.is_empty() {
            return;
        }
        // A key acknowledged some 0-2.5 s ago (mostly live) or 3.5-8 s ago (past its
        // expiry); acknowledgements are pushed in about the order of their returns.
        let age = if rng.gen_bool(0.5) { 0..2500 } else { 3500..8000 };
        let since = Instant::now().checked_sub(Duration::from_millis(rng.gen_range(age)));
        let i = since.map_or(0, |t| acked.partition_point(|w| w.ret <= t));
        acked[i.min(acked.len() - 1)].clone()
    };
    let call = Instant::now();
    let answer = http.try_send(Method::GET, &format!("/api/v1/get/{}", enc(&w.key)), None, None);
    let ret = Instant::now();
    let found = match answer {
        Ok((200, v)) => Some(v["data"]["ttl_ms"].as_u64()),
        Ok((404, v)) if v["error"]["code"] == "KEY_NOT_FOUND" => None,
        // A failed read tells nothing.
        _ => return,
    };
    shared.counts.ttl_reads.fetch_add(1, Ordering::Relaxed);
    let at = |t: Instant| {
        format!(
            "{} ms after the set was called",
            t.saturating_duration_since(w.call).as_millis()
        )
    };
    let what = format!(
        "GET {} on {} (ttl {:?}, set acknowledged after {} ms), called {}, returned {}",
        w.key,
        http.base(),
        w.ttl,
        (w.ret - w.call).as_millis(),
        at(call),
        at(ret)
    );
    let expired_from = w.ret + w.ttl + MARGIN;
    let live_until = w.call + w.ttl - MARGIN.min(w.ttl);
    if call > expired_from {
        shared.counts.ttl_expired_checked.fetch_add(1, Ordering::Relaxed);
    }
    if ret < live_until {
        shared.counts.ttl_live_checked.fetch_add(1, Ordering::Relaxed);
    }
    match found {
        Some(ttl_ms) => {
            if call > expired_from + shared.skew_allowance {
                shared.problem(format!("{what}: found the key after its expiry (ttl_ms {ttl_ms:?})"));
            } else if call > expired_from {
                shared.counts.ttl_late_in_skew.fetch_add(1, Ordering::Relaxed);
            }
            match ttl_ms {
                Some(ms) if ms > w.ttl.as_millis() as u64 => {
                    shared.problem(format!("{what}: ttl_ms {ms} is above the TTL"))
                }
                Some(_) => {}
                None => shared.problem(format!("{what}: no ttl_ms on a key with a TTL")),
            }
            if let Some(gone) = shared.ttl_gone.lock().unwrap().get(&w.key) {
                if *gone < call {
                    shared.problem(format!(
                        "{what}: found the key after a read that returned {} did not (revived)",
                        at(*gone)
                    ));
                }
            }
        }
        None => {
            if ret < live_until {
                if ret + shared.skew_allowance < live_until {
                    shared.problem(format!("{what}: KEY_NOT_FOUND for a live key"));
                } else {
                    shared.counts.ttl_early_in_skew.fetch_add(1, Ordering::Relaxed);
                }
            }
            let mut gone = shared.ttl_gone.lock().unwrap();
            let latest = gone.entry(w.key.clone()).or_insert(ret);
            *latest = (*latest).min(ret);
        }
    }
}

/// Sends one batch of `n` sets of fresh keys through `http` and notes its outcome.
fn batch(shared: &Shared, http: &Http, client: usize, seq: u64, n: usize) {
    let keys: Vec<String> = (0..n).map(|i| format!("batch/{client}/{seq}/{i}")).collect();
    let ops: Vec<Value> = keys
        .iter()
        .map(|k| json!({"op": "set", "key": k, "value": "b"}))
        .collect();
    let outcome = match post(http, "/api/v1/batch", &json!({ "ops": ops })) {
        Ok((200, _)) => BatchOutcome::Acked,
        Ok((status, _)) if (400..500).contains(&status) => BatchOutcome::Refused,
        // Never connected: certainly not applied.
        Err(e) if e.is_connect() => BatchOutcome::Refused,
        _ => BatchOutcome::Unknown,
    };
    let counter = match outcome {
        BatchOutcome::Acked => &shared.counts.batches_acked,
        BatchOutcome::Unknown => &shared.counts.batches_unknown,
        BatchOutcome::Refused => &shared.counts.batches_refused,
    };
    counter.fetch_add(1, Ordering::Relaxed);
    shared.batches.lock().unwrap().push((keys, outcome));
}

/// Scans `once/` linearizably through `http`, page by page, and checks that every once-only
/// write acknowledged before the call is in the result. A scan with a failed page is counted
/// and not checked.
fn scan_once(shared: &Shared, rec: &Recorder, http: &Http) {
    let acked = rec.acked_unique_keys();
    // About ten pages, whatever the run's length.
    let page = (acked.len() / 10).max(10);
    match scan_paged(http, "once/", "linearizable", page) {
        Ok((keys, pages)) => {
            shared.counts.scans.fetch_add(1, Ordering::Relaxed);
            shared.counts.scan_pages.fetch_add(pages, Ordering::Relaxed);
            let seen: HashSet<String> = keys.into_iter().collect();
            let missing: Vec<&String> = acked.iter().filter(|k| !seen.contains(*k)).collect();
            if !missing.is_empty() {
                shared.problem(format!(
                    "scan of once/ on {} misses {} once-only writes acknowledged before it was called: {:?}",
                    http.base(),
                    missing.len(),
                    missing.iter().take(10).collect::<Vec<_>>()
                ));
            }
        }
        Err(_) => {
            shared.counts.scans_failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Every key under `prefix` through `http` at `consistency`, following `next` from page to
/// page; with the number of pages. An `Err` says which page failed and how.
pub(crate) fn scan_all(http: &Http, prefix: &str, consistency: &str) -> Result<(Vec<String>, u64), String> {
    scan_paged(http, prefix, consistency, PAGE)
}

/// [`scan_all`] in pages of `page` keys.
fn scan_paged(http: &Http, prefix: &str, consistency: &str, page: usize) -> Result<(Vec<String>, u64), String> {
    let mut keys = Vec::new();
    let mut after: Option<String> = None;
    for n in 1.. {
        let path = format!(
            "/api/v1/keys?prefix={}&limit={page}&consistency={consistency}{}",
            enc(prefix),
            after
                .as_deref()
                .map(|a| format!("&after={}", enc(a)))
                .unwrap_or_default()
        );
        let v = match http.try_send(Method::GET, &path, None, None) {
            Ok((200, v)) => v,
            Ok((status, v)) => return Err(format!("page {n}: {status} {v}")),
            Err(e) => return Err(format!("page {n}: {e}")),
        };
        let data = &v["data"];
        keys.extend(
            data["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["key"].as_str().unwrap().to_string()),
        );
        if data["truncated"] != true {
            return Ok((keys, n));
        }
        after = Some(data["next"].as_str().unwrap().to_string());
    }
    unreachable!("the page loop ends by returning")
}

/// `POST path` with `body` as JSON; an `Err` when no HTTP answer came back.
fn post(http: &Http, path: &str, body: &Value) -> Result<(u16, Value), reqwest::Error> {
    http.try_send(
        Method::POST,
        path,
        Some("application/json"),
        Some(body.to_string().into_bytes()),
    )
}

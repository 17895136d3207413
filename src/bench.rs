//! `dcache bench`'s engine: a closed-loop load generator over the client API. Each client
//! task keeps one request in flight and tallies its own figures (an HDR histogram per kind
//! of request, a per-second timeline, errors by kind), merged once the run ends, so the hot
//! path shares nothing but two progress counters. No printing here: the command glue shows
//! progress and renders the [`BenchReport`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::client::{Access, Client, ClientError};
use crate::types::{Consistency, ErrorCode};

mod report;
pub use report::{BenchReport, Bucket, ErrorCount, Latency, OpReport, PrefillReport, Second};

/// The text in front of every key a run touches unless `--key-prefix` says otherwise.
pub const DEFAULT_KEY_PREFIX: &str = "bench-";

/// How many buckets [`BenchReport::histogram_us`] has at most.
const HISTOGRAM_BUCKETS: usize = 10;

/// Seconds the timeline covers (a day); requests finished later are counted everywhere but
/// there, which keeps each client's tally small however long the run.
const MAX_TIMELINE_SECS: usize = 24 * 3600;

/// Largest latency a histogram holds exactly (60 s); longer ones count as 60 s.
const MAX_LATENCY_US: u64 = 60_000_000;

/// What the clients send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Only sets.
    Set,
    /// Only gets (the key space is written once first).
    Get,
    /// Gets with probability `read_ratio`, sets otherwise.
    Mixed,
}

/// When to stop.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    After(Duration),
    Requests(u64),
}

/// A benchmark run's parameters.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub endpoints: Vec<String>,
    pub clients: usize,
    pub stop: Stop,
    pub workload: Workload,
    pub read_ratio: f64,
    pub key_space: u64,
    /// Keys are this prefix followed by an 8-digit number below `key_space`.
    pub key_prefix: String,
    pub value_size: usize,
    pub consistency: Consistency,
    pub timeout: Duration,
    pub prefill: bool,
    /// Token and CA certificates for every request.
    pub access: Access,
}

/// Live counters the caller may read while the run is going (for a progress display).
#[derive(Debug, Default)]
pub struct Progress {
    /// Requests answered successfully so far.
    pub done: AtomicU64,
    /// Requests failed so far.
    pub errors: AtomicU64,
    /// Keys written so far by [`Bench::prefill`].
    pub prefilled: AtomicU64,
}

/// Errors that stop a run before it measures anything.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("invalid options: {0}")]
    Options(String),
}

/// A run ready to start: checked options and one client per endpoint, the first of which
/// has answered `/health`.
pub struct Bench {
    opts: BenchOptions,
    clients: Vec<Client>,
    value: Arc<str>,
    prefill: Option<PrefillReport>,
}

impl Bench {
    /// Checks `opts` and that the first endpoint answers, so a wrong `--server` fails at
    /// once with the client's own message.
    pub async fn connect(opts: BenchOptions) -> Result<Bench, BenchError> {
        if opts.clients == 0 || opts.endpoints.is_empty() || opts.key_space == 0 {
            return Err(BenchError::Options(
                "clients, endpoints and key space must not be empty".into(),
            ));
        }
        if !(0.0..=1.0).contains(&opts.read_ratio) {
            return Err(BenchError::Options(format!(
                "read ratio {} is not within 0..1",
                opts.read_ratio
            )));
        }
        let clients: Vec<Client> = opts
            .endpoints
            .iter()
            .map(|e| Client::new(e, opts.timeout, &opts.access))
            .collect::<Result<_, _>>()?;
        if let Some(first) = clients.first() {
            first.health().await?;
        }
        let value: Arc<str> = Arc::from("x".repeat(opts.value_size));
        Ok(Bench {
            opts,
            clients,
            value,
            prefill: None,
        })
    }

    /// How many keys [`Bench::prefill`] writes: the whole key space before a get or mixed
    /// run, none before a set run or with prefill off.
    pub fn prefill_keys(&self) -> u64 {
        if self.opts.prefill && self.opts.workload != Workload::Set {
            self.opts.key_space
        } else {
            0
        }
    }

    /// Writes every key of the key space once, with up to 64 clients, counting written keys
    /// in `progress.prefilled`; stops at the first failed write. The time it took goes into
    /// the report of the run that follows.
    pub async fn prefill(&mut self, progress: Arc<Progress>) -> Result<&PrefillReport, BenchError> {
        let started = Instant::now();
        let space = self.prefill_keys();
        let next = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for i in 0..self.opts.clients.min(64) {
            let client = self.clients[i % self.clients.len()].clone();
            let (next, value, progress) = (next.clone(), self.value.clone(), progress.clone());
            let prefix = self.opts.key_prefix.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= space {
                        return Ok::<_, ClientError>(());
                    }
                    client.set(key(&prefix, k).as_bytes(), value.as_bytes()).await?;
                    progress.prefilled.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        for t in tasks {
            if let Ok(r) = t.await {
                r?;
            }
        }
        Ok(self.prefill.insert(PrefillReport {
            keys: space,
            elapsed_secs: started.elapsed().as_secs_f64(),
        }))
    }

    /// Runs the measured part: every client in a closed loop until the stop condition;
    /// `progress` is updated as requests complete. Failed requests are counted, not
    /// returned: the report says how many failed and why.
    pub async fn run(&self, progress: Arc<Progress>) -> BenchReport {
        let opts = &self.opts;
        let started = Instant::now();
        let issued = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::with_capacity(opts.clients);
        for i in 0..opts.clients {
            let client = self.clients[i % self.clients.len()].clone();
            let (opts, value, issued, progress) = (opts.clone(), self.value.clone(), issued.clone(), progress.clone());
            tasks.push(tokio::spawn(client_loop(
                client, opts, value, started, issued, progress,
            )));
        }
        let mut total = Tally::default();
        for task in tasks {
            if let Ok(tally) = task.await {
                total.merge(tally);
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        total.report(opts, elapsed, self.prefill.clone())
    }
}

fn key(prefix: &str, i: u64) -> String {
    format!("{prefix}{i:08}")
}

/// The kind of a failed request, for [`BenchReport::errors_by_kind`]: `timeout` (no answer
/// within --timeout), `unreachable` (no connection: refused, reset, no route), `no leader`,
/// `HTTP STATUS CODE` for any other error answer, `tls` for a certificate or scheme
/// problem, `bad answer` for an answer that is not dcache's, and `refused by the client`
/// for a request the CLI would not send.
pub fn error_kind(e: &ClientError) -> String {
    match e {
        ClientError::Timeout { .. } => "timeout".into(),
        ClientError::Unreachable { .. } => "unreachable".into(),
        ClientError::Api {
            code: ErrorCode::NoLeader,
            ..
        } => "no leader".into(),
        ClientError::Api { status, code, .. } => format!("HTTP {status} {code}"),
        ClientError::Untrusted { .. } | ClientError::WrongScheme { .. } => "tls".into(),
        ClientError::Protocol { .. } => "bad answer".into(),
        ClientError::AllEndpoints { last, .. } | ClientError::WatchLost { last, .. } => error_kind(last),
        ClientError::BadUrl { .. } | ClientError::BadCaCert { .. } | ClientError::TokenWithheld { .. } => {
            "refused by the client".into()
        }
    }
}

/// A histogram for latencies from 1 µs to [`MAX_LATENCY_US`]; `None` only if hdrhistogram
/// refused these fixed bounds, in which case latencies go unrecorded rather than panic.
fn new_histogram() -> Option<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).ok()
}

/// One kind of request's counts and latencies, as one client task or the whole run saw them.
#[derive(Default)]
struct OpTally {
    ok: u64,
    errors: u64,
    latency: Option<Histogram<u64>>,
}

impl OpTally {
    fn record(&mut self, latency: Duration) {
        if self.latency.is_none() {
            self.latency = new_histogram();
        }
        if let Some(h) = self.latency.as_mut() {
            h.saturating_record(latency.as_micros().clamp(1, u128::from(MAX_LATENCY_US)) as u64);
        }
        self.ok += 1;
    }

    fn merge(&mut self, other: OpTally) {
        self.ok += other.ok;
        self.errors += other.errors;
        match (self.latency.as_mut(), other.latency) {
            (Some(mine), Some(theirs)) => {
                // Same bounds on both sides, so adding cannot fail; if it did, the
                // percentiles would only miss that task's samples.
                let _ = mine.add(&theirs);
            }
            (None, theirs) => self.latency = theirs,
            (Some(_), None) => {}
        }
    }

    fn report(&self, elapsed: f64) -> OpReport {
        OpReport {
            ops: self.ok,
            errors: self.errors,
            ops_per_sec: per_second(self.ok, elapsed),
            latency_us: latency_of(self.latency.as_ref()),
        }
    }
}

/// Everything one client task (or, merged, the whole run) measured.
#[derive(Default)]
struct Tally {
    get: OpTally,
    set: OpTally,
    /// Index = second of the run; (ok, errors) finished in it.
    timeline: Vec<(u64, u64)>,
    /// Kind -> (count, first message).
    errors: BTreeMap<String, (u64, String)>,
    first_error: Option<String>,
}

impl Tally {
    fn record(&mut self, read: bool, result: Result<Duration, &ClientError>, second: u64) {
        let slot = usize::try_from(second).unwrap_or(usize::MAX);
        if self.timeline.len() <= slot && slot < MAX_TIMELINE_SECS {
            self.timeline.resize(slot + 1, (0, 0));
        }
        let op = if read { &mut self.get } else { &mut self.set };
        match result {
            Ok(latency) => {
                op.record(latency);
                if let Some(s) = self.timeline.get_mut(slot) {
                    s.0 += 1;
                }
            }
            Err(e) => {
                op.errors += 1;
                if let Some(s) = self.timeline.get_mut(slot) {
                    s.1 += 1;
                }
                let entry = self.errors.entry(error_kind(e)).or_insert_with(|| (0, e.to_string()));
                entry.0 += 1;
                self.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        self.get.merge(other.get);
        self.set.merge(other.set);
        if self.timeline.len() < other.timeline.len() {
            self.timeline.resize(other.timeline.len(), (0, 0));
        }
        for (mine, theirs) in self.timeline.iter_mut().zip(other.timeline) {
            mine.0 += theirs.0;
            mine.1 += theirs.1;
        }
        for (kind, (count, example)) in other.errors {
            self.errors.entry(kind).or_insert((0, example)).0 += count;
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn report(self, opts: &BenchOptions, elapsed: f64, prefill: Option<PrefillReport>) -> BenchReport {
        let mut all = OpTally::default();
        for op in [&self.get, &self.set] {
            all.merge(OpTally {
                ok: op.ok,
                errors: op.errors,
                latency: op.latency.clone(),
            });
        }
        let (reads, writes) = match opts.workload {
            Workload::Get => (true, false),
            Workload::Set => (false, true),
            Workload::Mixed => (true, true),
        };
        let mut errors_by_kind: Vec<ErrorCount> = self
            .errors
            .into_iter()
            .map(|(kind, (count, example))| ErrorCount { kind, count, example })
            .collect();
        errors_by_kind.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.kind.cmp(&b.kind)));
        BenchReport {
            workload: opts.workload,
            clients: opts.clients,
            key_prefix: opts.key_prefix.clone(),
            ops: all.ok,
            errors: all.errors,
            elapsed_secs: elapsed,
            ops_per_sec: per_second(all.ok, elapsed),
            latency_us: latency_of(all.latency.as_ref()),
            get: reads.then(|| self.get.report(elapsed)),
            set: writes.then(|| self.set.report(elapsed)),
            histogram_us: all.latency.as_ref().map(buckets).unwrap_or_default(),
            timeline: self
                .timeline
                .into_iter()
                .enumerate()
                .map(|(i, (ok, errors))| Second {
                    second: i as u64,
                    ok,
                    errors,
                })
                .collect(),
            errors_by_kind,
            prefill,
            first_error: self.first_error,
        }
    }
}

fn per_second(n: u64, elapsed: f64) -> f64 {
    if elapsed > 0.0 {
        n as f64 / elapsed
    } else {
        0.0
    }
}

/// One closed-loop client: sends a request, waits for the answer, records it, until
/// `opts.stop` says the run is over; returns what it measured.
async fn client_loop(
    client: Client,
    opts: BenchOptions,
    value: Arc<str>,
    started: Instant,
    issued: Arc<AtomicU64>,
    progress: Arc<Progress>,
) -> Tally {
    let mut tally = Tally::default();
    let mut rng = rand::rngs::SmallRng::from_entropy();
    loop {
        match opts.stop {
            Stop::After(d) if started.elapsed() >= d => break,
            Stop::Requests(n) if issued.fetch_add(1, Ordering::Relaxed) >= n => break,
            _ => {}
        }
        let k = key(&opts.key_prefix, rng.gen_range(0..opts.key_space));
        let read = match opts.workload {
            Workload::Set => false,
            Workload::Get => true,
            Workload::Mixed => rng.gen_bool(opts.read_ratio),
        };
        let t0 = Instant::now();
        let result = if read {
            match client.get(k.as_bytes(), opts.consistency).await {
                Err(e) if e.is_not_found() => Ok(()),
                other => other.map(|_| ()),
            }
        } else {
            client.set(k.as_bytes(), value.as_bytes()).await.map(|_| ())
        };
        let latency = t0.elapsed();
        let second = started.elapsed().as_secs();
        match &result {
            Ok(()) => progress.done.fetch_add(1, Ordering::Relaxed),
            Err(_) => progress.errors.fetch_add(1, Ordering::Relaxed),
        };
        tally.record(read, result.as_ref().map(|()| latency), second);
    }
    tally
}

/// Percentiles of `hist`; all zero without one or without samples.
fn latency_of(hist: Option<&Histogram<u64>>) -> Latency {
    match hist {
        Some(h) if !h.is_empty() => Latency {
            min: h.min(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        },
        _ => Latency::default(),
    }
}

/// Up to [`HISTOGRAM_BUCKETS`] buckets from the fastest to the slowest sample, their upper
/// bounds spaced evenly on a log scale (evenly in value when the spread is small, as the
/// bounds are rounded to whole microseconds and merged when equal). Empty without samples.
fn buckets(h: &Histogram<u64>) -> Vec<Bucket> {
    if h.is_empty() {
        return Vec::new();
    }
    let (lo, hi) = (h.min().max(1), h.max().max(1));
    let ratio = (hi as f64 / lo as f64).powf(1.0 / HISTOGRAM_BUCKETS as f64);
    let mut uppers: Vec<u64> = (1..HISTOGRAM_BUCKETS)
        .map(|i| (lo as f64 * ratio.powi(i as i32)).round() as u64)
        .chain(std::iter::once(hi))
        .collect();
    uppers.dedup();
    let mut out: Vec<Bucket> = uppers
        .into_iter()
        .map(|upper_us| Bucket { upper_us, count: 0 })
        .collect();
    for v in h.iter_recorded() {
        let value = h.highest_equivalent(v.value_iterated_to()).min(hi);
        let i = out.partition_point(|b| b.upper_us < value).min(out.len() - 1);
        out[i].count += v.count_at_value();
    }
    out
}

#[cfg(test)]
mod tests;

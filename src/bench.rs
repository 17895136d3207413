//! `dcache bench`'s engine: a closed-loop load generator over the client API. Each client
//! task keeps one request in flight; latencies go into one HDR histogram per task, merged at
//! the end. No printing here: the command glue shows progress and the report.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::client::{Access, Client, ClientError};
use crate::types::Consistency;

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
    pub value_size: usize,
    pub consistency: Consistency,
    pub timeout: Duration,
    pub prefill: bool,
    /// Token and CA certificates for every request.
    pub access: Access,
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub workload: Workload,
    pub clients: usize,
    pub ops: u64,
    pub errors: u64,
    pub elapsed_secs: f64,
    pub ops_per_sec: f64,
    pub latency_us: Latency,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

/// Live counters the caller may read while the run is going (for a progress display).
#[derive(Debug, Default)]
pub struct Progress {
    pub done: AtomicU64,
    pub errors: AtomicU64,
}

/// Errors that stop a run before it measures anything.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("invalid options: {0}")]
    Options(String),
}

fn key(i: u64) -> String {
    format!("bench-{i:08}")
}

/// Runs the benchmark; `progress` is updated as requests complete.
pub async fn run(opts: &BenchOptions, progress: Arc<Progress>) -> Result<BenchReport, BenchError> {
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
    // Fail fast with a clear message when no endpoint answers.
    clients[0].health().await?;
    let value: Arc<str> = Arc::from("x".repeat(opts.value_size));
    if opts.prefill && opts.workload != Workload::Set {
        prefill(&clients, opts, &value).await?;
    }

    let started = Instant::now();
    let issued = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(opts.clients);
    for i in 0..opts.clients {
        let client = clients[i % clients.len()].clone();
        let (opts, value, issued, progress) = (opts.clone(), value.clone(), issued.clone(), progress.clone());
        tasks.push(tokio::spawn(client_loop(
            client, opts, value, started, issued, progress,
        )));
    }
    let mut total = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).ok();
    let mut first_error = None;
    for task in tasks {
        if let Ok((hist, err)) = task.await {
            if let (Some(t), Some(h)) = (total.as_mut(), hist.as_ref()) {
                let _ = t.add(h);
            }
            if first_error.is_none() {
                first_error = err;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ops = progress.done.load(Ordering::Relaxed);
    let latency = latency_of(total.as_ref());
    Ok(BenchReport {
        workload: opts.workload,
        clients: opts.clients,
        ops,
        errors: progress.errors.load(Ordering::Relaxed),
        elapsed_secs: elapsed,
        ops_per_sec: if elapsed > 0.0 { ops as f64 / elapsed } else { 0.0 },
        latency_us: latency,
        first_error,
    })
}

/// One closed-loop client: sends a request, waits for the answer, records its latency, until
/// `opts.stop` says the run is over; returns its histogram and its first error.
async fn client_loop(
    client: Client,
    opts: BenchOptions,
    value: Arc<str>,
    started: Instant,
    issued: Arc<AtomicU64>,
    progress: Arc<Progress>,
) -> (Option<Histogram<u64>>, Option<String>) {
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).ok();
    let mut first_error = None;
    let mut rng = rand::rngs::SmallRng::from_entropy();
    loop {
        match opts.stop {
            Stop::After(d) if started.elapsed() >= d => break,
            Stop::Requests(n) if issued.fetch_add(1, Ordering::Relaxed) >= n => break,
            _ => {}
        }
        let k = key(rng.gen_range(0..opts.key_space));
        let read = match opts.workload {
            Workload::Set => false,
            Workload::Get => true,
            Workload::Mixed => rng.gen_bool(opts.read_ratio),
        };
        let t0 = Instant::now();
        let result = if read {
            match client.get(&k, opts.consistency).await {
                Err(e) if e.is_not_found() => Ok(()),
                other => other.map(|_| ()),
            }
        } else {
            client.set(&k, value.as_bytes()).await.map(|_| ())
        };
        match result {
            Ok(()) => {
                if let Some(h) = hist.as_mut() {
                    let _ = h.record(t0.elapsed().as_micros().max(1) as u64);
                }
                progress.done.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                progress.errors.fetch_add(1, Ordering::Relaxed);
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    (hist, first_error)
}

/// Percentiles of `hist`; all zero without one or without samples.
fn latency_of(hist: Option<&Histogram<u64>>) -> Latency {
    match hist {
        Some(h) if !h.is_empty() => Latency {
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        },
        _ => Latency {
            p50: 0,
            p90: 0,
            p99: 0,
            p999: 0,
            max: 0,
            mean: 0.0,
        },
    }
}

/// Writes every key of the key space once, with all clients, before a read benchmark.
async fn prefill(clients: &[Client], opts: &BenchOptions, value: &Arc<str>) -> Result<(), BenchError> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..opts.clients.min(64) {
        let (client, next, value, space) = (
            clients[i % clients.len()].clone(),
            next.clone(),
            value.clone(),
            opts.key_space,
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= space {
                    return Ok::<_, ClientError>(());
                }
                client.set(&key(k), value.as_bytes()).await?;
            }
        }));
    }
    for t in tasks {
        if let Ok(r) = t.await {
            r?;
        }
    }
    Ok(())
}

//! What a run reports: rates, latency percentiles and histogram, timeline and errors.

use serde::Serialize;

use super::Workload;

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub min: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

/// The figures of one kind of request (gets or sets).
#[derive(Debug, Clone, Serialize)]
pub struct OpReport {
    pub ops: u64,
    pub errors: u64,
    pub ops_per_sec: f64,
    pub latency_us: Latency,
}

/// One histogram bucket: `count` successful requests that took more than the previous
/// bucket's `upper_us` (the fastest request, for the first bucket) and at most `upper_us`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    pub upper_us: u64,
    pub count: u64,
}

/// The requests that finished within one second of the run (`second` 0 is the first).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Second {
    pub second: u64,
    pub ok: u64,
    pub errors: u64,
}

/// How many requests failed one way, with one of their messages.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorCount {
    /// `timeout`, `unreachable`, `no leader`, `HTTP 503 NOT_READY`, ... (see [`error_kind`](super::error_kind)).
    pub kind: String,
    pub count: u64,
    pub example: String,
}

/// What writing the key space before a get or mixed run took.
#[derive(Debug, Clone, Serialize)]
pub struct PrefillReport {
    pub keys: u64,
    pub elapsed_secs: f64,
}

/// The outcome of a run. `ops`, `errors`, `ops_per_sec` and `latency_us` count every
/// request; `get` and `set` split them by kind (only the kinds the workload sends).
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub workload: Workload,
    pub clients: usize,
    pub key_prefix: String,
    pub ops: u64,
    pub errors: u64,
    pub elapsed_secs: f64,
    pub ops_per_sec: f64,
    pub latency_us: Latency,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub get: Option<OpReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set: Option<OpReport>,
    /// Latencies of the successful requests, in up to ten buckets spaced evenly on a log
    /// scale from the fastest to the slowest (a failover's slow tail stays visible).
    pub histogram_us: Vec<Bucket>,
    /// One entry per second from the start to the end of the run (at most a day's worth),
    /// zeros included, so a stretch with no answers (a leader change) shows as such.
    pub timeline: Vec<Second>,
    /// Failed requests by kind, most frequent first.
    pub errors_by_kind: Vec<ErrorCount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefill: Option<PrefillReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

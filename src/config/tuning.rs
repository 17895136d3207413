//! Raft timing and log compaction: `heartbeat-interval-ms`, `election-timeout-ms`,
//! `snapshot-logs`, and the rules that keep them workable together.

use super::{pick, ConfigError, Sources};

/// Longest `election-timeout-ms` (as etcd, about a minute): Raft multiplies it by four for
/// its timers, and a longer one only means a longer outage when a leader dies.
const MAX_ELECTION_TIMEOUT_MS: u64 = 60_000;

/// Raft timing and log compaction.
#[derive(Debug, Clone)]
pub struct RaftTuning {
    pub heartbeat_interval_ms: u64,
    /// Minimum election timeout; the maximum is twice this.
    pub election_timeout_ms: u64,
    /// Take a snapshot (and purge the log behind it) every this many entries.
    pub snapshot_logs: u64,
}

/// Defaults 100 ms heartbeat, 400 ms election timeout, snapshot every 10,000 entries. The
/// election timeout must be at least twice the heartbeat and at most a minute; snapshots
/// come at least every 10 entries apart.
pub(super) fn load(src: &Sources<'_>) -> Result<RaftTuning, ConfigError> {
    let (args, file) = (src.args, src.file);
    let (v, f) = pick(&args.snapshot_logs, &file.snapshot_logs);
    let snapshot_logs = v.unwrap_or(10_000);
    if snapshot_logs < 10 {
        return Err(src.invalid(
            "snapshot-logs",
            f,
            format!("`{snapshot_logs}` is too small; use at least 10"),
        ));
    }
    let (v, f) = pick(&args.heartbeat_interval_ms, &file.heartbeat_interval_ms);
    let heartbeat_interval_ms = v.unwrap_or(100);
    let (v, fe) = pick(&args.election_timeout_ms, &file.election_timeout_ms);
    let election_timeout_ms = v.unwrap_or(400);
    if election_timeout_ms > MAX_ELECTION_TIMEOUT_MS {
        return Err(src.invalid(
            "election-timeout-ms",
            fe,
            format!("`{election_timeout_ms}` is too long; use at most {MAX_ELECTION_TIMEOUT_MS}"),
        ));
    }
    if heartbeat_interval_ms == 0 || election_timeout_ms < heartbeat_interval_ms.saturating_mul(2) {
        return Err(src.invalid(
            if fe { "election-timeout-ms" } else { "heartbeat-interval-ms" },
            fe || f,
            format!(
                "election timeout {election_timeout_ms} ms must be at least twice the heartbeat interval {heartbeat_interval_ms} ms"
            ),
        ));
    }
    Ok(RaftTuning {
        heartbeat_interval_ms,
        election_timeout_ms,
        snapshot_logs,
    })
}

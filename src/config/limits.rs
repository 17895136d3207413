//! What one request and one connection may cost: key, value and memory bounds, the request
//! timeout, and the per-listener connection limits (`ConnLimits`, defined in `security`).

use std::time::Duration;

use super::security::ConnLimits;
use super::{pick, ConfigError, Sources};

/// Longest `request-timeout` and `header-read-timeout`: deadlines are `now + timeout`, which
/// must stay representable, and anything longer is surely a typo.
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Request limits enforced by the client API.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest key in bytes (default 4 KiB).
    pub max_key_bytes: usize,
    /// Longest value in bytes (default 1 MiB).
    pub max_value_bytes: usize,
    /// Memory bound of the cache in bytes (`max-memory`); `None` = unbounded.
    pub max_memory: Option<u64>,
    /// How long a request may wait for Raft (commit, leader election, forwarding).
    pub request_timeout: Duration,
}

impl Limits {
    /// The largest request a client may send: a maximal key and value with JSON escaping
    /// (which can grow a string up to six times, \uXXXX) plus framing. The HTTP API bounds
    /// bodies by it, the RESP front end requests, the peer API every call but forwarded
    /// writes (see [`Limits::max_operation_bytes`]), appends and snapshots.
    pub fn max_request_bytes(&self) -> usize {
        (self.max_key_bytes.saturating_add(self.max_value_bytes))
            .saturating_mul(6)
            .saturating_add(64 * 1024)
    }

    /// The most one operation (one log entry) may carry on the peer wire: a follower
    /// forwards it to the leader in one message. Eight requests' worth, so that whatever
    /// one request may ask fits, even a `DEL` of many one-byte keys, each of which takes
    /// 7 bytes in RESP and 49 on the wire.
    pub fn max_operation_bytes(&self) -> usize {
        self.max_request_bytes().saturating_mul(8)
    }
}

/// `max-connections` and `max-watchers` (> 0), `max-header-bytes` (1 KiB to 1 MiB) and `header-read-timeout`
/// (100ms to 24h), each defaulting to [`ConnLimits::default`].
pub(super) fn connections(src: &Sources<'_>) -> Result<ConnLimits, ConfigError> {
    let (args, file) = (src.args, src.file);
    let defaults = ConnLimits::default();
    let (v, f) = pick(&args.max_connections, &file.max_connections);
    let max_connections =
        positive(v.unwrap_or(defaults.max_connections)).map_err(|m| src.invalid("max-connections", f, m))?;
    let (v, f) = pick(&args.max_watchers, &file.max_watchers);
    let max_watchers = positive(v.unwrap_or(defaults.max_watchers)).map_err(|m| src.invalid("max-watchers", f, m))?;
    let (v, f) = pick(&args.max_header_bytes, &file.max_header_bytes);
    let max_header_bytes = v.unwrap_or(defaults.max_header_bytes);
    if !(1024..=1024 * 1024).contains(&max_header_bytes) {
        return Err(src.invalid(
            "max-header-bytes",
            f,
            format!("`{max_header_bytes}` is out of range; use 1024 to 1048576"),
        ));
    }
    let (v, f) = pick(&args.header_read_timeout, &file.header_read_timeout);
    let header_read_timeout = match v {
        None => defaults.header_read_timeout,
        Some(s) => duration_in(
            &s,
            Duration::from_millis(100)..=MAX_TIMEOUT,
            "is out of range; use 100ms to 24h",
            "10s",
        )
        .map_err(|m| src.invalid("header-read-timeout", f, m))?,
    };
    Ok(ConnLimits {
        max_connections,
        max_pending: super::security::pending_for(max_connections),
        max_watchers,
        max_header_bytes,
        header_read_timeout,
    })
}

/// Key and value bounds (> 0; defaults 4 KiB and 1 MiB), the memory bound (a size, or
/// `off`; must hold one maximal entry) and the request timeout (default 5s, 10ms to 24h).
pub(super) fn load(src: &Sources<'_>) -> Result<Limits, ConfigError> {
    let (args, file) = (src.args, src.file);
    let (v, f) = pick(&args.max_key_bytes, &file.max_key_bytes);
    let max_key_bytes = positive(v.unwrap_or(4096)).map_err(|m| src.invalid("max-key-bytes", f, m))?;
    let (v, f) = pick(&args.max_value_bytes, &file.max_value_bytes);
    let max_value_bytes = positive(v.unwrap_or(1024 * 1024)).map_err(|m| src.invalid("max-value-bytes", f, m))?;
    let max_memory = max_memory(src, max_key_bytes, max_value_bytes)?;
    let (v, f) = pick(&args.request_timeout, &file.request_timeout);
    let request_timeout = match v {
        None => Duration::from_secs(5),
        Some(s) => duration_in(
            &s,
            // Under 10ms no write could commit in time: every request would time out.
            Duration::from_millis(10)..=MAX_TIMEOUT,
            "is out of range; use 10ms to 24h",
            "500ms, 5s",
        )
        .map_err(|m| src.invalid("request-timeout", f, m))?,
    };
    Ok(Limits {
        max_key_bytes,
        max_value_bytes,
        max_memory,
        request_timeout,
    })
}

/// `max-memory` in bytes; `None` (unbounded) for unset, empty, `off` or `0`.
fn max_memory(src: &Sources<'_>, max_key_bytes: usize, max_value_bytes: usize) -> Result<Option<u64>, ConfigError> {
    let (v, f) = pick(&src.args.max_memory, &src.file.max_memory);
    let max_memory = match v.as_deref().map(str::trim) {
        None | Some("") | Some("off") | Some("0") => None,
        Some(s) => Some(
            s.parse::<bytesize::ByteSize>()
                .map_err(|e| {
                    src.invalid(
                        "max-memory",
                        f,
                        format!("`{s}` is not a size ({e}); e.g. 64MiB, 2GiB, off"),
                    )
                })?
                .as_u64(),
        ),
    };
    let smallest = (max_value_bytes.saturating_add(max_key_bytes) as u64).saturating_add(crate::cache::ENTRY_OVERHEAD);
    if let Some(m) = max_memory.filter(|m| *m < smallest) {
        return Err(src.invalid(
            "max-memory",
            f,
            format!("{m} bytes cannot hold even one maximal entry (max-key-bytes + max-value-bytes); raise it or lower those"),
        ));
    }
    Ok(max_memory)
}

/// Parses a duration that must lie in `range`; `out_of_range` and `example` complete the
/// error messages.
fn duration_in(
    s: &str,
    range: std::ops::RangeInclusive<Duration>,
    out_of_range: &str,
    example: &str,
) -> Result<Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if range.contains(&d) => Ok(d),
        Ok(_) => Err(format!("`{s}` {out_of_range}")),
        Err(e) => Err(format!("`{s}` is not a duration ({e}); e.g. {example}")),
    }
}

fn positive(v: usize) -> Result<usize, String> {
    if v == 0 {
        Err("must be greater than 0".into())
    } else {
        Ok(v)
    }
}

//! The process's file-descriptor budget: raises the soft `RLIMIT_NOFILE` to the hard limit at
//! start, fits the listeners' connection caps under it with a reserve for files, and lets code
//! that meets "too many open files" (EMFILE/ENFILE) report it so listeners shed idle
//! connections. Owns no sockets and no files; `server::listener` and `raft::store` use it.

use std::io;
use std::sync::LazyLock;

use tokio::sync::Notify;

use crate::config::security::ConnLimits;

/// Descriptors kept free for everything that is not a client or peer connection: sled's
/// files, snapshot files being written or read, outgoing peer connections, the log, stdio.
pub const RESERVE: u64 = 64;

/// The fewest descriptors a node can serve with: the reserve plus a handful of connections,
/// pending connections and watchers per listener.
const MINIMUM: u64 = RESERVE + 3 * (4 + 4) + 2;

/// Why the node cannot start under the current limit.
#[derive(Debug, thiserror::Error)]
pub enum FdError {
    #[error(
        "the open-file limit (ulimit -n) is {limit}, too low to serve: a node needs at least {MINIMUM} \
         ({RESERVE} for its files plus a few connections); raise it (e.g. `ulimit -n 4096`, or LimitNOFILE= in systemd)"
    )]
    TooLow { limit: u64 },
}

/// The soft limit before and after [`raise_soft_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raised {
    pub before: u64,
    pub after: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (what systemd and most shells leave
/// unused) and returns both values. If the limit cannot be read or raised, the current soft
/// limit is kept and returned as both (an error only when it cannot even be read).
pub fn raise_soft_limit() -> io::Result<Raised> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(io::Error::from)?;
    if hard > soft && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return Ok(Raised {
            before: soft,
            after: hard,
        });
    }
    Ok(Raised {
        before: soft,
        after: soft,
    })
}

/// Descriptors the caps in `limits` can hold open at once: the three listeners' (client,
/// peer, RESP) connections and pending connections, the watch streams, and [`RESERVE`].
pub fn needed(limits: &ConnLimits) -> u64 {
    let per_listener = (limits.max_connections as u64).saturating_add(limits.max_pending as u64);
    per_listener
        .saturating_mul(3)
        .saturating_add(limits.max_watchers as u64)
        .saturating_add(RESERVE)
}

/// Makes `limits` fit under `limit` descriptors. `Ok(None)` when they already fit;
/// `Ok(Some(warning))` after lowering every cap by the same factor (the warning names the old
/// and new values); an error when even minimal caps cannot fit.
pub fn fit(limits: &mut ConnLimits, limit: u64) -> Result<Option<String>, FdError> {
    if needed(limits) <= limit {
        return Ok(None);
    }
    if limit < MINIMUM {
        return Err(FdError::TooLow { limit });
    }
    let available = limit - RESERVE;
    let wanted = needed(limits) - RESERVE;
    let scale = |v: usize, floor: usize| -> usize {
        // u128: v * available cannot overflow; the result is at most v.
        let scaled = (v as u128 * available as u128 / wanted as u128) as usize;
        scaled.max(floor).min(v)
    };
    let before = limits.clone();
    limits.max_connections = scale(limits.max_connections, 4);
    limits.max_pending = scale(limits.max_pending, 4);
    limits.max_watchers = scale(limits.max_watchers, 2);
    // The floors can push the sum a little past the limit: take it from the connections.
    while needed(limits) > limit && limits.max_connections > 4 {
        limits.max_connections -= 1;
    }
    Ok(Some(format!(
        "the open-file limit (ulimit -n) is {limit}, too low for max-connections {} (+{} pending) per listener and \
         max-watchers {} plus {RESERVE} for files: lowered to max-connections {} (+{} pending) and max-watchers {}; \
         raise the limit (e.g. LimitNOFILE= in systemd) to keep the configured caps",
        before.max_connections,
        before.max_pending,
        before.max_watchers,
        limits.max_connections,
        limits.max_pending,
        limits.max_watchers,
    )))
}

/// Whether `e` is the process (EMFILE) or the system (ENFILE) running out of descriptors:
/// a transient condition to wait out, never a sign of a failing disk.
/// Errors wrapped with context (whose source is the original `io::Error`) are looked through.
pub fn is_exhaustion(e: &io::Error) -> bool {
    let mut error: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(current) = error {
        if let Some(io) = current.downcast_ref::<io::Error>() {
            if matches!(io.raw_os_error(), Some(c) if c == nix::libc::EMFILE || c == nix::libc::ENFILE) {
                return true;
            }
            // A custom io::Error's payload is its `get_ref`, not its `source`.
            if let Some(inner) = io.get_ref() {
                error = Some(inner);
                continue;
            }
        }
        error = current.source();
    }
    false
}

static PRESSURE: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Reports that a descriptor could not be opened: every listener sheds its pending (silent)
/// connections so that the retry finds one free.
pub fn report_exhaustion() {
    PRESSURE.notify_waiters();
}

/// Completes at the next [`report_exhaustion`].
pub async fn exhausted() {
    PRESSURE.notified().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_that_do_not_fit_are_lowered_and_a_tiny_limit_is_refused() {
        let mut limits = ConnLimits::default();
        assert_eq!(fit(&mut limits.clone(), needed(&limits)).ok(), Some(None));
        let warning = fit(&mut limits, 128).unwrap().unwrap();
        assert!(needed(&limits) <= 128, "{limits:?}");
        assert!(warning.contains("ulimit -n) is 128"), "{warning}");
        assert!(limits.max_connections >= 4 && limits.max_watchers >= 2);
        let mut limits = ConnLimits::default();
        assert!(matches!(fit(&mut limits, 70), Err(FdError::TooLow { limit: 70 })));
    }

    #[test]
    fn exhaustion_is_told_through_added_context() {
        #[derive(Debug, thiserror::Error)]
        #[error("opening a file: {0}")]
        struct Context(#[source] io::Error);
        let emfile = || io::Error::from_raw_os_error(nix::libc::EMFILE);
        assert!(is_exhaustion(&emfile()));
        assert!(is_exhaustion(&io::Error::other(Context(emfile()))));
        let enospc = io::Error::from_raw_os_error(nix::libc::ENOSPC);
        assert!(!is_exhaustion(&io::Error::other(Context(enospc))));
        assert!(!is_exhaustion(&io::Error::other("too many open files")));
    }
}

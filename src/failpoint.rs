//! Crash points for the crash-recovery tests: `DCACHE_CRASH_AT=NAME` (or `NAME@N`, the N-th
//! time) makes the node kill itself with SIGKILL when it reaches the point `NAME`, as a power
//! cut or `kill -9` would at exactly that step of a snapshot, a log purge or a membership
//! change. Debug builds only (the test builds): in release builds [`hit`] is empty and the
//! variable is never read.
//!
//! The points, in the order a node meets them:
//! - `snapshot-build-written`: a snapshot body is complete and fsynced, not yet recorded.
//! - `snapshot-recorded`: a new snapshot (built or installed) is recorded durably, older
//!   bodies not yet removed.
//! - `snapshot-install-received`: a snapshot from the leader is received, not yet installed.
//! - `snapshot-install-committed`: it is recorded durably, the cache in memory not replaced.
//! - `log-purge-marked`: the purge point is flushed, the purged entries not yet removed.
//! - `log-purge-done`: the purged entries are removed.
//! - `join-learner-added`: the leader added a joining node as a learner, not yet a voter.
//! - `join-promoted`: the leader made the learner a voter, before answering anyone.
//! - `remove-committed`: the leader committed a member's removal, not yet told it.
//! - `removed-told`: a removed member heard that it was removed, not yet marked its data dir.
//!
//! A slow disk, for the same tests: `DCACHE_TEST_FSYNC_DELAY_FILE=PATH` makes every fsync of
//! the Raft log wait first for the number of milliseconds written in `PATH` (read at each
//! fsync, so a test can slow the disk down and let it recover while the node runs; a missing
//! or unreadable file means no delay). Debug builds only, like the crash points.

/// The environment variable naming the crash point (`NAME` or `NAME@N`).
pub const ENV: &str = "DCACHE_CRASH_AT";

/// Kills this process with SIGKILL if `DCACHE_CRASH_AT` names `point` (and this is the N-th
/// time it is reached, for `NAME@N`); a line on stderr says so first.
#[cfg(debug_assertions)]
pub fn hit(point: &str) {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::OnceLock;

    static TARGET: OnceLock<Option<(String, u32)>> = OnceLock::new();
    static HITS: AtomicU32 = AtomicU32::new(0);
    let target = TARGET.get_or_init(|| {
        let spec = std::env::var(ENV).ok()?;
        let (name, nth) = match spec.split_once('@') {
            Some((name, n)) => (name, n.parse().unwrap_or(1)),
            None => (spec.as_str(), 1),
        };
        Some((name.to_string(), nth))
    });
    let Some((name, nth)) = target else { return };
    if name != point || HITS.fetch_add(1, Ordering::SeqCst) + 1 != *nth {
        return;
    }
    eprintln!("crash point `{point}` reached ({ENV}): killing this process with SIGKILL");
    // Nothing after this point runs: no destructor, no flush, exactly as with `kill -9`.
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    std::process::abort();
}

/// Release builds have no crash points.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn hit(_point: &str) {}

/// The environment variable naming the slow-disk file.
pub const FSYNC_DELAY_ENV: &str = "DCACHE_TEST_FSYNC_DELAY_FILE";

/// How long the next fsync of the Raft log should wait first (see the module comment).
#[cfg(debug_assertions)]
pub fn fsync_delay() -> Option<std::time::Duration> {
    let path = std::env::var_os(FSYNC_DELAY_ENV)?;
    let ms: u64 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    (ms > 0).then(|| std::time::Duration::from_millis(ms))
}

/// Release builds have no slow-disk hook.
#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn fsync_delay() -> Option<std::time::Duration> {
    None
}

//! The cluster clock that judges expiry: the leader's time, as any node can tell it from the
//! leader's timestamps (carried by the log entries it applies, and by the leader's answers
//! to its read-index requests) and its own monotonic clock.
//! Owns no state beyond one timestamp; never reads the wall clock, so a node whose wall
//! clock is off (ahead or behind) still agrees with the leader on what has expired.
//!
//! Across a restart the monotonic clock is lost, and the stamps replayed from the log tell
//! the leader's time as it was before the downtime. [`ClockMark`] carries the cluster clock
//! over it: kept in the data dir, it becomes a floor under what a new leader stamps, so the
//! cluster clock does not fall back to a slower member's wall clock after a full restart.

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// The newest leader timestamp this node has seen, and when it saw it.
#[derive(Debug, Clone, Copy, Default)]
pub struct LeaderClock {
    /// (leader ms since the Unix epoch, the local instant it was seen).
    stamp: Option<(u64, Instant)>,
}

impl LeaderClock {
    /// Notes that the leader's clock read `ms` at or before the local instant `seen`. Keeps
    /// whichever of this and the earlier note tells the later time, so the clock never goes
    /// back (an entry that sat in a queue carries an old stamp).
    pub fn observe(&mut self, ms: u64, seen: Instant) {
        if self.stamp.is_none() || ms >= self.at(seen) {
            self.stamp = Some((ms, seen));
        }
    }

    /// The leader's time at the local instant `now`, at most: the newest stamp plus the local
    /// monotonic time since it was seen. Behind the leader by the delay between its stamping
    /// an entry and this node applying it (milliseconds on a node that keeps up); 0 before
    /// any stamp. Cost: one addition.
    pub fn at(&self, now: Instant) -> u64 {
        self.stamp.map_or(0, |(ms, seen)| {
            let since = now.saturating_duration_since(seen).as_millis();
            ms.saturating_add(u64::try_from(since).unwrap_or(u64::MAX))
        })
    }
}

/// The cluster clock as this node told it, against its own wall clock at the same moment.
/// Saved every second or so; read back at start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockMark {
    /// The cluster clock (ms since the Unix epoch, the leader's time).
    pub cluster_ms: u64,
    /// This node's wall clock when the mark was taken.
    pub wall_ms: u64,
}

impl ClockMark {
    /// The cluster clock at local wall time `wall_now_ms`, carried from the mark by the
    /// wall time elapsed since (so the downtime counts). A wall clock that went back since
    /// the mark counts as no time elapsed: the result never falls below the mark.
    pub fn at(&self, wall_now_ms: u64) -> u64 {
        self.cluster_ms.saturating_add(wall_now_ms.saturating_sub(self.wall_ms))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{ClockMark, LeaderClock};

    #[test]
    fn a_mark_carries_the_cluster_clock_over_downtime_and_never_back() {
        let mark = ClockMark {
            cluster_ms: 10_000,
            wall_ms: 9_000,
        };
        // 5 s of downtime by the wall clock: the cluster clock moved on by as much.
        assert_eq!(mark.at(14_000), 15_000);
        // A wall clock set back since the mark: the mark itself, not less.
        assert_eq!(mark.at(1_000), 10_000);
    }

    #[test]
    fn the_clock_runs_on_from_the_newest_stamp_and_never_goes_back() {
        let t0 = Instant::now();
        let mut c = LeaderClock::default();
        assert_eq!(c.at(t0), 0);
        c.observe(1_000, t0);
        assert_eq!(c.at(t0 + Duration::from_millis(250)), 1_250);
        // A late entry with an older stamp does not move the clock back.
        c.observe(1_100, t0 + Duration::from_millis(300));
        assert_eq!(c.at(t0 + Duration::from_millis(300)), 1_300);
        // A newer stamp moves it forward.
        c.observe(2_000, t0 + Duration::from_millis(400));
        assert_eq!(c.at(t0 + Duration::from_millis(500)), 2_100);
    }
}

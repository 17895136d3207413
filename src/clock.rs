//! The cluster clock that judges expiry: the leader's time, as any node can tell it from the
//! leader's timestamps (carried by the log entries it applies) and its own monotonic clock.
//! Owns no state beyond one timestamp; never reads the wall clock, so a node whose wall
//! clock is off (ahead or behind) still agrees with the leader on what has expired.

use std::time::Instant;

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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::LeaderClock;

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

//! The node's clocks: the time reads judge expiry by, the time a leader stamps into the log,
//! and the mark that carries the cluster clock over a restart (see [`crate::clock`]).

use super::{wall_clock_ms, Node};
use crate::raft::state_machine::Applied;

/// How far a leader's clock may run ahead of the stamps it has applied before it proposes an
/// entry only to carry its time to the members ([`Node::clock_untold`]).
const CLOCK_TOLD_WITHIN_MS: u64 = 50;

impl Node {
    /// The time against which reads of `applied` judge expiry: the leader's clock. On the
    /// leader that is its own wall clock, or the cluster clock if that is ahead (a previous
    /// leader's clock ran ahead; the cluster clock never goes back). On any other node it is
    /// the leader's time told by the stamps it applied ([`crate::clock::LeaderClock`]),
    /// never its own wall clock, so a follower whose clock is ahead does not hide live keys
    /// and one whose clock is behind does not revive expired ones.
    pub(super) fn read_clock_ms(&self, applied: &Applied) -> u64 {
        let cluster = applied.cluster_clock_ms();
        if self.leader_id() == Some(self.inner.id) {
            self.leader_clock_ms(cluster)
        } else {
            cluster
        }
    }

    /// This node's time as leader, given the cluster clock it has applied: its wall clock,
    /// raised to the cluster clock and to the previous run's mark carried over the downtime
    /// ([`crate::clock::ClockMark`]), whichever is furthest ahead.
    fn leader_clock_ms(&self, cluster: u64) -> u64 {
        let wall = wall_clock_ms();
        let floor = self.inner.clock_floor.map_or(0, |m| m.at(wall));
        wall.max(cluster).max(floor)
    }

    /// The cluster's time as this node tells it (the leader's clock, as reads judge expiry
    /// by): what absolute times from clients (`EXPIREAT`, `SET ... EXAT`) become TTLs against,
    /// so a member whose own clock is off converts them as the leader would.
    pub fn clock_ms(&self) -> u64 {
        self.read_clock_ms(&self.inner.state.read())
    }

    /// On the leader: whether its clock runs ahead of the stamps it has applied by more than
    /// [`CLOCK_TOLD_WITHIN_MS`] (a new leader whose wall clock or carried-over mark is
    /// ahead), so members, whose reads judge expiry by the stamps they apply, would judge
    /// by an older time than it does. One stamped entry (an empty purge) tells them. Never
    /// before the first stamped entry: no key can expire before one.
    pub(super) fn clock_untold(&self) -> bool {
        if !self.inner.raft.is_leader() {
            return false;
        }
        let told = self.inner.state.read().cluster_clock_ms();
        told > 0 && self.leader_clock_ms(told) > told + CLOCK_TOLD_WITHIN_MS
    }

    /// The cluster clock as fresh as a linearizable read: what an absolute time from a client
    /// (`EXAT`, `PXAT`, `EXPIREAT`) becomes a TTL against. The leader tells its own. Any
    /// other member first runs a read-index round, whose answer carries the leader's clock
    /// (`x-dcache-clock`), and catches up with the read index: the stamps a member has
    /// applied may be old, as on a member that has just restarted, which has only the ones
    /// it replayed (as old as the last write before its restart), or none yet.
    pub async fn fresh_clock_ms(&self) -> Result<u64, super::NodeError> {
        if !self.inner.raft.is_leader() {
            self.linearize(crate::types::Consistency::Linearizable).await?;
        }
        Ok(self.clock_ms())
    }

    /// The cluster clock to carry into the next run: this node's time (the leader's, as it
    /// tells it), never below the previous run's mark carried forward, so a restart that
    /// has not yet heard a new stamp does not save a clock that fell back. `None` before the
    /// node has any time to tell.
    pub(super) fn clock_mark(&self) -> Option<crate::clock::ClockMark> {
        let wall_ms = wall_clock_ms();
        let floor = self.inner.clock_floor.map_or(0, |m| m.at(wall_ms));
        let cluster_ms = self.clock_ms().max(floor);
        (cluster_ms > 0).then_some(crate::clock::ClockMark { cluster_ms, wall_ms })
    }

    /// The time this node stamps into the entries it proposes as leader: its wall clock,
    /// or the cluster clock if that is ahead, so the cluster clock only moves forward across
    /// leader changes.
    pub(super) fn stamp_clock_ms(&self) -> u64 {
        let cluster = self.inner.state.read().cluster_clock_ms();
        self.leader_clock_ms(cluster)
    }
}

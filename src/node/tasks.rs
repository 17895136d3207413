//! The node's background tasks, started once Raft runs: logging leader and role changes
//! (and stopping a removed node), publishing this node's client URL, asking to become a voter
//! after a join, proposing expiry purges, snapshotting a large log, and handing leadership
//! off while this node's disk is slow.

use std::time::Duration;

use openraft::async_runtime::WatchReceiver;

use super::{Attempt, Node, NodeError};
use crate::cache::Change;
use crate::peer::{AdminRequest, Member, NodeId};

/// Starts every background task of `node`; each ends when the node shuts down.
pub(super) fn spawn_all(node: &Node) {
    tokio::spawn(log_changes(node.clone()));
    tokio::spawn(stop_when_told_removed(node.clone()));
    tokio::spawn(publish_self(node.clone()));
    tokio::spawn(raise_cluster_format(node.clone()));
    if node.inner.config.join.is_some() {
        tokio::spawn(become_voter(node.clone()));
    }
    tokio::spawn(purge_expired(node.clone()));
    tokio::spawn(compact_large_log(node.clone()));
    tokio::spawn(mark_clock(node.clone()));
    tokio::spawn(hand_off_when_disk_slow(node.clone()));
}

/// A periodic task's clock: ticks every `period`, a late tick delays the next rather than
/// bunching them.
fn ticker(period: Duration) -> tokio::time::Interval {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick
}

/// Waits for `tick`'s next tick: `true`, or `false` once the node is shutting down.
async fn ticked(node: &Node, tick: &mut tokio::time::Interval) -> bool {
    tokio::select! {
        _ = node.inner.shutdown.cancelled() => false,
        _ = tick.tick() => true,
    }
}

/// How often the leader checks whether every member reads a newer format: often, because a
/// brand-new cluster refuses binary keys (format 4) until the check has run once after its
/// founders published; each check only reads the membership.
const RAISE_EVERY: Duration = Duration::from_millis(100);

/// On the leader: moves the cluster version up to the lowest format every member (voter or
/// learner) publishes, through the log, once it is above the current one. It never moves
/// down: a member that reads less has to be upgraded before it can run again.
async fn raise_cluster_format(node: Node) {
    let mut tick = ticker(RAISE_EVERY);
    while ticked(&node, &mut tick).await {
        if !node.inner.raft.is_leader() {
            continue;
        }
        let lowest = {
            let rx = node.inner.raft.metrics();
            let m = rx.borrow_watched();
            m.membership_config
                .membership()
                .nodes()
                .map(|(_, n)| n.reads_format())
                .min()
        };
        let current = node.cluster_format();
        let Some(target) = lowest
            .map(|f| f.min(crate::version::max_format()))
            .filter(|f| *f > current)
        else {
            continue;
        };
        match super::writes::propose_change(&node, Change::ClusterFormat(target)).await {
            Ok(_) => tracing::warn!(from = current, to = target,
                "cluster version moved: every member reads format {target}; downgrading a member below it is no longer possible"),
            Err(e) => tracing::debug!(error = %e, "raising the cluster version failed; will retry"),
        }
    }
}

/// How often the cluster clock mark is saved.
const MARK_CLOCK_EVERY: Duration = Duration::from_secs(1);

/// Saves the cluster clock as this node tells it, against its wall clock, so the next run
/// can carry it over the downtime (see [`crate::clock::ClockMark`]). Only once the clock
/// has been told something (a node that never applied a stamp has nothing to carry).
async fn mark_clock(node: Node) {
    let mut tick = ticker(MARK_CLOCK_EVERY);
    while ticked(&node, &mut tick).await {
        let Some(mark) = node.clock_mark() else {
            continue;
        };
        if let Err(e) = node.inner.store.save_clock_mark(&mark) {
            tracing::debug!(error = %e, "saving the cluster clock mark failed; will retry");
        }
    }
}

/// How often the leader looks for expired keys to purge.
const PURGE_EVERY: Duration = Duration::from_millis(250);

/// On the leader: proposes a purge whenever some key's expiry (leader clock) has passed, so
/// every replica drops expired keys at the same log position, or when its clock is ahead of
/// the stamps the members have applied.
async fn purge_expired(node: Node) {
    let mut tick = ticker(PURGE_EVERY);
    while ticked(&node, &mut tick).await {
        if !node.inner.raft.is_leader() {
            continue;
        }
        // Read before taking the state lock below: the clock takes it too.
        let now = node.stamp_clock_ms();
        let due = node.inner.state.read().cache.next_expiry().is_some_and(|t| t <= now);
        if due || node.clock_untold() {
            if let Err(e) = super::writes::propose_change(&node, Change::Purge).await {
                tracing::debug!(error = %e, "expiry purge not applied; will retry");
            }
        }
    }
}

/// Log bytes after which a snapshot is taken and the log purged behind it, whatever
/// `snapshot-logs` says: as many as the cache holds, within these bounds. A snapshot writes
/// the whole cache, so waiting for that many log bytes keeps snapshot work at most one byte
/// per byte written (a fixed 32 MiB made a 400 MB cache of 64 KiB values snapshot about once
/// a second, most of the write path's work); the upper bound keeps the log a restart
/// replays short.
///
/// Before the cluster version stores log runs in pieces, the lower bound only: sled then
/// keeps a blob-stored page in memory whatever its `cache_capacity` (it counts the page as
/// the size of its pointer), so an unpurged log of large entries was resident.
const MIN_LOG_BYTES_PER_SNAPSHOT: u64 = 32 * 1024 * 1024;
const MAX_LOG_BYTES_PER_SNAPSHOT: u64 = 256 * 1024 * 1024;

fn log_bytes_per_snapshot(node: &Node) -> u64 {
    if node.cluster_format() < crate::version::PIECES_FORMAT {
        return MIN_LOG_BYTES_PER_SNAPSHOT;
    }
    let cache = node.inner.state.read().cache.approx_bytes();
    cache.clamp(MIN_LOG_BYTES_PER_SNAPSHOT, MAX_LOG_BYTES_PER_SNAPSHOT)
}

/// A log of at least this many bytes is also snapshotted and purged once writes have stopped
/// for [`IDLE_BEFORE_SNAPSHOT`]: an idle node then holds none of its log in memory.
const IDLE_LOG_BYTES: u64 = 4 * 1024 * 1024;

/// See [`IDLE_LOG_BYTES`].
const IDLE_BEFORE_SNAPSHOT: Duration = Duration::from_secs(2);

/// Snapshots when [`log_bytes_per_snapshot`] bytes were appended since the last time (or
/// [`IDLE_LOG_BYTES`] and writes stopped), then
/// purges the whole log behind that snapshot (openraft alone keeps `max_in_snapshot_log_to_keep`
/// entries, which is a lot of bytes when entries are large). A follower that falls further
/// behind than that catches up by snapshot instead of log. Once writes stop, also packs the
/// cache's map (see [`crate::cache::Cache::pack_if_grown`]).
async fn compact_large_log(node: Node) {
    let mut tick = ticker(Duration::from_millis(250));
    let mut since = node.inner.store.appended_bytes();
    let mut last = (since, std::time::Instant::now());
    let mut packed = false;
    while ticked(&node, &mut tick).await {
        let appended = node.inner.store.appended_bytes();
        if appended != last.0 {
            last = (appended, std::time::Instant::now());
            packed = false;
        }
        let unpurged = appended.saturating_sub(since);
        let idle = last.1.elapsed() >= IDLE_BEFORE_SNAPSHOT;
        let threshold = log_bytes_per_snapshot(&node);
        if unpurged < threshold && !(idle && unpurged >= IDLE_LOG_BYTES) {
            if idle && !packed {
                let state = node.inner.state.clone();
                packed = tokio::task::spawn_blocking(move || state.pack_cache())
                    .await
                    .unwrap_or(true);
            }
            continue;
        }
        since = appended;
        let before = node.inner.raft.metrics().borrow_watched().snapshot.map(|l| l.index());
        if node.inner.raft.trigger().snapshot().await.is_err() {
            return; // Raft stopped.
        }
        let built = node
            .inner
            .raft
            .wait(Some(Duration::from_secs(60)))
            .metrics(|m| m.snapshot.map(|l| l.index()) > before, "snapshot of a large log")
            .await;
        let upto = built.ok().and_then(|m| m.snapshot.map(|l| l.index()));
        if let Some(upto) = upto {
            tracing::debug!(upto, unpurged, threshold, "log over its bound: snapshot taken, purging");
            if node.inner.raft.trigger().purge_log(upto).await.is_err() {
                return;
            }
        }
    }
}

/// A leader whose last [`SLOW_IN_A_ROW`] log fsyncs each took [`crate::raft::store::SLOW_FSYNC`]
/// (a second) or longer hands leadership to a follower that keeps up: clients wait on the
/// leader's pace, a follower's slow disk costs nothing. One slow fsync (a burst of other
/// I/O on a shared disk) is not enough.
const SLOW_IN_A_ROW: u32 = 3;
/// How often the leader looks, and on how many looks in a row a follower must be ahead.
const SLOW_CHECK_EVERY: Duration = Duration::from_millis(500);
const AHEAD_TICKS: u32 = 2;
/// A node hands leadership off at most once per this long, so members that are all slow
/// (a shared disk) do not pass it round and round.
const HAND_OFF_COOLDOWN: Duration = Duration::from_secs(30);

/// On the leader: hands leadership to a follower while this node's disk is slow (see
/// [`SLOW_IN_A_ROW`]) and that follower's is not: on [`AHEAD_TICKS`] looks in a row, it
/// has stored entries this node's own fsync has not finished.
async fn hand_off_when_disk_slow(node: Node) {
    let mut tick = ticker(SLOW_CHECK_EVERY);
    let mut ahead_ticks = 0;
    let mut handed_off: Option<std::time::Instant> = None;
    while ticked(&node, &mut tick).await {
        let (slow, longest) = node.inner.store.slow_fsyncs();
        let ahead = match slow >= SLOW_IN_A_ROW && node.inner.raft.is_leader() {
            true => super::membership::ahead_of_disk(&node),
            false => Vec::new(),
        };
        if ahead.is_empty() {
            ahead_ticks = 0;
            continue;
        }
        ahead_ticks += 1;
        if ahead_ticks < AHEAD_TICKS || handed_off.is_some_and(|t| t.elapsed() < HAND_OFF_COOLDOWN) {
            continue;
        }
        let why = format!(
            "this node's last {slow} log fsyncs each took a second or more (up to {} ms)",
            longest.as_millis()
        );
        if super::membership::hand_off(&node, ahead, &why).await {
            handed_off = Some(std::time::Instant::now());
            ahead_ticks = 0;
        }
    }
}

/// On a joined node: once caught up, asks the leader to make this learner a voter; retries
/// until it is one or the node stops.
async fn become_voter(node: Node) {
    let id = node.inner.id;
    loop {
        let role = {
            let rx = node.inner.raft.metrics();
            let m = rx.borrow_watched();
            if m.state == openraft::ServerState::Shutdown {
                return;
            }
            let membership = m.membership_config.membership();
            let voter = membership.voter_ids().any(|v| v == id);
            let known = membership.get_node(&id).is_some();
            (voter, known && m.current_leader.is_some())
        };
        match role {
            (true, _) => {
                tracing::info!("this node is a voter");
                return;
            }
            (false, true) => {
                if let Err(e) = node.admin(AdminRequest::Promote { id }).await {
                    tracing::info!(reason = %e, "not promoted yet");
                }
            }
            (false, false) => {}
        }
        tokio::select! {
            _ = node.inner.shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
        }
    }
}

/// Stops the node for good when a member answers its vote saying it was removed (see
/// `RemovedSignal`): the leader that removed it may have died before telling it, or this
/// node was down then.
async fn stop_when_told_removed(node: Node) {
    tokio::select! {
        _ = node.inner.shutdown.cancelled() => {}
        why = node.inner.removed.raised() => {
            tracing::warn!(id = node.inner.id, %why, "this node was removed from the cluster; stopping");
            node.stop_removed();
        }
    }
}

/// Logs leader, term and role changes as they happen, and stops the node once it has been
/// removed from the membership (a removed node must not linger or campaign).
async fn log_changes(node: Node) {
    let mut rx = node.inner.raft.metrics();
    let mut last = (None, 0, openraft::ServerState::Learner);
    let mut was_member = false;
    loop {
        let removed = {
            let m = rx.borrow_watched();
            let membership = m.membership_config.membership();
            let is_member = membership.get_node(&node.inner.id).is_some();
            let removed = was_member && !is_member && membership.nodes().next().is_some();
            was_member |= is_member;
            removed
        };
        if removed {
            tracing::warn!(id = node.inner.id, "this node was removed from the cluster; stopping");
            node.stop_removed();
            return;
        }
        let now = {
            let m = rx.borrow_watched();
            (m.current_leader, m.current_term, m.state)
        };
        if now != last {
            if now.1 != last.1 {
                tracing::info!(term = now.1, "term changed");
            }
            if now.0 != last.0 {
                match now.0 {
                    Some(leader) => tracing::info!(leader, term = now.1, "leader elected"),
                    None => tracing::warn!(term = now.1, "no leader"),
                }
            }
            if now.2 != last.2 {
                tracing::info!(role = ?now.2, "role changed");
                node.inner.store.set_leading(now.2 == openraft::ServerState::Leader);
            }
            last = now;
        }
        // openraft stops Raft on any storage error (e.g. ENOSPC) and never restarts it; a
        // process that kept serving /health would hide that. Stop, so a supervisor sees it.
        if now.2 == openraft::ServerState::Shutdown && !node.inner.shutdown.is_cancelled() {
            if let Some(reason) = node.raft_failure() {
                tracing::error!("stopping this node: {reason}");
                node.inner.shutdown.cancel();
                return;
            }
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Makes sure the replicated membership carries this node's current client URL, build and
/// format, so any node can tell clients where the leader is and the leader knows which
/// format every member reads. Retries until it sticks or the node stops. A leader of an
/// older build keeps only the client URL: then it waits for the next leader.
async fn publish_self(node: Node) {
    let want = |me: &Member| Member {
        client_url: node.inner.config.advertise_client_url.clone(),
        version: crate::version::build(),
        format: crate::version::max_format(),
        resp_url: node.inner.config.advertise_resp_url.clone(),
        ..me.clone()
    };
    let mut rx = node.inner.raft.metrics();
    // The leadership (leader and term) that took the last publication: a leader of an older
    // build drops the build and format, and the same member may lead again after its own
    // upgrade, in a new term, so a new term means publishing again.
    let mut published_with: Option<(NodeId, u64)> = None;
    loop {
        let (leader, current) = {
            let m = rx.borrow_watched();
            if m.state == openraft::ServerState::Shutdown {
                return;
            }
            let leader = m
                .current_leader
                .and_then(|l| m.membership_config.membership().get_node(&l).cloned());
            let current = m.membership_config.membership().get_node(&node.inner.id).cloned();
            (
                m.current_leader.zip(leader).map(|(id, l)| ((id, m.current_term), l)),
                current,
            )
        };
        // Only the configuration that names this node as itself: a joiner replaying the log
        // passes through configurations from before it joined, which cannot hold it.
        let current = current.filter(|me| me.name == node.inner.config.name);
        match (leader, current) {
            (_, Some(me)) if me == want(&me) => return,
            (Some(((leader_id, term), leader)), Some(me)) if published_with != Some((leader_id, term)) => {
                let me = want(&me);
                let result = if leader_id == node.inner.id {
                    node.update_member(node.inner.id, me.clone()).await
                } else {
                    let call = node
                        .inner
                        .peers
                        .register(&leader, node.inner.id, me.clone(), Duration::from_secs(5));
                    match node.on_leader(&leader, call).await {
                        Attempt::Done(r) => r,
                        Attempt::Retry(reason) => Err(NodeError::NoLeader(reason)),
                    }
                };
                match result {
                    Ok(()) => {
                        tracing::info!(client_url = %me.client_url, build = %me.version, format = me.format,
                            "published this member's client URL, build and format");
                        published_with = Some((leader_id, term));
                        continue;
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "publishing this member failed; will retry")
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            _ => {
                if rx.changed().await.is_err() {
                    return;
                }
            }
        }
    }
}

//! Assembling the status reports (`cluster/status`, `cluster/leader`) from Raft metrics and
//! the applied state.

use std::sync::atomic::Ordering;
use std::time::Duration;

use openraft::async_runtime::WatchReceiver;
use openraft::Instant as _;
use openraft::ServerState;

use super::Node;
use crate::peer::Member;
use crate::raft::{LogId, NodeId, RaftMetrics};
use crate::types::{LeaderInfo, MemberInfo, NodeStatus, ReplicationInfo, Role};

fn role(state: ServerState) -> Role {
    match state {
        ServerState::Leader => Role::Leader,
        ServerState::Follower => Role::Follower,
        ServerState::Candidate => Role::Candidate,
        ServerState::Learner => Role::Learner,
        ServerState::Shutdown => Role::Shutdown,
    }
}

/// The leader as `node` knows it, with its name and client URL.
pub(super) fn leader(node: &Node) -> Option<LeaderInfo> {
    let rx = node.inner.raft.metrics();
    let m = rx.borrow_watched();
    leader_info(&m)
}

fn leader_info(m: &RaftMetrics) -> Option<LeaderInfo> {
    let id = m.current_leader?;
    let member: Member = m
        .membership_config
        .membership()
        .get_node(&id)
        .cloned()
        .unwrap_or_default();
    Some(LeaderInfo {
        id,
        name: member.name,
        client_url: member.client_url,
    })
}

/// Every member of the configuration `m` reports, voters marked.
fn members(m: &RaftMetrics) -> Vec<MemberInfo> {
    let membership = m.membership_config.membership();
    let voters: Vec<NodeId> = membership.voter_ids().collect();
    membership
        .nodes()
        .map(|(id, n)| MemberInfo {
            id: *id,
            name: n.name.clone(),
            peer_url: n.peer_url.clone(),
            client_url: n.client_url.clone(),
            voter: voters.contains(id),
            version: Some(n.version.clone()).filter(|v| !v.is_empty()),
            format: Some(n.format).filter(|f| *f != 0),
            resp_url: n.resp_url.clone(),
        })
        .collect()
}

/// On the leader: how far each member's log matches the leader's.
fn replication(m: &RaftMetrics) -> Option<Vec<ReplicationInfo>> {
    let membership = m.membership_config.membership();
    let name_of = |id: NodeId| {
        membership
            .get_node(&id)
            .map(|n| n.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let last_log_index = m.last_log_index.unwrap_or(0);
    let heard = |id: &NodeId| {
        let at = m.heartbeat.as_ref()?.get(id).cloned().flatten()?;
        Some(at.elapsed().as_millis() as u64)
    };
    m.replication.as_ref().map(|r| {
        r.iter()
            .map(|(id, matched)| {
                let matched = matched.as_ref().map(|l| l.index());
                ReplicationInfo {
                    id: *id,
                    name: name_of(*id),
                    matched,
                    lag: matched.map(|m| last_log_index.saturating_sub(m)),
                    last_heard_ms: heard(id),
                }
            })
            .collect()
    })
}

/// `node`'s full status report.
pub(super) fn report(node: &Node) -> NodeStatus {
    let m = node.inner.raft.metrics().borrow_watched().clone();
    let (key_count, approx_bytes, counters, cluster_format) = {
        let applied = node.inner.state.read();
        (
            applied.cache.len() as u64,
            applied.cache.approx_bytes(),
            applied.cache.counters(),
            applied.cache.cluster_format(),
        )
    };
    let index = |l: &Option<LogId>| l.as_ref().map_or(0, |l| l.index());
    // A leader no quorum answers may have been replaced already: it must not name itself.
    let quorum_lost = node.quorum_lost(&m).is_some();
    let config = &node.inner.config;
    NodeStatus {
        name: config.name.clone(),
        id: node.inner.id,
        cluster_id: config.cluster_id.clone(),
        role: role(m.state),
        term: m.current_term,
        leader: leader_info(&m).filter(|_| !quorum_lost),
        last_log_index: m.last_log_index.unwrap_or(0),
        committed: index(&m.local_committed),
        applied: index(&m.last_applied),
        snapshot_index: index(&m.snapshot),
        purged_index: index(&m.purged),
        members: members(&m),
        replication: replication(&m),
        key_count,
        approx_bytes,
        max_memory: config.limits.max_memory,
        evictions: counters.evictions,
        expirations: counters.expirations,
        disk_bytes: node.inner.store.size_on_disk(),
        client_url: config.advertise_client_url.clone(),
        peer_url: config.advertise_peer_url.clone(),
        resp_url: config.advertise_resp_url.clone(),
        uptime_secs: node.inner.started.elapsed().as_secs(),
        version: crate::version::CRATE.to_string(),
        build: crate::version::build(),
        format: crate::version::max_format(),
        cluster_format,
        client_writes: node.inner.client_writes.load(std::sync::atomic::Ordering::Relaxed),
        quorum_lost,
    }
}

impl Node {
    /// Whether this node is in touch with a leader: `Ok(leader id)` if it leads and a quorum
    /// acknowledged it within the election timeout (or it is the only voter), or if it
    /// follows and heard from the leader within the election timeout; `Err(why not)` else.
    /// This is what `/health` and `cluster leader` answer from.
    pub fn health(&self) -> Result<NodeId, String> {
        let timeout = Duration::from_millis(self.inner.config.raft.election_timeout_ms * 2);
        let rx = self.inner.raft.metrics();
        let m = rx.borrow_watched();
        let Some(leader) = m.current_leader else {
            return Err("no leader known; an election may be in progress".into());
        };
        if leader != self.inner.id {
            let heard = self.inner.leader_heard_ms.load(Ordering::Relaxed);
            if heard == 0 {
                return Err(format!("this node has never heard from leader {leader}"));
            }
            let age = (self.inner.started.elapsed().as_millis() as u64).saturating_sub(heard);
            return if age <= timeout.as_millis() as u64 {
                Ok(leader)
            } else {
                Err(format!(
                    "leader {leader} has not been heard from for {age} ms (election timeout {} ms)",
                    timeout.as_millis()
                ))
            };
        }
        match self.quorum_lost(&m) {
            Some(why) => Err(why),
            None => Ok(leader),
        }
    }

    /// On a leader: why it has lost its quorum, if it has: no quorum of voters acknowledged
    /// it within the lease (twice `election-timeout-ms`, openraft's `election_timeout_max`).
    /// `None` while a quorum answers, on a one-voter cluster, and on any other role.
    pub(super) fn quorum_lost(&self, m: &crate::raft::RaftMetrics) -> Option<String> {
        if m.current_leader != Some(self.inner.id) || m.membership_config.membership().voter_ids().count() <= 1 {
            return None;
        }
        let lease = Duration::from_millis(self.inner.config.raft.election_timeout_ms * 2);
        match m.last_quorum_acked.as_ref().map(|t| t.elapsed()) {
            Some(age) if age <= lease => None,
            Some(age) => Some(format!(
                "this node leads but no quorum has answered it for {} ms",
                age.as_millis()
            )),
            None => Some("this node leads but no quorum has acknowledged it yet".into()),
        }
    }
}

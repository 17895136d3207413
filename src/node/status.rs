//! Assembling the status reports (`cluster/status`, `cluster/leader`, `/health`) from Raft
//! metrics and the applied state.

use openraft::async_runtime::WatchReceiver;
use openraft::ServerState;

use super::Node;
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

impl Node {
    /// The leader as this node knows it, with its name and client URL.
    pub fn leader(&self) -> Option<LeaderInfo> {
        let rx = self.inner.raft.metrics();
        let m = rx.borrow_watched();
        let id = m.current_leader?;
        let member = m
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

    /// This node's full status report.
    pub fn status(&self) -> NodeStatus {
        let rx = self.inner.raft.metrics();
        let m = rx.borrow_watched().clone();
        let membership = m.membership_config.membership();
        let voters: Vec<u64> = membership.voter_ids().collect();
        let members: Vec<MemberInfo> = membership
            .nodes()
            .map(|(id, n)| MemberInfo {
                id: *id,
                name: n.name.clone(),
                peer_url: n.peer_url.clone(),
                client_url: n.client_url.clone(),
                voter: voters.contains(id),
            })
            .collect();
        let name_of = |id: u64| {
            membership
                .get_node(&id)
                .map(|n| n.name.clone())
                .unwrap_or_else(|| id.to_string())
        };
        let last_log_index = m.last_log_index.unwrap_or(0);
        let replication = m.replication.as_ref().map(|r| {
            r.iter()
                .map(|(id, matched)| {
                    let matched = matched.as_ref().map(|l| l.index());
                    ReplicationInfo {
                        id: *id,
                        name: name_of(*id),
                        matched,
                        lag: last_log_index.saturating_sub(matched.unwrap_or(0)),
                    }
                })
                .collect()
        });
        let leader = m.current_leader.map(|id| {
            let member = membership.get_node(&id).cloned().unwrap_or_default();
            LeaderInfo {
                id,
                name: member.name,
                client_url: member.client_url,
            }
        });
        let (key_count, approx_bytes, counters) = {
            let applied = self.inner.state.read();
            (
                applied.cache.len() as u64,
                applied.cache.approx_bytes(),
                applied.cache.counters(),
            )
        };
        let index = |l: &Option<crate::raft::LogId>| l.as_ref().map(|l| l.index()).unwrap_or(0);
        let config = &self.inner.config;
        NodeStatus {
            name: config.name.clone(),
            id: self.inner.id,
            cluster_id: config.cluster_id.clone(),
            role: role(m.state),
            term: m.current_term,
            leader,
            last_log_index,
            committed: index(&m.local_committed),
            applied: index(&m.last_applied),
            snapshot_index: index(&m.snapshot),
            purged_index: index(&m.purged),
            members,
            replication,
            key_count,
            approx_bytes,
            max_memory: config.limits.max_memory,
            evictions: counters.evictions,
            expirations: counters.expirations,
            disk_bytes: self.inner.store.size_on_disk(),
            client_url: config.advertise_client_url.clone(),
            peer_url: config.advertise_peer_url.clone(),
            uptime_secs: self.inner.started.elapsed().as_secs(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// The current leader's id, if known; `/health` is ok only when there is one.
    pub fn leader_id(&self) -> Option<u64> {
        self.inner.raft.metrics().borrow_watched().current_leader
    }
}

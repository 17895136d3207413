//! The Raft layer: openraft's type configuration and the member record every node stores.
//!
//! Submodules implement openraft's traits: `store` (the only sled user: log, vote, snapshots,
//! node identity), `state_machine` (applies commands to the cache) and `network` (outgoing peer
//! RPCs). Nothing outside `raft` and `node` touches openraft types.

pub mod network;
pub mod state_machine;
pub mod store;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::cache::{Outcome, Request};

/// A node's numeric Raft id. Ids are assigned by position of the name in the sorted
/// `initial-cluster`, or by the leader when a node joins, and persisted in the data dir.
pub type NodeId = u64;

openraft::declare_raft_types!(
    /// openraft's type configuration for dcache.
    pub TypeConfig:
        D = Request,
        R = Outcome,
        NodeId = NodeId,
        Node = Member,
);

/// The Raft handle used across the node.
pub type Raft = openraft::Raft<TypeConfig, state_machine::StateMachine>;

/// A cluster member as recorded in the replicated membership: its name and both its URLs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The human name from the config (`name`), unique in the cluster.
    pub name: String,
    /// Base URL of the peer listener (Raft RPCs), e.g. `http://127.0.0.1:8081`.
    pub peer_url: String,
    /// Base URL of the client listener; empty until the member has reported it.
    pub client_url: String,
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.peer_url)
    }
}

/// A log id as openraft defines it for our configuration.
pub type LogId = openraft::alias::LogIdOf<TypeConfig>;
/// A persisted vote.
pub type Vote = openraft::alias::VoteOf<TypeConfig>;
/// One Raft log entry.
pub type LogEntry = openraft::alias::EntryOf<TypeConfig>;
/// Snapshot metadata: last included log id and membership.
pub type SnapshotMeta = openraft::alias::SnapshotMetaOf<TypeConfig>;
/// Membership together with the log id that introduced it.
pub type StoredMembership = openraft::alias::StoredMembershipOf<TypeConfig>;
/// A snapshot whose data is the encoded cache.
pub type Snapshot = openraft::alias::SnapshotOf<TypeConfig, Vec<u8>>;

//! The Raft layer: openraft's type configuration and the member record every node stores.
//!
//! Submodules implement openraft's traits: `store` (the only sled user: log, vote, snapshots,
//! node identity), `state_machine` (applies log entries to the cache) and `network` (Raft RPCs
//! over the peer protocol). Nothing outside `raft` and `node` touches openraft types: front
//! ends go through the node API, and the cache never sees Raft.

pub mod network;
pub mod state_machine;
pub mod store;

use crate::cache::{Effect, Request};
pub use crate::peer::{Member, NodeId};

openraft::declare_raft_types!(
    /// openraft's type configuration for dcache.
    pub TypeConfig:
        D = Request,
        R = Effect,
        NodeId = NodeId,
        Node = Member,
);

/// The tracing target of the Raft library's own logs (kept at `warn` by default).
pub const LIBRARY_LOG_TARGET: &str = "openraft";

/// The Raft handle used across the node.
pub type Raft = openraft::Raft<TypeConfig, state_machine::StateMachine>;

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
pub type Snapshot = openraft::alias::SnapshotOf<TypeConfig, store::SnapshotFile>;
/// What the Raft core reports about itself.
pub type RaftMetrics = openraft::RaftMetrics<TypeConfig>;

//! The node-to-node protocol, in one home: the route table (shared by the peer router and
//! the client), the MessagePack codec, the request and reply types, and the typed client.
//!
//! Two kinds of calls travel on the peer port. Raft RPCs (`/raft/*`) carry openraft's
//! messages; `raft::network` encodes and answers them. Application calls (`/peer/*`) make any
//! node serve any client: forwarded writes, read indexes, membership changes, client-URL
//! registration, removal notices and liveness pings. Every body is MessagePack with field
//! names kept (an added optional field stays compatible); every answer is MessagePack on 200.

mod client;
mod codec;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use client::{full, streaming, CallError, PeerBody, PeerClient, Reroutes, TEST_PEER_ROUTES_ENV};
pub use codec::{decode, encode, WireError, MSGPACK, TOO_NEW};

use crate::types::{JoinRequest, LeaderInfo, MemberInfo};

/// A node's numeric Raft id. Ids are assigned by position of the name in the sorted
/// `initial-cluster`, or by the leader when a node joins, and persisted in the data dir.
pub type NodeId = u64;

/// A cluster member as recorded in the replicated membership: its name and both its URLs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The human name from the config (`name`), unique in the cluster.
    pub name: String,
    /// Base URL of the peer listener, e.g. `http://127.0.0.1:8081`.
    pub peer_url: String,
    /// Base URL of the client listener; empty until the member has reported it.
    pub client_url: String,
    /// The member's build (crate version and commit); empty until it has reported it.
    #[serde(default)]
    pub version: String,
    /// The newest format the member reads (see `crate::version`); 0 until it has reported
    /// it, which means format 2 (builds before formats were published).
    #[serde(default)]
    pub format: u32,
    /// URL of the member's Redis-protocol listener (`redis://HOST:PORT`); empty when it has
    /// none or has not reported it.
    #[serde(default)]
    pub resp_url: String,
}

impl Member {
    /// The newest format the member reads, as far as the cluster knows.
    pub fn reads_format(&self) -> u32 {
        crate::version::published_or_oldest(self.format)
    }
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.peer_url)
    }
}

/// Header that carries the shared `peer-token` on every peer request.
pub const PEER_TOKEN_HEADER: &str = "x-dcache-peer-token";

/// Header naming the sender's `cluster-id` on every peer request (format 3).
pub const CLUSTER_HEADER: &str = "x-dcache-cluster";
/// Header naming the sender's member id on every peer request (format 3).
pub const FROM_HEADER: &str = "x-dcache-from";
/// Header naming the member id a request is meant for, when the sender knows it (format 3).
pub const TO_HEADER: &str = "x-dcache-to";

/// Header of a read-index answer carrying the leader's clock (ms since the Unix epoch) as
/// it answered: the member that asked judges expiry by it, even when the stamps it has
/// applied are old. Older builds neither send nor read it.
pub const CLOCK_HEADER: &str = "x-dcache-clock";

/// Who sends this node's peer requests: its cluster and member id, stamped on each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub cluster_id: String,
    pub id: NodeId,
}

/// Every call on the peer port. The path of each is fixed here and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Raft: append entries (and heartbeats).
    Append,
    /// Raft: request a vote.
    Vote,
    /// Raft: pre-vote (would you vote for me?), before a real election.
    PreVote,
    /// Raft: install a whole snapshot (a framed body, see `raft::network`).
    Snapshot,
    /// Raft: the leader hands leadership to this node.
    TransferLeader,
    /// A client write forwarded to the leader: [`crate::cache::Op`] -> [`crate::cache::OpOutcome`].
    ForwardWrite,
    /// The leader's read index for a follower's linearizable reads:
    /// [`crate::types::Consistency`] -> log index.
    ReadIndex,
    /// A member publishes its client URL: [`Register`] -> `()`.
    Register,
    /// A membership or leadership change run on the leader: [`AdminRequest`] -> [`AdminReply`].
    Admin,
    /// The leader tells a member it was removed: its [`NodeId`] -> `()`.
    Removed,
    /// Liveness: `()` -> `()`.
    Ping,
}

impl Route {
    /// Every route, for the router.
    pub const ALL: [Route; 11] = [
        Route::Append,
        Route::Vote,
        Route::PreVote,
        Route::Snapshot,
        Route::TransferLeader,
        Route::ForwardWrite,
        Route::ReadIndex,
        Route::Register,
        Route::Admin,
        Route::Removed,
        Route::Ping,
    ];

    /// The request path on the peer port.
    pub fn path(self) -> &'static str {
        match self {
            Route::Append => "/raft/append",
            Route::Vote => "/raft/vote",
            Route::PreVote => "/raft/pre-vote",
            Route::Snapshot => "/raft/snapshot",
            Route::TransferLeader => "/raft/transfer-leader",
            Route::ForwardWrite => "/peer/forward-write",
            Route::ReadIndex => "/peer/read-index",
            Route::Register => "/peer/register",
            Route::Admin => "/peer/admin",
            Route::Removed => "/peer/removed",
            Route::Ping => "/peer/ping",
        }
    }

    /// Whether the route carries an openraft RPC (answered by the Raft core).
    pub fn is_raft(self) -> bool {
        matches!(
            self,
            Route::Append | Route::Vote | Route::PreVote | Route::Snapshot | Route::TransferLeader
        )
    }
}

/// A member's published record: `Register`'s body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Register {
    pub id: NodeId,
    pub member: Member,
}

/// A membership or leadership change, as forwarded to the leader.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum AdminRequest {
    TransferLeader { target: String },
    Join(JoinRequest),
    Promote { id: NodeId },
    Remove { target: String },
}

/// The leader's answer to an [`AdminRequest`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum AdminReply {
    Leader(LeaderInfo),
    Member(MemberInfo),
    Done,
}

/// How an application call failed on the node that received it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum PeerFailure {
    /// The target is not (or no longer) the leader: the sender should find the leader again.
    NotLeader,
    /// No such member.
    NotFound(String),
    /// The leader refused the change, with the reason.
    Refused(String),
    /// Any other failure, as a message.
    Failed(String),
}

/// The answer body of an application call.
pub type PeerReply<T> = Result<T, PeerFailure>;

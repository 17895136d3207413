//! Wire types of the cluster routes: leader, members, status, health and joining.

use serde::{Deserialize, Serialize};

/// Who leads, as far as the answering node knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderInfo {
    pub id: u64,
    pub name: String,
    /// Empty until the leader has registered its client URL.
    pub client_url: String,
}

/// One member of the cluster as recorded in the replicated membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    pub id: u64,
    pub name: String,
    pub peer_url: String,
    pub client_url: String,
    /// False for learners (members that receive the log but do not vote).
    pub voter: bool,
    /// The member's build as it published it (crate version and commit); null until then.
    #[serde(default)]
    pub version: Option<String>,
    /// The newest format the member reads, as it published it; null until then (a build
    /// from before formats were published reads format 2).
    #[serde(default)]
    pub format: Option<u32>,
    /// The member's Redis-protocol URL; empty when it has none (or has not published it).
    #[serde(default)]
    pub resp_url: String,
}

/// Replication progress of one member, as seen by the leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationInfo {
    pub id: u64,
    pub name: String,
    /// Highest log index known to be stored on the member.
    pub matched: Option<u64>,
    /// Entries the member is behind the leader's last log index; `None` while the leader
    /// does not know how far the member's log matches (it has not reached it yet).
    pub lag: Option<u64>,
    /// Milliseconds since the leader last heard from the member (its last acknowledgement);
    /// `None` if it never has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_heard_ms: Option<u64>,
}

/// A node's Raft role as `NodeStatus.role` reports it; lowercase on the wire (`"leader"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Leader,
    Follower,
    Candidate,
    /// A non-voting member catching up (or kept as a read replica).
    Learner,
    /// The node has stopped its Raft core.
    Shutdown,
}

impl Role {
    /// The wire name, e.g. `leader`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Learner => "learner",
            Role::Shutdown => "shutdown",
        }
    }

    /// Whether this is the leader.
    pub fn is_leader(self) -> bool {
        self == Role::Leader
    }
}

impl std::fmt::Display for Role {
    /// The wire name, e.g. `leader`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `GET /api/v1/cluster/status`: one node's view of itself and the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    pub name: String,
    pub id: u64,
    pub cluster_id: String,
    /// `leader`, `follower`, `candidate`, `learner` or `shutdown`.
    pub role: Role,
    pub term: u64,
    pub leader: Option<LeaderInfo>,
    pub last_log_index: u64,
    pub committed: u64,
    pub applied: u64,
    pub snapshot_index: u64,
    pub purged_index: u64,
    pub members: Vec<MemberInfo>,
    /// Present on the leader only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<Vec<ReplicationInfo>>,
    pub key_count: u64,
    pub approx_bytes: u64,
    /// The memory bound (`max-memory`) this node would stamp as leader; null = unbounded.
    #[serde(default)]
    pub max_memory: Option<u64>,
    /// Keys evicted to stay under the memory bound (replicated, identical on every node).
    #[serde(default)]
    pub evictions: u64,
    /// Keys removed because they expired (replicated).
    #[serde(default)]
    pub expirations: u64,
    pub disk_bytes: u64,
    pub client_url: String,
    pub peer_url: String,
    /// This node's Redis-protocol URL; empty when the RESP listener is off.
    #[serde(default)]
    pub resp_url: String,
    pub uptime_secs: u64,
    /// This node's crate version.
    pub version: String,
    /// This node's build: crate version and commit.
    #[serde(default)]
    pub build: String,
    /// The newest format this node reads.
    #[serde(default)]
    pub format: u32,
    /// The cluster version: the format the cluster runs at (the lowest every member reads,
    /// once the leader has raised it through the log).
    #[serde(default)]
    pub cluster_format: u32,
    /// Client writes this node acknowledged to its own clients since it started (each set,
    /// delete and batch operation; writes forwarded here by other members are theirs). The
    /// sum over members is the cluster's; the dashboard's writes/s is its rate.
    #[serde(default)]
    pub client_writes: u64,
    /// This node leads (by its term) but no quorum of voters has acknowledged it within the
    /// leader lease (twice `election-timeout-ms`): it cannot commit, a newer leader may exist,
    /// and `leader` is `null`. Always `false` on other roles.
    #[serde(default)]
    pub quorum_lost: bool,
}

impl NodeStatus {
    /// Whether this node leads with a quorum behind it: the leader clients should use.
    pub fn leads(&self) -> bool {
        self.role.is_leader() && !self.quorum_lost
    }

    /// The role as people read it: the wire role, with `(no quorum)` after a leader that
    /// lost its quorum.
    pub fn role_label(&self) -> String {
        if self.role.is_leader() && self.quorum_lost {
            format!("{} (no quorum)", self.role)
        } else {
            self.role.to_string()
        }
    }

    /// Entries `member` is behind this node, read as the leader: 0 for the leader itself;
    /// else the lag in this node's replication report when it lists the member; else the
    /// difference of last log indexes when the member's own `status` is known; else `None`
    /// (a member that is down and missing from the report).
    pub fn lag_of(&self, member: u64, status: Option<&NodeStatus>) -> Option<u64> {
        if self.id == member {
            return Some(0);
        }
        self.replication
            .as_ref()
            .and_then(|r| r.iter().find(|r| r.id == member).and_then(|r| r.lag))
            .or_else(|| status.map(|s| self.last_log_index.saturating_sub(s.last_log_index)))
    }
}

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok` when the node knows a leader and serves; otherwise why not.
    pub status: String,
    pub leader: Option<u64>,
}

/// Body of `POST /api/v1/cluster/join`: the node that asks to be added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    pub name: String,
    pub peer_url: String,
    pub client_url: String,
    /// The joining build (crate version and commit); empty from older builds.
    #[serde(default)]
    pub version: String,
    /// The newest format the joining build reads; 0 from older builds (format 2).
    #[serde(default)]
    pub format: u32,
}

/// Answer to a join: the id given to the new member and the cluster it joined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinResult {
    pub member: MemberInfo,
    pub cluster_id: String,
}

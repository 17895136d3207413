//! Wire types of the client API, shared by the server, the CLI client and the dashboard.
//!
//! Every response is wrapped in the original dcache envelope: `{"success":true,"data":{...}}`
//! or `{"success":false,"error":{"code":"...","message":"..."}}`.

use serde::{Deserialize, Serialize};

mod value;
pub use value::{key_fields, key_from_fields, value_fields, value_from_fields};

/// The response envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

impl<T> Envelope<T> {
    /// A success envelope around `data`.
    pub fn ok(data: T) -> Self {
        Envelope {
            success: true,
            data: Some(data),
            error: None,
        }
    }
}

/// The error part of a failed response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable machine-readable code, e.g. `KEY_NOT_FOUND`.
    pub code: String,
    /// One sentence for a person.
    pub message: String,
    /// With `CONDITION_FAILED`: the key's current version (0 = absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<u64>,
}

/// Error codes the server answers with, and their HTTP statuses. On the wire (and in serde)
/// a code is its string, e.g. `"KEY_NOT_FOUND"`; a string this build does not know becomes
/// [`ErrorCode::Unknown`] instead of an error, so a newer server's codes still reach the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ErrorCode {
    /// 400: the request is malformed.
    InvalidRequest,
    /// 404: the key does not exist.
    KeyNotFound,
    /// 404: no such route.
    NotFound,
    /// 405: the route exists with another method.
    MethodNotAllowed,
    /// 412: an `if_version` condition did not hold.
    ConditionFailed,
    /// 413: the key, value or body exceeds a limit.
    PayloadTooLarge,
    /// 404: no member has that name or id.
    MemberNotFound,
    /// 409: the leader refused a leadership transfer (target down, learner or behind).
    TransferRefused,
    /// 409: the leader refused a membership change.
    Conflict,
    /// 503: the cluster has no leader (election in progress, or no quorum).
    NoLeader,
    /// 503: this node is starting or stopping.
    NotReady,
    /// 504: the cluster did not answer within the request timeout.
    Timeout,
    /// 500: a bug or a storage failure on the node.
    Internal,
    /// 401: the node requires a client token and the request has none, or an unknown one.
    Unauthorized,
    /// 403: the token is valid but its role does not allow the request (read-only token, write).
    Forbidden,
    /// 408: the client took longer than the request timeout to send its body.
    RequestTimeout,
    /// 409: the operation needs a newer format than the cluster version (a member is not
    /// upgraded yet).
    ClusterVersion,
    /// 503: the node already serves `max-watchers` watch streams.
    TooManyWatchers,
    /// 503: the node is already sending a backup (one at a time).
    BackupInProgress,
    /// A code this build does not know (from a newer server, or a client-side pseudo-code),
    /// kept verbatim. The server never sends one it cannot name; its status is taken as 500.
    Unknown(String),
}

impl ErrorCode {
    /// Every code this build knows, for parsing.
    const KNOWN: [ErrorCode; 19] = [
        ErrorCode::InvalidRequest,
        ErrorCode::KeyNotFound,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::ConditionFailed,
        ErrorCode::PayloadTooLarge,
        ErrorCode::MemberNotFound,
        ErrorCode::TransferRefused,
        ErrorCode::Conflict,
        ErrorCode::NoLeader,
        ErrorCode::NotReady,
        ErrorCode::Timeout,
        ErrorCode::Internal,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::RequestTimeout,
        ErrorCode::ClusterVersion,
        ErrorCode::TooManyWatchers,
        ErrorCode::BackupInProgress,
    ];

    /// The code string carried in [`ErrorBody::code`].
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidRequest => "INVALID_REQUEST",
            ErrorCode::KeyNotFound => "KEY_NOT_FOUND",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::MemberNotFound => "MEMBER_NOT_FOUND",
            ErrorCode::TransferRefused => "TRANSFER_REFUSED",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorCode::ConditionFailed => "CONDITION_FAILED",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::NoLeader => "NO_LEADER",
            ErrorCode::NotReady => "NOT_READY",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::RequestTimeout => "REQUEST_TIMEOUT",
            ErrorCode::ClusterVersion => "CLUSTER_VERSION",
            ErrorCode::TooManyWatchers => "TOO_MANY_WATCHERS",
            ErrorCode::BackupInProgress => "BACKUP_IN_PROGRESS",
            ErrorCode::Unknown(code) => code,
        }
    }

    /// The code named by `code`; never fails (unknown strings become [`ErrorCode::Unknown`]).
    pub fn parse(code: &str) -> ErrorCode {
        Self::KNOWN
            .into_iter()
            .find(|c| c.as_str() == code)
            .unwrap_or_else(|| ErrorCode::Unknown(code.to_string()))
    }

    /// The HTTP status that goes with the code.
    pub fn status(&self) -> u16 {
        match self {
            ErrorCode::InvalidRequest => 400,
            ErrorCode::KeyNotFound | ErrorCode::NotFound | ErrorCode::MemberNotFound => 404,
            ErrorCode::TransferRefused | ErrorCode::Conflict | ErrorCode::ClusterVersion => 409,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::ConditionFailed => 412,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::NoLeader | ErrorCode::NotReady | ErrorCode::TooManyWatchers | ErrorCode::BackupInProgress => 503,
            ErrorCode::Timeout => 504,
            ErrorCode::Internal => 500,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::RequestTimeout => 408,
            ErrorCode::Unknown(_) => 500,
        }
    }
}

impl From<String> for ErrorCode {
    fn from(code: String) -> Self {
        ErrorCode::parse(&code)
    }
}

impl From<ErrorCode> for String {
    fn from(code: ErrorCode) -> Self {
        code.as_str().to_string()
    }
}

impl std::fmt::Display for ErrorCode {
    /// The wire string, e.g. `KEY_NOT_FOUND`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Body of `POST /api/v1/set`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRequest {
    /// The key as UTF-8 text; or give `key_base64` (exactly one of the two).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The key as base64 (any bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_base64: Option<String>,
    /// The value as UTF-8 text; or give `value_base64` (exactly one of the two).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The value as base64 (any bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_base64: Option<String>,
    /// Expire the key this many milliseconds after the leader accepts the write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    /// Only write if the key's version is this (0 = only if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_version: Option<u64>,
}

/// Body of `POST /api/v1/expire`: give the live `key` a new expiry, keeping its value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpireRequest {
    /// The key as UTF-8 text; or give `key_base64` (exactly one of the two).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The key as base64 (any bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_base64: Option<String>,
    /// Expire the key this many milliseconds after the leader accepts the change.
    pub ttl_ms: u64,
}

/// Body of `POST /api/v1/persist`: remove the live `key`'s expiry, keeping its value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersistRequest {
    /// The key as UTF-8 text; or give `key_base64` (exactly one of the two).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The key as base64 (any bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_base64: Option<String>,
}

/// One operation of `POST /api/v1/batch`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum BatchOp {
    Set {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_base64: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value_base64: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ttl_ms: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        if_version: Option<u64>,
    },
    Delete {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_base64: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        if_version: Option<u64>,
    },
}

/// Body of `POST /api/v1/batch`: applied atomically, in order, as one log entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    pub ops: Vec<BatchOp>,
}

/// Answer to a batch: the log index it was applied at and one result per operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResult {
    pub version: u64,
    pub results: Vec<BatchOpResult>,
}

/// The result of one batch operation: `version` for sets, `deleted` for deletes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchOpResult {
    /// The key when it is UTF-8 text, else in `key_base64`: exactly one of the two is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_base64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
}

/// A key with its value and version (the log index of its last write). The value is in
/// `value` when it is UTF-8 text, else in `value_base64`: exactly one of the two is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    /// The key when it is UTF-8 text, else in `key_base64`: exactly one of the two is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_base64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_base64: Option<String>,
    pub version: u64,
    /// Milliseconds until the key expires, if it has a TTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
}

/// Answer to a set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetResult {
    /// The key when it is UTF-8 text, else in `key_base64`: exactly one of the two is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_base64: Option<String>,
    pub version: u64,
}

/// Answer to a delete; `deleted` is false when the key did not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteResult {
    /// The key when it is UTF-8 text, else in `key_base64`: exactly one of the two is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_base64: Option<String>,
    pub deleted: bool,
}

/// Answer to a prefix scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysResult {
    /// The prefix when it is UTF-8 text, else in `prefix_base64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_base64: Option<String>,
    pub keys: Vec<KeyValue>,
    pub count: usize,
    /// True when more keys matched than `limit` allowed.
    pub truncated: bool,
    /// When truncated: the last key of this page; ask again with `after=` it for the next.
    /// In `next_base64` instead when that key is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_base64: Option<String>,
}

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

/// Read consistency, the `consistency` query parameter of reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Consistency {
    /// Confirmed with a quorum through the leader (ReadIndex); never stale. The default.
    #[default]
    Linearizable,
    /// Confirmed by the leader's lease, without a round trip; assumes bounded clock drift.
    Lease,
    /// This node's applied state; fastest, may be stale on a follower (alias `serializable`,
    /// as etcd calls it).
    #[value(alias = "serializable")]
    Local,
}

impl Consistency {
    /// The query-string value.
    pub fn as_str(self) -> &'static str {
        match self {
            Consistency::Linearizable => "linearizable",
            Consistency::Lease => "lease",
            Consistency::Local => "local",
        }
    }
}

impl std::str::FromStr for Consistency {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "linearizable" => Ok(Consistency::Linearizable),
            "lease" => Ok(Consistency::Lease),
            "local" | "serializable" => Ok(Consistency::Local),
            other => Err(format!(
                "consistency `{other}` is not valid; use linearizable, lease or local"
            )),
        }
    }
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

#[cfg(test)]
mod tests;

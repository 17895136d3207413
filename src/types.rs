//! Wire types of the client API, shared by the server, the CLI client and the dashboard.
//!
//! Every response is wrapped in the original dcache envelope: `{"success":true,"data":{...}}`
//! or `{"success":false,"error":{"code":"...","message":"..."}}`.

use serde::{Deserialize, Serialize};

mod cluster;
mod envelope;
mod value;
pub use cluster::{Health, JoinRequest, JoinResult, LeaderInfo, MemberInfo, NodeStatus, ReplicationInfo, Role};
pub use envelope::{Envelope, ErrorBody, ErrorCode};
pub use value::{key_fields, key_from_fields, value_fields, value_from_fields};

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

#[cfg(test)]
mod tests;

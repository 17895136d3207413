//! The replicated commands and what applying them yields. A `Request` is one Raft log entry.

use serde::{Deserialize, Serialize};

/// One log entry's payload: a command stamped by the leader that proposed it.
///
/// The stamps make every decision deterministic on every replica: expiry is judged against
/// `at_ms` (the leader's wall clock at proposal), never the replica's own clock, and the
/// memory bound is the leader's `max_bytes`, not each node's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// Leader wall-clock time of the proposal, ms since the Unix epoch.
    pub at_ms: u64,
    /// Memory bound in force for this entry (`max-memory`), if any.
    pub max_bytes: Option<u64>,
    pub cmd: Command,
}

/// A change to the cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Store `value` under `key`. With `ttl_ms` the key expires `ttl_ms` after the leader's
    /// timestamp of the entry, so the absolute expiry is fixed by the log, not by a replica's
    /// clock. `if_version` makes it conditional: `Some(0)` = only if absent, `Some(v)` = only
    /// if the current version is `v`.
    Set {
        key: String,
        value: String,
        ttl_ms: Option<u64>,
        if_version: Option<u64>,
    },
    /// Remove `key`; conditional like `Set`.
    Delete { key: String, if_version: Option<u64> },
    /// Several sets/deletes applied atomically: all conditions are checked first, and either
    /// every operation applies or none does.
    Batch(Vec<Command>),
    /// Remove every key expired at `at_ms` (proposed periodically by the leader).
    Purge,
    /// Independent sets and deletes of distinct keys that the leader coalesced into one log
    /// entry. Each applies as if it were an entry of its own, with its own condition and
    /// outcome; they share the entry's index as their version. Only the leader builds
    /// groups: clients and peers cannot send one.
    Group(Vec<Command>),
}

impl Command {
    /// Whether the command has a shape the client API can produce: a batch holds only sets
    /// and deletes. A nested batch (only a hostile peer could send one) would make log
    /// entries too deep to decode again and must never reach the log.
    pub fn is_well_formed(&self) -> bool {
        match self {
            Command::Batch(ops) => ops
                .iter()
                .all(|op| matches!(op, Command::Set { .. } | Command::Delete { .. })),
            Command::Group(_) => false,
            _ => true,
        }
    }

    /// Key and value bytes the command carries (what it adds to a log entry, roughly).
    pub fn approx_bytes(&self) -> usize {
        match self {
            Command::Set { key, value, .. } => key.len() + value.len(),
            Command::Delete { key, .. } => key.len(),
            Command::Batch(ops) | Command::Group(ops) => ops.iter().map(Command::approx_bytes).sum(),
            Command::Purge => 0,
        }
    }

    /// The key a single set or delete changes; `None` for batches, groups and purges.
    pub fn single_key(&self) -> Option<&str> {
        match self {
            Command::Set { key, .. } | Command::Delete { key, .. } => Some(key),
            Command::Batch(_) | Command::Group(_) | Command::Purge => None,
        }
    }
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.cmd {
            Command::Set { key, value, .. } => write!(f, "set {key:?} ({} bytes)", value.len()),
            Command::Delete { key, .. } => write!(f, "delete {key:?}"),
            Command::Batch(ops) => write!(f, "batch of {}", ops.len()),
            Command::Group(ops) => write!(f, "group of {} writes", ops.len()),
            Command::Purge => write!(f, "purge expired at {}", self.at_ms),
        }
    }
}

/// What applying one [`Command`] did; returned to the client that proposed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The key now holds the new value at this version.
    Set { version: u64 },
    /// Whether the key existed before the delete.
    Deleted { existed: bool },
    /// A condition did not hold; nothing changed. `current` is the key's version (None if absent).
    ConditionFailed { key: String, current: Option<u64> },
    /// The value alone exceeds the memory bound; nothing changed.
    TooLarge { key: String, bytes: u64, max_bytes: u64 },
    /// Every operation of a batch applied, in order.
    Batch(Vec<Outcome>),
    /// The outcome of each write of a group, in order.
    Group(Vec<Outcome>),
    /// A purge removed this many expired keys.
    Purged { count: u64 },
    /// The entry carried no command (blank or membership entries).
    None,
}

/// What happened to a key, as streamed by watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Set,
    Delete,
    Expire,
    Evict,
}

/// One change to one key, in log order. `version` is the log index of the entry that
/// caused it (several events share it for batches, purges and evictions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchEvent {
    pub kind: EventKind,
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub version: u64,
}

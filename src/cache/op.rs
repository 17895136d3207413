//! Client operations: what a front end asks the cluster to do, and what doing it yields.
//!
//! These are the types the node API takes and returns. They know nothing of the log: the
//! node wraps them in a leader-stamped [`super::Request`] (see `log.rs`). A new single-key
//! operation is a new [`Write`] variant plus its rule in `Cache::apply_write`; it then flows
//! through forwarding, coalescing and every front end unchanged.

use serde::{Deserialize, Serialize};

use super::{Key, Value};

/// One change to one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Write {
    /// Store `value` under `key`. With `ttl_ms` the key expires `ttl_ms` after the leader's
    /// timestamp of the entry, so the absolute expiry is fixed by the log, not by a replica's
    /// clock. `if_version` makes it conditional: `Some(0)` = only if absent, `Some(v)` = only
    /// if the current version is `v`.
    Set {
        key: Key,
        value: Value,
        ttl_ms: Option<u64>,
        if_version: Option<u64>,
    },
    /// Remove `key`; conditional like `Set`.
    Delete { key: Key, if_version: Option<u64> },
    /// Make the live `key` expire `ttl_ms` after the leader's timestamp of the entry,
    /// keeping its value; a new version. Format 3.
    Expire { key: Key, ttl_ms: u64 },
    /// Remove the live `key`'s expiry, keeping its value; a new version. Format 3.
    Persist { key: Key },
    /// Add `by` to the decimal integer under `key` (0 if absent), keeping its expiry; the
    /// result is in [`Done::number`]. Format 3.
    Incr { key: Key, by: i64 },
}

impl std::fmt::Display for Write {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Write::Set { key, value, .. } => write!(f, "set {key:?} ({} bytes)", value.len()),
            Write::Delete { key, .. } => write!(f, "delete {key:?}"),
            Write::Expire { key, ttl_ms } => write!(f, "expire {key:?} in {ttl_ms} ms"),
            Write::Persist { key } => write!(f, "persist {key:?}"),
            Write::Incr { key, by } => write!(f, "incr {key:?} by {by}"),
        }
    }
}

impl Write {
    /// The key this write changes.
    pub fn key(&self) -> &Key {
        match self {
            Write::Set { key, .. }
            | Write::Delete { key, .. }
            | Write::Expire { key, .. }
            | Write::Persist { key }
            | Write::Incr { key, .. } => key,
        }
    }

    /// The oldest format that has this write (see `crate::version`): a key or value that is
    /// not UTF-8 needs [`super::BINARY_FORMAT`].
    pub fn format(&self) -> u32 {
        let least = match self {
            Write::Set { value, .. } => value.format(),
            Write::Delete { .. } => 2,
            Write::Expire { .. } | Write::Persist { .. } | Write::Incr { .. } => 3,
        };
        least.max(self.key().format())
    }

    /// What the write is called in errors.
    pub fn name(&self) -> &'static str {
        match self {
            Write::Set { .. } => "set",
            Write::Delete { .. } => "delete",
            Write::Expire { .. } => "expire",
            Write::Persist { .. } => "persist",
            Write::Incr { .. } => "incr",
        }
    }

    /// The version the key must be at for the write to apply (`Some(0)`: absent).
    pub fn if_version(&self) -> Option<u64> {
        match self {
            Write::Set { if_version, .. } | Write::Delete { if_version, .. } => *if_version,
            Write::Expire { .. } | Write::Persist { .. } | Write::Incr { .. } => None,
        }
    }

    /// The same write without its condition (a batch checks every condition up front).
    pub(super) fn unconditional(self) -> Write {
        match self {
            Write::Set { key, value, ttl_ms, .. } => Write::Set {
                key,
                value,
                ttl_ms,
                if_version: None,
            },
            Write::Delete { key, .. } => Write::Delete { key, if_version: None },
            other => other,
        }
    }

    /// A bound on the write's size on the peer wire; see [`Op::wire_bytes_bound`].
    pub fn wire_bytes_bound(&self) -> usize {
        match self {
            Write::Set { key, value, .. } => key.len() + value.len() + SET_OVERHEAD,
            Write::Delete { key, .. }
            | Write::Expire { key, .. }
            | Write::Persist { key }
            | Write::Incr { key, .. } => key.len() + WRITE_OVERHEAD,
        }
    }

    /// Key and value bytes the write carries (what it adds to a log entry, roughly).
    pub fn approx_bytes(&self) -> usize {
        match self {
            Write::Set { key, value, .. } => key.len() + value.len(),
            Write::Delete { key, .. }
            | Write::Expire { key, .. }
            | Write::Persist { key }
            | Write::Incr { key, .. } => key.len() + 20,
        }
    }
}

/// Bytes of MessagePack framing (with field names) a `Set` takes at most beyond its key and
/// value: variant and field names, lengths, TTL and version (counted: 62).
const SET_OVERHEAD: usize = 64;
/// The same for the other writes, their numbers included (counted: `Delete` 38, `Incr` 34).
const WRITE_OVERHEAD: usize = 48;
/// The same for one watched key and its version (counted: 13).
const WATCH_OVERHEAD: usize = 16;
/// The same for the operation around its writes (counted: under 40).
const OP_OVERHEAD: usize = 64;

/// What a client asks the cluster to do in one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// One write. Under load the leader may put it in one log entry with other writes of
    /// other keys; it still applies, and is answered, as if it were alone.
    Write(Write),
    /// Writes applied atomically at one version: every condition is checked against the
    /// state before the batch, then either all apply or none does.
    Batch(Vec<Write>),
    /// A transaction (Redis's WATCH/MULTI/EXEC): if every watched key is still at its
    /// version (`0`: absent), the writes apply in order at one version, each against the
    /// state the ones before it left and each with its own outcome (a refused write changes
    /// nothing, the others still apply). Otherwise nothing applies. Format 3.
    Transaction { watch: Vec<(Key, u64)>, writes: Vec<Write> },
}

impl Op {
    /// Key and value bytes the operation carries.
    pub fn approx_bytes(&self) -> usize {
        match self {
            Op::Write(w) => w.approx_bytes(),
            Op::Batch(ws) => ws.iter().map(Write::approx_bytes).sum(),
            Op::Transaction { watch, writes } => {
                watch.iter().map(|(k, _)| k.len() + 8).sum::<usize>()
                    + writes.iter().map(Write::approx_bytes).sum::<usize>()
            }
        }
    }

    /// A bound on the operation's size on the peer wire (MessagePack with field names): its
    /// keys and values plus the framing of each write, each watched key and the operation
    /// itself. A follower forwards an operation to the leader in one message, so this is
    /// what bounds it.
    pub fn wire_bytes_bound(&self) -> usize {
        let (watch, writes) = match self {
            Op::Write(w) => (&[][..], std::slice::from_ref(w)),
            Op::Batch(ws) => (&[][..], ws.as_slice()),
            Op::Transaction { watch, writes } => (watch.as_slice(), writes.as_slice()),
        };
        Op::framing_bytes_bound(watch) + writes.iter().map(Write::wire_bytes_bound).sum::<usize>()
    }

    /// What an operation watching `watch` takes on the peer wire beyond its writes: its own
    /// framing and the watched keys. [`Op::wire_bytes_bound`] is this plus each write's
    /// [`Write::wire_bytes_bound`], so a transaction can be bounded as it is queued.
    pub fn framing_bytes_bound(watch: &[(Key, u64)]) -> usize {
        OP_OVERHEAD + watch.iter().map(|(k, _)| k.len() + WATCH_OVERHEAD).sum::<usize>()
    }

    /// The oldest format that has every write of the operation, and the first write that
    /// needs it (for the error when the cluster runs an older one).
    pub fn format(&self) -> (u32, Option<&Write>) {
        let (writes, least) = match self {
            Op::Write(w) => (std::slice::from_ref(w), 2),
            Op::Batch(ws) => (ws.as_slice(), 2),
            Op::Transaction { writes, .. } => (writes.as_slice(), 3),
        };
        let newest = writes.iter().max_by_key(|w| w.format());
        let watched = match self {
            Op::Transaction { watch, .. } => watch.iter().map(|(k, _)| k.format()).max().unwrap_or(2),
            _ => 2,
        };
        match newest.map_or(2, Write::format) {
            f if f > least && f >= watched => (f, newest),
            _ => (least.max(watched), None),
        }
    }
}

/// What one applied write did to its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    /// The key's version after the write: the log index of the entry that carried it.
    pub version: u64,
    /// Whether the key existed (and had not expired) before the write.
    pub existed: bool,
    /// The new value of an [`Write::Incr`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<i64>,
}

/// Why a write was not applied; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// A condition did not hold. `current` is the key's version (`None` if absent).
    ConditionFailed { key: Key, current: Option<u64> },
    /// The key and value alone exceed the memory bound.
    TooLarge { key: Key, bytes: u64, max_bytes: u64 },
    /// `expire` or `persist` of a key that does not exist (or has expired).
    NotFound { key: Key },
    /// `persist` of a key that has no expiry.
    NoExpiry { key: Key },
    /// `incr` of a value that is not a decimal signed 64-bit integer.
    NotAnInteger { key: Key },
    /// `incr` past the signed 64-bit range.
    Overflow { key: Key },
}

/// A batch applied at one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batched {
    /// The log index of the batch's entry: every key it wrote is now at this version.
    pub version: u64,
    /// One [`Done`] per write of the batch, in order.
    pub done: Vec<Done>,
}

/// The outcome of an [`Op`], variant for variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpOutcome {
    Write(Result<Done, Refusal>),
    Batch(Result<Batched, Refusal>),
    Transaction(Result<Transacted, Refusal>),
}

/// What an applied transaction did: one outcome per write, in order, all at `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transacted {
    /// The log index of the transaction's entry.
    pub version: u64,
    pub outcomes: Vec<Result<Done, Refusal>>,
}

/// A key as a reader sees it at some moment: its value, version and time left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyView {
    pub key: Key,
    pub value: Value,
    pub version: u64,
    /// Milliseconds left before the key expires, if it has a TTL.
    pub ttl_ms: Option<u64>,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The wire bound holds for any operation, with the widest numbers and binary keys and
        /// values: a follower never forwards an operation the leader's peer API would refuse.
        #[test]
        fn an_operation_never_encodes_past_its_wire_bound(
            keys in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..40), 1..30),
            value in prop::collection::vec(any::<u8>(), 0..300),
            kind in 0usize..6,
        ) {
            let writes: Vec<Write> = keys
                .iter()
                .map(|k| match kind {
                    0 => Write::Set { key: k.as_slice().into(), value: value.as_slice().into(), ttl_ms: Some(u64::MAX), if_version: Some(u64::MAX) },
                    1 => Write::Delete { key: k.as_slice().into(), if_version: Some(u64::MAX) },
                    2 => Write::Expire { key: k.as_slice().into(), ttl_ms: u64::MAX },
                    3 => Write::Persist { key: k.as_slice().into() },
                    _ => Write::Incr { key: k.as_slice().into(), by: i64::MIN },
                })
                .collect();
            let watch: Vec<(Key, u64)> = keys.iter().map(|k| (Key::from(k.as_slice()), u64::MAX)).collect();
            for op in [
                Op::Write(writes[0].clone()),
                Op::Batch(writes.clone()),
                Op::Transaction { watch, writes },
            ] {
                let encoded = rmp_serde::to_vec_named(&op).unwrap().len();
                prop_assert!(encoded <= op.wire_bytes_bound(), "{encoded} > {} for {op:?}", op.wire_bytes_bound());
            }
        }
    }

    /// The wire bound holds for long keys and values too, whose length headers are longest.
    #[test]
    fn long_keys_and_values_stay_within_their_wire_bound() {
        for len in [255usize, 256, 65_535, 65_536, 70_000] {
            let (key, value): (Key, Value) = (vec![0xff; len].as_slice().into(), vec![b'v'; len].as_slice().into());
            let writes = vec![
                Write::Set {
                    key: key.clone(),
                    value,
                    ttl_ms: Some(u64::MAX),
                    if_version: Some(u64::MAX),
                },
                Write::Delete {
                    key: key.clone(),
                    if_version: Some(u64::MAX),
                },
                Write::Expire {
                    key: key.clone(),
                    ttl_ms: u64::MAX,
                },
                Write::Persist { key: key.clone() },
                Write::Incr {
                    key: key.clone(),
                    by: i64::MIN,
                },
            ];
            for op in writes.iter().cloned().map(Op::Write).chain([Op::Transaction {
                watch: vec![(key.clone(), u64::MAX); 3],
                writes: writes.clone(),
            }]) {
                let encoded = rmp_serde::to_vec_named(&op).unwrap().len();
                assert!(
                    encoded <= op.wire_bytes_bound(),
                    "{len}: {encoded} > {} for a {:?}",
                    op.wire_bytes_bound(),
                    std::mem::discriminant(&op)
                );
            }
        }
    }
}

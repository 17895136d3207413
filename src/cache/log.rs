//! The replicated log payload: a [`Change`] stamped by the leader that proposed it, and the
//! [`Effect`] applying it has. Persisted in the Raft log and sent to peers, so its encoding
//! is versioned: each entry carries the oldest format that can read it (see `crate::version`).

use serde::{Deserialize, Serialize};

use super::op::{Batched, Done, Refusal, Transacted, Write};
use super::Key;

/// Format 1 (no `format` field, a `cmd` that mixed client operations and log internals) is
/// still read and converted. Formats 2 and later share one encoding: an entry is stamped with
/// the oldest format that has every variant it uses, so an older member reads what a newer
/// leader writes until the cluster version moves. A format newer than this build reads is
/// refused with an error that names both versions, never misread.
use crate::version;

/// One log entry's payload: a change stamped by the leader that proposed it.
///
/// The stamps make every decision deterministic on every replica: expiry is judged against
/// `at_ms` (the leader's wall clock at proposal), never the replica's own clock, and the
/// memory bound is the leader's `max_bytes`, not each node's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "Stored")]
pub struct Request {
    /// Leader wall-clock time of the proposal, ms since the Unix epoch.
    pub at_ms: u64,
    /// Memory bound in force for this entry (`max-memory`), if any.
    pub max_bytes: Option<u64>,
    pub change: Change,
}

/// What one log entry changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// Independent writes of distinct keys: one client write, or several the leader coalesced
    /// into one entry. Each applies as if it were an entry of its own, with its own condition
    /// and outcome; they share the entry's index as their version.
    Writes(Vec<Write>),
    /// A client batch: all conditions checked first, then all writes apply or none does.
    Batch(Vec<Write>),
    /// A client transaction: applies only if every watched key is at its version (`0`:
    /// absent); then each write applies in order with its own outcome. Format 3.
    Transaction { watch: Vec<(Key, u64)>, writes: Vec<Write> },
    /// Remove every key expired at the entry's `at_ms` (proposed periodically by the leader).
    Purge,
    /// From this entry on the cluster runs at this format (format 3): proposed by the leader
    /// once every member has published that it reads it. Never lowers it.
    ClusterFormat(u32),
}

/// What applying one entry did; handed back to whoever proposed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// One outcome per write of [`Change::Writes`], in order.
    Writes(Vec<Result<Done, Refusal>>),
    /// The outcome of a [`Change::Batch`].
    Batch(Result<Batched, Refusal>),
    /// The outcome of a [`Change::Transaction`]: refused when a watched key moved.
    Transaction(Result<Transacted, Refusal>),
    /// A purge removed this many expired keys.
    Purged(u64),
    /// The cluster version is now this format.
    ClusterFormat(u32),
    /// The entry carried no change (blank or membership entries).
    None,
}

impl Serialize for Request {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Current<'a> {
            format: u32,
            at_ms: u64,
            max_bytes: Option<u64>,
            change: &'a Change,
        }
        Current {
            format: self.change.format(),
            at_ms: self.at_ms,
            max_bytes: self.max_bytes,
            change: &self.change,
        }
        .serialize(serializer)
    }
}

/// A payload as stored, of any format this build reads.
#[derive(Deserialize)]
struct Stored {
    #[serde(default)]
    format: Option<u32>,
    at_ms: u64,
    max_bytes: Option<u64>,
    #[serde(default)]
    change: Option<Change>,
    #[serde(default)]
    cmd: Option<v1::Command>,
}

impl TryFrom<Stored> for Request {
    type Error = String;

    fn try_from(s: Stored) -> Result<Self, String> {
        let max = version::max_format();
        let change = match (s.format, s.change, s.cmd) {
            (Some(f), _, _) if f > max => return Err(too_new("log entry", f)),
            (Some(f), Some(change), _) if f >= 2 && change.format() <= f => change,
            (None, _, Some(cmd)) => cmd.into_change()?,
            (f, _, _) => return Err(format!("malformed log entry (format {f:?})")),
        };
        Ok(Request {
            at_ms: s.at_ms,
            max_bytes: s.max_bytes,
            change,
        })
    }
}

/// The error for something of format `found`, newer than this build reads.
pub fn too_new(what: &str, found: u32) -> String {
    format!(
        "{what} of format {found} {} (dcache {}, formats up to {}); \
         upgrade this node to a build that reads format {found}",
        crate::peer::TOO_NEW,
        version::CRATE,
        version::max_format()
    )
}

/// Log format 1, read only: entries written by builds before the format was versioned.
mod v1 {
    use serde::Deserialize;

    use super::{Change, Write};

    #[derive(Deserialize)]
    pub(super) enum Command {
        Set {
            key: String,
            value: String,
            ttl_ms: Option<u64>,
            if_version: Option<u64>,
        },
        Delete {
            key: String,
            if_version: Option<u64>,
        },
        Batch(Vec<Command>),
        Purge,
        Group(Vec<Command>),
    }

    impl Command {
        fn into_write(self) -> Result<Write, String> {
            match self {
                Command::Set {
                    key,
                    value,
                    ttl_ms,
                    if_version,
                } => Ok(Write::Set {
                    key: key.into(),
                    value: value.into(),
                    ttl_ms,
                    if_version,
                }),
                Command::Delete { key, if_version } => Ok(Write::Delete {
                    key: key.into(),
                    if_version,
                }),
                _ => Err("a format-1 batch or group holds something other than sets and deletes".into()),
            }
        }

        pub(super) fn into_change(self) -> Result<Change, String> {
            let writes = |ops: Vec<Command>| ops.into_iter().map(Command::into_write).collect::<Result<Vec<_>, _>>();
            Ok(match self {
                Command::Purge => Change::Purge,
                Command::Batch(ops) => Change::Batch(writes(ops)?),
                Command::Group(ops) => Change::Writes(writes(ops)?),
                single => Change::Writes(vec![single.into_write()?]),
            })
        }
    }
}

impl Change {
    /// Key and value bytes the change carries.
    pub fn approx_bytes(&self) -> usize {
        match self {
            Change::Writes(ws) | Change::Batch(ws) => ws.iter().map(Write::approx_bytes).sum(),
            Change::Transaction { writes, .. } => writes.iter().map(Write::approx_bytes).sum(),
            Change::Purge | Change::ClusterFormat(_) => 0,
        }
    }

    /// The oldest format that can read this change: what its entry is stamped with.
    pub fn format(&self) -> u32 {
        match self {
            Change::Writes(ws) | Change::Batch(ws) => ws.iter().map(Write::format).max().unwrap_or(2),
            Change::Purge => 2,
            Change::ClusterFormat(_) => 3,
            Change::Transaction { watch, writes } => writes
                .iter()
                .map(Write::format)
                .chain(watch.iter().map(|(k, _)| k.format()))
                .max()
                .unwrap_or(3)
                .max(3),
        }
    }
}

impl Request {
    /// The format this entry is stamped with.
    pub fn format(&self) -> u32 {
        self.change.format()
    }
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.change {
            Change::Writes(ws) if ws.len() == 1 => write!(f, "{}", ws[0]),
            Change::Writes(ws) => write!(f, "group of {} writes", ws.len()),
            Change::Batch(ws) => write!(f, "batch of {}", ws.len()),
            Change::Transaction { watch, writes } => {
                write!(
                    f,
                    "transaction of {} writes watching {} keys",
                    writes.len(),
                    watch.len()
                )
            }
            Change::Purge => write!(f, "purge expired at {}", self.at_ms),
            Change::ClusterFormat(v) => write!(f, "cluster version to format {v}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A format-1 payload exactly as builds before the split wrote it.
    #[derive(Serialize)]
    struct OldRequest {
        at_ms: u64,
        max_bytes: Option<u64>,
        cmd: OldCommand,
    }

    #[derive(Serialize)]
    enum OldCommand {
        Set {
            key: String,
            value: String,
            ttl_ms: Option<u64>,
            if_version: Option<u64>,
        },
        Batch(Vec<OldCommand>),
        Purge,
        Group(Vec<OldCommand>),
    }

    fn old_set(k: &str) -> OldCommand {
        OldCommand::Set {
            key: k.into(),
            value: "v".into(),
            ttl_ms: Some(5),
            if_version: None,
        }
    }

    fn decode(bytes: &[u8]) -> Result<Request, rmp_serde::decode::Error> {
        rmp_serde::from_slice(bytes)
    }

    #[test]
    fn format_1_entries_still_read() {
        let set = |k: &str| Write::Set {
            key: k.into(),
            value: "v".into(),
            ttl_ms: Some(5),
            if_version: None,
        };
        let cases = [
            (old_set("a"), Change::Writes(vec![set("a")])),
            (
                OldCommand::Group(vec![old_set("a"), old_set("b")]),
                Change::Writes(vec![set("a"), set("b")]),
            ),
            (OldCommand::Batch(vec![old_set("a")]), Change::Batch(vec![set("a")])),
            (OldCommand::Purge, Change::Purge),
        ];
        for (cmd, want) in cases {
            let bytes = rmp_serde::to_vec_named(&OldRequest {
                at_ms: 7,
                max_bytes: Some(9),
                cmd,
            })
            .unwrap();
            let req = decode(&bytes).unwrap();
            assert_eq!((req.at_ms, req.max_bytes, req.change), (7, Some(9), want));
        }
        let nested = OldCommand::Batch(vec![OldCommand::Batch(vec![])]);
        let bytes = rmp_serde::to_vec_named(&OldRequest {
            at_ms: 1,
            max_bytes: None,
            cmd: nested,
        })
        .unwrap();
        assert!(decode(&bytes).is_err());
    }

    #[test]
    fn current_entries_round_trip_and_newer_ones_are_refused() {
        let req = Request {
            at_ms: 3,
            max_bytes: None,
            change: Change::Purge,
        };
        let bytes = rmp_serde::to_vec_named(&req).unwrap();
        assert_eq!(decode(&bytes).unwrap(), req);

        #[derive(Serialize)]
        struct Future {
            format: u32,
            at_ms: u64,
            max_bytes: Option<u64>,
            change: Change,
        }
        let bytes = rmp_serde::to_vec_named(&Future {
            format: crate::version::FORMAT + 1,
            at_ms: 3,
            max_bytes: None,
            change: Change::Purge,
        })
        .unwrap();
        let err = decode(&bytes).unwrap_err().to_string();
        assert!(err.contains("newer than this build reads"), "{err}");
    }
}

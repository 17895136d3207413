//! The in-memory cache state: an ordered map of keys to versioned values.
//!
//! Owns the data and the rules for changing it. It knows nothing of Raft, sled, HTTP or
//! clocks: every change arrives as a [`Command`] stamped with its log index, so every replica
//! applying the same commands in the same order holds exactly the same state.

use std::collections::BTreeMap;
use std::ops::Bound;

use serde::{Deserialize, Serialize};

/// A change to the cache, as carried in one replicated log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Store `value` under `key`, replacing any previous value.
    Set { key: String, value: String },
    /// Remove `key` if present.
    Delete { key: String },
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Set { key, value } => write!(f, "set {key:?} ({} bytes)", value.len()),
            Command::Delete { key } => write!(f, "delete {key:?}"),
        }
    }
}

/// What applying a [`Command`] did; returned to the client that proposed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The key now holds the new value at this version.
    Set { version: u64 },
    /// Whether the key existed before the delete.
    Deleted { existed: bool },
    /// The entry carried no command (blank or membership entries).
    None,
}

/// One stored value and the log index of its last write (like etcd's `mod_revision`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub value: String,
    pub version: u64,
}

/// Per-entry bookkeeping overhead counted in [`Cache::approx_bytes`]: the map node, the two
/// `String` headers and the version, rounded up.
const ENTRY_OVERHEAD: usize = 64;

/// The cache: an ordered map so prefix scans are range walks, plus a running byte count.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Cache {
    map: BTreeMap<String, Entry>,
    bytes: usize,
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `cmd` as the write at log index `version`. Cost: O(log n).
    pub fn apply(&mut self, version: u64, cmd: Command) -> Outcome {
        match cmd {
            Command::Set { key, value } => {
                let add = entry_size(&key, &value);
                let entry = Entry { value, version };
                match self.map.get_mut(&key) {
                    Some(old) => {
                        self.bytes = self.bytes - entry_size(&key, &old.value) + add;
                        *old = entry;
                    }
                    None => {
                        self.bytes += add;
                        self.map.insert(key, entry);
                    }
                }
                Outcome::Set { version }
            }
            Command::Delete { key } => match self.map.remove(&key) {
                Some(old) => {
                    self.bytes -= entry_size(&key, &old.value);
                    Outcome::Deleted { existed: true }
                }
                None => Outcome::Deleted { existed: false },
            },
        }
    }

    /// The entry stored under `key`, if any.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.map.get(key)
    }

    /// Up to `limit` entries whose key starts with `prefix`, in key order, and whether more
    /// matched. Cost: O(log n + limit).
    pub fn scan(&self, prefix: &str, limit: usize) -> (Vec<(&str, &Entry)>, bool) {
        let mut iter = self
            .map
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v));
        let items: Vec<_> = iter.by_ref().take(limit).collect();
        let truncated = iter.next().is_some();
        (items, truncated)
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the cache holds no keys.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Approximate memory held by keys and values, including a fixed per-entry overhead.
    pub fn approx_bytes(&self) -> usize {
        self.bytes
    }

    /// Every entry in key order; used to serialize snapshots.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Entry)> {
        self.map.iter()
    }

    /// Builds a cache from entries (e.g. a decoded snapshot). Later duplicates win.
    pub fn from_entries(entries: impl IntoIterator<Item = (String, Entry)>) -> Self {
        let mut cache = Cache::new();
        for (key, entry) in entries {
            let add = entry_size(&key, &entry.value);
            if let Some(old) = cache.map.insert(key.clone(), entry) {
                cache.bytes -= entry_size(&key, &old.value);
            }
            cache.bytes += add;
        }
        cache
    }
}

fn entry_size(key: &str, value: &str) -> usize {
    key.len() + value.len() + ENTRY_OVERHEAD
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(k: &str, v: &str) -> Command {
        Command::Set {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn set_get_delete_track_versions_and_bytes() {
        let mut c = Cache::new();
        assert_eq!(c.apply(1, set("a", "1")), Outcome::Set { version: 1 });
        assert_eq!(c.apply(2, set("a", "22")), Outcome::Set { version: 2 });
        assert_eq!(c.get("a").map(|e| (e.value.as_str(), e.version)), Some(("22", 2)));
        assert_eq!(c.approx_bytes(), 1 + 2 + ENTRY_OVERHEAD);
        let del = Command::Delete { key: "a".into() };
        assert_eq!(c.apply(3, del.clone()), Outcome::Deleted { existed: true });
        assert_eq!(c.apply(4, del), Outcome::Deleted { existed: false });
        assert_eq!(c.approx_bytes(), 0);
        assert!(c.is_empty());
    }

    #[test]
    fn scan_respects_prefix_limit_and_reports_truncation() {
        let mut c = Cache::new();
        for (i, k) in ["a", "user:1", "user:2", "user:3", "users", "v"].iter().enumerate() {
            c.apply(i as u64 + 1, set(k, "x"));
        }
        let (items, truncated) = c.scan("user:", 2);
        let keys: Vec<_> = items.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["user:1", "user:2"]);
        assert!(truncated);
        let (items, truncated) = c.scan("user:", 3);
        assert_eq!(items.len(), 3);
        assert!(!truncated);
        let (items, _) = c.scan("", 100);
        assert_eq!(items.len(), 6);
    }

    #[test]
    fn from_entries_round_trips() {
        let mut c = Cache::new();
        c.apply(1, set("k1", "v1"));
        c.apply(2, set("k2", "v2"));
        let copy = Cache::from_entries(c.iter().map(|(k, e)| (k.clone(), e.clone())));
        assert_eq!(copy, c);
    }
}

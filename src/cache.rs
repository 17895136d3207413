//! The in-memory cache state: an ordered map of keys to versioned values with expiry, a
//! deterministic memory bound, and the recent history of changes for watchers.
//!
//! Owns the data and the rules for changing it. It knows nothing of Raft, sled, HTTP or the
//! local clock: every change arrives as a [`Request`] stamped by the leader and carrying its
//! log index, so every replica applying the same requests in the same order holds exactly the
//! same state, evicts the same keys and expires the same keys.

mod command;
mod history;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use command::{Command, EventKind, Outcome, Request, WatchEvent};
pub use history::History;

/// One stored value: its version (the log index of its last write, like etcd's
/// `mod_revision`) and its absolute expiry on the leader's clock, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub value: String,
    pub version: u64,
    pub expires_at_ms: Option<u64>,
}

impl Entry {
    /// Whether the entry is still visible at `now_ms`.
    pub fn is_live(&self, now_ms: u64) -> bool {
        self.expires_at_ms.is_none_or(|t| t > now_ms)
    }
}

/// Bytes counted per entry beyond its key and value: map and index nodes, string headers,
/// version and expiry. An estimate; `max-memory` is enforced on this count.
pub const ENTRY_OVERHEAD: u64 = 96;

/// Counters that are part of the replicated state (identical on every replica).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Latest leader timestamp applied; the cache's notion of "now" for expiry decisions.
    pub clock_ms: u64,
    /// Keys removed to stay under the memory bound.
    pub evictions: u64,
    /// Keys removed because they expired.
    pub expirations: u64,
}

/// The cache. Keys are shared (`Arc<str>`) between the map and its two eviction indexes.
#[derive(Debug, Default)]
pub struct Cache {
    map: BTreeMap<Arc<str>, Entry>,
    by_expiry: BTreeSet<(u64, Arc<str>)>,
    by_version: BTreeSet<(u64, Arc<str>)>,
    bytes: u64,
    counters: Counters,
    history: History,
    pending: Vec<WatchEvent>,
}

impl PartialEq for Cache {
    /// Replicated state only: entries and counters (not watch history).
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map && self.counters == other.counters && self.bytes == other.bytes
    }
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `req` as the log entry at `index`. Cost: O(log n) per key touched, plus the
    /// evictions it triggers.
    pub fn apply(&mut self, index: u64, req: Request) -> Outcome {
        self.counters.clock_ms = self.counters.clock_ms.max(req.at_ms);
        match req.cmd {
            Command::Purge => Outcome::Purged {
                count: self.purge_expired(index),
            },
            Command::Batch(ops) => self.apply_batch(index, ops, req.max_bytes),
            cmd => self.apply_one(index, cmd, req.max_bytes),
        }
    }

    fn apply_one(&mut self, index: u64, cmd: Command, max_bytes: Option<u64>) -> Outcome {
        if let Some(failed) = self.check(&cmd, max_bytes) {
            return failed;
        }
        match cmd {
            Command::Set { key, value, ttl_ms, .. } => {
                let key: Arc<str> = Arc::from(key);
                let expires_at_ms = ttl_ms.map(|t| self.counters.clock_ms.saturating_add(t));
                self.insert(key.clone(), value, index, expires_at_ms);
                if let Some(max) = max_bytes {
                    self.evict_to(max, index, &key);
                }
                Outcome::Set { version: index }
            }
            Command::Delete { key, .. } => {
                let existed = self.live(&key).is_some();
                if let Some(entry) = self.remove(&key) {
                    if existed {
                        self.emit(EventKind::Delete, &key, None, index);
                    } else {
                        // It had expired but was not purged yet: that is an expiry.
                        self.counters.expirations += 1;
                        drop(entry);
                        self.emit(EventKind::Expire, &key, None, index);
                    }
                }
                Outcome::Deleted { existed }
            }
            // Nested batches and purges are not produced by the API.
            Command::Batch(_) | Command::Purge => Outcome::None,
        }
    }

    fn apply_batch(&mut self, index: u64, ops: Vec<Command>, max_bytes: Option<u64>) -> Outcome {
        // All conditions are judged against the state before the batch.
        if let Some(failed) = ops.iter().find_map(|op| self.check(op, max_bytes)) {
            return failed;
        }
        let mut outcomes = Vec::with_capacity(ops.len());
        for op in ops {
            let op = match op {
                Command::Set { key, value, ttl_ms, .. } => Command::Set {
                    key,
                    value,
                    ttl_ms,
                    if_version: None,
                },
                Command::Delete { key, .. } => Command::Delete { key, if_version: None },
                other => other,
            };
            outcomes.push(self.apply_one(index, op, max_bytes));
        }
        Outcome::Batch(outcomes)
    }

    /// `Some(failure)` if `cmd`'s condition or size check fails against the current state.
    fn check(&self, cmd: &Command, max_bytes: Option<u64>) -> Option<Outcome> {
        let (key, if_version) = match cmd {
            Command::Set {
                key, value, if_version, ..
            } => {
                let bytes = entry_size(key, value);
                if let Some(max) = max_bytes.filter(|max| bytes > *max) {
                    return Some(Outcome::TooLarge {
                        key: key.clone(),
                        bytes,
                        max_bytes: max,
                    });
                }
                (key, if_version)
            }
            Command::Delete { key, if_version } => (key, if_version),
            Command::Batch(_) | Command::Purge => return None,
        };
        let want = (*if_version)?;
        let current = self.live(key).map(|e| e.version);
        let holds = match want {
            0 => current.is_none(),
            v => current == Some(v),
        };
        (!holds).then(|| Outcome::ConditionFailed {
            key: key.clone(),
            current,
        })
    }

    /// The entry under `key` if it exists and has not expired by the cache's own clock.
    fn live(&self, key: &str) -> Option<&Entry> {
        self.map.get(key).filter(|e| e.is_live(self.counters.clock_ms))
    }

    fn insert(&mut self, key: Arc<str>, value: String, version: u64, expires_at_ms: Option<u64>) {
        self.remove(&key);
        self.bytes += entry_size(&key, &value);
        if let Some(t) = expires_at_ms {
            self.by_expiry.insert((t, key.clone()));
        }
        self.by_version.insert((version, key.clone()));
        let event_value = value.clone();
        self.map.insert(
            key.clone(),
            Entry {
                value,
                version,
                expires_at_ms,
            },
        );
        self.emit(EventKind::Set, &key, Some(event_value), version);
    }

    fn remove(&mut self, key: &str) -> Option<Entry> {
        let (k, entry) = self.map.remove_entry(key)?;
        self.bytes -= entry_size(&k, &entry.value);
        if let Some(t) = entry.expires_at_ms {
            self.by_expiry.remove(&(t, k.clone()));
        }
        self.by_version.remove(&(entry.version, k));
        Some(entry)
    }

    /// Removes every key expired at the cache clock; returns how many.
    fn purge_expired(&mut self, index: u64) -> u64 {
        let now = self.counters.clock_ms;
        let expired: Vec<Arc<str>> = self
            .by_expiry
            .range(..(now.saturating_add(1), Arc::from("")))
            .map(|(_, k)| k.clone())
            .collect();
        for key in &expired {
            self.remove(key);
            self.counters.expirations += 1;
            self.emit(EventKind::Expire, key, None, index);
        }
        expired.len() as u64
    }

    /// Evicts until the cache fits in `max` bytes: expired keys first, then those soonest to
    /// expire, then the least recently written. Never evicts `keep` (the key just written).
    fn evict_to(&mut self, max: u64, index: u64, keep: &str) {
        let now = self.counters.clock_ms;
        while self.bytes > max {
            let soonest = self.by_expiry.iter().find(|(_, k)| &**k != keep).cloned();
            let victim = match soonest {
                Some((t, k)) if t <= now => (k, EventKind::Expire),
                Some((_, k)) => (k, EventKind::Evict),
                None => match self.by_version.iter().find(|(_, k)| &**k != keep) {
                    Some((_, k)) => (k.clone(), EventKind::Evict),
                    None => return,
                },
            };
            let (key, kind) = victim;
            self.remove(&key);
            match kind {
                EventKind::Expire => self.counters.expirations += 1,
                _ => self.counters.evictions += 1,
            }
            self.emit(kind, &key, None, index);
        }
    }

    fn emit(&mut self, kind: EventKind, key: &str, value: Option<String>, version: u64) {
        self.pending.push(WatchEvent {
            kind,
            key: key.to_string(),
            value,
            version,
        });
    }

    /// Moves the events produced since the last call into the history and returns them.
    pub fn take_events(&mut self) -> Vec<WatchEvent> {
        let events = std::mem::take(&mut self.pending);
        for e in &events {
            self.history.push(e.clone());
        }
        events
    }

    /// Recent changes, for watchers resuming from a version.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The entry under `key` if it is visible at `now_ms`.
    pub fn get(&self, key: &str, now_ms: u64) -> Option<&Entry> {
        self.map.get(key).filter(|e| e.is_live(now_ms))
    }

    /// Up to `limit` entries visible at `now_ms` whose key starts with `prefix`, in key
    /// order, and whether more matched. Cost: O(log n + limit + expired keys skipped).
    pub fn scan(&self, prefix: &str, limit: usize, now_ms: u64) -> (Vec<(&str, &Entry)>, bool) {
        let mut iter = self
            .map
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(_, e)| e.is_live(now_ms))
            .map(|(k, v)| (&**k, v));
        let items: Vec<_> = iter.by_ref().take(limit).collect();
        let truncated = iter.next().is_some();
        (items, truncated)
    }

    /// The earliest expiry of any key, on the leader's clock; the leader purges after it.
    pub fn next_expiry(&self) -> Option<u64> {
        self.by_expiry.first().map(|(t, _)| *t)
    }

    /// Keys held, including expired keys not yet purged.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the cache holds no keys.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Bytes counted against `max-memory`: keys, values and [`ENTRY_OVERHEAD`] per entry.
    pub fn approx_bytes(&self) -> u64 {
        self.bytes
    }

    /// The replicated counters (clock, evictions, expirations).
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Every entry in key order; used to serialize snapshots.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.map.iter().map(|(k, e)| (&**k, e))
    }

    /// Rebuilds a cache from a snapshot's entries and counters. Watch history starts empty
    /// and reports everything up to `compacted_through` as compacted.
    pub fn restore(
        entries: impl IntoIterator<Item = (String, Entry)>,
        counters: Counters,
        compacted_through: u64,
    ) -> Self {
        let mut cache = Cache::new();
        for (key, entry) in entries {
            let key: Arc<str> = Arc::from(key);
            cache.remove(&key);
            cache.bytes += entry_size(&key, &entry.value);
            if let Some(t) = entry.expires_at_ms {
                cache.by_expiry.insert((t, key.clone()));
            }
            cache.by_version.insert((entry.version, key.clone()));
            cache.map.insert(key, entry);
        }
        cache.counters = counters;
        cache.history = History::starting_after(compacted_through);
        cache
    }
}

fn entry_size(key: &str, value: &str) -> u64 {
    (key.len() + value.len()) as u64 + ENTRY_OVERHEAD
}

#[cfg(test)]
mod tests;

//! The in-memory cache state: an ordered map of keys to versioned values with expiry, a
//! deterministic memory bound, and the recent history of changes for watchers.
//!
//! Owns the data and the rules for changing it. It knows nothing of Raft, sled, HTTP or the
//! local clock: every change arrives as a [`Request`] stamped by the leader and carrying its
//! log index, so every replica applying the same requests in the same order holds exactly the
//! same state, evicts the same keys and expires the same keys.
//!
//! Client operations (`op.rs`) and the log payload that carries them (`log.rs`) are
//! separate types: front ends build the first, only the node builds the second.

mod entry;
mod history;
mod key;
mod log;
mod op;
mod value;
mod view;

use std::collections::{btree_map, BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use entry::entry_size;
pub use entry::{Entry, ENTRY_OVERHEAD};
pub use history::{EventKind, History, WatchEvent};
pub use key::{show as show_key, Key, Shown};
pub use log::{too_new, Change, Effect, Request};
pub use op::{Batched, Done, KeyView, Op, OpOutcome, Refusal, Transacted, Write};
pub use value::{format_of, Value, BINARY_FORMAT};
pub use view::{ViewCursor, ViewHead};

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

/// The cache.
///
/// Memory per key is what the 1M-key target is about: the map holds a boxed key (no
/// reference count) and a 32-byte [`Entry`]. The two eviction indexes hold their own copies
/// of a key, but only where needed: `by_expiry` for keys with a TTL, and `by_version` (the
/// least-recently-written order) only once a memory bound has been seen; it is then built
/// from the map. Both are derived from the map, so every replica evicts the same keys
/// whether or when it built them.
#[derive(Debug, Default)]
pub struct Cache {
    map: BTreeMap<Key, Entry>,
    by_expiry: BTreeSet<(u64, Key)>,
    by_version: Option<BTreeSet<(u64, Key)>>,
    bytes: u64,
    counters: Counters,
    history: History,
    /// Events of the entries applied since the last [`Cache::take_events`], shared with the
    /// history (one copy of each key and value, however many hold the event).
    pending: Vec<Arc<WatchEvent>>,
    /// Map size at its last rebuild; see [`Cache::compact_if_grown`].
    compacted_len: usize,
    /// The cluster version the log has reached (0 until a [`Change::ClusterFormat`]).
    cluster_format: u32,
    /// While a view is open (a snapshot being written), the entries as they were when it
    /// began of the keys changed since; see `view.rs`.
    view: Option<view::View>,
}

impl PartialEq for Cache {
    /// Replicated state only: entries and counters (not watch history).
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
            && self.counters == other.counters
            && self.bytes == other.bytes
            && self.cluster_format() == other.cluster_format()
    }
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `req` as the log entry at `index`. Cost: O(log n) per key touched, plus the
    /// evictions it triggers.
    pub fn apply(&mut self, index: u64, req: Request) -> Effect {
        self.counters.clock_ms = self.counters.clock_ms.max(req.at_ms);
        let max_bytes = req.max_bytes;
        let effect = match req.change {
            Change::Purge => Effect::Purged(self.purge_expired(index)),
            Change::ClusterFormat(f) => {
                self.cluster_format = self.cluster_format.max(f);
                Effect::ClusterFormat(self.cluster_format())
            }
            Change::Batch(writes) => Effect::Batch(self.apply_batch(index, writes, max_bytes)),
            Change::Transaction { watch, writes } => {
                Effect::Transaction(self.apply_transaction(index, &watch, writes, max_bytes))
            }
            Change::Writes(writes) => Effect::Writes(
                writes
                    .into_iter()
                    .map(|w| self.apply_write(index, w, max_bytes))
                    .collect(),
            ),
        };
        self.compact_if_grown();
        effect
    }

    /// Rebuilds the map with full nodes once it has grown by half since the last rebuild.
    ///
    /// std's B-tree splits a full node in the middle, so keys inserted in ascending order (a
    /// bulk load, say) leave every node about half full: 94 bytes of node per key instead
    /// of 50 at 1M keys. A rebuild from the sorted entries packs the nodes; at 1.5x growth
    /// it costs O(1) amortized per insert and a pause of tens of ms at a million keys.
    fn compact_if_grown(&mut self) {
        if self.map.len() < COMPACT_FROM || self.map.len() < self.compacted_len + self.compacted_len / 2 {
            return;
        }
        self.rebuild_map();
    }

    /// Packs the map's nodes if it has grown by 1/[`PACK_IDLE_GROWTH`] since its last
    /// rebuild. For a node whose writes stopped: the keys inserted since the last rebuild sit
    /// in half-full nodes (about 9 MB at 1M keys), and an idle node can afford the pause
    /// (tens of ms at 1M keys, under the write lock). Returns false, doing nothing, while a
    /// view is open (a snapshot is being written): try again later.
    pub fn pack_if_grown(&mut self) -> bool {
        if self.view.is_some() {
            return false;
        }
        let grown = self.map.len() >= self.compacted_len + self.compacted_len / PACK_IDLE_GROWTH;
        if self.map.len() >= COMPACT_FROM && grown {
            self.rebuild_map();
        }
        true
    }

    fn rebuild_map(&mut self) {
        self.map = std::mem::take(&mut self.map).into_iter().collect();
        self.compacted_len = self.map.len();
    }

    /// Applies one write if its condition and size check hold.
    fn apply_write(&mut self, index: u64, write: Write, max_bytes: Option<u64>) -> Result<Done, Refusal> {
        self.check(&write, max_bytes)?;
        let now = self.counters.clock_ms;
        let mut number = None;
        // Whether the key was live before this write, from the entry the write replaced or
        // removed: one search of the map for a plain write.
        let existed = match write {
            Write::Set { key, value, ttl_ms, .. } => {
                let expires_at_ms = ttl_ms.map(|t| now.saturating_add(t));
                self.insert_bounded(key, value, index, expires_at_ms, max_bytes)
                    .is_some_and(|old| old.is_live(now))
            }
            Write::Expire { key, ttl_ms } => self.rewrite(key, index, Some(now.saturating_add(ttl_ms))),
            Write::Persist { key } => self.rewrite(key, index, None),
            Write::Incr { key, by } => {
                let (current, expires_at_ms) = self.counter(&key).unwrap_or((0, None));
                let value = current.saturating_add(by);
                number = Some(value);
                self.insert_bounded(key, value.to_string().into(), index, expires_at_ms, max_bytes)
                    .is_some_and(|old| old.is_live(now))
            }
            Write::Delete { key, .. } => match self.remove(&key) {
                Some(entry) if entry.is_live(now) => {
                    self.emit(EventKind::Delete, &key, None, index);
                    true
                }
                Some(_) => {
                    // It had expired but was not purged yet: that is an expiry.
                    self.counters.expirations += 1;
                    self.emit(EventKind::Expire, &key, None, index);
                    false
                }
                None => false,
            },
        };
        Ok(Done {
            version: index,
            existed,
            number,
        })
    }

    fn apply_batch(&mut self, index: u64, writes: Vec<Write>, max_bytes: Option<u64>) -> Result<Batched, Refusal> {
        // All conditions are judged against the state before the batch.
        for write in &writes {
            self.check(write, max_bytes)?;
        }
        let done = writes
            .into_iter()
            .map(|w| self.apply_write(index, w.unconditional(), max_bytes))
            .collect::<Result<_, _>>()?;
        Ok(Batched { version: index, done })
    }

    /// Inserts `key` and, under a memory bound, evicts other keys until it fits. Returns the
    /// entry it replaced.
    fn insert_bounded(
        &mut self,
        key: Key,
        value: Value,
        index: u64,
        expires_at_ms: Option<u64>,
        max_bytes: Option<u64>,
    ) -> Option<Entry> {
        match max_bytes {
            Some(max) => {
                let old = self.insert(key.clone(), value, index, expires_at_ms);
                self.evict_to(max, index, &key);
                old
            }
            None => self.insert(key, value, index, expires_at_ms),
        }
    }

    /// A transaction: refused (nothing changes) unless every watched key is live at its
    /// version, or absent for `0`; then each write applies in turn against the state the
    /// ones before it left, with its own outcome.
    fn apply_transaction(
        &mut self,
        index: u64,
        watch: &[(Key, u64)],
        writes: Vec<Write>,
        max_bytes: Option<u64>,
    ) -> Result<Transacted, Refusal> {
        for (key, want) in watch {
            let current = self.live(key).map(|e| e.version);
            if current.unwrap_or(0) != *want {
                return Err(Refusal::ConditionFailed {
                    key: key.clone(),
                    current,
                });
            }
        }
        let outcomes = writes
            .into_iter()
            .map(|w| self.apply_write(index, w, max_bytes))
            .collect();
        Ok(Transacted {
            version: index,
            outcomes,
        })
    }

    /// Stores the live `key`'s value again at `version` with a new expiry (checked live);
    /// whether it was live.
    fn rewrite(&mut self, key: Key, version: u64, expires_at_ms: Option<u64>) -> bool {
        let Some(entry) = self.live(&key) else { return false };
        let value = entry.value.clone();
        self.insert(key, value, version, expires_at_ms);
        true
    }

    /// `Err(refusal)` if `write`'s condition or size check fails against the current state.
    fn check(&self, write: &Write, max_bytes: Option<u64>) -> Result<(), Refusal> {
        match write {
            Write::Set { key, value, .. } => {
                let bytes = entry_size(key, value.as_bytes());
                if let Some(max) = max_bytes.filter(|max| bytes > *max) {
                    return Err(Refusal::TooLarge {
                        key: key.clone(),
                        bytes,
                        max_bytes: max,
                    });
                }
            }
            Write::Expire { key, .. } | Write::Persist { key } => match self.live(key) {
                None => return Err(Refusal::NotFound { key: key.clone() }),
                Some(e) if matches!(write, Write::Persist { .. }) && e.expires_at_ms().is_none() => {
                    return Err(Refusal::NoExpiry { key: key.clone() })
                }
                Some(_) => {}
            },
            Write::Incr { key, by } => {
                let (current, _) = self.counter(key)?;
                let Some(next) = current.checked_add(*by) else {
                    return Err(Refusal::Overflow { key: key.clone() });
                };
                let bytes = entry_size(key, next.to_string().as_bytes());
                if let Some(max) = max_bytes.filter(|max| bytes > *max) {
                    return Err(Refusal::TooLarge {
                        key: key.clone(),
                        bytes,
                        max_bytes: max,
                    });
                }
            }
            Write::Delete { .. } => {}
        }
        let Some(want) = write.if_version() else {
            return Ok(());
        };
        let current = self.live(write.key()).map(|e| e.version);
        let holds = match want {
            0 => current.is_none(),
            v => current == Some(v),
        };
        if holds {
            Ok(())
        } else {
            Err(Refusal::ConditionFailed {
                key: write.key().clone(),
                current,
            })
        }
    }

    /// The live `key`'s value as a signed 64-bit integer (0 if absent) and its expiry.
    fn counter(&self, key: &[u8]) -> Result<(i64, Option<u64>), Refusal> {
        match self.live(key) {
            None => Ok((0, None)),
            Some(e) => match e.value.as_str().map(str::parse::<i64>) {
                Some(Ok(n)) if e.value.len() <= 20 && !e.value.as_bytes().starts_with(b"+") => {
                    Ok((n, e.expires_at_ms()))
                }
                _ => Err(Refusal::NotAnInteger { key: key.into() }),
            },
        }
    }

    /// The entry under `key` if it exists and has not expired by the cache's own clock.
    fn live(&self, key: &[u8]) -> Option<&Entry> {
        self.map.get(key).filter(|e| e.is_live(self.counters.clock_ms))
    }

    /// Stores `value` under `key` and emits its event; returns the entry it replaced.
    fn insert(&mut self, key: Key, value: Value, version: u64, expires_at_ms: Option<u64>) -> Option<Entry> {
        self.emit(EventKind::Set, &key, Some(value.clone()), version);
        self.store(key, Entry::new(value, version, expires_at_ms))
    }

    /// Puts `entry` under `key`, replacing any entry there (returned), and keeps the byte
    /// count and the indexes in step. One search of the map; the key is copied only for an
    /// index that needs it.
    fn store(&mut self, key: Key, entry: Entry) -> Option<Entry> {
        self.keep_for_view(&key);
        self.bytes += entry_size(key.as_bytes(), entry.value.as_bytes());
        let (expires, version) = (entry.expires_at_ms(), entry.version);
        let (key, old) = match self.map.entry(key) {
            btree_map::Entry::Occupied(mut slot) => {
                let old = slot.insert(entry);
                self.bytes -= entry_size(slot.key().as_bytes(), old.value.as_bytes());
                let indexed = old.expires_at_ms().is_some() || expires.is_some() || self.by_version.is_some();
                (indexed.then(|| slot.key().clone()), Some(old))
            }
            btree_map::Entry::Vacant(slot) => {
                let indexed = expires.is_some() || self.by_version.is_some();
                let key = indexed.then(|| slot.key().clone());
                slot.insert(entry);
                (key, None)
            }
        };
        if let Some(key) = key {
            // The old entry's index records first: the new ones may be equal to them.
            if let Some(old) = &old {
                self.unindex(&key, old);
            }
            if let Some(t) = expires {
                self.by_expiry.insert((t, key.clone()));
            }
            if let Some(by_version) = &mut self.by_version {
                by_version.insert((version, key));
            }
        }
        old
    }

    /// Counts `entry` under `key` in the byte total and the indexes (the map is the caller's).
    fn account(&mut self, key: &Key, entry: &Entry) {
        self.bytes += entry_size(key.as_bytes(), entry.value.as_bytes());
        if let Some(t) = entry.expires_at_ms() {
            self.by_expiry.insert((t, key.clone()));
        }
        if let Some(by_version) = &mut self.by_version {
            by_version.insert((entry.version, key.clone()));
        }
    }

    /// Takes `entry`, no longer under `key`, out of the indexes.
    fn unindex(&mut self, key: &Key, entry: &Entry) {
        if let Some(t) = entry.expires_at_ms() {
            self.by_expiry.remove(&(t, key.clone()));
        }
        if let Some(by_version) = &mut self.by_version {
            by_version.remove(&(entry.version, key.clone()));
        }
    }

    fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        self.keep_for_view(key);
        let (k, entry) = self.map.remove_entry(key)?;
        self.bytes -= entry_size(k.as_bytes(), entry.value.as_bytes());
        self.unindex(&k, &entry);
        Some(entry)
    }

    /// The least-recently-written order, built from the map on first use.
    fn by_version(&mut self) -> &BTreeSet<(u64, Key)> {
        let map = &self.map;
        self.by_version
            .get_or_insert_with(|| map.iter().map(|(k, e)| (e.version, k.clone())).collect())
    }

    /// Removes every key expired at the cache clock; returns how many.
    fn purge_expired(&mut self, index: u64) -> u64 {
        let now = self.counters.clock_ms;
        let expired: Vec<Key> = self
            .by_expiry
            .range(..(now.saturating_add(1), Key::default()))
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
    fn evict_to(&mut self, max: u64, index: u64, keep: &[u8]) {
        let now = self.counters.clock_ms;
        while self.bytes > max {
            let soonest = self.by_expiry.iter().find(|(_, k)| k.as_bytes() != keep).cloned();
            let victim = match soonest {
                Some((t, k)) if t <= now => (k, EventKind::Expire),
                Some((_, k)) => (k, EventKind::Evict),
                None => match self.by_version().iter().find(|(_, k)| k.as_bytes() != keep) {
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

    fn emit(&mut self, kind: EventKind, key: &Key, value: Option<Value>, version: u64) {
        self.pending.push(Arc::new(WatchEvent {
            kind,
            key: key.clone(),
            value,
            version,
        }));
    }

    /// Moves the events produced since the last call into the history and returns them
    /// (shared with it).
    pub fn take_events(&mut self) -> Vec<Arc<WatchEvent>> {
        let events = std::mem::take(&mut self.pending);
        for e in &events {
            self.history.push(Arc::clone(e));
        }
        events
    }

    /// Recent changes, for watchers resuming from a version.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The entry under `key` if it is visible at `now_ms`.
    pub fn get(&self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        self.map.get(key).filter(|e| e.is_live(now_ms))
    }

    /// Up to `limit` entries visible at `now_ms` whose key starts with `prefix`, in key
    /// order, and whether more matched. Cost: O(log n + limit + expired keys skipped).
    pub fn scan(&self, prefix: &[u8], limit: usize, now_ms: u64) -> (Vec<(&Key, &Entry)>, bool) {
        self.scan_after(prefix, None, limit, now_ms)
    }

    /// Like [`Cache::scan`], starting after key `after` when given (a continuation).
    pub fn scan_after(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
        now_ms: u64,
    ) -> (Vec<(&Key, &Entry)>, bool) {
        let start = match after {
            Some(a) if a >= prefix => Bound::Excluded(a),
            _ => Bound::Included(prefix),
        };
        let mut iter = self
            .map
            .range::<[u8], _>((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(_, e)| e.is_live(now_ms));
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
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Entry)> {
        self.map.iter()
    }

    /// Rebuilds a cache from a snapshot's entries and counters. Watch history starts empty
    /// and reports everything up to `compacted_through` as compacted.
    pub fn restore(
        entries: impl IntoIterator<Item = (Key, Entry)>,
        counters: Counters,
        compacted_through: u64,
    ) -> Self {
        let mut cache = Cache::new();
        // Collected at once (a bulk build: full nodes); a repeated key keeps its last entry.
        let map: BTreeMap<Key, Entry> = entries.into_iter().collect();
        for (key, entry) in &map {
            cache.account(key, entry);
        }
        cache.compacted_len = map.len();
        cache.map = map;
        cache.counters = counters;
        cache.history = History::starting_after(compacted_through);
        cache
    }

    /// The cluster version the applied log has reached: the format every entry from here on
    /// may use. Never below [`crate::version::OLDEST_FORMAT`].
    pub fn cluster_format(&self) -> u32 {
        self.cluster_format.max(crate::version::OLDEST_FORMAT)
    }

    /// Sets the cluster version restored from a snapshot.
    pub fn with_cluster_format(mut self, format: u32) -> Self {
        self.cluster_format = format;
        self
    }
}

/// Maps smaller than this are never rebuilt (the saving would be a few KB).
const COMPACT_FROM: usize = 4096;
/// [`Cache::pack_if_grown`] packs once the map has grown by 1/this since its last rebuild:
/// a node taking a write every few seconds does not rebuild a large map each time.
const PACK_IDLE_GROWTH: usize = 16;

#[cfg(test)]
mod tests;

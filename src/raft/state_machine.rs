//! The replicated state machine: applies committed log entries to the in-memory cache and
//! builds, saves and installs snapshots of it.
//!
//! The cache, the last applied log id and the membership live under one lock so a snapshot
//! always captures the three together. Snapshots are persisted through `store`; this module
//! never touches sled itself.

use std::io;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use futures::{Stream, TryStreamExt};
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, RaftSnapshotBuilder};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use super::store::{SnapshotFile, Store};
use super::{LogId, Snapshot, SnapshotMeta, StoredMembership, TypeConfig};
use crate::cache::{Cache, Counters, Effect, Entry, Key, ViewCursor, WatchEvent};
use crate::clock::LeaderClock;

/// Everything the state machine has applied, guarded together.
#[derive(Debug, Default)]
pub struct Applied {
    pub cache: Cache,
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
    /// The leader's time, from the stamps of the entries applied here: what expiry is judged
    /// by on a follower (see [`LeaderClock`]).
    pub leader_clock: LeaderClock,
}

impl Applied {
    /// The cluster clock now: the leader's time as the timestamps applied here tell it (see
    /// [`LeaderClock`]), never below the newest of them.
    pub fn cluster_clock_ms(&self) -> u64 {
        self.leader_clock
            .at(std::time::Instant::now())
            .max(self.cache.counters().clock_ms)
    }
}

/// Events buffered per watcher before it is told it fell behind.
const WATCH_BUFFER: usize = 4096;

/// What watchers receive from the state machine, in log order.
#[derive(Debug, Clone)]
pub enum Feed {
    /// One change applied here (shared with the watch history and every watcher).
    Event(std::sync::Arc<WatchEvent>),
    /// The applied state was replaced by a snapshot through this log index (the node caught
    /// up by snapshot): the changes between a watcher's last event and it were never applied
    /// here one by one, so they can never be streamed.
    Replaced(u64),
}

/// A cheap, cloneable read handle on the applied state, for the API.
///
/// A std `RwLock` (not tokio's): every critical section is a short in-memory map operation
/// and no lock is held across an `.await`. Watch events are broadcast while the write lock is
/// held, so a subscriber that reads history under the read lock misses nothing.
#[derive(Debug, Clone)]
pub struct SharedState {
    applied: Arc<RwLock<Applied>>,
    events: broadcast::Sender<Feed>,
    /// The index of the last applied entry, for reads waiting on a read index without
    /// taking the cache lock or going through openraft's metrics.
    applied_index: watch::Sender<u64>,
    /// Held while a snapshot or backup is written from a view of the cache, and while a
    /// snapshot from the leader is recorded and installed: one view at a time, and no
    /// install (a new cache, a newer stored snapshot) under a snapshot being built.
    snapshotting: Arc<tokio::sync::Mutex<()>>,
}

impl Default for SharedState {
    fn default() -> Self {
        SharedState {
            applied: Arc::default(),
            events: broadcast::channel(WATCH_BUFFER).0,
            applied_index: watch::channel(0).0,
            snapshotting: Arc::default(),
        }
    }
}

impl SharedState {
    /// Read access; a poisoned lock is still readable (the data is a plain map).
    pub fn read(&self) -> RwLockReadGuard<'_, Applied> {
        self.applied.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Applied> {
        self.applied.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes the leader's clock as it told it outside the log (answering a read-index
    /// request), at or before the local instant `seen`: a member whose applied stamps are
    /// old (it has just restarted in an idle cluster) then judges expiry by the leader's time.
    pub fn observe_leader_clock(&self, ms: u64, seen: std::time::Instant) {
        self.write().leader_clock.observe(ms, seen);
    }

    /// Packs the cache's map once it has grown enough since it was last packed, for a node
    /// whose writes have stopped; false while a snapshot is being written (see
    /// [`Cache::pack_if_grown`]).
    pub fn pack_cache(&self) -> bool {
        self.write().cache.pack_if_grown()
    }

    /// Waits until the state machine has applied the entry at `index`. Errors if the state
    /// machine is gone (the node stopped).
    pub async fn applied_at_least(&self, index: u64) -> Result<(), watch::error::RecvError> {
        if *self.applied_index.borrow() >= index {
            return Ok(());
        }
        self.applied_index
            .subscribe()
            .wait_for(|&i| i >= index)
            .await
            .map(|_| ())
    }

    fn set_applied(&self, last: Option<LogId>) {
        self.applied_index.send_replace(last.map_or(0, |l| l.index()));
    }

    /// Replaces everything applied with `cache` as of snapshot `meta`, and tells every open
    /// watcher (under the write lock, so a watcher subscribes either before, and is told, or
    /// after, and finds history starting at the snapshot).
    fn install(&self, cache: Cache, meta: &SnapshotMeta) {
        {
            let mut applied = self.write();
            let stamp = cache.counters().clock_ms;
            applied.cache = cache;
            applied.last_applied = meta.last_log_id;
            applied.membership = meta.last_membership.clone();
            applied.leader_clock.observe(stamp, std::time::Instant::now());
            // No receivers is fine: nobody watches.
            let _ = self
                .events
                .send(Feed::Replaced(meta.last_log_id.map_or(0, |l| l.index())));
        }
        self.set_applied(meta.last_log_id);
    }

    /// Subscribes to changes: the kept events with a version above `after` (none without
    /// it), the receiver of everything applied from now on, and the index applied now; or
    /// `Err(compacted_through)` if some events after `after` are no longer kept. Events are
    /// sent under the write lock and this reads under the read lock, so the backlog and the
    /// receiver never overlap and leave no gap between them.
    #[allow(clippy::type_complexity)]
    pub fn subscribe(&self, after: Option<u64>) -> Result<(Vec<WatchEvent>, broadcast::Receiver<Feed>, u64), u64> {
        let applied = self.read();
        let backlog = match after {
            Some(v) => applied.cache.history().since(v)?,
            None => Vec::new(),
        };
        let index = applied.last_applied.map_or(0, |l| l.index());
        Ok((backlog, self.events.subscribe(), index))
    }
}

/// Writes the applied cache to `out` as a snapshot body and returns the log index it reflects
/// and its key count: what a backup carries. Blocks (a thread of its own, not the runtime's)
/// while a snapshot is being built.
pub fn export_to(state: &SharedState, out: &mut impl io::Write) -> io::Result<(u64, usize)> {
    let _one_at_a_time = state.snapshotting.blocking_lock();
    let (meta, keys) = write_view(state, out)?;
    Ok((meta.last_log_id.map_or(0, |l| l.index()), keys))
}

/// Checks that `body` is a snapshot body this version can load; returns its key count.
pub fn check_body(body: &[u8]) -> io::Result<usize> {
    decode_cache(body, 0).map(|c| c.len())
}

/// The on-disk snapshot body, format 2: what every format-2 member reads.
#[derive(Serialize, Deserialize)]
struct SnapshotBody {
    format: u32,
    counters: Counters,
    entries: Vec<(Key, Entry)>,
    /// Formats 3 and later: the cluster version.
    #[serde(default)]
    cluster_format: Option<u32>,
}

/// Bytes of keys and values encoded per hold of the state's read lock.
const VIEW_CHUNK: usize = 256 << 10;

/// Ends the cache's view when dropped, on every path out of [`write_view`].
struct ViewGuard<'a>(&'a SharedState);

impl Drop for ViewGuard<'_> {
    fn drop(&mut self) {
        self.0.write().cache.end_view();
    }
}

/// Serializes the applied state as a snapshot body into `out` and returns what it reflects
/// and its key count. The state is fixed at the start (a view of the cache, under the write
/// lock with the applied log id and membership); the entries are then encoded a chunk at a
/// time under short read locks, so applies go on meanwhile. The caller holds
/// `snapshotting`.
///
/// The body is the oldest format that holds the data: format 2 until the cluster version
/// moves (so a format-2 member can install it), then the cluster version (format 4 bodies
/// may hold values that are not UTF-8). It is byte for byte what serializing
/// [`SnapshotBody`] gives, entries of keys deleted during the walk last.
fn write_view(state: &SharedState, out: &mut impl io::Write) -> io::Result<(SnapshotMeta, usize)> {
    let (meta, head) = {
        let mut applied = state.write();
        let head = applied.cache.begin_view();
        let meta = SnapshotMeta {
            last_log_id: applied.last_applied,
            last_membership: applied.membership.clone(),
        };
        (meta, head)
    };
    let _view = ViewGuard(state);
    let cluster_format = head.cluster_format;
    let with_cluster_format = cluster_format >= 3;
    rmp::encode::write_array_len(out, if with_cluster_format { 4 } else { 3 }).map_err(io::Error::other)?;
    rmp_serde::encode::write(out, &cluster_format.min(crate::version::FORMAT)).map_err(io::Error::other)?;
    rmp_serde::encode::write(out, &head.counters).map_err(io::Error::other)?;
    let len = u32::try_from(head.len).map_err(|_| io::Error::other("more than 2^32 keys in a snapshot"))?;
    rmp::encode::write_array_len(out, len).map_err(io::Error::other)?;
    let mut cursor = ViewCursor::default();
    let mut buf = Vec::with_capacity(VIEW_CHUNK + (64 << 10));
    let mut given = 0usize;
    while !cursor.is_finished() {
        buf.clear();
        let mut failed = None;
        state.read().cache.view_chunk(&mut cursor, VIEW_CHUNK, |key, entry| {
            given += 1;
            if let Err(e) = rmp_serde::encode::write(&mut buf, &(key, entry)) {
                failed.get_or_insert(e);
            }
        });
        if let Some(e) = failed {
            return Err(io::Error::other(e));
        }
        out.write_all(&buf)?;
    }
    if given != head.len {
        return Err(io::Error::other(format!(
            "snapshot view gave {given} entries where it began with {}",
            head.len
        )));
    }
    if with_cluster_format {
        rmp_serde::encode::write(out, &cluster_format).map_err(io::Error::other)?;
    }
    Ok((meta, head.len))
}

/// Decodes a snapshot body written by [`write_view`]; the snapshot ends at log index
/// `through`, so watch history starts after it.
fn decode_cache(bytes: &[u8], through: u64) -> io::Result<Cache> {
    decode_body(bytes, bytes, through)
}

/// [`decode_cache`] of a body file, read as a stream (never whole in memory).
fn decode_file(body: &SnapshotFile, through: u64) -> io::Result<Cache> {
    decode_body(
        &body.head(16)?,
        io::BufReader::with_capacity(1 << 20, body.reader()),
        through,
    )
}

/// Decodes the body read from `reader`, whose first bytes are `head`.
fn decode_body(head: &[u8], reader: impl io::Read, through: u64) -> io::Result<Cache> {
    if head.is_empty() {
        return Ok(Cache::restore(Vec::new(), Counters::default(), through));
    }
    let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidData, msg);
    match crate::version::snapshot_body_format(head) {
        Some(f) if f > crate::version::max_format() => return Err(invalid(crate::cache::too_new("snapshot", f))),
        Some(f) if (crate::version::OLDEST_FORMAT..=crate::version::FORMAT).contains(&f) => {}
        other => return Err(invalid(format!("snapshot format {other:?} is not supported"))),
    }
    let body: SnapshotBody = rmp_serde::from_read(reader).map_err(|e| invalid(e.to_string()))?;
    let cache = Cache::restore(body.entries, body.counters, through);
    Ok(cache.with_cluster_format(body.cluster_format.unwrap_or(0)))
}

/// The openraft state machine over the shared cache.
pub struct StateMachine {
    state: SharedState,
    store: Store,
}

impl StateMachine {
    /// Restores the state machine from the last saved snapshot in `store` (if any). openraft
    /// then replays the log from the snapshot up to the committed index.
    pub async fn restore(store: Store) -> io::Result<Self> {
        let state = SharedState::default();
        if let Some((meta, body)) = store.load_snapshot().await? {
            let cache = decode_file(&body, meta.last_log_id.map_or(0, |l| l.index()))?;
            tracing::info!(
                last_log = ?meta.last_log_id.as_ref().map(|l| l.index()),
                keys = cache.len(),
                "loaded snapshot"
            );
            store.set_cluster_format(cache.cluster_format());
            state.install(cache, &meta);
        }
        Ok(StateMachine { state, store })
    }

    /// A read handle sharing this state machine's data.
    pub fn shared(&self) -> SharedState {
        self.state.clone()
    }
}

/// Builds a snapshot of the state as it is when `build_snapshot` runs.
pub struct SnapshotBuilder {
    state: SharedState,
    store: Store,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    type SnapshotData = SnapshotFile;

    /// Encodes a view of the cache straight into a new body file on a blocking thread
    /// (applies go on meanwhile; no copy of the cache is made), fsyncs it and records it.
    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        let hint = self.state.read().last_applied.map_or(0, |l| l.index());
        let mut body = self.store.new_snapshot(hint).await?;
        // Taken once the file exists (creating it may wait out a descriptor shortage) and
        // held until the snapshot is recorded; the writing thread holds it while it runs, so
        // it outlives this future if that is dropped.
        let one_at_a_time = self.state.snapshotting.clone().lock_owned().await;
        let state = self.state.clone();
        let (meta, body, _one_at_a_time) = tokio::task::spawn_blocking(move || {
            let (meta, _) = write_view(&state, &mut body)?;
            Ok::<_, io::Error>((meta, body.finish()?, one_at_a_time))
        })
        .await
        .map_err(io::Error::other)??;
        crate::failpoint::hit("snapshot-build-written");
        let body = self.store.commit_snapshot(&meta, &body).await?;
        tracing::info!(
            last_log = ?meta.last_log_id.as_ref().map(|l| l.index()),
            bytes = body.len(),
            "snapshot built and saved"
        );
        Ok(Snapshot { meta, snapshot: body })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotData = SnapshotFile;
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        let applied = self.state.read();
        Ok((applied.last_applied, applied.membership.clone()))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + openraft::OptionalSend,
    {
        while let Some((entry, responder)) = entries.try_next().await? {
            let index = entry.log_id.index();
            let effect = {
                let mut applied = self.state.write();
                applied.last_applied = Some(entry.log_id);
                match entry.payload {
                    EntryPayload::Blank => Effect::None,
                    EntryPayload::Normal(req) => {
                        let effect = applied.cache.apply(index, req);
                        if let Effect::ClusterFormat(format) = effect {
                            self.store.set_cluster_format(format);
                        }
                        let stamp = applied.cache.counters().clock_ms;
                        applied.leader_clock.observe(stamp, std::time::Instant::now());
                        for event in applied.cache.take_events() {
                            // No receivers is fine: nobody watches.
                            let _ = self.state.events.send(Feed::Event(event));
                        }
                        effect
                    }
                    EntryPayload::Membership(m) => {
                        tracing::info!(index, membership = %m, "membership changed");
                        applied.membership = StoredMembership::new(Some(entry.log_id), m);
                        Effect::None
                    }
                }
            };
            self.state.set_applied(Some(entry.log_id));
            if let Some(responder) = responder {
                responder.send(effect);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            state: self.state.clone(),
            store: self.store.clone(),
        }
    }

    async fn install_snapshot(&mut self, meta: &SnapshotMeta, snapshot: SnapshotFile) -> Result<(), io::Error> {
        // Decoding a large cache takes seconds of CPU: off the async workers, so heartbeats
        // and client requests go on meanwhile.
        let (body, through) = (snapshot.clone(), meta.last_log_id.map_or(0, |l| l.index()));
        let cache = tokio::task::spawn_blocking(move || decode_file(&body, through))
            .await
            .map_err(io::Error::other)??;
        let _one_at_a_time = self.state.snapshotting.lock().await;
        // Persist first: if we crash after this, restart loads the new snapshot.
        self.store.commit_snapshot(meta, &snapshot).await?;
        crate::failpoint::hit("snapshot-install-committed");
        let keys = cache.len();
        self.store.set_cluster_format(cache.cluster_format());
        self.state.install(cache, meta);
        tracing::info!(
            last_log = ?meta.last_log_id.as_ref().map(|l| l.index()),
            keys,
            "installed snapshot from leader"
        );
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        Ok(self
            .store
            .load_snapshot()
            .await?
            .map(|(meta, snapshot)| Snapshot { meta, snapshot }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{Change, Request, Write};

    fn set(key: String, value: &str) -> Request {
        Request {
            at_ms: 1_000,
            max_bytes: None,
            change: Change::Writes(vec![Write::Set {
                key: key.into(),
                value: value.into(),
                ttl_ms: None,
                if_version: None,
            }]),
        }
    }

    fn filled(keys: u64) -> SharedState {
        let state = SharedState::default();
        {
            let mut applied = state.write();
            for i in 1..=keys {
                applied.cache.apply(i, set(format!("key/{i:05}"), &"v".repeat(300)));
            }
            applied.cache.apply(
                keys + 1,
                Request {
                    at_ms: 1_000,
                    max_bytes: None,
                    change: Change::ClusterFormat(4),
                },
            );
        }
        state
    }

    /// The chunked writer gives what serializing the whole body at once gives, so every
    /// version that reads snapshot bodies reads these.
    #[test]
    fn a_body_written_in_chunks_is_the_body_serialized_at_once() {
        let state = filled(3_000);
        let mut chunked = Vec::new();
        let (_, keys) = write_view(&state, &mut chunked).unwrap();
        assert_eq!(keys, 3_000);
        let applied = state.read();
        let cache = &applied.cache;
        let whole = SnapshotBody {
            format: cache.cluster_format().min(crate::version::FORMAT),
            counters: cache.counters(),
            entries: cache.iter().map(|(k, e)| (k.clone(), e.clone())).collect(),
            cluster_format: Some(cache.cluster_format()),
        };
        assert!(chunked == rmp_serde::to_vec(&whole).unwrap(), "the bodies differ");
        assert!(chunked.len() > 2 * VIEW_CHUNK, "several chunks were written");
    }

    /// Writes applied while a body is written (here: between its chunks, from inside the
    /// output) change the cache but not what the body holds (keys deleted during the walk
    /// come last, so the bytes may differ), and the view is closed afterwards.
    #[test]
    fn a_body_reflects_the_state_at_its_start_while_writes_apply() {
        struct Meddling<'a> {
            state: &'a SharedState,
            out: Vec<u8>,
            next: u64,
        }
        impl io::Write for Meddling<'_> {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                let mut applied = self.state.write();
                for key in [1, 2_999, self.next % 3_000 + 1] {
                    self.next += 7;
                    applied
                        .cache
                        .apply(10_000 + self.next, set(format!("key/{key:05}"), "changed"));
                    applied.cache.apply(
                        10_001 + self.next,
                        Request {
                            at_ms: 1_000,
                            max_bytes: None,
                            change: Change::Writes(vec![Write::Delete {
                                key: format!("key/{:05}", (self.next * 13) % 3_000 + 1).into(),
                                if_version: None,
                            }]),
                        },
                    );
                }
                self.out.extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let state = filled(3_000);
        let mut before = Vec::new();
        write_view(&state, &mut before).unwrap();
        let mut meddling = Meddling {
            state: &state,
            out: Vec::new(),
            next: 0,
        };
        write_view(&state, &mut meddling).unwrap();
        let (then, now) = (
            decode_cache(&before, 0).unwrap(),
            decode_cache(&meddling.out, 0).unwrap(),
        );
        let diff: Vec<_> = then.iter().zip(now.iter()).filter(|(a, b)| a != b).take(3).collect();
        assert_eq!((then.len(), now.len(), diff), (3_000, 3_000, vec![]));
        assert!(then == now, "counters or cluster version differ");
        assert!(meddling.next > 0, "writes applied while the body was written");
        let applied = state.read();
        assert_ne!(
            applied.cache.get(b"key/00001", 0).map(|e| e.value.as_bytes()),
            Some(&b"v".repeat(300)[..])
        );
        assert!(!applied.cache.has_view(), "the view is closed");
    }
}

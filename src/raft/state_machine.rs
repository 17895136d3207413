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
use crate::cache::{Cache, Counters, Effect, Entry, Key, WatchEvent};
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
    /// One change applied here.
    Event(WatchEvent),
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
}

impl Default for SharedState {
    fn default() -> Self {
        SharedState {
            applied: Arc::default(),
            events: broadcast::channel(WATCH_BUFFER).0,
            applied_index: watch::channel(0).0,
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
/// and its key count: what a backup carries. Encodes straight into `out` (no copy of the
/// cache in memory) under the state's read lock, so applies wait while it runs: give it a
/// buffered file, not a network peer.
pub fn export_to(state: &SharedState, out: &mut impl io::Write) -> io::Result<(u64, usize)> {
    let applied = state.read();
    let index = applied.last_applied.map_or(0, |l| l.index());
    write_cache(&applied.cache, out)?;
    Ok((index, applied.cache.len()))
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

/// Serializes the cache as a snapshot body into `out`, in the oldest format that holds it:
/// format 2 until the cluster version moves (so a format-2 member can install it), then the
/// cluster version (format 4 bodies may hold values that are not UTF-8).
fn write_cache(cache: &Cache, out: &mut impl io::Write) -> io::Result<()> {
    /// The entries, serialized straight from the map (no intermediate list of a million
    /// references).
    struct Entries<'a>(&'a Cache);
    impl Serialize for Entries<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(self.0.iter())
        }
    }
    #[derive(Serialize)]
    struct Borrowed<'a> {
        format: u32,
        counters: Counters,
        entries: Entries<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cluster_format: Option<u32>,
    }
    let cluster_format = cache.cluster_format();
    let body = Borrowed {
        format: cluster_format.min(crate::version::FORMAT),
        counters: cache.counters(),
        entries: Entries(cache),
        cluster_format: (cluster_format >= 3).then_some(cluster_format),
    };
    rmp_serde::encode::write(out, &body).map_err(io::Error::other)
}

/// Decodes a snapshot body written by [`write_cache`]; the snapshot ends at log index
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
        Some(2..=4) => {}
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

    /// Encodes the cache straight into a new body file under the state's read lock (applies
    /// wait while it runs; no copy of the cache is made), then fsyncs it and records it.
    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        let hint = self.state.read().last_applied.map_or(0, |l| l.index());
        let mut body = self.store.new_snapshot(hint).await?;
        let meta = {
            let applied = self.state.read();
            write_cache(&applied.cache, &mut body)?;
            SnapshotMeta {
                last_log_id: applied.last_applied,
                last_membership: applied.membership.clone(),
            }
        };
        let body = body.finish()?;
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
        let cache = decode_file(&snapshot, meta.last_log_id.map_or(0, |l| l.index()))?;
        // Persist first: if we crash after this, restart loads the new snapshot.
        self.store.commit_snapshot(meta, &snapshot).await?;
        crate::failpoint::hit("snapshot-install-committed");
        let keys = cache.len();
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

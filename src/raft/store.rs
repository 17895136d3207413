//! Durable Raft storage on sled: the log, the vote, the committed index, the latest snapshot
//! and the node's identity. This is the only module that imports sled.
//!
//! Contract: `append`, `save_vote`, `truncate_after` and `commit_snapshot` return (or call back)
//! only after sled has fsynced the change; everything else may be lost in a crash without
//! harm (`committed` is a hint openraft can recompute, `purge` is redone after restart).
//! Cost: one flush (an fsync of sled's log) per call of the durable operations, except
//! `append`, which writes its entries to sled and returns at once, handing its callback to a
//! group-commit task: one fsync covers every append that arrived while the previous fsync
//! ran, and openraft replicates to followers while the leader's fsync is in flight.
//! Layout: each `append` stores its entries as one "run" keyed by the first index, one sled
//! batch per fsync instead of one insert per entry, cut into pieces small enough that sled
//! never writes a blob file (see `runs.rs`); reads, truncation and purge work on runs and
//! never return an entry at or below the purge point.

use std::fmt::Debug;
use std::io;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{LogEntry, LogId, NodeId, SnapshotMeta, TypeConfig, Vote};
use crate::clock::ClockMark;

mod commit;
mod files;
mod floor;
mod log;
mod runs;
mod tail;
#[cfg(test)]
mod tests;

use commit::Flusher;
pub use commit::SLOW_FSYNC;
pub use files::{SnapshotFile, SnapshotWriter};
use runs::index_key;

const KEY_VOTE: &[u8] = b"vote";
const KEY_COMMITTED: &[u8] = b"committed";
const KEY_PURGED: &[u8] = b"purged";
const KEY_NODE_ID: &[u8] = b"node_id";
const KEY_CLUSTER_ID: &[u8] = b"cluster_id";
/// The newest format of anything ever stored here (absent: format 2 or older).
const KEY_FORMAT: &[u8] = b"format";
const KEY_SNAPSHOT_META: &[u8] = b"meta";
/// Where snapshot bodies lived before they moved to files; still read.
const KEY_SNAPSHOT_DATA: &[u8] = b"data";
/// File name (in the data dir) of the current snapshot body.
const KEY_SNAPSHOT_FILE: &[u8] = b"file";
/// The last [`ClockMark`] (cluster clock against this node's wall clock).
const KEY_CLOCK: &[u8] = b"clock";

/// Errors opening or reading the node's data directory.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    // The cause sits in the message, so it is deliberately not a `source`: `{:#}` chains
    // would print it twice.
    #[error("cannot open data dir {path}: {cause} (is another dcache using it, or is the disk full or read-only?)")]
    Open { path: PathBuf, cause: sled::Error },
    #[error("data dir {path} is damaged: {what}: {reason}")]
    Corrupt {
        path: PathBuf,
        what: &'static str,
        reason: String,
    },
    #[error("cannot write to data dir {path}: {cause}")]
    Io { path: PathBuf, cause: io::Error },
    #[error(
        "data dir {path} has lost log entries: it holds the log through index {holds}, but index {floor} \
         was committed and stored here before (the file was truncated or damaged: sled drops everything \
         after a damaged record). Starting from it would let this node vote and acknowledge as if it had \
         never had them. Restore the data dir from a backup, or remove it and rejoin the cluster with an \
         empty data dir (`dcache cluster remove`, then `dcache cluster join`)"
    )]
    LostEntries { path: PathBuf, holds: u64, floor: u64 },
    #[error(
        "data dir {path} holds format {found} data, written after the cluster version moved to {found}; \
         this build (dcache {build}) reads formats up to {reads}: start a build that reads format {found} \
         (a downgrade is possible only before the cluster version moves)"
    )]
    TooNew {
        path: PathBuf,
        found: u32,
        reads: u32,
        build: &'static str,
    },
}

/// Identity a node records on first start and checks on every later start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub node_id: NodeId,
    pub cluster_id: String,
}

/// The sled database of one node. Cheap to clone: all clones share the same trees.
#[derive(Clone)]
pub struct Store {
    path: PathBuf,
    db: sled::Db,
    /// sled's data file, opened again to `fdatasync` it after each of sled's flushes (see
    /// [`flush`]).
    db_file: Arc<std::fs::File>,
    log: sled::Tree,
    meta: sled::Tree,
    snapshot: sled::Tree,
    /// Index of the committed hint last written to sled.
    committed_saved: Arc<AtomicU64>,
    /// The highest committed index openraft has reported (for the log's floor, `floor.rs`).
    committed: Arc<AtomicU64>,
    /// Bytes appended to the log since this store was opened.
    appended: Arc<AtomicU64>,
    /// The newest format of anything stored here; see [`KEY_FORMAT`].
    format: Arc<AtomicU32>,
    /// The group-commit task of `append`, started on first use (it needs a runtime). It ends
    /// when the last clone of this store is dropped.
    flusher: Arc<OnceLock<Flusher>>,
    /// Whether this node leads (see [`Store::set_leading`]).
    leading: Arc<AtomicBool>,
    /// Snapshot bodies written but not yet the current one.
    pinned: files::Pinned,
    /// The newest entries, in memory too (see `tail.rs`).
    tail: tail::Tail,
    /// Whether runs may be stored in pieces (see `runs.rs`): once the cluster version reads
    /// them, so a member can go back to the build before until then.
    pieces: Arc<AtomicBool>,
    /// Largest piece of a run ([`runs::PIECE_BYTES`]; smaller in tests).
    piece_bytes: usize,
    /// Held while purged runs are removed (see `purge`).
    purging: Arc<std::sync::Mutex<()>>,
}

/// Persist the committed hint once per this many entries.
const COMMITTED_EVERY: u64 = 1024;

/// Longest a flush may take before it counts as failed. sled 0.34 can leave a flush waiting
/// forever after a failed write: a blob file (a value of about 64 KiB or more) that hits
/// ENOSPC leaves its log buffer reserved but never written, and flushes wait on it. The bound
/// turns that hang into an I/O error, which stops Raft like any other storage failure; a
/// healthy fsync takes milliseconds, so it is far above any real one.
const FLUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

impl Store {
    /// Opens (creating if needed) the database under `dir`. Fails when the directory is
    /// unwritable or already opened by another process.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join("raft.sled");
        let fresh = !path.exists();
        let open_err = |cause| match cause {
            // sled found its own records inconsistent (a truncated or damaged file).
            sled::Error::Corruption { .. } => StoreError::Corrupt {
                path: path.clone(),
                what: "raft.sled",
                reason: format!(
                    "{cause}; restore the data dir from a backup, or remove it and rejoin the cluster with an empty one"
                ),
            },
            cause => StoreError::Open {
                path: path.clone(),
                cause,
            },
        };
        let db = sled::Config::new()
            .path(&path)
            // Only the log lives here (snapshot bodies are files; the cache is in memory), and
            // it is purged behind every snapshot. A small page cache keeps RSS low: 8 instead
            // of 32 MiB took 30 MB off a 1M-key node with no measurable change in writes/s.
            .cache_capacity(8 * 1024 * 1024)
            .open()
            .map_err(open_err)?;
        // sled names its data file `db` inside its directory.
        let db_file = std::fs::File::open(path.join("db"))
            .map(Arc::new)
            .map_err(|e| open_err(sled::Error::Io(e)))?;
        let log = db.open_tree("log").map_err(open_err)?;
        let meta = db.open_tree("meta").map_err(open_err)?;
        let snapshot = db.open_tree("snapshot").map_err(open_err)?;
        let format = match meta.get(KEY_FORMAT).map_err(open_err)? {
            Some(bytes) => decode::<u32>(&bytes).map_err(|e| StoreError::Corrupt {
                path: path.clone(),
                what: "format",
                reason: e.to_string(),
            })?,
            None => crate::version::OLDEST_FORMAT,
        };
        if format > crate::version::max_format() {
            return Err(StoreError::TooNew {
                path,
                found: format,
                reads: crate::version::max_format(),
                build: crate::version::CRATE,
            });
        }
        if let Some(dir) = path.parent() {
            files::remove_partial_files(dir);
        }
        let store = Store {
            path,
            db,
            db_file,
            log,
            meta,
            snapshot,
            committed_saved: Arc::new(AtomicU64::new(0)),
            committed: Arc::default(),
            appended: Arc::default(),
            format: Arc::new(AtomicU32::new(format)),
            flusher: Arc::default(),
            leading: Arc::default(),
            pinned: files::Pinned::default(),
            tail: tail::Tail::default(),
            pieces: Arc::default(),
            piece_bytes: runs::PIECE_BYTES,
            purging: Arc::default(),
        };
        match fresh {
            // Nothing of an old log is expected in a new database.
            true => floor::remove(dir).map_err(|cause| StoreError::Io {
                path: store.path.clone(),
                cause,
            })?,
            false => store.check_floor()?,
        }
        Ok(store)
    }

    /// Fails with [`StoreError::LostEntries`] when the log and the snapshot end below the
    /// floor recorded beside them (see `floor.rs`).
    fn check_floor(&self) -> Result<(), StoreError> {
        let Some(floor) = floor::read(&self.dir()).map_err(|e| self.corrupt("log floor", e))? else {
            return Ok(());
        };
        let last = self.log_state().map_err(|e| self.corrupt("log", e))?.last_log_id;
        let snapshot: Option<SnapshotMeta> = self
            .get(&self.snapshot, KEY_SNAPSHOT_META)
            .map_err(|e| self.corrupt("snapshot meta", e))?;
        let holds = [last, snapshot.and_then(|m| m.last_log_id)]
            .into_iter()
            .flatten()
            .map(|l| l.index())
            .max()
            .unwrap_or(0);
        if holds < floor {
            return Err(StoreError::LostEntries {
                path: self.path.clone(),
                holds,
                floor,
            });
        }
        Ok(())
    }

    /// Records that data of `format` is now stored here (before it is), so an older build
    /// refuses this data dir at start instead of misreading it.
    fn note_format(&self, format: u32) -> io::Result<()> {
        if format <= self.format.load(Ordering::Relaxed) {
            return Ok(());
        }
        self.put(&self.meta, KEY_FORMAT, &format)?;
        self.format.fetch_max(format, Ordering::Relaxed);
        tracing::info!(format, path = %self.path.display(), "the data dir now holds format {format} data");
        Ok(())
    }

    /// Tells the store the cluster version (as applied): from [`crate::version::PIECES_FORMAT`]
    /// on, runs larger than a piece are stored in pieces.
    pub fn set_cluster_format(&self, format: u32) {
        self.pieces
            .store(format >= crate::version::PIECES_FORMAT, Ordering::Relaxed);
    }

    /// The identity recorded in this data dir, if the node ever started here.
    pub fn identity(&self) -> Result<Option<Identity>, StoreError> {
        let node_id: Option<NodeId> = self
            .get(&self.meta, KEY_NODE_ID)
            .map_err(|e| self.corrupt("node id", e))?;
        let cluster_id: Option<String> = self
            .get(&self.meta, KEY_CLUSTER_ID)
            .map_err(|e| self.corrupt("cluster id", e))?;
        Ok(match (node_id, cluster_id) {
            (Some(node_id), Some(cluster_id)) => Some(Identity { node_id, cluster_id }),
            _ => None,
        })
    }

    /// Records the node's identity durably.
    pub async fn save_identity(&self, id: &Identity) -> Result<(), StoreError> {
        let io_err = |cause| StoreError::Io {
            path: self.path.clone(),
            cause,
        };
        self.put(&self.meta, KEY_NODE_ID, &id.node_id).map_err(io_err)?;
        self.put(&self.meta, KEY_CLUSTER_ID, &id.cluster_id).map_err(io_err)?;
        self.flush().await.map_err(io_err)
    }

    /// The cluster clock mark saved by the last run, if any (an unreadable one counts as
    /// none: it is only a floor under the clock, and the log's stamps still apply).
    pub fn clock_mark(&self) -> Option<ClockMark> {
        self.get(&self.meta, KEY_CLOCK).unwrap_or_else(|e| {
            tracing::warn!(error = %e, path = %self.path.display(), "ignoring an unreadable cluster clock mark");
            None
        })
    }

    /// Saves `mark` over the previous one. Not flushed here: it rides on the next log fsync
    /// or sled's own periodic flush; a mark lost in a crash leaves the previous one.
    pub fn save_clock_mark(&self, mark: &ClockMark) -> io::Result<()> {
        self.put(&self.meta, KEY_CLOCK, mark)
    }

    /// Whether this data dir holds any Raft state (a vote or log entries or a snapshot).
    pub fn has_raft_state(&self) -> io::Result<bool> {
        Ok(self.meta.contains_key(KEY_VOTE).map_err(io::Error::other)?
            || !self.log.is_empty()
            || self
                .snapshot
                .contains_key(KEY_SNAPSHOT_META)
                .map_err(io::Error::other)?)
    }

    /// Starts a new snapshot body through about log index `index` in the data dir.
    pub async fn new_snapshot(&self, index: u64) -> io::Result<SnapshotWriter> {
        let path = self.dir().join(files::snapshot_file_name(index));
        retry_out_of_fds("creating a snapshot file", || {
            SnapshotWriter::create(path.clone(), self.pinned.clone())
        })
        .await
    }

    /// Durably makes `body` (a finished body file) the stored snapshot at `meta`; returns the
    /// body as stored (a copy, when `body` lives in another directory).
    ///
    /// Order: the body is already complete and fsynced under its own name; sled is switched
    /// to it (meta and file name in one batch, flushed), then older files are removed. A
    /// crash at any point leaves sled naming a complete file.
    pub async fn commit_snapshot(&self, meta: &SnapshotMeta, body: &SnapshotFile) -> io::Result<SnapshotFile> {
        let dir = self.dir();
        let body = if body.path().parent() == Some(dir.as_path()) {
            body.clone()
        } else {
            let index = meta.last_log_id.as_ref().map_or(0, |l| l.index());
            let mut copy = self.new_snapshot(index).await?;
            io::copy(&mut body.reader(), &mut copy)?;
            copy.finish()?
        };
        if let Some(format) = crate::version::snapshot_body_format(&body.head(16)?) {
            self.note_format(format)?;
        }
        let name = body.name();
        let mut batch = sled::Batch::default();
        batch.insert(KEY_SNAPSHOT_META, encode(meta)?);
        batch.insert(KEY_SNAPSHOT_FILE, name.as_bytes());
        batch.remove(KEY_SNAPSHOT_DATA);
        self.snapshot.apply_batch(batch).map_err(io::Error::other)?;
        self.flush().await?;
        crate::failpoint::hit("snapshot-recorded");
        files::remove_snapshot_files(&dir, &name, &self.pinned);
        Ok(body)
    }

    /// Durably replaces the stored snapshot with `meta` and the body `data` (small bodies:
    /// backups being restored, tests).
    pub async fn save_snapshot(&self, meta: &SnapshotMeta, data: &[u8]) -> io::Result<()> {
        use std::io::Write;
        let index = meta.last_log_id.as_ref().map_or(0, |l| l.index());
        let mut body = self.new_snapshot(index).await?;
        body.write_all(data)?;
        let body = body.finish()?;
        self.commit_snapshot(meta, &body).await.map(drop)
    }

    /// The data dir holding `raft.sled` and the snapshot files.
    pub(crate) fn dir(&self) -> PathBuf {
        self.path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }

    /// Seeds an empty data dir with `data` as its snapshot at `meta` and a log purged up to
    /// it, as if the node had taken that snapshot itself: used to restore a backup. Refuses a
    /// data dir that already holds Raft state. Durable when it returns.
    pub async fn seed_from_snapshot(&self, meta: &SnapshotMeta, data: &[u8]) -> io::Result<()> {
        if self.has_raft_state()? {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} already holds Raft state; restore into an empty data dir",
                    self.path.display()
                ),
            ));
        }
        if let Some(last) = &meta.last_log_id {
            self.put(&self.meta, KEY_PURGED, last)?;
            self.put(&self.meta, KEY_COMMITTED, last)?;
        }
        self.save_snapshot(meta, data).await
    }

    /// The stored snapshot, if one was ever saved. A body that older versions kept inside
    /// sled is moved out to a file first.
    ///
    /// A snapshot being recorded meanwhile (a build runs beside the state machine) is seen
    /// whole or not at all: the meta is read again after the body is opened, and a change,
    /// or a body removed before it could be opened, means reading the newer one.
    pub async fn load_snapshot(&self) -> io::Result<Option<(SnapshotMeta, SnapshotFile)>> {
        let read_meta = || self.snapshot.get(KEY_SNAPSHOT_META).map_err(io::Error::other);
        let mut attempt = 0;
        let meta = loop {
            attempt += 1;
            let Some(meta_bytes) = read_meta()? else {
                return Ok(None);
            };
            let Some(name) = self.snapshot.get(KEY_SNAPSHOT_FILE).map_err(io::Error::other)? else {
                break decode::<SnapshotMeta>(&meta_bytes)?;
            };
            let path = self.dir().join(String::from_utf8_lossy(&name).as_ref());
            let opened = retry_out_of_fds("opening the snapshot file", || SnapshotFile::open(&path)).await;
            let replaced = read_meta()?.as_ref() != Some(&meta_bytes);
            match opened {
                Ok(file) if !replaced => return Ok(Some((decode(&meta_bytes)?, file))),
                Err(e) if !replaced && e.kind() != io::ErrorKind::NotFound => return Err(e),
                // Replaced meanwhile (or its body removed by the newer one's commit): again.
                _ if attempt < 10 => continue,
                Err(e) => return Err(e),
                Ok(_) => return Err(io::Error::other("the stored snapshot kept changing while it was read")),
            }
        };
        let data = self
            .snapshot
            .get(KEY_SNAPSHOT_DATA)
            .map_err(io::Error::other)?
            .map(|v| v.to_vec())
            .unwrap_or_default();
        self.save_snapshot(&meta, &data).await?;
        Box::pin(self.load_snapshot()).await
    }

    /// Bytes the database and the snapshot files occupy on disk.
    pub fn size_on_disk(&self) -> u64 {
        let snapshots: u64 = std::fs::read_dir(self.dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| files::is_snapshot_file(&e.file_name().to_string_lossy()))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum();
        self.db.size_on_disk().unwrap_or(0) + snapshots
    }

    /// Flushes everything written so far to disk (fsync). Fails with `TimedOut` if sled has
    /// not finished within [`FLUSH_TIMEOUT`].
    pub async fn flush(&self) -> io::Result<()> {
        flush(&self.db, &self.db_file, &self.path).await
    }

    /// Bytes appended to the log since the store was opened (encoded size).
    pub fn appended_bytes(&self) -> u64 {
        self.appended.load(Ordering::Relaxed)
    }

    /// Keeps sled from ever dropping this database: for a process about to exit after a
    /// storage failure. sled flushes when its last handle drops, and after a failed write that
    /// flush can wait forever (see [`FLUSH_TIMEOUT`]); skipping it loses nothing, as every
    /// acknowledged change was flushed before it was acknowledged. Leaks the handles.
    pub fn abandon(&self) {
        std::mem::forget(self.clone());
    }

    fn corrupt(&self, what: &'static str, e: io::Error) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            what,
            reason: e.to_string(),
        }
    }

    fn get<T: DeserializeOwned>(&self, tree: &sled::Tree, key: &[u8]) -> io::Result<Option<T>> {
        match tree.get(key).map_err(io::Error::other)? {
            Some(bytes) => decode(&bytes).map(Some),
            None => Ok(None),
        }
    }

    fn put<T: Serialize>(&self, tree: &sled::Tree, key: &[u8], value: &T) -> io::Result<()> {
        tree.insert(key, encode(value)?).map_err(io::Error::other)?;
        Ok(())
    }
}

/// Decodes a stored run of consecutive entries. Data dirs written before runs hold a single
/// entry per key, which reads as a run of one.
fn decode_run(bytes: &[u8]) -> io::Result<Vec<LogEntry>> {
    decode::<Vec<LogEntry>>(bytes).or_else(|_| decode::<LogEntry>(bytes).map(|e| vec![e]))
}

/// Encodes a stored value. MessagePack with field names: compact, and tolerant of fields
/// that later openraft versions add.
fn encode<T: Serialize>(value: &T) -> io::Result<Vec<u8>> {
    rmp_serde::to_vec_named(value).map_err(io::Error::other)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> io::Result<T> {
    rmp_serde::from_slice(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// How often, and how far apart at most, opening a file that ran out of descriptors is
/// retried.
const FD_RETRIES: u32 = 40;
const FD_RETRY_MAX_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs `open` until it does not run out of file descriptors, for about half a minute.
/// Running out is load, not a failing disk: listeners are told to shed idle connections
/// before each retry.
async fn retry_out_of_fds<T>(doing: &str, mut open: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let mut pause = std::time::Duration::from_millis(25);
    let mut attempt = 0;
    loop {
        match open() {
            Err(e) if crate::fds::is_exhaustion(&e) && attempt < FD_RETRIES => {
                attempt += 1;
                tracing::warn!(error = %e, attempt, "out of file descriptors {doing}; retrying");
                crate::fds::report_exhaustion();
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(FD_RETRY_MAX_PAUSE);
            }
            other => return other,
        }
    }
}

/// Makes everything written to sled so far durable: sled's `flush`, then an `fdatasync` of
/// its data file, bounded together by [`FLUSH_TIMEOUT`].
///
/// sled 0.34's flush writes its buffers with `pwrite` and waits for them with
/// `sync_file_range` alone: that neither flushes the drive's volatile write cache nor syncs
/// the file's size after the file grew, so a power cut could still lose what it flushed
/// (sled's own `fsync` comes only from its flusher thread, every 500 ms). The `fdatasync`
/// closes that gap, as etcd's WAL does; it costs about 0.1-0.2 ms per group commit on the
/// benchmark VM (docs/performance.md).
///
/// Runs on tokio's blocking pool rather than through `flush_async`: that one hands the flush
/// to sled's own thread pool, which wakes every idle sled thread (seven or more) for each
/// job, and those wake-ups were a fifth of a loaded node's CPU.
async fn flush(db: &sled::Db, file: &Arc<std::fs::File>, path: &Path) -> io::Result<()> {
    let db = db.clone();
    let file = file.clone();
    let flushed = tokio::task::spawn_blocking(move || {
        if let Some(delay) = crate::failpoint::fsync_delay() {
            std::thread::sleep(delay); // a slow disk, in tests only
        }
        db.flush().map_err(io::Error::other)?;
        file.sync_data()
    });
    match tokio::time::timeout(FLUSH_TIMEOUT, flushed).await {
        Ok(Ok(flushed)) => flushed,
        Ok(Err(join)) => Err(io::Error::other(format!("flushing {} failed: {join}", path.display()))),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "flushing {} did not finish within {FLUSH_TIMEOUT:?}; is the disk full or failing?",
                path.display()
            ),
        )),
    }
}

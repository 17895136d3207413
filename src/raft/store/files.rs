//! Snapshot bodies on disk: one file per snapshot in the data dir, written once and never
//! changed. A body is as large as the whole cache, so it is streamed: written straight from
//! the cache into a file, read back and sent from the file in chunks, never held in memory
//! whole.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// Bytes read per chunk when a body is sent.
const CHUNK: usize = 1 << 20;

/// Names of body files written but not yet recorded as the current snapshot (a body being
/// installed): removing old bodies leaves them alone.
#[derive(Debug, Clone, Default)]
pub(super) struct Pinned(Arc<Mutex<HashSet<String>>>);

impl Pinned {
    fn set(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn contains(&self, name: &str) -> bool {
        self.set().contains(name)
    }
}

/// Unpins its name when the last handle on the body goes.
#[derive(Debug)]
struct Pin {
    name: String,
    pinned: Pinned,
}

impl Drop for Pin {
    fn drop(&mut self) {
        self.pinned.set().remove(&self.name);
    }
}

/// A complete snapshot body on disk, open for reading. The open file keeps the content
/// readable after a newer snapshot replaced (and removed) it, so a transfer in progress
/// finishes with the body it started with. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SnapshotFile {
    path: PathBuf,
    file: Arc<File>,
    len: u64,
    _pin: Option<Arc<Pin>>,
}

impl SnapshotFile {
    /// Opens the body at `path`.
    pub fn open(path: &Path) -> io::Result<SnapshotFile> {
        let context = |e| with_path(e, "snapshot file", path);
        let file = File::open(path).map_err(context)?;
        let len = file.metadata().map_err(context)?.len();
        Ok(SnapshotFile {
            path: path.to_path_buf(),
            file: Arc::new(file),
            len,
            _pin: None,
        })
    }

    /// The body's size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the body is empty (a snapshot of nothing, from a build that wrote none).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// The file name, as sled records it.
    pub(super) fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// A reader over the whole body from its start (independent of other readers).
    pub fn reader(&self) -> impl Read + Send + 'static {
        At {
            file: self.file.clone(),
            pos: 0,
        }
    }

    /// The first `n` bytes of the body (fewer if it is shorter).
    pub fn head(&self, n: usize) -> io::Result<Vec<u8>> {
        let mut head = Vec::with_capacity(n);
        self.reader().take(n as u64).read_to_end(&mut head)?;
        Ok(head)
    }

    /// The whole body in memory (small bodies and tests only).
    pub fn read_all(&self) -> io::Result<Vec<u8>> {
        let mut all = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
        self.reader().read_to_end(&mut all)?;
        Ok(all)
    }

    /// The body as a stream of chunks of about [`CHUNK`] bytes, read on the blocking pool.
    pub fn chunks(&self) -> impl futures::Stream<Item = io::Result<bytes::Bytes>> + Send + 'static {
        let file = self.file.clone();
        let len = self.len;
        futures::stream::try_unfold(0u64, move |pos| {
            let file = file.clone();
            async move {
                if pos >= len {
                    return Ok(None);
                }
                let want = usize::try_from(len - pos).unwrap_or(CHUNK).min(CHUNK);
                let chunk = tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0; want];
                    file.read_exact_at(&mut buf, pos).map(|()| buf)
                })
                .await
                .map_err(io::Error::other)??;
                Ok(Some((bytes::Bytes::from(chunk), pos + want as u64)))
            }
        })
    }
}

/// A positional reader: reads at its own offset, so readers of one file never interfere.
struct At {
    file: Arc<File>,
    pos: u64,
}

impl Read for At {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// A snapshot body being written: `NAME.partial` until [`SnapshotWriter::finish`] renames
/// it to `NAME`. Dropped before that, it removes the partial file.
pub struct SnapshotWriter {
    /// The final path; the file is written next to it with [`PARTIAL`] appended.
    path: PathBuf,
    out: Option<BufWriter<File>>,
    dir: Option<File>,
    /// Bytes written since the file was last synced.
    unsynced: usize,
    pinned: Pinned,
}

/// Bytes a body is written between syncs. A body is as large as the cache: written at once
/// and synced at the end, its hundreds of MB of dirty pages reach the disk in one burst that
/// stalls the Raft log's own fsyncs behind it for as long (the p99 of large writes).
const SYNC_EVERY: usize = 8 << 20;

/// An I/O error with what was being done to which file. The original error stays its
/// source, so its OS error code can still be told (running out of descriptors is retried).
#[derive(Debug, thiserror::Error)]
#[error("{doing} {}: {source}", path.display())]
struct PathError {
    doing: &'static str,
    path: PathBuf,
    source: io::Error,
}

pub(super) fn with_path(source: io::Error, doing: &'static str, path: &Path) -> io::Error {
    io::Error::new(
        source.kind(),
        PathError {
            doing,
            path: path.to_path_buf(),
            source,
        },
    )
}

/// Suffix of a body file still being written; such files are removed when the store opens.
pub(super) const PARTIAL: &str = ".partial";

impl SnapshotWriter {
    /// Starts the body that will be `path` (which must not exist). Every descriptor the body
    /// needs (the file, opened for reading back too, and its directory, for the fsync after
    /// the rename) is taken here, so running out of descriptors shows at the start, where
    /// it is retried, and never halfway through.
    pub(super) fn create(path: PathBuf, pinned: Pinned) -> io::Result<SnapshotWriter> {
        let partial = partial(&path);
        let dir = match path.parent() {
            Some(dir) => Some(File::open(dir).map_err(|e| with_path(e, "opening the snapshot directory", dir))?),
            None => None,
        };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&partial)
            .map_err(|e| with_path(e, "creating snapshot file", &partial))?;
        Ok(SnapshotWriter {
            path,
            out: Some(BufWriter::with_capacity(CHUNK, file)),
            dir,
            unsynced: 0,
            pinned,
        })
    }

    /// Flushes and fsyncs the body, renames it to its final name and fsyncs the directory:
    /// the body is then complete and durable, and pinned until recorded as the current
    /// snapshot or dropped.
    pub fn finish(mut self) -> io::Result<SnapshotFile> {
        let path = self.path.clone();
        let context = |e| with_path(e, "writing snapshot file", &path);
        let out = self
            .out
            .take()
            .ok_or_else(|| io::Error::other("snapshot file already finished"))?;
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.pinned.set().insert(name.clone());
        let pin = Arc::new(Pin {
            name,
            pinned: self.pinned.clone(),
        });
        let partial = partial(&self.path);
        let dir = self.dir.take();
        let done = out.into_inner().map_err(|e| e.into_error()).and_then(|file| {
            file.sync_all()?;
            std::fs::rename(&partial, &self.path)?;
            if let Some(dir) = &dir {
                dir.sync_all()?;
            }
            let len = file.metadata()?.len();
            Ok((file, len))
        });
        match done {
            Ok((file, len)) => Ok(SnapshotFile {
                path: self.path.clone(),
                file: Arc::new(file),
                len,
                _pin: Some(pin),
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                let _ = std::fs::remove_file(&self.path);
                Err(context(e))
            }
        }
    }
}

fn partial(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(PARTIAL);
    PathBuf::from(p)
}

impl Write for SnapshotWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(out) = &mut self.out else {
            return Err(io::Error::other("snapshot file already finished"));
        };
        let n = out.write(buf)?;
        self.unsynced += n;
        if self.unsynced >= SYNC_EVERY {
            self.unsynced = 0;
            out.flush()?;
            out.get_ref().sync_data()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.out {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for SnapshotWriter {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = std::fs::remove_file(partial(&self.path));
        }
    }
}

/// Removes every snapshot body file in `dir` but `keep` and the pinned ones: older bodies,
/// and strays a crash or a refused transfer left.
pub(super) fn remove_snapshot_files(dir: &Path, keep: &str, pinned: &Pinned) {
    remove_where(dir, |name| {
        is_snapshot_file(name) && name != keep && !pinned.contains(name)
    });
}

/// Removes bodies whose writing never finished (a crash mid-write): only when nothing can be
/// writing one, as the store opens.
pub(super) fn remove_partial_files(dir: &Path) {
    remove_where(dir, |name| name.starts_with("snapshot-") && name.ends_with(PARTIAL));
}

fn remove_where(dir: &Path, doomed: impl Fn(&str) -> bool) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if doomed(&name.to_string_lossy()) {
            if let Err(e) = std::fs::remove_file(entry.path()) {
                tracing::warn!(error = %e, file = %entry.path().display(), "cannot remove an old snapshot file");
            }
        }
    }
}

/// Whether `name` is a snapshot body file as the store names them.
pub(super) fn is_snapshot_file(name: &str) -> bool {
    name.starts_with("snapshot-") && name.ends_with(".bin")
}

/// A fresh body file name for a snapshot through about `index`.
pub(super) fn snapshot_file_name(index: u64) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("snapshot-{index:020}-{nanos:x}.bin")
}

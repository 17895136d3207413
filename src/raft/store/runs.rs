//! How runs of log entries sit in sled's `log` tree: one run per `append`, keyed by the index
//! of its first entry, and stored in pieces of at most [`PIECE_BYTES`].
//!
//! Why pieces: sled 0.34 writes any page larger than a quarter of its 512 KiB segment to a
//! blob file of its own. It never fsyncs blob files (only its main file), so a crash of the
//! machine can lose an entry sled called flushed; and its page cache counts a blob page as
//! the size of its pointer, so `cache_capacity` does not bound the memory such pages hold. A
//! leaf holds at most 17 keys before it splits, so runs cut into pieces of 6 KiB keep every
//! page of the tree, and every write to its file, well under that threshold.
//!
//! Layout: piece 0 under the 8-byte big-endian index (the only layout before format 5, and
//! still how a run of one piece is stored); piece `n` under the same 8 bytes followed by `n`
//! as 4 big-endian bytes, which sorts after piece 0 and before the next index.

use std::io;

use super::{LogEntry, Store};

/// Largest piece of a run under one key (see the module doc).
pub(super) const PIECE_BYTES: usize = 6 * 1024;

/// The key of a run starting at `index` (and of its first piece).
pub(super) fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

fn piece_key(index: u64, piece: u32) -> [u8; 12] {
    let mut key = [0; 12];
    key[..8].copy_from_slice(&index_key(index));
    key[8..].copy_from_slice(&piece.to_be_bytes());
    key
}

/// The keys of the run starting at `index`: its own and its pieces'.
pub(super) fn run_keys(index: u64) -> std::ops::Range<[u8; 8]> {
    index_key(index)..index_key(index.saturating_add(1))
}

/// Whether `key` starts a run (rather than continuing one).
pub(super) fn is_run_key(key: &[u8]) -> bool {
    key.len() == 8
}

/// The first index of the run stored under `key` (a run's key or one of its pieces').
pub(super) fn run_index(key: &[u8]) -> io::Result<u64> {
    key.get(..8)
        .and_then(|k| k.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("log key of {} bytes", key.len())))
}

/// Adds the inserts storing `bytes` as the run starting at `index` to `batch`, in pieces of
/// at most `piece` bytes.
fn insert_run(batch: &mut sled::Batch, index: u64, bytes: &[u8], piece: usize) {
    let mut chunks = bytes.chunks(piece.max(1));
    batch.insert(&index_key(index), chunks.next().unwrap_or_default());
    for (n, chunk) in (1..).zip(chunks) {
        batch.insert(&piece_key(index, n), chunk);
    }
}

/// Assembles runs from a walk of the tree in key order: each item is a run's key and its
/// bytes (one piece's bytes as they are, several joined).
pub(super) struct Runs<I: Iterator> {
    items: std::iter::Peekable<I>,
}

impl<I: Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> Runs<I> {
    pub(super) fn new(items: I) -> Self {
        Runs {
            items: items.peekable(),
        }
    }
}

impl<I: Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> Iterator for Runs<I> {
    type Item = io::Result<(sled::IVec, sled::IVec)>;

    fn next(&mut self) -> Option<Self::Item> {
        let (key, first) = match self.items.next()? {
            Ok(item) => item,
            Err(e) => return Some(Err(io::Error::other(e))),
        };
        if !is_run_key(&key) {
            // A walk that starts inside a run: the caller starts at run keys, so this is
            // damage, not a boundary to skip silently.
            return Some(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("log piece {key:?} without the start of its run"),
            )));
        }
        let mut joined: Option<Vec<u8>> = None;
        while let Some(Ok((next, _))) = self.items.peek() {
            if is_run_key(next) || next[..8] != key[..] {
                break;
            }
            let Some(Ok((_, piece))) = self.items.next() else { break };
            joined.get_or_insert_with(|| first.to_vec()).extend_from_slice(&piece);
        }
        Some(Ok((key, joined.map_or(first, sled::IVec::from))))
    }
}

impl Store {
    /// The key of the run that holds `index` (or of the last run starting before it).
    pub(super) fn run_key_at(&self, index: u64) -> io::Result<Option<sled::IVec>> {
        self.log
            .range(..=index_key(index))
            .keys()
            .rev()
            .find(|k| k.as_ref().map_or(true, |k| is_run_key(k)))
            .transpose()
            .map_err(io::Error::other)
    }

    /// The most a piece may hold now: whole runs until the cluster version reads pieces.
    pub(super) fn piece_limit(&self) -> usize {
        match self.pieces.load(std::sync::atomic::Ordering::Relaxed) {
            true => self.piece_bytes,
            false => usize::MAX,
        }
    }

    /// Stores `bytes` as the run starting at `index`: one insert, or one atomic batch of its
    /// pieces.
    pub(super) fn write_run(&self, index: u64, bytes: Vec<u8>) -> io::Result<()> {
        if bytes.len() <= self.piece_limit() {
            return self
                .log
                .insert(index_key(index), bytes)
                .map(drop)
                .map_err(io::Error::other);
        }
        let mut batch = sled::Batch::default();
        self.batch_run(&mut batch, index, &bytes)?;
        self.log.apply_batch(batch).map_err(io::Error::other)
    }

    /// Adds the inserts storing `bytes` as the run starting at `index` to `batch`: whole, or
    /// in pieces once the cluster version reads them, recording first that the data dir now
    /// holds pieces (which older builds do not read). Every run written goes through here or
    /// through `write_run`'s single insert.
    pub(super) fn batch_run(&self, batch: &mut sled::Batch, index: u64, bytes: &[u8]) -> io::Result<()> {
        let piece = self.piece_limit();
        if bytes.len() > piece {
            self.note_format(crate::version::PIECES_FORMAT)?;
        }
        insert_run(batch, index, bytes, piece);
        Ok(())
    }

    /// The run whose key is `key`, read whole.
    fn run_from(&self, key: &[u8]) -> io::Result<Option<(sled::IVec, sled::IVec)>> {
        Runs::new(self.log.range(run_keys(run_index(key)?))).next().transpose()
    }

    /// The run that holds `index` (or the last run starting before it), with its key.
    pub(super) fn run_at(&self, index: u64) -> io::Result<Option<(sled::IVec, Vec<LogEntry>)>> {
        let Some(key) = self.run_key_at(index)? else {
            return Ok(None);
        };
        match self.run_from(&key)? {
            Some((key, bytes)) => Ok(Some((key, super::decode_run(&bytes)?))),
            None => Ok(None),
        }
    }

    /// The last run's last entry.
    pub(super) fn last_log_id(&self) -> io::Result<Option<super::LogId>> {
        Ok(self
            .run_at(u64::MAX)?
            .and_then(|(_, mut run)| run.pop())
            .map(|e| e.log_id))
    }
}

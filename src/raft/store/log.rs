//! openraft's log storage traits on the sled store: reading runs of entries, appending
//! (fsynced by the group commit of `commit.rs`), truncating and purging.

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::atomic::Ordering;

use openraft::storage::{IOFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader};

use super::*;

/// The sled key bound that ends a walk of whole runs at `bound`: a run starting at an
/// included last index comes with its pieces.
fn end_key(bound: Bound<&u64>) -> Bound<[u8; 8]> {
    match bound {
        Bound::Included(i) => match i.checked_add(1) {
            Some(next) => Bound::Excluded(index_key(next)),
            None => Bound::Unbounded,
        },
        Bound::Excluded(i) => Bound::Excluded(index_key(*i)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl RaftLogReader<TypeConfig> for Store {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<LogEntry>, io::Error> {
        let start = match range.start_bound() {
            Bound::Included(i) => *i,
            Bound::Excluded(i) => i.saturating_add(1),
            Bound::Unbounded => 0,
        };
        // The tail never holds purged entries: a range it has whole is never purged.
        if let Some(entries) = self.tail.get(start, &range) {
            return Ok(entries);
        }
        // Purged entries may still sit in the run that holds the purge point: never return them.
        let purged: Option<LogId> = self.get(&self.meta, KEY_PURGED)?;
        let start = match purged {
            Some(p) => start.max(p.index() + 1),
            None => start,
        };
        // Begin at the run holding `start`, which may begin before it.
        let first_key = match self.run_key_at(start)? {
            Some(key) => index_key(runs::run_index(&key)?),
            None => index_key(start),
        };
        let end = end_key(range.end_bound());
        let mut out = Vec::new();
        for item in runs::Runs::new(self.log.range((Bound::Included(first_key), end))) {
            let (_, bytes) = item?;
            out.extend(
                decode_run(&bytes)?
                    .into_iter()
                    .filter(|e| e.log_id.index() >= start && range.contains(&e.log_id.index())),
            );
        }
        Ok(out)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        self.get(&self.meta, KEY_VOTE)
    }
}

impl RaftLogStorage<TypeConfig> for Store {
    type LogReader = Store;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        self.log_state()
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        self.put(&self.meta, KEY_VOTE, vote)?;
        self.flush().await
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        // A hint, not flushed on purpose: after a crash openraft re-derives commitment from a
        // quorum (leader restore is off). Written only every COMMITTED_EVERY entries: each write
        // dirties a sled page that the next log fsync must rewrite.
        let index = committed.map_or(0, |c| c.index());
        self.committed.fetch_max(index, Ordering::Relaxed);
        let saved = self.committed_saved.load(Ordering::Relaxed);
        if index >= saved && index - saved < COMMITTED_EVERY {
            return Ok(());
        }
        self.committed_saved.store(index, Ordering::Relaxed);
        match committed {
            Some(c) => self.put(&self.meta, KEY_COMMITTED, &c),
            None => self.meta.remove(KEY_COMMITTED).map(|_| ()).map_err(io::Error::other),
        }
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        self.get(&self.meta, KEY_COMMITTED)
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<TypeConfig>) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = LogEntry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        // One sled value per append ("run" of consecutive entries, keyed by its first index):
        // sled copies a whole leaf on every insert, so one insert per batch instead of one per
        // entry cuts the leader's CPU and write volume under load.
        let run: Vec<LogEntry> = entries.into_iter().collect();
        let Some(first) = run.first() else {
            callback.io_completed(Ok(()));
            return Ok(());
        };
        let format = run.iter().map(entry_format).max().unwrap_or(0);
        let written = self.note_format(format).and_then(|()| encode(&run)).and_then(|bytes| {
            let size = bytes.len();
            self.appended.fetch_add(size as u64, Ordering::Relaxed);
            self.write_run(first.log_id.index(), bytes)?;
            Ok(size)
        });
        match written {
            // Readable now; durable when the callback fires.
            Ok(size) => {
                let last = run.last().map_or(0, |e| e.log_id.index());
                self.tail.appended(run, size);
                self.flush_later(last, callback).await;
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, path = %self.path.display(), "log append failed; the write is not acknowledged");
                callback.io_completed(Err(io::Error::new(e.kind(), e.to_string())));
                Err(e)
            }
        }
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let keep_through = last_log_id.as_ref().map(|id| id.index());
        let start = keep_through.map_or(0, |i| i + 1);
        self.log_truncated(keep_through.unwrap_or(0));
        self.tail.truncate_after(keep_through);
        let mut batch = sled::Batch::default();
        // The run holding `start` may begin before it: keep its head, stored anew (its pieces
        // sort before `start`'s key, so they are removed here, not below).
        if let Some((key, run)) = self.run_at(start)? {
            let first = runs::run_index(&key)?;
            if first < start {
                for piece in self.log.range(runs::run_keys(first)).keys() {
                    batch.remove(piece.map_err(io::Error::other)?);
                }
                let head: Vec<LogEntry> = run.into_iter().filter(|e| e.log_id.index() < start).collect();
                self.batch_run(&mut batch, first, &encode(&head)?)?;
            }
        }
        for key in self.log.range(index_key(start)..).keys() {
            batch.remove(key.map_err(io::Error::other)?);
        }
        self.log.apply_batch(batch).map_err(io::Error::other)?;
        self.flush().await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        // Record the purge point first: a crash in between leaves entries that are merely
        // redundant, never a hole.
        self.tail.purge(log_id.index());
        self.put(&self.meta, KEY_PURGED, &log_id)?;
        self.flush().await?;
        crate::failpoint::hit("log-purge-marked");
        // The runs behind the purge point go on a blocking thread: with runs in pieces a purge
        // removes thousands of keys, whose leaves sled may first read back from disk, and
        // openraft's appends wait until `purge` returns. Nothing reads below the purge point,
        // and a removal cut short (an error, a crash) is finished by the next purge.
        let store = self.clone();
        let upto = log_id.index();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = store.remove_runs_through(upto) {
                tracing::warn!(error = %e, upto, "removing purged log runs failed; the next purge retries");
            }
        });
        Ok(())
    }
}

impl Store {
    /// The purge point and the last log id (the purge point when no entry is after it).
    pub(super) fn log_state(&self) -> Result<LogState<TypeConfig>, io::Error> {
        let last_purged_log_id: Option<LogId> = self.get(&self.meta, KEY_PURGED)?;
        // The run holding the purge point is kept whole, so its entries may end at or before
        // the purge point: then the purge point is the last log id.
        let last_log_id = match (self.last_log_id()?, last_purged_log_id) {
            (Some(last), Some(purged)) if purged.index() >= last.index() => Some(purged),
            (last, purged) => last.or(purged),
        };
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }
}

/// The format an entry is stamped with (membership and blank entries are format 2).
fn entry_format(entry: &LogEntry) -> u32 {
    match &entry.payload {
        openraft::EntryPayload::Normal(req) => req.format(),
        _ => crate::version::OLDEST_FORMAT,
    }
}

impl Store {
    /// Removes the runs that end at or before `index` (the purge point): those followed by a
    /// run that starts at or before `index + 1`, that is every key before the last such
    /// run's. The run holding the purge point stays whole; its purged head is never read
    /// (reads start after the purge point). One key at a time, so appends go on meanwhile;
    /// one removal at a time.
    fn remove_runs_through(&self, index: u64) -> io::Result<()> {
        let _one_at_a_time = self.purging.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(keep) = self.run_key_at(index.saturating_add(1))? {
            for key in self.log.range(..keep).keys() {
                self.log
                    .remove(key.map_err(io::Error::other)?)
                    .map_err(io::Error::other)?;
            }
        }
        crate::failpoint::hit("log-purge-done");
        tracing::debug!(upto = index, "purged raft log");
        Ok(())
    }
}

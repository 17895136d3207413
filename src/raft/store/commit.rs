//! Group commit of the log's appends: each `append` writes to sled and hands its callback
//! here; one fsync covers every append queued while the previous one ran. Also what the
//! node learns from it: how slow the fsyncs are and how far the log is durable.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use openraft::storage::IOFlushed;
use tokio::sync::{mpsc, oneshot};

use super::{floor, flush, Store, TypeConfig};

/// Handle on the group-commit task.
pub(super) struct Flusher {
    queue: mpsc::UnboundedSender<Pending>,
    times: Arc<FsyncTimes>,
}

/// A log fsync that takes this long is slow; see [`Store::slow_fsyncs`].
pub const SLOW_FSYNC: std::time::Duration = std::time::Duration::from_secs(1);

/// When the log's fsync runs, how slow the last ones were and how far the log is durable:
/// kept by the group-commit task, read by [`Store::slow_fsyncs`] and
/// [`Store::flushed_index`].
#[derive(Debug)]
struct FsyncTimes {
    epoch: std::time::Instant,
    /// Microseconds from `epoch` to the start of the fsync running now, plus one; 0 while
    /// none runs.
    running_since: AtomicU64,
    /// The index of the last entry known durable here.
    flushed: AtomicU64,
    /// How many times the log was truncated (entries removed from its end); held while
    /// `flushed` is raised or lowered, so a flush that began before a truncation does not
    /// raise it past the cut (see [`FsyncTimes::flushed`]).
    cuts: std::sync::Mutex<u64>,
    /// How many fsyncs in a row, up to the last one, took [`SLOW_FSYNC`] or longer.
    slow_in_a_row: AtomicU32,
    /// How long the last finished fsync took, and when it ended, in microseconds.
    last_took: AtomicU64,
    last_ended: AtomicU64,
}

impl FsyncTimes {
    fn new() -> FsyncTimes {
        FsyncTimes {
            epoch: std::time::Instant::now(),
            running_since: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            cuts: std::sync::Mutex::new(0),
            slow_in_a_row: AtomicU32::new(0),
            last_took: AtomicU64::new(0),
            last_ended: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    fn busy(&self) -> bool {
        self.running_since.load(Ordering::Acquire) != 0
    }

    fn started(&self) {
        self.running_since.store(self.now() + 1, Ordering::Release);
    }

    fn cuts(&self) -> std::sync::MutexGuard<'_, u64> {
        self.cuts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// After a flush: raises the durable index to the last entry of the appends it covered,
    /// leaving out appends made before a truncation since (their entries may be gone,
    /// replaced by ones the flush did not cover).
    fn flushed(&self, batch: &[Pending]) {
        let cuts = self.cuts();
        let last = batch.iter().filter(|p| p.cuts == *cuts).map(|p| p.last).max();
        if let Some(last) = last {
            self.flushed.fetch_max(last, Ordering::Relaxed);
        }
    }

    /// The log now ends at `keep_through`: what was durable after it is gone, and the
    /// entries that will take those indexes are not flushed yet.
    fn truncated(&self, keep_through: u64) {
        let mut cuts = self.cuts();
        *cuts += 1;
        self.flushed.fetch_min(keep_through, Ordering::Relaxed);
    }

    fn finished(&self) {
        let since = self.running_since.swap(0, Ordering::AcqRel);
        let now = self.now();
        let took = now.saturating_sub(since.saturating_sub(1));
        self.last_took.store(took, Ordering::Relaxed);
        self.last_ended.store(now, Ordering::Relaxed);
        match took >= SLOW_FSYNC.as_micros() as u64 {
            true => self.slow_in_a_row.fetch_add(1, Ordering::Relaxed),
            false => self.slow_in_a_row.swap(0, Ordering::Relaxed),
        };
    }

    /// How many fsyncs in a row were slow, the running one counted once it is, and the
    /// longer of its age and the last one's duration. Nothing while the log is idle (no
    /// fsync running or ended in the last second), however slow its last fsyncs were.
    fn slow(&self) -> (u32, std::time::Duration) {
        let now = self.now();
        let running = match self.running_since.load(Ordering::Acquire) {
            0 => None,
            since => Some(now.saturating_sub(since - 1)),
        };
        let recent = now.saturating_sub(self.last_ended.load(Ordering::Relaxed)) < 1_000_000;
        if running.is_none() && !recent {
            return (0, std::time::Duration::ZERO);
        }
        let running_slow = running.is_some_and(|r| r >= SLOW_FSYNC.as_micros() as u64);
        let longest = running.unwrap_or(0).max(self.last_took.load(Ordering::Relaxed));
        (
            self.slow_in_a_row.load(Ordering::Relaxed) + u32::from(running_slow),
            std::time::Duration::from_micros(longest),
        )
    }
}

/// An append waiting for its fsync; `started` (if any) is told when that fsync begins.
struct Pending {
    callback: IOFlushed<TypeConfig>,
    /// The index of the append's last entry.
    last: u64,
    /// How many truncations the log had seen when the append was made.
    cuts: u64,
    started: Option<oneshot::Sender<()>>,
}

/// The longest an append waits for the fsync under way to finish before it returns anyway
/// (see [`Store::flush_later`]): well above a healthy disk's fsync under load, well under an
/// election timeout.
const APPEND_HOLD: std::time::Duration = std::time::Duration::from_millis(100);

impl Store {
    /// Hands `callback` to the group-commit task, which calls it once an fsync that started
    /// after this call has finished. Returns at once when no fsync is running (so a lone
    /// write is replicated while the leader fsyncs); otherwise waits until the fsync covering
    /// this append starts, which holds openraft back so that client writes queue up into the
    /// next append: one batch being fsynced, one being gathered. On the leader it waits at
    /// most [`APPEND_HOLD`]: a leader whose disk is slow (an fsync of seconds) then keeps
    /// replicating, and commits on its followers' fsyncs while its own lags (Raft lets the
    /// leader write its log in parallel with replication), instead of holding every write
    /// to its own disk's pace. A follower acknowledges only what it has fsynced anyway, and
    /// waits as long as the fsync takes (a slow follower held to 100 ms served fewer reads
    /// in the slow-disk fault run: 127-238 against 262-439 TTL reads).
    pub(super) async fn flush_later(&self, last: u64, callback: IOFlushed<TypeConfig>) {
        let flusher = self.flusher.get_or_init(|| {
            let (queue, rx) = mpsc::unbounded_channel();
            let times = Arc::new(FsyncTimes::new());
            tokio::spawn(group_commit(
                self.db.clone(),
                self.db_file.clone(),
                self.path.clone(),
                rx,
                times.clone(),
            ));
            tokio::spawn(save_floor(
                self.dir(),
                queue.downgrade(),
                self.committed.clone(),
                times.clone(),
            ));
            Flusher { queue, times }
        });
        let (started, wait) = match flusher.times.busy() {
            true => {
                let (tx, rx) = oneshot::channel();
                (Some(tx), Some(rx))
            }
            false => (None, None),
        };
        let cuts = *flusher.times.cuts();
        if let Err(mpsc::error::SendError(pending)) = flusher.queue.send(Pending {
            callback,
            last,
            cuts,
            started,
        }) {
            // Unreachable while this store exists (the task lives as long as the sender),
            // but never report an unflushed append as durable.
            pending
                .callback
                .io_completed(Err(io::Error::other("the log flusher has stopped")));
            return;
        }
        if let Some(wait) = wait {
            match self.leading.load(Ordering::Relaxed) {
                true => drop(tokio::time::timeout(APPEND_HOLD, wait).await),
                false => drop(wait.await),
            }
        }
    }

    /// Tells the store whether this node leads: only a leader's appends stop waiting for a
    /// slow fsync (see [`Store::flush_later`]).
    pub fn set_leading(&self, leading: bool) {
        self.leading.store(leading, Ordering::Relaxed);
    }

    /// How many of the log's fsyncs in a row took [`SLOW_FSYNC`] or longer (the one running
    /// counted once it has), and the longest of the last and the running one; `(0, 0)`
    /// while the log is idle or before the first append.
    pub fn slow_fsyncs(&self) -> (u32, std::time::Duration) {
        self.flusher
            .get()
            .map_or((0, std::time::Duration::ZERO), |f| f.times.slow())
    }

    /// Lowers the durable index to `keep_through` when the log is truncated after it. The
    /// log's floor takes the lower of this and the committed index: without this, a follower
    /// whose uncommitted tail a new leader replaced would keep the old tail's durable index,
    /// and could record as its floor new entries that were committed elsewhere but not yet
    /// flushed here; a crash before their flush then refused the start as damage.
    pub(super) fn log_truncated(&self, keep_through: u64) {
        if let Some(flusher) = self.flusher.get() {
            flusher.times.truncated(keep_through);
        }
    }

    /// The index of the last log entry this process has appended and fsynced (0 before
    /// the first append).
    pub fn flushed_index(&self) -> u64 {
        self.flusher
            .get()
            .map_or(0, |f| f.times.flushed.load(Ordering::Relaxed))
    }
}

/// The group-commit loop behind `append`: takes every callback queued so far, runs one fsync
/// (which covers every sled write made before it starts, so all of theirs), then completes
/// them in order. Callbacks that arrive during the fsync wait for the next one.
async fn group_commit(
    db: sled::Db,
    file: Arc<std::fs::File>,
    path: PathBuf,
    mut rx: mpsc::UnboundedReceiver<Pending>,
    times: Arc<FsyncTimes>,
) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, usize::MAX).await > 0 {
        times.started();
        for pending in &mut batch {
            if let Some(started) = pending.started.take() {
                let _ = started.send(());
            }
        }
        let result = flush(&db, &file, &path).await;
        if result.is_ok() {
            times.flushed(&batch);
        }
        times.finished();
        if let Err(e) = &result {
            tracing::error!(error = %e, path = %path.display(), "log flush failed; the writes are not acknowledged");
        }
        for pending in batch.drain(..) {
            // Each callback must see the real outcome: openraft stops on an error.
            let outcome = result
                .as_ref()
                .map(|_| ())
                .map_err(|e| io::Error::new(e.kind(), e.to_string()));
            pending.callback.io_completed(outcome);
        }
    }
}

/// Records the log's floor (see `floor.rs`) every [`floor::SAVE_EVERY`] while it rises: the
/// highest index both committed and fsynced here. Ends with the group-commit task.
async fn save_floor(
    dir: PathBuf,
    alive: mpsc::WeakUnboundedSender<Pending>,
    committed: Arc<AtomicU64>,
    times: Arc<FsyncTimes>,
) {
    let mut tick = tokio::time::interval(floor::SAVE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut saved = 0;
    let mut failing = false;
    loop {
        tick.tick().await;
        if alive.upgrade().is_none() {
            return;
        }
        let index = committed
            .load(Ordering::Relaxed)
            .min(times.flushed.load(Ordering::Relaxed));
        if index <= saved {
            continue;
        }
        let to = dir.clone();
        match tokio::task::spawn_blocking(move || floor::write(&to, index)).await {
            Ok(Ok(())) => {
                saved = index;
                failing = false;
            }
            // Said once per run of failures (a full disk would repeat it every second).
            Ok(Err(e)) if !failing => {
                failing = true;
                tracing::warn!(error = %e, dir = %dir.display(), "saving the log floor failed; trying again every second");
            }
            Ok(Err(_)) => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(last: u64, cuts: u64) -> Pending {
        Pending {
            callback: IOFlushed::noop(),
            last,
            cuts,
            started: None,
        }
    }

    /// An append made before a truncation, whose flush ends after it, does not raise the
    /// durable index past the cut: its entries are gone, and the ones now at those indexes
    /// were not covered by that flush.
    #[test]
    fn a_flush_of_appends_from_before_a_truncation_does_not_raise_the_durable_index() {
        let times = FsyncTimes::new();
        times.flushed(&[pending(10, 0)]);
        assert_eq!(times.flushed.load(Ordering::Relaxed), 10);

        let in_flight = [pending(20, 0)];
        times.truncated(5);
        assert_eq!(times.flushed.load(Ordering::Relaxed), 5);
        times.flushed(&in_flight);
        assert_eq!(times.flushed.load(Ordering::Relaxed), 5);

        // Appends made after the cut count once flushed.
        times.flushed(&[pending(20, 0), pending(8, 1)]);
        assert_eq!(times.flushed.load(Ordering::Relaxed), 8);
    }
}

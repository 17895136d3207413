//! Watch streams: the changes under a prefix applied on this node, in log order, after an
//! optional replay of the kept history. Front ends (SSE today) turn them into their framing.
//!
//! A stream resumed from version N never hands out an event at or below N, even on a node
//! that has not applied N yet (it waits for the node to get there), and a stream that would
//! skip events (the node caught up by installing a snapshot) ends with [`Compacted`] instead.

use tokio::sync::broadcast::{self, error::RecvError};

use crate::cache::WatchEvent;
use crate::raft::state_machine::{Feed, SharedState};

/// The history a watcher asked for is gone: everything up to `through` was compacted.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("history up to version {through} was compacted; re-read the keys, then watch from a newer version")]
pub struct Compacted {
    pub through: u64,
}

/// The watcher fell too far behind and missed `missed` events; it should reconnect with
/// `from_version = resume` (events of version `resume + 1` may repeat).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error(
    "this watcher fell {missed} events behind; resume with from_version={resume} (events of version {} may repeat)",
    resume + 1
)]
pub struct Lagged {
    pub missed: u64,
    pub resume: u64,
}

/// Why a stream ended early: it fell behind, or the node skipped history it would have sent.
#[derive(Debug, Clone, Copy, thiserror::Error)]
pub enum Interrupted {
    #[error(transparent)]
    Lagged(#[from] Lagged),
    #[error(transparent)]
    Compacted(#[from] Compacted),
}

/// One watcher's stream of events.
pub struct Watch {
    backlog: std::vec::IntoIter<WatchEvent>,
    live: broadcast::Receiver<Feed>,
    prefix: Vec<u8>,
    /// The version of the last event handed out (or the version the watch started after).
    last: u64,
    /// Live events at or below this version are not sent: the watcher asked for what comes
    /// after it (`from_version`), or already has it.
    floor: u64,
    /// Every change up to this version has reached this watcher (sent, or not under its
    /// prefix): a snapshot through a later version would skip some.
    seen: u64,
    done: bool,
}

impl Watch {
    /// Subscribes to `state`'s changes under `prefix`, replaying the kept history after
    /// `from_version` first.
    pub(super) fn open(state: &SharedState, prefix: Vec<u8>, from_version: Option<u64>) -> Result<Watch, Compacted> {
        let (backlog, live, applied) = state.subscribe(from_version).map_err(|through| Compacted { through })?;
        let backlog: Vec<WatchEvent> = backlog.into_iter().filter(|e| e.key.starts_with(&prefix)).collect();
        let floor = from_version.unwrap_or(0);
        let last = backlog.last().map_or(floor, |e| e.version);
        Ok(Watch {
            backlog: backlog.into_iter(),
            live,
            prefix,
            last,
            floor,
            seen: floor.max(applied),
            done: false,
        })
    }

    /// The next event; `Err` once if the watcher fell behind or this node skipped changes by
    /// installing a snapshot (the stream then ends); `None` when the node stops.
    pub async fn next(&mut self) -> Option<Result<WatchEvent, Interrupted>> {
        if self.done {
            return None;
        }
        if let Some(e) = self.backlog.next() {
            return Some(Ok(e));
        }
        loop {
            match self.live.recv().await {
                Ok(Feed::Event(e)) => {
                    self.seen = self.seen.max(e.version);
                    // Not asked for: at or before `from_version` (a node that has not applied
                    // it yet gets there first), or under another prefix.
                    if e.version <= self.floor || !e.key.starts_with(&self.prefix) {
                        continue;
                    }
                    self.last = e.version;
                    return Some(Ok(std::sync::Arc::unwrap_or_clone(e)));
                }
                Ok(Feed::Replaced(through)) if through > self.seen => {
                    // The changes between what this watcher has and `through` were never
                    // applied here one by one: say so rather than skip them.
                    self.done = true;
                    return Some(Err(Compacted { through }.into()));
                }
                Ok(Feed::Replaced(_)) => {
                    // A snapshot this watcher is already past: entries re-applied after it
                    // must not be sent twice.
                    self.floor = self.floor.max(self.seen);
                }
                Err(RecvError::Lagged(missed)) => {
                    // Several events can share a version (a batch, a group of writes, a
                    // purge), and the missed ones may include the rest of `last`'s: resume
                    // before it, repeating what was sent of it rather than losing any.
                    self.done = true;
                    return Some(Err(Lagged {
                        missed,
                        resume: self.last.saturating_sub(1),
                    }
                    .into()));
                }
                Err(RecvError::Closed) => {
                    self.done = true;
                    return None;
                }
            }
        }
    }
}

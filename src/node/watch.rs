//! Watch streams: the changes under a prefix applied on this node, in log order, after an
//! optional replay of the kept history. Front ends (SSE today) turn them into their framing.

use tokio::sync::broadcast::{self, error::RecvError};

use crate::cache::WatchEvent;
use crate::raft::state_machine::SharedState;

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

/// One watcher's stream of events.
pub struct Watch {
    backlog: std::vec::IntoIter<WatchEvent>,
    live: broadcast::Receiver<WatchEvent>,
    prefix: String,
    /// The version of the last event handed out (or the version the watch started after).
    last: u64,
    done: bool,
}

impl Watch {
    /// Subscribes to `state`'s changes under `prefix`, replaying the kept history after
    /// `from_version` first.
    pub(super) fn open(state: &SharedState, prefix: String, from_version: Option<u64>) -> Result<Watch, Compacted> {
        let (backlog, live) = state.subscribe(from_version).map_err(|through| Compacted { through })?;
        let backlog: Vec<WatchEvent> = backlog.into_iter().filter(|e| e.key.starts_with(&prefix)).collect();
        let last = backlog.last().map_or(from_version.unwrap_or(0), |e| e.version);
        Ok(Watch {
            backlog: backlog.into_iter(),
            live,
            prefix,
            last,
            done: false,
        })
    }

    /// The next event; `Err(Lagged)` once if the watcher fell behind (the stream then ends);
    /// `None` when the node stops.
    pub async fn next(&mut self) -> Option<Result<WatchEvent, Lagged>> {
        if self.done {
            return None;
        }
        if let Some(e) = self.backlog.next() {
            return Some(Ok(e));
        }
        loop {
            match self.live.recv().await {
                // Skip what the backlog already sent.
                Ok(e) if e.version < self.last || !e.key.starts_with(&self.prefix) => continue,
                Ok(e) => {
                    self.last = e.version;
                    return Some(Ok(e));
                }
                Err(RecvError::Lagged(missed)) => {
                    // Several events can share a version (a batch, a group of writes, a
                    // purge), and the missed ones may include the rest of `last`'s: resume
                    // before it, repeating what was sent of it rather than losing any.
                    self.done = true;
                    return Some(Err(Lagged {
                        missed,
                        resume: self.last.saturating_sub(1),
                    }));
                }
                Err(RecvError::Closed) => {
                    self.done = true;
                    return None;
                }
            }
        }
    }
}

//! Client writes, coalesced: concurrent single-key sets and deletes share one log entry.
//!
//! Every log entry costs the same fixed work on every node whatever it carries (a Raft API
//! message, a log id, an append, an apply call, a responder), so under load the leader
//! proposes the writes that are waiting as one [`Command::Group`]. A bounded number of
//! entries are in flight at once; writes arriving while all are busy wait and go together in
//! the next one. A write that finds a free slot is proposed at once and alone, so a single
//! client sees no added latency.
//!
//! A group never holds two writes of one key: every write keeps a version of its own, and a
//! conditional write sees the outcome of the write before it, exactly as with separate entries.
//! One task submits every group, in arrival order, so of two writes to one key the one that
//! arrived later always gets the higher version.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use openraft::errors::{ClientWriteError, Fatal, RaftError};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use super::{Node, Written};
use crate::cache::{Command, Outcome, Request};
use crate::raft::{Raft, TypeConfig};

/// What proposing a write yields: its index and outcome, or openraft's refusal.
pub(super) type Proposed = Result<Written, RaftError<TypeConfig, ClientWriteError<TypeConfig>>>;

/// A write waiting to be proposed, and who waits for its outcome.
type Waiting = (Command, oneshot::Sender<Proposed>);

/// Submissions of client writes in flight at once. Two keep the pipeline full (one entry
/// being replicated while the next gathers writes); more would only make each group smaller.
const IN_FLIGHT: usize = 2;

/// Writes taken at once at most, and their key and value bytes at most (the first write is
/// always taken): one log entry stays a few MiB, like a client batch.
const MAX_GROUP: usize = 256;
const MAX_GROUP_BYTES: usize = 4 << 20;

/// The queue of writes waiting for a free slot.
pub(super) struct WriteBatcher {
    queue: Mutex<Queue>,
    slots: Arc<Semaphore>,
}

impl Default for WriteBatcher {
    fn default() -> Self {
        WriteBatcher {
            queue: Mutex::default(),
            slots: Arc::new(Semaphore::new(IN_FLIGHT)),
        }
    }
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    /// Whether a task is draining the queue.
    draining: bool,
}

impl WriteBatcher {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the waiting writes, up to [`MAX_GROUP`] and [`MAX_GROUP_BYTES`], skipping those
    /// whose caller stopped waiting (it was told the write may or may not be applied). Marks
    /// the queue undrained when nothing is left.
    fn take(&self) -> Vec<Waiting> {
        let mut q = self.lock();
        q.waiting.retain(|(_, tx)| !tx.is_closed());
        let mut bytes = 0;
        let n = q
            .waiting
            .iter()
            .take(MAX_GROUP)
            .take_while(|(cmd, _)| {
                let fits = bytes == 0 || bytes + cmd.approx_bytes() <= MAX_GROUP_BYTES;
                bytes += cmd.approx_bytes().max(1);
                fits
            })
            .count();
        if n == 0 {
            q.draining = false;
        }
        q.waiting.drain(..n).collect()
    }
}

/// Marks the queue undrained if the draining task ends other than by emptying it (a panic),
/// so the next write starts a new one instead of waiting forever.
struct DrainGuard<'a> {
    batcher: &'a WriteBatcher,
    armed: bool,
}

impl Drop for DrainGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.batcher.lock().draining = false;
        }
    }
}

impl Node {
    /// Proposes `cmd` through this node's Raft (which must lead) and waits for its outcome.
    /// Single-key writes may share an entry with other writes; anything else is proposed alone.
    pub(super) async fn propose(&self, cmd: Command) -> Proposed {
        if cmd.single_key().is_none() {
            let resp = self.inner.raft.client_write(self.stamp(cmd)).await?;
            return Ok(Written {
                index: resp.log_id.index(),
                outcome: resp.data,
            });
        }
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut q = self.inner.writes.lock();
            q.waiting.push((cmd, tx));
            !std::mem::replace(&mut q.draining, true)
        };
        if start {
            let node = self.clone();
            tokio::spawn(async move { node.drain_writes().await });
        }
        // The sender is dropped without a value only if the runtime is shutting down.
        rx.await.unwrap_or(Err(RaftError::Fatal(Fatal::Stopped)))
    }

    /// Submits waiting writes, one submission per free slot, until none are waiting. Only
    /// this task submits, and it waits for each submission to be queued in Raft before taking
    /// more, so entries are appended in the order the writes arrived.
    async fn drain_writes(&self) {
        let batcher = &self.inner.writes;
        let mut guard = DrainGuard { batcher, armed: true };
        loop {
            let Ok(slot) = batcher.slots.clone().acquire_owned().await else {
                return; // Never closed; the guard reopens the queue.
            };
            let taken = batcher.take();
            if taken.is_empty() {
                guard.armed = false;
                return;
            }
            let (requests, writers): (Vec<Request>, Vec<Vec<oneshot::Sender<Proposed>>>) = split_by_key(taken)
                .into_iter()
                .map(|group| {
                    let (mut cmds, writers): (Vec<_>, Vec<_>) = group.into_iter().unzip();
                    self.inner.metrics.write_entry(cmds.len());
                    let cmd = if cmds.len() == 1 {
                        cmds.remove(0)
                    } else {
                        Command::Group(cmds)
                    };
                    (self.stamp(cmd), writers)
                })
                .unzip();
            match self.inner.raft.client_write_many(requests).await {
                Ok(results) => {
                    tokio::spawn(answer(self.inner.raft.clone(), results, writers, slot));
                }
                Err(fatal) => {
                    let fatal = stop_cause(&self.inner.raft, fatal).await;
                    for tx in writers.into_iter().flatten() {
                        let _ = tx.send(Err(RaftError::Fatal(fatal.clone())));
                    }
                }
            }
        }
    }
}

/// Why Raft stopped. A submission learns only `Stopped` when the core ends under it; the
/// cause (a storage failure, say) is in the core's metrics once it has stopped.
async fn stop_cause(raft: &Raft, fatal: Fatal<TypeConfig>) -> Fatal<TypeConfig> {
    if !matches!(fatal, Fatal::Stopped) {
        return fatal;
    }
    let stopped = raft
        .wait(Some(std::time::Duration::from_secs(1)))
        .metrics(|m| m.running_state.is_err(), "raft stopped")
        .await;
    match stopped.map(|m| m.running_state.clone()) {
        Ok(Err(cause)) => cause,
        _ => fatal,
    }
}

/// Answers the writers of each submitted entry, in order, as the results arrive; frees the
/// slot once all have.
async fn answer(
    raft: Raft,
    mut results: futures::stream::BoxStream<
        'static,
        Result<openraft::raft::WriteResult<TypeConfig>, Fatal<TypeConfig>>,
    >,
    writers: Vec<Vec<oneshot::Sender<Proposed>>>,
    slot: OwnedSemaphorePermit,
) {
    for group in writers {
        let n = group.len();
        let result = results.next().await.unwrap_or(Err(Fatal::Stopped));
        match result {
            Err(fatal) => {
                let fatal = stop_cause(&raft, fatal).await;
                for tx in group {
                    let _ = tx.send(Err(RaftError::Fatal(fatal.clone())));
                }
            }
            Ok(Err(refused)) => {
                for tx in group {
                    let _ = tx.send(Err(RaftError::APIError(refused.clone())));
                }
            }
            Ok(Ok(resp)) => {
                let index = resp.log_id.index();
                let outcomes = match resp.response {
                    Outcome::Group(outcomes) if outcomes.len() == n => outcomes,
                    single if n == 1 => vec![single],
                    other => {
                        // Cannot happen: a group applies to a group outcome of its length.
                        tracing::error!(index, outcome = ?other, "{n} writes applied to a mismatched outcome");
                        vec![Outcome::None; n]
                    }
                };
                for (tx, outcome) in group.into_iter().zip(outcomes) {
                    let _ = tx.send(Ok(Written { index, outcome }));
                }
            }
        }
    }
    drop(slot);
}

/// Splits `writes` (in arrival order) into runs with no key twice; a write of a key already
/// in the current run starts the next one, so writes of one key stay in arrival order.
fn split_by_key<T>(writes: Vec<(Command, T)>) -> Vec<Vec<(Command, T)>> {
    let mut groups: Vec<Vec<(Command, T)>> = Vec::new();
    let mut keys: HashSet<String> = HashSet::new();
    let mut current = Vec::new();
    for (cmd, waiter) in writes {
        let key = cmd.single_key().unwrap_or_default();
        if keys.contains(key) {
            groups.push(std::mem::take(&mut current));
            keys.clear();
        }
        keys.insert(key.to_owned());
        current.push((cmd, waiter));
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(k: &str) -> (Command, ()) {
        (
            Command::Set {
                key: k.into(),
                value: "v".into(),
                ttl_ms: None,
                if_version: None,
            },
            (),
        )
    }

    fn keys(groups: &[Vec<(Command, ())>]) -> Vec<Vec<&str>> {
        groups
            .iter()
            .map(|g| g.iter().map(|(c, _)| c.single_key().unwrap()).collect())
            .collect()
    }

    #[test]
    fn a_repeated_key_starts_the_next_group_and_order_is_kept() {
        let groups = split_by_key(vec![set("a"), set("b"), set("a"), set("c"), set("a"), set("c")]);
        assert_eq!(keys(&groups), vec![vec!["a", "b"], vec!["a", "c"], vec!["a", "c"]]);
        assert!(split_by_key::<()>(Vec::new()).is_empty());
    }
}

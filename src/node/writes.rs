//! Client writes, coalesced: concurrent single-key writes share one log entry.
//!
//! Every log entry costs the same fixed work on every node whatever it carries (a Raft API
//! message, a log id, an append, an apply call, a responder), so under load the leader
//! proposes the writes that are waiting as one [`Change::Writes`]. A bounded number of
//! entries are in flight at once; writes arriving while all are busy wait and go together in
//! the next one. A write that finds a free slot is proposed at once and alone, so a single
//! client sees no added latency.
//!
//! An entry never holds two writes of one key: every write keeps a version of its own, and a
//! conditional write sees the outcome of the write before it, exactly as with separate entries.
//! One task submits every entry, in arrival order, so of two writes to one key the one that
//! arrived later always gets the higher version. Batches are proposed alone.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use openraft::errors::{ClientWriteError, Fatal, RaftError};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use super::Node;
use crate::cache::{Change, Done, Effect, Key, Op, OpOutcome, Refusal, Request, Write};
use crate::raft::{Raft, TypeConfig};

/// openraft's refusal of a proposal.
pub(super) type ProposeError = RaftError<TypeConfig, ClientWriteError<TypeConfig>>;

/// What proposing one write yields.
type Proposed = Result<Result<Done, Refusal>, ProposeError>;

/// A write waiting to be proposed, and who waits for its outcome.
type Waiting = (Write, oneshot::Sender<Proposed>);

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
            .take_while(|(write, _)| {
                let fits = bytes == 0 || bytes + write.approx_bytes() <= MAX_GROUP_BYTES;
                bytes += write.approx_bytes().max(1);
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

/// Wraps `change` in a log entry stamped with this (leader) node's clock and memory bound.
fn stamp(node: &Node, change: Change) -> Request {
    Request {
        at_ms: node.stamp_clock_ms(),
        max_bytes: node.inner.config.limits.max_memory,
        change,
    }
}

/// Proposes `op` through this node's Raft (which must lead) and waits for its outcome.
/// Single writes may share an entry with other writes; batches and transactions are
/// proposed alone.
pub(super) async fn propose(node: &Node, op: Op) -> Result<OpOutcome, ProposeError> {
    let write = match op {
        Op::Write(write) => write,
        Op::Transaction { watch, writes } => {
            let change = Change::Transaction { watch, writes };
            let resp = node.inner.raft.client_write(stamp(node, change)).await?;
            return Ok(OpOutcome::Transaction(match resp.data {
                Effect::Transaction(result) => result,
                other => return Err(mismatch(resp.log_id.index(), &other)),
            }));
        }
        Op::Batch(writes) => {
            let resp = node.inner.raft.client_write(stamp(node, Change::Batch(writes))).await?;
            return Ok(OpOutcome::Batch(match resp.data {
                Effect::Batch(result) => result,
                // Cannot happen: a batch entry applies to a batch effect.
                other => return Err(mismatch(resp.log_id.index(), &other)),
            }));
        }
    };
    let (tx, rx) = oneshot::channel();
    let start = {
        let mut q = node.inner.writes.lock();
        q.waiting.push((write, tx));
        !std::mem::replace(&mut q.draining, true)
    };
    if start {
        let node = node.clone();
        tokio::spawn(async move { drain_writes(&node).await });
    }
    // The sender is dropped without a value only if the runtime is shutting down.
    let proposed = rx.await.unwrap_or(Err(RaftError::Fatal(Fatal::Stopped)));
    proposed.map(OpOutcome::Write)
}

/// Proposes a change of the leader's own (a purge, say) alone, and returns its effect.
pub(super) async fn propose_change(node: &Node, change: Change) -> Result<Effect, ProposeError> {
    Ok(node.inner.raft.client_write(stamp(node, change)).await?.data)
}

/// The error for an entry whose effect does not fit what was proposed: a bug, logged.
fn mismatch(index: u64, effect: &Effect) -> ProposeError {
    tracing::error!(index, ?effect, "an entry applied to an effect of another kind");
    RaftError::Fatal(Fatal::Panicked)
}

/// Submits waiting writes, one submission per free slot, until none are waiting. Only this
/// task submits, and it waits for each submission to be queued in Raft before taking more,
/// so entries are appended in the order the writes arrived.
async fn drain_writes(node: &Node) {
    let batcher = &node.inner.writes;
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
                let (writes, writers): (Vec<_>, Vec<_>) = group.into_iter().unzip();
                node.inner.metrics.write_entry(writes.len());
                (stamp(node, Change::Writes(writes)), writers)
            })
            .unzip();
        match node.inner.raft.client_write_many(requests).await {
            Ok(results) => {
                tokio::spawn(answer(node.inner.raft.clone(), results, writers, slot));
            }
            Err(fatal) => {
                let fatal = stop_cause(&node.inner.raft, fatal).await;
                for tx in writers.into_iter().flatten() {
                    let _ = tx.send(Err(RaftError::Fatal(fatal.clone())));
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
            Ok(Ok(resp)) => match resp.response {
                Effect::Writes(outcomes) if outcomes.len() == n => {
                    for (tx, outcome) in group.into_iter().zip(outcomes) {
                        let _ = tx.send(Ok(outcome));
                    }
                }
                // Cannot happen: writes apply to one outcome each.
                other => {
                    let index = resp.log_id.index();
                    for tx in group {
                        let _ = tx.send(Err(mismatch(index, &other)));
                    }
                }
            },
        }
    }
    drop(slot);
}

/// Splits `writes` (in arrival order) into runs with no key twice; a write of a key already
/// in the current run starts the next one, so writes of one key stay in arrival order.
fn split_by_key<T>(writes: Vec<(Write, T)>) -> Vec<Vec<(Write, T)>> {
    let mut groups: Vec<Vec<(Write, T)>> = Vec::new();
    let mut keys: HashSet<Key> = HashSet::new();
    let mut current = Vec::new();
    for (write, waiter) in writes {
        let key = write.key();
        if keys.contains(key) {
            groups.push(std::mem::take(&mut current));
            keys.clear();
        }
        keys.insert(key.clone());
        current.push((write, waiter));
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(k: &str) -> (Write, ()) {
        (
            Write::Set {
                key: k.into(),
                value: "v".into(),
                ttl_ms: None,
                if_version: None,
            },
            (),
        )
    }

    fn keys(groups: &[Vec<(Write, ())>]) -> Vec<Vec<&str>> {
        groups
            .iter()
            .map(|g| g.iter().filter_map(|(w, _)| w.key().as_str()).collect())
            .collect()
    }

    #[test]
    fn a_repeated_key_starts_the_next_group_and_order_is_kept() {
        let groups = split_by_key(vec![set("a"), set("b"), set("a"), set("c"), set("a"), set("c")]);
        assert_eq!(keys(&groups), vec![vec!["a", "b"], vec!["a", "c"], vec!["a", "c"]]);
        assert!(split_by_key::<()>(Vec::new()).is_empty());
    }
}

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

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use openraft::errors::{ClientWriteError, RaftError};
use tokio::sync::{oneshot, Semaphore};

use super::{Node, Written};
use crate::cache::{Command, Outcome};
use crate::raft::TypeConfig;

/// What proposing a write yields: its index and outcome, or openraft's refusal.
pub(super) type Proposed = Result<Written, RaftError<TypeConfig, ClientWriteError<TypeConfig>>>;

/// Log entries of client writes in flight at once. Two keep the pipeline full (one entry being
/// replicated while the next gathers writes); more would only make each group smaller.
const IN_FLIGHT: usize = 2;

/// Writes in one group at most, so one entry stays a few hundred KiB at most.
const MAX_GROUP: usize = 256;

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
    waiting: Vec<(Command, oneshot::Sender<Proposed>)>,
    /// Whether a task is draining the queue.
    draining: bool,
}

impl WriteBatcher {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes up to [`MAX_GROUP`] waiting writes; marks the queue undrained when it is empty.
    fn take(&self) -> Vec<(Command, oneshot::Sender<Proposed>)> {
        let mut q = self.lock();
        if q.waiting.is_empty() {
            q.draining = false;
        }
        let n = q.waiting.len().min(MAX_GROUP);
        q.waiting.drain(..n).collect()
    }
}

impl Node {
    /// Proposes `cmd` through this node's Raft (which must lead) and waits for its outcome.
    /// Single-key writes may share an entry with other writes; anything else is proposed alone.
    pub(super) async fn propose(&self, cmd: Command) -> Proposed {
        if cmd.single_key().is_none() {
            return self.propose_alone(cmd).await;
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
        rx.await
            .unwrap_or(Err(RaftError::Fatal(openraft::errors::Fatal::Stopped)))
    }

    async fn propose_alone(&self, cmd: Command) -> Proposed {
        let resp = self.inner.raft.client_write(self.stamp(cmd)).await?;
        Ok(Written {
            index: resp.log_id.index(),
            outcome: resp.data,
        })
    }

    /// Proposes waiting writes, one entry per free slot, until none are waiting.
    async fn drain_writes(&self) {
        let batcher = &self.inner.writes;
        loop {
            let Ok(slot) = batcher.slots.clone().acquire_owned().await else {
                return;
            };
            let taken = batcher.take();
            if taken.is_empty() {
                return;
            }
            let mut slot = Some(slot);
            for group in split_by_key(taken) {
                let slot = match slot.take() {
                    Some(s) => s,
                    None => match batcher.slots.clone().acquire_owned().await {
                        Ok(s) => s,
                        Err(_) => return,
                    },
                };
                let node = self.clone();
                tokio::spawn(async move {
                    node.propose_group(group).await;
                    drop(slot);
                });
            }
        }
    }

    /// Proposes `group` as one entry (a lone write as itself) and answers each writer.
    async fn propose_group(&self, mut group: Vec<(Command, oneshot::Sender<Proposed>)>) {
        self.inner.metrics.write_entry(group.len());
        if group.len() == 1 {
            if let Some((cmd, tx)) = group.pop() {
                let _ = tx.send(self.propose_alone(cmd).await);
            }
            return;
        }
        let (cmds, writers): (Vec<_>, Vec<_>) = group.into_iter().unzip();
        let n = cmds.len();
        match self.propose_alone(Command::Group(cmds)).await {
            Ok(Written {
                index,
                outcome: Outcome::Group(outcomes),
            }) if outcomes.len() == n => {
                for (tx, outcome) in writers.into_iter().zip(outcomes) {
                    let _ = tx.send(Ok(Written { index, outcome }));
                }
            }
            Ok(other) => {
                // Cannot happen: a group applies to a group outcome of the same length.
                tracing::error!(index = other.index, outcome = ?other.outcome, "a group of {n} writes applied to a mismatched outcome");
                for tx in writers {
                    let _ = tx.send(Ok(Written {
                        index: other.index,
                        outcome: Outcome::None,
                    }));
                }
            }
            Err(e) => {
                for tx in writers {
                    let _ = tx.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Splits `writes` (in arrival order) into runs with no key twice; a write of a key already
/// in the current run starts the next one, so writes of one key stay in arrival order.
fn split_by_key<T>(writes: Vec<(Command, T)>) -> Vec<Vec<(Command, T)>> {
    let mut groups: Vec<Vec<(Command, T)>> = Vec::new();
    let mut keys: HashSet<String> = HashSet::new();
    let mut current = Vec::new();
    for (cmd, waiter) in writes {
        let key = cmd.single_key().unwrap_or_default().to_owned();
        if !keys.insert(key.clone()) {
            groups.push(std::mem::take(&mut current));
            keys.clear();
            keys.insert(key);
        }
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

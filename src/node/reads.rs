//! Linearizable reads, batched: concurrent reads share one ReadIndex round.
//!
//! A read may piggyback on a round only if the round *starts* after the read arrived, so
//! each round takes every read that is waiting when it begins, and reads that arrive while it
//! runs wait for the next one. On a follower a round is one `read-index` request to the
//! leader; on the leader it is one quorum confirmation. Either way the answer is a log id the
//! local state machine must reach before the reads are served.

use std::sync::Mutex;
use std::time::Instant;

use openraft::errors::{LinearizableReadError, RaftError};
use openraft::ReadPolicy;
use tokio::sync::oneshot;

use super::{until, Attempt, Node, NodeError};
use crate::raft::LogId;
use crate::types::Consistency;

/// What one round yields for every read that waited on it.
#[derive(Debug, Clone)]
pub(super) enum Round {
    Ready(LogId),
    Retry(String),
    Failed(NodeError),
}

/// Queue of reads waiting for the next round, per consistency level.
#[derive(Default)]
pub(super) struct ReadBatcher {
    state: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    waiters: Vec<oneshot::Sender<Round>>,
    running: bool,
}

impl ReadBatcher {
    /// Waits for the next round that starts after this call.
    async fn join(&self, node: &Node, consistency: Consistency) -> Round {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut w = self.state.lock().unwrap_or_else(|p| p.into_inner());
            w.waiters.push(tx);
            !std::mem::replace(&mut w.running, true)
        };
        if start {
            let node = node.clone();
            tokio::spawn(async move { node.run_rounds(consistency).await });
        }
        rx.await.unwrap_or(Round::Failed(NodeError::Stopped))
    }

    fn take(&self) -> Vec<oneshot::Sender<Round>> {
        let mut w = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let waiters = std::mem::take(&mut w.waiters);
        if waiters.is_empty() {
            w.running = false;
        }
        waiters
    }
}

impl Node {
    fn batcher(&self, consistency: Consistency) -> &ReadBatcher {
        match consistency {
            Consistency::Lease => &self.inner.reads[1],
            _ => &self.inner.reads[0],
        }
    }

    /// Rounds until no reads are waiting.
    async fn run_rounds(&self, consistency: Consistency) {
        loop {
            let waiters = self.batcher(consistency).take();
            if waiters.is_empty() {
                return;
            }
            self.inner.metrics.read_round();
            let deadline = Instant::now() + self.inner.config.limits.request_timeout;
            let round = match self.read_index_once(consistency, deadline).await {
                Attempt::Done(Ok(id)) => Round::Ready(id),
                Attempt::Done(Err(e)) => Round::Failed(e),
                Attempt::Retry(r) => Round::Retry(r),
            };
            for w in waiters {
                let _ = w.send(round.clone());
            }
        }
    }

    /// One read-index attempt: ask the leader, or confirm leadership if this node leads.
    async fn read_index_once(&self, consistency: Consistency, deadline: Instant) -> Attempt<LogId> {
        if let Some((id, leader)) = self.leader_member() {
            if id != self.inner.id {
                return self.forward(&leader, "read-index", &consistency, deadline).await;
            }
        }
        match until(deadline, self.leader_read_index(consistency)).await {
            None => Attempt::Done(Err(NodeError::Timeout(self.inner.config.limits.request_timeout))),
            Some(Ok(id)) => Attempt::Done(Ok(id)),
            Some(Err(NodeError::NotLeader)) => Attempt::Retry("an election is in progress".into()),
            Some(Err(NodeError::NoLeader(r))) => Attempt::Retry(r),
            Some(Err(e)) => Attempt::Done(Err(e)),
        }
    }

    /// On the leader: the log id reads must wait for, after confirming leadership (with a
    /// quorum for ReadIndex, by lease for LeaseRead). `NotLeader` elsewhere.
    async fn leader_read_index(&self, consistency: Consistency) -> Result<LogId, NodeError> {
        let policy = match consistency {
            Consistency::Lease => ReadPolicy::LeaseRead,
            _ => ReadPolicy::ReadIndex,
        };
        match self.inner.raft.get_read_log_id(policy).await {
            Ok((read_log_id, _)) => Ok(*read_log_id.log_id()),
            Err(RaftError::APIError(LinearizableReadError::ForwardToLeader(_))) => Err(NodeError::NotLeader),
            Err(RaftError::APIError(LinearizableReadError::QuorumNotEnough(q))) => {
                Err(NodeError::NoLeader(format!("the leader cannot reach a quorum ({q})")))
            }
            Err(RaftError::Fatal(fatal)) => Err(self.stopped(&fatal)),
        }
    }

    /// For a follower's `read-index` request: this leader's read index, from a shared round.
    pub async fn read_index(&self, consistency: Consistency) -> Result<LogId, NodeError> {
        if !self.inner.raft.is_leader() {
            return Err(NodeError::NotLeader);
        }
        match self.batcher(consistency).join(self, consistency).await {
            Round::Ready(id) => Ok(id),
            Round::Retry(_) => Err(NodeError::NotLeader),
            Round::Failed(e) => Err(e),
        }
    }

    /// Returns once reading this node's applied state satisfies `consistency`.
    pub async fn linearize(&self, consistency: Consistency) -> Result<(), NodeError> {
        if consistency == Consistency::Local {
            return Ok(());
        }
        let deadline = Instant::now() + self.inner.config.limits.request_timeout;
        loop {
            let Some(round) = until(deadline, self.batcher(consistency).join(self, consistency)).await else {
                return Err(NodeError::Timeout(self.inner.config.limits.request_timeout));
            };
            match round {
                Round::Ready(id) => return self.await_applied(id, deadline).await,
                Round::Failed(e) => return Err(e),
                Round::Retry(reason) => {
                    if Instant::now() + super::RETRY_PAUSE >= deadline {
                        return Err(NodeError::NoLeader(reason));
                    }
                    tokio::time::sleep(super::RETRY_PAUSE).await;
                }
            }
        }
    }

    /// Waits for the local state machine to apply `log_id`. (openraft's `Linearizer` does the
    /// same through its metrics channel, which clones the metrics on every wake-up: measurably
    /// slower with thousands of reads a second.)
    async fn await_applied(&self, log_id: LogId, deadline: Instant) -> Result<(), NodeError> {
        match until(deadline, self.inner.state.applied_at_least(log_id.index())).await {
            Some(Ok(())) => Ok(()),
            Some(Err(_)) => Err(NodeError::Stopped),
            None => Err(NodeError::Timeout(self.inner.config.limits.request_timeout)),
        }
    }
}

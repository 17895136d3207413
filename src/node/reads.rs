//! Linearizable reads, batched: concurrent reads share one ReadIndex (or lease) round.
//!
//! A read may piggyback on a round only if the round *starts* after the read arrived, so
//! each round takes every read that is waiting when it begins, and reads that arrive while it
//! runs wait for the next one. On a follower a round is one read-index call to the leader;
//! on the leader it is one quorum confirmation (or a lease check). Either way the answer is a
//! log index the local state machine must reach before the reads are served.

use std::sync::Mutex;
use std::time::Instant;

use openraft::errors::{LinearizableReadError, RaftError};
use openraft::ReadPolicy;
use tokio::sync::oneshot;

use super::{left, until, Attempt, Node, NodeError};
use crate::peer::CallError;
use crate::types::Consistency;

/// What one round yields for every read that waited on it: the index to wait for.
type Round = Attempt<u64>;

/// The reads waiting for a round, one queue per read policy.
#[derive(Default)]
pub(super) struct Reads {
    /// `linearizable` reads: the leader confirms leadership with a quorum each round.
    read_index: ReadBatcher,
    /// `lease` reads: the leader relies on its lease instead of a quorum round trip.
    lease: ReadBatcher,
}

/// Queue of reads waiting for the next round of one policy.
#[derive(Default)]
struct ReadBatcher {
    state: Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    waiters: Vec<oneshot::Sender<Round>>,
    running: bool,
}

impl Reads {
    fn batcher(&self, consistency: Consistency) -> &ReadBatcher {
        match consistency {
            Consistency::Lease => &self.lease,
            Consistency::Linearizable | Consistency::Local => &self.read_index,
        }
    }

    /// Waits for the next round of `consistency`'s policy that starts after this call.
    pub(super) async fn join(&self, node: &Node, consistency: Consistency) -> Round {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut w = self.batcher(consistency).lock();
            w.waiters.push(tx);
            !std::mem::replace(&mut w.running, true)
        };
        if start {
            let node = node.clone();
            tokio::spawn(async move { run_rounds(&node, consistency).await });
        }
        rx.await.unwrap_or(Attempt::Done(Err(NodeError::Stopped)))
    }
}

impl ReadBatcher {
    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes every waiting read; marks the batcher idle when there are none.
    fn take(&self) -> Vec<oneshot::Sender<Round>> {
        let mut w = self.lock();
        let waiters = std::mem::take(&mut w.waiters);
        if waiters.is_empty() {
            w.running = false;
        }
        waiters
    }
}

/// Runs rounds until no reads are waiting.
async fn run_rounds(node: &Node, consistency: Consistency) {
    let batcher = node.inner.reads.batcher(consistency);
    loop {
        let waiters = batcher.take();
        if waiters.is_empty() {
            return;
        }
        node.inner.metrics.read_round();
        let deadline = Instant::now() + node.inner.config.limits.request_timeout;
        let round = read_index_once(node, consistency, deadline).await;
        for w in waiters {
            let _ = w.send(round.clone());
        }
    }
}

/// One read-index attempt: ask the leader, or confirm leadership if this node leads.
async fn read_index_once(node: &Node, consistency: Consistency, deadline: Instant) -> Round {
    if let Some((id, leader)) = node.leader_member() {
        if id != node.inner.id {
            let call = async {
                let (reply, clock) = node
                    .inner
                    .peers
                    .read_index(&leader, consistency, left(deadline))
                    .await?;
                if let Some(ms) = clock {
                    node.inner.state.observe_leader_clock(ms, Instant::now());
                }
                Ok::<_, CallError>(reply)
            };
            return node.on_leader_idempotent(&leader, call).await;
        }
    }
    match until(deadline, leader_read_index(node, consistency)).await {
        None => Attempt::Done(Err(node.timed_out())),
        Some(Ok(index)) => Attempt::Done(Ok(index)),
        Some(Err(NodeError::NotLeader)) => Attempt::Retry("an election is in progress".into()),
        Some(Err(NodeError::NoLeader(r))) => Attempt::Retry(r),
        Some(Err(e)) => Attempt::Done(Err(e)),
    }
}

/// On the leader: the log index reads must wait for, after confirming leadership (with a
/// quorum for ReadIndex, by lease for LeaseRead). `NotLeader` elsewhere.
async fn leader_read_index(node: &Node, consistency: Consistency) -> Result<u64, NodeError> {
    let policy = match consistency {
        Consistency::Lease => ReadPolicy::LeaseRead,
        Consistency::Linearizable | Consistency::Local => ReadPolicy::ReadIndex,
    };
    if node.clock_untold() {
        // Readers judge expiry by the stamps they have applied: a leader whose clock is
        // ahead of them (just elected after a full restart, or its wall clock ahead) stamps
        // its time into the log first, so the read index covers it and a follower serving
        // this read judges by the leader's time. A failure shows in the round below.
        if let Err(e) = super::writes::propose_change(node, crate::cache::Change::Purge).await {
            tracing::debug!(error = %e, "stamping the leader's clock before a read failed");
        }
    }
    match node.inner.raft.get_read_log_id(policy).await {
        Ok((read_log_id, _)) => Ok(read_log_id.log_id().index()),
        Err(RaftError::APIError(LinearizableReadError::ForwardToLeader(_))) => Err(NodeError::NotLeader),
        Err(RaftError::APIError(LinearizableReadError::QuorumNotEnough(q))) => {
            Err(NodeError::NoLeader(format!("the leader cannot reach a quorum ({q})")))
        }
        Err(RaftError::Fatal(fatal)) => Err(node.stopped(&fatal)),
    }
}

//! The node's one retry loop, and how the answer of a call to the leader maps onto it:
//! which failures are worth another attempt (no leader yet, a request that never arrived, a
//! read whose connection broke) and which the client must hear (an outcome that is unknown).

use std::time::{Duration, Instant};

use super::{Node, NodeError};
use crate::peer::{CallError, PeerFailure, PeerReply};
use crate::raft::Member;

/// The outcome of one attempt inside [`Node::retry`].
#[derive(Debug, Clone)]
pub(super) enum Attempt<T> {
    Done(Result<T, NodeError>),
    /// No usable leader right now; try again until the deadline.
    Retry(String),
}

/// Runs `fut` until `deadline`; `None` if the deadline passed first.
pub(super) async fn until<F: std::future::Future>(deadline: Instant, fut: F) -> Option<F::Output> {
    tokio::time::timeout_at(deadline.into(), fut).await.ok()
}

/// Pause between attempts while a leader is being elected.
const RETRY_PAUSE: Duration = Duration::from_millis(25);

/// Time left until `deadline`.
pub(super) fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

impl Node {
    /// Runs `attempt` until it is done or `deadline` passes, pausing between retries. The
    /// one retry loop of the node: writes, reads and membership changes all go through it.
    pub(super) async fn retry<T, F, Fut>(&self, deadline: Instant, mut attempt: F) -> Result<T, NodeError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Attempt<T>>,
    {
        loop {
            match attempt().await {
                Attempt::Done(result) => return result,
                Attempt::Retry(reason) => {
                    if Instant::now() + RETRY_PAUSE >= deadline {
                        return Err(NodeError::NoLeader(reason));
                    }
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
            }
        }
    }

    /// Maps the answer of an application call to `leader` into an attempt: a request that
    /// never arrived, or a member that no longer leads, is retried.
    pub(super) async fn on_leader<T>(
        &self,
        leader: &Member,
        call: impl std::future::Future<Output = Result<PeerReply<T>, CallError>>,
    ) -> Attempt<T> {
        self.on_leader_as(leader, call, false).await
    }

    /// [`Node::on_leader`] for a call that changes nothing (a read index): one whose
    /// connection broke in flight is retried too, as its outcome does not matter.
    pub(super) async fn on_leader_idempotent<T>(
        &self,
        leader: &Member,
        call: impl std::future::Future<Output = Result<PeerReply<T>, CallError>>,
    ) -> Attempt<T> {
        self.on_leader_as(leader, call, true).await
    }

    async fn on_leader_as<T>(
        &self,
        leader: &Member,
        call: impl std::future::Future<Output = Result<PeerReply<T>, CallError>>,
        idempotent: bool,
    ) -> Attempt<T> {
        match call.await {
            Ok(Ok(v)) => Attempt::Done(Ok(v)),
            Ok(Err(PeerFailure::NotLeader)) => Attempt::Retry(format!("{} is no longer the leader", leader.name)),
            Ok(Err(PeerFailure::NotFound(m))) => Attempt::Done(Err(NodeError::MemberNotFound(m))),
            Ok(Err(PeerFailure::Refused(m))) => Attempt::Done(Err(NodeError::Refused(m))),
            Ok(Err(PeerFailure::Failed(m))) => Attempt::Done(Err(NodeError::NoLeader(m))),
            Err(e) if e.never_arrived() => Attempt::Retry(format!("leader {} unreachable", leader.name)),
            Err(CallError::TimedOut { timeout, .. }) => Attempt::Done(Err(NodeError::Timeout(timeout))),
            Err(e) if idempotent => Attempt::Retry(format!("lost the connection to leader {} ({e})", leader.name)),
            // The request may have reached the leader before the connection broke (it was
            // killed, say): its outcome is unknown, which is what the client must hear.
            Err(e) => Attempt::Done(Err(NodeError::NoLeader(format!(
                "lost the connection to leader {} with the request in flight ({e}); \
                 a write may or may not have been applied",
                leader.name
            )))),
        }
    }
}

//! One running dcache node: its Raft instance, its cache, and the operations the APIs call.
//!
//! This is where openraft meets the outside: writes are proposed here (or forwarded to the
//! leader over the peer port), reads are linearized here, and status is assembled here. The
//! HTTP layers above only translate requests; the cache below never sees Raft.

mod backup;
mod membership;
mod reads;
mod start;
mod status;
mod writes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::async_runtime::WatchReceiver;
use openraft::errors::{ClientWriteError, Fatal, RaftError};
use serde::{Deserialize, Serialize};

pub use backup::restore;
pub use membership::{AdminReply, AdminRequest};
pub use start::StartError;

use crate::cache::{Command, Outcome, Request};
use crate::config::Config;
use crate::raft::network::{self, decode, encode, CallError};
use crate::raft::state_machine::SharedState;
use crate::raft::store::Store;
use crate::raft::{Member, NodeId, Raft, TypeConfig};

/// Why a node could not serve a request. Each maps to one HTTP status in the client API.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NodeError {
    #[error("no leader: {0}; retry shortly")]
    NoLeader(String),
    #[error("the cluster did not answer within {0:?}; a write may or may not have been applied")]
    Timeout(Duration),
    #[error("this node is shutting down")]
    Stopped,
    #[error("this node is not the leader")]
    NotLeader,
    #[error("{0}")]
    MemberNotFound(String),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Internal(String),
}

/// A committed and applied write: its log index and what applying it did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Written {
    pub index: u64,
    pub outcome: Outcome,
}

/// How a forwarded request failed on the node it was forwarded to.
#[derive(Debug, Serialize, Deserialize)]
pub enum PeerFailure {
    /// The target is not (or no longer) the leader: the sender should find the leader again.
    NotLeader,
    /// No such member.
    NotFound(String),
    /// The leader refused the change, with the reason.
    Refused(String),
    /// Any other failure, as a message.
    Failed(String),
}

impl From<NodeError> for PeerFailure {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::NotLeader => PeerFailure::NotLeader,
            NodeError::MemberNotFound(m) => PeerFailure::NotFound(m),
            NodeError::Refused(m) => PeerFailure::Refused(m),
            other => PeerFailure::Failed(other.to_string()),
        }
    }
}

/// The answer body of forwarded requests on the peer port.
pub type PeerReply<T> = Result<T, PeerFailure>;

/// A handle on the running node; cheap to clone.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

struct Inner {
    id: NodeId,
    raft: Raft,
    state: SharedState,
    store: Store,
    config: Config,
    started: Instant,
    peers: reqwest::Client,
    /// Serializes membership changes made by this node: openraft refuses a change while
    /// another is uncommitted.
    membership_lock: tokio::sync::Mutex<()>,
    /// Pending linearizable reads: `[ReadIndex, LeaseRead]`.
    reads: [reads::ReadBatcher; 2],
    /// Client writes waiting to be proposed (coalesced into shared entries under load).
    writes: writes::WriteBatcher,
    /// Prometheus registry of this node.
    metrics: crate::server::metrics::Metrics,
    /// Cancelled to stop the whole process (e.g. when this node is removed from the cluster).
    shutdown: tokio_util::sync::CancellationToken,
}

/// The outcome of one attempt inside a retry loop.
enum Attempt<T> {
    Done(Result<T, NodeError>),
    /// No usable leader right now; try again until the deadline.
    Retry(String),
}

/// Milliseconds since the Unix epoch by this node's wall clock.
pub fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Runs `fut` until `deadline`; `None` if the deadline passed first.
async fn until<F: std::future::Future>(deadline: Instant, fut: F) -> Option<F::Output> {
    tokio::time::timeout_at(deadline.into(), fut).await.ok()
}

/// Pause between attempts while a leader is being elected.
const RETRY_PAUSE: Duration = Duration::from_millis(25);

impl Node {
    /// This node's Raft id.
    pub fn id(&self) -> NodeId {
        self.inner.id
    }

    /// The validated configuration the node runs with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The applied state, for reads after [`Node::linearize`].
    pub fn state(&self) -> &SharedState {
        &self.inner.state
    }

    /// The node's metrics registry.
    pub fn metrics(&self) -> &crate::server::metrics::Metrics {
        &self.inner.metrics
    }

    pub(crate) fn raft(&self) -> &Raft {
        &self.inner.raft
    }

    /// Proposes `cmd` and returns its outcome once it is committed and applied. Forwards to
    /// the leader when this node is not it, and retries through elections until the request
    /// timeout.
    pub async fn write(&self, cmd: Command) -> Result<Written, NodeError> {
        let deadline = Instant::now() + self.inner.config.limits.request_timeout;
        self.retry(deadline, || async {
            // Known follower: skip the round trip through the local Raft core.
            if let Some((id, leader)) = self.leader_member() {
                if id != self.inner.id {
                    return self.forward(&leader, "forward-write", &cmd, deadline).await;
                }
            }
            let Some(result) = until(deadline, self.propose(cmd.clone())).await else {
                return Attempt::Done(Err(NodeError::Timeout(self.inner.config.limits.request_timeout)));
            };
            match result {
                Ok(written) => Attempt::Done(Ok(written)),
                Err(RaftError::APIError(ClientWriteError::ForwardToLeader(fwd))) => match fwd.leader_node {
                    Some(leader) if fwd.leader_id != Some(self.inner.id) => {
                        self.forward(&leader, "forward-write", &cmd, deadline).await
                    }
                    _ => Attempt::Retry("an election is in progress".into()),
                },
                Err(RaftError::APIError(e)) => Attempt::Done(Err(NodeError::NoLeader(format!(
                    "leadership changed while the write was in flight ({e}); it may or may not have been applied"
                )))),
                Err(RaftError::Fatal(fatal)) => Attempt::Done(Err(self.stopped(&fatal))),
            }
        })
        .await
    }

    /// Wraps `cmd` in a log entry stamped with this (leader) node's clock and memory bound.
    fn stamp(&self, cmd: Command) -> Request {
        Request {
            at_ms: wall_clock_ms(),
            max_bytes: self.inner.config.limits.max_memory,
            cmd,
        }
    }

    /// The time against which reads judge expiry: this node's clock, or the newest leader
    /// timestamp it has applied if that is later (a lagging local clock never revives a key).
    pub fn read_clock_ms(&self, applied: &crate::raft::state_machine::Applied) -> u64 {
        wall_clock_ms().max(applied.cache.counters().clock_ms)
    }

    /// Proposes `cmd` only if this node leads; used for writes forwarded by other nodes.
    pub async fn write_as_leader(&self, cmd: Command) -> Result<Written, NodeError> {
        if !cmd.is_well_formed() {
            return Err(NodeError::Refused(
                "a batch may hold only sets and deletes; the command was not proposed".into(),
            ));
        }
        match self.propose(cmd).await {
            Ok(written) => Ok(written),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => Err(NodeError::NotLeader),
            Err(RaftError::APIError(e)) => Err(NodeError::NoLeader(e.to_string())),
            Err(RaftError::Fatal(fatal)) => Err(self.stopped(&fatal)),
        }
    }

    /// Why Raft stopped without being asked to, if it did: a storage failure (a full or
    /// failing disk) with the data dir and the OS error, or a panic. `None` while Raft runs
    /// and after a requested shutdown.
    pub fn raft_failure(&self) -> Option<String> {
        match &self.inner.raft.metrics().borrow_watched().running_state {
            Ok(()) | Err(Fatal::Stopped) => None,
            Err(Fatal::StorageError(e)) => Some(format!(
                "storage failure in data dir {}: {e}; fix the disk (e.g. free space), then start the node \
                 again on the same data dir",
                self.inner.config.data_dir.display()
            )),
            Err(Fatal::Panicked) => Some("the Raft core panicked".to_string()),
        }
    }

    /// The client-facing error once Raft has stopped with `fatal`: a storage failure says
    /// which data dir failed and what to do; a requested stop is [`NodeError::Stopped`].
    fn stopped(&self, fatal: &Fatal<TypeConfig>) -> NodeError {
        match fatal {
            Fatal::StorageError(e) => NodeError::Internal(format!(
                "storage failure in data dir {}: {e}; this node is stopping and must be restarted \
                 once the disk is fixed (e.g. space freed); a write in flight may or may not have been applied",
                self.inner.config.data_dir.display()
            )),
            Fatal::Panicked | Fatal::Stopped => NodeError::Stopped,
        }
    }

    /// Runs `attempt` until it is done or `deadline` passes.
    async fn retry<T, F, Fut>(&self, deadline: Instant, mut attempt: F) -> Result<T, NodeError>
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

    /// Sends `req` to the leader's peer port as `POST /raft/{rpc}`.
    async fn forward<Req: Serialize, Resp: serde::de::DeserializeOwned>(
        &self,
        leader: &Member,
        rpc: &str,
        req: &Req,
        deadline: Instant,
    ) -> Attempt<Resp> {
        let body = match encode(req) {
            Ok(b) => b,
            Err(e) => return Attempt::Done(Err(NodeError::Internal(e.to_string()))),
        };
        let timeout = deadline.saturating_duration_since(Instant::now());
        let bytes = match network::post(&self.inner.peers, &leader.peer_url, rpc, body, timeout).await {
            Ok(b) => b,
            // Never reached the leader: safe to try again once a leader is known.
            Err(CallError::Unreachable { .. }) => return Attempt::Retry(format!("leader {} unreachable", leader.name)),
            Err(CallError::TimedOut { .. }) => return Attempt::Done(Err(NodeError::Timeout(timeout))),
            Err(e) => return Attempt::Done(Err(NodeError::Internal(format!("forwarding to {}: {e}", leader.name)))),
        };
        match decode::<PeerReply<Resp>>(&bytes) {
            Ok(Ok(v)) => Attempt::Done(Ok(v)),
            Ok(Err(PeerFailure::NotLeader)) => Attempt::Retry(format!("{} is no longer the leader", leader.name)),
            Ok(Err(PeerFailure::NotFound(m))) => Attempt::Done(Err(NodeError::MemberNotFound(m))),
            Ok(Err(PeerFailure::Refused(m))) => Attempt::Done(Err(NodeError::Refused(m))),
            Ok(Err(PeerFailure::Failed(m))) => Attempt::Done(Err(NodeError::NoLeader(m))),
            Err(e) => Attempt::Done(Err(NodeError::Internal(format!("bad reply from {}: {e}", leader.name)))),
        }
    }

    /// Stops Raft and flushes storage. Call after the listeners have drained.
    pub async fn shutdown(&self) {
        if let Err(e) = self.inner.raft.shutdown().await {
            tracing::warn!(error = %e, "raft did not shut down cleanly");
        }
        if let Some(reason) = self.raft_failure() {
            // sled may never finish a flush after a failed write (see `Store::flush`), and
            // every acknowledged write was flushed before it was acknowledged.
            tracing::warn!(%reason, "skipping the final flush after the storage failure");
            self.inner.store.abandon();
        } else if let Err(e) = self.inner.store.flush().await {
            tracing::error!(error = %e, "final flush of the data dir failed");
        }
        tracing::info!("node stopped");
    }
}

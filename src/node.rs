//! One running dcache node, and the node API every front end uses (the HTTP API, the CLI
//! through it, and the Redis protocol): writes, reads, watches, status, membership, backups.
//!
//! This is where openraft meets the outside. Writes are proposed here (or forwarded to the
//! leader over the peer port), reads are linearized here, and status is assembled here; the
//! front ends above only translate requests and answers, and the cache below never sees Raft.
//! The public API is the one `impl Node` in this file; the submodules hold its machinery.

mod backup;
mod clock;
mod inbound;
mod membership;
mod reads;
mod removal;
mod retry;
mod start;
mod status;
mod tasks;
mod watch;
mod writes;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::async_runtime::WatchReceiver;
use openraft::errors::{ClientWriteError, Fatal, RaftError};

/// Why an incoming Raft RPC got no answer (the peer router maps it to a status).
pub use crate::raft::network::InboundError;
pub use backup::restore;
pub use removal::removed_note;
use retry::{left, until, Attempt};
pub use start::StartError;
pub use watch::{Compacted, Interrupted, Lagged, Watch};

use crate::cache::{Batched, Done, Key, KeyView, Op, OpOutcome, Refusal, Transacted, Write};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::peer::{AdminReply, AdminRequest, Member, NodeId, PeerClient, PeerFailure};
use crate::raft::state_machine::SharedState;
use crate::raft::store::Store;
use crate::raft::{Raft, TypeConfig};
use crate::types::{Consistency, JoinRequest, LeaderInfo, MemberInfo, NodeStatus};

/// Why a node could not serve a request. Each maps to one status in each front end.
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
    /// The operation needs a newer format than the cluster version.
    #[error("{0}")]
    ClusterTooOld(String),
    /// The operation is larger than one log entry may be.
    #[error("{0}")]
    TooLarge(String),
}

impl From<NodeError> for PeerFailure {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::NotLeader => PeerFailure::NotLeader,
            NodeError::MemberNotFound(m) => PeerFailure::NotFound(m),
            NodeError::Refused(m) | NodeError::ClusterTooOld(m) | NodeError::TooLarge(m) => PeerFailure::Refused(m),
            other => PeerFailure::Failed(other.to_string()),
        }
    }
}

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
    /// When a leader's append was last accepted here, in ms since `started` (0: never).
    leader_heard_ms: AtomicU64,
    /// Client writes acknowledged to this node's own clients (each set, delete, batch op).
    client_writes: AtomicU64,
    /// Every call to other members goes through this one pooled client.
    peers: PeerClient,
    /// Raised when a member answers a vote saying this node was removed.
    removed: crate::raft::network::RemovedSignal,
    /// Serializes membership changes made by this node: openraft refuses a change while
    /// another is uncommitted.
    membership_lock: tokio::sync::Mutex<()>,
    /// Linearizable reads waiting for a shared round, per read policy.
    reads: reads::Reads,
    /// Client writes waiting to be proposed (coalesced into shared entries under load).
    writes: writes::WriteBatcher,
    metrics: Metrics,
    /// Cancelled to stop the whole process (e.g. when this node is removed from the cluster).
    shutdown: tokio_util::sync::CancellationToken,
    /// Why this node stopped itself: it met data of a format newer than it reads.
    incompatible: std::sync::OnceLock<String>,
    /// The cluster clock as the previous run last saw it: a floor under this node's time as
    /// leader, so a full restart does not hand the clock back to a slower wall clock.
    clock_floor: Option<crate::clock::ClockMark>,
}

/// Milliseconds since the Unix epoch by this node's wall clock.
pub fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The error for a reply whose shape does not match the request (a peer of another build).
fn mismatched(what: &str) -> NodeError {
    NodeError::Internal(format!("the leader answered a {what} with an answer of another kind"))
}

impl Node {
    /// Starts the node described by `config`; see [`start::start`].
    pub async fn start(config: Config, shutdown: tokio_util::sync::CancellationToken) -> Result<Node, StartError> {
        start::start(config, shutdown).await
    }

    /// This node's Raft id.
    pub fn id(&self) -> NodeId {
        self.inner.id
    }

    /// The validated configuration the node runs with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The node's metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    // --- Writes -------------------------------------------------------------------------

    /// Applies `write` through the leader and returns what it did, or why the cache refused
    /// it. Forwards to the leader when this node is not it, and retries through elections
    /// until the request timeout.
    pub async fn write(&self, write: Write) -> Result<Result<Done, Refusal>, NodeError> {
        match self.submit(Op::Write(write)).await? {
            OpOutcome::Write(result) => {
                if result.is_ok() {
                    self.inner.client_writes.fetch_add(1, Ordering::Relaxed);
                }
                Ok(result)
            }
            _ => Err(mismatched("write")),
        }
    }

    /// Applies `writes` atomically at one version (all or none), like [`Node::write`].
    pub async fn batch(&self, writes: Vec<Write>) -> Result<Result<Batched, Refusal>, NodeError> {
        let ops = writes.len() as u64;
        match self.submit(Op::Batch(writes)).await? {
            OpOutcome::Batch(result) => {
                if result.is_ok() {
                    self.inner.client_writes.fetch_add(ops, Ordering::Relaxed);
                }
                Ok(result)
            }
            _ => Err(mismatched("batch")),
        }
    }

    /// Applies `writes` as one transaction at one version if every key of `watch` is still
    /// at its version (`0`: absent); `Ok(Err(ConditionFailed))` when one moved, and then
    /// nothing applied. Each write has its own outcome, as in Redis's EXEC.
    pub async fn transaction(
        &self,
        watch: Vec<(Key, u64)>,
        writes: Vec<Write>,
    ) -> Result<Result<Transacted, Refusal>, NodeError> {
        match self.submit(Op::Transaction { watch, writes }).await? {
            OpOutcome::Transaction(result) => {
                if let Ok(applied) = &result {
                    let ok = applied.outcomes.iter().filter(|o| o.is_ok()).count() as u64;
                    self.inner.client_writes.fetch_add(ok, Ordering::Relaxed);
                }
                Ok(result)
            }
            _ => Err(mismatched("transaction")),
        }
    }

    /// Proposes `op` on the leader, here or forwarded, until it is applied or the request
    /// timeout passes.
    async fn submit(&self, op: Op) -> Result<OpOutcome, NodeError> {
        self.check_cluster_format(&op)?;
        self.check_size(&op)?;
        let timeout = self.inner.config.limits.request_timeout;
        let deadline = Instant::now() + timeout;
        self.retry(deadline, || async {
            // Known follower: skip the round trip through the local Raft core.
            if let Some((id, leader)) = self.leader_member() {
                if id != self.inner.id {
                    let call = self.inner.peers.forward_write(&leader, &op, left(deadline));
                    return self.on_leader(&leader, call).await;
                }
            }
            let Some(result) = until(deadline, writes::propose(self, op.clone())).await else {
                return Attempt::Done(Err(NodeError::Timeout(timeout)));
            };
            match result {
                Ok(outcome) => Attempt::Done(Ok(outcome)),
                Err(RaftError::APIError(ClientWriteError::ForwardToLeader(fwd))) => match fwd.leader_node {
                    Some(leader) if fwd.leader_id != Some(self.inner.id) => {
                        let call = self.inner.peers.forward_write(&leader, &op, left(deadline));
                        self.on_leader(&leader, call).await
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

    /// For a write forwarded by another member: proposes `op` only if this node leads.
    pub async fn write_as_leader(&self, op: Op) -> Result<OpOutcome, NodeError> {
        self.check_cluster_format(&op)?;
        match writes::propose(self, op).await {
            Ok(outcome) => Ok(outcome),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => Err(NodeError::NotLeader),
            Err(RaftError::APIError(e)) => Err(NodeError::NoLeader(e.to_string())),
            Err(RaftError::Fatal(fatal)) => Err(self.stopped(&fatal)),
        }
    }

    /// Refuses `op` if it needs a newer format than the cluster runs at: every member must
    /// read an entry before the leader may propose it.
    fn check_cluster_format(&self, op: &Op) -> Result<(), NodeError> {
        let (needed, write) = op.format();
        let cluster = self.cluster_format();
        if needed <= cluster {
            return Ok(());
        }
        let what = write.map_or("this operation", |w| w.name());
        Err(NodeError::ClusterTooOld(format!(
            "{what} needs cluster version {needed}, but the cluster runs at {cluster} until every member \
             reads format {needed}; upgrade the remaining members (`dcache cluster status` shows each one's format)"
        )))
    }

    /// Refuses an operation a follower could not forward to the leader (the peer API takes
    /// at most [`crate::config::Limits::max_operation_bytes`]), on every member alike.
    fn check_size(&self, op: &Op) -> Result<(), NodeError> {
        let (bytes, bound) = (op.wire_bytes_bound(), self.inner.config.limits.max_operation_bytes());
        if bytes <= bound {
            return Ok(());
        }
        Err(NodeError::TooLarge(format!(
            "this operation carries about {bytes} bytes; one operation (one log entry) carries at most \
             {bound} bytes, set by max-key-bytes and max-value-bytes: split it"
        )))
    }

    /// The cluster version this node has applied: the newest format entries may use.
    pub fn cluster_format(&self) -> u32 {
        self.inner.state.read().cache.cluster_format()
    }

    // --- Reads --------------------------------------------------------------------------

    /// The key as a reader at `consistency` sees it, if it exists.
    pub async fn get(&self, key: &[u8], consistency: Consistency) -> Result<Option<KeyView>, NodeError> {
        self.read_applied(consistency, |cache, now| cache.get(key, now).map(|e| e.view(key, now)))
            .await
    }

    /// Up to `limit` keys whose bytes start with `prefix`'s, in byte order (after the key `after` when given:
    /// the next page of a scan), as a reader at `consistency` sees them, and whether more
    /// matched. Each call is one consistent read; pages read at different times.
    pub async fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
        consistency: Consistency,
    ) -> Result<(Vec<KeyView>, bool), NodeError> {
        self.read_applied(consistency, |cache, now| {
            let (items, truncated) = cache.scan_after(prefix, after, limit, now);
            (items.into_iter().map(|(k, e)| e.view(k, now)).collect(), truncated)
        })
        .await
    }

    /// [`Node::scan`] without the values: the keys only, for listing many keys without
    /// copying what they hold.
    pub async fn scan_keys(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
        consistency: Consistency,
    ) -> Result<(Vec<Key>, bool), NodeError> {
        self.read_applied(consistency, |cache, now| {
            let (items, truncated) = cache.scan_after(prefix, after, limit, now);
            (items.into_iter().map(|(k, _)| k.clone()).collect(), truncated)
        })
        .await
    }

    /// Several keys read at one moment (one linearization for all), in order.
    pub async fn get_many(&self, keys: &[&[u8]], consistency: Consistency) -> Result<Vec<Option<KeyView>>, NodeError> {
        self.get_many_within(keys, usize::MAX, consistency).await
    }

    /// [`Node::get_many`] for the first of `keys` whose values come to about `budget` bytes:
    /// at least one key, and the first key that reaches the budget is the last one read.
    pub async fn get_many_within(
        &self,
        keys: &[&[u8]],
        budget: usize,
        consistency: Consistency,
    ) -> Result<Vec<Option<KeyView>>, NodeError> {
        self.read_applied(consistency, |cache, now| {
            let mut bytes = 0;
            keys.iter()
                .map_while(|k| {
                    if bytes >= budget {
                        return None;
                    }
                    let view = cache.get(k, now).map(|e| e.view(k, now));
                    bytes += view.as_ref().map_or(0, |v| v.value.len());
                    Some(view)
                })
                .collect()
        })
        .await
    }

    /// The version of each of `keys` read at one moment (`0`: absent), without the values.
    pub async fn versions(&self, keys: &[&[u8]], consistency: Consistency) -> Result<Vec<u64>, NodeError> {
        self.read_applied(consistency, |cache, now| {
            keys.iter()
                .map(|k| cache.get(k, now).map_or(0, |e| e.version))
                .collect()
        })
        .await
    }

    /// How many keys the cache holds (expired keys not yet purged included).
    pub async fn key_count(&self, consistency: Consistency) -> Result<usize, NodeError> {
        self.linearize(consistency).await?;
        Ok(self.inner.state.read().cache.len())
    }

    /// A stream of every change under `prefix` applied on this node, after replaying the kept
    /// history after `from_version` (if given); `Compacted` if some of it is no longer kept.
    pub fn watch(&self, prefix: Vec<u8>, from_version: Option<u64>) -> Result<Watch, Compacted> {
        Watch::open(&self.inner.state, prefix, from_version)
    }

    /// Reads the applied cache once reading it satisfies `consistency`, with the time
    /// expiry is judged by: every read of keys goes through here.
    async fn read_applied<T>(
        &self,
        consistency: Consistency,
        read: impl FnOnce(&crate::cache::Cache, u64) -> T,
    ) -> Result<T, NodeError> {
        self.linearize(consistency).await?;
        let applied = self.inner.state.read();
        let now = self.read_clock_ms(&applied);
        Ok(read(&applied.cache, now))
    }

    /// Returns once reading this node's applied state satisfies `consistency`.
    async fn linearize(&self, consistency: Consistency) -> Result<(), NodeError> {
        if consistency == Consistency::Local {
            return Ok(());
        }
        let deadline = Instant::now() + self.inner.config.limits.request_timeout;
        let index = self
            .retry(deadline, || async {
                match until(deadline, self.inner.reads.join(self, consistency)).await {
                    Some(round) => round,
                    None => Attempt::Done(Err(self.timed_out())),
                }
            })
            .await?;
        match until(deadline, self.inner.state.applied_at_least(index)).await {
            Some(Ok(())) => Ok(()),
            Some(Err(_)) => Err(NodeError::Stopped),
            None => Err(self.timed_out()),
        }
    }

    /// For a follower's read-index request: this leader's read index, from a shared round.
    pub async fn read_index(&self, consistency: Consistency) -> Result<u64, NodeError> {
        if !self.inner.raft.is_leader() {
            return Err(NodeError::NotLeader);
        }
        match self.inner.reads.join(self, consistency).await {
            Attempt::Done(result) => result,
            Attempt::Retry(_) => Err(NodeError::NotLeader),
        }
    }

    // --- Cluster ------------------------------------------------------------------------

    /// This node's full status report.
    pub fn status(&self) -> NodeStatus {
        status::report(self)
    }

    /// The leader as this node knows it, with its name and client URL.
    pub fn leader(&self) -> Option<LeaderInfo> {
        status::leader(self)
    }

    /// The current leader's id, if known.
    pub fn leader_id(&self) -> Option<u64> {
        self.inner.raft.metrics().borrow_watched().current_leader
    }

    /// Moves leadership to the member named or numbered `target`; returns once it leads.
    pub async fn transfer_leader(&self, target: String) -> Result<LeaderInfo, NodeError> {
        match self.admin(AdminRequest::TransferLeader { target }).await? {
            AdminReply::Leader(leader) => Ok(leader),
            _ => Err(mismatched("transfer")),
        }
    }

    /// Adds a new member as a learner; it asks to become a voter once caught up.
    pub async fn join(&self, join: JoinRequest) -> Result<MemberInfo, NodeError> {
        match self.admin(AdminRequest::Join(join)).await? {
            AdminReply::Member(member) => Ok(member),
            _ => Err(mismatched("join")),
        }
    }

    /// Removes the member named or numbered `target`; it is told to stop.
    pub async fn remove(&self, target: String) -> Result<MemberInfo, NodeError> {
        match self.admin(AdminRequest::Remove { target }).await? {
            AdminReply::Member(member) => Ok(member),
            _ => Err(mismatched("remove")),
        }
    }

    /// Runs `req` on the leader (here, or forwarded), retrying through elections.
    async fn admin(&self, req: AdminRequest) -> Result<AdminReply, NodeError> {
        let deadline = Instant::now() + self.inner.config.limits.request_timeout.max(Duration::from_secs(5));
        self.retry(deadline, || async {
            match self.leader_member() {
                Some((id, _)) if id == self.inner.id => match self.admin_as_leader(req.clone(), deadline).await {
                    Err(NodeError::NotLeader) => Attempt::Retry("leadership moved".into()),
                    other => Attempt::Done(other),
                },
                Some((_, leader)) => {
                    let call = self.inner.peers.admin(&leader, &req, left(deadline));
                    self.on_leader(&leader, call).await
                }
                None => Attempt::Retry("an election is in progress".into()),
            }
        })
        .await
    }

    /// Runs `req` if this node leads; `NotLeader` otherwise.
    pub async fn admin_as_leader(&self, req: AdminRequest, deadline: Instant) -> Result<AdminReply, NodeError> {
        membership::run(self, req, deadline).await
    }

    /// Updates the replicated record of member `id` (used to publish client URLs). Only
    /// succeeds on the leader.
    pub async fn update_member(&self, id: NodeId, member: Member) -> Result<(), NodeError> {
        membership::update_member(self, id, member).await
    }

    /// Called when the leader says this node was removed: stops the process.
    pub fn removed(&self, id: NodeId) -> Result<(), NodeError> {
        if id != self.inner.id {
            return Err(NodeError::Refused(format!("this node is {}, not {id}", self.inner.id)));
        }
        tracing::warn!(id, "this node was removed from the cluster; stopping");
        crate::failpoint::hit("removed-told");
        self.stop_removed();
        Ok(())
    }

    /// Stops this node for good after its removal: leaves the removed mark in the data dir
    /// (so a restart is refused with the fix), then stops the process.
    fn stop_removed(&self) {
        let config = &self.inner.config;
        removal::mark(&config.data_dir, self.inner.id, &config.name, &config.cluster_id);
        self.inner.shutdown.cancel();
    }

    // --- Backups and lifecycle ----------------------------------------------------------

    /// A backup of the cache that includes every write acknowledged before the call; see
    /// [`backup::take`].
    pub async fn backup(&self) -> Result<(crate::backup::BackupMeta, std::fs::File), NodeError> {
        backup::take(self).await
    }

    /// Why Raft stopped without being asked to, if it did: a storage failure (a full or
    /// failing disk) with the data dir and the OS error, or a panic. `None` while Raft runs
    /// and after a requested shutdown.
    pub fn raft_failure(&self) -> Option<String> {
        if let Some(reason) = self.inner.incompatible.get() {
            return Some(reason.clone());
        }
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

    /// Stops this node because it received something of a newer format than it reads
    /// (`reason` says which): it can no longer follow the cluster, and must not misread it.
    pub fn stop_incompatible(&self, reason: String) {
        if self.inner.incompatible.set(reason.clone()).is_ok() {
            tracing::error!("stopping: {reason}");
            self.inner.shutdown.cancel();
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

    // --- Machinery shared by the above --------------------------------------------------

    /// The leader this node knows of, with its member record.
    fn leader_member(&self) -> Option<(NodeId, Member)> {
        let rx = self.inner.raft.metrics();
        let m = rx.borrow_watched();
        let id = m.current_leader?;
        let member = m.membership_config.membership().get_node(&id)?.clone();
        Some((id, member))
    }

    fn timed_out(&self) -> NodeError {
        NodeError::Timeout(self.inner.config.limits.request_timeout)
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
}

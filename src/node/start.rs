//! Bringing a node up: open storage, check identity, build Raft, bootstrap on first start,
//! and the background tasks that log leadership changes and register this node's client URL.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::async_runtime::WatchReceiver;
use openraft::SnapshotPolicy;

use tokio_util::sync::CancellationToken;

use super::{AdminRequest, Inner, Node, NodeError};
use crate::cache::Command;
use crate::client::{Access, Client, ClientError};
use crate::config::{ClusterState, Config};
use crate::raft::network::Network;
use crate::raft::state_machine::StateMachine;
use crate::raft::store::{Identity, Store, StoreError};
use crate::raft::{Member, NodeId, Raft};
use crate::types::{JoinRequest, JoinResult};

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "data dir {dir} belongs to cluster `{found}`, but this node is configured for cluster `{configured}`; \
         use another data-dir or the matching cluster-id"
    )]
    ClusterMismatch {
        dir: String,
        found: String,
        configured: String,
    },
    #[error("cannot load state from {dir}: {source}")]
    Load { dir: String, source: std::io::Error },
    #[error("invalid raft settings: {0}")]
    RaftConfig(String),
    #[error("raft failed to start: {0}")]
    Raft(String),
    #[error("cannot create the peer HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("initial-cluster-state is `existing` but no `join` URL is set; give the client URL of any member")]
    JoinNeedsUrl,
    #[error("cannot join the cluster at {url}: {reason}")]
    Join { url: String, reason: String },
}

/// Ids of the founding members: position of the name in the sorted `initial-cluster`, from 1.
pub(super) fn founding_ids(config: &Config) -> BTreeMap<NodeId, Member> {
    let solo = config.initial_cluster.len() == 1;
    config
        .initial_cluster
        .iter()
        .enumerate()
        .map(|(i, (name, peer_url))| {
            let client_url = if solo {
                config.advertise_client_url.clone()
            } else {
                String::new()
            };
            let member = Member {
                name: name.clone(),
                peer_url: peer_url.clone(),
                client_url,
            };
            (i as NodeId + 1, member)
        })
        .collect()
}

fn raft_config(config: &Config) -> Result<openraft::Config, StartError> {
    let t = &config.raft;
    openraft::Config {
        cluster_name: config.cluster_id.clone(),
        heartbeat_interval: t.heartbeat_interval_ms,
        election_timeout_min: t.election_timeout_ms,
        election_timeout_max: t.election_timeout_ms * 2,
        install_snapshot_timeout: 30_000,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(t.snapshot_logs),
        max_in_snapshot_log_to_keep: (t.snapshot_logs / 10).clamp(10, 1000),
        purge_batch_size: 256,
        enable_pre_vote: Some(true),
        // A restarted leader must win a new election: our committed index is a hint that is
        // not fsynced, so a leader restored from its old vote could serve stale reads.
        enable_leader_restore: Some(false),
        // Replicate while the leader's own fsync runs (the log store's `append` returns
        // before its fsync; see raft/store.rs). Measured with kvload, 3 nodes: single-client
        // put p50 0.91/0.82 -> 0.82/0.80 ms, 64 clients 12610/13954 -> 13607/14975 ops/s.
        broadcast_submitted_on_append: Some(true),
        ..Default::default()
    }
    .validate()
    .map_err(|e| StartError::RaftConfig(e.to_string()))
}

impl Node {
    /// Starts the node described by `config`: recovers from its data dir, or on first start
    /// records its identity and bootstraps the founding cluster. Returns once Raft runs; the
    /// caller serves the APIs.
    pub async fn start(config: Config, shutdown: CancellationToken) -> Result<Node, StartError> {
        let dir = config.data_dir.display().to_string();
        let peer_tls = config
            .security
            .peer_tls
            .as_ref()
            .map(crate::tls::PeerClientTls::load)
            .transpose()?;
        let store = Store::open(&config.data_dir)?;
        let fresh = !store.has_raft_state().map_err(|source| StartError::Load {
            dir: dir.clone(),
            source,
        })?;

        let members = founding_ids(&config);
        let founding = config.join.is_none() && config.initial_cluster_state == ClusterState::New;
        let id = match store.identity()? {
            Some(found) if found.cluster_id != config.cluster_id => {
                return Err(StartError::ClusterMismatch {
                    dir,
                    found: found.cluster_id,
                    configured: config.cluster_id.clone(),
                })
            }
            Some(found) => found.node_id,
            None if founding => members
                .iter()
                .find(|(_, m)| m.name == config.name)
                .map(|(id, _)| *id)
                .ok_or_else(|| StartError::RaftConfig(format!("`{}` is not in initial-cluster", config.name)))?,
            None => {
                let url = config.join.clone().ok_or(StartError::JoinNeedsUrl)?;
                let joined = join_cluster(&config, &url).await?;
                if joined.cluster_id != config.cluster_id {
                    return Err(StartError::ClusterMismatch {
                        dir: format!("the cluster at {url}"),
                        found: joined.cluster_id,
                        configured: config.cluster_id.clone(),
                    });
                }
                tracing::info!(id = joined.member.id, cluster = %url, "joined the cluster as a learner");
                joined.member.id
            }
        };
        if store.identity()?.is_none() {
            store
                .save_identity(&Identity {
                    node_id: id,
                    cluster_id: config.cluster_id.clone(),
                })
                .await?;
        }

        let state_machine = StateMachine::restore(store.clone()).map_err(|source| StartError::Load {
            dir: dir.clone(),
            source,
        })?;
        let state = state_machine.shared();
        let raft = Raft::new(
            id,
            Arc::new(raft_config(&config)?),
            Network::new(config.security.peer_token.as_deref(), peer_tls.as_ref())?,
            store.clone(),
            state_machine,
        )
        .await
        .map_err(|e| StartError::Raft(e.to_string()))?;

        if fresh && founding {
            tracing::info!(
                id,
                members = members.len(),
                "first start: bootstrapping the cluster from initial-cluster"
            );
            if let Err(e) = raft.initialize(members).await {
                // Another founding node may have initialized us first; that is fine.
                tracing::info!(error = %e, "cluster already initialized");
            }
        } else {
            tracing::info!(id, "recovering from the data dir; initial-cluster is ignored");
        }

        let peers = crate::raft::network::peer_http(config.security.peer_token.as_deref(), peer_tls.as_ref())?;
        let node = Node {
            inner: Arc::new(Inner {
                id,
                raft,
                state,
                store,
                config,
                started: Instant::now(),
                peers,
                membership_lock: tokio::sync::Mutex::new(()),
                shutdown,
                metrics: crate::server::metrics::Metrics::new(),
                reads: Default::default(),
                writes: Default::default(),
            }),
        };
        tokio::spawn(log_changes(node.clone()));
        tokio::spawn(register_client_url(node.clone()));
        if node.inner.config.join.is_some() {
            tokio::spawn(become_voter(node.clone()));
        }
        tokio::spawn(purge_expired(node.clone()));
        tokio::spawn(compact_large_log(node.clone()));
        Ok(node)
    }
}

/// Asks the cluster at `url` to add this node; retries while the cluster is unreachable or
/// between leaders, for up to 30 s.
async fn join_cluster(config: &Config, url: &str) -> Result<JoinResult, StartError> {
    let fail = |reason: String| StartError::Join {
        url: url.to_string(),
        reason,
    };
    let access = Access::new(
        config.security.join_token.as_deref(),
        config.security.trusted_ca.as_deref(),
    )
    .map_err(|e| fail(e.to_string()))?;
    let client = Client::new(url, Duration::from_secs(10), &access).map_err(|e| fail(e.to_string()))?;
    let req = JoinRequest {
        name: config.name.clone(),
        peer_url: config.advertise_peer_url.clone(),
        client_url: config.advertise_client_url.clone(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client.join(&req).await {
            Ok(joined) => return Ok(joined),
            Err(e) if e.is_transient() && Instant::now() < deadline => {
                tracing::warn!(error = %e, "join failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(ClientError::Api {
                status: 401 | 403,
                message,
                ..
            }) => {
                return Err(fail(format!(
                    "{message}; set join-token to a read-write client token of that cluster"
                )))
            }
            Err(e) => return Err(fail(e.to_string())),
        }
    }
}

/// How often the leader looks for expired keys to purge.
const PURGE_EVERY: Duration = Duration::from_millis(250);

/// On the leader: proposes a purge whenever some key's expiry (leader clock) has passed, so
/// every replica drops expired keys at the same log position.
async fn purge_expired(node: Node) {
    let mut tick = tokio::time::interval(PURGE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = node.inner.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if !node.inner.raft.is_leader() {
            continue;
        }
        let due = node
            .inner
            .state
            .read()
            .cache
            .next_expiry()
            .is_some_and(|t| t <= super::wall_clock_ms());
        if due {
            if let Err(e) = node.write_as_leader(Command::Purge).await {
                tracing::debug!(error = %e, "expiry purge not applied; will retry");
            }
        }
    }
}

/// Log bytes after which a snapshot is taken and the log purged behind it, whatever
/// `snapshot-logs` says. sled keeps the log's recent pages in memory, so a log of a few
/// thousand large entries (batches of 1000 sets, say) would otherwise hold hundreds of MB.
const LOG_BYTES_PER_SNAPSHOT: u64 = 32 * 1024 * 1024;

/// Snapshots when [`LOG_BYTES_PER_SNAPSHOT`] bytes were appended since the last time, then
/// purges the whole log behind that snapshot (openraft alone keeps `max_in_snapshot_log_to_keep`
/// entries, which is a lot of bytes when entries are large). A follower that falls further
/// behind than that catches up by snapshot instead of log.
async fn compact_large_log(node: Node) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut since = node.inner.store.appended_bytes();
    loop {
        tokio::select! {
            _ = node.inner.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let appended = node.inner.store.appended_bytes();
        if appended.saturating_sub(since) < LOG_BYTES_PER_SNAPSHOT {
            continue;
        }
        since = appended;
        let before = node.inner.raft.metrics().borrow_watched().snapshot.map(|l| l.index());
        if node.inner.raft.trigger().snapshot().await.is_err() {
            return; // Raft stopped.
        }
        let built = node
            .inner
            .raft
            .wait(Some(Duration::from_secs(60)))
            .metrics(|m| m.snapshot.map(|l| l.index()) > before, "snapshot of a large log")
            .await;
        let upto = built.ok().and_then(|m| m.snapshot.map(|l| l.index()));
        if let Some(upto) = upto {
            tracing::debug!(upto, "log over {LOG_BYTES_PER_SNAPSHOT} bytes: snapshot taken, purging");
            if node.inner.raft.trigger().purge_log(upto).await.is_err() {
                return;
            }
        }
    }
}

/// On a joined node: once caught up, asks the leader to make this learner a voter; retries
/// until it is one or the node stops.
async fn become_voter(node: Node) {
    let id = node.inner.id;
    loop {
        let role = {
            let rx = node.inner.raft.metrics();
            let m = rx.borrow_watched();
            if m.state == openraft::ServerState::Shutdown {
                return;
            }
            let membership = m.membership_config.membership();
            let voter = membership.voter_ids().any(|v| v == id);
            let known = membership.get_node(&id).is_some();
            (voter, known && m.current_leader.is_some())
        };
        match role {
            (true, _) => {
                tracing::info!("this node is a voter");
                return;
            }
            (false, true) => {
                if let Err(e) = node.admin(AdminRequest::Promote { id }).await {
                    tracing::info!(reason = %e, "not promoted yet");
                }
            }
            (false, false) => {}
        }
        tokio::select! {
            _ = node.inner.shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
        }
    }
}

/// Logs leader, term and role changes as they happen, and stops the node once it has been
/// removed from the membership (a removed node must not linger or campaign).
async fn log_changes(node: Node) {
    let mut rx = node.inner.raft.metrics();
    let mut last = (None, 0, openraft::ServerState::Learner);
    let mut was_member = false;
    loop {
        {
            let m = rx.borrow_watched();
            let membership = m.membership_config.membership();
            let is_member = membership.get_node(&node.inner.id).is_some();
            if was_member && !is_member && membership.nodes().next().is_some() {
                tracing::warn!(id = node.inner.id, "this node was removed from the cluster; stopping");
                node.inner.shutdown.cancel();
                return;
            }
            was_member |= is_member;
        }
        let now = {
            let m = rx.borrow_watched();
            (m.current_leader, m.current_term, m.state)
        };
        if now != last {
            if now.1 != last.1 {
                tracing::info!(term = now.1, "term changed");
            }
            if now.0 != last.0 {
                match now.0 {
                    Some(leader) => tracing::info!(leader, term = now.1, "leader elected"),
                    None => tracing::warn!(term = now.1, "no leader"),
                }
            }
            if now.2 != last.2 {
                tracing::info!(role = ?now.2, "role changed");
            }
            last = now;
        }
        // openraft stops Raft on any storage error (e.g. ENOSPC) and never restarts it; a
        // process that kept serving /health would hide that. Stop, so a supervisor sees it.
        if now.2 == openraft::ServerState::Shutdown && !node.inner.shutdown.is_cancelled() {
            if let Some(reason) = node.raft_failure() {
                tracing::error!("stopping this node: {reason}");
                node.inner.shutdown.cancel();
                return;
            }
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Makes sure the replicated membership carries this node's current client URL, so any
/// node can tell clients where the leader is. Retries until it sticks or the node stops.
async fn register_client_url(node: Node) {
    let want = node.inner.config.advertise_client_url.clone();
    let mut rx = node.inner.raft.metrics();
    loop {
        let (leader, current) = {
            let m = rx.borrow_watched();
            if m.state == openraft::ServerState::Shutdown {
                return;
            }
            let leader = m
                .current_leader
                .and_then(|l| m.membership_config.membership().get_node(&l).cloned());
            let current = m.membership_config.membership().get_node(&node.inner.id).cloned();
            (m.current_leader.zip(leader), current)
        };
        match (leader, current) {
            (_, Some(me)) if me.client_url == want => return,
            (Some((leader_id, leader)), Some(mut me)) => {
                me.client_url = want.clone();
                let result = if leader_id == node.inner.id {
                    node.update_member(node.inner.id, me).await
                } else {
                    let deadline = Instant::now() + Duration::from_secs(5);
                    match node
                        .forward::<_, ()>(&leader, "register", &(node.inner.id, me), deadline)
                        .await
                    {
                        super::Attempt::Done(r) => r,
                        super::Attempt::Retry(reason) => Err(NodeError::NoLeader(reason)),
                    }
                };
                match result {
                    Ok(()) => {
                        tracing::info!(client_url = %want, "registered client URL in the cluster membership");
                        return;
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "client URL registration failed; will retry")
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            _ => {
                if rx.changed().await.is_err() {
                    return;
                }
            }
        }
    }
}

//! Bringing a node up: open storage, check identity (or join), build Raft, bootstrap on
//! first start, then start the background tasks (`tasks.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::SnapshotPolicy;
use tokio_util::sync::CancellationToken;

use super::{Inner, Node};
use crate::client::{Access, Client, ClientError};
use crate::config::{ClusterState, Config};
use crate::metrics::Metrics;
use crate::peer::{PeerClient, Reroutes, Sender};
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
    #[error("cannot create the peer client: {0}")]
    PeerClient(#[from] rustls::Error),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("initial-cluster-state is `existing` but no `join` URL is set; give the client URL of any member")]
    JoinNeedsUrl,
    #[error("cannot join the cluster at {url}: {reason}")]
    Join { url: String, reason: String },
    #[error(
        "this data dir belongs to a removed member ({note}); it cannot rejoin with its old state. \
         To add the node back, move {dir} aside (or delete it) and start it with --join URL \
         (the client URL of any member); to stop it being started, drop it from your scripts"
    )]
    Removed { dir: String, note: String },
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
                ..Member::default()
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

/// Starts the node described by `config`: recovers from its data dir, or on first start
/// records its identity and bootstraps the founding cluster. Returns once Raft runs; the
/// caller serves the APIs.
pub(super) async fn start(config: Config, shutdown: CancellationToken) -> Result<Node, StartError> {
    let dir = config.data_dir.display().to_string();
    let load = |source| StartError::Load {
        dir: dir.clone(),
        source,
    };
    let peer_tls = config
        .security
        .peer_tls
        .as_ref()
        .map(crate::tls::PeerClientTls::load)
        .transpose()?;
    if let Some(note) = super::removal::removed_note(&config.data_dir) {
        return Err(StartError::Removed { dir: dir.clone(), note });
    }
    let store = Store::open(&config.data_dir)?;
    let fresh = !store.has_raft_state().map_err(load)?;
    let founding = config.join.is_none() && config.initial_cluster_state == ClusterState::New;
    let id = identify(&store, &config, founding).await?;
    let sender = Sender {
        cluster_id: config.cluster_id.clone(),
        id,
    };
    let peers = PeerClient::new(
        &sender,
        config.security.peer_token.as_deref(),
        peer_tls.as_ref(),
        Reroutes::from_env(),
    )?;

    let clock_floor = store.clock_mark();
    let state_machine = StateMachine::restore(store.clone()).await.map_err(load)?;
    let state = state_machine.shared();
    let removed = crate::raft::network::RemovedSignal::default();
    let raft = Raft::new(
        id,
        Arc::new(raft_config(&config)?),
        Network::new(peers.clone(), removed.clone()),
        store.clone(),
        state_machine,
    )
    .await
    .map_err(|e| StartError::Raft(e.to_string()))?;

    if fresh && founding {
        let members = founding_ids(&config);
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

    let node = Node {
        inner: Arc::new(Inner {
            id,
            raft,
            state,
            store,
            config,
            started: Instant::now(),
            leader_heard_ms: Default::default(),
            client_writes: Default::default(),
            peers,
            removed,
            membership_lock: tokio::sync::Mutex::new(()),
            shutdown,
            metrics: Metrics::new(),
            reads: Default::default(),
            writes: Default::default(),
            incompatible: Default::default(),
            clock_floor,
        }),
    };
    super::tasks::spawn_all(&node);
    Ok(node)
}

/// This node's id: from the data dir, from `initial-cluster` when founding, or from the
/// cluster it joins; recorded in the data dir on first start.
async fn identify(store: &Store, config: &Config, founding: bool) -> Result<NodeId, StartError> {
    let id = match store.identity()? {
        Some(found) if found.cluster_id != config.cluster_id => {
            return Err(StartError::ClusterMismatch {
                dir: config.data_dir.display().to_string(),
                found: found.cluster_id,
                configured: config.cluster_id.clone(),
            })
        }
        Some(found) => return Ok(found.node_id),
        None if founding => founding_ids(config)
            .iter()
            .find(|(_, m)| m.name == config.name)
            .map(|(id, _)| *id)
            .ok_or_else(|| StartError::RaftConfig(format!("`{}` is not in initial-cluster", config.name)))?,
        None => {
            let url = config.join.clone().ok_or(StartError::JoinNeedsUrl)?;
            let joined = join_cluster(config, &url).await?;
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
    store
        .save_identity(&Identity {
            node_id: id,
            cluster_id: config.cluster_id.clone(),
        })
        .await?;
    Ok(id)
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
        version: crate::version::build(),
        format: crate::version::max_format(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client.join(&req, config.security.peer_token.as_deref()).await {
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
                    "{message}; set join-token to an admin client token of that cluster"
                )))
            }
            Err(e) => return Err(fail(e.to_string())),
        }
    }
}

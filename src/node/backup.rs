//! The node's halves of `dcache backup save` and `restore`: a consistent export of the
//! applied cache, and seeding a fresh data dir from a backup so that a new cluster starts from
//! it. The file format belongs to `backup`; storage to `raft::store`.

use openraft::alias::LeaderIdOf;
use openraft::vote::RaftLeaderIdExt;
use openraft::Membership;

use super::start::{founding_ids, StartError};
use super::{wall_clock_ms, Node, NodeError};
use crate::backup::{checksum, BackupMeta};
use crate::config::Config;
use crate::raft::state_machine;
use crate::raft::store::{Identity, Store};
use crate::raft::{LogId, SnapshotMeta, StoredMembership, TypeConfig};
use crate::types::Consistency;

/// A backup of the cache that includes every write acknowledged before the call (a
/// linearizable barrier first, so a follower serves it as safely as the leader). The body is
/// encoded in memory: it costs about the cache's size while it is sent.
pub(super) async fn take(node: &Node) -> Result<(BackupMeta, Vec<u8>), NodeError> {
    node.linearize(Consistency::Linearizable).await?;
    let (index, keys, body) =
        state_machine::export(&node.inner.state).map_err(|e| NodeError::Internal(e.to_string()))?;
    let meta = BackupMeta {
        cluster_id: node.inner.config.cluster_id.clone(),
        index,
        keys,
        body_bytes: body.len() as u64,
        crc32: checksum(&body),
        created_ms: wall_clock_ms(),
    };
    Ok((meta, body))
}

/// Seeds `config.data_dir` (which must hold no Raft state) with the backup `body`: a snapshot
/// at the backup's log index whose membership is `config.initial_cluster`, and this node's
/// identity. Every founding member restores the same file with its own config; they then
/// start as a cluster whose log continues after the backup's index (so versions keep
/// growing). Returns the number of keys restored.
pub async fn restore(config: &Config, meta: &BackupMeta, body: &[u8]) -> Result<usize, StartError> {
    let dir = config.data_dir.display().to_string();
    let keys = state_machine::check_body(body).map_err(|source| StartError::Load {
        dir: dir.clone(),
        source,
    })?;
    if keys != meta.keys {
        return Err(StartError::Load {
            dir,
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "the backup header promises {} keys but its data holds {keys}",
                    meta.keys
                ),
            ),
        });
    }
    let members = founding_ids(config);
    let Some((&first, _)) = members.iter().next() else {
        return Err(StartError::RaftConfig("initial-cluster is empty".into()));
    };
    let Some((&id, _)) = members.iter().find(|(_, m)| m.name == config.name) else {
        return Err(StartError::RaftConfig(format!(
            "`{}` is not in initial-cluster",
            config.name
        )));
    };
    let leader = <LeaderIdOf<TypeConfig> as RaftLeaderIdExt>::new_committed(1, first);
    let log_id = LogId::new(leader, meta.index);
    let voters = members.keys().copied().collect();
    let membership = Membership::new(vec![voters], members).map_err(|e| StartError::RaftConfig(e.to_string()))?;
    let snapshot = SnapshotMeta {
        last_log_id: Some(log_id),
        last_membership: StoredMembership::new(Some(log_id), membership),
    };
    let store = Store::open(&config.data_dir)?;
    store
        .seed_from_snapshot(&snapshot, body)
        .await
        .map_err(|source| StartError::Load { dir, source })?;
    store
        .save_identity(&Identity {
            node_id: id,
            cluster_id: config.cluster_id.clone(),
        })
        .await?;
    Ok(keys)
}

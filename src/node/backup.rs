//! The node's halves of `dcache backup save` and `restore`: a consistent export of the
//! applied cache, and seeding a fresh data dir from a backup so that a new cluster starts from
//! it. The file format belongs to `backup`; storage to `raft::store`.

use openraft::alias::LeaderIdOf;
use openraft::vote::RaftLeaderIdExt;
use openraft::Membership;

use super::start::{founding_ids, StartError};
use super::{wall_clock_ms, Node, NodeError};
use crate::backup::BackupMeta;
use crate::config::Config;
use crate::raft::state_machine;
use crate::raft::store::{Identity, Store};
use crate::raft::{LogId, SnapshotMeta, StoredMembership, TypeConfig};
use crate::types::Consistency;

/// A backup of the cache that includes every write acknowledged before the call (a
/// linearizable barrier first, so a follower serves it as safely as the leader). The body is
/// encoded into an unlinked file in the data dir (mode 0600; gone when the returned handle
/// closes), positioned at its start: a backup costs disk space while it is sent, not a copy
/// of the cache in memory.
pub(super) async fn take(node: &Node) -> Result<(BackupMeta, std::fs::File), NodeError> {
    node.linearize(Consistency::Linearizable).await?;
    let state = node.inner.state.clone();
    let dir = node.inner.config.data_dir.clone();
    let internal =
        |e: std::io::Error| NodeError::Internal(format!("cannot write the backup in {}: {e}", dir.display()));
    let dir2 = dir.clone();
    let (index, keys, body_bytes, crc32, file) = tokio::task::spawn_blocking(move || export_to_file(&state, &dir2))
        .await
        .map_err(|e| NodeError::Internal(format!("the backup task failed: {e}")))?
        .map_err(internal)?;
    let meta = BackupMeta {
        cluster_id: node.inner.config.cluster_id.clone(),
        index,
        keys,
        body_bytes,
        crc32,
        created_ms: wall_clock_ms(),
    };
    Ok((meta, file))
}

/// Encodes the cache into a new file in `dir`, unlinked at once (only the handle keeps it),
/// and returns index, key count, body length, CRC-32 and the handle rewound to the start.
fn export_to_file(
    state: &state_machine::SharedState,
    dir: &std::path::Path,
) -> std::io::Result<(u64, usize, u64, u32, std::fs::File)> {
    use std::io::{Seek, Write};
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(format!("backup-{}.tmp", wall_clock_ms()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    /// Counts and checksums what passes through.
    struct Summing<W> {
        inner: W,
        crc: crc32fast::Hasher,
        len: u64,
    }
    impl<W: Write> Write for Summing<W> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = self.inner.write(buf)?;
            self.crc.update(&buf[..n]);
            self.len += n as u64;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.inner.flush()
        }
    }
    let mut out = Summing {
        inner: std::io::BufWriter::with_capacity(1 << 20, file),
        crc: crc32fast::Hasher::new(),
        len: 0,
    };
    let (index, keys) = state_machine::export_to(state, &mut out)?;
    out.flush()?;
    let (len, crc) = (out.len, out.crc.finalize());
    let mut file = out.inner.into_inner().map_err(|e| e.into_error())?;
    file.rewind()?;
    Ok((index, keys, len, crc, file))
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

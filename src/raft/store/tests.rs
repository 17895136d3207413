//! Tests of the sled store: openraft's conformance suite, restart survival, and data dirs
//! written by older versions.

use openraft::errors::ErrorSource;
use openraft::impls::BoxedErrorSource;
use openraft::testing::log::{StoreBuilder, Suite};
use openraft::StorageError;

use super::*;
use crate::raft::state_machine::StateMachine;
use openraft::storage::RaftLogStorage;
use openraft::RaftLogReader;

struct SledBuilder;

impl StoreBuilder<TypeConfig, Store, StateMachine, tempfile::TempDir> for SledBuilder {
    async fn build(&self) -> Result<(tempfile::TempDir, Store, StateMachine), StorageError<TypeConfig>> {
        let err = |e: String| StorageError::read(BoxedErrorSource::from_string(e));
        let dir = tempfile::tempdir().map_err(|e| err(e.to_string()))?;
        let store = Store::open(dir.path()).map_err(|e| err(e.to_string()))?;
        let sm = StateMachine::restore(store.clone())
            .await
            .map_err(|e| err(e.to_string()))?;
        Ok((dir, store, sm))
    }
}

/// openraft's storage conformance suite against the sled log store and our state machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openraft_storage_suite() -> Result<(), StorageError<TypeConfig>> {
    Suite::test_all(SledBuilder).await
}

#[tokio::test]
async fn identity_and_snapshot_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.identity().unwrap(), None);
        let id = Identity {
            node_id: 3,
            cluster_id: "c1".into(),
        };
        store.save_identity(&id).await.unwrap();
        let meta = SnapshotMeta::default();
        store.save_snapshot(&meta, b"payload").await.unwrap();
    }
    // sled's background flusher thread lets go of the previous handle asynchronously;
    // poll until the reopen can take the lock.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let store = loop {
        match Store::open(dir.path()) {
            Ok(s) => break s,
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            Err(e) => panic!("reopen failed: {e}"),
        }
    };
    assert_eq!(store.identity().unwrap().map(|i| i.node_id), Some(3));
    assert_eq!(
        store.load_snapshot().await.unwrap().map(|(_, d)| d.read_all().unwrap()),
        Some(b"payload".to_vec())
    );
    assert!(store.has_raft_state().unwrap());
}

/// Snapshot bodies live in one file per snapshot; saving a new one removes the old file
/// (and strays a crash left), and a body stored in sled by older versions still loads.
#[tokio::test]
async fn snapshot_bodies_are_files_and_older_sled_bodies_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let files = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| files::is_snapshot_file(n))
            .collect();
        names.sort();
        names
    };
    // An older layout: the body inside sled.
    store
        .snapshot
        .insert(KEY_SNAPSHOT_META, encode(&SnapshotMeta::default()).unwrap())
        .unwrap();
    store.snapshot.insert(KEY_SNAPSHOT_DATA, b"in sled".as_slice()).unwrap();
    assert_eq!(
        store.load_snapshot().await.unwrap().map(|(_, d)| d.read_all().unwrap()),
        Some(b"in sled".to_vec())
    );

    std::fs::write(dir.path().join("snapshot-00000000000000000001-0.bin"), b"stray").unwrap();
    store.save_snapshot(&SnapshotMeta::default(), b"first").await.unwrap();
    assert_eq!(
        store.load_snapshot().await.unwrap().map(|(_, d)| d.read_all().unwrap()),
        Some(b"first".to_vec())
    );
    assert_eq!(files().len(), 1, "{:?}", files());
    assert!(
        store.snapshot.get(KEY_SNAPSHOT_DATA).unwrap().is_none(),
        "the sled copy is dropped"
    );

    store.save_snapshot(&SnapshotMeta::default(), b"second").await.unwrap();
    assert_eq!(
        store.load_snapshot().await.unwrap().map(|(_, d)| d.read_all().unwrap()),
        Some(b"second".to_vec())
    );
    let names = files();
    assert_eq!(names.len(), 1, "{names:?}");
    assert_eq!(std::fs::read(dir.path().join(&names[0])).unwrap(), b"second");
}

/// Data dirs written before runs hold one entry per key; they must still read, purge and
/// truncate like runs of one.
#[tokio::test]
async fn single_entry_values_of_older_data_dirs_still_read() {
    use openraft::alias::LeaderIdOf;
    use openraft::entry::RaftEntry;
    use openraft::vote::RaftLeaderIdExt;

    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let leader = <LeaderIdOf<TypeConfig> as RaftLeaderIdExt>::new_committed(1, 1);
    for i in 1..=3 {
        let entry = LogEntry::new_blank(LogId::new(leader, i));
        store.log.insert(index_key(i), encode(&entry).unwrap()).unwrap();
    }
    let run = vec![
        LogEntry::new_blank(LogId::new(leader, 4)),
        LogEntry::new_blank(LogId::new(leader, 5)),
    ];
    store.log.insert(index_key(4), encode(&run).unwrap()).unwrap();
    let indexes = |entries: Vec<LogEntry>| entries.iter().map(|e| e.log_id.index()).collect::<Vec<_>>();
    assert_eq!(indexes(store.try_get_log_entries(2..5).await.unwrap()), vec![2, 3, 4]);
    store.truncate_after(Some(LogId::new(leader, 4))).await.unwrap();
    assert_eq!(indexes(store.try_get_log_entries(..).await.unwrap()), vec![1, 2, 3, 4]);
    store.purge(LogId::new(leader, 2)).await.unwrap();
    assert_eq!(indexes(store.try_get_log_entries(..).await.unwrap()), vec![3, 4]);
    let state = store.get_log_state().await.unwrap();
    assert_eq!(state.last_log_id.map(|l| l.index()), Some(4));
}

/// Running out of descriptors opening a snapshot file is waited out (the error as the file
/// code wraps it, with the path); any other error is returned at once.
#[tokio::test(start_paused = true)]
async fn opening_a_file_is_retried_while_out_of_descriptors_only() {
    let dir = tempfile::tempdir().unwrap();
    let emfile = |attempts: &mut u32| {
        *attempts += 1;
        let path = dir.path().join("body");
        Err::<(), _>(files::with_path(
            io::Error::from_raw_os_error(nix::libc::EMFILE),
            "creating snapshot file",
            &path,
        ))
    };
    let mut attempts = 0;
    let mut fail_twice = || if attempts < 2 { emfile(&mut attempts) } else { Ok(()) };
    retry_out_of_fds("testing", &mut fail_twice).await.unwrap();
    assert_eq!(attempts, 2);

    let mut attempts = 0;
    let err = retry_out_of_fds("testing", || emfile(&mut attempts)).await.unwrap_err();
    assert_eq!(attempts, FD_RETRIES + 1, "gives up after the retries: {err}");
    assert!(err.to_string().contains("creating snapshot file"), "{err}");

    let mut attempts = 0;
    let mut enospc = || {
        attempts += 1;
        Err::<(), _>(io::Error::from_raw_os_error(nix::libc::ENOSPC))
    };
    retry_out_of_fds("testing", &mut enospc).await.unwrap_err();
    assert_eq!(attempts, 1);
}

/// A snapshot loaded while newer ones are recorded (a build beside the state machine) is
/// always one snapshot: its meta with its own body, never a meta with another's body or a
/// body removed under it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_loaded_while_newer_ones_are_recorded_is_whole() {
    use openraft::alias::LeaderIdOf;
    use openraft::vote::RaftLeaderIdExt;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let leader = <LeaderIdOf<TypeConfig> as RaftLeaderIdExt>::new_committed(1, 1);
    let meta_at = move |i: u64| SnapshotMeta {
        last_log_id: Some(LogId::new(leader, i)),
        ..SnapshotMeta::default()
    };
    store.save_snapshot(&meta_at(1), b"1").await.unwrap();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 2..=300u64 {
                store
                    .save_snapshot(&meta_at(i), i.to_string().as_bytes())
                    .await
                    .unwrap();
            }
        })
    };
    let mut loads = 0;
    while !writer.is_finished() {
        let (meta, body) = store.load_snapshot().await.unwrap().unwrap();
        let index = meta.last_log_id.unwrap().index();
        assert_eq!(
            body.read_all().unwrap(),
            index.to_string().into_bytes(),
            "meta {index} with another body"
        );
        loads += 1;
    }
    writer.await.unwrap();
    assert!(loads > 10, "loads ran beside the writes: {loads}");
}

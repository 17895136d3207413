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
        // Every run of more than 40 bytes in pieces: the suite's truncations and purges cut
        // through runs of several pieces.
        let mut store = Store::open(dir.path()).map_err(|e| err(e.to_string()))?;
        store.piece_bytes = 40;
        store.set_cluster_format(crate::version::PIECES_FORMAT);
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

/// A truncation lowers the index known durable (which the log's floor takes the lower of
/// with the committed index): the entries a new leader writes at the cut indexes are not
/// durable until their own flush.
#[tokio::test]
async fn a_truncation_lowers_the_durable_index_until_the_new_entries_are_flushed() {
    use openraft::alias::LeaderIdOf;
    use openraft::entry::RaftEntry;
    use openraft::storage::IOFlushed;
    use openraft::vote::RaftLeaderIdExt;

    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let flushed_to = |store: &Store, index: u64| {
        let store = store.clone();
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while store.flushed_index() != index && std::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            store.flushed_index()
        }
    };
    let old = <LeaderIdOf<TypeConfig> as RaftLeaderIdExt>::new_committed(1, 1);
    let entries = (1..=10).map(|i| LogEntry::new_blank(LogId::new(old, i)));
    store.append(entries, IOFlushed::noop()).await.unwrap();
    assert_eq!(flushed_to(&store, 10).await, 10);

    store.truncate_after(Some(LogId::new(old, 5))).await.unwrap();
    assert_eq!(store.flushed_index(), 5);

    let new = <LeaderIdOf<TypeConfig> as RaftLeaderIdExt>::new_committed(2, 2);
    let entries = (6..=8).map(|i| LogEntry::new_blank(LogId::new(new, i)));
    store.append(entries, IOFlushed::noop()).await.unwrap();
    assert_eq!(flushed_to(&store, 8).await, 8);
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

fn normal_entry(index: u64, value: &str) -> LogEntry {
    use crate::cache::{Change, Request, Write};
    use openraft::alias::LeaderIdOf;
    use openraft::entry::RaftEntry;
    use openraft::vote::RaftLeaderIdExt;
    let leader = <LeaderIdOf<TypeConfig> as RaftLeaderIdExt>::new_committed(1, 1);
    let request = Request {
        at_ms: 1_000,
        max_bytes: None,
        change: Change::Writes(vec![Write::Set {
            key: format!("k{index}").into(),
            value: value.into(),
            ttl_ms: None,
            if_version: None,
        }]),
    };
    LogEntry::new_normal(LogId::new(leader, index), request)
}

fn stored_run(store: &Store, entries: &[LogEntry]) {
    let bytes = encode(&entries.to_vec()).unwrap();
    store.write_run(entries[0].log_id.index(), bytes).unwrap();
}

fn indexes(entries: &[LogEntry]) -> Vec<u64> {
    entries.iter().map(|e| e.log_id.index()).collect()
}

fn blob_files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("raft.sled").join("blobs")).map_or(0, |d| d.count())
}

/// Runs far larger than sled's blob threshold (a quarter of a 512 KiB segment) are stored in
/// pieces once the cluster version reads them: sled writes no blob file, which it would never
/// fsync; the runs read back whole, after a reopen too, and truncation and purge cut through
/// them.
#[tokio::test]
async fn large_runs_are_stored_in_pieces_and_no_blob_file_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let value = "v".repeat(100 * 1024);
    {
        let mut store = Store::open(dir.path()).unwrap();
        store.set_cluster_format(crate::version::PIECES_FORMAT);
        // Runs of 1, 2 and 3 entries of 100 KiB each, then a small one.
        stored_run(&store, &[normal_entry(1, &value)]);
        stored_run(&store, &[normal_entry(2, &value), normal_entry(3, &value)]);
        stored_run(&store, &(4..=6).map(|i| normal_entry(i, &value)).collect::<Vec<_>>());
        stored_run(&store, &[normal_entry(7, "small")]);
        store.flush().await.unwrap();
        assert_eq!(blob_files(dir.path()), 0, "sled wrote blob files");
        assert!(store.log.len() > 50, "{} keys: not in pieces", store.log.len());
        assert_eq!(store.format.load(Ordering::Relaxed), crate::version::PIECES_FORMAT);
        let all = store.try_get_log_entries(..).await.unwrap();
        assert_eq!(indexes(&all), (1..=7).collect::<Vec<_>>());
        assert_eq!(all[4], normal_entry(5, &value));
        // Ranges that start and end inside runs.
        assert_eq!(indexes(&store.try_get_log_entries(3..=5).await.unwrap()), vec![3, 4, 5]);
        assert_eq!(indexes(&store.try_get_log_entries(5..6).await.unwrap()), vec![5]);
        assert_eq!(
            store.get_log_state().await.unwrap().last_log_id.map(|l| l.index()),
            Some(7)
        );
    }
    let mut store = reopen(dir.path()).await;
    assert_eq!(
        indexes(&store.try_get_log_entries(..).await.unwrap()),
        (1..=7).collect::<Vec<_>>()
    );
    // Truncate inside the run 4..=6: its head is stored anew, its old pieces go.
    let leader = store.try_get_log_entries(5..=5).await.unwrap()[0].log_id.leader_id;
    store.truncate_after(Some(LogId::new(leader, 4))).await.unwrap();
    assert_eq!(indexes(&store.try_get_log_entries(..).await.unwrap()), vec![1, 2, 3, 4]);
    assert_eq!(
        store.get_log_state().await.unwrap().last_log_id.map(|l| l.index()),
        Some(4)
    );
    assert_eq!(
        store.try_get_log_entries(4..).await.unwrap()[0],
        normal_entry(4, &value)
    );
    // Purge into the run 2..=3: the runs before it go whole, pieces included.
    store.purge(LogId::new(leader, 2)).await.unwrap();
    assert_eq!(indexes(&store.try_get_log_entries(..).await.unwrap()), vec![3, 4]);
    // The runs behind the purge point go on a blocking thread.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !store
        .log
        .iter()
        .keys()
        .all(|k| runs::run_index(&k.unwrap()).unwrap() >= 2)
    {
        assert!(std::time::Instant::now() < deadline, "purged runs never removed");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    store.purge(LogId::new(leader, 3)).await.unwrap();
    assert_eq!(indexes(&store.try_get_log_entries(..).await.unwrap()), vec![4]);
    assert_eq!(
        store.get_log_state().await.unwrap().last_log_id.map(|l| l.index()),
        Some(4)
    );
}

/// Until the cluster version reads pieces, a run is one value whatever its size, as a
/// format-4 build stores and reads it, and the data dir stays at the format it was.
#[tokio::test]
async fn runs_stay_whole_until_the_cluster_version_reads_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.set_cluster_format(4);
    let value = "v".repeat(20 * 1024);
    stored_run(&store, &[normal_entry(1, &value), normal_entry(2, &value)]);
    assert_eq!(store.log.len(), 1);
    assert!(store.format.load(Ordering::Relaxed) < crate::version::PIECES_FORMAT);
    store.set_cluster_format(crate::version::PIECES_FORMAT);
    stored_run(&store, &[normal_entry(3, &value), normal_entry(4, &value)]);
    assert!(store.log.len() > 2);
    assert_eq!(indexes(&store.try_get_log_entries(..).await.unwrap()), vec![1, 2, 3, 4]);
}

/// A run stored whole before the cluster version read pieces, cut by a truncation after it
/// does, is stored again in pieces: the data dir then says so, so an older build refuses it.
#[tokio::test]
async fn a_run_cut_into_pieces_by_a_truncation_records_the_pieces_format() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.set_cluster_format(4);
    let value = "v".repeat(20 * 1024);
    let run: Vec<LogEntry> = (1..=3).map(|i| normal_entry(i, &value)).collect();
    stored_run(&store, &run);
    assert_eq!(store.log.len(), 1, "one whole run");
    store.set_cluster_format(crate::version::PIECES_FORMAT);
    store.truncate_after(Some(run[1].log_id)).await.unwrap();
    assert!(store.log.len() > 1, "the head of two entries is stored in pieces");
    assert_eq!(store.format.load(Ordering::Relaxed), crate::version::PIECES_FORMAT);
    assert_eq!(indexes(&store.try_get_log_entries(..).await.unwrap()), vec![1, 2]);
}

async fn reopen(path: &Path) -> Store {
    // sled's background flusher thread lets go of the previous handle asynchronously.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match Store::open(path) {
            Ok(s) => break s,
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            Err(e) => panic!("reopen failed: {e}"),
        }
    }
}

//! `dcache snapshot save/restore`: a backup taken from a live cluster under writes seeds a new
//! 3-node cluster that serves exactly the saved data and keeps going; damaged files and
//! non-empty data dirs are refused.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::support::{dcache, parallel_set, run_dcache, Cluster, Http, Node};

/// Every key under `prefix` with its value and version, read linearizably.
fn dump(http: &Http, prefix: &str) -> BTreeMap<String, (String, u64)> {
    let (status, v) = http.get(&format!(
        "/api/v1/keys?prefix={prefix}&limit=10000&consistency=linearizable"
    ));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["truncated"], false);
    v["data"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k: &Value| {
            (
                k["key"].as_str().unwrap().to_string(),
                (k["value"].as_str().unwrap().to_string(), k["version"].as_u64().unwrap()),
            )
        })
        .collect()
}

pub(crate) fn restore_args<'a>(
    file: &'a str,
    node: &'a Node,
    initial: &'a str,
    peer: &'a str,
    client: &'a str,
) -> Vec<String> {
    [
        "snapshot",
        "restore",
        file,
        "--name",
        node.name(),
        "--data-dir",
        &node.data_dir().display().to_string(),
        "--initial-cluster",
        initial,
        "--listen-peer-urls",
        peer,
        "--initial-advertise-peer-urls",
        peer,
        "--listen-client-urls",
        client,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn a_backup_seeds_a_new_cluster_with_exactly_the_saved_data() {
    let source = Cluster::start(3, &[]);
    let leader = source.leader();
    let items: Vec<(String, String)> = (0..1500).map(|i| (format!("b/{i:05}"), format!("value-{i}"))).collect();
    parallel_set(&source.node(leader).url(), &items, 4);
    let saved = dump(&source.node(leader).http, "b/");
    assert_eq!(saved.len(), 1500);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cache.backup");
    let file_s = file.display().to_string();
    // Asked of a follower: the CLI fetches the backup from the leader.
    let follower = source.followers_of(leader)[0];
    let (out, what) = run_dcache(
        dcache(Some(&source.node(follower).url())),
        &["snapshot", "save", &file_s],
    );
    assert!(out.status.success(), "{what}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("saved 1500 keys"), "{what}");
    assert!(
        !Path::new(&format!("{file_s}.partial")).exists(),
        "the partial file is renamed"
    );
    drop(source);

    let mut restored = Vec::new();
    let target = Cluster::start_prepared(3, &[], &mut |nodes| {
        let initial: Vec<String> = nodes.iter().map(|n| format!("{}={}", n.name(), n.peer_url())).collect();
        let initial = initial.join(",");
        for node in nodes {
            let args = restore_args(&file_s, node, &initial, &node.peer_url(), &node.url());
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (out, what) = run_dcache(dcache(None), &args);
            assert!(out.status.success(), "{what}");
            restored.push(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        Vec::new()
    });
    assert!(
        restored.iter().all(|r| r.contains("restored 1500 keys")),
        "{restored:?}"
    );
    let leader = target.leader();
    for i in 0..3 {
        assert_eq!(
            dump(&target.node(i).http, "b/"),
            saved,
            "node {i} serves exactly the backup"
        );
    }
    let max_version = saved.values().map(|(_, v)| *v).max().unwrap();
    let version = target.node(leader).http.set("b/new", "after restore");
    assert!(
        version > max_version,
        "versions keep growing after a restore: {version} <= {max_version}"
    );
}

#[test]
fn damaged_backups_and_used_data_dirs_are_refused() {
    let node = Node::start();
    node.http.set("k", "v");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one.backup");
    let file_s = file.display().to_string();
    let (out, what) = run_dcache(dcache(Some(&node.url())), &["snapshot", "save", &file_s]);
    assert!(out.status.success(), "{what}");

    let restore = |file: &str, data: &Path| {
        run_dcache(
            dcache(None),
            &["snapshot", "restore", file, "--data-dir", &data.display().to_string()],
        )
    };
    // A flipped byte in the body.
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    let damaged = dir.path().join("damaged.backup");
    std::fs::write(&damaged, &bytes).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let (out, what) = restore(&damaged.display().to_string(), fresh.path());
    assert!(!out.status.success(), "{what}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("corrupt"), "{what}");

    // Not a backup at all.
    let (out, what) = restore(&dir.path().join("none").display().to_string(), fresh.path());
    assert!(!out.status.success(), "{what}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open"), "{what}");

    // A good file restores once; the same data dir is then refused.
    let (out, what) = restore(&file_s, fresh.path());
    assert!(out.status.success(), "{what}");
    let (out, what) = restore(&file_s, fresh.path());
    assert!(!out.status.success(), "{what}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("empty data dir"),
        "{what}"
    );
}

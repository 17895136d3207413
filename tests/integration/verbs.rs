//! Issue 17, item 12: range and batch verbs through the real binary: `get --prefix
//! [--keys-only]`, `delete --prefix` (refused without a terminal unless `--yes`; batches of
//! 1000), and `txn`/`batch` reading one operation per line.

use serde_json::{json, Value};

use crate::support::{data, dcache, run_dcache, Node};

fn stdout(node: &Node, args: &[&str]) -> String {
    let (out, what) = run_dcache(dcache(Some(&node.url())), args);
    assert!(out.status.success(), "{what}");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn get_prefix_lists_keys_and_values_or_keys_only() {
    let node = Node::start();
    for (k, v) in [("u/1", "one"), ("u/2", "two\tTAB"), ("u/3", "three"), ("v", "x")] {
        node.http.set(k, v);
    }
    assert_eq!(
        stdout(&node, &["get", "u/", "--prefix"]),
        "u/1\tone\nu/2\ttwo\\tTAB\nu/3\tthree\n"
    );
    assert_eq!(
        stdout(&node, &["get", "u/", "--prefix", "--keys-only"]),
        "u/1\nu/2\nu/3\n"
    );
    assert_eq!(
        stdout(&node, &["get", "u/", "--prefix", "--limit", "2", "--keys-only"]),
        "u/1\nu/2\n"
    );
    assert_eq!(stdout(&node, &["get", "v", "--keys-only"]), "v\n");
    let (out, what) = run_dcache(dcache(Some(&node.url())), &["get", "u/", "--limit", "2"]);
    assert_eq!(out.status.code(), Some(2), "--limit needs --prefix: {what}");
}

#[test]
fn txn_applies_every_line_at_one_version_or_none() {
    let node = Node::start();
    node.http.set("t/gone", "x");
    let mut cmd = dcache(Some(&node.url()));
    cmd.write_stdin("# seed\nset t/a 1\nset \"t/b c\" \"two\\nlines\" ttl=1m\n\ndelete t/gone\n");
    let (out, what) = run_dcache(cmd, &["txn"]);
    assert!(out.status.success(), "{what}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("deleted t/gone") && text.contains("OK (version"),
        "{what}"
    );
    assert_eq!(node.http.value_of("t/a").map(|(v, _)| v).as_deref(), Some("1"));
    let (b, vb) = node.http.value_of("t/b c").unwrap();
    assert_eq!(b, "two\nlines");
    assert_eq!(node.http.value_of("t/a").unwrap().1, vb, "one version for the batch");
    assert!(node.http.value_of("t/gone").is_none());

    // A failed condition applies nothing (exit 5); `batch` is the same verb, from a file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ops");
    std::fs::write(&file, "set t/new 1\nset t/a 2 if-version=1\n").unwrap();
    let (out, what) = run_dcache(dcache(Some(&node.url())), &["batch", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(5), "{what}");
    assert!(node.http.value_of("t/new").is_none(), "nothing applied: {what}");

    // A bad line is a usage error naming the line; nothing is sent.
    let mut cmd = dcache(Some(&node.url()));
    cmd.write_stdin("set t/x 1\nput t/y 2\n");
    let (out, what) = run_dcache(cmd, &["txn", "-"]);
    assert_eq!(out.status.code(), Some(2), "{what}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"), "{what}");
    assert!(node.http.value_of("t/x").is_none(), "{what}");
}

#[test]
fn delete_prefix_asks_first_and_deletes_in_batches() {
    let node = Node::start();
    for chunk in 0..3 {
        let ops: Vec<Value> = (0..1000)
            .map(|i| json!({"op": "set", "key": format!("d/{:04}", chunk * 1000 + i), "value": "v"}))
            .collect();
        data("seed", node.http.post_json("/api/v1/batch", &json!({ "ops": ops })));
    }
    node.http.set("e", "kept");

    // No terminal to ask on, no --yes: refused, nothing deleted.
    let mut cmd = dcache(Some(&node.url()));
    cmd.write_stdin("y\n");
    let (out, what) = run_dcache(cmd, &["delete", "d/", "--prefix"]);
    assert_eq!(out.status.code(), Some(2), "{what}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"), "{what}");
    assert!(node.http.value_of("d/0000").is_some(), "{what}");

    assert_eq!(
        stdout(&node, &["delete", "d/", "--prefix", "--yes"]),
        "deleted 3000 keys under \"d/\"\n"
    );
    assert_eq!(stdout(&node, &["scan", "d/"]), "");
    assert!(node.http.value_of("e").is_some(), "keys outside the prefix stay");
}

/// Issue 17, item 13 (part): subcommands' `--help` ends with examples, and an empty
/// `DCACHE_SERVER` does not show as `[env: DCACHE_SERVER=]`.
#[test]
fn help_has_examples_and_hides_empty_env_values() {
    for sub in ["set", "get", "delete", "scan", "watch", "txn"] {
        let mut cmd = dcache(None);
        cmd.env("DCACHE_SERVER", "");
        let (out, what) = run_dcache(cmd, &[sub, "--help"]);
        assert!(out.status.success(), "{what}");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("Examples:\n  ") && help.contains("dcache "), "{what}");
        assert!(!help.contains("DCACHE_SERVER="), "{what}");
    }
}

//! What a node leaves exposed: file modes of the data dir, its files and backups; tokens that
//! are placeholders, repeated characters or shared between clients and peers; and the
//! warnings `serve --check` prints for listeners reachable beyond loopback.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use crate::support::{dcache, free_ports, run_dcache, Node};

/// Mode bits (0o777) of `path`.
fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every file and directory under `dir`, with its mode.
fn modes_under(dir: &Path) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        out.push((path.display().to_string(), mode(&path)));
        if path.is_dir() {
            out.extend(modes_under(&path));
        }
    }
    out
}

#[test]
fn data_dir_files_and_backups_are_private_and_a_wide_data_dir_is_warned_about() {
    let node = Node::start_with(&["--snapshot-logs", "10"]);
    for i in 0..20 {
        node.http.set(&format!("m/{i}"), "v");
    }
    let snapshotted = crate::support::wait_until(std::time::Duration::from_secs(10), || {
        std::fs::read_dir(node.data_dir())
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("snapshot-"))
    });
    assert!(snapshotted, "a snapshot file was written");
    assert_eq!(mode(node.data_dir()), 0o700, "the data dir");
    let wide: Vec<_> = modes_under(node.data_dir())
        .into_iter()
        .filter(|(_, m)| m & 0o077 != 0)
        .collect();
    assert!(wide.is_empty(), "files others may read: {wide:?}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cache.backup");
    let (out, what) = run_dcache(dcache(Some(&node.url())), &["backup", "save", file.to_str().unwrap()]);
    assert!(out.status.success(), "{what}");
    assert_eq!(mode(&file), 0o600, "the backup file");

    // An existing data dir others may read is kept, with a warning naming it.
    let wide_dir = dir.path().join("wide");
    std::fs::create_dir(&wide_dir).unwrap();
    std::fs::set_permissions(&wide_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = check(&["--data-dir", wide_dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("warning: data dir") && stdout.contains("0755") && stdout.contains("chmod 700"),
        "{stdout}"
    );
}

/// `dcache serve --check` with `args` and a fresh data dir unless one is given.
fn check(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = dcache(None);
    cmd.args(["serve", "--check"]).args(args);
    if !args.contains(&"--data-dir") {
        cmd.arg("--data-dir").arg(dir.path().join("data"));
    }
    cmd.output().unwrap()
}

#[test]
fn placeholder_repeated_and_shared_tokens_are_refused() {
    let cases: [(&[&str], &str, &str); 5] = [
        (
            &["--auth-token", "change-me-read-write-token"],
            "--auth-tokens",
            "placeholder",
        ),
        (
            &["--read-only-token", "CHANGE-ME-read-only-token"],
            "--auth-tokens",
            "placeholder",
        ),
        (&["--peer-token", "aaaaaaaaaaaaaaaaaaaaaaaa"], "--peer-token", "repeats"),
        (&["--join-token", "abcabcabcabcabcabcabcabc"], "--join-token", "repeats"),
        (
            &[
                "--auth-token",
                "rw-token-0123456789abcdef",
                "--peer-token",
                "rw-token-0123456789abcdef",
            ],
            "--peer-token",
            "same as client token #1",
        ),
    ];
    for (args, origin, why) in cases {
        let out = check(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(origin) && stderr.contains(why), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let out = check(&[
        "--auth-token",
        "rw-token-0123456789abcdef",
        "--peer-token",
        "peer-token-0123456789abcdef",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Tokens without an admin one: membership changes will be refused, and --check says so.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("none has role admin"), "{stdout}");
    let out = check(&["--admin-token", "admin-token-0123456789abcdef"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && !stdout.contains("role admin"), "{stdout}");
}

#[test]
fn check_prints_the_exposure_warnings() {
    let [client, peer] = free_ports();
    let out = check(&[
        "--listen-client-urls",
        &format!("http://0.0.0.0:{client}"),
        "--advertise-client-urls",
        &format!("http://127.0.0.1:{client}"),
        "--listen-peer-urls",
        &format!("http://0.0.0.0:{peer}"),
        "--initial-advertise-peer-urls",
        &format!("http://127.0.0.1:{peer}"),
        "--initial-cluster",
        &format!("node1=http://127.0.0.1:{peer}"),
        "--peer-token",
        "peer-token-0123456789abcdef",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "without auth-tokens",
        "client API listens on 0.0.0.0",
        "over plain HTTP: tokens and values",
        "the peer-token and every replicated value cross the network in clear text",
    ] {
        assert!(stdout.contains(expected), "`{expected}` missing from:\n{stdout}");
    }
    // On loopback, the zero-config default, nothing to warn about.
    let out = check(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && !stdout.contains("warning:"), "{stdout}");
}

#[test]
fn the_cli_never_sends_its_token_in_clear_text_beyond_loopback_or_to_another_scheme() {
    const TOKEN: &str = "rw-token-0123456789abcdef";
    // An attacker's plain-HTTP listener, recording whatever reaches it.
    let attacker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let attacker_url = format!("http://{}", attacker.local_addr().unwrap());
    attacker.set_nonblocking(true).unwrap();

    // A plain-HTTP server beyond loopback (TEST-NET-1, never routed): refused before any
    // connection, saying why.
    let (out, what) = run_dcache(
        dcache(Some("http://192.0.2.1:8080")),
        &["--token", TOKEN, "--timeout", "30s", "get", "k"],
    );
    assert_eq!(out.status.code(), Some(2), "{what}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not sending the token to http://192.0.2.1:8080") && stderr.contains("beyond loopback"),
        "{what}"
    );

    // Endpoints of another scheme than the first: the http one never gets the token.
    let (out, what) = run_dcache(
        dcache(None),
        &[
            "--token",
            TOKEN,
            "bench",
            "--endpoints",
            &format!("https://127.0.0.1:1,{attacker_url}"),
            "--requests",
            "1",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{what}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("not sending the token to {attacker_url}")) && stderr.contains("uses https://"),
        "{what}"
    );
    assert!(attacker.accept().is_err(), "the attacker's listener was connected to");

    // Without a token nothing is withheld, and loopback http keeps working with one.
    let node = Node::start_with(&["--auth-token", TOKEN]);
    let (out, what) = run_dcache(dcache(Some(&node.url())), &["--token", TOKEN, "set", "k", "v"]);
    assert!(out.status.success(), "{what}");
}

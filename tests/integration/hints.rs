//! Issue 17, bug 9: a failed CLI request says what is wrong and what to do, instead of
//! "(is dcache serve running?)": an untrusted certificate, http:// to a TLS node and https:// to
//! a plain one, the peer port given as `--server`.

use crate::support::{dcache, run_dcache, Node, Pki};

/// Runs `dcache ARGS` and returns its exit code and stderr; the command must fail.
fn fails(server: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let (out, what) = run_dcache(dcache(Some(server)), args);
    assert!(!out.status.success(), "{what}");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
        what,
    )
}

#[test]
fn connection_errors_name_the_cause_and_the_fix() {
    let pki = Pki::new();
    let tls = Node::start_secured(Some(&pki), None, &[]);
    let plain = Node::start();

    // A certificate from a CA we were not given.
    let (code, err, what) = fails(&tls.url(), &["get", "k"]);
    assert_eq!(code, Some(4), "{what}");
    assert!(err.contains("does not trust") && err.contains("--cacert"), "{what}");
    assert!(!err.contains("is dcache serve running"), "{what}");

    // http:// to a TLS listener.
    let as_plain = tls.url().replace("https://", "http://");
    let (code, err, what) = fails(&as_plain, &["get", "k"]);
    assert_eq!(code, Some(4), "{what}");
    assert!(err.contains("serves https") && err.contains(&tls.url()), "{what}");

    // https:// to a plain listener.
    let as_tls = plain.url().replace("http://", "https://");
    let (code, err, what) = fails(&as_tls, &["get", "k"]);
    assert_eq!(code, Some(4), "{what}");
    assert!(
        err.contains("serves plain HTTP") && err.contains(&plain.url()),
        "{what}"
    );

    // The peer port given as --server.
    let (_, err, what) = fails(&plain.peer_url(), &["get", "k"]);
    assert!(
        err.contains("this is a dcache peer port; the client port is") && err.contains(&plain.url()),
        "{what}"
    );
    let (_, err, what) = fails(&plain.peer_url(), &["set", "k", "v"]);
    assert!(err.contains("peer port"), "{what}");
}

//! Certificates over time: an expired one is refused by `serve --check` and at start, one
//! that expires soon is warned about (log, `--check`, `/metrics`), and replaced certificate
//! files are used from the next connection on, without a restart.

use std::time::Duration;

use crate::support::{dcache, wait_until, Node, Pki};

/// `dcache serve --check` with `pki`'s TLS flags and a fresh data dir.
fn check(pki: &Pki) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    dcache(None)
        .args(["serve", "--check", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--listen-client-urls", "https://127.0.0.1:1", "--advertise-client-urls"])
        .arg("https://127.0.0.1:1")
        .args([
            "--listen-peer-urls",
            "https://127.0.0.1:2",
            "--initial-advertise-peer-urls",
        ])
        .arg("https://127.0.0.1:2")
        .args(["--initial-cluster", "node1=https://127.0.0.1:2"])
        .args(pki.serve_flags())
        .output()
        .unwrap()
}

#[test]
fn an_expired_certificate_is_refused_by_check() {
    let out = check(&Pki::valid(-30, -2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("client-cert-file") && stderr.contains("expired 2days") && stderr.contains("renew"),
        "{stderr}"
    );
}

#[test]
fn a_certificate_expiring_soon_is_warned_about_in_check_the_log_and_metrics() {
    let pki = Pki::valid(-1, 10);
    let out = check(&pki);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("warning: client-cert-file")
            && (stdout.contains("expires in 9days") || stdout.contains("expires in 10days")),
        "{stdout}"
    );
    let node = Node::start_secured(Some(&pki), None, &[]);
    assert!(
        node.stderr().contains("client-cert-file")
            && (node.stderr().contains("expires in 9days") || node.stderr().contains("expires in 10days")),
        "{}",
        node.log()
    );
    let (status, body) = node.http.get("/metrics");
    assert_eq!(status, 200);
    let text = body.as_str().unwrap().to_string();
    let line = text
        .lines()
        .find(|l| l.starts_with("dcache_tls_certificate_expiry_seconds{certificate=\"client\"}"))
        .unwrap_or_else(|| panic!("no client certificate expiry in:\n{text}"));
    let secs: i64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((9 * 86_400..=10 * 86_400 + 3600).contains(&secs), "{line}");
}

#[test]
fn replaced_certificate_files_are_used_from_the_next_connection() {
    let old = Pki::new();
    let node = Node::start_secured(Some(&old), None, &[]);
    let new = Pki::new();
    let health = |pki: &Pki| {
        pki.client(false)
            .get(format!("{}/health", node.url()))
            .timeout(Duration::from_secs(2))
            .send()
            .is_ok_and(|r| r.status().as_u16() == 200)
    };
    assert!(health(&old) && !health(&new), "the first certificate is served");
    // Key first, then certificate: the pair is only consistent once both are in place.
    std::fs::copy(new.key(), old.key()).unwrap();
    std::fs::copy(new.cert(), old.cert()).unwrap();
    let reloaded = wait_until(Duration::from_secs(10), || health(&new));
    assert!(reloaded, "the new certificate was never served:\n{}", node.log());
    assert!(!health(&old), "the old certificate is no longer served");
    assert!(node.stderr().contains("reloaded"), "{}", node.log());
}

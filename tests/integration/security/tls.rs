//! TLS: a cluster with https on both listeners forms and serves; plain HTTP and untrusted
//! certificates are refused; the peer port admits only certificates of the peer CA.

use std::time::Duration;

use crate::support::{dcache, run_dcache, wait_until, Cluster, Http, Node, Pki};

#[test]
fn a_tls_cluster_forms_replicates_and_serves_the_cli() {
    let pki = Pki::new();
    let c = Cluster::start_secured(3, Some(&pki), None, &[]);
    let leader = c.leader();
    let follower = c.followers_of(leader)[0];
    assert!(c.node(follower).url().starts_with("https://"));
    // A write through a follower travels follower -> leader -> followers over mutual TLS.
    c.node(follower).http.set("secret", "over-tls");
    for i in 0..c.len() {
        let seen = wait_until(Duration::from_secs(10), || {
            c.node(i).http.value_of("secret").map(|(v, _)| v).as_deref() == Some("over-tls")
        });
        assert!(seen, "node {i} did not serve the write:\n{}", c.logs());
    }

    let url = c.node(leader).url();
    let ca = pki.ca().display().to_string();
    let (out, what) = run_dcache(dcache(Some(&url)), &["--cacert", &ca, "get", "secret"]);
    assert!(out.status.success(), "{what}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "over-tls", "{what}");
    let mut cmd = dcache(Some(&url));
    cmd.env("DCACHE_CACERT", &ca);
    let (out, what) = run_dcache(cmd, &["cluster", "status"]);
    assert!(out.status.success(), "{what}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).matches("https://").count(),
        3,
        "{what}"
    );

    // Without our CA the CLI cannot verify the server and says so.
    let (out, what) = run_dcache(dcache(Some(&url)), &["get", "secret"]);
    assert_eq!(out.status.code(), Some(4), "{what}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("certificate"), "{what}");
}

#[test]
fn plain_http_and_untrusted_clients_are_refused() {
    let pki = Pki::new();
    let node = Node::start_secured(Some(&pki), None, &[]);
    assert_eq!(node.http.health(), Some(200), "a client trusting the CA is served");

    let plain = node.url().replace("https://", "http://");
    let answer =
        Http::with_timeout(&plain, Duration::from_secs(5)).try_send(reqwest::Method::GET, "/health", None, None);
    assert!(
        answer.is_err(),
        "plain HTTP to a TLS listener must fail, got {answer:?}"
    );

    let stranger = Pki::new();
    let answer =
        Http::secured(&node.url(), Some(&stranger), None).try_send(reqwest::Method::GET, "/health", None, None);
    let err = answer.expect_err("a client trusting another CA must not accept the node's certificate");
    assert!(format!("{err:?}").to_lowercase().contains("certificate"), "{err:?}");

    assert_eq!(node.http.health(), Some(200), "the node keeps serving");
}

#[test]
fn the_peer_port_admits_only_certificates_of_the_peer_ca() {
    let pki = Pki::new();
    let node = Node::start_secured(Some(&pki), None, &[]);
    node.http.set("before", "1");
    let term = node.http.status()["term"].clone();
    let append = format!("{}/raft/append", node.peer_url());
    let status = node.http.status();
    let (cluster, me) = (
        status["cluster_id"].as_str().unwrap().to_string(),
        status["id"].to_string(),
    );
    let post = |client: reqwest::blocking::Client| {
        client
            .post(&append)
            .header("content-type", "application/msgpack")
            .header("x-dcache-cluster", &cluster)
            .header("x-dcache-from", &me)
            .body(vec![0x80])
            .send()
    };

    let no_cert = post(pki.client(false));
    assert!(
        no_cert.is_err(),
        "a client without a certificate must be refused: {no_cert:?}"
    );
    let foreign = Pki::new();
    let foreign_cert = post(foreign.client(true).clone());
    assert!(
        foreign_cert.is_err(),
        "a certificate of another CA must be refused: {foreign_cert:?}"
    );
    // A certificate of the peer CA reaches Raft; the empty body is then refused as malformed.
    let ours = post(pki.client(true)).unwrap();
    assert_eq!(ours.status().as_u16(), 400);

    assert_eq!(node.http.status()["term"], term, "refused requests change nothing");
    assert_eq!(node.http.value_of("before").map(|(v, _)| v).as_deref(), Some("1"));
    assert!(node.stderr().contains("TLS handshake refused"), "{}", node.log());
}

#[test]
fn tls_settings_that_do_not_fit_are_refused_at_start() {
    let pki = Pki::new();
    let data = tempfile::tempdir().unwrap();
    let data = data.path().display().to_string();
    let cert = pki.cert().display().to_string();
    let cases: [(&[&str], &str); 4] = [
        (&["--listen-client-urls", "https://127.0.0.1:0"], "client-cert-file"),
        (&["--client-cert-file", &cert], "plain http"),
        (
            &[
                "--listen-peer-urls",
                "https://127.0.0.1:1",
                "--initial-advertise-peer-urls",
                "https://127.0.0.1:1",
                "--initial-cluster",
                "node1=https://127.0.0.1:1",
            ],
            "peer-cert-file",
        ),
        (
            &[
                "--listen-client-urls",
                "https://127.0.0.1:0",
                "--client-cert-file",
                &cert,
                "--client-key-file",
                "/nonexistent/key.pem",
            ],
            "/nonexistent/key.pem",
        ),
    ];
    for (flags, expect) in cases {
        let mut args = vec!["serve", "--check", "--data-dir", &data];
        args.extend_from_slice(flags);
        let (out, what) = run_dcache(dcache(None), &args);
        assert!(!out.status.success(), "{what}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(expect),
            "expected `{expect}` in: {what}"
        );
    }
}

#[test]
fn bench_runs_over_tls_with_a_token_and_fails_clearly_without_one() {
    const TOKEN: &str = "bench-token-0123456789";
    let pki = Pki::new();
    let node = Node::start_secured(Some(&pki), Some(TOKEN), &[]);
    let ca = pki.ca().display().to_string();
    let bench = [
        "bench",
        "--requests",
        "100",
        "--clients",
        "2",
        "--key-space",
        "10",
        "-o",
        "json",
    ];
    let mut args = vec!["--cacert", ca.as_str(), "--token", TOKEN];
    args.extend_from_slice(&bench);
    let (out, what) = run_dcache(dcache(Some(&node.url())), &args);
    assert!(out.status.success(), "{what}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ops"], 100, "{what}");
    assert_eq!(report["errors"], 0, "{what}");

    let mut args = vec!["--cacert", ca.as_str()];
    args.extend_from_slice(&bench);
    let (out, what) = run_dcache(dcache(Some(&node.url())), &args);
    assert!(!out.status.success(), "{what}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("token"), "{what}");
}

/// Issue 18, item 5: a certificate the peer CA signed for someone else (an operator's client
/// certificate) is no member, whatever member id it claims; a member's own certificate works.
#[test]
fn a_peer_ca_certificate_that_names_no_member_is_refused() {
    let pki = Pki::new();
    let c = Cluster::start_secured(3, Some(&pki), None, &[]);
    let leader = c.leader();
    let status = c.status(leader);
    let cluster = status["cluster_id"].as_str().unwrap().to_string();
    let member = status["id"].to_string();
    let call = |client: reqwest::blocking::Client, route: &str, from: Option<&str>, body: Vec<u8>| {
        let mut req = client
            .post(format!("{}{route}", c.node(leader).peer_url()))
            .header("content-type", "application/msgpack")
            .header("x-dcache-cluster", &cluster);
        if let Some(from) = from {
            req = req.header("x-dcache-from", from);
        }
        let resp = req.body(body).send().unwrap();
        (resp.status().as_u16(), resp.text().unwrap_or_default())
    };
    // msgpack nil: the body of /peer/ping; a member id for /peer/removed.
    let (status, why) = call(pki.outsider_client(), "/peer/ping", Some(&member), vec![0xc0]);
    assert_eq!(status, 409, "{why}");
    assert!(why.contains("cliuser") && why.contains("127.0.0.1"), "{why}");
    let (status, why) = call(pki.outsider_client(), "/peer/ping", None, vec![0xc0]);
    assert_eq!(status, 409, "a request that names no sender: {why}");
    let (status, why) = call(pki.outsider_client(), "/peer/removed", Some(&member), vec![0x01]);
    assert_eq!(status, 409, "{why}");
    // A member's own certificate is still a member.
    let (status, why) = call(pki.client(true), "/peer/ping", Some(&member), vec![0xc0]);
    assert_eq!(status, 200, "{why}");

    // Nothing was stopped: the cluster still writes through every member.
    for i in 0..3 {
        c.node(i).http.set(&format!("after/{i}"), "1");
    }
    let log = c.logs();
    assert!(log.contains("not the host"), "the refusal is logged:\n{log}");
}

//! Certificates made at test time with rcgen: a CA and one certificate it signs for
//! `127.0.0.1`/`localhost`, usable as server and as client certificate (so one file serves the
//! client listener, the peer listener and the peers' mutual TLS). PEM files in a temp dir.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use tempfile::TempDir;

/// A throwaway CA with one node certificate. Cheap to clone; the files live until the last
/// clone is dropped.
#[derive(Clone)]
pub(crate) struct Pki {
    dir: Arc<TempDir>,
}

impl Pki {
    /// A fresh CA (`ca.pem`) and a certificate for 127.0.0.1 signed by it (`node.pem`,
    /// `node.key`).
    pub(crate) fn new() -> Pki {
        Pki::valid(-1, 365)
    }

    /// Like [`Pki::new`], the node certificate valid from `from_days` to `to_days` days from
    /// now (negative: in the past).
    pub(crate) fn valid(from_days: i64, to_days: i64) -> Pki {
        let day = |d: i64| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            rcgen::date_time_ymd(1970, 1, 1) + std::time::Duration::from_secs((now + d * 86_400) as u64)
        };
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "dcache test CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).unwrap();

        let key = KeyPair::generate().unwrap();
        let mut node = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        node.subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        node.distinguished_name.push(DnType::CommonName, "dcache test node");
        node.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        node.not_before = day(from_days);
        node.not_after = day(to_days);
        let cert = node.signed_by(&key, &ca_cert, &ca_key).unwrap();

        // Signed by the same CA but no member's: an operator's client certificate, say.
        let outsider_key = KeyPair::generate().unwrap();
        let mut outsider = CertificateParams::new(vec!["cliuser.invalid".to_string()]).unwrap();
        outsider.distinguished_name.push(DnType::CommonName, "cliuser");
        outsider.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let outsider = outsider.signed_by(&outsider_key, &ca_cert, &ca_key).unwrap();
        std::fs::write(dir.path().join("outsider.pem"), outsider.pem()).unwrap();
        std::fs::write(dir.path().join("outsider.key"), outsider_key.serialize_pem()).unwrap();

        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("node.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("node.key"), key.serialize_pem()).unwrap();
        Pki { dir: Arc::new(dir) }
    }

    /// The CA certificate (PEM).
    pub(crate) fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The node certificate (PEM).
    pub(crate) fn cert(&self) -> PathBuf {
        self.dir.path().join("node.pem")
    }

    /// The node's private key (PEM).
    pub(crate) fn key(&self) -> PathBuf {
        self.dir.path().join("node.key")
    }

    /// `serve` flags for TLS on both listeners and mutual TLS between peers.
    pub(crate) fn serve_flags(&self) -> Vec<String> {
        let p = |f: &Path| f.display().to_string();
        [
            ("--client-cert-file", p(&self.cert())),
            ("--client-key-file", p(&self.key())),
            ("--trusted-ca-file", p(&self.ca())),
            ("--peer-cert-file", p(&self.cert())),
            ("--peer-key-file", p(&self.key())),
            ("--peer-trusted-ca-file", p(&self.ca())),
        ]
        .into_iter()
        .flat_map(|(k, v)| [k.to_string(), v])
        .collect()
    }

    /// A blocking client that trusts this CA and presents the outsider's certificate: one
    /// the peer CA signed for `cliuser.invalid`, a name no member has.
    pub(crate) fn outsider_client(&self) -> reqwest::blocking::Client {
        let ca = reqwest::Certificate::from_pem(&std::fs::read(self.ca()).unwrap()).unwrap();
        let mut pem = std::fs::read(self.dir.path().join("outsider.pem")).unwrap();
        pem.extend(std::fs::read(self.dir.path().join("outsider.key")).unwrap());
        reqwest::blocking::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .identity(reqwest::Identity::from_pem(&pem).unwrap())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap()
    }

    /// A blocking client that trusts only this CA, optionally presenting the node
    /// certificate as its own (for the peer port).
    pub(crate) fn client(&self, with_identity: bool) -> reqwest::blocking::Client {
        let ca = reqwest::Certificate::from_pem(&std::fs::read(self.ca()).unwrap()).unwrap();
        let mut builder = reqwest::blocking::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .timeout(std::time::Duration::from_secs(30));
        if with_identity {
            let mut pem = std::fs::read(self.cert()).unwrap();
            pem.extend(std::fs::read(self.key()).unwrap());
            builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
        }
        builder.build().unwrap()
    }
}

//! TLS material: reads PEM certificates, keys and CA bundles named in the config and turns them
//! into rustls server configs (client listener; peer listener with mutual TLS) and reqwest
//! client settings (outgoing peer calls; the join call). Owns no sockets; `server::listener`
//! performs the handshakes and `raft::network` makes the calls.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use crate::config::security::{PeerTls, Security, TlsFiles};

/// A TLS file that could not be used: which file, and why.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    // `cause` is not a `source`: the message already says it, so a printed error chain
    // would repeat it.
    #[error("{what} {path}: cannot read it: {cause}")]
    Read {
        what: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{what} {path}: {reason}")]
    Invalid {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
}

/// Acceptors for the two listeners; `None` = plain HTTP on that listener.
#[derive(Clone, Default)]
pub struct Acceptors {
    pub client: Option<tokio_rustls::TlsAcceptor>,
    pub peer: Option<tokio_rustls::TlsAcceptor>,
}

impl Acceptors {
    /// Loads every server-side file named in `security`; fails on the first unusable one.
    pub fn load(security: &Security) -> Result<Acceptors, TlsError> {
        let client = security
            .client_tls
            .as_ref()
            .map(|files| server_config(files, ("client-cert-file", "client-key-file"), None))
            .transpose()?;
        let peer = security
            .peer_tls
            .as_ref()
            .map(|p| server_config(&p.files, ("peer-cert-file", "peer-key-file"), Some(&p.ca)))
            .transpose()?;
        Ok(Acceptors {
            client: client.map(tokio_rustls::TlsAcceptor::from),
            peer: peer.map(tokio_rustls::TlsAcceptor::from),
        })
    }
}

/// The client side of mutual TLS between peers: our certificate and the CA peers must chain to.
#[derive(Clone)]
pub struct PeerClientTls {
    identity: reqwest::Identity,
    roots: Vec<reqwest::Certificate>,
}

impl PeerClientTls {
    /// Loads the peer certificate, key and CA for outgoing peer calls.
    pub fn load(peer: &PeerTls) -> Result<PeerClientTls, TlsError> {
        let mut pem = read("peer-cert-file", &peer.files.cert)?;
        pem.push(b'\n');
        pem.extend(read("peer-key-file", &peer.files.key)?);
        let identity = reqwest::Identity::from_pem(&pem).map_err(|e| TlsError::Invalid {
            what: "peer-cert-file/peer-key-file",
            path: peer.files.cert.clone(),
            reason: e.to_string(),
        })?;
        Ok(PeerClientTls {
            identity,
            roots: ca_bundle("peer-trusted-ca-file", &peer.ca)?,
        })
    }

    /// Makes `builder` present our certificate and trust only the peer CA.
    pub fn apply(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        let builder = self
            .roots
            .iter()
            .cloned()
            .fold(builder.tls_built_in_root_certs(false), |b, c| b.add_root_certificate(c));
        builder.identity(self.identity.clone()).https_only(true)
    }
}

/// Reads a PEM CA bundle for reqwest; fails when it holds no certificate.
pub fn ca_bundle(what: &'static str, path: &Path) -> Result<Vec<reqwest::Certificate>, TlsError> {
    certificates(what, path)?
        .iter()
        .map(|der| {
            reqwest::Certificate::from_der(der).map_err(|e| TlsError::Invalid {
                what,
                path: path.to_path_buf(),
                reason: format!("unusable certificate ({e})"),
            })
        })
        .collect()
}

/// A rustls server config for `files`; with `client_ca`, clients must present a certificate
/// signed by it (mutual TLS).
/// `keys` name the config keys of the certificate and key, for error messages.
fn server_config(
    files: &TlsFiles,
    (cert_key, key_key): (&'static str, &'static str),
    client_ca: Option<&Path>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let invalid = |what, path: &Path, reason: String| TlsError::Invalid {
        what,
        path: path.to_path_buf(),
        reason,
    };
    let certs = certificates(cert_key, &files.cert)?;
    let key_pem = read(key_key, &files.key)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| invalid(key_key, &files.key, format!("no usable PEM private key ({e})")))?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(cert_key, &files.cert, e.to_string()))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates("peer-trusted-ca-file", ca)? {
                roots
                    .add(cert)
                    .map_err(|e| invalid("peer-trusted-ca-file", ca, format!("unusable certificate ({e})")))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| invalid("peer-trusted-ca-file", ca, e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| {
        invalid(
            cert_key,
            &files.cert,
            format!("does not match {key_key} or is unusable ({e})"),
        )
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn certificates(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(what, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Invalid {
            what,
            path: path.to_path_buf(),
            reason: format!("bad PEM ({e})"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Invalid {
            what,
            path: path.to_path_buf(),
            reason: "holds no PEM certificate".into(),
        });
    }
    Ok(certs)
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|cause| TlsError::Read {
        what,
        path: path.to_path_buf(),
        cause,
    })
}

//! TLS material: reads PEM certificates, keys and CA bundles named in the config and turns them
//! into rustls server configs (client listener; peer listener with mutual TLS), re-read when
//! the files change (checked on each new connection), the rustls client config of outgoing
//! peer calls, and reqwest CA settings (the CLI and the join call); tells when certificates
//! expire. Owns no sockets: `server::listener` performs the handshakes and `peer::client`
//! makes the calls.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

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
    pub client: Option<Arc<Reloading>>,
    pub peer: Option<Arc<Reloading>>,
    /// The RESP listener's (`rediss://`): the client certificate, loaded on its own.
    pub resp: Option<Arc<Reloading>>,
}

impl Acceptors {
    /// Loads every server-side file named in `security`; fails on the first unusable one,
    /// and on a certificate that has expired.
    pub fn load(security: &Security) -> Result<Acceptors, TlsError> {
        let client = security
            .client_tls
            .as_ref()
            .map(|files| Reloading::load(files.clone(), ("client-cert-file", "client-key-file"), None))
            .transpose()?;
        let peer = security
            .peer_tls
            .as_ref()
            .map(|p| Reloading::load(p.files.clone(), ("peer-cert-file", "peer-key-file"), Some(p.ca.clone())))
            .transpose()?;
        let resp = security
            .resp_tls
            .as_ref()
            .map(|files| Reloading::load(files.clone(), ("client-cert-file", "client-key-file"), None))
            .transpose()?;
        for (what, path, _) in certificate_files(security) {
            if let Expiry::Expired { since } = expiry(what, path)? {
                return Err(TlsError::Invalid {
                    what,
                    path: path.to_path_buf(),
                    reason: format!("expired {} ago; renew it", humantime::format_duration(since)),
                });
            }
        }
        Ok(Acceptors {
            client: client.map(Arc::new),
            peer: peer.map(Arc::new),
            resp: resp.map(Arc::new),
        })
    }
}

/// A listener's TLS settings, read again from its files when one of them has changed (size
/// or modification time), as etcd does on each new connection. A change that does not load
/// (a half-written file, a key that does not match) keeps the previous settings, logged.
pub struct Reloading {
    files: TlsFiles,
    keys: (&'static str, &'static str),
    client_ca: Option<PathBuf>,
    current: Mutex<(Stamp, tokio_rustls::TlsAcceptor)>,
}

/// Size and modification time of each file of a listener (`None` when it cannot be read).
type Stamp = Vec<Option<(u64, SystemTime)>>;

impl Reloading {
    fn load(
        files: TlsFiles,
        keys: (&'static str, &'static str),
        client_ca: Option<PathBuf>,
    ) -> Result<Reloading, TlsError> {
        let config = server_config(&files, keys, client_ca.as_deref())?;
        let stamp = stamp(&files, client_ca.as_deref());
        Ok(Reloading {
            files,
            keys,
            client_ca,
            current: Mutex::new((stamp, tokio_rustls::TlsAcceptor::from(config))),
        })
    }

    /// The acceptor for a new connection: costs a `stat` of each file, and a reload when one
    /// changed.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        let now = stamp(&self.files, self.client_ca.as_deref());
        // A poisoned lock only means a panic elsewhere held it; the acceptor is still valid.
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current.0 != now {
            match server_config(&self.files, self.keys, self.client_ca.as_deref()) {
                Ok(config) => {
                    tracing::info!(cert = %self.files.cert.display(), "TLS certificate files changed: reloaded");
                    *current = (now, tokio_rustls::TlsAcceptor::from(config));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "TLS certificate files changed but do not load; keeping the previous ones");
                    current.0 = now;
                }
            }
        }
        current.1.clone()
    }
}

/// The [`Stamp`] of a listener's files now.
fn stamp(files: &TlsFiles, ca: Option<&Path>) -> Stamp {
    [Some(files.cert.as_path()), Some(files.key.as_path()), ca]
        .into_iter()
        .flatten()
        .map(|p| {
            std::fs::metadata(p)
                .ok()
                .and_then(|m| Some((m.len(), m.modified().ok()?)))
        })
        .collect()
}

/// How long a certificate has left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Valid for `left` more.
    Valid { left: std::time::Duration },
    /// Expired `since` ago.
    Expired { since: std::time::Duration },
}

/// Warn this long before a certificate expires.
pub const EXPIRY_WARNING: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// Seconds until the first certificate in `path` expires (negative once it has).
pub fn seconds_to_expiry(what: &'static str, path: &Path) -> Result<i64, TlsError> {
    let certs = certificates(what, path)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&certs[0]).map_err(|e| TlsError::Invalid {
        what,
        path: path.to_path_buf(),
        reason: format!("not an X.509 certificate ({e})"),
    })?;
    let not_after = cert.validity().not_after.timestamp();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Ok(not_after.saturating_sub(now))
}

/// The names a peer's certificate (DER) carries: DNS and IP subject alternative names and
/// the subject's common name, lowercased. Empty when it does not parse.
pub fn certificate_names(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(d) => names.push(d.to_ascii_lowercase()),
                x509_parser::extensions::GeneralName::IPAddress(ip) => match ip.len() {
                    4 => names.push(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*ip).unwrap_or_default()).to_string()),
                    16 => {
                        names.push(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*ip).unwrap_or_default()).to_string())
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    for cn in cert.subject().iter_common_name() {
        if let Ok(cn) = cn.as_str() {
            names.push(cn.to_ascii_lowercase());
        }
    }
    names
}

/// Whether a certificate carrying `names` belongs to `host`: an exact name, or a wildcard
/// `*.rest` covering one leftmost label.
pub fn names_cover(names: &[String], host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    names.iter().any(|n| {
        *n == host
            || n.strip_prefix("*.")
                .is_some_and(|rest| host.split_once('.').is_some_and(|(_, h)| h == rest))
    })
}

/// Whether the first certificate in `path` is still valid, and for how long.
pub fn expiry(what: &'static str, path: &Path) -> Result<Expiry, TlsError> {
    let secs = seconds_to_expiry(what, path)?;
    Ok(if secs > 0 {
        Expiry::Valid {
            left: std::time::Duration::from_secs(secs.unsigned_abs()),
        }
    } else {
        Expiry::Expired {
            since: std::time::Duration::from_secs(secs.unsigned_abs()),
        }
    })
}

/// The certificate files of `security` whose expiry matters: config key, path, and the
/// label used in metrics.
pub fn certificate_files(security: &Security) -> Vec<(&'static str, &Path, &'static str)> {
    let mut files = Vec::new();
    if let Some(c) = &security.client_tls {
        files.push(("client-cert-file", c.cert.as_path(), "client"));
    }
    if let (None, Some(c)) = (&security.client_tls, &security.resp_tls) {
        files.push(("client-cert-file", c.cert.as_path(), "client"));
    }
    if let Some(p) = &security.peer_tls {
        files.push(("peer-cert-file", p.files.cert.as_path(), "peer"));
        files.push(("peer-trusted-ca-file", p.ca.as_path(), "peer-ca"));
    }
    files
}

/// Warnings for certificates that expire within [`EXPIRY_WARNING`] (or cannot be read).
pub fn expiry_warnings(security: &Security) -> Vec<String> {
    certificate_files(security)
        .into_iter()
        .filter_map(|(what, path, _)| match expiry(what, path) {
            Ok(Expiry::Valid { left }) if left < EXPIRY_WARNING => Some(format!(
                "{what} {} expires in {}; renew it (it is reloaded on the next connection once replaced)",
                path.display(),
                humantime::format_duration(std::time::Duration::from_secs(left.as_secs() / 3600 * 3600))
            )),
            Ok(Expiry::Valid { .. }) => None,
            Ok(Expiry::Expired { since }) => Some(format!(
                "{what} {} expired {} ago; renew it",
                path.display(),
                humantime::format_duration(since)
            )),
            Err(e) => Some(e.to_string()),
        })
        .collect()
}

/// The client side of mutual TLS between peers: our certificate and the CA peers must chain to.
#[derive(Clone)]
pub struct PeerClientTls {
    config: ClientConfig,
}

impl PeerClientTls {
    /// Loads the peer certificate, key and CA for outgoing peer calls.
    pub fn load(peer: &PeerTls) -> Result<PeerClientTls, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let invalid = |what, path: &Path, reason: String| TlsError::Invalid {
            what,
            path: path.to_path_buf(),
            reason,
        };
        let mut roots = RootCertStore::empty();
        for cert in certificates("peer-trusted-ca-file", &peer.ca)? {
            roots
                .add(cert)
                .map_err(|e| invalid("peer-trusted-ca-file", &peer.ca, format!("unusable certificate ({e})")))?;
        }
        let certs = certificates("peer-cert-file", &peer.files.cert)?;
        let key = PrivateKeyDer::from_pem_slice(&read("peer-key-file", &peer.files.key)?).map_err(|e| {
            invalid(
                "peer-key-file",
                &peer.files.key,
                format!("no usable PEM private key ({e})"),
            )
        })?;
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("peer-cert-file", &peer.files.cert, e.to_string()))?
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .map_err(|e| {
                invalid(
                    "peer-cert-file/peer-key-file",
                    &peer.files.cert,
                    format!("the certificate does not match the key or is unusable ({e})"),
                )
            })?;
        // No ALPN list here: the connector sets it (http/1.1).
        Ok(PeerClientTls { config })
    }

    /// The rustls client config: presents our certificate, trusts only the peer CA.
    pub fn config(&self) -> ClientConfig {
        self.config.clone()
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

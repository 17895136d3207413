//! The protective part of the node configuration: TLS files per listener (switched on by
//! `https://` URLs), client tokens with roles, the peer token, and connection limits. Checks
//! that the settings agree with each other and with the URLs; reading the PEM files is
//! `tls.rs`'s job.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::urls::Urls;
use super::{pick, ConfigError, Sources};

/// Certificate and private key of one listener (PEM files).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Peer TLS: our certificate and key plus the CA every peer certificate must chain to.
#[derive(Debug, Clone)]
pub struct PeerTls {
    pub files: TlsFiles,
    pub ca: PathBuf,
}

/// What a client token may do. Each role may do everything the one before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Reads only: get, scan, watch, status, metrics.
    ReadOnly,
    /// Reads, writes and backups.
    ReadWrite,
    /// Also membership changes: join, remove, transfer leadership (etcd's root).
    Admin,
}

impl Role {
    /// Whether this role may write (and take backups).
    pub fn may_write(self) -> bool {
        self >= Role::ReadWrite
    }

    /// Whether this role may change the membership.
    pub fn may_administer(self) -> bool {
        self == Role::Admin
    }
}

/// One accepted client token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthToken {
    pub token: String,
    #[serde(default = "read_write")]
    pub role: Role,
}

fn read_write() -> Role {
    Role::ReadWrite
}

/// TLS, authentication and per-listener connection limits of a node.
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// TLS on the client listener (`https://` in listen-client-urls).
    pub client_tls: Option<TlsFiles>,
    /// TLS on the RESP listener (`rediss://` in listen-resp-urls): the client certificate
    /// and key.
    pub resp_tls: Option<TlsFiles>,
    /// CA bundle trusted for this node's own calls to client URLs (joining over https).
    pub trusted_ca: Option<PathBuf>,
    /// Mutual TLS between peers (`https://` peer URLs).
    pub peer_tls: Option<PeerTls>,
    /// Shared secret every peer request must carry; `None` = not required.
    pub peer_token: Option<String>,
    /// Client tokens; empty = client API open (the zero-config default).
    pub auth_tokens: Vec<AuthToken>,
    /// Bearer token sent when joining a cluster that requires client tokens.
    pub join_token: Option<String>,
}

impl Security {
    /// The role of `presented` (the bearer token of a request), if it is one of ours. Compares
    /// every configured token in constant time so timing does not reveal a matching prefix.
    pub fn role_of(&self, presented: &[u8]) -> Option<Role> {
        let mut found = None;
        for t in &self.auth_tokens {
            if constant_time_eq(t.token.as_bytes(), presented) {
                found = Some(t.role);
            }
        }
        found
    }
}

/// Limits applied to every connection of both listeners.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    /// Most connections serving requests at once per listener; more wait (see `max_pending`).
    pub max_connections: usize,
    /// Most connections per listener that are accepted but not yet serving: silent so far,
    /// in their TLS handshake, or waiting for a free connection slot. Past it the oldest
    /// silent (then handshaking) one is closed, so a flood of idle sockets never keeps a
    /// talking client (or a Raft peer) in the kernel's accept queue.
    pub max_pending: usize,
    /// Most watch streams open at once (client listener); counted apart from
    /// `max_connections`, past it a watch is answered 503 `TOO_MANY_WATCHERS`.
    pub max_watchers: usize,
    /// Largest request head (request line and headers); larger heads get 431.
    pub max_header_bytes: usize,
    /// Time allowed for a TLS handshake and for each request head, and the longest a
    /// keep-alive connection may sit idle: slow or silent clients are cut off after it.
    pub header_read_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            max_connections: 1024,
            max_pending: pending_for(1024),
            max_watchers: 256,
            max_header_bytes: 16 * 1024,
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

/// The pending-connection cap that goes with `max_connections`: a quarter of it, at least 16
/// and at most 256 (a connection that talks leaves the pending set within a round trip).
pub(crate) fn pending_for(max_connections: usize) -> usize {
    (max_connections / 4).clamp(16, 256)
}

/// The security section: the peer token, client TLS (on with an `https://` client URL),
/// the trusted CA, peer mutual TLS (on with `https://` peer URLs), client tokens and the
/// join token. TLS files must be given exactly when the URLs ask for TLS.
pub(super) fn load(src: &Sources<'_>, urls: &Urls) -> Result<Security, ConfigError> {
    let (token, f) = pick(&src.args.peer_token, &src.file.peer_token);
    if let Some(t) = &token {
        check_token(t).map_err(|m| src.invalid("peer-token", f, m))?;
    }
    let (client_tls, resp_tls) = client_tls(src, urls)?;
    let (trusted_ca, _) = pick(&src.args.trusted_ca_file, &src.file.trusted_ca_file);
    let peer_tls = peer_tls(src, urls)?;
    let auth_tokens = auth_tokens(src)?;
    if let Some(peer) = &token {
        if let Some(i) = auth_tokens.iter().position(|t| t.token == *peer) {
            return Err(src.invalid(
                "peer-token",
                f,
                format!(
                    "is the same as client token #{}: a client could then act as a peer; use two different secrets",
                    i + 1
                ),
            ));
        }
    }
    let (join_token, f) = pick(&src.args.join_token, &src.file.join_token);
    if let Some(t) = &join_token {
        check_token(t).map_err(|m| src.invalid("join-token", f, m))?;
    }
    Ok(Security {
        client_tls,
        resp_tls,
        trusted_ca,
        peer_tls,
        peer_token: token,
        auth_tokens,
        join_token,
    })
}

/// TLS of the client and RESP listeners, which share the client certificate and key: both
/// client URLs https or both plain http; cert and key are required when either listener
/// uses TLS (`https://`, `rediss://`) and refused when neither does.
fn client_tls(src: &Sources<'_>, urls: &Urls) -> Result<(Option<TlsFiles>, Option<TlsFiles>), ConfigError> {
    let (cert, fc) = pick(&src.args.client_cert_file, &src.file.client_cert_file);
    let (key, fk) = pick(&src.args.client_key_file, &src.file.client_key_file);
    let (listen, advertise) = (&urls.listen_client_url, &urls.advertise_client_url);
    let client_https = listen.trim().starts_with("https://");
    if is_https(advertise) != client_https {
        return Err(src.invalid(
            "advertise-client-urls",
            urls.advertise_client_from_flag,
            format!("`{advertise}` and listen-client-urls `{listen}` must both be https:// or both http://"),
        ));
    }
    if client_https || urls.resp_tls {
        let what = if client_https {
            "an https:// client URL".to_string()
        } else {
            format!("listen-resp-urls `{}`", urls.listen_resp_url.trim())
        };
        let cert = cert.ok_or_else(|| src.invalid("client-cert-file", fc, format!("is required for {what}")))?;
        let key = key.ok_or_else(|| src.invalid("client-key-file", fk, format!("is required for {what}")))?;
        let files = TlsFiles { cert, key };
        return Ok((client_https.then(|| files.clone()), urls.resp_tls.then_some(files)));
    }
    match (cert.is_some(), key.is_some()) {
        (false, false) => Ok((None, None)),
        (has_cert, _) => Err(src.invalid(
            if has_cert {
                "client-cert-file"
            } else {
                "client-key-file"
            },
            if has_cert { fc } else { fk },
            format!("is set but listen-client-urls `{listen}` is plain http; use https:// (or rediss:// in listen-resp-urls) to switch TLS on"),
        )),
    }
}

/// Mutual TLS between peers: every peer URL https (then cert, key and CA are required) or
/// every one plain http (then none may be set).
fn peer_tls(src: &Sources<'_>, urls: &Urls) -> Result<Option<PeerTls>, ConfigError> {
    let (cert, fc) = pick(&src.args.peer_cert_file, &src.file.peer_cert_file);
    let (key, fk) = pick(&src.args.peer_key_file, &src.file.peer_key_file);
    let (ca, fca) = pick(&src.args.peer_trusted_ca_file, &src.file.peer_trusted_ca_file);
    let advertised = &urls.advertise_peer_url;
    let peer_https = is_https(advertised);
    if let Some((n, u)) = urls.initial_cluster.iter().find(|(_, u)| is_https(u) != peer_https) {
        return Err(src.invalid(
            "initial-cluster",
            urls.initial_cluster_from_flag,
            format!("`{n}={u}` and this node's peer URL `{advertised}` differ in scheme; every peer URL must be https:// or every one http://"),
        ));
    }
    let listen = &urls.listen_peer_url;
    if peer_https != listen.trim().starts_with("https://") {
        return Err(src.invalid(
            "listen-peer-urls",
            urls.listen_peer_from_flag,
            format!("`{listen}` and the advertised peer URL `{advertised}` must both be https:// or both http://"),
        ));
    }
    if peer_https {
        let need = |v: Option<PathBuf>, key: &str, from: bool| {
            v.ok_or_else(|| {
                src.invalid(
                    key,
                    from,
                    "is required for https:// peer URLs (mutual TLS between peers)",
                )
            })
        };
        return Ok(Some(PeerTls {
            files: TlsFiles {
                cert: need(cert, "peer-cert-file", fc)?,
                key: need(key, "peer-key-file", fk)?,
            },
            ca: need(ca, "peer-trusted-ca-file", fca)?,
        }));
    }
    let set = [
        ("peer-cert-file", cert.is_some(), fc),
        ("peer-key-file", key.is_some(), fk),
        ("peer-trusted-ca-file", ca.is_some(), fca),
    ];
    match set.into_iter().find(|(_, is_set, _)| *is_set) {
        None => Ok(None),
        Some((key, _, from)) => Err(src.invalid(
            key,
            from,
            format!("is set but listen-peer-urls `{listen}` is plain http; use https:// peer URLs to switch TLS on"),
        )),
    }
}

/// Client tokens: from the flags (admin, read-write, then read-only) when any is given, else
/// from the file; each must pass [`check_token`] and appear once.
fn auth_tokens(src: &Sources<'_>) -> Result<Vec<AuthToken>, ConfigError> {
    let args = src.args;
    let from_flags = !args.admin_tokens.is_empty() || !args.auth_tokens.is_empty() || !args.read_only_tokens.is_empty();
    let tokens: Vec<AuthToken> = if from_flags {
        let admin = args.admin_tokens.iter().map(|t| (t, Role::Admin));
        let rw = args.auth_tokens.iter().map(|t| (t, Role::ReadWrite));
        let ro = args.read_only_tokens.iter().map(|t| (t, Role::ReadOnly));
        admin
            .chain(rw)
            .chain(ro)
            .map(|(t, role)| AuthToken { token: t.clone(), role })
            .collect()
    } else {
        src.file.auth_tokens.clone().unwrap_or_default()
    };
    for (i, t) in tokens.iter().enumerate() {
        check_token(&t.token).map_err(|m| src.invalid("auth-tokens", from_flags, format!("token #{} {m}", i + 1)))?;
        if tokens[..i].iter().any(|o| o.token == t.token) {
            return Err(src.invalid("auth-tokens", from_flags, format!("token #{} is listed twice", i + 1)));
        }
    }
    Ok(tokens)
}

/// Checks a secret: long enough to resist guessing, safe to put in a header, and not a
/// placeholder (the example configs' `change-me...`) or a character or short pattern
/// repeated (`aaaa...`, `abab...`).
pub(crate) fn check_token(token: &str) -> Result<(), String> {
    if token.len() < 16 || !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(
            "must be at least 16 printable ASCII characters without spaces (e.g. `openssl rand -hex 32`)".into(),
        );
    }
    let lower = token.to_ascii_lowercase();
    if ["change-me", "changeme", "change_me"].iter().any(|p| lower.contains(p)) {
        return Err(
            "is a placeholder from the example configs; generate a secret (e.g. `openssl rand -hex 32`)".into(),
        );
    }
    let bytes = token.as_bytes();
    if (1..=4).any(|p| bytes[p..].iter().zip(bytes).all(|(a, b)| a == b)) {
        return Err("repeats one character or a short pattern; generate a secret (e.g. `openssl rand -hex 32`)".into());
    }
    Ok(())
}

/// Warnings for settings that leave a listener reachable beyond loopback unprotected: no
/// client tokens, plain HTTP (or plain RESP) for clients, a peer port without TLS or token, or
/// a peer token sent in clear text.
pub(super) fn exposure(
    security: &Security,
    client: SocketAddr,
    peer: SocketAddr,
    resp: Option<SocketAddr>,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if !security.auth_tokens.is_empty() && !security.auth_tokens.iter().any(|t| t.role.may_administer()) {
        warnings.push(
            "client tokens are set but none has role admin: cluster join, remove and transfer-leadership are refused \
             (403) until one is (admin-token, or `role: admin` in auth-tokens)"
                .to_string(),
        );
    }
    if let Some(resp) = resp.filter(|r| !r.ip().is_loopback()) {
        if security.auth_tokens.is_empty() {
            warnings.push(format!(
                "the Redis protocol listens on {resp}, beyond loopback, without auth-tokens: anyone who can reach it can read and write the cache"
            ));
        }
        if security.resp_tls.is_none() {
            warnings.push(format!(
                "the Redis protocol listens on {resp}, beyond loopback, without TLS: tokens and values cross the network unencrypted; use rediss:// with client-cert-file"
            ));
        }
    }
    if !client.ip().is_loopback() {
        if security.auth_tokens.is_empty() {
            warnings.push(format!(
                "the client API listens on {client}, beyond loopback, without auth-tokens: anyone who can reach it can read and write the cache"
            ));
        }
        if security.client_tls.is_none() {
            warnings.push(format!(
                "the client API listens on {client}, beyond loopback, over plain HTTP: tokens and values cross the network unencrypted; use https:// with client-cert-file"
            ));
        }
    }
    if !peer.ip().is_loopback() && security.peer_tls.is_none() {
        warnings.push(match security.peer_token {
            None => format!(
                "the peer API listens on {peer}, beyond loopback, without TLS or a peer-token: anyone who can reach it can send Raft messages; use https:// peer URLs or set peer-token"
            ),
            Some(_) => format!(
                "the peer API listens on {peer}, beyond loopback, over plain HTTP: the peer-token and every replicated value cross the network in clear text, and whoever sees it can act as a peer; use https:// peer URLs (mutual TLS)"
            ),
        });
    }
    warnings
}

/// Compares without an early exit, so the time taken does not reveal a matching prefix.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `url` (already normalized by `base_url`) uses TLS.
pub(crate) fn is_https(url: &str) -> bool {
    url.starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_found_by_token() {
        let s = Security {
            auth_tokens: vec![
                AuthToken {
                    token: "read-write-token-0001".into(),
                    role: Role::ReadWrite,
                },
                AuthToken {
                    token: "read-only-token-00001".into(),
                    role: Role::ReadOnly,
                },
            ],
            ..Default::default()
        };
        assert_eq!(s.role_of(b"read-write-token-0001"), Some(Role::ReadWrite));
        assert_eq!(s.role_of(b"read-only-token-00001"), Some(Role::ReadOnly));
        assert_eq!(s.role_of(b"read-only-token-0000"), None);
        assert_eq!(s.role_of(b""), None);
        assert!(check_token("short").is_err());
        assert!(check_token("has a space in it, 16+").is_err());
        assert!(check_token("0123456789abcdef").is_ok());
        assert!(check_token("change-me-read-write-token").is_err());
        assert!(check_token("aaaaaaaaaaaaaaaaaaaa").is_err());
        assert!(check_token("abcabcabcabcabcabcabc").is_err());
        assert!(check_token("rw-token-0123456789abcdef").is_ok());
    }
}

//! The protective part of the node configuration: TLS files per listener (switched on by
//! `https://` URLs), client tokens with roles, the peer token, and connection limits. Checks
//! that the settings agree with each other and with the URLs; reading the PEM files is
//! `tls.rs`'s job.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

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

/// What a client token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Reads only: get, scan, watch, status, metrics.
    ReadOnly,
    /// Everything, including writes and membership changes.
    ReadWrite,
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
    /// Most connections open at once per listener; more wait in the kernel's accept queue.
    pub max_connections: usize,
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
            max_header_bytes: 16 * 1024,
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

/// Checks a secret: long enough to resist guessing and safe to put in a header.
pub(crate) fn check_token(token: &str) -> Result<(), String> {
    if token.len() < 16 || !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(
            "must be at least 16 printable ASCII characters without spaces (e.g. `openssl rand -hex 32`)".into(),
        );
    }
    Ok(())
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
    }
}

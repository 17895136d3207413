//! What a client carries to a node: its bearer token, and the extra CA certificates it trusts.

use std::path::Path;

use super::ClientError;

/// How a client proves itself and whom it trusts: the bearer token for nodes that require
/// one, and extra CA certificates for https servers (on top of the system's roots).
#[derive(Clone, Default)]
pub struct Access {
    token: Option<String>,
    cacert: Option<std::path::PathBuf>,
    roots: Vec<reqwest::Certificate>,
    /// With a token, the URL whose scheme every further node must share (`--server`), and
    /// the rule that plain HTTP carries the token to loopback only; `None` = unchecked (a
    /// node's own join call).
    guarded_by: Option<url::Url>,
}

impl std::fmt::Debug for Access {
    /// Never prints the token itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("cacert", &self.cacert)
            .finish()
    }
}

impl PartialEq for Access {
    fn eq(&self, other: &Self) -> bool {
        self.token == other.token && self.cacert == other.cacert && self.guarded_by == other.guarded_by
    }
}

impl Eq for Access {}

impl Access {
    /// Access with `token` (sent as `Authorization: Bearer`) and the PEM CA bundle at `cacert`.
    pub fn new(token: Option<&str>, cacert: Option<&Path>) -> Result<Access, ClientError> {
        let roots = match cacert {
            None => Vec::new(),
            Some(path) => crate::tls::ca_bundle("--cacert", path).map_err(|e| ClientError::BadCaCert {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?,
        };
        Ok(Access {
            token: token.map(str::to_string),
            cacert: cacert.map(Path::to_path_buf),
            roots,
            guarded_by: None,
        })
    }

    /// This access for the CLI, whose first server is `server`: the token then only goes
    /// to URLs of `server`'s scheme, and over plain HTTP only to loopback addresses
    /// ([`ClientError::TokenWithheld`] otherwise). A `server` that does not parse is left to
    /// [`Client::new`] to report.
    pub fn guarded_by(mut self, server: &str) -> Access {
        self.guarded_by = url::Url::parse(server).ok();
        self
    }

    /// Whether the token may go to `url`; the reason when it may not.
    pub(super) fn check_destination(&self, url: &url::Url) -> Result<(), String> {
        let (Some(_), Some(server)) = (&self.token, &self.guarded_by) else {
            return Ok(());
        };
        if url.scheme() != server.scheme() {
            return Err(format!(
                "it uses {}:// but --server {} uses {}://; a member registered with another scheme is not trusted with the token",
                url.scheme(),
                server.as_str().trim_end_matches('/'),
                server.scheme()
            ));
        }
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        };
        if url.scheme() == "http" && !loopback {
            return Err(
                "it is plain http:// beyond loopback, where anyone on the path could read the token; use https:// (and --cacert)"
                    .into(),
            );
        }
        Ok(())
    }

    /// A reqwest builder carrying this access.
    pub(super) fn builder(&self) -> reqwest::ClientBuilder {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(token) = &self.token {
            if let Ok(mut value) = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")) {
                value.set_sensitive(true);
                headers.insert(reqwest::header::AUTHORIZATION, value);
            }
        }
        self.roots
            .iter()
            .cloned()
            .fold(reqwest::Client::builder(), |b, c| b.add_root_certificate(c))
            .default_headers(headers)
            .tcp_nodelay(true)
    }
}

//! A typed HTTP client for the client API, used by the CLI commands, the dashboard, the
//! benchmark and a joining node. It carries the bearer token and extra CA certificates
//! (`Access`), unwraps the envelope and turns every failure into a `ClientError` that says
//! what went wrong and what to try.

use std::time::Duration;

use percent_encoding::{percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::types::{
    BatchOp, BatchRequest, BatchResult, Consistency, DeleteResult, Envelope, ErrorCode, Health, JoinRequest,
    JoinResult, KeyValue, KeysResult, LeaderInfo, MemberInfo, NodeStatus, SetRequest, SetResult,
};

mod access;
mod failover;
mod sse;

pub use access::Access;
pub use failover::{Endpoints, Retry};
pub use sse::{read_sse, SseEvent};

/// Characters left as they are in a key path segment; everything else is percent-encoded.
const KEY_SAFE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Why a request failed, as the CLI reports it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("--server `{url}` is not a usable URL: {reason}")]
    BadUrl { url: String, reason: String },
    // `reason` already names the flag and the file.
    #[error("{reason}")]
    BadCaCert { path: String, reason: String },
    #[error("cannot reach {url}: {reason} (is dcache serve running?)")]
    Unreachable { url: String, reason: String },
    #[error("{url} did not answer within {timeout:?} (raise --timeout, or check the node's log)")]
    Timeout { url: String, timeout: Duration },
    /// The server answered with an error envelope (`code` is its machine-readable code).
    #[error("{message}")]
    Api {
        status: u16,
        code: ErrorCode,
        message: String,
    },
    #[error("unexpected answer from {url}: {detail}")]
    Protocol { url: String, detail: String },
    /// The https server's certificate is not signed by a CA this client trusts.
    #[error(
        "{url} presented a certificate this client does not trust ({reason}); \
         give the CA that signed it with --cacert FILE (or DCACHE_CACERT)"
    )]
    Untrusted { url: String, reason: String },
    /// The URL's scheme does not match what the server speaks (http:// to a TLS listener,
    /// or https:// to a plain one); `use_url` is the URL that works.
    #[error("{url} {speaks}; use {use_url}")]
    WrongScheme {
        url: String,
        speaks: &'static str,
        use_url: String,
    },
    /// Every `--endpoints` member failed; `last` is the last failure, which fixes the exit
    /// code.
    #[error("no endpoint could serve the request: {reasons}")]
    AllEndpoints { reasons: String, last: Box<ClientError> },
    /// A watch dropped and no member took it back; `detail` names the last version and the
    /// command that resumes, `last` is the last failure (which fixes the exit code).
    #[error("the watch stream was lost: {detail}")]
    WatchLost { detail: String, last: Box<ClientError> },
    /// The CLI would have sent its token where it could be read or was not meant to go.
    #[error("not sending the token to {url}: {reason}")]
    TokenWithheld { url: String, reason: String },
}

impl ClientError {
    /// Whether retrying later may help: no connection, no answer in time, or a 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Unreachable { .. } | ClientError::Timeout { .. } => true,
            ClientError::Api { status, .. } => *status >= 500,
            ClientError::AllEndpoints { last, .. } | ClientError::WatchLost { last, .. } => last.is_transient(),
            _ => false,
        }
    }

    /// Whether the server said the key does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            ClientError::AllEndpoints { last, .. } => last.is_not_found(),
            e => matches!(
                e,
                ClientError::Api {
                    code: ErrorCode::KeyNotFound,
                    ..
                }
            ),
        }
    }
}

/// A client bound to one node's client URL.
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    timeout: Duration,
    access: Access,
}

impl Client {
    /// A client for `server` (e.g. `http://127.0.0.1:8080`) giving each request `timeout`.
    pub fn new(server: &str, timeout: Duration, access: &Access) -> Result<Self, ClientError> {
        let parsed = url::Url::parse(server).map_err(|e| ClientError::BadUrl {
            url: server.to_string(),
            reason: format!("{e}; expected e.g. http://127.0.0.1:8080"),
        })?;
        if parsed.scheme() != "http" && parsed.scheme() != "https" {
            return Err(ClientError::BadUrl {
                url: server.to_string(),
                reason: format!("scheme `{}` is not supported; use http:// or https://", parsed.scheme()),
            });
        }
        access
            .check_destination(&parsed)
            .map_err(|reason| ClientError::TokenWithheld {
                url: server.to_string(),
                reason,
            })?;
        let http = access
            .builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ClientError::BadUrl {
                url: server.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Client {
            base: server.trim_end_matches('/').to_string(),
            http,
            timeout,
            access: access.clone(),
        })
    }

    /// The token and CA certificates this client uses, for talking to further nodes alike.
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// The base URL this client talks to.
    pub fn server(&self) -> &str {
        &self.base
    }

    /// Reads `key` at `consistency`.
    pub async fn get(&self, key: &[u8], consistency: Consistency) -> Result<KeyValue, ClientError> {
        let path = format!("/api/v1/get/{}?consistency={}", encode_key(key), consistency.as_str());
        self.send(self.http.get(self.url(&path))).await
    }

    /// Stores `value` under `key`.
    pub async fn set(&self, key: &[u8], value: &[u8]) -> Result<SetResult, ClientError> {
        self.set_with(key, value, None, None).await
    }

    /// Stores `value` under `key`, expiring after `ttl`, and only if the key's version is
    /// `if_version` (0 = only if absent) when given.
    pub async fn set_with(
        &self,
        key: &[u8],
        value: &[u8],
        ttl: Option<Duration>,
        if_version: Option<u64>,
    ) -> Result<SetResult, ClientError> {
        let body = SetRequest {
            ttl_ms: ttl.map(|t| t.as_millis().max(1) as u64),
            if_version,
            ..SetRequest::new(key, value)
        };
        self.send(self.http.post(self.url("/api/v1/set")).json(&body)).await
    }

    /// Makes the existing `key` expire after `ttl`, keeping its value.
    pub async fn expire(&self, key: &[u8], ttl: Duration) -> Result<SetResult, ClientError> {
        let body = crate::types::ExpireRequest::new(key, ttl.as_millis().max(1) as u64);
        self.send(self.http.post(self.url("/api/v1/expire")).json(&body)).await
    }

    /// Removes the existing `key`'s expiry, keeping its value.
    pub async fn persist(&self, key: &[u8]) -> Result<SetResult, ClientError> {
        let body = crate::types::PersistRequest::new(key);
        self.send(self.http.post(self.url("/api/v1/persist")).json(&body)).await
    }

    /// Applies `ops` (1-1000) atomically, in order, at one version: all or nothing.
    pub async fn batch(&self, ops: &[BatchOp]) -> Result<BatchResult, ClientError> {
        let body = BatchRequest { ops: ops.to_vec() };
        self.send(self.http.post(self.url("/api/v1/batch")).json(&body)).await
    }

    /// Removes `key` (only at version `if_version` when given).
    pub async fn delete(&self, key: &[u8], if_version: Option<u64>) -> Result<DeleteResult, ClientError> {
        let mut path = format!("/api/v1/delete/{}", encode_key(key));
        if let Some(v) = if_version {
            path.push_str(&format!("?if_version={v}"));
        }
        self.send(self.http.delete(self.url(&path))).await
    }

    /// Opens a watch stream of changes under `prefix` (after `from_version` when given).
    /// The response has no overall timeout; read it with [`read_sse`].
    pub async fn watch(&self, prefix: &[u8], from_version: Option<u64>) -> Result<reqwest::Response, ClientError> {
        let mut path = format!("/api/v1/watch?prefix={}", encode_key(prefix));
        if let Some(v) = from_version {
            path.push_str(&format!("&from_version={v}"));
        }
        self.open_stream(&path, &[]).await
    }

    /// Starts downloading a backup (`GET /api/v1/snapshot`: header and body, see
    /// [`crate::backup`]). The response has no overall timeout; read its body in chunks.
    pub async fn backup(&self) -> Result<reqwest::Response, ClientError> {
        self.open_stream("/api/v1/snapshot", &[]).await
    }

    /// `GET path` whose body may stream for long: only connecting is bounded by the timeout.
    async fn open_stream(&self, path: &str, query: &[(&str, String)]) -> Result<reqwest::Response, ClientError> {
        let http = self
            .access
            .builder()
            .connect_timeout(self.timeout)
            .build()
            .map_err(|e| self.transport_error(e))?;
        let resp = match http.get(self.url(path)).query(query).send().await {
            Ok(resp) => resp,
            Err(e) => return Err(self.connect_error(e).await),
        };
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let bytes = resp.bytes().await.unwrap_or_default();
            return Err(
                match serde_json::from_slice::<Envelope<()>>(&bytes)
                    .ok()
                    .and_then(|e| e.error)
                {
                    Some(err) => ClientError::Api {
                        status,
                        code: ErrorCode::from(err.code),
                        message: err.message,
                    },
                    None => ClientError::Protocol {
                        url: self.base.clone(),
                        detail: format!("HTTP {status} to GET {path}"),
                    },
                },
            );
        }
        Ok(resp)
    }

    /// Stream errors while reading a body returned by [`Client::backup`] or [`Client::watch`].
    pub fn stream_error(&self, e: reqwest::Error) -> ClientError {
        self.transport_error(e)
    }

    /// Lists up to `limit` (1-10000) keys under `prefix`, after the key `after` when given
    /// (the `next` of the page before).
    pub async fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: u32,
        consistency: Consistency,
    ) -> Result<KeysResult, ClientError> {
        // Prefix and `after` are bytes, percent-encoded octet by octet (not form text).
        let mut path = format!(
            "/api/v1/keys?prefix={}&limit={limit}&consistency={}",
            encode_key(prefix),
            consistency.as_str()
        );
        if let Some(after) = after {
            path.push_str(&format!("&after={}", encode_key(after)));
        }
        self.send(self.http.get(self.url(&path))).await
    }

    /// The node's status report.
    pub async fn status(&self) -> Result<NodeStatus, ClientError> {
        self.send(self.http.get(self.url("/api/v1/cluster/status"))).await
    }

    /// The leader as the node knows it.
    pub async fn leader(&self) -> Result<LeaderInfo, ClientError> {
        self.send(self.http.get(self.url("/api/v1/cluster/leader"))).await
    }

    /// Asks the cluster to add the node described by `req` as a learner.
    /// Asks to add the node `req` describes, proving with `peer_token` (when the cluster
    /// has one) that it holds the peer credential.
    pub async fn join(&self, req: &JoinRequest, peer_token: Option<&str>) -> Result<JoinResult, ClientError> {
        let mut post = self.http.post(self.url("/api/v1/cluster/join")).json(req);
        if let Some(token) = peer_token {
            post = post.header(crate::peer::PEER_TOKEN_HEADER, token);
        }
        self.send(post).await
    }

    /// Moves leadership to the member named or numbered `target`; returns once it leads.
    pub async fn transfer_leadership(&self, target: &str) -> Result<LeaderInfo, ClientError> {
        let req = self
            .http
            .post(self.url("/api/v1/cluster/transfer-leadership"))
            .query(&[("target", target)]);
        self.send(req).await
    }

    /// Removes the member named or numbered `target` from the cluster.
    pub async fn remove_member(&self, target: &str) -> Result<MemberInfo, ClientError> {
        let req = self
            .http
            .post(self.url("/api/v1/cluster/remove"))
            .query(&[("target", target)]);
        self.send(req).await
    }

    /// The node's health.
    pub async fn health(&self) -> Result<Health, ClientError> {
        self.send(self.http.get(self.url("/health"))).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T, ClientError> {
        let url = self.base.clone();
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(e) => return Err(self.connect_error(e).await),
        };
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| self.transport_error(e))?;
        let envelope: Envelope<T> = serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
            url: url.clone(),
            detail: format!("HTTP {status}, body is not a dcache envelope ({e})"),
        })?;
        match (envelope.success, envelope.data, envelope.error) {
            (true, Some(data), _) => Ok(data),
            (false, _, Some(err)) => Err(ClientError::Api {
                status,
                code: ErrorCode::from(err.code),
                message: err.message,
            }),
            _ => Err(ClientError::Protocol {
                url,
                detail: format!("HTTP {status}, envelope without data or error"),
            }),
        }
    }

    /// Why a request got no answer, with what to do: an untrusted certificate (use
    /// `--cacert`), the wrong scheme for the server (probed: one request to `/health` with the
    /// other scheme, only on this failure path), else [`Client::transport_error`].
    async fn connect_error(&self, e: reqwest::Error) -> ClientError {
        if let Some(reason) = untrusted_certificate(&e) {
            return ClientError::Untrusted {
                url: self.base.clone(),
                reason,
            };
        }
        let plain = self.base.starts_with("http://");
        if !e.is_timeout() && (e.is_connect() || e.is_request()) {
            let other = match plain {
                true => self.base.replacen("http://", "https://", 1),
                false => self.base.replacen("https://", "http://", 1),
            };
            if self.answers_at(&other).await {
                return ClientError::WrongScheme {
                    url: self.base.clone(),
                    speaks: if plain {
                        "serves https (TLS), not plain HTTP"
                    } else {
                        "serves plain HTTP, not https (TLS)"
                    },
                    use_url: other,
                };
            }
        }
        self.transport_error(e)
    }

    /// Whether something answers HTTP at `base` (any status, any certificate): the probe
    /// behind [`ClientError::WrongScheme`].
    async fn answers_at(&self, base: &str) -> bool {
        let probe = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .timeout(self.timeout.min(Duration::from_secs(2)))
            .build();
        match probe {
            Ok(http) => http.get(format!("{base}/health")).send().await.is_ok(),
            Err(_) => false,
        }
    }

    fn transport_error(&self, e: reqwest::Error) -> ClientError {
        if e.is_timeout() {
            ClientError::Timeout {
                url: self.base.clone(),
                timeout: self.timeout,
            }
        } else {
            let reason = if e.is_connect() {
                root_cause(&e).unwrap_or_else(|| "connection failed".into())
            } else {
                root_cause(&e).unwrap_or_else(|| e.to_string())
            };
            ClientError::Unreachable {
                url: self.base.clone(),
                reason,
            }
        }
    }
}

/// The reason when `e` failed because the server's certificate is not trusted: rustls's
/// certificate error, found in the error's chain (reqwest wraps it in nested I/O errors,
/// whose `source` skips the error they wrap).
fn untrusted_certificate(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(rustls::Error::InvalidCertificate(why)) = err.downcast_ref::<rustls::Error>() {
            return Some(format!("{why:?}"));
        }
        cur = match err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}

/// The innermost error message (e.g. "Connection refused (os error 111)").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur = e.source()?;
    while let Some(next) = cur.source() {
        cur = next;
    }
    Some(cur.to_string())
}

/// Key bytes for a URL path or query value: every octet but unreserved ASCII percent-encoded.
fn encode_key(key: &[u8]) -> String {
    percent_encode(key, KEY_SAFE).to_string()
}

/// Serializes `value` as pretty JSON for `-o json`.
pub fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

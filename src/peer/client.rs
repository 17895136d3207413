//! The typed peer client: one pooled HTTP client per node for every peer call, Raft RPCs and
//! application calls alike.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited, StreamBody};
use hyper::body::Frame;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use hyper::{Request, Uri};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::codec::{decode, encode, WireError, MSGPACK};
use super::{
    AdminReply, AdminRequest, Member, NodeId, PeerReply, Register, Route, Sender, CLOCK_HEADER, CLUSTER_HEADER,
    FROM_HEADER, PEER_TOKEN_HEADER, TO_HEADER,
};
use crate::cache::{Op, OpOutcome};
use crate::describe_chain;
use crate::tls::PeerClientTls;
use crate::types::Consistency;

/// Environment variable of the fault-injection test hook; see [`Reroutes`].
pub const TEST_PEER_ROUTES_ENV: &str = "DCACHE_TEST_PEER_ROUTES";

/// Test-only hook, empty unless `DCACHE_TEST_PEER_ROUTES` is set: pairs `PEER_URL=REPLACEMENT`.
/// Requests this node sends to `PEER_URL` go to `REPLACEMENT` instead (the fault harness puts
/// a TCP proxy per directed link there to cut, delay or drop traffic between two particular
/// nodes). Membership and every other use of the URL are unchanged.
#[derive(Debug, Clone, Default)]
pub struct Reroutes(Arc<Vec<(String, String)>>);

impl Reroutes {
    /// Reads the hook from the environment; called once, at start-up. Logs loudly when set.
    pub fn from_env() -> Reroutes {
        let Ok(spec) = std::env::var(TEST_PEER_ROUTES_ENV) else {
            return Reroutes::default();
        };
        let routes: Vec<(String, String)> = spec
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .map(|(from, to)| (from.trim().to_string(), to.trim().to_string()))
            .collect();
        tracing::warn!(
            ?routes,
            "test hook {TEST_PEER_ROUTES_ENV} is set: peer traffic is rerouted"
        );
        Reroutes(Arc::new(routes))
    }

    fn resolve<'a>(&'a self, base: &'a str) -> &'a str {
        self.0
            .iter()
            .find(|(from, _)| from == base)
            .map_or(base, |(_, to)| to.as_str())
    }
}

/// Why one peer call failed, before the caller maps it into its own error type. `cause` is
/// the whole chain of the underlying error, as one line.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("peer {url} unreachable: {cause}")]
    Unreachable { url: String, cause: String },
    #[error("peer {url} did not answer within {timeout:?}")]
    TimedOut { url: String, timeout: Duration },
    #[error("peer {url}: {cause}")]
    Http { url: String, cause: String },
    #[error("peer {url} answered {status}: {body}")]
    Status { url: String, status: u16, body: String },
    #[error(transparent)]
    Wire(#[from] WireError),
}

impl CallError {
    /// Whether the request certainly never arrived (so it is safe to send it again).
    pub fn never_arrived(&self) -> bool {
        matches!(self, CallError::Unreachable { .. })
    }
}

/// A request body: bytes in memory, or a stream (a snapshot's file).
pub type PeerBody = UnsyncBoxBody<Bytes, io::Error>;

/// A body of bytes already in memory.
pub fn full(bytes: impl Into<Bytes>) -> PeerBody {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed_unsync()
}

/// A body sent chunk by chunk as `chunks` yields them.
pub fn streaming(chunks: impl Stream<Item = io::Result<Bytes>> + Send + 'static) -> PeerBody {
    StreamBody::new(chunks.map_ok(Frame::data)).boxed_unsync()
}

/// The client for every call to peers; cheap to clone (one connection pool).
///
/// It is hyper's pooled HTTP/1.1 client, without a higher-level wrapper: peer calls are the
/// hot path of replication (every append and heartbeat) and of reads and writes that a
/// follower hands to the leader, and a wrapper's per-request work (URL parsing, header
/// merging, boxed timeouts) cost about as much CPU as the call itself.
#[derive(Clone)]
pub struct PeerClient {
    http: Client<HttpsConnector<HttpConnector>, PeerBody>,
    /// Sent with every request: content type, the cluster's `peer-token`, cluster id, sender.
    headers: Arc<HeaderMap>,
    reroutes: Reroutes,
    /// Largest answer read ([`MAX_ANSWER_BYTES`]; smaller in tests).
    max_answer: usize,
}

/// Largest answer body a peer call reads: far above any real answer (a forwarded write's
/// outcome is bounded by one operation, tens of MiB at most), it keeps a wrong or hostile
/// server at a peer URL from filling memory with an endless body before the call times out.
const MAX_ANSWER_BYTES: usize = 256 << 20;

impl PeerClient {
    /// A pooled client tuned for many small RPCs to few hosts, stamping every request with
    /// `sender` (cluster id and member id) and `token` (the cluster's `peer-token`) when one
    /// is set. With `tls` it speaks only https, presents this node's certificate and trusts
    /// only the peer CA; without, only http.
    ///
    /// Idle connections are dropped after 5 s, before a peer's `header-read-timeout` closes
    /// them from its side (a request racing such a close would fail).
    pub fn new(
        sender: &Sender,
        token: Option<&str>,
        tls: Option<&PeerClientTls>,
        reroutes: Reroutes,
    ) -> Result<PeerClient, rustls::Error> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(MSGPACK));
        if let Some(token) = token {
            if let Ok(value) = HeaderValue::from_str(token) {
                headers.insert(PEER_TOKEN_HEADER, value);
            }
        }
        // Config validation keeps the cluster id printable ASCII, a valid header value.
        if let Ok(value) = HeaderValue::from_str(&sender.cluster_id) {
            headers.insert(CLUSTER_HEADER, value);
        }
        headers.insert(FROM_HEADER, HeaderValue::from(sender.id));

        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(Duration::from_secs(2)));
        tcp.enforce_http(false);
        let connector = match tls {
            Some(tls) => HttpsConnectorBuilder::new()
                .with_tls_config(tls.config())
                .https_only()
                .enable_http1()
                .wrap_connector(tcp),
            None => HttpsConnectorBuilder::new()
                .with_tls_config(no_tls()?)
                .https_or_http()
                .enable_http1()
                .wrap_connector(tcp),
        };
        let http = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(5))
            .build(connector);
        Ok(PeerClient {
            http,
            headers: Arc::new(headers),
            reroutes,
            max_answer: MAX_ANSWER_BYTES,
        })
    }

    /// Sends `body` to `route` on the peer at `base` and returns the body of a 2xx answer.
    /// Connection failures (`Unreachable`: the request never arrived) are told apart from
    /// timeouts and other failures.
    pub async fn post(
        &self,
        base: &str,
        to: Option<NodeId>,
        route: Route,
        body: PeerBody,
        timeout: Duration,
    ) -> Result<Bytes, CallError> {
        Ok(self.post_for_headers(base, to, route, body, timeout).await?.1)
    }

    /// Like [`PeerClient::post`], with the answer's headers. `timeout` bounds the whole call,
    /// connecting and reading the answer included.
    async fn post_for_headers(
        &self,
        base: &str,
        to: Option<NodeId>,
        route: Route,
        body: PeerBody,
        timeout: Duration,
    ) -> Result<(HeaderMap, Bytes), CallError> {
        let url = format!("{}{}", self.reroutes.resolve(base.trim_end_matches('/')), route.path());
        let uri: Uri = match url.parse() {
            Ok(uri) => uri,
            Err(e) => {
                return Err(CallError::Unreachable {
                    cause: format!("not a URL ({e})"),
                    url,
                })
            }
        };
        let mut request = Request::post(uri).body(body).map_err(|e| CallError::Http {
            url: url.clone(),
            cause: describe_chain(&e),
        })?;
        *request.headers_mut() = (*self.headers).clone();
        if let Some(to) = to {
            request.headers_mut().insert(TO_HEADER, HeaderValue::from(to));
        }
        let call = async {
            let resp = self.http.request(request).await.map_err(|e| {
                if e.is_connect() {
                    CallError::Unreachable {
                        url: url.clone(),
                        cause: describe_chain(&e),
                    }
                } else {
                    CallError::Http {
                        url: url.clone(),
                        cause: describe_chain(&e),
                    }
                }
            })?;
            let (parts, body) = resp.into_parts();
            let bytes = Limited::new(body, self.max_answer).collect().await.map_err(|e| {
                let cause = match e.downcast_ref::<LengthLimitError>() {
                    Some(_) => format!("the answer is larger than {} bytes", self.max_answer),
                    None => describe_chain(&*e),
                };
                CallError::Http {
                    url: url.clone(),
                    cause,
                }
            })?;
            Ok::<_, CallError>((parts, bytes.to_bytes()))
        };
        let (parts, bytes) = match tokio::time::timeout(timeout, call).await {
            Ok(answer) => answer?,
            Err(_) => return Err(CallError::TimedOut { url, timeout }),
        };
        if !parts.status.is_success() {
            return Err(CallError::Status {
                url,
                status: parts.status.as_u16(),
                body: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        Ok((parts.headers, bytes))
    }

    /// Encodes `req`, posts it to `route` and decodes the answer.
    pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        base: &str,
        route: Route,
        req: &Req,
        timeout: Duration,
    ) -> Result<Resp, CallError> {
        self.call_member(base, None, route, req, timeout).await
    }

    /// Like [`PeerClient::call`], to member `to` when known: a node that is not `to` (another
    /// member now on that address) refuses the request.
    pub async fn call_member<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        base: &str,
        to: Option<NodeId>,
        route: Route,
        req: &Req,
        timeout: Duration,
    ) -> Result<Resp, CallError> {
        let bytes = self.post(base, to, route, full(encode(req)?), timeout).await?;
        Ok(decode(&bytes)?)
    }

    /// Asks the leader at `leader` to propose `op`.
    pub async fn forward_write(
        &self,
        leader: &Member,
        op: &Op,
        timeout: Duration,
    ) -> Result<PeerReply<OpOutcome>, CallError> {
        self.call(&leader.peer_url, Route::ForwardWrite, op, timeout).await
    }

    /// Asks the leader for the log index linearizable reads at `consistency` must wait for,
    /// and the leader's clock as it answered when it tells it ([`CLOCK_HEADER`]).
    pub async fn read_index(
        &self,
        leader: &Member,
        consistency: Consistency,
        timeout: Duration,
    ) -> Result<(PeerReply<u64>, Option<u64>), CallError> {
        let (headers, bytes) = self
            .post_for_headers(
                &leader.peer_url,
                None,
                Route::ReadIndex,
                full(encode(&consistency)?),
                timeout,
            )
            .await?;
        let clock = headers
            .get(CLOCK_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        Ok((decode(&bytes)?, clock))
    }

    /// Asks the leader to run a membership or leadership change.
    pub async fn admin(
        &self,
        leader: &Member,
        req: &AdminRequest,
        timeout: Duration,
    ) -> Result<PeerReply<AdminReply>, CallError> {
        self.call(&leader.peer_url, Route::Admin, req, timeout).await
    }

    /// Asks the leader to record `member` (with its client URL) as member `id`.
    pub async fn register(
        &self,
        leader: &Member,
        id: NodeId,
        member: Member,
        timeout: Duration,
    ) -> Result<PeerReply<()>, CallError> {
        let req = Register { id, member };
        self.call(&leader.peer_url, Route::Register, &req, timeout).await
    }

    /// Tells the member at `peer_url` that it was removed as `id`.
    pub async fn removed(&self, peer_url: &str, id: NodeId, timeout: Duration) -> Result<PeerReply<()>, CallError> {
        self.call_member(peer_url, Some(id), Route::Removed, &id, timeout).await
    }

    /// Whether the member at `peer_url` answers on its peer port within `timeout`.
    pub async fn ping(&self, peer_url: &str, timeout: Duration) -> bool {
        matches!(
            self.call::<_, PeerReply<()>>(peer_url, Route::Ping, &(), timeout).await,
            Ok(Ok(()))
        )
    }
}

/// The TLS settings of a node without peer TLS: it only speaks http to peers, so https is
/// refused (no root is trusted).
fn no_tls() -> Result<rustls::ClientConfig, rustls::Error> {
    Ok(
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> PeerClient {
        let sender = Sender {
            cluster_id: "test".into(),
            id: 1,
        };
        PeerClient::new(&sender, None, None, Reroutes::default()).unwrap()
    }

    #[tokio::test]
    async fn a_refused_connection_is_unreachable_and_names_the_cause() {
        // Bind a port, then free it: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let err = client()
            .post(&base, None, Route::Ping, full(Bytes::new()), Duration::from_secs(2))
            .await
            .unwrap_err();
        assert!(err.never_arrived(), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&base) && text.contains("Connection refused"), "{text}");
    }

    #[tokio::test]
    async fn a_peer_that_never_answers_times_out_within_the_deadline() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        // Accept and hold the connection, never answering.
        let held = tokio::spawn(async move { listener.accept().await.map(|(socket, _)| socket) });
        let started = std::time::Instant::now();
        let err = client()
            .post(&base, None, Route::Ping, full(Bytes::new()), Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(matches!(err, CallError::TimedOut { .. }), "{err:?}");
        assert!(!err.never_arrived());
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        drop(held);
    }

    #[tokio::test]
    async fn an_answer_past_the_bound_is_refused_naming_the_bound() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        // A server that answers every request with an endless chunked body.
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0; 4096];
            let _ = socket.read(&mut request).await;
            let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = format!("{:x}\r\n{}\r\n", 1024, "x".repeat(1024));
            while socket.write_all(chunk.as_bytes()).await.is_ok() {}
        });
        let client = PeerClient {
            max_answer: 64 * 1024,
            ..client()
        };
        let err = client
            .post(&base, None, Route::Ping, full(Bytes::new()), Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, CallError::Http { cause, .. } if cause.contains("larger than 65536 bytes")),
            "{err:?}"
        );
    }
}

//! The typed peer client: one pooled HTTP client per node for every peer call, Raft RPCs and
//! application calls alike.

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::codec::{decode, encode, WireError, MSGPACK};
use super::{
    AdminReply, AdminRequest, Member, NodeId, PeerReply, Register, Route, Sender, CLOCK_HEADER, CLUSTER_HEADER,
    FROM_HEADER, PEER_TOKEN_HEADER, TO_HEADER,
};
use crate::cache::{Op, OpOutcome};
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

/// Why one peer call failed, before the caller maps it into its own error type.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("peer {url} unreachable: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    #[error("peer {url} did not answer within {timeout:?}")]
    TimedOut { url: String, timeout: Duration },
    #[error("peer {url}: {source}")]
    Http { url: String, source: reqwest::Error },
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

/// The client for every call to peers; cheap to clone (one connection pool).
#[derive(Clone)]
pub struct PeerClient {
    http: reqwest::Client,
    reroutes: Reroutes,
}

impl PeerClient {
    /// A pooled client tuned for many small RPCs to few hosts, stamping every request with
    /// `sender` (cluster id and member id) and `token` (the cluster's `peer-token`) when one
    /// is set. With `tls` it speaks only https, presents this node's certificate and trusts
    /// only the peer CA.
    ///
    /// Idle connections are dropped after 5 s, before a peer's `header-read-timeout` closes
    /// them from its side (a request racing such a close would fail).
    pub fn new(
        sender: &Sender,
        token: Option<&str>,
        tls: Option<&PeerClientTls>,
        reroutes: Reroutes,
    ) -> Result<PeerClient, reqwest::Error> {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(token) = token {
            if let Ok(value) = reqwest::header::HeaderValue::from_str(token) {
                headers.insert(PEER_TOKEN_HEADER, value);
            }
        }
        // Config validation keeps the cluster id printable ASCII, a valid header value.
        if let Ok(value) = reqwest::header::HeaderValue::from_str(&sender.cluster_id) {
            headers.insert(CLUSTER_HEADER, value);
        }
        headers.insert(FROM_HEADER, reqwest::header::HeaderValue::from(sender.id));
        let builder = reqwest::Client::builder()
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(2))
            .default_headers(headers);
        let http = match tls {
            Some(tls) => tls.apply(builder),
            None => builder,
        }
        .build()?;
        Ok(PeerClient { http, reroutes })
    }

    /// Sends `body` to `route` on the peer at `base` and returns the body of a 2xx answer.
    /// Connection failures (`Unreachable`: the request never arrived) are told apart from
    /// timeouts and other failures.
    pub async fn post(
        &self,
        base: &str,
        to: Option<NodeId>,
        route: Route,
        body: impl Into<reqwest::Body>,
        timeout: Duration,
    ) -> Result<bytes::Bytes, CallError> {
        Ok(self.post_for_headers(base, to, route, body, timeout).await?.1)
    }

    /// Like [`PeerClient::post`], with the answer's headers.
    async fn post_for_headers(
        &self,
        base: &str,
        to: Option<NodeId>,
        route: Route,
        body: impl Into<reqwest::Body>,
        timeout: Duration,
    ) -> Result<(reqwest::header::HeaderMap, bytes::Bytes), CallError> {
        let url = format!("{}{}", self.reroutes.resolve(base.trim_end_matches('/')), route.path());
        let mut request = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, MSGPACK)
            .timeout(timeout)
            .body(body);
        if let Some(to) = to {
            request = request.header(TO_HEADER, to);
        }
        let sent = request.send().await;
        let resp = match sent {
            Ok(resp) => resp,
            Err(source) if source.is_connect() => return Err(CallError::Unreachable { url, source }),
            Err(source) if source.is_timeout() => return Err(CallError::TimedOut { url, timeout }),
            Err(source) => return Err(CallError::Http { url, source }),
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = match resp.bytes().await {
            Ok(bytes) => bytes,
            Err(source) => return Err(CallError::Http { url, source }),
        };
        if !status.is_success() {
            return Err(CallError::Status {
                url,
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        Ok((headers, bytes))
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
        let bytes = self.post(base, to, route, encode(req)?, timeout).await?;
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
            .post_for_headers(&leader.peer_url, None, Route::ReadIndex, encode(&consistency)?, timeout)
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

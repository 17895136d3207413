//! Outgoing Raft RPCs to peers over HTTP, with one pooled reqwest client per node.
//!
//! Wire format (shared with `server::peer_api`): each RPC is `POST {peer_url}/raft/{name}`
//! with a MessagePack body (field names kept, so added optional fields stay compatible) and a
//! MessagePack reply on 200. A snapshot travels as raw bytes after a length-prefixed header,
//! so its size is bounded by memory, not by a JSON or form limit.

use std::future::Future;
use std::time::Duration;

use openraft::errors::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest, TransferLeaderResponse,
    VoteRequest, VoteResponse,
};
use openraft::RaftNetworkV2;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Member, NodeId, Snapshot, TypeConfig, Vote};
use crate::tls::PeerClientTls;

/// Content type of every peer message body.
pub const MSGPACK: &str = "application/msgpack";

/// Errors of the peer wire format, shared with the receiving side.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("cannot encode peer message: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    #[error("malformed peer message: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
    #[error("malformed snapshot frame: {0}")]
    Frame(&'static str),
}

/// Encodes a peer message body.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, WireError> {
    Ok(rmp_serde::to_vec_named(value)?)
}

/// Deepest nesting a peer message may have. Real messages stay far below it (an append
/// request with a batch entry is about ten levels); the bound keeps a hostile body from
/// exhausting the stack of the task that decodes it.
const MAX_DEPTH: usize = 128;

/// Decodes a peer message body (nesting limited to [`MAX_DEPTH`]).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
    de.set_max_depth(MAX_DEPTH);
    Ok(T::deserialize(&mut de)?)
}

/// Frames a snapshot as `[u32 header length][msgpack (vote, meta)][raw data]`.
pub fn encode_snapshot(vote: &Vote, snapshot: &Snapshot) -> Result<Vec<u8>, WireError> {
    let header = encode(&(vote, &snapshot.meta))?;
    let len = u32::try_from(header.len()).map_err(|_| WireError::Frame("header longer than 4 GiB"))?;
    let mut out = Vec::with_capacity(4 + header.len() + snapshot.snapshot.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&snapshot.snapshot);
    Ok(out)
}

/// Splits a frame made by [`encode_snapshot`] back into the vote and the snapshot.
pub fn decode_snapshot(frame: &[u8]) -> Result<(Vote, Snapshot), WireError> {
    let (len, rest) = frame
        .split_first_chunk::<4>()
        .ok_or(WireError::Frame("shorter than its length prefix"))?;
    let len = u32::from_be_bytes(*len) as usize;
    if rest.len() < len {
        return Err(WireError::Frame("header length exceeds the body"));
    }
    let (header, data) = rest.split_at(len);
    let (vote, meta) = decode(header)?;
    Ok((
        vote,
        Snapshot {
            meta,
            snapshot: data.to_vec(),
        },
    ))
}

/// Environment variable of the fault-injection test hook; see [`test_route`].
pub const TEST_PEER_ROUTES_ENV: &str = "DCACHE_TEST_PEER_ROUTES";

/// Test-only hook, off unless `DCACHE_TEST_PEER_ROUTES` is set: a comma-separated list of
/// `PEER_URL=REPLACEMENT` pairs. Requests this node sends to `PEER_URL` go to `REPLACEMENT`
/// instead (the fault harness puts a TCP proxy per directed link there to cut, delay or drop
/// traffic between two particular nodes). Membership and every other use of the URL are
/// unchanged. Read once per process.
pub fn test_route(base: &str) -> &str {
    static ROUTES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    let routes = ROUTES.get_or_init(|| {
        let Ok(spec) = std::env::var(TEST_PEER_ROUTES_ENV) else {
            return Vec::new();
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
        routes
    });
    routes
        .iter()
        .find(|(from, _)| from == base)
        .map_or(base, |(_, to)| to.as_str())
}

/// Sends one peer request, `POST {base}/raft/{rpc}` with a MessagePack body, and returns the
/// reply body of a 2xx answer. Connection failures are told apart (`Unreachable`: the request
/// never arrived, so it is safe to retry) from timeouts and other failures.
pub async fn post(
    http: &reqwest::Client,
    base: &str,
    rpc: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<bytes::Bytes, CallError> {
    let url = format!("{}/raft/{rpc}", test_route(base));
    let resp = http
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, MSGPACK)
        .timeout(timeout)
        .body(body)
        .send()
        .await
        .map_err(|source| {
            if source.is_connect() {
                CallError::Unreachable {
                    url: url.clone(),
                    source,
                }
            } else if source.is_timeout() {
                CallError::TimedOut {
                    url: url.clone(),
                    timeout,
                }
            } else {
                CallError::Http {
                    url: url.clone(),
                    source,
                }
            }
        })?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|source| CallError::Http {
        url: url.clone(),
        source,
    })?;
    if !status.is_success() {
        return Err(CallError::Status {
            url,
            status: status.as_u16(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        });
    }
    Ok(bytes)
}

/// Creates peer clients; holds the pooled HTTP client they share.
#[derive(Clone)]
pub struct Network {
    http: reqwest::Client,
}

/// Header that carries the shared `peer-token` on every peer request.
pub const PEER_TOKEN_HEADER: &str = "x-dcache-peer-token";

/// The HTTP client for peer requests: pooled, tuned for many small RPCs to few hosts, and
/// sending `token` (the cluster's `peer-token`) with every request when one is set. With
/// `tls`, it speaks only https, presents this node's certificate and trusts only the peer CA.
///
/// Idle connections are dropped after 5 s, before a peer's `header-read-timeout` closes them
/// from its side (a request racing such a close would fail).
pub fn peer_http(token: Option<&str>, tls: Option<&PeerClientTls>) -> Result<reqwest::Client, reqwest::Error> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = token {
        if let Ok(value) = reqwest::header::HeaderValue::from_str(token) {
            headers.insert(PEER_TOKEN_HEADER, value);
        }
    }
    let builder = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(2))
        .default_headers(headers);
    match tls {
        Some(tls) => tls.apply(builder),
        None => builder,
    }
    .build()
}

impl Network {
    /// A factory whose clients send `token` with every RPC, over mutual TLS with `tls`.
    pub fn new(token: Option<&str>, tls: Option<&PeerClientTls>) -> Result<Self, reqwest::Error> {
        Ok(Network {
            http: peer_http(token, tls)?,
        })
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &Member) -> Self::Network {
        PeerClient {
            target,
            base: node.peer_url.trim_end_matches('/').to_string(),
            http: self.http.clone(),
        }
    }
}

/// The RPC client for one peer.
pub struct PeerClient {
    target: NodeId,
    base: String,
    http: reqwest::Client,
}

/// Why one peer request failed, before mapping into openraft's (or the node's) error types.
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
    fn into_rpc(self) -> RPCError<TypeConfig> {
        match &self {
            CallError::Unreachable { .. } => RPCError::Unreachable(Unreachable::new(&self)),
            _ => RPCError::Network(NetworkError::new(&self)),
        }
    }

    fn into_streaming(self) -> StreamingError<TypeConfig> {
        match &self {
            CallError::Unreachable { .. } => StreamingError::Unreachable(Unreachable::new(&self)),
            _ => StreamingError::Network(NetworkError::new(&self)),
        }
    }
}

impl PeerClient {
    async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        rpc: &str,
        req: &Req,
        timeout: Duration,
    ) -> Result<Resp, CallError> {
        let body = encode(req)?;
        let bytes = self.post(rpc, body, timeout).await?;
        Ok(decode(&bytes)?)
    }

    async fn post(&self, rpc: &str, body: Vec<u8>, timeout: Duration) -> Result<bytes::Bytes, CallError> {
        post(&self.http, &self.base, rpc, body, timeout).await
    }
}

impl RaftNetworkV2<TypeConfig> for PeerClient {
    type SnapshotData = Vec<u8>;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.call("append", &rpc, option.hard_ttl())
            .await
            .map_err(CallError::into_rpc)
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.call("vote", &rpc, option.hard_ttl())
            .await
            .map_err(CallError::into_rpc)
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.call("pre-vote", &rpc, option.hard_ttl())
            .await
            .map_err(CallError::into_rpc)
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + openraft::OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let frame = encode_snapshot(&vote, &snapshot).map_err(|e| CallError::from(e).into_streaming())?;
        tracing::info!(target_node = self.target, bytes = frame.len(), "sending snapshot");
        let send = async {
            let bytes = self.post("snapshot", frame, option.hard_ttl()).await?;
            Ok::<_, CallError>(decode(&bytes)?)
        };
        tokio::select! {
            closed = cancel => Err(StreamingError::Closed(closed)),
            res = send => res.map_err(CallError::into_streaming),
        }
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.call("transfer-leader", &req, option.hard_ttl())
            .await
            .map_err(CallError::into_rpc)
    }
}

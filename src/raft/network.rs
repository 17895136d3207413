//! openraft's network traits over the peer protocol: outgoing Raft RPCs through the shared
//! [`PeerClient`], and the answers to incoming ones. Routes, codec and client live in `peer`.
//!
//! A snapshot travels as raw bytes after a length-prefixed header, so its size is bounded by
//! memory, not by a body-format limit.

use std::future::Future;

use openraft::errors::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest, TransferLeaderResponse,
    VoteRequest, VoteResponse,
};
use openraft::RaftNetworkV2;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Member, NodeId, Raft, Snapshot, TypeConfig, Vote};
use crate::peer::{decode, encode, CallError, PeerClient, Route, WireError};

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

/// Why an incoming Raft RPC got no answer.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    /// The body was not a valid message (400).
    #[error(transparent)]
    Malformed(#[from] WireError),
    /// Raft has stopped (503).
    #[error("raft is stopped: {0}")]
    Stopped(String),
    /// Not a Raft route.
    #[error("not a raft route: {0:?}")]
    NotRaft(Route),
}

/// An answered Raft RPC: the encoded answer, and whether it came from a leader this node
/// accepts as current (an append it did not refuse for a higher vote).
pub struct Answered {
    pub body: Vec<u8>,
    pub from_current_leader: bool,
}

fn stopped(e: impl std::fmt::Display) -> InboundError {
    InboundError::Stopped(e.to_string())
}

/// Answers the Raft RPC `route` with body `body`: decodes it, hands it to the Raft core and
/// encodes the core's answer.
pub async fn answer(raft: &Raft, route: Route, body: &[u8]) -> Result<Answered, InboundError> {
    if route == Route::Append {
        let resp = raft.append_entries(decode(body)?).await.map_err(stopped)?;
        return Ok(Answered {
            from_current_leader: !matches!(resp, AppendEntriesResponse::HigherVote(_)),
            body: encode(&resp)?,
        });
    }
    let reply = match route {
        Route::Vote => encode(&raft.vote(decode(body)?).await.map_err(stopped)?),
        Route::PreVote => encode(&raft.pre_vote(decode(body)?).await.map_err(stopped)?),
        Route::TransferLeader => encode(&raft.handle_transfer_leader(decode(body)?).await.map_err(stopped)?),
        Route::Snapshot => {
            let (vote, snapshot) = decode_snapshot(body)?;
            if let Some(f) =
                crate::version::snapshot_body_format(&snapshot.snapshot).filter(|f| *f > crate::version::max_format())
            {
                return Err(WireError::TooNew(crate::cache::too_new("snapshot", f)).into());
            }
            encode(&raft.install_full_snapshot(vote, snapshot).await.map_err(stopped)?)
        }
        other => return Err(InboundError::NotRaft(other)),
    };
    Ok(Answered {
        body: reply?,
        from_current_leader: false,
    })
}

/// Creates the per-peer clients openraft asks for; they share one [`PeerClient`].
#[derive(Clone)]
pub struct Network {
    peers: PeerClient,
}

impl Network {
    /// A factory whose clients go through `peers`.
    pub fn new(peers: PeerClient) -> Self {
        Network { peers }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: NodeId, node: &Member) -> Self::Network {
        PeerConnection {
            target,
            base: node.peer_url.clone(),
            peers: self.peers.clone(),
        }
    }
}

/// openraft's view of one peer.
pub struct PeerConnection {
    target: NodeId,
    base: String,
    peers: PeerClient,
}

fn into_rpc(e: CallError) -> RPCError<TypeConfig> {
    if e.never_arrived() {
        RPCError::Unreachable(Unreachable::new(&e))
    } else {
        RPCError::Network(NetworkError::new(&e))
    }
}

fn into_streaming(e: CallError) -> StreamingError<TypeConfig> {
    if e.never_arrived() {
        StreamingError::Unreachable(Unreachable::new(&e))
    } else {
        StreamingError::Network(NetworkError::new(&e))
    }
}

impl PeerConnection {
    async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        route: Route,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<TypeConfig>> {
        self.peers
            .call_member(&self.base, Some(self.target), route, req, option.hard_ttl())
            .await
            .map_err(into_rpc)
    }
}

impl RaftNetworkV2<TypeConfig> for PeerConnection {
    type SnapshotData = Vec<u8>;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.call(Route::Append, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.call(Route::Vote, &rpc, &option).await
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.call(Route::PreVote, &rpc, &option).await
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + openraft::OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let frame = encode_snapshot(&vote, &snapshot).map_err(|e| into_streaming(e.into()))?;
        tracing::info!(target_node = self.target, bytes = frame.len(), "sending snapshot");
        let send = async {
            let bytes = self
                .peers
                .post(&self.base, Some(self.target), Route::Snapshot, frame, option.hard_ttl())
                .await?;
            Ok::<_, CallError>(decode(&bytes)?)
        };
        tokio::select! {
            closed = cancel => Err(StreamingError::Closed(closed)),
            res = send => res.map_err(into_streaming),
        }
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.call(Route::TransferLeader, &req, &option).await
    }
}

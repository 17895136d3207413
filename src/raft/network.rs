//! openraft's network traits over the peer protocol: outgoing Raft RPCs through the shared
//! [`PeerClient`], and the answers to incoming ones. Routes, codec and client live in `peer`.
//!
//! A snapshot travels as raw bytes after a length-prefixed header, streamed from the body
//! file on the sender and into a new file on the receiver: its size is bounded by disk, not
//! by memory or a body-format limit.

use std::future::Future;
use std::sync::Arc;

use openraft::errors::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest, TransferLeaderResponse,
    VoteRequest, VoteResponse,
};
use openraft::{EntryPayload, RaftNetworkV2};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::store::Store;
use super::{LogEntry, Member, NodeId, Raft, Snapshot, SnapshotMeta, TypeConfig, Vote};
use crate::peer::{decode, encode, CallError, PeerClient, Route, WireError};

/// The longest snapshot frame header accepted: a vote and a snapshot's meta (with the
/// membership) are a few hundred bytes.
const MAX_SNAPSHOT_HEADER: usize = 1 << 20;

/// The head of a snapshot frame, `[u32 header length][msgpack (vote, meta)]`; the body's raw
/// bytes follow it.
pub fn encode_snapshot_header(vote: &Vote, meta: &SnapshotMeta) -> Result<Vec<u8>, WireError> {
    let header = encode(&(vote, meta))?;
    let len = u32::try_from(header.len()).map_err(|_| WireError::Frame("header longer than 4 GiB"))?;
    let mut out = Vec::with_capacity(4 + header.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&header);
    Ok(out)
}

/// Parses the head of a snapshot frame from its first bytes: the vote, the meta and where
/// the body starts; `Ok(None)` while `prefix` is too short to tell.
pub fn decode_snapshot_header(prefix: &[u8]) -> Result<Option<(Vote, SnapshotMeta, usize)>, WireError> {
    let Some((len, rest)) = prefix.split_first_chunk::<4>() else {
        return Ok(None);
    };
    let len = u32::from_be_bytes(*len) as usize;
    if len > MAX_SNAPSHOT_HEADER {
        return Err(WireError::Frame("header longer than 1 MiB"));
    }
    if rest.len() < len {
        return Ok(None);
    }
    let (vote, meta) = decode(&rest[..len])?;
    Ok(Some((vote, meta, 4 + len)))
}

/// How much disk a snapshot from the leader may take: at most `max_bytes` (when this node
/// bounds its memory, a snapshot of its cache cannot honestly be much larger), and never so
/// much that less than [`SnapshotBound::DISK_RESERVE`] stays free on the data dir's disk.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotBound {
    pub max_bytes: Option<u64>,
}

impl SnapshotBound {
    /// Free disk kept for the log, the vote and the next snapshot.
    pub const DISK_RESERVE: u64 = 64 << 20;
    /// How often (in bytes received) free disk space is looked at.
    const DISK_CHECK_EVERY: u64 = 8 << 20;

    /// The bound for a node whose cache holds at most `max_memory` bytes, if bounded: twice
    /// that (an encoded entry is its accounted size or less) plus 64 MiB.
    pub fn for_memory(max_memory: Option<u64>) -> SnapshotBound {
        SnapshotBound {
            max_bytes: max_memory.map(|m| m.saturating_mul(2).saturating_add(64 << 20)),
        }
    }

    /// `Err(why)` once `received` bytes are past the bound, or when `dir`'s disk would keep
    /// less than the reserve.
    fn check(&self, dir: &std::path::Path, received: u64, checked_disk_at: &mut u64) -> Result<(), String> {
        if let Some(max) = self.max_bytes.filter(|max| received > *max) {
            return Err(format!(
                "the snapshot from the leader is over {} (twice this node's max-memory plus 64 MiB); refused \
                 (is this member's max-memory smaller than the leader's?)",
                bytesize::ByteSize(max).to_string_as(true)
            ));
        }
        if received >= *checked_disk_at + Self::DISK_CHECK_EVERY {
            *checked_disk_at = received;
            if let Ok(fs) = nix::sys::statvfs::statvfs(dir) {
                // fsblkcnt_t and c_ulong are u64 on 64-bit Linux, narrower elsewhere.
                #[allow(clippy::unnecessary_cast)]
                let free = (fs.blocks_available() as u64).saturating_mul(fs.fragment_size() as u64);
                if free < Self::DISK_RESERVE {
                    return Err(format!(
                        "the snapshot from the leader would leave less than {} MiB free on the disk of {} \
                         ({} received so far); refused, free some space",
                        Self::DISK_RESERVE >> 20,
                        dir.display(),
                        bytesize::ByteSize(received).to_string_as(true)
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Receives a snapshot frame from `body`: the head, then the body streamed into a new file
/// of `store` (never held in memory whole), within `bound`. A transfer that breaks off or
/// goes past the bound leaves no file. Needs the multi-threaded runtime (`block_in_place`).
pub async fn receive_snapshot<E: std::fmt::Display>(
    store: &Store,
    bound: SnapshotBound,
    mut body: impl futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
) -> Result<(Vote, Snapshot), InboundError> {
    use futures::StreamExt;
    use std::io::Write;
    let broke = |e: E| InboundError::Transfer(format!("the snapshot transfer broke off: {e}"));
    let mut head = Vec::new();
    let (vote, meta, start) = loop {
        if let Some(parsed) = decode_snapshot_header(&head)? {
            break parsed;
        }
        match body.next().await {
            Some(chunk) => head.extend_from_slice(&chunk.map_err(broke)?),
            None => return Err(WireError::Frame("ends inside its header").into()),
        }
    };
    let index = meta.last_log_id.as_ref().map_or(0, |l| l.index());
    let io = |e: std::io::Error| InboundError::Transfer(format!("cannot store the snapshot: {e}"));
    let mut file = store.new_snapshot(index).await.map_err(io)?;
    file.write_all(&head[start..]).map_err(io)?;
    let mut received = (head.len() - start) as u64;
    let mut checked_disk_at = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(broke)?;
        received += chunk.len() as u64;
        bound
            .check(&store.dir(), received, &mut checked_disk_at)
            .map_err(InboundError::Transfer)?;
        // File writes block (a sync every few MiB, the final fsync): off the runtime's
        // workers, so heartbeats keep being answered while a large snapshot lands.
        tokio::task::block_in_place(|| file.write_all(&chunk)).map_err(io)?;
    }
    let snapshot = tokio::task::block_in_place(|| file.finish()).map_err(io)?;
    let format = snapshot.head(16).map_err(io)?;
    if let Some(f) = crate::version::snapshot_body_format(&format).filter(|f| *f > crate::version::max_format()) {
        return Err(WireError::TooNew(crate::cache::too_new("snapshot", f)).into());
    }
    Ok((vote, Snapshot { meta, snapshot }))
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
    /// A snapshot could not be received or stored (503; the leader sends it again).
    #[error("{0}")]
    Transfer(String),
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
        other => return Err(InboundError::NotRaft(other)),
    };
    Ok(Answered {
        body: reply?,
        from_current_leader: false,
    })
}

/// Installs a snapshot received with [`receive_snapshot`] and encodes the core's answer.
pub async fn install_snapshot(raft: &Raft, vote: Vote, snapshot: Snapshot) -> Result<Vec<u8>, InboundError> {
    Ok(encode(
        &raft.install_full_snapshot(vote, snapshot).await.map_err(stopped)?,
    )?)
}

/// The last log index in an encoded vote or pre-vote request (0 when the sender's log is
/// empty); `None` when `body` is not one.
pub fn vote_last_log_index(body: &[u8]) -> Option<u64> {
    let req: VoteRequest<TypeConfig> = decode(body).ok()?;
    Some(req.last_log_id.map_or(0, |l| l.index()))
}

/// Raised when a member answers this node's vote with 410 Gone: its committed membership,
/// newer than anything in this node's log, no longer has this node. A node removed while
/// down, or while the leader that removed it crashed before telling it, learns it this way.
#[derive(Clone)]
pub struct RemovedSignal(Arc<tokio::sync::watch::Sender<Option<String>>>);

impl Default for RemovedSignal {
    fn default() -> Self {
        RemovedSignal(Arc::new(tokio::sync::watch::channel(None).0))
    }
}

impl RemovedSignal {
    /// Raises the signal with the member's explanation; the first explanation stays.
    fn raise(&self, why: String) {
        self.0
            .send_if_modified(|current| current.is_none() && current.replace(why).is_none());
    }

    /// Waits until the signal is raised (by now or later); returns the member's explanation.
    pub async fn raised(&self) -> String {
        let mut rx = self.0.subscribe();
        let why = rx.wait_for(Option::is_some).await.map(|why| why.clone());
        match why {
            Ok(why) => why.unwrap_or_default(),
            // The sender lives in `self`, so it cannot be gone while this waits.
            Err(_) => std::future::pending().await,
        }
    }
}

/// Creates the per-peer clients openraft asks for; they share one [`PeerClient`].
#[derive(Clone)]
pub struct Network {
    peers: PeerClient,
    removed: RemovedSignal,
}

impl Network {
    /// A factory whose clients go through `peers` and raise `removed` when a member says
    /// this node was removed.
    pub fn new(peers: PeerClient, removed: RemovedSignal) -> Self {
        Network { peers, removed }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: NodeId, node: &Member) -> Self::Network {
        PeerConnection {
            target,
            base: node.peer_url.clone(),
            peers: self.peers.clone(),
            removed: self.removed.clone(),
        }
    }
}

/// How many heartbeat intervals an append that carries entries may take to be answered
/// (1 s at the default 100 ms): long enough for a follower to take a few MB of large values
/// under load, short enough that a peer that stopped answering is noticed.
const APPEND_TTL_FACTOR: u32 = 10;

/// Most key and value bytes one append request carries, unless its first entry alone is
/// larger.
const APPEND_BYTES: usize = 4 << 20;

/// How many of `entries`, from the first, fit in `budget` key and value bytes (at least one).
fn entries_within(entries: &[LogEntry], budget: usize) -> usize {
    let mut bytes = 0;
    for (n, entry) in entries.iter().enumerate() {
        bytes += match &entry.payload {
            EntryPayload::Normal(req) => req.change.approx_bytes(),
            EntryPayload::Blank | EntryPayload::Membership(_) => 0,
        };
        if n > 0 && bytes > budget {
            return n;
        }
    }
    entries.len()
}

/// openraft's view of one peer.
pub struct PeerConnection {
    target: NodeId,
    base: String,
    peers: PeerClient,
    removed: RemovedSignal,
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
        let answer = self
            .peers
            .call_member(&self.base, Some(self.target), route, req, option.hard_ttl())
            .await;
        if let Err(CallError::Status { status: 410, body, .. }) = &answer {
            if matches!(route, Route::Vote | Route::PreVote) {
                self.removed.raise(format!("member {} answered: {body}", self.target));
            }
        }
        answer.map_err(into_rpc)
    }
}

impl RaftNetworkV2<TypeConfig> for PeerConnection {
    type SnapshotData = super::store::SnapshotFile;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        // openraft gives every append the heartbeat interval (100 ms by default) to answer.
        // One that carries entries may be megabytes (a follower catching up on large values)
        // that the follower decodes and fsyncs before it answers; cut off, it is sent again
        // whole, which doubles the work when the machine is busiest. Entries get
        // APPEND_TTL_FACTOR heartbeat intervals; a heartbeat keeps the short deadline.
        if rpc.entries.is_empty() {
            return self.call(Route::Append, &rpc, &option).await;
        }
        let option = RPCOption::new(option.hard_ttl() * APPEND_TTL_FACTOR);
        // openraft bounds an append by entries (300), not bytes: a follower catching up on
        // large values would get 100 MB or more in one request, held whole in memory on both
        // sides. Send it as consecutive appends of at most APPEND_BYTES (or one entry) each.
        let AppendEntriesRequest {
            vote,
            mut prev_log_id,
            leader_commit,
            entries: mut rest,
        } = rpc;
        let mut acked = None;
        loop {
            let tail = rest.split_off(entries_within(&rest, APPEND_BYTES));
            let entries = std::mem::replace(&mut rest, tail);
            let last = entries.last().map(|e| e.log_id);
            let part = AppendEntriesRequest::<TypeConfig> {
                vote,
                prev_log_id,
                leader_commit,
                entries,
            };
            match (self.call(Route::Append, &part, &option).await, acked) {
                (Ok(AppendEntriesResponse::Success), _) if rest.is_empty() => {
                    return Ok(AppendEntriesResponse::Success)
                }
                (Ok(AppendEntriesResponse::Success), _) => (prev_log_id, acked) = (last, Some(last)),
                (Ok(higher @ AppendEntriesResponse::HigherVote(_)), _) => return Ok(higher),
                // Nothing went through yet: the answer stands for the whole request.
                (answer, None) => return answer,
                // The first parts went through: say how far, and openraft sends the rest.
                (_, Some(through)) => return Ok(AppendEntriesResponse::PartialSuccess(through)),
            }
        }
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

    /// Streams the frame head, then the body file in chunks: the body is never copied into
    /// memory whole.
    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + openraft::OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        use futures::StreamExt;
        let head = encode_snapshot_header(&vote, &snapshot.meta).map_err(|e| into_streaming(e.into()))?;
        let bytes = head.len() as u64 + snapshot.snapshot.len();
        tracing::info!(target_node = self.target, bytes, "sending snapshot");
        let frame = futures::stream::once(async move { Ok::<_, std::io::Error>(bytes::Bytes::from(head)) })
            .chain(snapshot.snapshot.chunks());
        let frame = crate::peer::streaming(frame);
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

#[cfg(test)]
mod tests {
    use openraft::alias::LeaderIdOf;
    use openraft::entry::RaftEntry;
    use openraft::vote::RaftLeaderIdExt;

    use super::*;
    use crate::cache::{Change, Request, Write};
    use crate::raft::LogId;

    fn entry(index: u64, value_bytes: usize) -> LogEntry {
        let leader = <LeaderIdOf<TypeConfig> as RaftLeaderIdExt>::new_committed(1, 1);
        let request = Request {
            at_ms: 1_000,
            max_bytes: None,
            change: Change::Writes(vec![Write::Set {
                key: b"k".into(),
                value: vec![b'v'; value_bytes].into(),
                ttl_ms: None,
                if_version: None,
            }]),
        };
        LogEntry::new_normal(LogId::new(leader, index), request)
    }

    #[test]
    fn an_append_carries_the_entries_that_fit_its_byte_budget_and_always_one() {
        let entries: Vec<LogEntry> = (1..=10).map(|i| entry(i, 999)).collect();
        // Each entry is 1000 key and value bytes.
        assert_eq!(entries_within(&entries, 10_000), 10, "all fit");
        assert_eq!(entries_within(&entries, 3_500), 3, "the fourth would pass the budget");
        assert_eq!(entries_within(&entries, 3_000), 3, "exactly at the budget is in");
        assert_eq!(
            entries_within(&entries, 10),
            1,
            "one entry larger than the budget still goes"
        );
        assert_eq!(entries_within(&[], 10), 0);
    }
}

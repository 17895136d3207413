//! The peer API: Raft RPCs from other nodes (append, vote, snapshot, transfer-leader) and the
//! node-to-node requests that make any node serve any client (forwarded writes, read index,
//! client URL registration). MessagePack in, MessagePack out; see `raft::network`.

use std::convert::Infallible;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::cache::Command;
use crate::config::security::constant_time_eq;
use crate::node::{AdminRequest, Node, PeerReply};
use crate::raft::network::{decode, decode_snapshot, encode, WireError, MSGPACK, PEER_TOKEN_HEADER};
use crate::raft::{Member, NodeId};
use crate::types::Consistency;

/// The peer router over `node`. Bodies are unbounded: a snapshot is as large as the cache.
pub fn router(node: Node) -> Router {
    Router::new()
        .route("/raft/append", post(append))
        .route("/raft/vote", post(vote))
        .route("/raft/pre-vote", post(pre_vote))
        .route("/raft/snapshot", post(snapshot))
        .route("/raft/transfer-leader", post(transfer_leader))
        .route("/raft/forward-write", post(forward_write))
        .route("/raft/read-index", post(read_index))
        .route("/raft/register", post(register))
        .route("/raft/admin", post(admin))
        .route("/raft/removed", post(removed))
        .route("/raft/ping", post(ping))
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(node.clone(), require_peer_token))
        .with_state(node)
}

fn reply<T: Serialize>(value: &T) -> Response {
    match encode(value) {
        Ok(bytes) => ([(header::CONTENT_TYPE, MSGPACK)], bytes).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

fn bad_request(e: WireError) -> Response {
    tracing::warn!(error = %e, "rejected a malformed peer message");
    (StatusCode::BAD_REQUEST, e.to_string()).into_response()
}

fn fatal(e: impl std::fmt::Display) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, format!("raft is stopped: {e}")).into_response()
}

/// Decodes the request, runs `f` on it, and encodes its answer; a malformed body gets 400
/// and a stopped Raft 503.
async fn handle<Req, Resp, E, F, Fut>(body: Bytes, f: F) -> Response
where
    Req: DeserializeOwned,
    Resp: Serialize,
    E: std::fmt::Display,
    F: FnOnce(Req) -> Fut,
    Fut: std::future::Future<Output = Result<Resp, E>>,
{
    let req = match decode(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    match f(req).await {
        Ok(resp) => reply(&resp),
        Err(e) => fatal(e),
    }
}

async fn append(State(node): State<Node>, body: Bytes) -> Response {
    handle(body, |req| async move { node.raft().append_entries(req).await }).await
}

async fn vote(State(node): State<Node>, body: Bytes) -> Response {
    handle(body, |req| async move { node.raft().vote(req).await }).await
}

async fn pre_vote(State(node): State<Node>, body: Bytes) -> Response {
    handle(body, |req| async move { node.raft().pre_vote(req).await }).await
}

async fn snapshot(State(node): State<Node>, body: Bytes) -> Response {
    let (vote, snapshot) = match decode_snapshot(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(e),
    };
    match node.raft().install_full_snapshot(vote, snapshot).await {
        Ok(resp) => reply(&resp),
        Err(e) => fatal(e),
    }
}

async fn transfer_leader(State(node): State<Node>, body: Bytes) -> Response {
    handle(body, |req| async move { node.raft().handle_transfer_leader(req).await }).await
}

async fn forward_write(State(node): State<Node>, body: Bytes) -> Response {
    handle(body, |cmd: Command| async move {
        let reply: PeerReply<_> = node.write_as_leader(cmd).await.map_err(Into::into);
        Ok::<_, Infallible>(reply)
    })
    .await
}

async fn read_index(State(node): State<Node>, body: Bytes) -> Response {
    handle(body, |consistency: Consistency| async move {
        let reply: PeerReply<_> = node.read_index(consistency).await.map_err(Into::into);
        Ok::<_, Infallible>(reply)
    })
    .await
}

async fn register(State(node): State<Node>, body: Bytes) -> Response {
    handle(body, |(id, member): (NodeId, Member)| async move {
        tracing::info!(id, name = %member.name, client_url = %member.client_url, "member registers its client URL");
        let reply: PeerReply<()> = node.update_member(id, member).await.map_err(Into::into);
        Ok::<_, Infallible>(reply)
    })
    .await
}

async fn admin(State(node): State<Node>, body: Bytes) -> Response {
    handle(body, |req: AdminRequest| async move {
        let deadline = std::time::Instant::now() + node.config().limits.request_timeout;
        let reply: PeerReply<_> = node.admin_as_leader(req, deadline).await.map_err(Into::into);
        Ok::<_, Infallible>(reply)
    })
    .await
}

async fn removed(State(node): State<Node>, body: Bytes) -> Response {
    handle(body, |id: NodeId| async move {
        let reply: PeerReply<()> = node.removed(id).map_err(Into::into);
        Ok::<_, Infallible>(reply)
    })
    .await
}

async fn ping(body: Bytes) -> Response {
    handle(
        body,
        |(): ()| async move { Ok::<_, Infallible>(PeerReply::<()>::Ok(())) },
    )
    .await
}

/// Refuses peer requests without the cluster's `peer-token` (when one is configured), before
/// their bodies are read: a stranger on the peer port cannot append, vote, install a
/// snapshot, forward writes or change membership.
async fn require_peer_token(
    State(node): State<Node>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(want) = node.config().security.peer_token.as_deref() else {
        return next.run(req).await;
    };
    let given = req.headers().get(PEER_TOKEN_HEADER).map(|v| v.as_bytes());
    if given.is_some_and(|g| constant_time_eq(g, want.as_bytes())) {
        return next.run(req).await;
    }
    tracing::warn!(path = %req.uri().path(), "refused a peer request without the right peer-token");
    (StatusCode::UNAUTHORIZED, "missing or wrong peer token").into_response()
}

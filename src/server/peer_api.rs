//! The peer listener's router: every [`Route`] of the peer protocol, Raft RPCs handed to
//! the node's Raft core and application calls to the node API. Bodies are decoded and
//! answers encoded with the peer codec; see `crate::peer`.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::security::constant_time_eq;
use crate::node::{InboundError, Node, NodeError};
use crate::peer::{
    decode, encode, AdminRequest, NodeId, PeerReply, Register, Route, WireError, CLOCK_HEADER, CLUSTER_HEADER,
    FROM_HEADER, MSGPACK, PEER_TOKEN_HEADER, TO_HEADER,
};
use crate::types::Consistency;

/// The peer router over `node`. Bodies are bounded by the client request bound, a forwarded
/// write by what one operation may take; appends and snapshots, which carry log entries and
/// the whole cache, are not.
pub fn router(node: Node) -> Router {
    let limits = &node.config().limits;
    let (bound, operation) = (limits.max_request_bytes(), limits.max_operation_bytes());
    let mut router = Router::new();
    for route in Route::ALL {
        if route == Route::Snapshot {
            // Streamed to a file as it arrives; bounded by disk, not memory.
            router = router.route(route.path(), post(receive_snapshot));
            continue;
        }
        let limit = match route {
            Route::Append => DefaultBodyLimit::disable(),
            Route::ForwardWrite => DefaultBodyLimit::max(operation),
            _ => DefaultBodyLimit::max(bound),
        };
        router = router.route(
            route.path(),
            post(move |state, body| serve(route, state, body)).layer(limit),
        );
    }
    router
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(node.clone(), check_sender))
        .layer(axum::middleware::from_fn_with_state(node.clone(), require_peer_token))
        // After the token layer: a client pointed at this port by mistake learns where the
        // client API is without holding the peer token (the client URL is advertised anyway).
        .fallback(wrong_port)
        .with_state(node)
}

/// Any request that is not a peer route, e.g. a CLI given this port as `--server`: 404 in
/// the client API's envelope, naming this node's client URL.
async fn wrong_port(State(node): State<Node>) -> super::client_api::ApiError {
    super::client_api::ApiError::new(
        crate::types::ErrorCode::NotFound,
        format!(
            "this is a dcache peer port; the client port is {} (give that as --server)",
            node.config().advertise_client_url
        ),
    )
}

/// Answers one call on `route`.
async fn serve(route: Route, State(node): State<Node>, body: Bytes) -> Response {
    match route {
        Route::ForwardWrite => call(&body, |op| async move { node.write_as_leader(op).await }).await,
        Route::ReadIndex => {
            let leader = node.clone();
            let mut answer = call(&body, |c: Consistency| async move { leader.read_index(c).await }).await;
            // Still the leader once the round is done: its clock, for the member that asked.
            if node.leader_id() == Some(node.id()) {
                answer.headers_mut().insert(CLOCK_HEADER, node.clock_ms().into());
            }
            answer
        }
        Route::Register => {
            call(&body, |r: Register| async move {
                tracing::info!(id = r.id, name = %r.member.name, client_url = %r.member.client_url,
                    "member registers its client URL");
                node.update_member(r.id, r.member).await
            })
            .await
        }
        Route::Admin => {
            call(&body, |req: AdminRequest| async move {
                let deadline = std::time::Instant::now() + node.config().limits.request_timeout;
                node.admin_as_leader(req, deadline).await
            })
            .await
        }
        Route::Removed => call(&body, |id: NodeId| async move { node.removed(id) }).await,
        Route::Ping => call(&body, |(): ()| async move { Ok(()) }).await,
        raft => raft_answer(&node, node.raft_rpc(raft, &body).await),
    }
}

/// A snapshot from the leader, streamed into a body file, then installed.
async fn receive_snapshot(State(node): State<Node>, body: axum::body::Body) -> Response {
    let answer = node.receive_snapshot(body.into_data_stream()).await;
    raft_answer(&node, answer)
}

/// The response to a Raft RPC: its encoded answer, 400 for a malformed message, 503 when
/// this node cannot take it now. A message of a newer format stops the node.
fn raft_answer(node: &Node, answer: Result<Vec<u8>, InboundError>) -> Response {
    match answer {
        Ok(bytes) => ([(header::CONTENT_TYPE, MSGPACK)], bytes).into_response(),
        Err(InboundError::Malformed(e)) if e.is_too_new() => {
            node.stop_incompatible(format!("a message from the leader holds {e}"));
            (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response()
        }
        Err(InboundError::Malformed(e)) => bad_request(e),
        Err(e) => {
            if matches!(e, InboundError::Transfer(_)) {
                tracing::warn!(error = %e, "snapshot from the leader not installed");
            }
            (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response()
        }
    }
}

/// Decodes an application call, runs `f` on it and encodes its [`PeerReply`]; a malformed
/// body gets 400.
async fn call<Req, Resp, F, Fut>(body: &[u8], f: F) -> Response
where
    Req: DeserializeOwned,
    Resp: Serialize,
    F: FnOnce(Req) -> Fut,
    Fut: std::future::Future<Output = Result<Resp, NodeError>>,
{
    let req = match decode(body) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    let reply: PeerReply<Resp> = f(req).await.map_err(Into::into);
    match encode(&reply) {
        Ok(bytes) => ([(header::CONTENT_TYPE, MSGPACK)], bytes).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

fn bad_request(e: WireError) -> Response {
    tracing::warn!(error = %e, "rejected a malformed peer message");
    (StatusCode::BAD_REQUEST, e.to_string()).into_response()
}

/// Refuses peer requests of another cluster, meant for another member, from a sender that
/// is not a member (see [`Node::check_peer`]), or, under mutual TLS, whose certificate does
/// not name the claimed member's host (see [`Node::check_peer_certificate`]), with 409 and a
/// logged error naming both sides.
/// Two clusters on the same addresses never take each other's votes or entries.
async fn check_sender(State(node): State<Node>, req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let (checked, from, same_cluster) = {
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        let id = |name: &str| header(name).and_then(|v| v.parse::<NodeId>().ok());
        let cert = req.extensions().get::<super::listener::PeerCertificate>();
        let checked = node
            .check_peer(header(CLUSTER_HEADER), id(FROM_HEADER), id(TO_HEADER))
            .and_then(|()| node.check_peer_certificate(id(FROM_HEADER), cert.map(|c| c.0.as_slice())));
        let same_cluster = header(CLUSTER_HEADER) == Some(node.config().cluster_id.as_str());
        (checked, id(FROM_HEADER), same_cluster)
    };
    let Err(why) = checked else {
        return next.run(req).await;
    };
    let path = req.uri().path().to_string();
    log_refusal(&path, &why);
    // A member of this cluster asking for votes although it was removed (the leader that
    // removed it may have died before telling it): tell it so, and it stops for good.
    let asks_for_votes = path == Route::Vote.path() || path == Route::PreVote.path();
    if let (Some(from), true, true) = (from, same_cluster, asks_for_votes) {
        let body = axum::body::to_bytes(req.into_body(), 64 * 1024)
            .await
            .unwrap_or_default();
        let gone = crate::raft::network::vote_last_log_index(&body).and_then(|last| node.removal_of(from, last));
        if let Some(gone) = gone {
            return (StatusCode::GONE, gone).into_response();
        }
    }
    (StatusCode::CONFLICT, why).into_response()
}

/// Logs a refused peer request, at most once a second (a foreign node retries every
/// heartbeat).
fn log_refusal(path: &str, why: &str) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST_SECOND: AtomicU64 = AtomicU64::new(0);
    let now = crate::node::wall_clock_ms() / 1000;
    if LAST_SECOND.swap(now, Ordering::Relaxed) != now {
        tracing::error!(%path, "refused a peer request: {why}");
    }
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

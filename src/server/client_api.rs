//! The client API: the original dcache routes under `/api/v1` plus `/health`, in the JSON
//! envelope. Handlers validate input and translate between HTTP and `Node`; every failure,
//! including malformed paths, queries and bodies, answers with the error envelope.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::config::security::Role;
use crate::node::{Node, NodeError};
use crate::types::{Envelope, ErrorBody, ErrorCode, Health, JoinRequest, JoinResult, LeaderInfo, MemberInfo};

mod kv;
mod raw;
mod watch;

/// An error answer: a code (which fixes the status) and a message.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    current_version: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            current_version: None,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body: Envelope<()> = Envelope {
            success: false,
            data: None,
            error: Some(ErrorBody {
                code: self.code.as_str().to_string(),
                message: self.message,
                current_version: self.current_version,
            }),
        };
        (status, Json(body)).into_response()
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        let code = match &e {
            NodeError::NoLeader(_) | NodeError::NotLeader => ErrorCode::NoLeader,
            NodeError::Timeout(_) => ErrorCode::Timeout,
            NodeError::Stopped => ErrorCode::NotReady,
            NodeError::MemberNotFound(_) => ErrorCode::MemberNotFound,
            NodeError::Refused(_) => ErrorCode::Conflict,
            NodeError::Internal(_) => ErrorCode::Internal,
            NodeError::ClusterTooOld(_) => ErrorCode::ClusterVersion,
            NodeError::TooLarge(_) => ErrorCode::PayloadTooLarge,
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        ApiError::invalid(format!("bad key in path: {}", e.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::invalid(format!("bad query string: {}", e.body_text()))
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "request body too large ({}): a request may carry at most 6 x (max-key-bytes \
                     + max-value-bytes) + 64 KiB, so that its writes fit in one log entry",
                    e.body_text()
                ),
            )
        } else if caused_by_body_timeout(&e) {
            ApiError::new(
                ErrorCode::RequestTimeout,
                "the request body did not arrive within the request timeout",
            )
        } else {
            ApiError::invalid(format!("cannot read request body: {}", e.body_text()))
        }
    }
}

/// Whether reading the body failed because the client was slower than the request timeout.
fn caused_by_body_timeout(e: &BytesRejection) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        if c.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

pub(crate) type ApiResult<T> = Result<Json<Envelope<T>>, ApiError>;

pub(crate) fn ok<T: Serialize>(data: T) -> ApiResult<T> {
    Ok(Json(Envelope::ok(data)))
}

/// The client API router over `node`.
pub fn router(node: Node) -> Router {
    let limits = &node.config().limits;
    let body_limit = limits.max_request_bytes();
    Router::new()
        .route("/health", get(health))
        .route("/api/v1/get/{*key}", get(kv::get_key))
        .route("/api/v1/set", post(kv::set_key))
        .route("/api/v1/delete/{*key}", delete(kv::delete_key))
        .route("/api/v1/expire", post(kv::expire_key))
        .route("/api/v1/persist", post(kv::persist_key))
        .route("/api/v1/keys", get(kv::scan_keys))
        .route("/api/v1/batch", post(kv::batch))
        .route("/api/v1/watch", get(watch::watch))
        .route("/metrics", get(super::metrics::scrape))
        .route("/api/v1/snapshot", {
            // One backup at a time per node: each holds a file and a sender task.
            let turn = Arc::new(tokio::sync::Semaphore::new(1));
            get(move |state| backup(state, turn))
        })
        .route("/api/v1/cluster/status", get(cluster_status))
        .route("/api/v1/cluster/leader", get(cluster_leader))
        .route("/api/v1/cluster/transfer-leadership", post(transfer_leadership))
        .route("/api/v1/cluster/join", post(join))
        .route("/api/v1/cluster/remove", post(remove))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            limits.request_timeout,
        ))
        .route_layer(axum::middleware::from_fn(raw::refuse_non_utf8_query))
        .route_layer(axum::middleware::from_fn_with_state(node.clone(), require_token))
        .route_layer(axum::middleware::from_fn_with_state(
            node.clone(),
            super::metrics::track,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(on_panic))
        .with_state(node)
}

/// The least role a client request needs: membership changes need an admin token, reads
/// (GET) any token, everything else (and backups: the whole cache at once, as costly as any
/// write) a read-write one.
fn needed_role(method: &axum::http::Method, path: &str) -> Role {
    const MEMBERSHIP: [&str; 3] = [
        "/api/v1/cluster/join",
        "/api/v1/cluster/remove",
        "/api/v1/cluster/transfer-leadership",
    ];
    if MEMBERSHIP.contains(&path) {
        Role::Admin
    } else if matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD) && path != "/api/v1/snapshot" {
        Role::ReadOnly
    } else {
        Role::ReadWrite
    }
}

/// With client tokens configured, admits a request only with `Authorization: Bearer TOKEN`
/// naming a known token whose role allows it (see [`needed_role`]). `/health` stays open so
/// load balancers can probe. 401/403 otherwise.
async fn require_token(
    State(node): State<Node>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let security = &node.config().security;
    if security.auth_tokens.is_empty() || req.uri().path() == "/health" {
        return next.run(req).await;
    }
    let presented = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| bearer_token(v.as_bytes()));
    let role = presented.and_then(|t| security.role_of(t.trim_ascii()));
    let needs = needed_role(req.method(), req.uri().path());
    match role {
        Some(role) if role >= needs => next.run(req).await,
        Some(role) => {
            tracing::info!(path = %req.uri().path(), ?role, ?needs, "refused a request the token's role does not allow");
            let message = if needs == Role::Admin {
                "this token may not change the membership; join, remove and transfer-leadership need an admin token \
                 (admin-token / `role: admin`)"
            } else {
                "this token is read-only; the request needs a read-write token"
            };
            ApiError::new(ErrorCode::Forbidden, message).into_response()
        }
        None => {
            let why = if presented.is_some() {
                "unknown token"
            } else {
                "no token"
            };
            tracing::info!(path = %req.uri().path(), why, "refused a client request");
            let mut resp = ApiError::new(
                ErrorCode::Unauthorized,
                format!("{why}: this node requires `Authorization: Bearer TOKEN` (dcache --token / DCACHE_TOKEN)"),
            )
            .into_response();
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
            resp
        }
    }
}

/// Size of the pieces a backup is sent in.
const BACKUP_CHUNK: usize = 256 * 1024;

/// `GET /api/v1/snapshot`: a backup file (see [`crate::backup`]) of every write acknowledged
/// before the request, streamed as the header then the body. Needs a read-write token (when
/// tokens are on); one at a time per node (`turn`; 503 `BACKUP_IN_PROGRESS` otherwise). The
/// body is read from a file in pieces, and a client that takes no piece for
/// `header-read-timeout` loses the backup (its turn, file and connection are given up).
async fn backup(State(node): State<Node>, turn: Arc<tokio::sync::Semaphore>) -> Result<Response, ApiError> {
    let Ok(turn) = turn.try_acquire_owned() else {
        return Err(ApiError::new(
            ErrorCode::BackupInProgress,
            "this node is already sending a backup; retry when it is done",
        ));
    };
    let (meta, file) = node.backup().await?;
    let mut header = Vec::new();
    crate::backup::write_header(&mut header, &meta)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("cannot encode the backup header: {e}")))?;
    let length = header.len() as u64 + meta.body_bytes;
    let stall = node.config().conn_limits.header_read_timeout;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let _turn = turn;
        let mut file = tokio::fs::File::from_std(file);
        let mut next = Ok(Bytes::from(header));
        loop {
            let last = next.is_err();
            if tx.send_timeout(next, stall).await.is_err() {
                tracing::info!(?stall, "a backup reader stopped reading; the backup is abandoned");
                return;
            }
            if last {
                return;
            }
            let mut buf = vec![0u8; BACKUP_CHUNK];
            next = match file.read(&mut buf).await {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    Ok(Bytes::from(buf))
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the backup file; the backup is cut short");
                    Err(e)
                }
            };
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (axum::http::header::CONTENT_LENGTH, length.to_string()),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}

/// The token of an `Authorization: Bearer TOKEN` header; the scheme name is
/// case-insensitive (RFC 9110).
fn bearer_token(header: &[u8]) -> Option<&[u8]> {
    let (scheme, token) = header.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case(b"bearer ").then_some(token)
}

fn on_panic(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked; the node keeps serving");
    ApiError::new(ErrorCode::Internal, "internal error while handling the request").into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route; see the API section of the README")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "this route does not accept that method")
}

async fn health(State(node): State<Node>) -> Response {
    match node.health() {
        Ok(leader) => Json(Envelope::ok(Health {
            status: "ok".into(),
            leader: Some(leader),
        }))
        .into_response(),
        Err(why) => ApiError::new(ErrorCode::NoLeader, why).into_response(),
    }
}

async fn cluster_status(State(node): State<Node>) -> ApiResult<crate::types::NodeStatus> {
    ok(node.status())
}

/// The leader, only while this node is in touch with it (see `Node::health`): a leader
/// nobody can reach is not named.
async fn cluster_leader(State(node): State<Node>) -> ApiResult<crate::types::LeaderInfo> {
    if let Err(why) = node.health() {
        return Err(ApiError::new(ErrorCode::NoLeader, why));
    }
    match node.leader() {
        Some(l) => ok(l),
        None => Err(ApiError::new(
            ErrorCode::NoLeader,
            "no leader known yet; an election may be in progress",
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetParams {
    target: Option<String>,
}

fn target(query: Result<Query<TargetParams>, QueryRejection>) -> Result<String, ApiError> {
    let Query(params) = query?;
    match params.target {
        Some(t) if !t.trim().is_empty() => Ok(t.trim().to_string()),
        _ => Err(ApiError::invalid("`target` (a member name or id) is required")),
    }
}

async fn transfer_leadership(
    State(node): State<Node>,
    query: Result<Query<TargetParams>, QueryRejection>,
) -> ApiResult<LeaderInfo> {
    let target = target(query)?;
    match node.transfer_leader(target).await {
        Ok(leader) => ok(leader),
        Err(NodeError::Refused(m)) => Err(ApiError::new(ErrorCode::TransferRefused, m)),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JoinParams {
    /// Accepted for compatibility with the original API; the request is always routed to the
    /// current leader.
    #[allow(dead_code)]
    leader: Option<String>,
}

/// Adds a node as a learner. A client token alone cannot: the leader starts sending Raft
/// traffic (and the peer token) to `peer_url` at once, so the joiner proves it already holds
/// the peer credential. With a `peer-token` the request carries it; with mutual TLS the
/// `peer_url` must be https://, and the leader talks to it only if its certificate chains to
/// the peer CA and names its host. `peer_url` must use the scheme of the cluster's peers.
async fn join(
    State(node): State<Node>,
    headers: axum::http::HeaderMap,
    query: Result<Query<JoinParams>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<JoinResult> {
    let _ = query?;
    let security = &node.config().security;
    if let Some(expected) = &security.peer_token {
        let presented = headers
            .get(crate::peer::PEER_TOKEN_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !crate::config::security::constant_time_eq(presented, expected.as_bytes()) {
            tracing::warn!("refused a join without the peer token");
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!(
                    "joining this cluster needs its peer-token in the {} header (a dcache node started \
                     with --peer-token sends it); a client token alone cannot add members",
                    crate::peer::PEER_TOKEN_HEADER
                ),
            ));
        }
    }
    let body = body?;
    let req: JoinRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid(format!(
            "body must be JSON {{\"name\":\"...\",\"peer_url\":\"http://...\",\"client_url\":\"http://...\"}}: {e}"
        ))
    })?;
    let req = JoinRequest {
        name: crate::config::check_name(&req.name)
            .map(|_| req.name)
            .map_err(|m| ApiError::invalid(format!("name {m}")))?,
        peer_url: crate::config::base_url(&req.peer_url)
            .map_err(|m| ApiError::invalid(format!("peer_url {m}")))
            .and_then(|url| {
                let tls = security.peer_tls.is_some();
                if crate::config::security::is_https(&url) == tls {
                    return Ok(url);
                }
                let want = if tls { "https://" } else { "http://" };
                Err(ApiError::invalid(format!(
                    "peer_url `{url}` must use {want} like this cluster's peers"
                )))
            })?,
        client_url: crate::config::base_url(&req.client_url)
            .map_err(|m| ApiError::invalid(format!("client_url {m}")))?,
        version: req.version,
        format: req.format,
    };
    let member = node.join(req).await?;
    ok(JoinResult {
        member,
        cluster_id: node.config().cluster_id.clone(),
    })
}

async fn remove(State(node): State<Node>, query: Result<Query<TargetParams>, QueryRejection>) -> ApiResult<MemberInfo> {
    let target = target(query)?;
    ok(node.remove(target).await?)
}

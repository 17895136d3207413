//! The client API: the original dcache routes under `/api/v1` plus `/health`, in the JSON
//! envelope. Handlers validate input and translate between HTTP and `Node`; every failure,
//! including malformed paths, queries and bodies, answers with the error envelope.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::cache::{Command, Outcome};
use crate::node::{AdminReply, AdminRequest, Node, NodeError};
use crate::types::{
    Consistency, DeleteResult, Envelope, ErrorBody, ErrorCode, Health, JoinRequest, JoinResult, KeyValue, KeysResult,
    LeaderInfo, MemberInfo, SetRequest, SetResult,
};

/// Largest `limit` a scan accepts.
pub const MAX_SCAN_LIMIT: usize = 10_000;
/// Scan limit when none is given.
pub const DEFAULT_SCAN_LIMIT: usize = 100;

/// An error answer: a code (which fixes the status) and a message.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
}

impl ApiError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
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
                format!("request body too large: {}", e.body_text()),
            )
        } else {
            ApiError::invalid(format!("cannot read request body: {}", e.body_text()))
        }
    }
}

type ApiResult<T> = Result<Json<Envelope<T>>, ApiError>;

fn ok<T: Serialize>(data: T) -> ApiResult<T> {
    Ok(Json(Envelope::ok(data)))
}

/// The client API router over `node`.
pub fn router(node: Node) -> Router {
    let limits = &node.config().limits;
    // JSON escaping can grow a string up to six times (\uXXXX); allow for it plus framing.
    let body_limit = (limits.max_key_bytes + limits.max_value_bytes).saturating_mul(6) + 64 * 1024;
    Router::new()
        .route("/health", get(health))
        .route("/api/v1/get/{*key}", get(get_key))
        .route("/api/v1/set", post(set_key))
        .route("/api/v1/delete/{*key}", delete(delete_key))
        .route("/api/v1/keys", get(scan_keys))
        .route("/api/v1/cluster/status", get(cluster_status))
        .route("/api/v1/cluster/leader", get(cluster_leader))
        .route("/api/v1/cluster/transfer-leadership", post(transfer_leadership))
        .route("/api/v1/cluster/join", post(join))
        .route("/api/v1/cluster/remove", post(remove))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(on_panic))
        .with_state(node)
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
    match node.leader_id() {
        Some(leader) => Json(Envelope::ok(Health {
            status: "ok".into(),
            leader: Some(leader),
        }))
        .into_response(),
        None => ApiError::new(ErrorCode::NoLeader, "no leader known yet").into_response(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadParams {
    consistency: Option<String>,
}

fn parse_consistency(raw: Option<&str>) -> Result<Consistency, ApiError> {
    raw.map(str::parse)
        .transpose()
        .map_err(ApiError::invalid)
        .map(Option::unwrap_or_default)
}

fn check_key(node: &Node, key: &str) -> Result<(), ApiError> {
    let max = node.config().limits.max_key_bytes;
    if key.is_empty() {
        return Err(ApiError::invalid("key must not be empty"));
    }
    if key.len() > max {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("key is {} bytes; the limit is {max} (max-key-bytes)", key.len()),
        ));
    }
    Ok(())
}

async fn get_key(
    State(node): State<Node>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<ReadParams>, QueryRejection>,
) -> ApiResult<KeyValue> {
    let Path(key) = path?;
    let Query(params) = query?;
    check_key(&node, &key)?;
    let consistency = parse_consistency(params.consistency.as_deref())?;
    node.linearize(consistency).await?;
    let applied = node.state().read();
    match applied.cache.get(&key) {
        Some(entry) => ok(KeyValue {
            key,
            value: entry.value.clone(),
            version: entry.version,
        }),
        None => Err(ApiError::new(ErrorCode::KeyNotFound, format!("key {key:?} not found"))),
    }
}

async fn set_key(State(node): State<Node>, body: Result<Bytes, BytesRejection>) -> ApiResult<SetResult> {
    // The content type is not checked: the original accepted any, and `curl -d` sends
    // form-urlencoded by default. The body must be JSON either way.
    let body = body?;
    // serde would also accept `["k","v"]` for a struct; only an object is a set request.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::invalid(
            "body must be a JSON object {\"key\":\"...\",\"value\":\"...\"}",
        ));
    }
    let req: SetRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("body must be JSON {{\"key\":\"...\",\"value\":\"...\"}}: {e}")))?;
    check_key(&node, &req.key)?;
    let max = node.config().limits.max_value_bytes;
    if req.value.len() > max {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "value is {} bytes; the limit is {max} (max-value-bytes)",
                req.value.len()
            ),
        ));
    }
    let key = req.key.clone();
    match node
        .write(Command::Set {
            key: req.key,
            value: req.value,
        })
        .await?
    {
        Outcome::Set { version } => ok(SetResult { key, version }),
        other => Err(ApiError::new(
            ErrorCode::Internal,
            format!("unexpected outcome {other:?}"),
        )),
    }
}

async fn delete_key(State(node): State<Node>, path: Result<Path<String>, PathRejection>) -> ApiResult<DeleteResult> {
    let Path(key) = path?;
    check_key(&node, &key)?;
    match node.write(Command::Delete { key: key.clone() }).await? {
        Outcome::Deleted { existed } => ok(DeleteResult { key, deleted: existed }),
        other => Err(ApiError::new(
            ErrorCode::Internal,
            format!("unexpected outcome {other:?}"),
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanParams {
    #[serde(default)]
    prefix: String,
    limit: Option<String>,
    consistency: Option<String>,
}

async fn scan_keys(
    State(node): State<Node>,
    query: Result<Query<ScanParams>, QueryRejection>,
) -> ApiResult<KeysResult> {
    let Query(params) = query?;
    let limit = match params.limit.as_deref() {
        None | Some("") => DEFAULT_SCAN_LIMIT,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=MAX_SCAN_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid(format!(
                    "limit `{raw}` is not valid; use a number from 1 to {MAX_SCAN_LIMIT}"
                )))
            }
        },
    };
    let consistency = parse_consistency(params.consistency.as_deref())?;
    node.linearize(consistency).await?;
    let applied = node.state().read();
    let (items, truncated) = applied.cache.scan(&params.prefix, limit);
    let keys: Vec<KeyValue> = items
        .into_iter()
        .map(|(k, e)| KeyValue {
            key: k.to_string(),
            value: e.value.clone(),
            version: e.version,
        })
        .collect();
    ok(KeysResult {
        prefix: params.prefix.clone(),
        count: keys.len(),
        keys,
        truncated,
    })
}

async fn cluster_status(State(node): State<Node>) -> ApiResult<crate::types::NodeStatus> {
    ok(node.status())
}

async fn cluster_leader(State(node): State<Node>) -> ApiResult<crate::types::LeaderInfo> {
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
    match node.admin(AdminRequest::TransferLeader { target }).await {
        Ok(AdminReply::Leader(l)) => ok(l),
        Ok(other) => Err(ApiError::new(
            ErrorCode::Internal,
            format!("unexpected reply {other:?}"),
        )),
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

async fn join(
    State(node): State<Node>,
    query: Result<Query<JoinParams>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<JoinResult> {
    let _ = query?;
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
        peer_url: crate::config::base_url(&req.peer_url).map_err(|m| ApiError::invalid(format!("peer_url {m}")))?,
        client_url: crate::config::base_url(&req.client_url)
            .map_err(|m| ApiError::invalid(format!("client_url {m}")))?,
    };
    match node.admin(AdminRequest::Join(req)).await? {
        AdminReply::Member(member) => ok(JoinResult {
            member,
            cluster_id: node.config().cluster_id.clone(),
        }),
        other => Err(ApiError::new(
            ErrorCode::Internal,
            format!("unexpected reply {other:?}"),
        )),
    }
}

async fn remove(State(node): State<Node>, query: Result<Query<TargetParams>, QueryRejection>) -> ApiResult<MemberInfo> {
    let target = target(query)?;
    match node.admin(AdminRequest::Remove { target }).await? {
        AdminReply::Member(m) => ok(m),
        other => Err(ApiError::new(
            ErrorCode::Internal,
            format!("unexpected reply {other:?}"),
        )),
    }
}

//! Key-value routes: get, set, delete, scan and batch. Validation happens here, before
//! anything reaches Raft; conditional and size failures decided by the state machine come
//! back as `Outcome`s and are turned into 412/413.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{ok, ApiError, ApiResult};
use crate::cache::{Command, Entry, Outcome};
use crate::node::Node;
use crate::types::{
    BatchOp, BatchOpResult, BatchRequest, BatchResult, Consistency, DeleteResult, ErrorCode, KeyValue, KeysResult,
    SetRequest, SetResult,
};

/// Largest `limit` a scan accepts.
pub(super) const MAX_SCAN_LIMIT: usize = 10_000;
/// Scan limit when none is given.
pub(super) const DEFAULT_SCAN_LIMIT: usize = 100;
/// Most operations in one batch.
pub(super) const MAX_BATCH_OPS: usize = 1_000;
/// Longest TTL accepted: ten years.
const MAX_TTL_MS: u64 = 10 * 365 * 24 * 3600 * 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReadParams {
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

fn check_value(node: &Node, value: &str) -> Result<(), ApiError> {
    let max = node.config().limits.max_value_bytes;
    if value.len() > max {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("value is {} bytes; the limit is {max} (max-value-bytes)", value.len()),
        ));
    }
    Ok(())
}

fn check_ttl(ttl_ms: Option<u64>) -> Result<(), ApiError> {
    match ttl_ms {
        Some(0) => Err(ApiError::invalid("ttl_ms must be at least 1 (omit it for no expiry)")),
        Some(t) if t > MAX_TTL_MS => Err(ApiError::invalid(format!("ttl_ms {t} is longer than ten years"))),
        _ => Ok(()),
    }
}

/// Parses a JSON object body; serde would also accept an array for a struct.
fn parse_body<T: DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, ApiError> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::invalid(format!("body must be a JSON object {shape}")));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("body must be JSON {shape}: {e}")))
}

/// Turns a refused outcome into its error; `Ok` passes anything else through.
fn refused(outcome: Outcome) -> Result<Outcome, ApiError> {
    match outcome {
        Outcome::ConditionFailed { key, current } => {
            let mut e = ApiError::new(
                ErrorCode::ConditionFailed,
                match current {
                    Some(v) => format!("condition failed: key {key:?} is at version {v}"),
                    None => format!("condition failed: key {key:?} does not exist"),
                },
            );
            e.current_version = Some(current.unwrap_or(0));
            Err(e)
        }
        Outcome::TooLarge { key, bytes, max_bytes } => Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("key {key:?} needs {bytes} bytes, more than the whole memory bound of {max_bytes} (max-memory)"),
        )),
        other => Ok(other),
    }
}

fn unexpected(outcome: Outcome) -> ApiError {
    ApiError::new(ErrorCode::Internal, format!("unexpected outcome {outcome:?}"))
}

fn key_value(key: String, entry: &Entry, now_ms: u64) -> KeyValue {
    KeyValue {
        key,
        value: entry.value.to_string(),
        version: entry.version,
        ttl_ms: entry.expires_at_ms().map(|t| t.saturating_sub(now_ms)),
    }
}

pub(super) async fn get_key(
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
    let now = node.read_clock_ms(&applied);
    match applied.cache.get(&key, now) {
        Some(entry) => ok(key_value(key.clone(), entry, now)),
        None => Err(ApiError::new(ErrorCode::KeyNotFound, format!("key {key:?} not found"))),
    }
}

pub(super) async fn set_key(State(node): State<Node>, body: Result<Bytes, BytesRejection>) -> ApiResult<SetResult> {
    // The content type is not checked: the original accepted any, and `curl -d` sends
    // form-urlencoded by default. The body must be a JSON object either way.
    let body = body?;
    let req: SetRequest = parse_body(&body, r#"{"key":"...","value":"..."}"#)?;
    check_key(&node, &req.key)?;
    check_value(&node, &req.value)?;
    check_ttl(req.ttl_ms)?;
    let key = req.key.clone();
    let cmd = Command::Set {
        key: req.key,
        value: req.value,
        ttl_ms: req.ttl_ms,
        if_version: req.if_version,
    };
    match refused(node.write(cmd).await?.outcome)? {
        Outcome::Set { version } => ok(SetResult { key, version }),
        other => Err(unexpected(other)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeleteParams {
    if_version: Option<u64>,
}

pub(super) async fn delete_key(
    State(node): State<Node>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<DeleteParams>, QueryRejection>,
) -> ApiResult<DeleteResult> {
    let Path(key) = path?;
    let Query(params) = query?;
    check_key(&node, &key)?;
    let cmd = Command::Delete {
        key: key.clone(),
        if_version: params.if_version,
    };
    match refused(node.write(cmd).await?.outcome)? {
        Outcome::Deleted { existed } => ok(DeleteResult { key, deleted: existed }),
        other => Err(unexpected(other)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScanParams {
    #[serde(default)]
    prefix: String,
    limit: Option<String>,
    consistency: Option<String>,
}

pub(super) async fn scan_keys(
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
    let now = node.read_clock_ms(&applied);
    let (items, truncated) = applied.cache.scan(&params.prefix, limit, now);
    let keys: Vec<KeyValue> = items
        .into_iter()
        .map(|(k, e)| key_value(k.to_string(), e, now))
        .collect();
    ok(KeysResult {
        prefix: params.prefix.clone(),
        count: keys.len(),
        keys,
        truncated,
    })
}

pub(super) async fn batch(State(node): State<Node>, body: Result<Bytes, BytesRejection>) -> ApiResult<BatchResult> {
    let body = body?;
    let req: BatchRequest = parse_body(
        &body,
        r#"{"ops":[{"op":"set","key":"...","value":"..."},{"op":"delete","key":"..."}]}"#,
    )?;
    if req.ops.is_empty() || req.ops.len() > MAX_BATCH_OPS {
        return Err(ApiError::invalid(format!(
            "a batch holds 1 to {MAX_BATCH_OPS} operations, not {}",
            req.ops.len()
        )));
    }
    let mut keys = Vec::with_capacity(req.ops.len());
    let mut cmds = Vec::with_capacity(req.ops.len());
    for op in req.ops {
        match op {
            BatchOp::Set {
                key,
                value,
                ttl_ms,
                if_version,
            } => {
                check_key(&node, &key)?;
                check_value(&node, &value)?;
                check_ttl(ttl_ms)?;
                keys.push(key.clone());
                cmds.push(Command::Set {
                    key,
                    value,
                    ttl_ms,
                    if_version,
                });
            }
            BatchOp::Delete { key, if_version } => {
                check_key(&node, &key)?;
                keys.push(key.clone());
                cmds.push(Command::Delete { key, if_version });
            }
        }
    }
    let written = node.write(Command::Batch(cmds)).await?;
    let version = written.index;
    let outcomes = match refused(written.outcome)? {
        Outcome::Batch(outcomes) => outcomes,
        other => return Err(unexpected(other)),
    };
    let mut results = Vec::with_capacity(outcomes.len());
    for (key, outcome) in keys.into_iter().zip(outcomes) {
        results.push(match outcome {
            Outcome::Set { version: v } => BatchOpResult {
                key,
                version: Some(v),
                deleted: None,
            },
            Outcome::Deleted { existed } => BatchOpResult {
                key,
                version: None,
                deleted: Some(existed),
            },
            other => return Err(unexpected(other)),
        });
    }
    ok(BatchResult { version, results })
}

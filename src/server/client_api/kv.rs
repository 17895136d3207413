//! Key-value routes: get, set, delete, scan and batch, over the node API. Validation happens
//! here, before anything reaches the node; conditional and size failures decided by the cache
//! come back as a `Refusal` and are turned into 412/413.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{ok, ApiError, ApiResult};
use crate::cache::{KeyView, Refusal, Value, Write};
use crate::node::Node;
use crate::types::{
    value_fields, value_from_fields, BatchOp, BatchOpResult, BatchRequest, BatchResult, Consistency, DeleteResult,
    ErrorCode, ExpireRequest, KeyValue, KeysResult, PersistRequest, SetRequest, SetResult,
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

/// The value a body carries in `value` (text) or `value_base64` (any bytes), within
/// `max-value-bytes`.
fn checked_value(node: &Node, value: Option<String>, value_base64: Option<String>) -> Result<Value, ApiError> {
    let value = value_from_fields(value, value_base64.as_deref()).map_err(ApiError::invalid)?;
    let max = node.config().limits.max_value_bytes;
    if value.len() > max {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("value is {} bytes; the limit is {max} (max-value-bytes)", value.len()),
        ));
    }
    Ok(value.into())
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

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::ConditionFailed { key, current } => {
                let mut e = ApiError::new(
                    ErrorCode::ConditionFailed,
                    match current {
                        Some(v) => format!("condition failed: key {key:?} is at version {v}"),
                        None => format!("condition failed: key {key:?} does not exist"),
                    },
                );
                e.current_version = Some(current.unwrap_or(0));
                e
            }
            Refusal::TooLarge { key, bytes, max_bytes } => ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "key {key:?} needs {bytes} bytes, more than the whole memory bound of {max_bytes} (max-memory)"
                ),
            ),
            Refusal::NotFound { key } => ApiError::new(ErrorCode::KeyNotFound, format!("key {key:?} not found")),
            Refusal::NotAnInteger { key } => ApiError::new(
                ErrorCode::ConditionFailed,
                format!("the value of key {key:?} is not an integer or out of range"),
            ),
            Refusal::Overflow { key } => ApiError::new(
                ErrorCode::ConditionFailed,
                format!("incrementing key {key:?} would overflow"),
            ),
            Refusal::NoExpiry { key } => {
                let mut e = ApiError::new(
                    ErrorCode::ConditionFailed,
                    format!("key {key:?} has no expiry to remove"),
                );
                e.current_version = None;
                e
            }
        }
    }
}

fn key_value(view: KeyView) -> KeyValue {
    let (value, value_base64) = value_fields(view.value.as_bytes());
    KeyValue {
        key: view.key,
        value,
        value_base64,
        version: view.version,
        ttl_ms: view.ttl_ms,
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
    match node.get(&key, consistency).await? {
        Some(view) => ok(key_value(view)),
        None => Err(ApiError::new(ErrorCode::KeyNotFound, format!("key {key:?} not found"))),
    }
}

pub(super) async fn set_key(State(node): State<Node>, body: Result<Bytes, BytesRejection>) -> ApiResult<SetResult> {
    // The content type is not checked: the original accepted any, and `curl -d` sends
    // form-urlencoded by default. The body must be a JSON object either way.
    let body = body?;
    let req: SetRequest = parse_body(&body, r#"{"key":"...","value":"..."}"#)?;
    check_key(&node, &req.key)?;
    let value = checked_value(&node, req.value, req.value_base64)?;
    check_ttl(req.ttl_ms)?;
    let key = req.key.clone();
    let write = Write::Set {
        key: req.key,
        value,
        ttl_ms: req.ttl_ms,
        if_version: req.if_version,
    };
    let done = node.write(write).await??;
    ok(SetResult {
        key,
        version: done.version,
    })
}

/// `POST /api/v1/expire {"key","ttl_ms"}`: 404 if the key does not exist.
pub(super) async fn expire_key(State(node): State<Node>, body: Result<Bytes, BytesRejection>) -> ApiResult<SetResult> {
    let req: ExpireRequest = parse_body(&body?, r#"{"key":"...","ttl_ms":N}"#)?;
    check_key(&node, &req.key)?;
    check_ttl(Some(req.ttl_ms))?;
    let write = Write::Expire {
        key: req.key.clone(),
        ttl_ms: req.ttl_ms,
    };
    let done = node.write(write).await??;
    ok(SetResult {
        key: req.key,
        version: done.version,
    })
}

/// `POST /api/v1/persist {"key"}`: 404 if the key does not exist, 412 if it has no expiry.
pub(super) async fn persist_key(State(node): State<Node>, body: Result<Bytes, BytesRejection>) -> ApiResult<SetResult> {
    let req: PersistRequest = parse_body(&body?, r#"{"key":"..."}"#)?;
    check_key(&node, &req.key)?;
    let done = node.write(Write::Persist { key: req.key.clone() }).await??;
    ok(SetResult {
        key: req.key,
        version: done.version,
    })
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
    let write = Write::Delete {
        key: key.clone(),
        if_version: params.if_version,
    };
    let done = node.write(write).await??;
    ok(DeleteResult {
        key,
        deleted: done.existed,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScanParams {
    #[serde(default)]
    prefix: String,
    limit: Option<String>,
    consistency: Option<String>,
    /// Continue after this key (the `next` of the page before).
    after: Option<String>,
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
    let (views, truncated) = node
        .scan(&params.prefix, params.after.as_deref(), limit, consistency)
        .await?;
    let keys: Vec<KeyValue> = views.into_iter().map(key_value).collect();
    let next = if truncated {
        keys.last().map(|kv| kv.key.clone())
    } else {
        None
    };
    ok(KeysResult {
        prefix: params.prefix.clone(),
        count: keys.len(),
        keys,
        truncated,
        next,
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
    let mut writes = Vec::with_capacity(req.ops.len());
    for op in req.ops {
        writes.push(batch_write(&node, op)?);
    }
    let kinds: Vec<bool> = writes.iter().map(|w| matches!(w, Write::Set { .. })).collect();
    let keys: Vec<String> = writes.iter().map(|w| w.key().to_string()).collect();
    let batched = node.batch(writes).await??;
    let results = keys
        .into_iter()
        .zip(kinds)
        .zip(batched.done)
        .map(|((key, is_set), done)| BatchOpResult {
            key,
            version: is_set.then_some(done.version),
            deleted: (!is_set).then_some(done.existed),
        })
        .collect();
    ok(BatchResult {
        version: batched.version,
        results,
    })
}

/// One checked operation of a batch.
fn batch_write(node: &Node, op: BatchOp) -> Result<Write, ApiError> {
    Ok(match op {
        BatchOp::Set {
            key,
            value,
            value_base64,
            ttl_ms,
            if_version,
        } => {
            check_key(node, &key)?;
            let value = checked_value(node, value, value_base64)?;
            check_ttl(ttl_ms)?;
            Write::Set {
                key,
                value,
                ttl_ms,
                if_version,
            }
        }
        BatchOp::Delete { key, if_version } => {
            check_key(node, &key)?;
            Write::Delete { key, if_version }
        }
    })
}

//! Key-value routes: get, set, delete, scan and batch, over the node API. Validation happens
//! here, before anything reaches the node; conditional and size failures decided by the cache
//! come back as a `Refusal` and are turned into 412/413.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::Uri;
use serde::de::DeserializeOwned;
use serde::de::IgnoredAny;
use serde::Deserialize;

use super::raw::{path_key, query_bytes};
use super::{ok, ApiError, ApiResult};
use crate::cache::{Key, KeyView, Refusal, Value, Write};
use crate::node::Node;
use crate::types::{
    key_fields, key_from_fields, value_fields, value_from_fields, BatchOp, BatchOpResult, BatchRequest, BatchResult,
    Consistency, DeleteResult, ErrorCode, ExpireRequest, KeyValue, KeysResult, PersistRequest, SetRequest, SetResult,
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

fn check_key(node: &Node, key: &[u8]) -> Result<(), ApiError> {
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

/// The key a body carries in `key` (text) or `key_base64` (any bytes), checked.
fn checked_key(node: &Node, key: Option<String>, key_base64: Option<String>) -> Result<Key, ApiError> {
    let key = key_from_fields(key, key_base64.as_deref()).map_err(ApiError::invalid)?;
    check_key(node, &key)?;
    Ok(key.into())
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
    let (key, key_base64) = key_fields(&view.key);
    KeyValue {
        key,
        key_base64,
        value,
        value_base64,
        version: view.version,
        ttl_ms: view.ttl_ms,
    }
}

pub(super) async fn get_key(
    State(node): State<Node>,
    uri: Uri,
    query: Result<Query<ReadParams>, QueryRejection>,
) -> ApiResult<KeyValue> {
    let key = Key::from(path_key(&uri, "/api/v1/get/"));
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
    let key = checked_key(&node, req.key, req.key_base64)?;
    let value = checked_value(&node, req.value, req.value_base64)?;
    check_ttl(req.ttl_ms)?;
    let write = Write::Set {
        key: key.clone(),
        value,
        ttl_ms: req.ttl_ms,
        if_version: req.if_version,
    };
    let done = node.write(write).await??;
    ok(set_result(&key, done.version))
}

/// `POST /api/v1/expire {"key","ttl_ms"}`: 404 if the key does not exist.
pub(super) async fn expire_key(State(node): State<Node>, body: Result<Bytes, BytesRejection>) -> ApiResult<SetResult> {
    let req: ExpireRequest = parse_body(&body?, r#"{"key":"...","ttl_ms":N}"#)?;
    let key = checked_key(&node, req.key, req.key_base64)?;
    check_ttl(Some(req.ttl_ms))?;
    let write = Write::Expire {
        key: key.clone(),
        ttl_ms: req.ttl_ms,
    };
    let done = node.write(write).await??;
    ok(set_result(&key, done.version))
}

/// `POST /api/v1/persist {"key"}`: 404 if the key does not exist, 412 if it has no expiry.
pub(super) async fn persist_key(State(node): State<Node>, body: Result<Bytes, BytesRejection>) -> ApiResult<SetResult> {
    let req: PersistRequest = parse_body(&body?, r#"{"key":"..."}"#)?;
    let key = checked_key(&node, req.key, req.key_base64)?;
    let done = node.write(Write::Persist { key: key.clone() }).await??;
    ok(set_result(&key, done.version))
}

fn set_result(key: &[u8], version: u64) -> SetResult {
    let (key, key_base64) = key_fields(key);
    SetResult {
        key,
        key_base64,
        version,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeleteParams {
    if_version: Option<u64>,
}

pub(super) async fn delete_key(
    State(node): State<Node>,
    uri: Uri,
    query: Result<Query<DeleteParams>, QueryRejection>,
) -> ApiResult<DeleteResult> {
    let key = Key::from(path_key(&uri, "/api/v1/delete/"));
    let Query(params) = query?;
    check_key(&node, &key)?;
    let write = Write::Delete {
        key: key.clone(),
        if_version: params.if_version,
    };
    let done = node.write(write).await??;
    let (key, key_base64) = key_fields(&key);
    ok(DeleteResult {
        key,
        key_base64,
        deleted: done.existed,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScanParams {
    /// Bytes: read from the raw query (`raw::query_bytes`); named here so it is known.
    #[allow(dead_code)]
    #[serde(default)]
    prefix: Option<IgnoredAny>,
    limit: Option<String>,
    consistency: Option<String>,
    /// Continue after this key (the `next` of the page before); bytes, as `prefix`.
    #[allow(dead_code)]
    #[serde(default)]
    after: Option<IgnoredAny>,
}

pub(super) async fn scan_keys(
    State(node): State<Node>,
    uri: Uri,
    query: Result<Query<ScanParams>, QueryRejection>,
) -> ApiResult<KeysResult> {
    let Query(params) = query?;
    let prefix = query_bytes(uri.query(), "prefix").unwrap_or_default();
    let after = query_bytes(uri.query(), "after");
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
    let (views, truncated) = node.scan(&prefix, after.as_deref(), limit, consistency).await?;
    let (next, next_base64) = match views.last() {
        Some(last) if truncated => key_fields(&last.key),
        _ => (None, None),
    };
    let keys: Vec<KeyValue> = views.into_iter().map(key_value).collect();
    let (prefix, prefix_base64) = key_fields(&prefix);
    ok(KeysResult {
        prefix,
        prefix_base64,
        count: keys.len(),
        keys,
        truncated,
        next,
        next_base64,
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
    let keys: Vec<Key> = writes.iter().map(|w| w.key().clone()).collect();
    let batched = node.batch(writes).await??;
    let results = keys
        .into_iter()
        .zip(kinds)
        .zip(batched.done)
        .map(|((key, is_set), done)| {
            let (key, key_base64) = key_fields(&key);
            BatchOpResult {
                key,
                key_base64,
                version: is_set.then_some(done.version),
                deleted: (!is_set).then_some(done.existed),
            }
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
            key_base64,
            value,
            value_base64,
            ttl_ms,
            if_version,
        } => {
            let key = checked_key(node, key, key_base64)?;
            let value = checked_value(node, value, value_base64)?;
            check_ttl(ttl_ms)?;
            Write::Set {
                key,
                value,
                ttl_ms,
                if_version,
            }
        }
        BatchOp::Delete {
            key,
            key_base64,
            if_version,
        } => Write::Delete {
            key: checked_key(node, key, key_base64)?,
            if_version,
        },
    })
}

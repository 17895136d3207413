//! `GET /api/v1/watch?prefix=P&from_version=N`: server-sent events for every set, delete,
//! expiry and eviction under a prefix, in log order, from this node's applied state.
//!
//! Each event: `event: set|delete|expire|evict`, `id: <version>`, `data: {"kind","key",
//! "value"?,"version"}` (`key_base64` / `value_base64` for bytes that are not UTF-8). The
//! prefix is bytes: `prefix=%FF` watches keys starting with the byte 0xFF. With `from_version` the stream first replays kept history after that
//! version, and never sends an event at or below it (on a node behind that version it waits
//! until the node gets there). If that history was compacted, the node skips changes by
//! installing a snapshot while the stream is open, or the watcher falls too far behind, an
//! `event: error` with code `COMPACTED` or `LAGGED` is sent and the stream ends: reconnect
//! with a newer `from_version`, or re-read the keys.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream;
use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::cache::{EventKind, WatchEvent};
use crate::node::{Interrupted, Node};
use crate::server::listener::{ConnSlot, WatchSlots};
use crate::types::{key_fields, value_fields, ErrorCode};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WatchParams {
    /// Bytes: read from the raw query (`raw::query_bytes`); named here so it is known.
    #[allow(dead_code)]
    #[serde(default)]
    prefix: Option<serde::de::IgnoredAny>,
    from_version: Option<u64>,
}

/// An event as JSON: the key in `key` and the value in `value` when they are UTF-8 text,
/// else in `key_base64` and `value_base64`.
#[derive(Serialize)]
struct EventJson {
    kind: EventKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_base64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_base64: Option<String>,
    version: u64,
}

fn event(e: &WatchEvent) -> Event {
    let kind = serde_json::to_value(e.kind)
        .ok()
        .and_then(|v| v.as_str().map(String::from));
    let (value, value_base64) = e.value.as_ref().map_or((None, None), |v| value_fields(v.as_bytes()));
    let (key, key_base64) = key_fields(&e.key);
    let json = EventJson {
        kind: e.kind,
        key,
        key_base64,
        value,
        value_base64,
        version: e.version,
    };
    Event::default()
        .event(kind.unwrap_or_else(|| "change".into()))
        .id(e.version.to_string())
        .json_data(json)
        .unwrap_or_else(|_| Event::default().event("error").data("cannot encode event"))
}

fn error_event(code: &str, message: String, resume_after: u64) -> Event {
    let body = serde_json::json!({ "code": code, "message": message, "compacted_through": resume_after });
    Event::default().event("error").data(body.to_string())
}

/// Streams events. A watch takes one of `max-watchers` slots for its lifetime (503
/// `TOO_MANY_WATCHERS` when none is free) and gives back its connection slot, so watchers
/// never keep requests (or `/health`) out; the connection closes when the stream ends.
pub(super) async fn watch(
    State(node): State<Node>,
    watchers: Option<Extension<WatchSlots>>,
    conn: Option<Extension<ConnSlot>>,
    uri: axum::http::Uri,
    query: Result<Query<WatchParams>, QueryRejection>,
) -> Response {
    let Query(params) = match query {
        Ok(q) => q,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let slot = match &watchers {
        None => None,
        Some(Extension(w)) => match w.try_take() {
            Some(slot) => Some(slot),
            None => {
                tracing::info!(max = w.max(), "refused a watch: max-watchers streams are open");
                return ApiError::new(
                    ErrorCode::TooManyWatchers,
                    format!(
                        "this node already serves {} watch streams (max-watchers); retry later or watch through another node",
                        w.max()
                    ),
                )
                .into_response();
            }
        },
    };
    let prefix = super::raw::query_bytes(uri.query(), "prefix").unwrap_or_default();
    let watch = match node.watch(prefix, params.from_version) {
        Ok(watch) => watch,
        Err(compacted) => {
            let once = error_event("COMPACTED", compacted.to_string(), compacted.through);
            return Sse::new(stream::once(async move { Ok::<_, Infallible>(once) })).into_response();
        }
    };
    if let Some(Extension(conn)) = conn {
        conn.release();
    }
    let events = stream::unfold((watch, slot), |(mut watch, slot)| async move {
        let sse = match watch.next().await? {
            Ok(e) => event(&e),
            Err(Interrupted::Lagged(lagged)) => error_event("LAGGED", lagged.to_string(), lagged.resume),
            Err(Interrupted::Compacted(c)) => error_event("COMPACTED", c.to_string(), c.through),
        };
        Some((Ok::<_, Infallible>(sse), (watch, slot)))
    });
    let mut resp = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    // The connection gave its slot away: it must not carry further requests.
    resp.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    resp
}

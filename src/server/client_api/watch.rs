//! `GET /api/v1/watch?prefix=P&from_version=N`: server-sent events for every set, delete,
//! expiry and eviction under a prefix, in log order, from this node's applied state.
//!
//! Each event: `event: set|delete|expire|evict`, `id: <version>`, `data: {"kind","key",
//! "value"?,"version"}`. With `from_version` the stream first replays kept history after that
//! version; if that history was compacted (or the watcher falls too far behind) an
//! `event: error` with code `COMPACTED` or `LAGGED` is sent and the stream ends: reconnect
//! with a newer `from_version`, or re-read the keys.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::ApiError;
use crate::cache::WatchEvent;
use crate::node::Node;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WatchParams {
    #[serde(default)]
    prefix: String,
    from_version: Option<u64>,
}

fn event(e: &WatchEvent) -> Event {
    let kind = serde_json::to_value(e.kind)
        .ok()
        .and_then(|v| v.as_str().map(String::from));
    Event::default()
        .event(kind.unwrap_or_else(|| "change".into()))
        .id(e.version.to_string())
        .json_data(e)
        .unwrap_or_else(|_| Event::default().event("error").data("cannot encode event"))
}

fn error_event(code: &str, message: String, resume_after: u64) -> Event {
    let body = serde_json::json!({ "code": code, "message": message, "compacted_through": resume_after });
    Event::default().event("error").data(body.to_string())
}

pub(super) async fn watch(State(node): State<Node>, query: Result<Query<WatchParams>, QueryRejection>) -> Response {
    let Query(params) = match query {
        Ok(q) => q,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (backlog, rx) = match node.state().subscribe(params.from_version) {
        Ok(sub) => sub,
        Err(through) => {
            let msg = format!(
                "history up to version {through} was compacted; re-read the keys, then watch from a newer version"
            );
            let once = stream::once(async move { Ok::<_, Infallible>(error_event("COMPACTED", msg, through)) });
            return Sse::new(once).into_response();
        }
    };
    let prefix = params.prefix;
    let mut last = params.from_version.unwrap_or(0);
    let backlog: Vec<WatchEvent> = backlog.into_iter().filter(|e| e.key.starts_with(&prefix)).collect();
    if let Some(e) = backlog.last() {
        last = e.version;
    }
    let replay = stream::iter(backlog.into_iter().map(|e| Ok::<_, Infallible>(event(&e))));
    let live = live_events(rx, prefix, last);
    Sse::new(replay.chain(live))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// New events after `last`; ends with an error event if the watcher falls behind.
fn live_events(
    rx: tokio::sync::broadcast::Receiver<WatchEvent>,
    prefix: String,
    last: u64,
) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(Some((rx, last)), move |state| {
        let prefix = prefix.clone();
        async move {
            let (mut rx, mut last) = state?;
            loop {
                match rx.recv().await {
                    // Skip what the backlog already sent.
                    Ok(e) if e.version < last || !e.key.starts_with(&prefix) => continue,
                    Ok(e) => {
                        last = e.version;
                        return Some((Ok(event(&e)), Some((rx, last))));
                    }
                    Err(RecvError::Lagged(n)) => {
                        // Several events can share a version (a batch, a group of writes, a
                        // purge), and the missed ones may include the rest of `last`'s: resume
                        // before it, repeating what was sent of it rather than losing any.
                        let resume = last.saturating_sub(1);
                        let msg = format!(
                            "this watcher fell {n} events behind; resume with from_version={resume} \
                             (events of version {last} may repeat)"
                        );
                        return Some((Ok(error_event("LAGGED", msg, resume)), None));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    })
}

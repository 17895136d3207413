//! The metrics front end: a middleware that records each client request in the node's
//! registry (`crate::metrics`), and `GET /metrics` in the OpenMetrics text format.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::metrics::{method_label, Route};
use crate::node::Node;

/// Middleware: counts each request and observes its latency under its route pattern.
pub async fn track(State(node): State<Node>, req: Request, next: Next) -> Response {
    let route = Route(req.extensions().get::<MatchedPath>().cloned());
    let method = method_label(req.method());
    let start = Instant::now();
    let resp = next.run(req).await;
    node.metrics()
        .record(route, method, resp.status().as_u16(), start.elapsed().as_secs_f64());
    resp
}

/// `GET /metrics`.
pub async fn scrape(State(node): State<Node>) -> Response {
    for (what, path, label) in crate::tls::certificate_files(&node.config().security) {
        match crate::tls::seconds_to_expiry(what, path) {
            Ok(secs) => node.metrics().set_cert_expiry(label, secs),
            Err(e) => tracing::warn!(error = %e, "cannot read a certificate's expiry"),
        }
    }
    match node.metrics().encode(&node.status()) {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot encode metrics: {e}")).into_response(),
    }
}

//! The accept loop of one listener: caps open connections, performs the TLS handshake when
//! the listener has TLS (bounded in time), serves HTTP/1.1 with limits on the request head
//! (size, and time to send it, which also bounds idle keep-alive), and drains on shutdown.
//! Knows nothing of routes: it serves the `Router` it is given.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;

use super::Kind;
use crate::config::security::ConnLimits;

/// Serves `app` on `listener` until `shutdown` is cancelled, then stops accepting and waits
/// for open connections to finish their current request (the caller bounds that wait).
///
/// Past `max_connections` open connections, new clients wait in the kernel's accept queue
/// until one closes. A client that does not finish its TLS handshake or a request head within
/// `header_read_timeout`, or sends a head over `max_header_bytes` (answered 431), loses its
/// connection; other clients are unaffected.
pub(crate) async fn serve(
    what: Kind,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    limits: ConnLimits,
    shutdown: CancellationToken,
) {
    // A limit past what a semaphore can count (about 2^61) means no limit at all.
    let permits = Arc::new(Semaphore::new(limits.max_connections.min(Semaphore::MAX_PERMITS)));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(limits.max_header_bytes);
    let mut full_logged = false;
    loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if !full_logged {
                    tracing::warn!(
                        listener = what.as_str(),
                        max = limits.max_connections,
                        "connection limit reached; new clients wait until one closes"
                    );
                    full_logged = true;
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    p = permits.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                }
            }
        };
        let (stream, remote) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(listener = what.as_str(), error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if permits.available_permits() > 0 {
            full_logged = false;
        }
        let _ = stream.set_nodelay(true);
        let (tls, app, http, watcher) = (tls.clone(), app.clone(), http.clone(), graceful.watcher());
        let handshake_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            let Some(io) = handshake(what, tls, stream, remote, handshake_timeout).await else {
                return;
            };
            let conn = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(app));
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(listener = what.as_str(), %remote, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The connection's byte stream: plain, or after a TLS handshake bounded by `timeout`.
/// `None` (logged) when the handshake fails or takes too long.
async fn handshake(
    what: Kind,
    tls: Option<TlsAcceptor>,
    stream: TcpStream,
    remote: SocketAddr,
    timeout: Duration,
) -> Option<Either<TcpStream, TlsStream<TcpStream>>> {
    let Some(acceptor) = tls else {
        return Some(Either::Left(stream));
    };
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(s)) => Some(Either::Right(s)),
        Ok(Err(e)) if what == Kind::Peers => {
            // On the peer plane this is a stranger without a certificate of our CA.
            tracing::warn!(listener = what.as_str(), %remote, error = %e, "TLS handshake refused");
            None
        }
        Ok(Err(e)) => {
            tracing::info!(listener = what.as_str(), %remote, error = %e, "TLS handshake refused");
            None
        }
        Err(_) => {
            tracing::info!(listener = what.as_str(), %remote, "TLS handshake timed out");
            None
        }
    }
}

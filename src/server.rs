//! The two HTTP listeners of a node, client API and peer API, and their graceful shutdown.
//!
//! Shutdown order: stop accepting on both listeners, let in-flight requests finish (bounded by
//! the request timeout), then stop Raft and flush storage.

pub mod client_api;
pub mod metrics;
pub mod peer_api;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::node::Node;

/// Errors binding or running the listeners.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen for {what} on {addr}: {source} (is another dcache or program using the port?)")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{what} listener failed: {source}")]
    Run { what: &'static str, source: std::io::Error },
}

/// Both listeners, bound but not yet serving. Binding first lets start-up fail early and
/// lets tests learn the ports when they ask for port 0.
pub struct Listeners {
    pub client: TcpListener,
    pub peer: TcpListener,
}

impl Listeners {
    /// Binds the client and peer addresses.
    pub async fn bind(client: SocketAddr, peer: SocketAddr) -> Result<Listeners, ServeError> {
        let bind = |what, addr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| ServeError::Bind { what, addr, source })
        };
        Ok(Listeners {
            client: bind("clients", client).await?,
            peer: bind("peers", peer).await?,
        })
    }
}

/// Serves both APIs until `shutdown` is cancelled, then drains and stops the node.
pub async fn serve(node: Node, listeners: Listeners, shutdown: CancellationToken) -> Result<(), ServeError> {
    let drain = node.config().limits.request_timeout + Duration::from_secs(1);
    let client_app = client_api::router(node.clone());
    let peer_app = peer_api::router(node.clone());
    let client = axum::serve(listeners.client, client_app).with_graceful_shutdown(shutdown.clone().cancelled_owned());
    let peer = axum::serve(listeners.peer, peer_app).with_graceful_shutdown(shutdown.clone().cancelled_owned());
    let both = async {
        let (c, p) = tokio::join!(client, peer);
        c.map_err(|source| ServeError::Run { what: "client", source })?;
        p.map_err(|source| ServeError::Run { what: "peer", source })
    };
    tokio::pin!(both);
    let result = tokio::select! {
        r = &mut both => r,
        _ = async { shutdown.cancelled().await; tokio::time::sleep(drain).await } => {
            tracing::warn!(?drain, "in-flight requests did not finish in time; stopping anyway");
            Ok(())
        }
    };
    node.shutdown().await;
    result
}

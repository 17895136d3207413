//! The listeners of a node: the HTTP client API, the peer API and the Redis protocol (RESP),
//! and their graceful shutdown.
//!
//! Shutdown order: stop accepting on both listeners, let in-flight requests finish (bounded by
//! the request timeout), then stop Raft and flush storage.

pub mod client_api;
pub(crate) mod listener;
pub mod metrics;
pub mod peer_api;
pub mod resp;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::node::Node;
use crate::tls::Acceptors;

/// Which listener: the client API or the peer port. Peers are treated with more suspicion
/// in logs (a refused TLS handshake there is a warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Clients,
    Peers,
    /// Redis-protocol clients.
    Resp,
}

impl Kind {
    /// The name used in logs and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Clients => "clients",
            Kind::Peers => "peers",
            Kind::Resp => "resp",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Errors binding or running the listeners.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    // `cause` is in the message, so it is not a `source` (a printed chain would repeat it).
    #[error("cannot listen for {what} on {addr}: {cause} (is another dcache or program using the port?)")]
    Bind {
        what: Kind,
        addr: SocketAddr,
        cause: std::io::Error,
    },
    #[error(
        "cannot listen for Redis-protocol clients on {addr}: {cause}; is a Redis server or another dcache on \
         the port? set listen-resp-urls (flag --listen-resp-urls) to another redis://HOST:PORT, or to \"\" to turn \
         the RESP listener off"
    )]
    BindResp { addr: SocketAddr, cause: std::io::Error },
}

/// Both listeners, bound but not yet serving. Binding first lets start-up fail early and
/// lets tests learn the ports when they ask for port 0.
pub struct Listeners {
    pub client: TcpListener,
    pub peer: TcpListener,
    /// The Redis-protocol listener, when enabled.
    pub resp: Option<TcpListener>,
}

impl Listeners {
    /// Binds the client and peer addresses, and the RESP address when given.
    pub async fn bind(client: SocketAddr, peer: SocketAddr, resp: Option<SocketAddr>) -> Result<Listeners, ServeError> {
        let bind = |what, addr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|cause| ServeError::Bind { what, addr, cause })
        };
        Ok(Listeners {
            client: bind(Kind::Clients, client).await?,
            peer: bind(Kind::Peers, peer).await?,
            resp: match resp {
                Some(addr) => Some(
                    TcpListener::bind(addr)
                        .await
                        .map_err(|cause| ServeError::BindResp { addr, cause })?,
                ),
                None => None,
            },
        })
    }
}

/// Serves both APIs (over TLS where `tls` has an acceptor) until `shutdown` is cancelled,
/// then drains and stops the node.
pub async fn serve(node: Node, listeners: Listeners, tls: Acceptors, shutdown: CancellationToken) {
    let drain = node.config().limits.request_timeout + Duration::from_secs(1);
    let limits = node.config().conn_limits.clone();
    let watchers = listener::WatchSlots::new(limits.max_watchers);
    let client_app = client_api::router(node.clone()).layer(axum::Extension(watchers));
    let peer_app = peer_api::router(node.clone());
    let client = listener::serve(
        Kind::Clients,
        listeners.client,
        tls.client,
        client_app,
        limits.clone(),
        shutdown.clone(),
    );
    let peer = listener::serve(
        Kind::Peers,
        listeners.peer,
        tls.peer,
        peer_app,
        limits,
        shutdown.clone(),
    );
    let resp = resp::serve(node.clone(), listeners.resp, tls.resp, shutdown.clone());
    let both = async { tokio::join!(client, peer, resp) };
    tokio::pin!(both);
    tokio::select! {
        _ = &mut both => {}
        _ = async { shutdown.cancelled().await; tokio::time::sleep(drain).await } => {
            tracing::warn!(?drain, "in-flight requests did not finish in time; stopping anyway");
        }
    };
    node.shutdown().await;
}

//! The accept loop of one listener: accepts every connection, keeps the ones that have not
//! talked yet in a bounded pending set (oldest silent one closed first when it is full, so a
//! flood of idle sockets never keeps a Raft peer or a client in the kernel's accept queue),
//! performs the TLS handshake when the listener has TLS (bounded in time), caps connections
//! serving requests, serves HTTP/1.1 with limits on the request head (size, and time to send
//! it, which also bounds idle keep-alive), and drains on shutdown. Watch streams trade their
//! connection slot for a watcher slot ([`ConnSlot`], [`WatchSlots`]). Knows nothing of routes:
//! it serves the `Router` it is given.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::Kind;
use crate::config::security::ConnLimits;

/// Longest a peer-listener connection may stay silent after connecting: Raft clients send
/// their request (or TLS hello) at once, so anything slower is not a member.
const PEER_FIRST_BYTE: Duration = Duration::from_secs(2);

/// The names in the certificate the other end of a mutual-TLS connection presented (empty
/// without one); the peer router binds them to the sending member.
#[derive(Clone, Debug, Default)]
pub(crate) struct PeerCertificate(pub(crate) Arc<Vec<String>>);

/// The connection slot a request arrived on, found in the request's extensions. A handler
/// that turns its connection into a long-lived stream (a watch) releases it, so the stream
/// no longer counts against `max-connections`.
#[derive(Clone, Default)]
pub(crate) struct ConnSlot(Arc<Mutex<Option<OwnedSemaphorePermit>>>);

impl ConnSlot {
    fn holding(permit: OwnedSemaphorePermit) -> ConnSlot {
        ConnSlot(Arc::new(Mutex::new(Some(permit))))
    }

    /// Gives the slot back to the listener; later calls do nothing.
    pub(crate) fn release(&self) {
        // A poisoned lock only means a panic elsewhere held it; the permit is still valid.
        drop(self.0.lock().unwrap_or_else(PoisonError::into_inner).take());
    }
}

/// The watch streams a node serves at once, capped apart from connections.
#[derive(Clone)]
pub(crate) struct WatchSlots {
    slots: Arc<Semaphore>,
    max: usize,
}

impl WatchSlots {
    /// A cap of `max` watch streams.
    pub(crate) fn new(max: usize) -> WatchSlots {
        WatchSlots {
            slots: Arc::new(Semaphore::new(max.min(Semaphore::MAX_PERMITS))),
            max,
        }
    }

    /// A watcher slot, held for as long as the stream lives; `None` when all are taken.
    pub(crate) fn try_take(&self) -> Option<OwnedSemaphorePermit> {
        self.slots.clone().try_acquire_owned().ok()
    }

    /// The cap, for error messages.
    pub(crate) fn max(&self) -> usize {
        self.max
    }
}

/// Where an accepted connection is before it serves requests; eviction picks the lowest.
const SILENT: u8 = 0;
const HANDSHAKING: u8 = 1;
const WAITING: u8 = 2;

/// Connections accepted but not yet serving, bounded by `cap`.
struct Pending {
    cap: usize,
    open: Mutex<PendingSet>,
}

#[derive(Default)]
struct PendingSet {
    next: u64,
    entries: BTreeMap<u64, (Arc<AtomicU8>, CancellationToken)>,
}

/// One connection's place in the pending set; leaves it on drop.
struct PendingEntry {
    pending: Arc<Pending>,
    id: u64,
    stage: Arc<AtomicU8>,
    evicted: CancellationToken,
}

impl Pending {
    fn lock(&self) -> std::sync::MutexGuard<'_, PendingSet> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Enters a new connection. When the set is full, the oldest silent connection (else the
    /// oldest one in its handshake) is told to close; `None` when every pending connection is
    /// already past its handshake, waiting for a slot: the new one is then refused.
    fn admit(self: &Arc<Self>) -> Option<PendingEntry> {
        let mut set = self.lock();
        if set.entries.len() >= self.cap {
            let victim = set
                .entries
                .iter()
                .map(|(id, (stage, _))| (stage.load(Ordering::Relaxed), *id))
                .filter(|(stage, _)| *stage < WAITING)
                .min();
            let (_, id) = victim?;
            if let Some((_, token)) = set.entries.remove(&id) {
                token.cancel();
            }
        }
        let id = set.next;
        set.next += 1;
        let stage = Arc::new(AtomicU8::new(SILENT));
        let evicted = CancellationToken::new();
        set.entries.insert(id, (stage.clone(), evicted.clone()));
        Some(PendingEntry {
            pending: self.clone(),
            id,
            stage,
            evicted,
        })
    }

    /// Closes every silent connection (the descriptors are needed elsewhere).
    fn shed_silent(&self) -> usize {
        let mut set = self.lock();
        let silent: Vec<u64> = set
            .entries
            .iter()
            .filter(|(_, (stage, _))| stage.load(Ordering::Relaxed) == SILENT)
            .map(|(id, _)| *id)
            .collect();
        for id in &silent {
            if let Some((_, token)) = set.entries.remove(id) {
                token.cancel();
            }
        }
        silent.len()
    }
}

impl Drop for PendingEntry {
    fn drop(&mut self) {
        self.pending.lock().entries.remove(&self.id);
    }
}

/// Serves `app` on `listener` until `shutdown` is cancelled, then stops accepting and waits
/// for open connections to finish their current request (the caller bounds that wait).
///
/// Every connection is accepted at once. Until it sends its first byte (within
/// `header_read_timeout`, at most 2 s on the peer listener), finishes its TLS handshake and
/// gets one of `max_connections` slots, it is pending; at most `max_pending` are, and past
/// that the oldest silent one is closed. A client that does not send a request head within
/// `header_read_timeout`, or sends one over `max_header_bytes` (answered 431), loses its
/// connection; other clients are unaffected.
pub(crate) async fn serve(
    what: Kind,
    listener: TcpListener,
    tls: Option<Arc<crate::tls::Reloading>>,
    app: Router,
    limits: ConnLimits,
    shutdown: CancellationToken,
) {
    // A limit past what a semaphore can count (about 2^61) means no limit at all.
    let permits = Arc::new(Semaphore::new(limits.max_connections.min(Semaphore::MAX_PERMITS)));
    let pending = Arc::new(Pending {
        cap: limits.max_pending.max(1),
        open: Mutex::default(),
    });
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(limits.max_header_bytes);
    let first_byte = match what {
        Kind::Peers => limits.header_read_timeout.min(PEER_FIRST_BYTE),
        Kind::Clients | Kind::Resp => limits.header_read_timeout,
    };
    let mut full_logged = false;
    loop {
        let (stream, remote) = tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = crate::fds::exhausted() => {
                let shed = pending.shed_silent();
                tracing::warn!(listener = what.as_str(), shed, "out of file descriptors: closed the silent connections");
                continue;
            }
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    if crate::fds::is_exhaustion(&e) {
                        let shed = pending.shed_silent();
                        tracing::warn!(listener = what.as_str(), error = %e, shed, "accept failed: out of file descriptors; closed the silent connections");
                    } else {
                        tracing::warn!(listener = what.as_str(), error = %e, "accept failed");
                    }
                    // Back off instead of spinning while descriptors are short.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(entry) = pending.admit() else {
            if !full_logged {
                tracing::warn!(
                    listener = what.as_str(),
                    max = limits.max_connections,
                    pending = pending.cap,
                    "connection limit reached and every pending connection is waiting for a slot; refusing new connections"
                );
                full_logged = true;
            }
            drop(stream);
            continue;
        };
        full_logged = false;
        let _ = stream.set_nodelay(true);
        // Per connection, so replaced certificate files take effect for the next client.
        let tls = tls.as_ref().map(|t| t.acceptor());
        let (app, http, watcher, permits) = (app.clone(), http.clone(), graceful.watcher(), permits.clone());
        let handshake_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            let Some((io, permit)) =
                admit(what, entry, tls, stream, remote, first_byte, handshake_timeout, permits).await
            else {
                return;
            };
            let slot = ConnSlot::holding(permit);
            let cert = PeerCertificate(Arc::new(match &io {
                Either::Right(tls) => tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|certs| certs.first())
                    .map(|der| crate::tls::certificate_names(der))
                    .unwrap_or_default(),
                Either::Left(_) => Vec::new(),
            }));
            let app = app.map_request(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(slot.clone());
                req.extensions_mut().insert(cert.clone());
                req
            });
            let conn = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(app));
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(listener = what.as_str(), %remote, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Takes a pending connection to serving: its first byte, its TLS handshake, a connection
/// slot. `None` (logged) when it stays silent, fails or times out its handshake, or is
/// evicted from the pending set before it has talked.
#[allow(clippy::too_many_arguments)]
async fn admit(
    what: Kind,
    entry: PendingEntry,
    tls: Option<TlsAcceptor>,
    stream: TcpStream,
    remote: SocketAddr,
    first_byte: Duration,
    handshake_timeout: Duration,
    permits: Arc<Semaphore>,
) -> Option<(Either<TcpStream, TlsStream<TcpStream>>, OwnedSemaphorePermit)> {
    let evicted = entry.evicted.clone();
    let talked = async {
        let mut byte = [0u8; 1];
        match tokio::time::timeout(first_byte, stream.peek(&mut byte)).await {
            Ok(Ok(n)) if n > 0 => true,
            Ok(_) => false,
            Err(_) => {
                tracing::debug!(listener = what.as_str(), %remote, ?first_byte, "closed a silent connection");
                false
            }
        }
    };
    let (talked, rescued) = tokio::select! {
        biased;
        t = talked => (t, false),
        _ = evicted.cancelled() => {
            // The kernel may hold bytes the reactor has not reported yet: a client that has
            // talked is never the one evicted for being silent.
            (has_bytes(&stream), true)
        }
    };
    if !talked {
        return None;
    }
    entry.stage.store(HANDSHAKING, Ordering::Relaxed);
    let rest = async {
        let io = handshake(what, tls, stream, remote, handshake_timeout).await?;
        entry.stage.store(WAITING, Ordering::Relaxed);
        let permit = permits.acquire_owned().await.ok()?;
        Some((io, permit))
    };
    if rescued {
        // Already out of the pending set; its handshake is still bounded in time.
        return rest.await;
    }
    tokio::select! {
        r = rest => r,
        _ = evicted.cancelled() => {
            tracing::debug!(listener = what.as_str(), %remote, "closed a pending connection: too many pending");
            None
        }
    }
}

/// Whether bytes are waiting in the kernel for `stream`, without waiting or consuming them.
fn has_bytes(stream: &TcpStream) -> bool {
    use nix::sys::socket::{recv, MsgFlags};
    let mut byte = [0u8; 1];
    matches!(
        recv(stream.as_raw_fd(), &mut byte, MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT),
        Ok(n) if n > 0
    )
}

/// The connection's byte stream: plain, or after a TLS handshake bounded by `timeout`.
/// `None` (logged) when the handshake fails or takes too long.
pub(super) async fn handshake(
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

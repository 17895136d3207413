//! The Redis-protocol (RESP) listener: any Redis client talks to any member. A third thin
//! front end beside the HTTP API, over the node API only: followers forward writes and
//! linearize reads exactly as for HTTP.
//!
//! One task per connection reads requests, answers every complete one in order (pipelining)
//! and writes the answers before it reads more, so a client that does not read its answers
//! stops being read: the output buffer per connection stays bounded. Consecutive plain
//! writes of a pipeline go to the leader as one entry that applies them in order, each with
//! its own answer, instead of one round trip each; consecutive `GET`s are answered from one
//! read (one linearization).

mod args;
mod codec;
mod commands;
mod glob;
mod keys;
mod long_double;
mod pipeline;
mod pubsub;
mod session;
mod strings;
mod table;
mod transaction;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use codec::{Decoder, ProtocolError, Reply};
use session::Session;

use super::Kind;
use crate::cache::WatchEvent;
use crate::node::{Interrupted, Node};

/// Answers are written out once this many bytes wait, even mid-pipeline.
const FLUSH_AT: usize = 256 * 1024;

/// The most requests of a pipeline taken from the input at once.
const MAX_AHEAD: usize = 1024;

/// Serves RESP on `listener` (if enabled; over TLS with `tls`) until `shutdown`; open
/// connections end with it.
///
/// At most `max-connections` are served at once. Past that a new connection is answered
/// `-ERR max number of clients reached` and closed, as Redis does, instead of waiting unseen
/// in the kernel's accept queue; at most `max_pending` such answers are under way at once
/// (more are closed unanswered). When tokens are required, a connection that has not
/// authenticated within `header-read-timeout` is closed, so silent sockets cannot hold the
/// slots that clients need.
pub async fn serve(
    node: Node,
    listener: Option<TcpListener>,
    tls: Option<Arc<crate::tls::Reloading>>,
    shutdown: CancellationToken,
) {
    let Some(listener) = listener else {
        return;
    };
    let limits = node.config().conn_limits.clone();
    let permits = Arc::new(Semaphore::new(limits.max_connections.min(Semaphore::MAX_PERMITS)));
    let refusals = Arc::new(Semaphore::new(limits.max_pending.min(Semaphore::MAX_PERMITS)));
    let ids = Arc::new(AtomicU64::new(1));
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "RESP accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let acceptor = tls.as_ref().map(|t| t.acceptor());
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            if let Ok(refusal) = refusals.clone().try_acquire_owned() {
                let timeout = limits.header_read_timeout;
                tokio::spawn(async move {
                    let _refusal = refusal;
                    refuse(acceptor, stream, peer, timeout).await;
                });
            }
            continue;
        };
        let id = ids.fetch_add(1, Ordering::Relaxed);
        let (node, shutdown) = (node.clone(), shutdown.clone());
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!(id, %peer, error = %e, "RESP connection lost before it was served");
                return;
            }
            // The handshake holds a slot, bounded like the client listener's.
            let timeout = node.config().conn_limits.header_read_timeout;
            let Some(stream) = super::listener::handshake(Kind::Resp, acceptor, stream, peer, timeout).await else {
                return;
            };
            let _counted = Counted::new(&node);
            if let Err(e) = connection(&node, stream, id, peer.to_string(), &shutdown).await {
                tracing::debug!(id, %peer, error = %e, "RESP connection ended");
            }
        });
    }
}

/// Answers a connection over `max-connections` as Redis does, and closes it.
async fn refuse(
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    stream: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    timeout: std::time::Duration,
) {
    tracing::debug!(%peer, "RESP connection refused: max-connections reached");
    let answer = async {
        let Some(mut stream) = super::listener::handshake(Kind::Resp, acceptor, stream, peer, timeout).await else {
            return;
        };
        let _ = stream.write_all(b"-ERR max number of clients reached\r\n").await;
        let _ = stream.shutdown().await;
    };
    let _ = tokio::time::timeout(timeout, answer).await;
}

/// Counts an open connection in `dcache_resp_connections` (and `INFO clients`) while it lives.
struct Counted<'a>(&'a Node);

impl<'a> Counted<'a> {
    fn new(node: &'a Node) -> Counted<'a> {
        node.metrics().resp_connection(1);
        Counted(node)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.metrics().resp_connection(-1);
    }
}

async fn connection(
    node: &Node,
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    id: u64,
    peer: String,
    shutdown: &CancellationToken,
) -> std::io::Result<()> {
    let mut session = Session::new(node, id, peer);
    let mut decoder = Decoder::default();
    let mut input = BytesMut::with_capacity(16 * 1024);
    let mut output = BytesMut::with_capacity(16 * 1024);
    loop {
        if session
            .auth_deadline()
            .is_some_and(|by| std::time::Instant::now() >= by)
        {
            // Busy but never authenticated (a stream of PINGs, say): the slot goes back.
            return refuse_unauthenticated(&mut stream, &session, &mut output).await;
        }
        let (requests, protocol_error) = take_requests(&session, node, &mut decoder, &mut input);
        let took = !requests.is_empty();
        let mut i = 0;
        while i < requests.len() && !session.closing {
            let reads = if session.batches_reads() {
                pipeline::read_run(node, &requests[i..])
            } else {
                Vec::new()
            };
            if !reads.is_empty() {
                let replies = pipeline::answer_reads(&session, node, &reads).await;
                i += replies.len();
                for reply in replies {
                    reply.encode(session.protocol, &mut output);
                    if output.len() >= FLUSH_AT {
                        send(&mut stream, &output, session.auth_deadline()).await?;
                        output.clear();
                    }
                }
                continue;
            }
            let run = if session.batches_writes() {
                transaction::pipeline_run(node, &requests[i..])
            } else {
                Vec::new()
            };
            if run.is_empty() {
                let reply = commands::execute(&mut session, node, requests[i].clone()).await;
                reply.encode(session.protocol, &mut output);
                i += 1;
            } else {
                i += run.len();
                let started = std::time::Instant::now();
                let (names, queued): (Vec<String>, Vec<_>) = run.into_iter().unzip();
                let replies = transaction::apply_run(node, queued).await;
                for (name, reply) in names.iter().zip(replies) {
                    node.metrics()
                        .resp_command(name, started.elapsed(), matches!(reply, Reply::Error(_)));
                    reply.encode(session.protocol, &mut output);
                }
            }
            if output.len() >= FLUSH_AT {
                send(&mut stream, &output, session.auth_deadline()).await?;
                output.clear();
            }
        }
        if let (Some(e), false) = (&protocol_error, session.closing) {
            Reply::err(e).encode(session.protocol, &mut output);
            send(&mut stream, &output, session.auth_deadline()).await?;
            tracing::debug!(id, error = %e, "closing a RESP connection after a protocol error");
            return Ok(());
        }
        if session.closing {
            send(&mut stream, &output, session.auth_deadline()).await?;
            return Ok(());
        }
        if took {
            // More complete requests may wait in the input: answer them before reading.
            continue;
        }
        if !output.is_empty() {
            send(&mut stream, &output, session.auth_deadline()).await?;
            output.clear();
        }
        match next_input(&mut session, &mut stream, &mut input, shutdown).await? {
            Input::Read(0) | Input::Stop => return Ok(()),
            Input::AuthTimedOut => return refuse_unauthenticated(&mut stream, &session, &mut output).await,
            Input::Read(_) => {}
            Input::Event(Ok(event)) => {
                for message in session.subs.messages(&event) {
                    message.encode(session.protocol, &mut output);
                }
            }
            Input::Event(Err(lagged)) => {
                Reply::err(format!(
                    "this subscriber missed notifications and is disconnected: {lagged}"
                ))
                .encode(session.protocol, &mut output);
                send(&mut stream, &output, session.auth_deadline()).await?;
                return Ok(());
            }
        }
    }
}

/// Writes `output`; before authentication only until the auth deadline, so a client that
/// sends without reading cannot hold its connection slot by leaving the write blocked.
async fn send(
    stream: &mut (impl AsyncWrite + Unpin),
    output: &[u8],
    deadline: Option<std::time::Instant>,
) -> std::io::Result<()> {
    match deadline {
        None => stream.write_all(output).await,
        Some(by) => match tokio::time::timeout_at(by.into(), stream.write_all(output)).await {
            Ok(written) => written,
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "an unauthenticated client stopped reading its answers",
            )),
        },
    }
}

/// Tells a connection that did not authenticate in time why it is closed (without waiting
/// on a client that does not read), and closes it.
async fn refuse_unauthenticated(
    stream: &mut (impl AsyncWrite + Unpin),
    session: &Session,
    output: &mut BytesMut,
) -> std::io::Result<()> {
    output.clear();
    Reply::Error("NOAUTH Authentication required; closing a connection that did not authenticate in time".into())
        .encode(session.protocol, output);
    let grace = std::time::Instant::now() + std::time::Duration::from_millis(100);
    let _ = send(stream, output, Some(grace)).await;
    Ok(())
}

/// What woke a waiting connection.
enum Input {
    Read(usize),
    /// Tokens are required and the connection has not authenticated in time.
    AuthTimedOut,
    Event(Result<WatchEvent, Interrupted>),
    Stop,
}

/// Waits for bytes from the client or, while it is subscribed, for the next change applied
/// on this node.
async fn next_input(
    session: &mut Session,
    stream: &mut (impl AsyncRead + Unpin),
    input: &mut BytesMut,
    shutdown: &CancellationToken,
) -> std::io::Result<Input> {
    if let Some(deadline) = session.auth_deadline() {
        return Ok(tokio::select! {
            _ = shutdown.cancelled() => Input::Stop,
            _ = tokio::time::sleep_until(deadline.into()) => Input::AuthTimedOut,
            read = stream.read_buf(input) => Input::Read(read?),
        });
    }
    let Some(watch) = session.subs.watch() else {
        return Ok(tokio::select! {
            _ = shutdown.cancelled() => Input::Stop,
            read = stream.read_buf(input) => Input::Read(read?),
        });
    };
    Ok(tokio::select! {
        _ = shutdown.cancelled() => Input::Stop,
        read = stream.read_buf(input) => Input::Read(read?),
        event = watch.next() => event.map_or(Input::Stop, Input::Event),
    })
}

/// The complete requests waiting in `input`, in order, and the protocol error that follows
/// them, if any. Before authentication only one is taken: `AUTH` changes the bounds the
/// next one is parsed with.
fn take_requests(
    session: &Session,
    node: &Node,
    decoder: &mut Decoder,
    input: &mut BytesMut,
) -> (Vec<Vec<Bytes>>, Option<ProtocolError>) {
    let mut requests = Vec::new();
    loop {
        match decoder.parse(input, &session.limits(node)) {
            Ok(Some(args)) if args.is_empty() => continue,
            Ok(Some(args)) => {
                requests.push(args);
                if !session.batches_writes() || requests.len() >= MAX_AHEAD {
                    return (requests, None);
                }
            }
            Ok(None) => return (requests, None),
            Err(e) => return (requests, Some(e)),
        }
    }
}

//! A fault-injecting TCP proxy for one directed link (one client towards one target address):
//! pass, black-hole, delay or randomly cut the bytes, switchable at run time. Owns only its
//! listener, its threads and the connections it accepted; knows nothing of HTTP or dcache.
//!
//! Uses `std` only: one accept thread, and per connection two threads, one per direction.
//! Every live connection is kept in a registry so the controlling side can cut it at once
//! (`shutdown` wakes a blocked `read` on Linux), and every copy thread also reads with a short
//! timeout so that it re-checks the mode and releases delayed chunks on time.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Longest a copy thread blocks in `read` before it looks at the mode and its queue again.
const POLL: Duration = Duration::from_millis(20);

/// Shortest read timeout; `set_read_timeout(Some(ZERO))` is an error.
const MIN_WAIT: Duration = Duration::from_millis(1);

/// How long the proxy may take to open the upstream connection before it gives up and closes
/// the downstream one (the client then sees EOF, as if the target were down).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// Largest chunk read, and so forwarded (or cut on), at once.
const CHUNK: usize = 16 * 1024;

/// What the link does to the bytes from now on. Read once per forwarded chunk, so a change
/// applies to the next chunk of every connection; [`Mode::Blackhole`] also cuts the live ones.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) enum Mode {
    /// Forward every chunk as soon as it is read. The mode a proxy starts in.
    #[default]
    Pass,
    /// Hard partition: every live connection is cut (both sockets shut down, so both ends
    /// read EOF) and every new one is accepted and closed at once, without contacting the
    /// target. Closing rather than holding silently is deliberate: an HTTP client then fails
    /// within milliseconds ("connection closed before message completed") instead of waiting
    /// out its request timeout, so a test's time goes to Raft's reaction (elections, retries),
    /// not to client timeouts, and stays independent of what those timeouts are.
    Blackhole,
    /// Slow link: each chunk, in both directions, is released this long after it was read,
    /// in order. This adds latency, not a bandwidth limit: chunks read back to back all leave
    /// after the same delay. A round trip through the proxy thus takes at least twice this.
    Delay(Duration),
    /// Lossy link: each chunk read, in either direction, cuts its connection with this
    /// probability instead of being forwarded. TCP cannot drop bytes without breaking the
    /// stream, so loss is modelled as randomly reset connections. `<= 0.0` never
    /// cuts, `>= 1.0` cuts on the first chunk.
    Lossy {
        /// Chance in `[0, 1]` that one chunk cuts the connection.
        cut_probability: f64,
    },
}

/// A snapshot of the proxy's counters, for the harness to print. Counters only grow, except
/// `live`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    /// Connections accepted by the listener, including those then refused by a black hole.
    pub(crate) accepted: u64,
    /// Payload bytes written to either end (both directions added up).
    pub(crate) bytes_forwarded: u64,
    /// Established connections cut by a fault ([`Mode::Blackhole`] or [`Mode::Lossy`]).
    /// Cuts caused by I/O errors, ordinary closes or dropping the proxy are not counted.
    pub(crate) cut_by_fault: u64,
    /// Connections accepted while black-holed and closed without contacting the target.
    pub(crate) refused: u64,
    /// Connections currently registered: upstream open and at least one copy thread running.
    pub(crate) live: u64,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "accepted {}, forwarded {} B, cut by fault {}, refused {}, live {}",
            self.accepted, self.bytes_forwarded, self.cut_by_fault, self.refused, self.live
        )
    }
}

/// A running proxy: listens on `127.0.0.1:<free port>` and forwards each accepted connection
/// over its own new connection to the target. Dropping it stops the accept thread (joined)
/// and cuts every connection; copy threads then exit within one poll interval (~20 ms).
pub(crate) struct Proxy {
    handle: ProxyHandle,
    accept: Option<JoinHandle<()>>,
}

/// A cheap, cloneable handle on a [`Proxy`]'s mode and counters, for use from other threads.
/// It stays valid after the proxy is dropped (changing the mode then has no effect).
#[derive(Clone)]
pub(crate) struct ProxyHandle {
    shared: Arc<Shared>,
}

impl Proxy {
    /// Binds `127.0.0.1:0` and starts forwarding to `target` in [`Mode::Pass`]. Errors only if
    /// the listener cannot be bound or its thread not spawned; the target is first contacted
    /// when a client connects, so it need not be up yet.
    pub(crate) fn start(target: SocketAddr) -> io::Result<Proxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(addr, target));
        let for_thread = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name(format!("faultproxy-accept-{}", addr.port()))
            .spawn(move || accept_loop(&listener, &for_thread))?;
        let handle = ProxyHandle { shared };
        Ok(Proxy {
            handle,
            accept: Some(accept),
        })
    }

    /// A handle sharing this proxy's mode and counters, to hand to other threads.
    pub(crate) fn handle(&self) -> ProxyHandle {
        self.handle.clone()
    }
}

/// A `Proxy` is an owning guard around its handle: it adds the threads and `Drop`, and offers
/// every [`ProxyHandle`] method (`addr`, `set_mode`, `mode`, `stats`, ...) directly.
impl Deref for Proxy {
    type Target = ProxyHandle;

    fn deref(&self) -> &ProxyHandle {
        &self.handle
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let shared = &self.handle.shared;
        shared.stop();
        // The accept thread blocks in `accept`; one connection of our own wakes it, it then
        // sees `stopped` and exits, closing the listener. If even that connect fails the
        // thread is left detached rather than risking a join that never returns.
        let woken = TcpStream::connect_timeout(&shared.addr, CONNECT_TIMEOUT).is_ok();
        if let Some(accept) = self.accept.take() {
            if woken || accept.is_finished() {
                // A panic in the accept thread has nothing left to clean up; ignore it.
                let _ = accept.join();
            }
        }
    }
}

impl ProxyHandle {
    /// The address clients should connect to instead of the target.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The address every connection is forwarded to.
    pub(crate) fn target(&self) -> SocketAddr {
        self.shared.target
    }

    /// Switches the link's behaviour. Applies to the next chunk of every connection; a switch
    /// to [`Mode::Blackhole`] also cuts every live connection before it returns, so both ends
    /// read EOF at once, even on idle connections.
    pub(crate) fn set_mode(&self, mode: Mode) {
        self.shared.set_mode(mode);
    }

    /// The current mode.
    pub(crate) fn mode(&self) -> Mode {
        self.shared.mode()
    }

    /// A snapshot of the counters; cheap (one lock, a few atomic loads).
    pub(crate) fn stats(&self) -> Stats {
        let live = self.shared.state().conns.len() as u64;
        let counters = &self.shared.counters;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Stats {
            accepted: load(&counters.accepted),
            bytes_forwarded: load(&counters.bytes_forwarded),
            cut_by_fault: load(&counters.cut_by_fault),
            refused: load(&counters.refused),
            live,
        }
    }
}

/// State shared by the proxy, its handles and all of its threads.
struct Shared {
    addr: SocketAddr,
    target: SocketAddr,
    /// Mode, stop flag and registry under one lock, so a connection registering while the
    /// mode turns to `Blackhole` (or the proxy stops) is either swept or sees the change.
    state: Mutex<State>,
    counters: Counters,
    /// Base seed for the per-direction PRNGs of `Mode::Lossy`.
    seed: u64,
}

/// The live counterparts of [`Stats`].
#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    bytes_forwarded: AtomicU64,
    cut_by_fault: AtomicU64,
    refused: AtomicU64,
}

#[derive(Default)]
struct State {
    mode: Mode,
    stopped: bool,
    next_id: u64,
    conns: HashMap<u64, Arc<Conn>>,
}

impl Shared {
    fn new(addr: SocketAddr, target: SocketAddr) -> Shared {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Shared {
            addr,
            target,
            state: Mutex::default(),
            counters: Counters::default(),
            seed: nanos ^ (u64::from(addr.port()) << 48) ^ u64::from(target.port()),
        }
    }

    /// The state, even if a thread panicked while holding the lock: every update under it is
    /// a single assignment or map operation, so it is never left half-done.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn mode(&self) -> Mode {
        self.state().mode
    }

    fn is_stopped(&self) -> bool {
        self.state().stopped
    }

    fn set_mode(&self, mode: Mode) {
        let mut state = self.state();
        state.mode = mode;
        if mode == Mode::Blackhole {
            for conn in state.conns.values() {
                self.cut_by_fault(conn);
            }
        }
    }

    /// Stops accepting and cuts every connection (not counted as a fault).
    fn stop(&self) {
        let mut state = self.state();
        state.stopped = true;
        for conn in state.conns.values() {
            conn.cut();
        }
    }

    /// Cuts `conn` and counts it, unless it was already cut.
    fn cut_by_fault(&self, conn: &Conn) {
        if conn.cut() {
            self.counters.cut_by_fault.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Adds `conn` to the registry and returns its id, or cuts it and returns `None` if the
    /// proxy has stopped or the link went black since the connection was accepted.
    fn register(&self, conn: &Arc<Conn>) -> Option<u64> {
        let mut state = self.state();
        if state.stopped {
            conn.cut();
            return None;
        }
        if state.mode == Mode::Blackhole {
            self.cut_by_fault(conn);
            return None;
        }
        let id = state.next_id;
        state.next_id += 1;
        state.conns.insert(id, Arc::clone(conn));
        Some(id)
    }

    /// Writes all of `bytes` to `dst` and counts them.
    fn forward(&self, mut dst: &TcpStream, bytes: &[u8]) -> io::Result<()> {
        dst.write_all(bytes)?;
        self.counters
            .bytes_forwarded
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    fn deregister(&self, id: u64) {
        self.state().conns.remove(&id);
    }
}

/// One proxied connection: the accepted (downstream) socket and the one opened to the target.
struct Conn {
    down: TcpStream,
    up: TcpStream,
    cut: AtomicBool,
}

impl Conn {
    /// Shuts both sockets down in both directions, waking any thread blocked on them. Returns
    /// whether this call did it (false if the connection was already cut).
    fn cut(&self) -> bool {
        if self.cut.swap(true, Ordering::AcqRel) {
            return false;
        }
        // Errors only mean the socket is already closed or reset, which is the goal.
        let _ = self.down.shutdown(Shutdown::Both);
        let _ = self.up.shutdown(Shutdown::Both);
        true
    }

    fn is_cut(&self) -> bool {
        self.cut.load(Ordering::Acquire)
    }
}

/// Accepts until the proxy stops. Never panics: accept errors are retried after a pause, and
/// a connection whose thread cannot be spawned is simply closed.
fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for incoming in listener.incoming() {
        if shared.is_stopped() {
            return;
        }
        let down = match incoming {
            Ok(down) => down,
            Err(_) => {
                thread::sleep(ACCEPT_BACKOFF);
                continue;
            }
        };
        shared.counters.accepted.fetch_add(1, Ordering::Relaxed);
        if shared.mode() == Mode::Blackhole {
            shared.counters.refused.fetch_add(1, Ordering::Relaxed);
            let _ = down.shutdown(Shutdown::Both);
            continue;
        }
        let for_thread = Arc::clone(shared);
        // On a spawn error the closure, and with it `down`, is dropped: the client sees EOF.
        let _ = thread::Builder::new()
            .name("faultproxy-conn".to_owned())
            .spawn(move || serve(down, &for_thread));
    }
}

/// Opens the upstream connection for `down`, registers the pair and copies both ways until
/// both directions have finished; then deregisters it (closing the sockets).
fn serve(down: TcpStream, shared: &Arc<Shared>) {
    let Ok(up) = TcpStream::connect_timeout(&shared.target, CONNECT_TIMEOUT) else {
        return; // Target down: dropping `down` closes it, as a refused connection would.
    };
    // The proxy must not add Nagle/delayed-ACK stalls that the direct link would not have.
    let _ = down.set_nodelay(true);
    let _ = up.set_nodelay(true);
    let conn = Arc::new(Conn {
        down,
        up,
        cut: AtomicBool::new(false),
    });
    let Some(id) = shared.register(&conn) else {
        return;
    };
    let seed = shared.seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let (s, c) = (Arc::clone(shared), Arc::clone(&conn));
    let downstream = thread::Builder::new()
        .name("faultproxy-copy".to_owned())
        .spawn(move || pump(&s, &c, &c.up, &c.down, seed ^ 1));
    match downstream {
        Ok(downstream) => {
            pump(shared, &conn, &conn.down, &conn.up, seed);
            // `pump` never panics; if it somehow did, the connection is finished either way.
            let _ = downstream.join();
        }
        Err(_) => {
            conn.cut();
        }
    }
    shared.deregister(id);
}

/// A chunk waiting to be written once its time has come.
struct Pending {
    due: Instant,
    bytes: Vec<u8>,
}

/// Copies one direction of `conn`, from `src` to `dst` (its two sockets), until EOF (then
/// half-closes `dst` once every delayed chunk is out), a fault or an I/O error (both of which
/// cut the whole connection).
fn pump(shared: &Shared, conn: &Conn, src: &TcpStream, dst: &TcpStream, seed: u64) {
    if copy(shared, conn, src, dst, seed).is_err() {
        conn.cut(); // resets are normal here: pass them on to the other end, not counted
    }
}

/// The body of [`pump`]: `Ok` once the source reached EOF or the connection was cut.
fn copy(shared: &Shared, conn: &Conn, mut src: &TcpStream, dst: &TcpStream, seed: u64) -> io::Result<()> {
    let mut rng = XorShift::seeded(seed);
    let mut queue: VecDeque<Pending> = VecDeque::new();
    let mut buf = vec![0_u8; CHUNK];
    let mut wait = POLL;
    src.set_read_timeout(Some(wait))?;
    let mut eof = false;
    while !conn.is_cut() {
        let now = Instant::now();
        while queue.front().is_some_and(|p| p.due <= now) {
            if let Some(pending) = queue.pop_front() {
                shared.forward(dst, &pending.bytes)?;
            }
        }
        let next_wait = queue
            .front()
            .map_or(POLL, |p| p.due.saturating_duration_since(now).clamp(MIN_WAIT, POLL));
        if eof {
            if queue.is_empty() {
                // Pass the half-close on, so protocols that use it still work.
                return dst.shutdown(Shutdown::Write);
            }
            // Deliberate: the remaining chunks are not due yet (fault injection, not waiting).
            thread::sleep(next_wait);
            continue;
        }
        if next_wait != wait {
            src.set_read_timeout(Some(next_wait))?;
            wait = next_wait;
        }
        let n = match src.read(&mut buf) {
            Ok(0) => {
                eof = true;
                continue;
            }
            Ok(n) => n,
            Err(e) if is_timeout(&e) => continue,
            Err(e) => return Err(e),
        };
        // `None`: this chunk is lost, and with it the connection.
        let delay = match shared.mode() {
            Mode::Pass => Some(Duration::ZERO),
            Mode::Delay(delay) => Some(delay),
            Mode::Lossy { cut_probability } if rng.next_f64() < cut_probability => None,
            Mode::Lossy { .. } => Some(Duration::ZERO),
            Mode::Blackhole => None,
        };
        let Some(delay) = delay else {
            shared.cut_by_fault(conn);
            return Ok(());
        };
        if delay.is_zero() && queue.is_empty() {
            shared.forward(dst, &buf[..n])?;
        } else {
            let due = Instant::now() + delay;
            queue.push_back(Pending {
                due,
                bytes: buf[..n].to_vec(),
            });
        }
    }
    Ok(())
}

/// Whether a read failed only because nothing arrived within its timeout.
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}

/// xorshift64: a tiny, fast PRNG; good enough to decide which chunks cut a connection.
struct XorShift(u64);

impl XorShift {
    /// Scrambles `seed` with one splitmix64 step so nearby seeds give unrelated streams.
    fn seeded(seed: u64) -> XorShift {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        XorShift(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z }) // xorshift must not start at 0
    }

    /// A uniform value in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1_u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bound on "at once" for faults, generous for a loaded 2-core machine.
    const FAST: Duration = Duration::from_millis(200);

    /// A TCP echo server on a free port; stops accepting on drop.
    struct Echo {
        addr: SocketAddr,
        stop: Arc<AtomicBool>,
        accept: Option<JoinHandle<()>>,
    }

    impl Drop for Echo {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Release);
            if let (Ok(_wake), Some(accept)) = (TcpStream::connect(self.addr), self.accept.take()) {
                accept.join().unwrap();
            }
        }
    }

    /// An echo server and a proxy in front of it, in `Mode::Pass`.
    fn echo_behind_proxy() -> (Echo, Proxy) {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let accept = thread::spawn(move || {
            for stream in listener.incoming().take_while(|_| !stopped.load(Ordering::Acquire)) {
                let Ok(stream) = stream else { continue };
                thread::spawn(move || io::copy(&mut &stream, &mut &stream));
            }
        });
        let proxy = Proxy::start(addr).unwrap();
        assert_eq!(proxy.target(), addr);
        (
            Echo {
                addr,
                stop,
                accept: Some(accept),
            },
            proxy,
        )
    }

    /// Polls the proxy's counters every 5 ms until `cond` holds; fails after `FAST`.
    fn await_stats(handle: &ProxyHandle, cond: impl Fn(&Stats) -> bool) {
        let deadline = Instant::now() + FAST;
        while !cond(&handle.stats()) {
            assert!(Instant::now() < deadline, "counters never matched: {}", handle.stats());
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn connect(proxy: &Proxy) -> TcpStream {
        let stream = TcpStream::connect(proxy.addr()).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream
    }

    /// Writes `msg` and reads the same bytes back; returns how long that took.
    fn round_trip(mut stream: &TcpStream, msg: &[u8]) -> Duration {
        let start = Instant::now();
        stream.write_all(msg).unwrap();
        let mut back = vec![0_u8; msg.len()];
        stream.read_exact(&mut back).unwrap();
        assert_eq!(back, msg);
        start.elapsed()
    }

    /// Whether the peer closed or reset `stream` within `limit` (data instead is a failure).
    fn closed_within(mut stream: &TcpStream, limit: Duration) -> bool {
        stream.set_read_timeout(Some(limit)).unwrap();
        match stream.read(&mut [0_u8; 64]) {
            Ok(0) => true,
            Ok(n) => panic!("expected a closed connection, read {n} bytes"),
            Err(e) => !is_timeout(&e), // reset or aborted: closed just as well
        }
    }

    #[test]
    fn pass_echoes_small_and_large_payloads_and_counts_bytes() {
        let (_echo, proxy) = echo_behind_proxy();
        let stream = connect(&proxy);
        round_trip(&stream, b"hello");

        let big: Vec<u8> = (0..1_000_000_u32).map(|i| (i % 251) as u8).collect();
        let (mut upload, sent) = (stream.try_clone().unwrap(), big.clone());
        let writer = thread::spawn(move || upload.write_all(&sent).unwrap());
        let mut back = vec![0_u8; big.len()];
        (&stream).read_exact(&mut back).unwrap();
        writer.join().unwrap();
        assert!(back == big, "1 MB echo came back altered");

        let expected = 2 * (5 + big.len() as u64);
        await_stats(&proxy, |s| s.bytes_forwarded == expected);
        let stats = proxy.stats();
        assert_eq!(
            (stats.accepted, stats.cut_by_fault, stats.refused, stats.live),
            (1, 0, 0, 1)
        );
    }

    #[test]
    fn many_short_connections_are_forwarded_and_released() {
        let (_echo, proxy) = echo_behind_proxy();
        for i in 0..50_u32 {
            round_trip(&connect(&proxy), format!("request {i}").as_bytes());
        }
        await_stats(&proxy, |s| s.live == 0 && s.accepted == 50);
    }

    #[test]
    fn blackhole_cuts_idle_connections_refuses_new_ones_and_pass_restores() {
        let (_echo, proxy) = echo_behind_proxy();
        let idle = connect(&proxy);
        round_trip(&idle, b"before");

        let start = Instant::now();
        proxy.set_mode(Mode::Blackhole);
        assert!(closed_within(&idle, FAST), "idle connection still open in a black hole");
        assert!(start.elapsed() < FAST);
        assert_eq!(proxy.stats().cut_by_fault, 1);

        let start = Instant::now();
        let fresh = connect(&proxy);
        let _ = (&fresh).write_all(b"anyone?"); // may already fail: the proxy closed it
        assert!(closed_within(&fresh, FAST), "new connection not closed in a black hole");
        assert!(start.elapsed() < FAST);
        await_stats(&proxy, |s| s.refused == 1 && s.live == 0);

        proxy.set_mode(Mode::Pass);
        assert_eq!(proxy.mode(), Mode::Pass);
        round_trip(&connect(&proxy), b"after");
    }

    #[test]
    fn delay_holds_every_chunk_both_ways_and_keeps_order() {
        let (_echo, proxy) = echo_behind_proxy();
        let stream = connect(&proxy);
        let delay = Duration::from_millis(100);
        proxy.handle().set_mode(Mode::Delay(delay));

        let took = round_trip(&stream, b"ping");
        assert!(
            took >= 2 * delay && took < Duration::from_secs(1),
            "round trip took {took:?}"
        );

        // Chunks written back to back share one delay and come back in order.
        let start = Instant::now();
        let sent: Vec<u8> = (0..20).flat_map(|i| format!("<{i}>").into_bytes()).collect();
        for piece in sent.chunks(3) {
            (&stream).write_all(piece).unwrap();
        }
        let mut back = vec![0_u8; sent.len()];
        (&stream).read_exact(&mut back).unwrap();
        assert_eq!(back, sent);
        let took = start.elapsed();
        assert!(
            took >= 2 * delay && took < Duration::from_secs(1),
            "burst took {took:?}"
        );
    }

    #[test]
    fn lossy_with_certainty_cuts_on_the_first_chunk() {
        let (_echo, proxy) = echo_behind_proxy();
        proxy.set_mode(Mode::Lossy { cut_probability: 1.0 });
        let stream = connect(&proxy);
        (&stream).write_all(b"doomed").unwrap();
        assert!(closed_within(&stream, FAST), "lossy(1.0) forwarded a chunk");
        await_stats(&proxy, |s| s.cut_by_fault == 1 && s.bytes_forwarded == 0);
    }

    #[test]
    fn lossy_with_zero_probability_never_cuts() {
        let (_echo, proxy) = echo_behind_proxy();
        proxy.set_mode(Mode::Lossy { cut_probability: 0.0 });
        let stream = connect(&proxy);
        for i in 0..200_u32 {
            round_trip(&stream, format!("msg {i}").as_bytes());
        }
        assert_eq!(proxy.stats().cut_by_fault, 0);
    }

    #[test]
    fn lossy_cuts_about_the_requested_share() {
        let (_echo, proxy) = echo_behind_proxy();
        proxy.set_mode(Mode::Lossy { cut_probability: 0.5 });
        let survived = (0..100)
            .filter(|_| {
                let mut stream = connect(&proxy);
                stream.write_all(b"x").unwrap();
                matches!(stream.read(&mut [0_u8; 1]), Ok(1))
            })
            .count();
        // Each survivor passed two coin flips (there and back): expect ~25 of 100.
        assert!((5..=60).contains(&survived), "{survived} of 100 survived at p = 0.5");
    }

    #[test]
    fn drop_closes_connections_and_the_listener() {
        let (_echo, proxy) = echo_behind_proxy();
        let (handle, addr) = (proxy.handle(), proxy.addr());
        let stream = connect(&proxy);
        round_trip(&stream, b"alive");

        let start = Instant::now();
        drop(proxy);
        assert!(closed_within(&stream, FAST), "connection survived the proxy");
        assert!(start.elapsed() < FAST);
        assert!(TcpStream::connect(addr).is_err(), "listener survived the proxy");
        await_stats(&handle, |s| s.live == 0 && s.cut_by_fault == 0);
    }

    #[test]
    fn unreachable_target_closes_the_client_connection() {
        let dead = TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap(); // closed again
        let proxy = Proxy::start(dead).unwrap();
        assert!(closed_within(&connect(&proxy), Duration::from_secs(1)));
    }
}

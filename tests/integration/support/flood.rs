//! A flood of silent TCP connections, as an attacker (or a buggy client pool) holds them:
//! used by the resource tests and by the fault runs.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Silent TCP connections an attacker keeps open: `per_addr` to each address, each one the
/// node closes opened again every `every`. Stops (and closes them) on drop.
pub(crate) struct Flood {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Flood {
    pub(crate) fn start(addrs: Vec<SocketAddr>, per_addr: usize, every: Duration) -> Flood {
        raise_nofile_limit();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let mut conns: Vec<(SocketAddr, Option<TcpStream>)> = addrs
            .iter()
            .flat_map(|a| std::iter::repeat_n(*a, per_addr))
            .map(|a| (a, None))
            .collect();
        // The first round is opened before returning, so the ports are flooded from then on.
        reopen_closed(&mut conns);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                // An attacker's pace, not a wait for a state.
                std::thread::sleep(every);
                reopen_closed(&mut conns);
            }
        });
        Flood {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Opens every connection of `conns` that is not open or that the node has closed.
fn reopen_closed(conns: &mut [(SocketAddr, Option<TcpStream>)]) {
    for (addr, conn) in conns.iter_mut() {
        if conn.as_mut().is_none_or(closed_by_peer) {
            *conn = TcpStream::connect_timeout(addr, Duration::from_millis(200)).ok();
            if let Some(c) = conn {
                c.set_nonblocking(true).unwrap();
            }
        }
    }
}

/// Whether the node closed the (non-blocking) connection.
fn closed_by_peer(c: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    match c.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

/// Raises this test process's soft descriptor limit to its hard limit, once: floods open
/// hundreds of sockets while other tests run in the same process.
fn raise_nofile_limit() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use nix::sys::resource::{getrlimit, setrlimit, Resource};
        if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    });
}

//! The `dcache` binary: tune the allocator, parse the command line, run the subcommand
//! (`commands::run`), print its error once and exit with the code the error carries.

use std::process::ExitCode;

use clap::Parser;
use dcache::cli::Cli;
use dcache::commands::{self, Exit};

/// mimalloc instead of glibc malloc: the write path allocates many small buffers (HTTP,
/// MessagePack, sled), and glibc's allocator was a fifth of the leader's CPU in a profile.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (see mimalloc.h; the sys crate does not name it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long freed pages stay committed before they go back to the OS. Not zero: with no
/// delay, every large buffer of the write path (a 64 KiB value's request body, log run and
/// sled page) was fresh memory the kernel had to fault in and zero, a third of the leader's
/// CPU. Measured, 3-node release cluster, 16 clients writing 64 KiB values, 4 runs each
/// alternated: 459-549 -> 596-692 writes/s, p99 106-134 -> 66-88 ms; 256 B and 4 KiB writes
/// and the 1M-key RSS unchanged (379 MB after loading, 379 MB after a restart).
const PURGE_DELAY_MS: std::ffi::c_long = 100;

/// Return freed memory to the OS after [`PURGE_DELAY_MS`] instead of mimalloc's default, a
/// delay that only runs out on a later allocation: an idle node otherwise kept the peak of
/// its last snapshot build or restore (a whole cache's worth) resident (1M keys x 256 B on
/// one node: RSS after loading 853 -> 524 MB with no delay). Idle runtime threads also
/// collect their heaps (see [`collect_now_and_then`]), so a short delay keeps that figure.
/// `MIMALLOC_PURGE_DELAY` in the environment still wins.
///
/// Transparent huge pages are switched off for the process (as Redis advises): mimalloc asks
/// for them on its arenas, and a 2 MiB page is resident as soon as one byte of it is in use,
/// so a scattered heap costs far more RSS than it holds. Measured, 1M keys x 256 B on one
/// node: RSS 481-508 -> 412-444 MB after loading, 421-458 -> 384-393 MB after a restart; an
/// idle node 104 -> 44 MB. `MIMALLOC_ALLOW_THP` in the environment still wins.
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: called first thing in `main`, before any other thread exists (the call is
        // not thread-safe); the option id is from mimalloc's own header.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // Best effort: a kernel without the flag just keeps its default.
        let _ = nix::sys::prctl::set_thp_disable(true);
    }
}

/// How often at most a thread about to go idle collects its allocator heap.
const COLLECT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Run when a runtime thread is about to go idle: at most once per [`COLLECT_EVERY`], it
/// collects its mimalloc heap (`mi_collect`): blocks other threads freed into it are taken
/// back, and pages left empty go back to the OS. mimalloc does this only when the thread
/// allocates again, so a node that stops taking writes otherwise keeps the pages that
/// freed request buffers left behind.
fn collect_now_and_then() {
    thread_local! {
        static LAST: std::cell::Cell<Option<std::time::Instant>> = const { std::cell::Cell::new(None) };
    }
    let now = std::time::Instant::now();
    if LAST.get().is_some_and(|t| now.duration_since(t) < COLLECT_EVERY) {
        return;
    }
    LAST.set(Some(now));
    // SAFETY: mi_collect only touches the calling thread's own heap (and segments other
    // threads abandoned), which is safe to do at any point between allocations.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

fn main() -> ExitCode {
    tune_allocator();
    // Everything dcache creates holds cache data or secrets: data dirs (0700), sled files,
    // snapshot and backup files (0600), local-cluster logs. Nobody else needs to read them.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_park(collect_now_and_then)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Failure.into();
        }
    };
    let result = runtime.block_on(commands::run(cli));
    // Everything that matters has finished; a blocking task still running here is a flush
    // stuck on a failed disk (see `raft::store`), and waiting for it would hang the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => Exit::Ok.into(),
        Err(e) => {
            eprintln!("error: {e}");
            e.exit().into()
        }
    }
}

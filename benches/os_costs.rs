//! What this machine charges for the steps a replicated write cannot avoid, measured without
//! any dcache or sled code:
//!
//! - waking a thread: two threads hand a token back and forth with `park`/`unpark` (a futex,
//!   as tokio's workers and sled's I/O pool are woken), first free to run on any CPU, then
//!   both pinned to one;
//! - making a small append durable: `pwrite` at the end of a file, then either
//!   `sync_file_range` (what sled 0.34 does to make its log durable on Linux) or `fdatasync`
//!   (what a log file of our own would use: it also flushes the drive's write cache).
//!
//!   cargo bench --bench os_costs -- --writes 3000
//!
//! The file goes in `--dir` (default: the system's temp dir, which is where the benchmark
//! scripts put the nodes' data dirs). Wall time is per operation; CPU is the writing thread's
//! user and system time (`getrusage(RUSAGE_THREAD)`) per operation.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "thread wake-ups and durable appends on this machine, without dcache or sled")]
struct Args {
    /// Round trips of the thread ping-pong.
    #[arg(long, default_value_t = 20_000)]
    round_trips: u32,
    /// Durable appends per size and sync call.
    #[arg(long, default_value_t = 3000)]
    writes: u32,
    /// Directory for the append file (removed afterwards).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
    /// `cargo bench` passes `--bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    println!(
        "thread ping-pong, any CPU: {:.1} us per round trip (two wake-ups)",
        per_us(ping_pong(args.round_trips, false)?, args.round_trips)
    );
    println!(
        "thread ping-pong, one CPU: {:.1} us per round trip (two wake-ups)",
        per_us(ping_pong(args.round_trips, true)?, args.round_trips)
    );
    let dir = match args.dir {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .context("creating a temp dir for the append file")?;
    for sync in [Sync::FileRange, Sync::Data] {
        for size in [512, 4096, 65536] {
            let (wall, user, system) = appends(&dir.path().join("appends"), size, args.writes, sync)?;
            println!(
                "pwrite {size:>5} B + {:<15}: {:>4.0} us wall, {:>3.0} us user + {:>3.0} us system per append",
                sync.name(),
                per_us(wall, args.writes),
                per_us(user, args.writes),
                per_us(system, args.writes)
            );
        }
    }
    Ok(())
}

fn per_us(total: Duration, n: u32) -> f64 {
    total.as_secs_f64() * 1e6 / f64::from(n)
}

/// Total wall time of `n` round trips between two threads that wake each other.
fn ping_pong(n: u32, one_cpu: bool) -> Result<Duration> {
    let turn = Arc::new(AtomicBool::new(false)); // false: main's turn; true: the peer's
    let main = std::thread::current();
    let peer_turn = turn.clone();
    let peer = std::thread::spawn(move || -> Result<()> {
        if one_cpu {
            pin_to_cpu0()?;
        }
        for _ in 0..n {
            while !peer_turn.load(Ordering::Acquire) {
                std::thread::park();
            }
            peer_turn.store(false, Ordering::Release);
            main.unpark();
        }
        Ok(())
    });
    if one_cpu {
        pin_to_cpu0()?;
    }
    let start = Instant::now();
    for _ in 0..n {
        turn.store(true, Ordering::Release);
        peer.thread().unpark();
        while turn.load(Ordering::Acquire) {
            std::thread::park();
        }
    }
    let took = start.elapsed();
    match peer.join() {
        Ok(result) => result?,
        Err(_) => bail!("the ping-pong thread panicked"),
    }
    if one_cpu {
        unpin()?;
    }
    Ok(took)
}

fn set_affinity(cpus: &[usize]) -> Result<()> {
    // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET only write inside it, and
    // sched_setaffinity reads it for the calling thread (pid 0).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error()).context("sched_setaffinity");
        }
    }
    Ok(())
}

fn pin_to_cpu0() -> Result<()> {
    set_affinity(&[0])
}

fn unpin() -> Result<()> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    set_affinity(&(0..cpus).collect::<Vec<_>>())
}

#[derive(Clone, Copy)]
enum Sync {
    FileRange,
    Data,
}

impl Sync {
    fn name(self) -> &'static str {
        match self {
            Sync::FileRange => "sync_file_range",
            Sync::Data => "fdatasync",
        }
    }
}

/// `n` appends of `size` bytes, each made durable before the next: wall time, and the
/// thread's user and system CPU.
fn appends(path: &std::path::Path, size: usize, n: u32, sync: Sync) -> Result<(Duration, Duration, Duration)> {
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let buf = vec![b'x'; size];
    let (user0, system0) = thread_cpu()?;
    let start = Instant::now();
    let mut offset = 0u64;
    for _ in 0..n {
        file.write_all_at(&buf, offset).context("pwrite")?;
        match sync {
            Sync::Data => file.sync_data().context("fdatasync")?,
            Sync::FileRange => {
                let flags =
                    libc::SYNC_FILE_RANGE_WAIT_BEFORE | libc::SYNC_FILE_RANGE_WRITE | libc::SYNC_FILE_RANGE_WAIT_AFTER;
                // SAFETY: a plain syscall on an open descriptor this function owns.
                let ret = unsafe { libc::sync_file_range(file.as_raw_fd(), offset as i64, size as i64, flags) };
                if ret != 0 {
                    return Err(std::io::Error::last_os_error()).context("sync_file_range");
                }
            }
        }
        offset += size as u64;
    }
    let wall = start.elapsed();
    let (user1, system1) = thread_cpu()?;
    std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
    Ok((wall, user1 - user0, system1 - system0))
}

/// The calling thread's user and system CPU time so far.
fn thread_cpu() -> Result<(Duration, Duration)> {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_THREAD, &mut usage) != 0 {
            return Err(std::io::Error::last_os_error()).context("getrusage");
        }
        usage
    };
    let time = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    Ok((time(usage.ru_utime), time(usage.ru_stime)))
}

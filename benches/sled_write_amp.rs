//! How many bytes sled 0.34 writes to disk for each byte of Raft log dcache hands it, and the
//! CPU each flushed append costs, with the node's layout (`src/raft/store/runs.rs`): each
//! append is one run under its first index, cut into pieces, written as one batch and then
//! flushed, and the log is purged from the front behind each snapshot.
//!
//! No dcache code runs here: it is sled alone, single-threaded, on a temp dir, so the figures
//! are the storage engine's floor under every write the node makes (three times per write in
//! a 3-node cluster: the leader and each follower append it).
//!
//!   cargo bench --bench sled_write_amp -- --runs 3000 --run-bytes 65536
//!
//! (The first `cargo bench` links it with the release profile's whole-program optimization:
//! minutes. The binary is then `target/release/deps/sled_write_amp-*`.)
//!
//! Bytes written are the kernel's count for this process (`write_bytes` in /proc/self/io):
//! every page the process dirtied, however often. CPU is user and system time of all its
//! threads (sled's I/O pool included), from /proc/self/stat.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "sled's write amplification and CPU per flushed append, for dcache's log layout")]
struct Args {
    /// Appends (runs) to write; each is flushed before the next, as the node's group commit
    /// does when one append is in flight.
    #[arg(long, default_value_t = 3000)]
    runs: u64,
    /// Bytes per run (a batch of log entries as one append hands them over).
    #[arg(long, default_value_t = 64 * 1024)]
    run_bytes: usize,
    /// Largest piece of a run under one key (the node uses 6 KiB; see runs.rs for why).
    #[arg(long, default_value_t = 6 * 1024)]
    piece_bytes: usize,
    /// Flush after every this many runs (1: every run, as the node does when each append is
    /// the only one in its group commit). More shows how much of the bytes are the flushes'.
    #[arg(long, default_value_t = 1)]
    flush_every: u64,
    /// Purge the oldest runs every this many runs, keeping a tenth (0: never), as the node
    /// purges behind a snapshot.
    #[arg(long, default_value_t = 0)]
    purge_every: u64,
    /// sled's page cache, MiB (the node uses 8).
    #[arg(long, default_value_t = 8)]
    cache_mib: u64,
    /// sled's segment size, KiB (a power of two; sled's default, which the node uses, is
    /// 512). A page over a quarter of it goes to a blob file of its own.
    #[arg(long, default_value_t = 512)]
    segment_kib: usize,
    /// `cargo bench` passes `--bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Bytes this process has caused to be written, as the kernel counts them.
fn written_bytes() -> Result<u64> {
    let io = std::fs::read_to_string("/proc/self/io").context("reading /proc/self/io")?;
    io.lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))
        .and_then(|v| v.trim().parse().ok())
        .context("no write_bytes in /proc/self/io")
}

/// User and system CPU of every thread of this process, in milliseconds.
fn cpu_ms() -> Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("malformed /proc/self/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .context("malformed /proc/self/stat")
    };
    // utime and stime are fields 14 and 15 (11 and 12 after the name); the kernel's
    // USER_HZ is 100 on every Linux this runs on.
    Ok((ticks(11)? * 10, ticks(12)? * 10))
}

fn run_key(index: u64, piece: u32) -> Vec<u8> {
    let mut key = index.to_be_bytes().to_vec();
    if piece > 0 {
        key.extend_from_slice(&piece.to_be_bytes());
    }
    key
}

fn main() -> Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let db = sled::Config::new()
        .path(dir.path().join("raft.sled"))
        .cache_capacity(args.cache_mib * 1024 * 1024)
        .segment_size(args.segment_kib * 1024)
        .open()
        .context("opening sled")?;
    let log = db.open_tree("log")?;
    let run = vec![0x5a_u8; args.run_bytes];

    let (written_before, (user_before, sys_before)) = (written_bytes()?, cpu_ms()?);
    let started = Instant::now();
    let mut first = 0;
    for index in 0..args.runs {
        let mut batch = sled::Batch::default();
        for (piece, chunk) in (0..).zip(run.chunks(args.piece_bytes.max(1))) {
            batch.insert(run_key(index, piece), chunk);
        }
        log.apply_batch(batch)?;
        if (index + 1) % args.flush_every.max(1) == 0 {
            db.flush()?;
        }
        if args.purge_every > 0 && index + 1 - first >= args.purge_every {
            let upto = index + 1 - args.purge_every / 10;
            for key in log.range(..upto.to_be_bytes()).keys() {
                log.remove(key?)?;
            }
            first = upto;
        }
    }
    let elapsed = started.elapsed();
    let written = written_bytes()? - written_before;
    let (user, sys) = cpu_ms()?;
    let (user, sys) = (user - user_before, sys - sys_before);

    // Pages sled wrote to blob files of their own, which it never fsyncs: a layout that makes
    // any is not durable.
    let blobs = std::fs::read_dir(dir.path().join("raft.sled").join("blobs")).map_or(0, |d| d.count());

    let appended = args.runs * args.run_bytes as u64;
    let per_run_us = |ms: u64| ms as f64 * 1000.0 / args.runs as f64;
    println!(
        "runs of {} B in pieces of {} B, segments of {} KiB, flush every {}, purge every {}: appended {:.0} MB, sled wrote {:.0} MB ({:.2}x); \
         {:.0} runs/s; CPU per run {:.0} us user + {:.0} us system; {} blob files",
        args.run_bytes,
        args.piece_bytes,
        args.segment_kib,
        args.flush_every,
        args.purge_every,
        appended as f64 / 1e6,
        written as f64 / 1e6,
        written as f64 / appended as f64,
        args.runs as f64 / elapsed.as_secs_f64(),
        per_run_us(user),
        per_run_us(sys),
        blobs,
    );
    Ok(())
}

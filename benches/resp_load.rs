//! A closed-loop RESP load generator that can put its connections in `READONLY` mode, so
//! dcache's local reads (answered by whichever member a connection reaches) are measured
//! with the same client, settings and machine as a Redis server's `GET`s.
//!
//! It drives any RESP server the way `../shared/tools/kvload --backend redis` does: one
//! connection per client, spread round-robin over the endpoints, one request in flight per
//! client, keys chosen uniformly at random, every key written once before a read run. With
//! `--readonly` each connection first sends `READONLY`. The client is a few lines of raw
//! RESP over a buffered socket (no client library), so that it takes as little of the
//! machine's CPU as it can: the servers under test share the same two cores.
//!
//!   cargo bench --bench resp_load -- --endpoints redis://127.0.0.1:6379 --workload get
//!
//! `benches/resp-local-reads.sh` runs it against dcache and Redis in turn.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

#[derive(Parser, Debug)]
#[command(about = "Closed-loop RESP load, optionally on READONLY connections")]
struct Args {
    /// Comma-separated redis:// URLs; connections are spread over them round-robin.
    #[arg(long, value_delimiter = ',', required = true)]
    endpoints: Vec<String>,
    /// Concurrent clients, each on its own connection with one request in flight.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Measured run time in seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    #[arg(long, value_enum, default_value_t = Workload::Get)]
    workload: Workload,
    /// Send READONLY on every connection first (dcache: local reads).
    #[arg(long)]
    readonly: bool,
    /// Distinct keys, chosen uniformly at random.
    #[arg(long, default_value_t = 10_000)]
    key_space: u64,
    #[arg(long, default_value_t = 256)]
    value_size: usize,
    #[arg(long, default_value = "kvload-")]
    key_prefix: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// `cargo bench` passes `--bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Workload {
    Get,
    Set,
}

fn key(prefix: &str, i: u64) -> String {
    format!("{prefix}{i:08}")
}

/// SplitMix64: cheap and good enough to pick keys.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// One connection speaking raw RESP, one request at a time.
struct Conn {
    read: BufReader<OwnedReadHalf>,
    write: OwnedWriteHalf,
    out: Vec<u8>,
    line: Vec<u8>,
    body: Vec<u8>,
}

/// What a request was answered.
enum Answer {
    Nil,
    Value,
    Other,
}

impl Conn {
    async fn open(url: &str, readonly: bool) -> Result<Conn> {
        let addr = url.strip_prefix("redis://").unwrap_or(url).trim_end_matches('/');
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connect {url}"))?;
        stream.set_nodelay(true)?;
        let (read, write) = stream.into_split();
        let mut conn = Conn {
            read: BufReader::with_capacity(64 * 1024, read),
            write,
            out: Vec::with_capacity(512),
            line: Vec::with_capacity(64),
            body: Vec::with_capacity(512),
        };
        if readonly {
            conn.call(&[b"READONLY"])
                .await
                .with_context(|| format!("READONLY on {url}"))?;
        }
        Ok(conn)
    }

    /// Sends one command and reads its answer; an error answer is an error.
    async fn call(&mut self, args: &[&[u8]]) -> Result<Answer> {
        self.out.clear();
        self.out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            self.out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            self.out.extend_from_slice(a);
            self.out.extend_from_slice(b"\r\n");
        }
        self.write.write_all(&self.out).await?;
        self.line.clear();
        if self.read.read_until(b'\n', &mut self.line).await? == 0 {
            bail!("the server closed the connection");
        }
        let text = std::str::from_utf8(&self.line).unwrap_or("?").trim_end();
        match self.line.first() {
            Some(b'$') => {
                let len: i64 = text[1..].parse().with_context(|| format!("bad bulk header {text:?}"))?;
                if len < 0 {
                    return Ok(Answer::Nil);
                }
                self.body.resize(len as usize + 2, 0);
                self.read.read_exact(&mut self.body).await?;
                Ok(Answer::Value)
            }
            Some(b'+' | b':') => Ok(Answer::Other),
            Some(b'-') => bail!("{text}"),
            _ => bail!("unexpected answer {text:?}"),
        }
    }
}

/// Writes every key once, all connections at a time, then waits until one connection per
/// endpoint sees the last key (a READONLY follower may apply it a moment later).
async fn prefill(args: &Args, conns: Vec<Conn>) -> Result<Vec<Conn>> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for mut conn in conns {
        let (next, value, prefix, keys) = (
            next.clone(),
            "v".repeat(args.value_size),
            args.key_prefix.clone(),
            args.key_space,
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= keys {
                    return Ok::<_, anyhow::Error>(conn);
                }
                conn.call(&[b"SET", key(&prefix, i).as_bytes(), value.as_bytes()])
                    .await?;
            }
        }));
    }
    let mut conns = Vec::with_capacity(tasks.len());
    for t in tasks {
        conns.push(t.await?.context("prefill SET")?);
    }
    let last = key(&args.key_prefix, args.key_space - 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    for (i, conn) in conns.iter_mut().enumerate().take(args.endpoints.len()) {
        while matches!(conn.call(&[b"GET", last.as_bytes()]).await?, Answer::Nil) {
            if Instant::now() > deadline {
                bail!("{} never showed the prefilled keys", args.endpoints[i]);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(conns)
}

struct Tally {
    hist: Histogram<u64>,
    misses: u64,
    errors: u64,
    first_error: Option<String>,
}

async fn client(args: Arc<Args>, mut conn: Conn, seed: u64, until: Instant, hist: Histogram<u64>) -> Tally {
    let mut tally = Tally {
        hist,
        misses: 0,
        errors: 0,
        first_error: None,
    };
    let mut rng = Rng(seed);
    let value = "v".repeat(args.value_size);
    while Instant::now() < until {
        let k = key(&args.key_prefix, rng.next() % args.key_space);
        let t0 = Instant::now();
        let result = match args.workload {
            Workload::Get => conn.call(&[b"GET", k.as_bytes()]).await,
            Workload::Set => conn.call(&[b"SET", k.as_bytes(), value.as_bytes()]).await,
        };
        match result {
            Ok(answer) => {
                tally.hist.saturating_record(t0.elapsed().as_micros().max(1) as u64);
                tally.misses += u64::from(matches!(answer, Answer::Nil));
            }
            Err(e) => {
                tally.errors += 1;
                tally.first_error.get_or_insert_with(|| format!("{e:#}"));
                if tally.errors > 1000 {
                    break;
                }
            }
        }
    }
    tally
}

async fn run(args: Arc<Args>) -> Result<()> {
    if args.clients == 0 || args.key_space == 0 {
        bail!("--clients and --key-space must be at least 1");
    }
    let mut conns = Vec::with_capacity(args.clients);
    for i in 0..args.clients {
        conns.push(Conn::open(&args.endpoints[i % args.endpoints.len()], args.readonly).await?);
    }
    if args.workload == Workload::Get {
        conns = prefill(&args, conns).await?;
    }
    let cpu0 = self_cpu_secs();
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(args.duration);
    let mut tasks = Vec::with_capacity(conns.len());
    for (i, conn) in conns.into_iter().enumerate() {
        let hist = Histogram::new_with_bounds(1, 60_000_000, 3)?;
        tasks.push(tokio::spawn(client(args.clone(), conn, 1 + i as u64, until, hist)));
    }
    let mut total = Tally {
        hist: Histogram::new(3)?,
        misses: 0,
        errors: 0,
        first_error: None,
    };
    for t in tasks {
        let tally = t.await?;
        total.hist.add(&tally.hist)?;
        total.misses += tally.misses;
        total.errors += tally.errors;
        if total.first_error.is_none() {
            total.first_error = tally.first_error;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let ops = total.hist.len() as f64 / secs;
    // The generator's own CPU per request: on a shared 2-core machine, what it takes is
    // not available to the servers.
    let client_us = match (cpu0, self_cpu_secs()) {
        (Some(a), Some(b)) if !total.hist.is_empty() => (b - a) * 1e6 / total.hist.len() as f64,
        _ => f64::NAN,
    };
    let ms = |q: f64| total.hist.value_at_quantile(q) as f64 / 1000.0;
    if args.json {
        println!(
            "{{\"workload\":\"{:?}\",\"readonly\":{},\"clients\":{},\"ops_per_sec\":{ops:.1},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"misses\":{},\"errors\":{},\"client_cpu_us_per_op\":{client_us:.1}}}",
            args.workload,
            args.readonly,
            args.clients,
            ms(0.5),
            ms(0.99),
            total.misses,
            total.errors
        );
    } else {
        println!(
            "{:?}{} x{} over {} endpoint(s): {ops:.0} ops/s, p50 {:.3} ms, p99 {:.3} ms, {} misses, {} errors, client CPU {client_us:.1} us/op{}",
            args.workload,
            if args.readonly { " (READONLY)" } else { "" },
            args.clients,
            args.endpoints.len(),
            ms(0.5),
            ms(0.99),
            total.misses,
            total.errors,
            total.first_error.map(|e| format!(" (first: {e})")).unwrap_or_default()
        );
    }
    Ok(())
}

/// CPU time (user + system) this process has used, in seconds (Linux).
fn self_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() -> Result<()> {
    let args = Arc::new(Args::parse());
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

//! `dcache bench`: run the load generator with a live progress line, then print the report.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::CommandError;
use crate::bench::{self, BenchError, BenchOptions, BenchReport, Progress};
use crate::cli::{BenchArgs, ClientOpts, Output};

impl From<BenchError> for CommandError {
    fn from(e: BenchError) -> Self {
        match e {
            BenchError::Client(e) => CommandError::Client(e),
            BenchError::Options(m) => CommandError::Usage(m),
        }
    }
}

/// The engine's options from the command line: the clients spread over `--endpoints`, or
/// all on `--server` without them.
fn options(client: &ClientOpts, args: &BenchArgs) -> Result<BenchOptions, CommandError> {
    Ok(BenchOptions {
        endpoints: client.urls(),
        clients: args.clients,
        stop: match args.requests {
            Some(n) => bench::Stop::Requests(n),
            None => bench::Stop::After(args.duration),
        },
        workload: args.workload,
        read_ratio: args.read_ratio,
        key_space: args.key_space,
        value_size: args.value_size,
        consistency: args.consistency,
        timeout: client.timeout,
        prefill: !args.no_prefill,
        access: super::access(client)?,
    })
}

/// Runs the benchmark and prints its report as text or JSON; fails when no request succeeded.
pub async fn run(client: &ClientOpts, args: &BenchArgs) -> Result<(), CommandError> {
    let opts = options(client, args)?;
    let output = client.output;
    let progress = Arc::new(Progress::default());
    let bar = match opts.stop {
        bench::Stop::Requests(n) => ProgressBar::new(n),
        bench::Stop::After(d) => ProgressBar::new(d.as_secs().max(1)),
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if output == Output::Json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let ticker = {
        let (bar, progress, stop) = (bar.clone(), progress.clone(), opts.stop);
        tokio::spawn(async move {
            let started = Instant::now();
            let mut last = (0u64, Instant::now());
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let done = progress.done.load(Ordering::Relaxed);
                let errors = progress.errors.load(Ordering::Relaxed);
                let rate = (done - last.0) as f64 / last.1.elapsed().as_secs_f64().max(1e-3);
                last = (done, Instant::now());
                match stop {
                    bench::Stop::Requests(_) => bar.set_position(done),
                    bench::Stop::After(_) => bar.set_position(started.elapsed().as_secs()),
                }
                bar.set_message(format!("{done} ops, {errors} errors, {rate:.0} ops/s"));
            }
        })
    };
    let result = bench::run(&opts, progress).await;
    ticker.abort();
    bar.finish_and_clear();
    let report = result?;
    match output {
        Output::Json => println!("{}", crate::client::to_json(&report)),
        Output::Text => print_report(&opts, &report),
    }
    if report.ops == 0 {
        return Err(CommandError::Failed(format!(
            "no request succeeded: {}",
            report.first_error.as_deref().unwrap_or("unknown error")
        )));
    }
    Ok(())
}

fn print_report(opts: &BenchOptions, r: &BenchReport) {
    let l = &r.latency_us;
    let ms = |us: u64| us as f64 / 1000.0;
    println!(
        "workload {}, {} clients, {} endpoint(s), {}-byte values, {} keys, {} reads",
        format!("{:?}", r.workload).to_lowercase(),
        r.clients,
        opts.endpoints.len(),
        opts.value_size,
        opts.key_space,
        opts.consistency.as_str()
    );
    println!(
        "ops        {} ok, {} errors in {:.2} s",
        r.ops, r.errors, r.elapsed_secs
    );
    println!("throughput {:.0} ops/s", r.ops_per_sec);
    println!(
        "latency    p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms  mean {:.2} ms",
        ms(l.p50),
        ms(l.p90),
        ms(l.p99),
        ms(l.p999),
        ms(l.max),
        l.mean / 1000.0
    );
    if let Some(e) = &r.first_error {
        println!("first error: {e}");
    }
}

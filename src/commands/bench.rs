//! `dcache bench`: connect, prefill with a progress bar (or a one-line summary when stderr
//! is not a terminal), run the load generator with a live progress line, then print the
//! report: as text (figures, per-kind figures, histogram, timeline, errors by kind) or as
//! JSON. The engine (`crate::bench`) measures; this file only shows.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::CommandError;
use crate::bench::{self, Bench, BenchError, BenchOptions, BenchReport, Latency, OpReport, Progress};
use crate::cli::{BenchArgs, ClientOpts, Output};

/// Width of the longest bar in the histogram and the timeline.
const BAR_WIDTH: u64 = 40;

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
        key_prefix: args.key_prefix.clone(),
        value_size: args.value_size,
        consistency: args.consistency,
        timeout: client.timeout,
        prefill: !args.no_prefill,
        access: super::access(client)?,
    })
}

/// A progress bar on stderr with `template`, drawn only when `live`.
fn progress_bar(len: u64, live: bool, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    if !live {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar
}

/// Runs the benchmark and prints its report as text or JSON; fails when no request succeeded.
pub async fn run(client: &ClientOpts, args: &BenchArgs) -> Result<(), CommandError> {
    let opts = options(client, args)?;
    let output = client.output;
    // Bars only for a person watching: text output and a terminal on stderr.
    let live = output == Output::Text && std::io::stderr().is_terminal();
    let progress = Arc::new(Progress::default());
    let mut bench = Bench::connect(opts.clone()).await?;

    let keys = bench.prefill_keys();
    if keys > 0 {
        let bar = progress_bar(
            keys,
            live,
            "prefill {spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} keys, eta {eta}",
        );
        let ticker = {
            let (bar, progress) = (bar.clone(), progress.clone());
            tokio::spawn(async move {
                loop {
                    bar.set_position(progress.prefilled.load(Ordering::Relaxed));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        };
        let result = bench.prefill(progress.clone()).await;
        ticker.abort();
        bar.finish_and_clear();
        let done = result?;
        eprintln!(
            "prefilled {} keys ({}) in {:.2} s",
            done.keys,
            key_range(&opts.key_prefix, done.keys),
            done.elapsed_secs
        );
    }

    let bar = match opts.stop {
        bench::Stop::Requests(n) => progress_bar(n, live, "{spinner} [{elapsed_precise}] {wide_bar} {msg}"),
        bench::Stop::After(d) => progress_bar(
            d.as_secs().max(1),
            live,
            "{spinner} [{elapsed_precise}] {wide_bar} {msg}",
        ),
    };
    let ticker = {
        let (bar, progress, stop) = (bar.clone(), progress.clone(), opts.stop);
        tokio::spawn(async move {
            let started = Instant::now();
            let mut last = (0u64, Instant::now());
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let done = progress.done.load(Ordering::Relaxed);
                let errors = progress.errors.load(Ordering::Relaxed);
                let rate = done.saturating_sub(last.0) as f64 / last.1.elapsed().as_secs_f64().max(1e-3);
                last = (done, Instant::now());
                match stop {
                    bench::Stop::Requests(_) => bar.set_position(done + errors),
                    bench::Stop::After(_) => bar.set_position(started.elapsed().as_secs()),
                }
                bar.set_message(format!("{done} ops, {errors} errors, {rate:.0} ops/s"));
            }
        })
    };
    let report = bench.run(progress).await;
    ticker.abort();
    bar.finish_and_clear();
    match output {
        Output::Json => println!("{}", crate::client::to_json(&report)),
        Output::Text => print!("{}", render(&opts, &report)),
    }
    if report.ops == 0 {
        return Err(CommandError::Failed(format!(
            "no request succeeded: {}",
            report.first_error.as_deref().unwrap_or("unknown error")
        )));
    }
    Ok(())
}

/// `PREFIX00000000 to PREFIX{n-1}`: the keys a run with `n` keys touches.
fn key_range(prefix: &str, n: u64) -> String {
    format!("{prefix}{:08} to {prefix}{:08}", 0, n.saturating_sub(1))
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// `p50 1.00 ms  p90 ...  max ... ms`, and the mean when `mean` is set.
fn percentiles(l: &Latency, mean: bool) -> String {
    let mut s = format!(
        "p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms",
        ms(l.p50),
        ms(l.p90),
        ms(l.p99),
        ms(l.p999),
        ms(l.max)
    );
    if mean {
        let _ = write!(s, "  mean {:.2} ms", l.mean / 1000.0);
    }
    s
}

/// A bar of `n` scaled so that `max` fills [`BAR_WIDTH`], rounded to the nearest mark but at
/// least one for any `n > 0`.
fn bar(n: u64, max: u64, mark: char) -> String {
    let len = if n == 0 || max == 0 {
        0
    } else {
        ((n * BAR_WIDTH + max / 2) / max).max(1)
    };
    std::iter::repeat_n(mark, len as usize).collect()
}

/// The text report: the run's figures, then (for a mixed run) gets and sets apart, the
/// latency histogram, the per-second timeline and the errors by kind.
fn render(opts: &BenchOptions, r: &BenchReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "workload {}, {} clients, {} endpoint(s), {}-byte values, {} keys ({}), {} reads",
        format!("{:?}", r.workload).to_lowercase(),
        r.clients,
        opts.endpoints.len(),
        opts.value_size,
        opts.key_space,
        key_range(&r.key_prefix, opts.key_space),
        opts.consistency.as_str()
    );
    if let Some(p) = &r.prefill {
        let _ = writeln!(out, "prefill    {} keys in {:.2} s", p.keys, p.elapsed_secs);
    }
    let _ = writeln!(
        out,
        "ops        {} ok, {} errors in {:.2} s",
        r.ops, r.errors, r.elapsed_secs
    );
    let _ = writeln!(out, "throughput {:.0} ops/s", r.ops_per_sec);
    let _ = writeln!(out, "latency    {}", percentiles(&r.latency_us, true));
    if let (Some(get), Some(set)) = (&r.get, &r.set) {
        for (name, op) in [("get", get), ("set", set)] {
            let _ = writeln!(out, "  {name}      {}", op_line(op));
        }
    }
    render_histogram(&mut out, r);
    render_timeline(&mut out, r);
    if !r.errors_by_kind.is_empty() {
        let _ = writeln!(out, "\nerrors by kind");
        let width = r.errors_by_kind.iter().map(|e| e.kind.len()).max().unwrap_or(0);
        for e in &r.errors_by_kind {
            let _ = writeln!(out, "  {:<width$}  {:>8}  e.g. {}", e.kind, e.count, e.example);
        }
    }
    out
}

/// `N ok, N errors, N ops/s; p50 ...` for one kind of request.
fn op_line(op: &OpReport) -> String {
    format!(
        "{} ok, {} errors, {:.0} ops/s; {}",
        op.ops,
        op.errors,
        op.ops_per_sec,
        percentiles(&op.latency_us, false)
    )
}

/// oha's response time histogram: one line per bucket, its upper bound, count and bar.
fn render_histogram(out: &mut String, r: &BenchReport) {
    if r.histogram_us.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nhistogram (successful requests; each line counts those up to its time)"
    );
    let max = r.histogram_us.iter().map(|b| b.count).max().unwrap_or(0);
    let width = max.to_string().len();
    for b in &r.histogram_us {
        let _ = writeln!(
            out,
            "  {:>10.3} ms [{:>width$}] |{}",
            ms(b.upper_us),
            b.count,
            bar(b.count, max, '■')
        );
    }
}

/// The per-second timeline: requests finished in each second, ok as `■`, errors as `x`, so
/// a stretch without answers (a failover) stands out.
fn render_timeline(out: &mut String, r: &BenchReport) {
    if r.timeline.is_empty() {
        return;
    }
    let _ = writeln!(out, "\ntimeline (requests finished in each second of the run)");
    let max = r.timeline.iter().map(|s| s.ok + s.errors).max().unwrap_or(0);
    let ok_width = r.timeline.iter().map(|s| s.ok).max().unwrap_or(0).to_string().len();
    let err_width = r.timeline.iter().map(|s| s.errors).max().unwrap_or(0).to_string().len();
    for s in &r.timeline {
        let marks = bar(s.ok + s.errors, max, '■');
        // Errors take their share of the bar, rounded up so one error still shows.
        let errors = if s.errors == 0 {
            0
        } else {
            (s.errors * marks.chars().count() as u64).div_ceil(s.ok + s.errors) as usize
        };
        let ok_marks = marks.chars().count() - errors;
        let _ = writeln!(
            out,
            "  {:>5}s  {:>ok_width$} ok  {:>err_width$} errors |{}{}",
            s.second,
            s.ok,
            s.errors,
            "■".repeat(ok_marks),
            "x".repeat(errors)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::{Bucket, ErrorCount, Second, Workload};

    fn report() -> BenchReport {
        BenchReport {
            workload: Workload::Mixed,
            clients: 2,
            key_prefix: "load/".into(),
            ops: 30,
            errors: 4,
            elapsed_secs: 3.0,
            ops_per_sec: 10.0,
            latency_us: Latency::default(),
            get: Some(OpReport {
                ops: 20,
                errors: 1,
                ops_per_sec: 6.7,
                latency_us: Latency::default(),
            }),
            set: Some(OpReport {
                ops: 10,
                errors: 3,
                ops_per_sec: 3.3,
                latency_us: Latency::default(),
            }),
            histogram_us: vec![
                Bucket {
                    upper_us: 1000,
                    count: 29,
                },
                Bucket {
                    upper_us: 2_000_000,
                    count: 1,
                },
            ],
            timeline: vec![
                Second {
                    second: 0,
                    ok: 20,
                    errors: 0,
                },
                Second {
                    second: 1,
                    ok: 0,
                    errors: 0,
                },
                Second {
                    second: 2,
                    ok: 10,
                    errors: 4,
                },
            ],
            errors_by_kind: vec![ErrorCount {
                kind: "no leader".into(),
                count: 4,
                example: "the cluster has no leader".into(),
            }],
            prefill: None,
            first_error: Some("the cluster has no leader".into()),
        }
    }

    fn opts() -> BenchOptions {
        BenchOptions {
            endpoints: vec!["http://127.0.0.1:1".into()],
            clients: 2,
            stop: bench::Stop::Requests(34),
            workload: Workload::Mixed,
            read_ratio: 0.5,
            key_space: 20,
            key_prefix: "load/".into(),
            value_size: 8,
            consistency: crate::types::Consistency::Linearizable,
            timeout: Duration::from_secs(1),
            prefill: false,
            access: crate::client::Access::default(),
        }
    }

    #[test]
    fn the_text_report_shows_kinds_histogram_timeline_and_errors() {
        let text = render(&opts(), &report());
        assert!(text.contains("20 keys (load/00000000 to load/00000019)"), "{text}");
        assert!(text.contains("\n  get      20 ok, 1 errors"), "{text}");
        assert!(text.contains("\n  set      10 ok, 3 errors"), "{text}");
        assert!(text.contains("2000.000 ms [ 1] |■\n"), "{text}");
        assert!(
            text.contains("     1s   0 ok  0 errors |\n"),
            "a gap is an empty line: {text}"
        );
        let (ok, errors) = ("■".repeat(20), "x".repeat(8));
        assert!(
            text.contains(&format!("     2s  10 ok  4 errors |{ok}{errors}\n")),
            "14 of 20 is 28 marks, 4 in 14 are 8 of them: {text}"
        );
        assert!(
            text.contains("\n  no leader         4  e.g. the cluster has no leader\n"),
            "{text}"
        );
    }

    #[test]
    fn bars_scale_and_never_hide_a_nonzero_count() {
        assert_eq!(bar(0, 10, '#'), "");
        assert_eq!(bar(1, 1000, '#'), "#");
        assert_eq!(bar(10, 10, '#').len(), BAR_WIDTH as usize);
    }
}

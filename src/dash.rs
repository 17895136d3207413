//! `dcache dash`: the live terminal dashboard. This file owns the options, the error type and
//! the run loop that wires the pieces together: the poller and the keyboard feed one event
//! stream, `App::update` folds it (pure), the loop performs the returned actions and redraws
//! at most every [`FRAME`]. Drawing lives in `ui`, state in `app`, the terminal in `terminal`.

pub mod app;
pub mod poller;
pub mod terminal;
pub mod ui;

use std::io::{self, IsTerminal};
use std::time::{Duration, Instant, SystemTime};

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};

use crate::client::{Access, Client, ClientError};
use crate::types::LeaderInfo;
use app::{Action, App, Event};
use poller::Poller;
use terminal::{Input, TerminalGuard};

/// The shortest redraw period: events arriving faster are folded into one frame.
pub const FRAME: Duration = Duration::from_millis(50);

/// The shortest accepted `--interval`.
pub const MIN_INTERVAL: Duration = Duration::from_millis(50);

/// The longest a single status request may take, whatever the interval.
pub const MAX_POLL_TIMEOUT: Duration = Duration::from_secs(2);

/// Events waiting for the run loop; the producers wait when it is full.
const CHANNEL_CAPACITY: usize = 256;

/// Why the dashboard could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum DashError {
    #[error(
        "--endpoints lists no URL; give client URLs such as --endpoints http://127.0.0.1:8080,http://127.0.0.1:8082"
    )]
    NoEndpoints,
    #[error("endpoint `{url}` is not usable: {reason}")]
    BadEndpoint { url: String, reason: String },
    #[error("--interval {} is too short; use at least {}", humantime::format_duration(*.0), humantime::format_duration(MIN_INTERVAL))]
    IntervalTooShort(Duration),
    #[error("dcache dash needs an interactive terminal; use `dcache cluster status` in scripts")]
    NotATerminal,
    #[error("cannot set up the terminal: {0}")]
    Terminal(#[source] io::Error),
    #[error("cannot read the keyboard: {0}")]
    Input(#[source] io::Error),
    #[error("cannot draw the dashboard: {0}")]
    Draw(#[source] io::Error),
    #[error("the poller stopped unexpectedly: {0}")]
    Poller(String),
    /// No seed answered the first status request (or every one refused it).
    #[error(transparent)]
    Client(ClientError),
}

/// The dashboard's checked settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashOptions {
    /// Client URLs the cluster is discovered from (at least one).
    pub seeds: Vec<String>,
    /// Time between poll rounds.
    pub interval: Duration,
    /// The bound on each status request: 80% of the interval, at most [`MAX_POLL_TIMEOUT`]
    /// and at most `--timeout`, so a hung node never delays the next round.
    pub poll_timeout: Duration,
    /// The bound on a leadership transfer (`--timeout`).
    pub request_timeout: Duration,
    /// Token and CA certificates for every request.
    pub access: Access,
}

impl DashOptions {
    /// Checks the command line: the seeds are `endpoints` (comma-separated) when given, else
    /// `server`; each must be an http:// or https:// URL; the interval at least [`MIN_INTERVAL`].
    pub fn new(
        server: &str,
        endpoints: Option<&str>,
        interval: Duration,
        timeout: Duration,
        access: Access,
    ) -> Result<DashOptions, DashError> {
        let seeds: Vec<String> = match endpoints {
            Some(list) => list
                .split(',')
                .map(|s| s.trim().trim_end_matches('/').to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            None => vec![server.trim_end_matches('/').to_string()],
        };
        if seeds.is_empty() {
            return Err(DashError::NoEndpoints);
        }
        for url in &seeds {
            if let Err(e) = Client::new(url, timeout, &access) {
                let reason = match e {
                    ClientError::BadUrl { reason, .. } => reason,
                    other => other.to_string(),
                };
                return Err(DashError::BadEndpoint {
                    url: url.clone(),
                    reason,
                });
            }
        }
        if interval < MIN_INTERVAL {
            return Err(DashError::IntervalTooShort(interval));
        }
        let poll_timeout = (interval * 4 / 5).min(MAX_POLL_TIMEOUT).min(timeout);
        Ok(DashOptions {
            seeds,
            interval,
            poll_timeout,
            request_timeout: timeout,
            access,
        })
    }
}

/// Asks the seeds, in order, for their status once, with the request timeout: `Ok` as soon
/// as one answers, else the first seed's error (so an unreachable cluster is reported, and
/// exits, as for any other client command instead of opening a screen of DOWN rows).
pub async fn probe(opts: &DashOptions) -> Result<(), DashError> {
    let mut first = None;
    for url in &opts.seeds {
        let answer = match Client::new(url, opts.request_timeout, &opts.access) {
            Ok(client) => client.status().await.map(|_| ()),
            Err(e) => Err(e),
        };
        match answer {
            Ok(()) => return Ok(()),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    first.map_or(Err(DashError::NoEndpoints), |e| Err(DashError::Client(e)))
}

/// Runs the dashboard until the user quits (`Ok`) or the terminal fails (`Err`): first
/// [`probe`]s the seeds, then needs an interactive terminal. The terminal is restored
/// before this returns, whichever way it ends, and on panic.
pub async fn run(opts: DashOptions) -> Result<(), DashError> {
    probe(&opts).await?;
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err(DashError::NotATerminal);
    }
    let (tx, mut rx) = mpsc::channel(CHANNEL_CAPACITY);
    let (pause_tx, pause_rx) = watch::channel(false);
    let mut guard = TerminalGuard::enter().map_err(DashError::Terminal)?;
    let (_input, mut input_failed) = Input::spawn(tx.clone()).map_err(DashError::Input)?;
    let poller = Poller::new(
        opts.seeds.clone(),
        opts.interval,
        opts.poll_timeout,
        opts.access.clone(),
    );
    let mut poller_task = tokio::spawn(poller.run(tx.clone(), pause_rx));
    // SIGTERM, SIGINT (raw mode turns Ctrl-C into a key, but `kill -INT` still arrives) and
    // SIGHUP (a closed terminal) end the dashboard like `q`, restoring the screen.
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    let mut hup = signal(SignalKind::hangup()).ok();
    let mut input_open = true;

    let mut app = App::new(opts.interval, opts.poll_timeout);
    let mut last_draw: Option<Instant> = None;
    let mut dirty = true;
    let result = loop {
        let now = Instant::now();
        let next_frame = last_draw.map_or(now, |t| t + FRAME);
        if dirty && next_frame <= now {
            let drawn = guard.terminal().draw(|f| f.render_widget(&app, f.area()));
            if let Err(e) = drawn {
                break Err(DashError::Draw(e));
            }
            last_draw = Some(now);
            dirty = false;
            continue;
        }
        tokio::select! {
            event = rx.recv() => {
                // The loop holds a sender itself, so the stream never ends while it runs.
                let Some(event) = event else { break Ok(()) };
                let mut next = Some(event);
                let mut quit = false;
                while let Some(event) = next.take() {
                    if let Some(action) = app.update(event) {
                        quit |= perform(action, &opts, &tx, &pause_tx);
                    }
                    next = if quit { None } else { rx.try_recv().ok() };
                }
                if quit {
                    break Ok(());
                }
                dirty = true;
            }
            _ = tokio::time::sleep_until(next_frame.into()), if dirty => {}
            joined = &mut poller_task => {
                let why = match joined {
                    Ok(()) => "it returned".to_string(),
                    Err(e) => e.to_string(),
                };
                break Err(DashError::Poller(why));
            }
            failed = &mut input_failed, if input_open => match failed {
                Ok(e) => break Err(DashError::Input(e)),
                // The thread ended without an error: only on the way out.
                Err(_) => input_open = false,
            },
            () = recv_signal(&mut term) => break Ok(()),
            () = recv_signal(&mut int) => break Ok(()),
            () = recv_signal(&mut hup) => break Ok(()),
        }
    };
    poller_task.abort();
    drop(guard);
    result
}

/// Resolves when `sig` arrives; never, if it could not be installed or its stream ended.
async fn recv_signal(sig: &mut Option<tokio::signal::unix::Signal>) {
    if let Some(s) = sig.as_mut() {
        if s.recv().await.is_some() {
            return;
        }
        *sig = None;
    }
    std::future::pending().await
}

/// Carries out `action`; returns whether the dashboard should quit.
fn perform(action: Action, opts: &DashOptions, events: &mpsc::Sender<Event>, pause: &watch::Sender<bool>) -> bool {
    match action {
        Action::Quit => return true,
        Action::SetPaused(paused) => {
            // Fails only when the poller is gone, which the run loop notices on its own.
            let _ = pause.send(paused);
        }
        Action::TransferLeadership {
            target_id,
            target_name,
            via,
        } => {
            let events = events.clone();
            let (timeout, access) = (opts.request_timeout, opts.access.clone());
            tokio::spawn(async move {
                let outcome = transfer(&via, target_id, timeout, &access).await;
                let done = Event::TransferDone {
                    target: target_name,
                    outcome,
                    wall: SystemTime::now(),
                };
                // The dashboard may have quit meanwhile; then nobody needs the outcome.
                let _ = events.send(done).await;
            });
        }
    }
    false
}

/// Asks the nodes at `via`, in order, to make member `target` lead, moving to the next only
/// when one cannot be reached; returns the new leader or why it did not happen.
async fn transfer(via: &[String], target: u64, timeout: Duration, access: &Access) -> Result<LeaderInfo, String> {
    let mut last = "no node answers".to_string();
    for url in via {
        let client = Client::new(url, timeout, access).map_err(|e| e.to_string())?;
        match client.transfer_leadership(&target.to_string()).await {
            Ok(leader) => return Ok(leader),
            Err(e @ (ClientError::Unreachable { .. } | ClientError::Timeout { .. })) => last = e.to_string(),
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: &str = "http://127.0.0.1:8080";

    #[test]
    fn server_is_the_seed_unless_endpoints_are_given() {
        let o = DashOptions::new(
            SERVER,
            None,
            Duration::from_secs(1),
            Duration::from_secs(10),
            Access::default(),
        )
        .unwrap();
        assert_eq!(o.seeds, vec![SERVER.to_string()]);
        let o = DashOptions::new(
            SERVER,
            Some("http://a:1/, http://b:2"),
            Duration::from_secs(1),
            Duration::from_secs(10),
            Access::default(),
        )
        .unwrap();
        assert_eq!(o.seeds, vec!["http://a:1".to_string(), "http://b:2".to_string()]);
    }

    #[test]
    fn poll_timeout_is_shorter_than_the_interval_and_capped() {
        let t = |interval_ms, timeout_ms| {
            DashOptions::new(
                SERVER,
                None,
                Duration::from_millis(interval_ms),
                Duration::from_millis(timeout_ms),
                Access::default(),
            )
            .unwrap()
            .poll_timeout
        };
        assert_eq!(t(250, 10_000), Duration::from_millis(200));
        assert_eq!(t(1000, 10_000), Duration::from_millis(800));
        assert_eq!(t(60_000, 10_000), MAX_POLL_TIMEOUT);
        assert_eq!(t(1000, 100), Duration::from_millis(100));
    }

    #[test]
    fn bad_options_are_refused_with_a_reason() {
        let err = |endpoints, interval_ms| {
            DashOptions::new(
                SERVER,
                endpoints,
                Duration::from_millis(interval_ms),
                Duration::from_secs(10),
                Access::default(),
            )
            .unwrap_err()
            .to_string()
        };
        assert!(err(Some(" , "), 1000).contains("lists no URL"));
        assert!(err(Some("ftp://x:1"), 1000).contains("`ftp://x:1` is not usable"));
        assert!(err(Some("not a url"), 1000).contains("not usable"));
        assert!(err(None, 10).contains("--interval 10ms is too short"));
    }
}

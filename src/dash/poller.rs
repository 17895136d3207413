//! Discovery and polling: every round learns the membership from the nodes themselves, asks
//! every member for its status concurrently (each request bounded by a timeout shorter than
//! the interval), and sends one [`Event::Round`]. Owns no screen state and never blocks on a
//! dead or frozen node for longer than the poll timeout.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use futures::future::join_all;
use tokio::sync::{mpsc, watch};
use tokio::time::MissedTickBehavior;

use super::app::{Event, NodePoll, Round};
use crate::client::{Access, Client, ClientError};
use crate::types::{MemberInfo, NodeStatus};

/// The answer of one URL: the status or a short reason, and how long it took.
type Answer = (Result<NodeStatus, String>, Duration);

/// Polls a cluster found through `seeds`. Keeps one HTTP client per node URL so connections
/// are reused from round to round.
pub struct Poller {
    seeds: Vec<String>,
    interval: Duration,
    timeout: Duration,
    clients: HashMap<String, Client>,
    access: Access,
    /// The membership learned last round; empty until some endpoint has answered.
    members: Vec<MemberInfo>,
}

impl Poller {
    /// A poller that discovers the cluster from `seeds` (client URLs), runs a round every
    /// `interval`, and gives each status request at most `timeout`.
    pub fn new(seeds: Vec<String>, interval: Duration, timeout: Duration, access: Access) -> Poller {
        Poller {
            seeds,
            interval,
            timeout,
            clients: HashMap::new(),
            access,
            members: Vec::new(),
        }
    }

    /// Runs rounds until `events` is closed, sending each as an [`Event::Round`]. While
    /// `paused` holds `true` no request is made. A round that overruns the interval delays
    /// the next one instead of bunching rounds up.
    pub async fn run(mut self, events: mpsc::Sender<Event>, mut paused: watch::Receiver<bool>) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = events.closed() => return,
            }
            if *paused.borrow_and_update() {
                tokio::select! {
                    resumed = paused.wait_for(|p| !p) => if resumed.is_err() { return },
                    _ = events.closed() => return,
                }
                ticker.reset();
            }
            let round = self.round().await;
            if events.send(Event::Round(round)).await.is_err() {
                return;
            }
        }
    }

    /// One round: poll the known members (or the seeds while none are known), take the
    /// membership from the best answer, then poll any member not asked yet (a join).
    pub async fn round(&mut self) -> Round {
        let at = Instant::now();
        let wall = SystemTime::now();
        let known: Vec<String> = if self.members.is_empty() {
            self.seeds.clone()
        } else {
            self.member_urls()
        };
        let mut answers = self.poll_all(known).await;
        if authority(&answers).is_none() && !self.members.is_empty() {
            // Every known member is silent: maybe the cluster moved; ask the seeds too.
            let fresh: Vec<String> = self
                .seeds
                .iter()
                .filter(|u| !answers.contains_key(*u))
                .cloned()
                .collect();
            answers.extend(self.poll_all(fresh).await);
        }
        match authority(&answers) {
            Some(status) => self.members = status.members.clone(),
            None if self.members.is_empty() => {
                let mut why: Vec<String> = answers
                    .iter()
                    .map(|(url, (r, _))| format!("{url}: {}", r.as_ref().err().map_or("no members", |e| e)))
                    .collect();
                why.sort();
                return Round {
                    polls: Vec::new(),
                    discovery_error: Some(why.join("; ")),
                    at,
                    wall,
                };
            }
            None => {}
        }
        let missing: Vec<String> = self
            .member_urls()
            .into_iter()
            .filter(|u| !answers.contains_key(u))
            .collect();
        answers.extend(self.poll_all(missing).await);
        self.clients
            .retain(|url, _| self.members.iter().any(|m| &m.client_url == url) || self.seeds.contains(url));

        let polls = self
            .members
            .iter()
            .map(|m| {
                let (outcome, latency) = match answers.get(&m.client_url) {
                    _ if m.client_url.is_empty() => (Err("client URL not registered yet".to_string()), Duration::ZERO),
                    Some((r, latency)) => (r.clone(), *latency),
                    None => (Err("not polled".to_string()), Duration::ZERO),
                };
                NodePoll {
                    member: m.clone(),
                    outcome,
                    latency,
                }
            })
            .collect();
        Round {
            polls,
            discovery_error: None,
            at,
            wall,
        }
    }

    fn member_urls(&self) -> Vec<String> {
        let mut urls: Vec<String> = self
            .members
            .iter()
            .map(|m| m.client_url.clone())
            .filter(|u| !u.is_empty())
            .collect();
        urls.dedup();
        urls
    }

    /// Asks every URL in `urls` for its status at once; each answer within the poll timeout.
    async fn poll_all(&mut self, urls: Vec<String>) -> HashMap<String, Answer> {
        let timeout = self.timeout;
        let jobs: Vec<_> = urls
            .into_iter()
            .map(|url| {
                let client = self.client(&url);
                async move {
                    let answer = match client {
                        Ok(client) => poll(&client, timeout).await,
                        Err(e) => (Err(e), Duration::ZERO),
                    };
                    (url, answer)
                }
            })
            .collect();
        join_all(jobs).await.into_iter().collect()
    }

    fn client(&mut self, url: &str) -> Result<Client, String> {
        if let Some(c) = self.clients.get(url) {
            return Ok(c.clone());
        }
        // The client's own timeout is only a backstop: `poll` bounds every request itself.
        let client = Client::new(url, self.timeout + Duration::from_secs(1), &self.access).map_err(|e| describe(&e))?;
        self.clients.insert(url.to_string(), client.clone());
        Ok(client)
    }
}

/// One status request bounded by `timeout`.
async fn poll(client: &Client, timeout: Duration) -> Answer {
    let start = Instant::now();
    let outcome = match tokio::time::timeout(timeout, client.status()).await {
        Ok(Ok(status)) => Ok(status),
        Ok(Err(e)) => Err(describe(&e)),
        Err(_) => Err(format!("no answer within {}", humantime::format_duration(timeout))),
    };
    (outcome, start.elapsed())
}

/// A failure in a few words for the node table (the row already names the URL).
fn describe(e: &ClientError) -> String {
    match e {
        ClientError::Unreachable { reason, .. } => reason.clone(),
        ClientError::Timeout { timeout, .. } => format!("no answer within {}", humantime::format_duration(*timeout)),
        ClientError::Api { status, code, message } => format!("HTTP {status} {code}: {message}"),
        ClientError::Protocol { detail, .. } => detail.clone(),
        ClientError::BadUrl { reason, .. } => format!("bad client URL: {reason}"),
        ClientError::BadCaCert { reason, .. } => format!("bad CA file: {reason}"),
        ClientError::Untrusted { reason, .. } => format!("untrusted certificate ({reason}); use --cacert"),
        ClientError::WrongScheme { speaks, use_url, .. } => format!("{speaks}; use {use_url}"),
        ClientError::AllEndpoints { last, .. } | ClientError::WatchLost { last, .. } => describe(last),
        ClientError::TokenWithheld { reason, .. } => format!("token not sent: {reason}"),
    }
}

/// The answer whose membership to trust: the leader with the highest term, else the most
/// advanced node (highest term, then longest log).
fn authority(answers: &HashMap<String, Answer>) -> Option<&NodeStatus> {
    let ok = || answers.values().filter_map(|(r, _)| r.as_ref().ok());
    ok().filter(|s| s.leads())
        .max_by_key(|s| s.term)
        .or_else(|| ok().max_by_key(|s| (s.term, s.last_log_index)))
}

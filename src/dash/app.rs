//! The dashboard's state and its pure update: `App` folds poll rounds, key presses and
//! transfer outcomes into what the screen shows. It performs no I/O, reads no clock and
//! draws nothing; what must happen outside it comes back as an [`Action`].

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::types::{LeaderInfo, MemberInfo, NodeStatus};

/// Most entries the event log keeps; older ones are dropped.
pub const EVENT_LOG_CAP: usize = 500;

/// Most throughput samples kept for the sparkline (wider terminals show more of them).
pub const RATE_HISTORY_CAP: usize = 400;

/// The span over which the header's writes/s is averaged.
const RATE_WINDOW: Duration = Duration::from_secs(3);

/// Event-log lines one PgUp/PgDn moves (`[`/`]` move one).
pub const LOG_PAGE: isize = 10;

/// What the space under the header shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The node table and the throughput sparkline.
    Table,
    /// Everything known about the selected node (Enter opens it; Esc or Enter closes it).
    Detail,
}

/// One member's answer (or failure) in one poll round.
#[derive(Debug, Clone)]
pub struct NodePoll {
    /// The member as the cluster's membership records it.
    pub member: MemberInfo,
    /// Its status, or why it could not be had (one short sentence).
    pub outcome: Result<NodeStatus, String>,
    /// How long the request took (up to the poll timeout for a node that did not answer).
    pub latency: Duration,
}

/// Everything one poll round learned: one entry per member of the current membership.
#[derive(Debug, Clone)]
pub struct Round {
    /// One poll per member, in the membership's order.
    pub polls: Vec<NodePoll>,
    /// Set when no endpoint answered, so the membership itself is unknown.
    pub discovery_error: Option<String>,
    /// When the round started (monotonic; used for rates).
    pub at: Instant,
    /// When the round started (wall clock; shown in the event log).
    pub wall: SystemTime,
}

/// Everything that can change the dashboard, merged into one stream by the run loop.
#[derive(Debug, Clone)]
pub enum Event {
    /// A poll round finished.
    Round(Round),
    /// A key was pressed.
    Key(KeyEvent),
    /// The terminal changed size; only a redraw is needed.
    Resize,
    /// A leadership transfer asked for with `t` finished.
    TransferDone {
        /// The member the transfer was aimed at.
        target: String,
        /// The new leader, or why the transfer failed.
        outcome: Result<LeaderInfo, String>,
        /// When it finished.
        wall: SystemTime,
    },
}

/// Work `App::update` asks the run loop to do, since `App` performs none itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Leave the dashboard (restoring the terminal) with success.
    Quit,
    /// Ask the cluster, through the first of `via` that answers, to make `target_id` lead.
    TransferLeadership {
        target_id: u64,
        target_name: String,
        /// Client URLs of nodes that answered the last round, the leader first.
        via: Vec<String>,
    },
    /// Stop (`true`) or resume (`false`) polling.
    SetPaused(bool),
}

/// How an event-log entry is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Good,
    Bad,
}

/// One line of the event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub wall: SystemTime,
    pub level: Level,
    pub text: String,
}

/// One row of the node table: the member and what its last poll said.
#[derive(Debug, Clone)]
pub struct NodeRow {
    pub member: MemberInfo,
    /// The status from the last round; `None` while the node is down.
    pub status: Option<NodeStatus>,
    /// Why the last poll failed; `None` while the node answers.
    pub error: Option<String>,
    pub latency: Duration,
    /// Entries behind the leader, as the leader reports it (DOWN or not); `None` when no
    /// leader is known or it has not reached the member.
    pub lag: Option<u64>,
    /// How long since the leader last heard from the member, as the leader reports it;
    /// `None` for the leader itself, or when unknown.
    pub heard: Option<Duration>,
}

impl NodeRow {
    /// Whether the node answered the last round.
    pub fn is_up(&self) -> bool {
        self.status.is_some()
    }

    /// Whether the node answered and says it leads.
    pub fn is_leader(&self) -> bool {
        self.status.as_ref().is_some_and(|s| s.leads())
    }
}

/// The leader as the dashboard sees it: the answering node that says it leads (the highest
/// term wins if a stale leader still answers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderView {
    pub id: u64,
    pub name: String,
    pub term: u64,
}

/// A member the user picked with `t`, waiting for `y`/`n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub id: u64,
    pub name: String,
}

/// The whole state of the dashboard. Cheap to update (a round costs O(members)), and the
/// only input of the drawing code.
#[derive(Debug, Clone)]
pub struct App {
    pub(crate) interval: Duration,
    pub(crate) poll_timeout: Duration,
    pub(crate) cluster_id: Option<String>,
    /// The cluster version (format) the members have applied, the newest seen.
    pub(crate) cluster_format: Option<u32>,
    pub(crate) nodes: Vec<NodeRow>,
    pub(crate) leader: Option<LeaderView>,
    /// The last leader seen, kept while there is none, to name both ends of a change.
    last_leader: Option<String>,
    /// The highest term any node reported so far.
    pub(crate) term: Option<u64>,
    pub(crate) discovery_error: Option<String>,
    /// Client writes per second, one sample per round, oldest first.
    pub(crate) rates: VecDeque<u64>,
    /// Client writes per second averaged over the last few seconds: the header's figure and
    /// the sparkline's title.
    pub(crate) writes_per_sec: Option<f64>,
    /// Each member's last `client_writes` counter, to add up what each acknowledged since.
    writes_seen: std::collections::HashMap<u64, u64>,
    /// Client writes the whole cluster acknowledged since the dashboard started.
    writes_total: u64,
    pub(crate) events: VecDeque<LogEntry>,
    /// The selected member's id.
    pub(crate) selected: Option<u64>,
    pub(crate) confirm: Option<Confirm>,
    /// The member a transfer is under way to.
    pub(crate) transferring: Option<String>,
    pub(crate) paused: bool,
    pub(crate) help: bool,
    pub(crate) view: View,
    /// Each member's last answer and when it came, kept while it is down so its detail view
    /// can still show its last known figures.
    pub(crate) last_seen: std::collections::HashMap<u64, (SystemTime, NodeStatus)>,
    /// Event-log lines scrolled back from the newest (0 follows the newest).
    pub(crate) log_scroll: usize,
    /// Digits of the largest lag seen so far: the LAG column never narrows, so it does not
    /// jump from one frame to the next.
    pub(crate) lag_digits: usize,
    pub(crate) rounds: u64,
    pub(crate) last_round: Option<SystemTime>,
    /// `(at, writes_total)` samples within the rate window, oldest first.
    samples: VecDeque<(Instant, u64)>,
}

impl App {
    /// An empty dashboard that polls every `interval`, each request bounded by `poll_timeout`
    /// (both only shown, never acted on).
    pub fn new(interval: Duration, poll_timeout: Duration) -> App {
        App {
            interval,
            poll_timeout,
            cluster_id: None,
            cluster_format: None,
            nodes: Vec::new(),
            leader: None,
            last_leader: None,
            term: None,
            discovery_error: None,
            rates: VecDeque::new(),
            writes_per_sec: None,
            writes_seen: Default::default(),
            writes_total: 0,
            events: VecDeque::new(),
            selected: None,
            confirm: None,
            transferring: None,
            paused: false,
            help: false,
            view: View::Table,
            last_seen: Default::default(),
            log_scroll: 0,
            lag_digits: 1,
            rounds: 0,
            last_round: None,
            samples: VecDeque::new(),
        }
    }

    /// Folds `event` into the state. Pure: no I/O, no clock; whatever must happen outside
    /// (quitting, a transfer, pausing the pollers) is returned for the run loop to do.
    pub fn update(&mut self, event: Event) -> Option<Action> {
        match event {
            Event::Round(round) => {
                self.apply_round(round);
                None
            }
            Event::Key(key) => self.on_key(key),
            Event::Resize => None,
            Event::TransferDone { target, outcome, wall } => {
                self.transferring = None;
                match outcome {
                    Ok(leader) => self.log(
                        wall,
                        Level::Good,
                        format!("leadership transferred to {} as asked", leader.name),
                    ),
                    Err(e) => self.log(wall, Level::Bad, format!("transfer to {target} failed: {e}")),
                }
                None
            }
        }
    }

    /// The event log, oldest first.
    pub fn events(&self) -> impl DoubleEndedIterator<Item = &LogEntry> + ExactSizeIterator {
        self.events.iter()
    }

    /// The node table's rows, in member id order.
    pub fn nodes(&self) -> &[NodeRow] {
        &self.nodes
    }

    /// Index in [`App::nodes`] of the selected row.
    pub fn selected_index(&self) -> Option<usize> {
        let id = self.selected?;
        self.nodes.iter().position(|n| n.member.id == id)
    }

    /// The selected row, if any.
    pub fn selected_row(&self) -> Option<&NodeRow> {
        self.selected_index().and_then(|i| self.nodes.get(i))
    }

    /// Which view is showing.
    pub fn view(&self) -> View {
        self.view
    }

    /// Event-log lines scrolled back from the newest (0: the newest show).
    pub fn log_scroll(&self) -> usize {
        self.log_scroll
    }

    fn log(&mut self, wall: SystemTime, level: Level, text: String) {
        if self.events.len() == EVENT_LOG_CAP {
            self.events.pop_front();
        } else if self.log_scroll > 0 {
            // Scrolled back: keep the same lines in view while new ones arrive below.
            self.log_scroll += 1;
        }
        self.events.push_back(LogEntry { wall, level, text });
    }

    /// Scrolls the event log `by` lines towards older (positive) or newer (negative) entries,
    /// at most to the oldest entry.
    fn scroll_log(&mut self, by: isize) {
        let max = self.events.len().saturating_sub(1);
        self.log_scroll = self.log_scroll.saturating_add_signed(by).min(max);
    }

    fn apply_round(&mut self, round: Round) {
        // The first round that names members sets the scene: its members did not "join".
        let first = self.nodes.is_empty();
        self.rounds += 1;
        self.last_round = Some(round.wall);
        let wall = round.wall;

        if round.discovery_error != self.discovery_error {
            if let Some(e) = &round.discovery_error {
                self.log(wall, Level::Bad, format!("cannot discover the cluster: {e}"));
            }
            self.discovery_error = round.discovery_error.clone();
        }
        if round.discovery_error.is_some() && round.polls.is_empty() {
            // Nothing is known this round; keep the last picture rather than blanking it.
            return;
        }

        let mut polls = round.polls;
        polls.sort_by_key(|p| p.member.id);
        self.note_membership(&polls, wall, first);
        self.note_health(&polls, wall);

        let leader_status = polls
            .iter()
            .filter_map(|p| p.outcome.as_ref().ok())
            .filter(|s| s.leads())
            .max_by_key(|s| s.term)
            .cloned();
        let leader = leader_status.as_ref().map(|s| LeaderView {
            id: s.id,
            name: s.name.clone(),
            term: s.term,
        });
        let term = polls
            .iter()
            .filter_map(|p| p.outcome.as_ref().ok())
            .map(|s| s.term)
            .max();
        let answering = polls.iter().filter(|p| p.outcome.is_ok()).count();
        self.note_leadership(leader, term, answering, wall, first);
        if let Some(id) = polls
            .iter()
            .find_map(|p| p.outcome.as_ref().ok().map(|s| s.cluster_id.clone()))
        {
            self.cluster_id = Some(id);
        }
        self.cluster_format = polls
            .iter()
            .filter_map(|p| p.outcome.as_ref().ok())
            .map(|s| s.cluster_format)
            .filter(|f| *f > 0)
            .max()
            .or(self.cluster_format);

        for p in &polls {
            if let Ok(s) = &p.outcome {
                self.last_seen.insert(p.member.id, (wall, s.clone()));
            }
        }
        let old_index = self.selected_index();
        self.nodes = node_rows(polls, leader_status.as_ref());
        self.last_seen
            .retain(|id, _| self.nodes.iter().any(|n| n.member.id == *id));
        let widest_lag = self.nodes.iter().filter_map(|n| n.lag).max().unwrap_or(0);
        self.lag_digits = self.lag_digits.max(widest_lag.to_string().len());
        if self.selected_index().is_none() {
            let keep = old_index.unwrap_or(0).min(self.nodes.len().saturating_sub(1));
            self.selected = self.nodes.get(keep).map(|n| n.member.id);
        }

        let counters: Vec<(u64, u64)> = self
            .nodes
            .iter()
            .filter_map(|n| n.status.as_ref())
            .map(|s| (s.id, s.client_writes))
            .collect();
        if !counters.is_empty() {
            for (id, count) in counters {
                let delta = match self.writes_seen.insert(id, count) {
                    Some(before) if count >= before => count - before,
                    // Lower than before: the node restarted and counts from 0 again.
                    Some(_) => count,
                    None => 0,
                };
                self.writes_total += delta;
            }
            self.sample_rate(round.at, self.writes_total);
        }
    }

    /// Logs members that joined or left since the last round.
    fn note_membership(&mut self, polls: &[NodePoll], wall: SystemTime, first: bool) {
        if first {
            return;
        }
        let joined: Vec<String> = polls
            .iter()
            .filter(|p| !self.nodes.iter().any(|n| n.member.id == p.member.id))
            .map(|p| format!("{} (id {}) joined the cluster", p.member.name, p.member.id))
            .collect();
        let left: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| !polls.iter().any(|p| p.member.id == n.member.id))
            .map(|n| format!("{} (id {}) left the cluster", n.member.name, n.member.id))
            .collect();
        for text in joined {
            self.log(wall, Level::Info, text);
        }
        for text in left {
            self.log(wall, Level::Info, text);
        }
    }

    /// Logs nodes that stopped answering or came back since the last round.
    fn note_health(&mut self, polls: &[NodePoll], wall: SystemTime) {
        let mut lines = Vec::new();
        for p in polls {
            let before = self.nodes.iter().find(|n| n.member.id == p.member.id);
            let was_up = before.map(NodeRow::is_up);
            match (&p.outcome, was_up) {
                (Err(e), Some(true)) | (Err(e), None) => {
                    lines.push((Level::Bad, format!("{} is DOWN: {e}", p.member.name)));
                }
                (Ok(s), Some(false)) => {
                    lines.push((Level::Good, format!("{} is back ({})", p.member.name, s.role)));
                }
                _ => {}
            }
        }
        for (level, text) in lines {
            self.log(wall, level, text);
        }
    }

    /// Logs term and leader changes, and takes the new leader and term.
    /// `answering` is how many members answered this round: with none, nothing is known
    /// about an election, and the log says only that.
    fn note_leadership(
        &mut self,
        leader: Option<LeaderView>,
        term: Option<u64>,
        answering: usize,
        wall: SystemTime,
        first: bool,
    ) {
        if let (Some(old), Some(new)) = (self.term, term) {
            if new > old {
                self.log(wall, Level::Info, format!("term {old} -> {new}"));
            }
        }
        let old_leader = self.leader.as_ref().map(|l| (l.id, l.name.clone()));
        match (&old_leader, &leader) {
            (_, Some(new)) if first => {
                let text = format!("leader is {} (id {}), term {}", new.name, new.id, new.term);
                self.log(wall, Level::Info, text);
            }
            (None, Some(new)) => {
                let text = match &self.last_leader {
                    Some(was) if *was != new.name => format!(
                        "leader changed: {was} -> {} (id {}), term {}",
                        new.name, new.id, new.term
                    ),
                    _ => format!("{} (id {}) leads, term {}", new.name, new.id, new.term),
                };
                self.log(wall, Level::Good, text);
            }
            (Some((old_id, old_name)), Some(new)) if *old_id != new.id => {
                let text = format!(
                    "leader changed: {old_name} -> {} (id {}), term {}",
                    new.name, new.id, new.term
                );
                self.log(wall, Level::Good, text);
            }
            (Some((_, old_name)), None) if answering == 0 => {
                self.log(
                    wall,
                    Level::Bad,
                    format!("no leader (was {old_name}); no member answers"),
                );
            }
            (Some((_, old_name)), None) => {
                self.log(
                    wall,
                    Level::Bad,
                    format!("no leader (was {old_name}); election under way?"),
                );
            }
            _ => {}
        }
        if let Some(new) = &leader {
            self.last_leader = Some(new.name.clone());
        }
        self.leader = leader;
        self.term = match (self.term, term) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    /// Adds the sample `(at, writes)` of a counter that only grows: one bar of the sparkline
    /// (the rate since the last sample) and the windowed rate of the header.
    fn sample_rate(&mut self, at: Instant, applied: u64) {
        if let Some(&(prev_at, prev_applied)) = self.samples.back() {
            let dt = at.saturating_duration_since(prev_at).as_secs_f64();
            if dt > 0.0 {
                let rate = applied.saturating_sub(prev_applied) as f64 / dt;
                if self.rates.len() == RATE_HISTORY_CAP {
                    self.rates.pop_front();
                }
                self.rates.push_back(rate.round() as u64);
            }
        }
        self.samples.push_back((at, applied));
        while self.samples.len() > 2
            && self
                .samples
                .get(1)
                .is_some_and(|&(t, _)| at.saturating_duration_since(t) >= RATE_WINDOW)
        {
            self.samples.pop_front();
        }
        self.writes_per_sec = match (self.samples.front(), self.samples.back()) {
            (Some(&(t0, a0)), Some(&(t1, a1))) if t1 > t0 => {
                Some(a1.saturating_sub(a0) as f64 / t1.saturating_duration_since(t0).as_secs_f64())
            }
            _ => self.writes_per_sec,
        };
    }

    fn on_key(&mut self, key: KeyEvent) -> Option<Action> {
        if key.kind != KeyEventKind::Press {
            return None;
        }
        let ctrl_c = key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
        if ctrl_c || key.code == KeyCode::Char('q') {
            return Some(Action::Quit);
        }
        if let Some(target) = &self.confirm {
            return match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    let target = target.clone();
                    self.confirm = None;
                    self.transferring = Some(target.name.clone());
                    Some(Action::TransferLeadership {
                        target_id: target.id,
                        target_name: target.name,
                        via: self.healthy_urls(),
                    })
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                    self.confirm = None;
                    None
                }
                _ => None,
            };
        }
        match key.code {
            KeyCode::Esc if self.help => {
                self.help = false;
                None
            }
            KeyCode::Esc if self.view == View::Detail => {
                self.view = View::Table;
                None
            }
            KeyCode::Esc => Some(Action::Quit),
            KeyCode::Enter => {
                self.view = match self.view {
                    View::Table if self.selected_row().is_some() => View::Detail,
                    _ => View::Table,
                };
                None
            }
            KeyCode::PageUp => {
                self.scroll_log(LOG_PAGE);
                None
            }
            KeyCode::PageDown => {
                self.scroll_log(-LOG_PAGE);
                None
            }
            KeyCode::Char('[') => {
                self.scroll_log(1);
                None
            }
            KeyCode::Char(']') => {
                self.scroll_log(-1);
                None
            }
            KeyCode::End => {
                self.log_scroll = 0;
                None
            }
            KeyCode::Char('?') => {
                self.help = !self.help;
                None
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.move_selection(-1);
                None
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.move_selection(1);
                None
            }
            KeyCode::Char('p') => {
                self.paused = !self.paused;
                if !self.paused {
                    // The first round after a pause must not average over the pause.
                    self.samples.clear();
                }
                Some(Action::SetPaused(self.paused))
            }
            KeyCode::Char('t') => {
                self.ask_transfer();
                None
            }
            _ => None,
        }
    }

    fn move_selection(&mut self, step: isize) {
        if self.nodes.is_empty() {
            return;
        }
        let last = self.nodes.len() - 1;
        let next = match self.selected_index() {
            None => 0,
            Some(i) if step < 0 => i.saturating_sub(1),
            Some(i) => (i + 1).min(last),
        };
        self.selected = self.nodes.get(next).map(|n| n.member.id);
    }

    /// Opens the confirmation for the selected node, or says in the log why it cannot lead.
    fn ask_transfer(&mut self) {
        let Some(row) = self.selected_index().and_then(|i| self.nodes.get(i)) else {
            return;
        };
        let name = row.member.name.clone();
        let refusal = if self.transferring.is_some() {
            Some("a transfer is already under way".to_string())
        } else if !row.is_up() {
            Some(format!("{name} is DOWN"))
        } else if row.is_leader() {
            Some(format!("{name} already leads"))
        } else if !row.member.voter {
            Some(format!("{name} is a learner; only voters can lead"))
        } else if !self.nodes.iter().any(NodeRow::is_up) {
            Some("no node answers".to_string())
        } else {
            None
        };
        match refusal {
            Some(why) => {
                let wall = self.last_round.unwrap_or(SystemTime::UNIX_EPOCH);
                self.log(wall, Level::Bad, format!("cannot transfer leadership: {why}"));
            }
            None => {
                self.confirm = Some(Confirm {
                    id: row.member.id,
                    name,
                });
            }
        }
    }

    /// Client URLs of the nodes that answered the last round, the leader's first.
    fn healthy_urls(&self) -> Vec<String> {
        let mut up: Vec<&NodeRow> = self
            .nodes
            .iter()
            .filter(|n| n.is_up() && !n.member.client_url.is_empty())
            .collect();
        up.sort_by_key(|n| !n.is_leader());
        up.into_iter().map(|n| n.member.client_url.clone()).collect()
    }
}

/// One table row per poll, with each member's lag as `leader` sees it (none without one).
fn node_rows(polls: Vec<NodePoll>, leader: Option<&NodeStatus>) -> Vec<NodeRow> {
    polls
        .into_iter()
        .map(|p| {
            let lag = leader.and_then(|l| l.lag_of(p.member.id, p.outcome.as_ref().ok()));
            let heard = leader
                .and_then(|l| l.replication.as_ref())
                .and_then(|r| r.iter().find(|r| r.id == p.member.id))
                .and_then(|r| r.last_heard_ms)
                .map(Duration::from_millis);
            let (status, error) = match p.outcome {
                Ok(s) => (Some(s), None),
                Err(e) => (None, Some(e)),
            };
            NodeRow {
                member: p.member,
                status,
                error,
                latency: p.latency,
                lag,
                heard,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_ignore_a_pause_and_a_shrinking_index() {
        let mut app = App::new(Duration::from_secs(1), Duration::from_millis(800));
        let t0 = Instant::now();
        app.sample_rate(t0, 100);
        app.sample_rate(t0 + Duration::from_secs(1), 150);
        assert_eq!(app.rates.back(), Some(&50));
        // A new leader that has applied less than the old one reported: no negative rate.
        app.sample_rate(t0 + Duration::from_secs(2), 140);
        assert_eq!(app.rates.back(), Some(&0));
        app.update(Event::Key(KeyEvent::from(KeyCode::Char('p'))));
        app.update(Event::Key(KeyEvent::from(KeyCode::Char('p'))));
        // After resuming, the first sample only seeds the window.
        app.sample_rate(t0 + Duration::from_secs(60), 1000);
        assert_eq!(app.rates.len(), 2);
        app.sample_rate(t0 + Duration::from_secs(61), 1010);
        assert_eq!(app.rates.back(), Some(&10));
        assert_eq!(app.writes_per_sec, Some(10.0));
    }
}

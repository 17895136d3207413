//! The dashboard's state and its pure update: `App` folds poll rounds, key presses and
//! transfer outcomes into what the screen shows. It performs no I/O, reads no clock and
//! draws nothing; what must happen outside it comes back as an [`Action`].

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use crossterm::event::KeyEvent;

use crate::types::{LeaderInfo, MemberInfo, NodeStatus};

mod keys;
mod round;

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
}

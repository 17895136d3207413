//! `dcache dash`: its rendering from fixed statuses on ratatui's `TestBackend` (strings and
//! insta snapshots under `snapshots/`), its pure key and event handling, and once end to end
//! in a real terminal (tmux) against a real 3-node cluster.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use dcache::dash::app::{Action, App, Event, NodePoll, Round, View};
use dcache::dash::poller::Poller;
use dcache::types::{LeaderInfo, MemberInfo, NodeStatus, ReplicationInfo, Role};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::support::{wait_until, Cluster, BIN};

/// 12:00:00 UTC on some day: log timestamps in snapshots stay fixed.
const T0: u64 = 1_700_000_000 - 1_700_000_000 % 86_400 + 12 * 3600;

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

fn member(id: u64) -> MemberInfo {
    MemberInfo {
        id,
        name: format!("node{id}"),
        peer_url: format!("http://127.0.0.1:{}", 7001 + 2 * id),
        client_url: format!("http://127.0.0.1:{}", 7000 + 2 * id),
        voter: true,
        version: Some("0.1.0+test".into()),
        format: Some(3),
        resp_url: String::new(),
    }
}

/// Node `id`'s status in a 3-member cluster led by `leader` (if any) at `term`, with `log`
/// entries written, applied and committed.
fn status(id: u64, leader: Option<u64>, term: u64, log: u64) -> NodeStatus {
    NodeStatus {
        quorum_lost: false,
        name: format!("node{id}"),
        id,
        cluster_id: "dcache-test".into(),
        role: if leader == Some(id) {
            Role::Leader
        } else {
            Role::Follower
        },
        term,
        leader: leader.map(|l| LeaderInfo {
            id: l,
            name: format!("node{l}"),
            client_url: member(l).client_url,
        }),
        last_log_index: log,
        committed: log,
        applied: log,
        snapshot_index: 0,
        purged_index: 0,
        members: (1..=3).map(member).collect(),
        replication: None,
        key_count: log / 2,
        approx_bytes: 0,
        max_memory: None,
        evictions: 0,
        expirations: 0,
        disk_bytes: 0,
        client_url: member(id).client_url,
        peer_url: member(id).peer_url,
        resp_url: String::new(),
        uptime_secs: 60,
        version: "0.1.0".into(),
        build: "0.1.0+test".into(),
        format: 3,
        cluster_format: 3,
        client_writes: 0,
    }
}

fn up(s: NodeStatus) -> NodePoll {
    NodePoll {
        member: member(s.id),
        outcome: Ok(s),
        latency: Duration::from_micros(1500),
    }
}

fn down(id: u64, error: &str) -> NodePoll {
    NodePoll {
        member: member(id),
        outcome: Err(error.into()),
        latency: Duration::from_millis(200),
    }
}

/// A round taken `secs` after `base` (and after 12:00:00 UTC on the wall clock).
fn round(base: Instant, secs: u64, polls: Vec<NodePoll>) -> Event {
    Event::Round(Round {
        polls,
        discovery_error: None,
        at: base + Duration::from_secs(secs),
        wall: SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + secs),
    })
}

/// Three healthy nodes led by `leader` at `term`, all at log index `log`.
fn healthy(base: Instant, secs: u64, leader: u64, term: u64, log: u64) -> Event {
    round(
        base,
        secs,
        (1..=3).map(|id| up(status(id, Some(leader), term, log))).collect(),
    )
}

fn new_app() -> App {
    App::new(Duration::from_millis(250), Duration::from_millis(200))
}

fn key(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// The screen as text, one line per row, trailing blanks trimmed.
fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| f.render_widget(app, f.area())).unwrap();
    let buf = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            let line: String = (0..width).map(|x| buf[(x, y)].symbol()).collect();
            line.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The screen line that shows node `name`'s row.
fn row<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(&format!(" {name} ")) && l.starts_with('│'))
        .unwrap_or_else(|| panic!("no row for {name} in:\n{text}"))
}

// ---------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------

#[test]
fn dash_renders_the_leader_row_and_the_header() {
    let base = Instant::now();
    let mut app = new_app();
    app.update(healthy(base, 0, 2, 3, 40));
    let text = screen(&app, 120, 30);
    assert!(text.contains("leader: node2 (id 2)"), "{text}");
    assert!(text.contains("term 3"), "{text}");
    assert!(text.contains("healthy 3/3"), "{text}");
    assert!(text.contains("members 3"), "{text}");
    assert!(text.contains("cluster dcache-test"), "{text}");
    let leader = row(&text, "node2");
    assert!(leader.contains("leader"), "{leader}");
    assert!(leader.contains("http://127.0.0.1:7004"), "{leader}");
    assert!(row(&text, "node1").contains("follower"), "{text}");
    assert!(
        row(&text, "node1").starts_with("│> node1"),
        "first row selected: {text}"
    );
    insta::assert_snapshot!("three_healthy_nodes", text);
}

#[test]
fn dash_shows_a_down_node_with_its_error() {
    let base = Instant::now();
    let mut app = new_app();
    app.update(healthy(base, 0, 1, 2, 10));
    app.update(round(
        base,
        1,
        vec![
            up(status(1, Some(1), 2, 12)),
            up(status(2, Some(1), 2, 12)),
            down(3, "Connection refused (os error 111)"),
        ],
    ));
    let text = screen(&app, 120, 30);
    let r = row(&text, "node3");
    assert!(r.contains("DOWN"), "{r}");
    assert!(r.contains("Connection refused (os error 111)"), "{r}");
    assert!(text.contains("healthy 2/3"), "{text}");
    assert!(text.contains("node3 is DOWN: Connection refused"), "event log: {text}");
    insta::assert_snapshot!("one_node_down", text);
}

#[test]
fn dash_draws_lag_bars_from_the_leaders_replication_report() {
    let base = Instant::now();
    let mut app = new_app();
    let mut leader = status(1, Some(1), 2, 5000);
    leader.replication = Some(
        [(2, 5), (3, 2000)]
            .iter()
            .map(|&(id, lag)| ReplicationInfo {
                id,
                name: format!("node{id}"),
                matched: Some(5000 - lag),
                lag: Some(lag),
                last_heard_ms: Some(40),
            })
            .collect(),
    );
    app.update(round(
        base,
        0,
        vec![
            up(leader),
            up(status(2, Some(1), 2, 4995)),
            up(status(3, Some(1), 2, 3000)),
        ],
    ));
    let text = screen(&app, 140, 30);
    let bar = |name: &str| row(&text, name).matches('█').count();
    assert_eq!(bar("node1"), 0, "the leader has no lag:\n{text}");
    assert_eq!(bar("node2"), 2, "5 entries behind: 2 cells of 10 (log scale):\n{text}");
    assert_eq!(bar("node3"), 9, "2000 entries behind: 9 cells of 10:\n{text}");
    assert!(row(&text, "node3").contains("2000 █████████░"), "{text}");
    insta::assert_snapshot!("lag_bars", text);
}

#[test]
fn dash_logs_a_leader_change_with_term_and_downtime() {
    let base = Instant::now();
    let mut app = new_app();
    app.update(healthy(base, 0, 1, 2, 10));
    // The leader dies: the others still name it until they elect another one.
    let orphaned = |secs| {
        round(
            base,
            secs,
            vec![
                down(1, "Connection refused (os error 111)"),
                up(status(2, Some(1), 2, 10)),
                up(status(3, Some(1), 2, 10)),
            ],
        )
    };
    app.update(orphaned(1));
    app.update(round(
        base,
        2,
        vec![
            down(1, "Connection refused (os error 111)"),
            up(status(2, Some(2), 3, 11)),
            up(status(3, Some(2), 3, 11)),
        ],
    ));
    app.update(healthy(base, 5, 2, 3, 12));
    let text = screen(&app, 100, 30);
    assert!(text.contains("leader: node2 (id 2)"), "{text}");
    let log: Vec<&str> = app.events().map(|e| e.text.as_str()).collect();
    assert_eq!(
        log,
        [
            "leader is node1 (id 1), term 2",
            "node1 is DOWN: Connection refused (os error 111)",
            "no leader (was node1); election under way?",
            "term 2 -> 3",
            "leader changed: node1 -> node2 (id 2), term 3",
            "node1 is back (follower)",
        ]
    );
    assert!(
        text.contains("12:00:02  leader changed: node1 -> node2 (id 2), term 3"),
        "{text}"
    );
    insta::assert_snapshot!("leader_change_log", text);
}

#[test]
fn dash_says_when_the_terminal_is_too_small_and_fits_the_minimum() {
    let base = Instant::now();
    let mut app = new_app();
    app.update(healthy(base, 0, 1, 1, 3));
    for (w, h) in [(59, 30), (120, 11), (30, 6)] {
        let text = screen(&app, w, h);
        assert!(text.contains("terminal too small"), "{w}x{h}:\n{text}");
        assert!(
            !text.contains("node1"),
            "{w}x{h} must not draw a broken layout:\n{text}"
        );
    }
    let narrow = screen(&app, 59, 30);
    assert!(narrow.contains("terminal too small (need 60x12)"), "{narrow}");
    assert!(narrow.contains("now 59x30"), "{narrow}");
    let smallest = screen(&app, 60, 12);
    assert!(row(&smallest, "node1").contains("leader"), "{smallest}");
    assert!(smallest.contains("leader: node1"), "{smallest}");
    insta::assert_snapshot!("too_small", screen(&app, 50, 10));
    insta::assert_snapshot!("smallest_layout", smallest);
}

#[test]
fn dash_reports_when_no_endpoint_answers() {
    let mut app = new_app();
    app.update(Event::Round(Round {
        polls: Vec::new(),
        discovery_error: Some("http://127.0.0.1:1: Connection refused (os error 111)".into()),
        at: Instant::now(),
        wall: SystemTime::UNIX_EPOCH + Duration::from_secs(T0),
    }));
    let text = screen(&app, 100, 20);
    assert!(
        text.contains("no endpoint answers: http://127.0.0.1:1: Connection refused"),
        "{text}"
    );
    assert!(text.contains("no members known yet"), "{text}");
    assert!(text.contains("leader: none"), "{text}");
}

/// Issue 17, bug 6: writes/s is the rate of the client writes the nodes acknowledged (their
/// `client_writes` counters, summed), not of log entries, and the header and the sparkline
/// show the same figure.
#[test]
fn dash_measures_client_writes_per_second_from_the_nodes_counters() {
    let base = Instant::now();
    let mut app = new_app();
    for s in 0..5 {
        // 1000 log entries a second, but 250 client writes a second: 150 taken by node1,
        // 100 by node2 (a follower, forwarding them).
        let polls = (1..=3)
            .map(|id| {
                let mut st = status(id, Some(1), 1, 1000 + 1000 * s);
                st.client_writes = match id {
                    1 => 7 + 150 * s,
                    2 => 100 * s,
                    _ => 0,
                };
                up(st)
            })
            .collect();
        app.update(round(base, s, polls));
    }
    let text = screen(&app, 100, 30);
    assert!(text.contains("writes/s 250.0"), "{text}");
    assert!(text.contains("client writes/s 250.0 · max 250"), "{text}");

    // A restarted node counts from 0 again: no negative (or huge) rate.
    let polls = (1..=3)
        .map(|id| {
            let mut st = status(id, Some(1), 1, 6000);
            st.client_writes = match id {
                1 => 10,
                2 => 100 * 4 + 40,
                _ => 0,
            };
            up(st)
        })
        .collect();
    app.update(round(base, 5, polls));
    // 10 from the restarted node1 and 40 from node2 that second: the peak stays 250.
    let text = screen(&app, 100, 30);
    assert!(text.contains("· max 250 "), "{text}");
}

/// Issue 17, bug 5: a DOWN row still shows the leader's view of the member: its lag and how
/// long since the leader last heard from it.
#[test]
fn dash_shows_the_leaders_view_of_a_down_member() {
    let base = Instant::now();
    let mut app = new_app();
    let mut leader = status(1, Some(1), 2, 5000);
    leader.replication = Some(vec![
        ReplicationInfo {
            id: 2,
            name: "node2".into(),
            matched: Some(4990),
            lag: Some(10),
            last_heard_ms: Some(30),
        },
        ReplicationInfo {
            id: 3,
            name: "node3".into(),
            matched: Some(4321),
            lag: Some(679),
            last_heard_ms: Some(7_400),
        },
    ]);
    app.update(round(
        base,
        0,
        vec![
            up(leader),
            up(status(2, Some(1), 2, 4990)),
            down(3, "connection refused"),
        ],
    ));
    let text = screen(&app, 140, 20);
    let node3 = row(&text, "node3");
    assert!(node3.contains("DOWN"), "{text}");
    assert!(node3.contains("679"), "the lag of a DOWN member: {text}");
    assert!(node3.contains("7.4s"), "time since last heard: {text}");
    assert!(node3.contains("connection refused"), "{text}");
    assert!(row(&text, "node2").contains("30ms"), "{text}");
    assert!(text.contains("HEARD"), "{text}");
}

// ---------------------------------------------------------------------------------------
// Keys and actions
// ---------------------------------------------------------------------------------------

#[test]
fn dash_quits_on_q_esc_and_ctrl_c() {
    let mut app = new_app();
    assert_eq!(app.update(key(KeyCode::Char('q'))), Some(Action::Quit));
    assert_eq!(app.update(key(KeyCode::Esc)), Some(Action::Quit));
    let ctrl_c = Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert_eq!(app.update(ctrl_c), Some(Action::Quit));
}

#[test]
fn dash_transfers_leadership_to_the_selected_node_after_confirmation() {
    let base = Instant::now();
    let mut app = new_app();
    app.update(healthy(base, 0, 2, 4, 20));
    // The leader is refused, with a reason in the log.
    app.update(key(KeyCode::Down));
    assert_eq!(app.update(key(KeyCode::Char('t'))), None);
    assert!(!screen(&app, 100, 30).contains("Transfer leadership to"));
    assert_eq!(
        app.events().last().unwrap().text,
        "cannot transfer leadership: node2 already leads"
    );
    // Down past the end stays on the last row.
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Down));
    assert_eq!(app.selected_index(), Some(2));
    assert_eq!(app.update(key(KeyCode::Char('t'))), None);
    let text = screen(&app, 100, 30);
    assert!(text.contains("Transfer leadership to node3 (id 3)?"), "{text}");
    insta::assert_snapshot!("confirm_transfer", text);
    // `n` cancels; `t` then `y` asks the run loop to transfer, through the leader first.
    app.update(key(KeyCode::Char('n')));
    assert!(!screen(&app, 100, 30).contains("Transfer leadership to"));
    app.update(key(KeyCode::Char('t')));
    let action = app.update(key(KeyCode::Char('y')));
    assert_eq!(
        action,
        Some(Action::TransferLeadership {
            target_id: 3,
            target_name: "node3".into(),
            via: vec![member(2).client_url, member(1).client_url, member(3).client_url],
        })
    );
    assert!(screen(&app, 120, 30).contains("transferring leadership to node3"));
    app.update(Event::TransferDone {
        target: "node3".into(),
        outcome: Ok(LeaderInfo {
            id: 3,
            name: "node3".into(),
            client_url: member(3).client_url,
        }),
        wall: SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + 3),
    });
    let text = screen(&app, 120, 30);
    assert!(
        text.contains("12:00:03  leadership transferred to node3 as asked"),
        "{text}"
    );
    assert!(!text.contains("transferring leadership"), "{text}");
}

#[test]
fn dash_refuses_to_transfer_to_a_down_node_and_shows_failures() {
    let base = Instant::now();
    let mut app = new_app();
    app.update(round(
        base,
        0,
        vec![
            down(1, "no answer within 200ms"),
            up(status(2, Some(2), 1, 5)),
            up(status(3, Some(2), 1, 5)),
        ],
    ));
    assert_eq!(app.update(key(KeyCode::Char('t'))), None);
    assert_eq!(
        app.events().last().unwrap().text,
        "cannot transfer leadership: node1 is DOWN"
    );
    app.update(key(KeyCode::Up));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Char('t')));
    assert!(matches!(
        app.update(key(KeyCode::Char('y'))),
        Some(Action::TransferLeadership { target_id: 3, .. })
    ));
    app.update(Event::TransferDone {
        target: "node3".into(),
        outcome: Err("TRANSFER_REFUSED: node3 is behind".into()),
        wall: SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + 1),
    });
    assert_eq!(
        app.events().last().unwrap().text,
        "transfer to node3 failed: TRANSFER_REFUSED: node3 is behind"
    );
}

#[test]
fn dash_pauses_and_shows_help() {
    let base = Instant::now();
    let mut app = new_app();
    app.update(healthy(base, 0, 1, 1, 3));
    assert_eq!(app.update(key(KeyCode::Char('p'))), Some(Action::SetPaused(true)));
    assert!(screen(&app, 100, 30).contains("PAUSED (p resumes)"));
    assert_eq!(app.update(key(KeyCode::Char('p'))), Some(Action::SetPaused(false)));
    assert!(!screen(&app, 100, 30).contains("PAUSED"));
    app.update(key(KeyCode::Char('?')));
    let text = screen(&app, 100, 30);
    assert!(text.contains("make the selected node leader (y/n)"), "{text}");
    assert!(text.contains("open / close the selected node's detail"), "{text}");
    assert!(text.contains("scroll the event log 10 lines back / on"), "{text}");
    assert!(text.contains("back to the newest events"), "{text}");
    assert!(text.contains("(one cell per ~0.4 decade, full at 10000)."), "{text}");
    // Esc closes the help before it would quit.
    assert_eq!(app.update(key(KeyCode::Esc)), None);
    assert!(!screen(&app, 100, 30).contains("make the selected node leader"));
}

#[test]
fn dash_logs_members_joining_and_leaving() {
    let base = Instant::now();
    let mut app = new_app();
    app.update(healthy(base, 0, 1, 1, 3));
    let mut four: Vec<NodePoll> = (1..=3).map(|id| up(status(id, Some(1), 1, 5))).collect();
    let mut joiner = status(4, Some(1), 1, 5);
    joiner.role = Role::Learner;
    four.push(NodePoll {
        member: MemberInfo {
            voter: false,
            ..member(4)
        },
        outcome: Ok(joiner),
        latency: Duration::from_millis(1),
    });
    app.update(round(base, 1, four));
    let text = screen(&app, 120, 30);
    assert!(row(&text, "node4").contains("learner"), "{text}");
    app.update(round(
        base,
        2,
        vec![up(status(1, Some(1), 1, 6)), up(status(2, Some(1), 1, 6))],
    ));
    let log: Vec<&str> = app.events().map(|e| e.text.as_str()).skip(1).collect();
    assert_eq!(
        log,
        [
            "node4 (id 4) joined the cluster",
            "node3 (id 3) left the cluster",
            "node4 (id 4) left the cluster",
        ]
    );
    assert_eq!(app.nodes().len(), 2);
}

// ---------------------------------------------------------------------------------------
// Node detail, event-log scrolling, LAG width, all down (issue 17, item 14)
// ---------------------------------------------------------------------------------------

/// A round led by node1 at log 5000 whose replication report puts node2 `lag2` and node3
/// 2000 entries behind; node2 carries every optional figure the detail view shows.
fn detailed(base: Instant, secs: u64, lag2: u64) -> Event {
    let mut leader = status(1, Some(1), 2, 5000);
    leader.replication = Some(
        [(2, lag2), (3, 2000)]
            .iter()
            .map(|&(id, lag)| ReplicationInfo {
                id,
                name: format!("node{id}"),
                matched: Some(5000u64.saturating_sub(lag)),
                lag: Some(lag),
                last_heard_ms: Some(40),
            })
            .collect(),
    );
    let mut two = status(2, Some(1), 2, 5000u64.saturating_sub(lag2));
    two.snapshot_index = 4000;
    two.purged_index = 3900;
    two.approx_bytes = 12_400;
    two.max_memory = Some(64 << 20);
    two.evictions = 7;
    two.expirations = 3;
    two.disk_bytes = 3 << 20;
    two.uptime_secs = 3725;
    two.resp_url = "redis://127.0.0.1:6381".into();
    round(base, secs, vec![up(leader), up(two), up(status(3, Some(1), 2, 3000))])
}

#[test]
fn dash_opens_a_node_detail_on_enter_and_goes_back_on_esc_or_enter() {
    let base = Instant::now();
    let mut app = new_app();
    app.update(detailed(base, 0, 5));
    app.update(key(KeyCode::Down));
    assert_eq!(app.update(key(KeyCode::Enter)), None);
    assert_eq!(app.view(), View::Detail);
    let text = screen(&app, 120, 30);
    for want in [
        " node2 (id 2) · Esc back ",
        "role           follower",
        "quorum lost    no",
        "leader         node1 (id 1)",
        "snapshot       4000",
        "purged         3900",
        "lag            5 entries",
        "heard          40ms ago",
        "bytes          12.1 KiB",
        "memory bound   64.0 MiB",
        "evictions      7",
        "disk           3.0 MiB",
        "uptime         1h 2m 5s",
        "build          0.1.0+test",
        "format         reads 3, cluster at 3",
        "peer URL       http://127.0.0.1:7005",
        "RESP URL       redis://127.0.0.1:6381",
    ] {
        assert!(text.contains(want), "missing {want:?}:\n{text}");
    }
    assert!(!text.contains("CLIENT URL"), "the table is replaced:\n{text}");
    assert!(text.contains("Esc/Enter back to the table"), "footer:\n{text}");
    insta::assert_snapshot!("node_detail", text);
    // Esc goes back to the table rather than quitting; Enter toggles as well.
    assert_eq!(app.update(key(KeyCode::Esc)), None);
    assert_eq!(app.view(), View::Table);
    assert!(screen(&app, 120, 30).contains("CLIENT URL"));
    app.update(key(KeyCode::Enter));
    assert_eq!(app.view(), View::Detail);
    app.update(key(KeyCode::Enter));
    assert_eq!(app.view(), View::Table);
    assert_eq!(app.update(key(KeyCode::Esc)), Some(Action::Quit));
}

#[test]
fn dash_detail_of_a_down_node_shows_its_error_and_last_known_figures() {
    let base = Instant::now();
    let mut app = new_app();
    app.update(detailed(base, 0, 5));
    app.update(round(
        base,
        4,
        vec![
            up(status(1, Some(1), 2, 5001)),
            down(2, "Connection refused (os error 111)"),
            up(status(3, Some(1), 2, 5001)),
        ],
    ));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Enter));
    let text = screen(&app, 120, 30);
    assert!(text.contains("DOWN: Connection refused (os error 111)"), "{text}");
    assert!(
        text.contains("figures below are from its last answer, at 12:00:00 UTC"),
        "{text}"
    );
    assert!(text.contains("role           DOWN"), "{text}");
    assert!(text.contains("snapshot       4000"), "last known figures:\n{text}");
    assert!(text.contains("poll latency   -"), "{text}");
    insta::assert_snapshot!("node_detail_down", text);
    // A narrow terminal stacks the two columns.
    let narrow = screen(&app, 60, 40);
    assert!(narrow.contains("purged         3900"), "{narrow}");
    assert!(narrow.contains("keys"), "{narrow}");
}

#[test]
fn dash_scrolls_the_event_log() {
    let base = Instant::now();
    let mut app = new_app();
    app.update(healthy(base, 0, 1, 2, 10));
    // node3 flaps: two log lines a round pair, 31 lines in all.
    for s in 1..=15 {
        app.update(round(
            base,
            2 * s,
            vec![
                up(status(1, Some(1), 2, 10)),
                up(status(2, Some(1), 2, 10)),
                down(3, &format!("flap {s}")),
            ],
        ));
        app.update(healthy(base, 2 * s + 1, 1, 2, 10));
    }
    assert_eq!(app.events().len(), 31);
    let newest = "12:00:31  node3 is back (follower)";
    let text = screen(&app, 100, 30);
    assert!(text.contains(newest), "{text}");
    assert!(!text.contains("leader is node1"), "{text}");
    app.update(key(KeyCode::Char('[')));
    let text = screen(&app, 100, 30);
    assert!(!text.contains(newest), "one line back:\n{text}");
    assert!(text.contains("node3 is DOWN: flap 15"), "{text}");
    assert!(text.contains("events (UTC) · 1 newer below"), "{text}");
    app.update(key(KeyCode::PageUp));
    app.update(key(KeyCode::PageUp));
    app.update(key(KeyCode::PageUp));
    let text = screen(&app, 100, 30);
    assert!(text.contains("leader is node1 (id 1), term 2"), "the oldest:\n{text}");
    // A new event while scrolled back does not move the view.
    let before = screen(&app, 100, 30);
    app.update(round(
        base,
        40,
        vec![
            up(status(1, Some(1), 2, 10)),
            up(status(2, Some(1), 2, 10)),
            down(3, "flap 16"),
        ],
    ));
    let after = screen(&app, 100, 30);
    let log_part = |t: &str| {
        let lines = t.lines().filter(|l| l.starts_with("│ 12:00:"));
        lines.collect::<Vec<_>>().join("\n")
    };
    assert_eq!(log_part(&before), log_part(&after), "{after}");
    app.update(key(KeyCode::PageDown));
    app.update(key(KeyCode::Char(']')));
    app.update(key(KeyCode::End));
    assert_eq!(app.log_scroll(), 0);
    assert!(screen(&app, 100, 30).contains("node3 is DOWN: flap 16"));
}

#[test]
fn dash_keeps_the_lag_column_width_when_lags_shrink() {
    let base = Instant::now();
    let mut app = new_app();
    app.update(detailed(base, 0, 12_345));
    let heard_at = |t: &str| {
        let header = t.lines().find(|l| l.contains("HEARD")).unwrap().to_string();
        header.find("HEARD").unwrap()
    };
    let wide = screen(&app, 160, 30);
    app.update(detailed(base, 1, 3));
    let narrow = screen(&app, 160, 30);
    assert!(row(&narrow, "node2").contains(" 3 "), "{narrow}");
    assert_eq!(heard_at(&wide), heard_at(&narrow), "{wide}\n{narrow}");
    // Once more, the other way round: a fresh app sees the small lag first.
    let mut app = new_app();
    app.update(detailed(base, 0, 3));
    let first = screen(&app, 160, 30);
    app.update(detailed(base, 1, 4));
    assert_eq!(heard_at(&first), heard_at(&screen(&app, 160, 30)));
}

#[test]
fn dash_does_not_guess_an_election_when_no_member_answers() {
    let base = Instant::now();
    let mut app = new_app();
    app.update(healthy(base, 0, 1, 2, 10));
    app.update(round(
        base,
        1,
        (1..=3)
            .map(|id| down(id, "Connection refused (os error 111)"))
            .collect(),
    ));
    let log: Vec<&str> = app.events().map(|e| e.text.as_str()).collect();
    assert!(log.contains(&"no leader (was node1); no member answers"), "{log:?}");
    assert!(!log.iter().any(|l| l.contains("election")), "{log:?}");
}

// ---------------------------------------------------------------------------------------
// Polling a real cluster
// ---------------------------------------------------------------------------------------

#[test]
fn dash_poller_discovers_every_member_and_bounds_a_frozen_node() {
    let mut cluster = Cluster::start(3, &FAST);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The first seed has nothing listening: discovery goes on with the second.
    let [dead] = crate::support::free_ports();
    let seeds = vec![format!("http://127.0.0.1:{dead}"), cluster.node(1).url()];
    let timeout = Duration::from_millis(200);
    let mut poller = Poller::new(seeds, Duration::from_millis(250), timeout, Default::default());
    // A loaded machine can miss one 200 ms window: the poller must succeed within a few
    // rounds, never stall on the dead seed.
    let mut first = rt.block_on(poller.round());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while first.discovery_error.is_some() && std::time::Instant::now() < deadline {
        first = rt.block_on(poller.round());
    }
    assert_eq!(first.discovery_error, None);
    let names: Vec<&str> = first.polls.iter().map(|p| p.member.name.as_str()).collect();
    assert_eq!(names.len(), 3, "{first:#?}");
    for i in 0..3 {
        assert!(names.contains(&cluster.node(i).name()), "{first:#?}");
    }
    assert!(first.polls.iter().all(|p| p.outcome.is_ok()), "{first:#?}");

    let frozen = cluster.followers_of(cluster.leader())[0];
    cluster.stop_signal(frozen, "STOP");
    let started = Instant::now();
    let round = rt.block_on(poller.round());
    let took = started.elapsed();
    cluster.stop_signal(frozen, "CONT");
    assert!(
        took >= timeout && took < Duration::from_secs(1),
        "a round with a frozen node must end at the poll timeout ({timeout:?}), took {took:?}"
    );
    let poll = round
        .polls
        .iter()
        .find(|p| p.member.name == cluster.node(frozen).name())
        .unwrap();
    assert_eq!(
        poll.outcome.as_ref().err().map(String::as_str),
        Some("no answer within 200ms")
    );
    assert_eq!(
        round.polls.iter().filter(|p| p.outcome.is_ok()).count(),
        2,
        "{round:#?}"
    );

    // Nothing answers at all: the round says so instead of inventing members.
    let mut lost = Poller::new(
        vec![format!("http://127.0.0.1:{dead}")],
        Duration::from_millis(250),
        timeout,
        Default::default(),
    );
    let round = rt.block_on(lost.round());
    assert!(round.polls.is_empty());
    let why = round.discovery_error.unwrap();
    assert!(
        why.contains(&format!("http://127.0.0.1:{dead}: ")) && why.contains("refused"),
        "{why}"
    );
}

// ---------------------------------------------------------------------------------------
// End to end, in a real terminal
// ---------------------------------------------------------------------------------------

/// Fast elections, so a killed leader is replaced within about a second.
const FAST: [&str; 4] = ["--heartbeat-interval-ms", "50", "--election-timeout-ms", "300"];

/// How long the dashboard may take to show a change.
const SHOW_TIMEOUT: Duration = Duration::from_secs(20);

/// A tmux server of our own (its socket in a temp dir, so no other tmux is touched and
/// nothing is left behind) running one session; killed on drop, also when the test fails.
struct Tmux {
    socket: PathBuf,
    session: String,
    _dir: tempfile::TempDir,
}

impl Tmux {
    /// Starts `script` under `sh -c` in a detached `width`x`height` session.
    fn start(script: &str, width: u16, height: u16) -> Tmux {
        match Command::new("tmux").arg("-V").output() {
            Ok(out) if out.status.success() => {}
            _ => panic!(
                "tmux is not installed: the dashboard's end-to-end test runs `dcache dash` in a real \
                 terminal through tmux. Install it (e.g. `apt-get install tmux`; .ci/run does)."
            ),
        }
        let unique = format!(
            "dcache-dash-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let dir = tempfile::tempdir().unwrap();
        let tmux = Tmux {
            socket: dir.path().join("tmux.sock"),
            session: unique,
            _dir: dir,
        };
        let (w, h) = (width.to_string(), height.to_string());
        let out = tmux
            .cmd()
            .args(["new-session", "-d", "-s", &tmux.session, "-x", &w, "-y", &h])
            .args(["sh", "-c", script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S").arg(&self.socket);
        cmd
    }

    /// The pane's text now (empty once the session has ended).
    fn capture(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn send(&self, key: &str) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", &self.session, key])
            .status()
            .unwrap();
        assert!(status.success(), "tmux send-keys {key} failed");
    }

    /// Waits until the pane satisfies `cond`; panics with `what` and the last screen.
    fn wait_for(&self, what: &str, cond: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        if wait_until(SHOW_TIMEOUT, || {
            last = self.capture();
            cond(&last)
        }) {
            return last;
        }
        panic!("the dashboard did not show {what} within {SHOW_TIMEOUT:?}; last screen:\n{last}");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

/// The leader named in the header (`leader: NAME (id N)`), if any.
fn header_leader(screen: &str) -> Option<String> {
    let rest = screen.lines().next()?.strip_prefix("leader: ")?;
    let name = rest.split_whitespace().next()?;
    (name != "none").then(|| name.to_string())
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn dash_follows_a_failover_and_transfers_leadership_in_a_real_terminal() {
    let mut cluster = Cluster::start(3, &FAST);
    let leader = cluster.leader();
    let name = |c: &Cluster, i: usize| c.node(i).name().to_string();
    let old = name(&cluster, leader);
    let dir = tempfile::tempdir().unwrap();
    let exit_file: PathBuf = dir.path().join("exit");
    let stty_file: PathBuf = dir.path().join("stty");
    let script = format!(
        "'{BIN}' dash --server {} --interval 250ms; code=$?; stty -a > '{}' 2>&1; echo EXIT=$code > '{}'",
        cluster.node(0).url(),
        stty_file.display(),
        exit_file.display(),
    );
    let tmux = Tmux::start(&script, 160, 45);

    tmux.wait_for("all three nodes, the leader and the quorum", |s| {
        ["node1", "node2", "node3"].iter().all(|n| s.contains(n))
            && header_leader(s).as_deref() == Some(old.as_str())
            && s.contains("3/3 voters up, quorum OK")
            && s.lines()
                .any(|l| l.contains(&format!(" {old} ")) && l.contains("leader"))
    });

    cluster.kill9(leader);
    let screen = tmux.wait_for(&format!("{old} DOWN and another leader"), |s| {
        let old_down = s.lines().any(|l| l.contains(&format!(" {old} ")) && l.contains("DOWN"));
        old_down && header_leader(s).is_some_and(|l| l != old) && s.contains("2/3 voters up, quorum OK")
    });
    assert!(screen.contains(&format!("{old} is DOWN")), "event log:\n{screen}");
    let new_leader = cluster.leader();
    let target = cluster.followers_of(new_leader)[0];
    let target_name = name(&cluster, target);

    // Rows are in member id order; the first row starts selected.
    let members = cluster.status(new_leader)["members"].as_array().unwrap().clone();
    let mut ids: Vec<(u64, String)> = members
        .iter()
        .map(|m| (m["id"].as_u64().unwrap(), m["name"].as_str().unwrap().to_string()))
        .collect();
    ids.sort();
    let position = ids.iter().position(|(_, n)| *n == target_name).unwrap();
    for _ in 0..position {
        tmux.send("Down");
    }
    tmux.wait_for(&format!("{target_name} selected"), |s| {
        s.contains(&format!("> {target_name} "))
    });
    tmux.send("t");
    tmux.wait_for("the confirmation", |s| {
        s.contains(&format!("Transfer leadership to {target_name}"))
    });
    tmux.send("y");
    let leads = wait_until(SHOW_TIMEOUT, || {
        cluster
            .node(target)
            .http
            .status_within(Duration::from_secs(1))
            .is_some_and(|s| s["role"] == "leader")
    });
    assert!(
        leads,
        "{target_name} did not become leader; screen:\n{}\n{}",
        tmux.capture(),
        cluster.logs()
    );
    assert_eq!(cluster.leader(), target);
    tmux.wait_for(&format!("{target_name} as leader"), |s| {
        header_leader(s).as_deref() == Some(target_name.as_str())
            && s.contains(&format!("leadership transferred to {target_name} as asked"))
    });

    tmux.send("q");
    let exited = wait_until(SHOW_TIMEOUT, || read(&exit_file).contains("EXIT="));
    assert!(exited, "dash did not exit after q; screen:\n{}", tmux.capture());
    assert_eq!(read(&exit_file).trim(), "EXIT=0", "dash's exit status");
    // The terminal is back in cooked mode with echo: the guard restored it.
    let stty = read(&stty_file);
    let flags: Vec<&str> = stty.split_whitespace().collect();
    assert!(
        flags.contains(&"icanon") && flags.contains(&"echo"),
        "terminal not restored after exit: {stty}"
    );
}

/// The token after `label` on the first line containing it.
fn figure_after<'a>(screen: &'a str, label: &str) -> Option<&'a str> {
    let line = screen.lines().find(|l| l.contains(label))?;
    let rest = &line[line.find(label)? + label.len()..];
    rest.split_whitespace().next()
}

/// Issue 17, bugs 5 and 6 in a real terminal: a killed follower's row keeps the leader's
/// view of it (lag, time since last heard), and writes/s counts client writes, the same
/// figure in the header and the sparkline.
#[test]
fn dash_shows_a_down_followers_lag_and_client_writes_in_a_real_terminal() {
    let mut cluster = Cluster::start(3, &FAST);
    let leader = cluster.leader();
    let follower = cluster.followers_of(leader)[0];
    let name = cluster.node(follower).name().to_string();
    let script = format!("'{BIN}' dash --server {} --interval 250ms", cluster.node(leader).url());
    let tmux = Tmux::start(&script, 170, 45);
    tmux.wait_for("all three nodes", |s| {
        ["node1", "node2", "node3"].iter().all(|n| s.contains(n))
    });

    cluster.kill9(follower);
    let url = cluster.node(leader).url();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let http = crate::support::Http::new(&url);
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                http.set(&format!("w{}", i % 100), "v");
                i += 1;
            }
        });
        let shown = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            tmux.wait_for(&format!("{name} DOWN with its lag and last heard"), |s| {
                s.lines().any(|l| {
                    let words: Vec<&str> = l.split_whitespace().collect();
                    words.contains(&name.as_str())
                        && words.contains(&"DOWN")
                        && words.iter().any(|w| w.parse::<u64>().is_ok_and(|n| n >= 20))
                        && words
                            .iter()
                            .any(|w| w.strip_suffix('s').is_some_and(|n| n.parse::<f64>().is_ok()))
                })
            });
            tmux.wait_for("the same non-zero writes/s in the header and the sparkline", |s| {
                let header = s.lines().next().and_then(|l| figure_after(l, "writes/s "));
                let spark = figure_after(s, "client writes/s ");
                header.is_some_and(|h| h != "-" && h.parse::<f64>().is_ok_and(|r| r > 0.0)) && header == spark
            });
        }));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Err(panic) = shown {
            std::panic::resume_unwind(panic);
        }
    });
}

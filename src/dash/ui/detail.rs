//! The node detail view (Enter on a row): every figure the selected node's last `NodeStatus`
//! and its member record hold, and the leader's view of it. Draws only; reads the `App`.

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use super::{clock, heard, human, latency, App, NodeRow};
use crate::types::NodeStatus;

/// Cells for a label, before its value.
const LABEL_WIDTH: usize = 16;
/// Below this inner width the two columns are stacked into one.
const TWO_COLUMNS_FROM: u16 = 80;

/// One `label: value` line; the value in `style`.
type Field = (&'static str, String, Style);

/// Rows the panel needs (borders included) at terminal width `width`.
pub(super) fn height(row: &NodeRow, width: u16) -> u16 {
    let (left, right) = columns(row, None);
    let lines = if width.saturating_sub(2) >= TWO_COLUMNS_FROM {
        left.len().max(right.len())
    } else {
        left.len() + right.len()
    };
    let notes = if row.error.is_some() { 2 } else { 0 };
    u16::try_from(lines + notes + 2).unwrap_or(u16::MAX)
}

/// Draws `row`'s detail in `area`: a title naming the node and how to go back, the error
/// and the age of the figures when it is down, then two columns (raft; data and process).
pub(super) fn render(app: &App, row: &NodeRow, area: Rect, buf: &mut Buffer) {
    let title = format!(" {} (id {}) · Esc back ", row.member.name, row.member.id);
    let block = Block::bordered()
        .title(title)
        .border_style(Style::new().fg(Color::Cyan));
    let inner = block.inner(area);
    block.render(area, buf);

    let seen = app.last_seen.get(&row.member.id);
    let mut notes = Vec::new();
    if let Some(err) = &row.error {
        let red = Style::new().fg(Color::Red);
        notes.push(Line::from(vec![
            Span::styled(" DOWN: ", red.add_modifier(Modifier::BOLD)),
            Span::styled(err.clone(), red),
        ]));
        notes.push(Line::styled(
            match seen {
                Some((at, _)) => format!(" figures below are from its last answer, at {} UTC", clock(*at)),
                None => " it has not answered since the dashboard started".to_string(),
            },
            Style::new().fg(Color::DarkGray),
        ));
    }
    let status = row.status.as_ref().or(seen.map(|(_, s)| s));
    let (left, right) = columns(row, status);
    let top = u16::try_from(notes.len()).unwrap_or(0).min(inner.height);
    Paragraph::new(notes).render(Rect { height: top, ..inner }, buf);
    let body = Rect {
        y: inner.y + top,
        height: inner.height - top,
        ..inner
    };
    if body.width >= TWO_COLUMNS_FROM {
        let half = body.width / 2;
        Paragraph::new(lines(left)).render(Rect { width: half, ..body }, buf);
        let right_area = Rect {
            x: body.x + half,
            width: body.width - half,
            ..body
        };
        Paragraph::new(lines(right)).render(right_area, buf);
    } else {
        let mut all = lines(left);
        all.extend(lines(right));
        Paragraph::new(all).render(body, buf);
    }
}

fn lines(fields: Vec<Field>) -> Vec<Line<'static>> {
    let label = Style::new().fg(Color::DarkGray);
    fields
        .into_iter()
        .map(|(name, value, style)| {
            Line::from(vec![
                Span::styled(format!(" {name:<w$}", w = LABEL_WIDTH - 1), label),
                Span::styled(value, style),
            ])
        })
        .collect()
}

/// The two columns of fields: Raft state and the leader's view on the left; data, process,
/// build and addresses on the right. Figures `status` lacks show as `-`.
fn columns(row: &NodeRow, status: Option<&NodeStatus>) -> (Vec<Field>, Vec<Field>) {
    let plain = Style::new();
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let num = |f: fn(&NodeStatus) -> u64| status.map_or("-".to_string(), |s| f(s).to_string());
    let text = |f: fn(&NodeStatus) -> String| status.map_or("-".to_string(), f);
    let m = &row.member;
    let (role, role_style) = match &row.status {
        None => ("DOWN".to_string(), bold.fg(Color::Red)),
        Some(s) if s.leads() => (s.role_label(), bold.fg(Color::Green)),
        Some(s) if s.quorum_lost => (s.role_label(), bold.fg(Color::Red)),
        Some(s) => (s.role_label(), plain),
    };
    let quorum_lost = status.map_or("-".to_string(), |s| yes_no(s.quorum_lost));
    let leader = status.map_or("-".to_string(), |s| {
        s.leader
            .as_ref()
            .map_or("none known".to_string(), |l| format!("{} (id {})", l.name, l.id))
    });
    let left = vec![
        ("name", m.name.clone(), bold),
        ("id", m.id.to_string(), plain),
        ("role", role, role_style),
        ("quorum lost", quorum_lost, plain),
        ("voter", yes_no(m.voter), plain),
        ("term", num(|s| s.term), plain),
        ("leader", leader, plain),
        ("last log", num(|s| s.last_log_index), plain),
        ("committed", num(|s| s.committed), plain),
        ("applied", num(|s| s.applied), plain),
        ("snapshot", num(|s| s.snapshot_index), plain),
        ("purged", num(|s| s.purged_index), plain),
        (
            "lag",
            row.lag
                .map_or("- (no leader view)".to_string(), |l| format!("{l} entries")),
            plain,
        ),
        (
            "heard",
            row.heard.map_or("-".to_string(), |d| format!("{} ago", heard(d))),
            plain,
        ),
    ];
    let memory = status.map_or("-".to_string(), |s| s.max_memory.map_or("unbounded".to_string(), bytes));
    let resp = |url: &str| {
        if url.is_empty() {
            "off".to_string()
        } else {
            url.to_string()
        }
    };
    let right = vec![
        ("keys", num(|s| s.key_count), plain),
        ("bytes", text(|s| bytes(s.approx_bytes)), plain),
        ("memory bound", memory, plain),
        ("evictions", num(|s| s.evictions), plain),
        ("expirations", num(|s| s.expirations), plain),
        ("disk", text(|s| bytes(s.disk_bytes)), plain),
        ("uptime", text(|s| human(Duration::from_secs(s.uptime_secs))), plain),
        (
            "build",
            status.map_or(m.version.clone().unwrap_or("-".to_string()), |s| s.build.clone()),
            plain,
        ),
        (
            "format",
            status.map_or(m.format.map_or("-".to_string(), |f| f.to_string()), |s| {
                format!("reads {}, cluster at {}", s.format, s.cluster_format)
            }),
            plain,
        ),
        ("client URL", m.client_url.clone(), plain),
        ("peer URL", m.peer_url.clone(), plain),
        ("RESP URL", resp(status.map_or(&m.resp_url, |s| &s.resp_url)), plain),
        (
            "poll latency",
            row.status.as_ref().map_or("-".to_string(), |_| latency(row.latency)),
            plain,
        ),
    ];
    (left, right)
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// `n` bytes with a binary unit: `812 B`, `12.1 KiB`, `3.0 MiB`.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

//! The node table: its columns (each as wide as its widest cell, the least useful dropped
//! first on a narrow terminal) and one line per node, with the leader's view of its lag.

use std::time::Duration;

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use super::super::app::NodeRow;
use super::*;

/// Cells in a lag bar.
const BAR_WIDTH: usize = 10;
/// Lag (in entries) that fills the bar; the bar is logarithmic below it.
const BAR_FULL_LAG: f64 = 10_000.0;
/// Columns between table cells.
const GAP: &str = "  ";

/// The column titles over `cols`.
pub(super) fn header_line(cols: &[Col]) -> Line<'static> {
    let title_style = Style::new().add_modifier(Modifier::BOLD).fg(Color::DarkGray);
    let mut header = vec![Span::raw("  ")];
    for c in cols {
        header.push(Span::styled(c.pad(c.kind.title()), title_style));
        header.push(Span::raw(GAP));
    }
    Line::from(header)
}

/// A table column, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Name,
    Id,
    Url,
    Role,
    Term,
    LastLog,
    Committed,
    Applied,
    Lag,
    Heard,
    Keys,
    Latency,
}

impl Kind {
    const ALL: [Kind; 12] = [
        Kind::Name,
        Kind::Id,
        Kind::Url,
        Kind::Role,
        Kind::Term,
        Kind::LastLog,
        Kind::Committed,
        Kind::Applied,
        Kind::Lag,
        Kind::Heard,
        Kind::Keys,
        Kind::Latency,
    ];

    fn title(self) -> &'static str {
        match self {
            Kind::Name => "NAME",
            Kind::Id => "ID",
            Kind::Url => "CLIENT URL",
            Kind::Role => "ROLE",
            Kind::Term => "TERM",
            Kind::LastLog => "LAST LOG",
            Kind::Committed => "COMMITTED",
            Kind::Applied => "APPLIED",
            Kind::Lag => "LAG",
            Kind::Heard => "HEARD",
            Kind::Keys => "KEYS",
            Kind::Latency => "LATENCY",
        }
    }

    /// Which columns go first when the terminal is narrow: lowest first; name and role stay.
    fn keep_priority(self) -> u8 {
        match self {
            Kind::Name | Kind::Role => u8::MAX,
            Kind::Lag => 9,
            Kind::Heard => 0,
            Kind::Applied => 8,
            Kind::Term => 7,
            Kind::Id => 6,
            Kind::Keys => 5,
            Kind::Latency => 4,
            Kind::Committed => 3,
            Kind::LastLog => 2,
            Kind::Url => 1,
        }
    }

    fn right_aligned(self) -> bool {
        !matches!(self, Kind::Name | Kind::Url | Kind::Role | Kind::Lag)
    }

    /// The cell's text for a node that answered (the lag cell is built separately).
    fn text(self, row: &NodeRow) -> String {
        let s = row.status.as_ref();
        let num = |f: fn(&crate::types::NodeStatus) -> u64| s.map_or(String::new(), |s| f(s).to_string());
        match self {
            Kind::Name => row.member.name.clone(),
            Kind::Id => row.member.id.to_string(),
            Kind::Url => row.member.client_url.clone(),
            Kind::Role => s.map_or("DOWN".to_string(), |s| s.role_label()),
            Kind::Term => num(|s| s.term),
            Kind::LastLog => num(|s| s.last_log_index),
            Kind::Committed => num(|s| s.committed),
            Kind::Applied => num(|s| s.applied),
            Kind::Lag => lag_number(row.lag),
            Kind::Heard => row.heard.map_or(String::new(), heard),
            Kind::Keys => num(|s| s.key_count),
            Kind::Latency => s.map_or(String::new(), |_| latency(row.latency)),
        }
    }
}

/// A column and its width in cells.
#[derive(Debug, Clone, Copy)]
pub(super) struct Col {
    kind: Kind,
    width: usize,
}

impl Col {
    fn pad(&self, text: &str) -> String {
        let text: String = text.chars().take(self.width).collect();
        if self.kind.right_aligned() {
            format!("{text:>w$}", w = self.width)
        } else {
            format!("{text:<w$}", w = self.width)
        }
    }
}

/// The columns that fit in `width` cells, each as wide as its widest cell, dropping the least
/// useful ones first when they do not all fit.
/// The LAG column is at least `lag_digits` wide (the widest lag seen so far), so it keeps its
/// width from one round to the next.
pub(super) fn fit_columns(rows: &[NodeRow], lag_digits: usize, width: u16) -> Vec<Col> {
    let mut cols: Vec<Col> = Kind::ALL
        .iter()
        .map(|&kind| {
            let widest = rows.iter().map(|r| kind.text(r).chars().count()).max().unwrap_or(0);
            let widest = if kind == Kind::Lag {
                widest.max(lag_digits).max(3) + 1 + BAR_WIDTH
            } else {
                widest
            };
            let widest = if kind == Kind::Role {
                widest.max("candidate".len())
            } else {
                widest
            };
            Col {
                kind,
                width: widest.max(kind.title().len()),
            }
        })
        .collect();
    let total = |cols: &[Col]| cols.iter().map(|c| c.width + GAP.len()).sum::<usize>();
    while total(&cols) > usize::from(width) {
        let Some((drop, _)) = cols
            .iter()
            .enumerate()
            .filter(|(_, c)| c.kind.keep_priority() < u8::MAX)
            .min_by_key(|(_, c)| c.kind.keep_priority())
        else {
            break;
        };
        cols.remove(drop);
    }
    cols
}

/// One node's line: a `>` marks the selection. A down node shows DOWN, the leader's view of
/// it (lag, last heard), and its error after the columns.
pub(super) fn row_line(row: &NodeRow, cols: &[Col], selected: bool) -> Line<'static> {
    let base = if selected {
        Style::new().bg(Color::DarkGray)
    } else {
        Style::new()
    };
    let mut spans = vec![Span::styled(
        if selected { "> " } else { "  " },
        Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
    )];
    // Columns a down node has no figures for, from `Term` up to the lag: its error goes there.
    let mut covered = 0;
    for (i, c) in cols.iter().enumerate() {
        if covered > i {
            continue;
        }
        match (c.kind, &row.error) {
            (Kind::Role, Some(err)) => {
                spans.push(Span::styled(
                    c.pad("DOWN"),
                    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
                ));
                let rest = &cols[i + 1..];
                let n = rest
                    .iter()
                    .position(|c| matches!(c.kind, Kind::Lag | Kind::Heard | Kind::Keys | Kind::Latency))
                    .unwrap_or(rest.len());
                if n > 0 {
                    let room = rest[..n].iter().map(|c| c.width + GAP.len()).sum::<usize>() - GAP.len();
                    spans.push(Span::raw(GAP));
                    spans.push(Span::styled(fit_text(err, room), Style::new().fg(Color::Red)));
                    covered = i + 1 + n;
                }
            }
            (Kind::Role, None) => {
                let role = c.kind.text(row);
                let style = match row.status.as_ref().map(|s| s.role) {
                    Some(Role::Leader) => Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
                    Some(Role::Candidate) => Style::new().fg(Color::Yellow),
                    Some(Role::Learner) => Style::new().fg(Color::Cyan),
                    _ => Style::new(),
                };
                spans.push(Span::styled(c.pad(&role), style));
            }
            (Kind::Name, _) if row.is_leader() => {
                spans.push(Span::styled(
                    c.pad(&row.member.name),
                    Style::new().add_modifier(Modifier::BOLD),
                ));
            }
            (Kind::Lag, _) => spans.extend(lag_spans(row.lag, c.width)),
            (kind, _) => spans.push(Span::raw(c.pad(&kind.text(row)))),
        }
        spans.push(Span::raw(GAP));
    }
    Line::from(spans).style(base)
}

/// `text` in exactly `width` cells: padded, or cut with `…`.
fn fit_text(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return format!("{text:<width$}");
    }
    let cut: String = text.chars().take(width.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// How long ago, in a few characters: `40ms`, `2.5s`, `75s`, `12m`.
pub(super) fn heard(d: Duration) -> String {
    match d.as_millis() {
        ms if ms < 1000 => format!("{ms}ms"),
        ms if ms < 10_000 => format!("{:.1}s", ms as f64 / 1000.0),
        ms if ms < 600_000 => format!("{}s", ms / 1000),
        ms => format!("{}m", ms / 60_000),
    }
}

fn lag_number(lag: Option<u64>) -> String {
    lag.map_or("-".to_string(), |l| l.to_string())
}

/// The lag as a right-aligned number and a bar that fills logarithmically: 1 entry shows
/// one cell, [`BAR_FULL_LAG`] or more fill all of them.
fn lag_spans(lag: Option<u64>, width: usize) -> Vec<Span<'static>> {
    let digits = width.saturating_sub(BAR_WIDTH + 1);
    let number = format!("{:>digits$} ", lag_number(lag));
    let Some(lag) = lag else {
        return vec![Span::raw(number), Span::raw(" ".repeat(BAR_WIDTH))];
    };
    let filled = lag_cells(lag);
    let color = match lag {
        0 => Color::Green,
        1..=99 => Color::Yellow,
        _ => Color::Red,
    };
    vec![
        Span::styled(number, Style::new().fg(color)),
        Span::styled("█".repeat(filled), Style::new().fg(color)),
        Span::styled("░".repeat(BAR_WIDTH - filled), Style::new().fg(Color::DarkGray)),
    ]
}

/// Cells of the lag bar filled for `lag` entries: 0 for none, at least 1 for any lag.
fn lag_cells(lag: u64) -> usize {
    if lag == 0 {
        return 0;
    }
    let frac = ((lag as f64) + 1.0).log10() / (BAR_FULL_LAG + 1.0).log10();
    // Bounded to 1..=BAR_WIDTH, so the cast cannot truncate.
    ((frac * BAR_WIDTH as f64).ceil() as usize).clamp(1, BAR_WIDTH)
}

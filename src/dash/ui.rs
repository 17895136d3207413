//! Drawing: `impl Widget for &App` lays out the header, the node table and the throughput
//! sparkline (or the selected node's detail, in `detail`), the event log and the key hints,
//! plus the confirmation and help pop-ups. Reads the `App` only; never changes it and does
//! no I/O.

mod detail;

use std::time::{Duration, SystemTime};

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Sparkline, Widget, Wrap};

use super::app::{App, Level, NodeRow, View};
use crate::types::Role;

/// The smallest terminal the full layout fits in.
pub const MIN_WIDTH: u16 = 60;
/// See [`MIN_WIDTH`].
pub const MIN_HEIGHT: u16 = 12;

/// Cells in a lag bar.
const BAR_WIDTH: usize = 10;
/// Lag (in entries) that fills the bar; the bar is logarithmic below it.
const BAR_FULL_LAG: f64 = 10_000.0;
/// Columns between table cells.
const GAP: &str = "  ";

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            render_too_small(area, buf);
            return;
        }
        // Header 2, footer 1; the sparkline only when there is room for the log as well.
        let avail = area.height - 3;
        if self.view == View::Detail {
            if let Some(row) = self.selected_row() {
                let detail_h = detail::height(row, area.width).min(avail - 3);
                let mut y = area.y;
                let mut take = |h: u16| {
                    let r = Rect::new(area.x, y, area.width, h);
                    y += h;
                    r
                };
                let header = take(2);
                let panel = take(detail_h);
                let events = take(avail - detail_h);
                let footer = take(1);
                self.render_header(header, buf);
                detail::render(self, row, panel, buf);
                self.render_events(events, buf);
                self.render_footer(footer, buf);
                if self.help {
                    render_help(area, buf);
                }
                return;
            }
        }
        let wanted = u16::try_from(self.nodes.len().max(1) + 3).unwrap_or(u16::MAX);
        let spark_h = match avail {
            16.. => (avail.saturating_sub(wanted) / 3).clamp(5, 10),
            10.. => 3,
            _ => 0,
        };
        let table_h = wanted.min(avail - spark_h - 3).max(3);
        let events_h = avail - spark_h - table_h;

        let mut y = area.y;
        let mut take = |h: u16| {
            let r = Rect::new(area.x, y, area.width, h);
            y += h;
            r
        };
        let header = take(2);
        let table = take(table_h);
        let spark = take(spark_h);
        let events = take(events_h);
        let footer = take(1);

        self.render_header(header, buf);
        self.render_table(table, buf);
        if spark_h > 0 {
            self.render_sparkline(spark, buf);
        }
        self.render_events(events, buf);
        self.render_footer(footer, buf);
        if self.help {
            render_help(area, buf);
        } else if let Some(c) = &self.confirm {
            render_confirm(area, buf, &c.name, c.id);
        }
    }
}

fn render_too_small(area: Rect, buf: &mut Buffer) {
    let text = vec![
        Line::from(format!("terminal too small (need {MIN_WIDTH}x{MIN_HEIGHT})")),
        Line::from(format!(
            "now {}x{}; enlarge it, or press q to quit",
            area.width, area.height
        )),
    ];
    let top = area.height.saturating_sub(2) / 2;
    let inner = Rect::new(area.x, area.y + top, area.width, area.height - top);
    Paragraph::new(text)
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true })
        .style(Style::new().fg(Color::Yellow))
        .render(inner, buf);
}

impl App {
    /// Two lines, most important first so a narrow terminal clips the least useful part:
    /// leader, term, health, rate; then cluster, members and polling state.
    fn render_header(&self, area: Rect, buf: &mut Buffer) {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let dim = Style::new().fg(Color::DarkGray);
        let up = self.nodes.iter().filter(|n| n.is_up()).count();
        let total = self.nodes.len();
        let leader = match &self.leader {
            Some(l) => Span::styled(format!("{} (id {})", l.name, l.id), bold.fg(Color::Green)),
            None => Span::styled("none", bold.fg(Color::Red)),
        };
        let health = if up == total && total > 0 {
            Color::Green
        } else {
            Color::Red
        };
        let rate = self.writes_per_sec.map_or("-".to_string(), |r| format!("{r:.1}"));
        let voters = self.nodes.iter().filter(|n| n.member.voter);
        let quorum = crate::quorum::Quorum {
            voters: voters.clone().count(),
            up: voters.filter(|n| n.is_up()).count(),
            leader: self.leader.is_some(),
        };
        let quorum_color = if quorum.ok() { Color::Green } else { Color::Red };
        let fields = vec![
            vec![Span::raw("leader: "), leader],
            vec![Span::raw("term "), Span::styled(opt(self.term), bold)],
            vec![
                Span::raw("healthy "),
                Span::styled(format!("{up}/{total}"), bold.fg(health)),
            ],
            vec![Span::styled(quorum.to_string(), bold.fg(quorum_color))],
            vec![Span::raw("writes/s "), Span::styled(rate, bold)],
            vec![Span::raw("members "), Span::styled(total.to_string(), bold)],
        ];
        fit_fields(fields, Span::styled(" │ ", dim), area.width).render(Rect { height: 1, ..area }, buf);

        let mut spans = Vec::new();
        if self.paused {
            spans.push(Span::styled("PAUSED (p resumes)  ", bold.fg(Color::Yellow)));
        }
        if let Some(t) = &self.transferring {
            spans.push(Span::styled(
                format!("transferring leadership to {t}…  "),
                bold.fg(Color::Yellow),
            ));
        }
        if let Some(e) = &self.discovery_error {
            spans.push(Span::styled(
                format!("no endpoint answers: {e}"),
                Style::new().fg(Color::Red),
            ));
        } else {
            let mut fields = vec![
                vec![Span::styled("dcache dash", bold.fg(Color::Cyan))],
                vec![Span::styled(
                    format!("cluster {}", self.cluster_id.as_deref().unwrap_or("?")),
                    dim,
                )],
                vec![Span::styled(
                    format!(
                        "format {}",
                        self.cluster_format.map_or("?".to_string(), |f| f.to_string())
                    ),
                    dim,
                )],
                vec![Span::styled(
                    format!("every {} (timeout {})", human(self.interval), human(self.poll_timeout)),
                    dim,
                )],
            ];
            if let Some(t) = self.last_round {
                fields.push(vec![Span::styled(
                    format!("round {} at {} UTC", self.rounds, clock(t)),
                    dim,
                )]);
            }
            let used: usize = spans.iter().map(Span::width).sum();
            let room = area.width.saturating_sub(u16::try_from(used).unwrap_or(u16::MAX));
            spans.extend(fit_fields(fields, Span::styled(" · ", dim), room).spans);
        }
        Line::from(spans).render(
            Rect {
                y: area.y + 1,
                height: 1,
                ..area
            },
            buf,
        );
    }

    fn render_table(&self, area: Rect, buf: &mut Buffer) {
        let block = Block::bordered().title(" nodes ");
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.height == 0 {
            return;
        }
        let cols = fit_columns(&self.nodes, self.lag_digits, inner.width.saturating_sub(2));
        let title_style = Style::new().add_modifier(Modifier::BOLD).fg(Color::DarkGray);
        let mut header = vec![Span::raw("  ")];
        for c in &cols {
            header.push(Span::styled(c.pad(c.kind.title()), title_style));
            header.push(Span::raw(GAP));
        }
        Line::from(header).render(Rect { height: 1, ..inner }, buf);

        if self.nodes.is_empty() {
            let msg = Line::styled("  no members known yet", Style::new().fg(Color::DarkGray));
            if inner.height > 1 {
                msg.render(
                    Rect {
                        y: inner.y + 1,
                        height: 1,
                        ..inner
                    },
                    buf,
                );
            }
            return;
        }
        let visible = usize::from(inner.height.saturating_sub(1));
        let selected = self.selected_index();
        let first = selected.map_or(0, |s| (s + 1).saturating_sub(visible));
        for (i, row) in self.nodes.iter().enumerate().skip(first).take(visible) {
            let y = inner.y + 1 + u16::try_from(i - first).unwrap_or(0);
            let is_selected = selected == Some(i);
            let line = row_line(row, &cols, is_selected);
            line.render(Rect { y, height: 1, ..inner }, buf);
        }
    }

    fn render_sparkline(&self, area: Rect, buf: &mut Buffer) {
        let width = usize::from(area.width.saturating_sub(2));
        let skip = self.rates.len().saturating_sub(width);
        let data: Vec<u64> = self.rates.iter().skip(skip).copied().collect();
        let max = data.iter().copied().max().unwrap_or(0);
        // The header's figure, so both say the same.
        let now = self.writes_per_sec.map_or("-".to_string(), |r| format!("{r:.1}"));
        let title = format!(" client writes/s {now} · max {max} ");
        Sparkline::default()
            .block(Block::bordered().title(title))
            .data(&data)
            .max(max.max(1))
            .style(Style::new().fg(Color::Cyan))
            .render(area, buf);
    }

    /// The newest events that fit, or older ones when scrolled back (`[`, PgUp); the title
    /// says how far back and how to return.
    fn render_events(&self, area: Rect, buf: &mut Buffer) {
        let visible = usize::from(area.height.saturating_sub(2));
        let total = self.events.len();
        // Never scroll past the point where the oldest entry is on the top line.
        let scroll = self.log_scroll.min(total.saturating_sub(visible));
        let title = if scroll > 0 {
            format!(" events (UTC) · {scroll} newer below, ] PgDn End ")
        } else {
            " events (UTC) ".to_string()
        };
        let block = Block::bordered().title(title);
        let inner = block.inner(area);
        block.render(area, buf);
        let skip = total.saturating_sub(visible + scroll);
        for (i, e) in self.events().skip(skip).take(visible).enumerate() {
            let style = match e.level {
                Level::Info => Style::new(),
                Level::Good => Style::new().fg(Color::Green),
                Level::Bad => Style::new().fg(Color::Red),
            };
            let line = Line::from(vec![
                Span::styled(format!(" {}", clock(e.wall)), Style::new().fg(Color::DarkGray)),
                Span::raw("  "),
                Span::styled(e.text.clone(), style),
            ]);
            let y = inner.y + u16::try_from(i).unwrap_or(0);
            line.render(Rect { y, height: 1, ..inner }, buf);
        }
    }

    /// The key hints, as many whole ones as fit, the most needed first.
    fn render_footer(&self, area: Rect, buf: &mut Buffer) {
        let key = Style::new().add_modifier(Modifier::BOLD).fg(Color::Cyan);
        let hint = |k: &'static str, what: &'static str| vec![Span::styled(k, key), Span::raw(what)];
        let mut fields = vec![hint(" q", " quit"), hint("?", " help"), hint("↑/↓", " select")];
        match self.view {
            View::Detail => fields.push(hint("Esc/Enter", " back to the table")),
            View::Table => fields.push(hint("Enter", " detail")),
        }
        fields.push(hint("t", " transfer leadership"));
        fields.push(hint("p", if self.paused { " resume" } else { " pause" }));
        fields.push(hint("[ ] PgUp/PgDn", " scroll events"));
        fit_fields(fields, Span::raw("  "), area.width).render(area, buf);
    }
}

/// `fields` joined by `sep`: the first, then as many more whole fields as fit in `width`
/// cells; the rest are left out rather than cut in the middle.
fn fit_fields(fields: Vec<Vec<Span<'static>>>, sep: Span<'static>, width: u16) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for field in fields {
        let sep_width = if spans.is_empty() { 0 } else { sep.width() };
        let w: usize = field.iter().map(Span::width).sum();
        // The first field always shows (clipped if it must); later ones only whole.
        if !spans.is_empty() && used + sep_width + w > usize::from(width) {
            break;
        }
        if sep_width > 0 {
            spans.push(sep.clone());
        }
        spans.extend(field);
        used += sep_width + w;
    }
    Line::from(spans)
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
struct Col {
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
fn fit_columns(rows: &[NodeRow], lag_digits: usize, width: u16) -> Vec<Col> {
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
fn row_line(row: &NodeRow, cols: &[Col], selected: bool) -> Line<'static> {
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
fn heard(d: Duration) -> String {
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

/// A rectangle of `w`x`h` centred in `area`, shrunk to fit.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}

fn render_confirm(area: Rect, buf: &mut Buffer, name: &str, id: u64) {
    let popup = centered(area, 52, 5);
    Clear.render(popup, buf);
    let key = Style::new().add_modifier(Modifier::BOLD).fg(Color::Cyan);
    Paragraph::new(vec![
        Line::from(format!("Transfer leadership to {name} (id {id})?")),
        Line::from(""),
        Line::from(vec![
            Span::styled("y", key),
            Span::raw(" yes    "),
            Span::styled("n", key),
            Span::raw("/"),
            Span::styled("Esc", key),
            Span::raw(" no"),
        ]),
    ])
    .alignment(Alignment::Center)
    .block(
        Block::bordered()
            .title(" confirm ")
            .border_style(Style::new().fg(Color::Yellow)),
    )
    .render(popup, buf);
}

fn render_help(area: Rect, buf: &mut Buffer) {
    let popup = centered(area, 58, 14);
    Clear.render(popup, buf);
    let rows = [
        ("q  Esc  Ctrl-C", "quit (Esc: close the detail first)"),
        ("↑ ↓  k j", "select a node"),
        ("Enter", "open / close the selected node's detail"),
        ("[ ]", "scroll the event log one line back / on"),
        ("PgUp PgDn", "scroll the event log 10 lines back / on"),
        ("End", "back to the newest events"),
        ("t", "make the selected node leader (y/n)"),
        ("p", "pause / resume polling"),
        ("?", "show / hide this help"),
    ];
    let key = Style::new().add_modifier(Modifier::BOLD).fg(Color::Cyan);
    let mut lines: Vec<Line> = rows
        .iter()
        .map(|(k, what)| Line::from(vec![Span::styled(format!(" {k:<16}"), key), Span::raw(*what)]))
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(" LAG: entries behind the leader; the bar is logarithmic"));
    lines.push(Line::from(" (one cell per ~0.4 decade, full at 10000)."));
    Paragraph::new(lines)
        .block(
            Block::bordered()
                .title(" help ")
                .border_style(Style::new().fg(Color::Cyan)),
        )
        .render(popup, buf);
}

fn opt(v: Option<u64>) -> String {
    v.map_or("-".to_string(), |v| v.to_string())
}

fn human(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

fn latency(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1}ms")
    } else if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.1}s", ms / 1000.0)
    }
}

/// `HH:MM:SS` of `t` in UTC (no time zone database is at hand).
fn clock(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs()) % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

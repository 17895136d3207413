//! Drawing: `impl Widget for &App` lays out the header, the node table and the throughput
//! sparkline (or the selected node's detail, in `detail`), the event log and the key hints,
//! plus the confirmation and help pop-ups. Reads the `App` only; never changes it and does
//! no I/O.

mod detail;
mod table;

use table::{fit_columns, header_line, heard, row_line};

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
        header_line(&cols).render(Rect { height: 1, ..inner }, buf);

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

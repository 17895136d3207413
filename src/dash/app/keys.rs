//! Key presses: quitting, moving the selection, the detail view, scrolling the event log
//! and asking to transfer leadership.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::*;

impl App {
    pub(super) fn on_key(&mut self, key: KeyEvent) -> Option<Action> {
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

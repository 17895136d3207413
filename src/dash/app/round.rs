//! Folding one poll round into the state: rows, the leader's view, membership, health and
//! leadership changes in the event log, and the write-rate samples.

use std::time::{Duration, Instant, SystemTime};

use super::*;

impl App {
    pub(super) fn apply_round(&mut self, round: Round) {
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
    use crossterm::event::{KeyCode, KeyEvent};

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

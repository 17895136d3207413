//! Recent watch events, bounded by count and bytes, so a watcher can resume from a version.

use std::collections::VecDeque;

use super::WatchEvent;

/// Most events kept.
const MAX_EVENTS: usize = 10_000;
/// Most value bytes kept across those events.
const MAX_BYTES: usize = 16 * 1024 * 1024;

/// A bounded, ordered log of recent events.
#[derive(Debug, Default)]
pub struct History {
    events: VecDeque<WatchEvent>,
    bytes: usize,
    /// Events with a version at or below this may have been dropped.
    compacted_through: u64,
}

impl History {
    /// An empty history that knows nothing at or before `version`.
    pub fn starting_after(version: u64) -> Self {
        History {
            compacted_through: version,
            ..Default::default()
        }
    }

    pub(super) fn push(&mut self, event: WatchEvent) {
        self.bytes += event_bytes(&event);
        self.events.push_back(event);
        while self.events.len() > MAX_EVENTS || self.bytes > MAX_BYTES {
            let Some(old) = self.events.pop_front() else { break };
            self.bytes -= event_bytes(&old);
            self.compacted_through = self.compacted_through.max(old.version);
        }
    }

    /// Events with a version above `after` (in log order), or `Err(compacted_through)` when
    /// some of them are no longer kept.
    pub fn since(&self, after: u64) -> Result<Vec<WatchEvent>, u64> {
        if after < self.compacted_through {
            return Err(self.compacted_through);
        }
        Ok(self.events.iter().filter(|e| e.version > after).cloned().collect())
    }
}

fn event_bytes(e: &WatchEvent) -> usize {
    e.key.len() + e.value.as_ref().map_or(0, String::len) + 64
}

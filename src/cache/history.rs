//! Watch events, and the recent ones kept (bounded by count and bytes) so a watcher can
//! resume from a version.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Key, Value};

/// What happened to a key, as streamed by watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Set,
    Delete,
    Expire,
    Evict,
}

/// One change to one key, in log order. `version` is the log index of the entry that
/// caused it (several events share it for batches, purges and evictions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchEvent {
    pub kind: EventKind,
    pub key: Key,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    pub version: u64,
}

/// Most events kept.
const MAX_EVENTS: usize = 10_000;
/// Most value bytes kept across those events.
const MAX_BYTES: usize = 16 * 1024 * 1024;

/// A bounded, ordered log of recent events.
#[derive(Debug, Default)]
pub struct History {
    events: VecDeque<Arc<WatchEvent>>,
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

    pub(super) fn push(&mut self, event: Arc<WatchEvent>) {
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
        Ok(self
            .events
            .iter()
            .filter(|e| e.version > after)
            .map(|e| WatchEvent::clone(e))
            .collect())
    }
}

fn event_bytes(e: &WatchEvent) -> usize {
    e.key.len() + e.value.as_ref().map_or(0, Value::len) + 64
}

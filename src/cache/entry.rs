//! One stored value with its version and expiry, and what it counts against `max-memory`.

use std::num::NonZeroU64;

use serde::{Deserialize, Serialize};

use super::{KeyView, Value};

/// One stored value: its version (the log index of its last write, like etcd's
/// `mod_revision`) and its absolute expiry on the leader's clock, if any.
///
/// Kept small, as there is one per key: 32 bytes plus the value's own allocation (a boxed
/// `str` has no spare capacity; a non-zero expiry makes the `Option` free).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub value: Value,
    pub version: u64,
    expires_at_ms: Option<NonZeroU64>,
}

impl Entry {
    /// An entry expiring at `expires_at_ms` (leader clock), if given.
    pub fn new(value: impl Into<Value>, version: u64, expires_at_ms: Option<u64>) -> Self {
        Entry {
            value: value.into(),
            version,
            // Expiry times are wall-clock milliseconds, never 0; clamp so the niche holds.
            expires_at_ms: expires_at_ms.map(|t| NonZeroU64::MIN.saturating_add(t.saturating_sub(1))),
        }
    }

    /// The absolute expiry on the leader's clock, if any.
    pub fn expires_at_ms(&self) -> Option<u64> {
        self.expires_at_ms.map(NonZeroU64::get)
    }

    /// Whether the entry is still visible at `now_ms`.
    pub fn is_live(&self, now_ms: u64) -> bool {
        self.expires_at_ms().is_none_or(|t| t > now_ms)
    }

    /// How a reader at `now_ms` sees this entry under `key`.
    pub fn view(&self, key: &[u8], now_ms: u64) -> KeyView {
        KeyView {
            key: key.into(),
            value: self.value.clone(),
            version: self.version,
            ttl_ms: self.expires_at_ms().map(|t| t.saturating_sub(now_ms)),
        }
    }
}

/// Bytes counted per entry beyond its key and value: map and index nodes, string headers,
/// version and expiry. An estimate; `max-memory` is enforced on this count.
pub const ENTRY_OVERHEAD: u64 = 96;

/// Bytes `key` and `value` count against `max-memory` as one entry.
pub(super) fn entry_size(key: &[u8], value: &[u8]) -> u64 {
    (key.len() + value.len()) as u64 + ENTRY_OVERHEAD
}

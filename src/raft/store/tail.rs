//! The newest log entries, kept in memory as well as in sled: the entries just appended are
//! read back at once, by the replication to each follower and by the state machine, and
//! serving those reads from here saves a sled lookup and a MessagePack decode of every entry
//! each time (on a leader under pipelined writes, reading its own appends back was a fifth
//! of its CPU). sled stays the record; this is a copy of its last entries, changed in step
//! with it by `append`, `truncate_after` and `purge`.

use std::collections::VecDeque;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, Mutex};

use super::LogEntry;

/// Encoded bytes of entries kept at most. A follower that keeps up reads entries within
/// milliseconds of their append, so a few MiB cover every read but a lagging one's, which
/// goes to sled.
const MAX_BYTES: usize = 4 * 1024 * 1024;

/// The newest entries, consecutive by index, each with its encoded size.
#[derive(Debug, Default, Clone)]
pub(super) struct Tail {
    inner: Arc<Mutex<Entries>>,
}

#[derive(Debug, Default)]
struct Entries {
    entries: VecDeque<(LogEntry, usize)>,
    bytes: usize,
}

impl Entries {
    fn first_index(&self) -> Option<u64> {
        self.entries.front().map(|(e, _)| e.log_id.index())
    }

    fn next_index(&self) -> Option<u64> {
        self.entries.back().map(|(e, _)| e.log_id.index() + 1)
    }

    fn pop_front(&mut self) {
        if let Some((_, size)) = self.entries.pop_front() {
            self.bytes -= size;
        }
    }
}

impl Tail {
    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `run`, just written to sled as `bytes` encoded bytes. A run that does not follow
    /// the kept entries (the first after a restart, or after a purge past them) starts over.
    pub(super) fn appended(&self, run: Vec<LogEntry>, bytes: usize) {
        let Some(first) = run.first().map(|e| e.log_id.index()) else {
            return;
        };
        let mut t = self.lock();
        if t.next_index() != Some(first) {
            t.entries.clear();
            t.bytes = 0;
        }
        let each = bytes / run.len();
        for entry in run {
            t.entries.push_back((entry, each));
            t.bytes += each;
        }
        // An entry larger than the bound on its own is not kept either: reads of it go to sled.
        while t.bytes > MAX_BYTES {
            t.pop_front();
        }
    }

    /// Forgets the entries after `keep_through` (all of them for `None`), before sled does.
    pub(super) fn truncate_after(&self, keep_through: Option<u64>) {
        let mut t = self.lock();
        while let Some((last, size)) = t.entries.back().map(|(e, s)| (e.log_id.index(), *s)) {
            if keep_through.is_some_and(|k| last <= k) {
                break;
            }
            t.entries.pop_back();
            t.bytes -= size;
        }
    }

    /// Forgets the entries up to and including `through`.
    pub(super) fn purge(&self, through: u64) {
        let mut t = self.lock();
        while t.first_index().is_some_and(|i| i <= through) {
            t.pop_front();
        }
    }

    /// Copies of the entries in `range` from `start` on, if every one of them is kept here;
    /// `None` sends the read to sled.
    pub(super) fn get(&self, start: u64, range: &impl RangeBounds<u64>) -> Option<Vec<LogEntry>> {
        let t = self.lock();
        let (first, next) = (t.first_index()?, t.next_index()?);
        let end = match range.end_bound() {
            Bound::Included(i) => i.saturating_add(1),
            Bound::Excluded(i) => *i,
            Bound::Unbounded => next,
        };
        if start < first || end > next {
            return None;
        }
        if start >= end {
            return Some(Vec::new());
        }
        let from = (start - first) as usize;
        let to = (end - first) as usize;
        Some(t.entries.range(from..to).map(|(e, _)| e.clone()).collect())
    }
}

#[cfg(test)]
mod tests {
    use openraft::alias::LeaderIdOf;
    use openraft::entry::RaftEntry;
    use openraft::vote::RaftLeaderIdExt;

    use super::*;
    use crate::raft::{LogId, TypeConfig};

    fn id(index: u64, term: u64) -> LogId {
        LogId::new(
            <LeaderIdOf<TypeConfig> as RaftLeaderIdExt>::new_committed(term, 1),
            index,
        )
    }

    fn entry(index: u64, term: u64) -> LogEntry {
        LogEntry::new_blank(id(index, term))
    }

    fn ids(got: Option<Vec<LogEntry>>) -> Option<Vec<LogId>> {
        got.map(|v| v.iter().map(|e| e.log_id).collect())
    }

    #[test]
    fn reads_only_what_it_holds_whole_and_follows_truncation_and_purge() {
        let tail = Tail::default();
        assert_eq!(ids(tail.get(1, &(1..3))), None, "empty");
        tail.appended(vec![entry(5, 1), entry(6, 1)], 200);
        tail.appended(vec![entry(7, 1)], 100);
        assert_eq!(ids(tail.get(5, &(5..8))), Some(vec![id(5, 1), id(6, 1), id(7, 1)]));
        assert_eq!(ids(tail.get(6, &(6..=6))), Some(vec![id(6, 1)]));
        assert_eq!(ids(tail.get(6, &(6..))), Some(vec![id(6, 1), id(7, 1)]));
        assert_eq!(ids(tail.get(4, &(4..8))), None, "starts before the tail");
        assert_eq!(ids(tail.get(5, &(5..9))), None, "ends after it");
        assert_eq!(ids(tail.get(7, &(7..7))), Some(vec![]));

        // A new leader's entries replace the conflicting ones.
        tail.truncate_after(Some(5));
        tail.appended(vec![entry(6, 2)], 100);
        assert_eq!(ids(tail.get(5, &(5..7))), Some(vec![id(5, 1), id(6, 2)]));

        tail.purge(5);
        assert_eq!(ids(tail.get(5, &(5..7))), None);
        assert_eq!(ids(tail.get(6, &(6..7))), Some(vec![id(6, 2)]));

        // A run that does not follow starts over.
        tail.appended(vec![entry(20, 2)], 100);
        assert_eq!(ids(tail.get(6, &(6..7))), None);
        assert_eq!(ids(tail.get(20, &(20..21))), Some(vec![id(20, 2)]));
        tail.truncate_after(None);
        assert_eq!(ids(tail.get(20, &(20..21))), None);
    }

    #[test]
    fn keeps_at_most_its_byte_bound() {
        let tail = Tail::default();
        for i in 1..=10 {
            tail.appended(vec![entry(i, 1)], MAX_BYTES / 4);
        }
        assert_eq!(tail.lock().entries.len(), 4);
        assert_eq!(ids(tail.get(7, &(7..11))).map(|v| v.len()), Some(4));
        // One entry over the bound on its own (a batch of large values) is not kept.
        tail.appended(vec![entry(11, 1)], MAX_BYTES * 2);
        assert_eq!(ids(tail.get(11, &(11..12))), None);
        let t = tail.lock();
        assert_eq!((t.entries.len(), t.bytes), (0, 0));
        drop(t);
        // The next run starts over.
        tail.appended(vec![entry(12, 1)], 10);
        assert_eq!(ids(tail.get(12, &(12..13))), Some(vec![id(12, 1)]));
    }
}

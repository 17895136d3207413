//! A consistent view of the cache read in pieces while writes go on: what a snapshot or a
//! backup encodes without making every apply wait for the whole cache to be written.
//!
//! [`Cache::begin_view`] fixes the moment. A reader then walks the map in key order a chunk
//! at a time, between which writes apply. Until [`Cache::end_view`], the first change to a
//! key the walk has not passed yet keeps the key's entry from that moment (or that it was
//! absent); a key the walk has passed was given as it was, so its changes need nothing. The
//! walk gives a key's kept entry instead of its current one, and at the end the kept
//! entries of keys deleted before it reached them. The memory this costs is one entry per
//! key changed ahead of the walk (bounded by what clients write while the view is open, and
//! by the cache itself); nothing for keys added after the greatest key.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::{Mutex, PoisonError};

use super::{Cache, Counters, Entry, Key};

/// An open view.
#[derive(Debug, Default)]
pub(super) struct View {
    /// Entries as they were when the view began, of the keys changed since, ahead of the
    /// walk (`None`: absent then).
    kept: BTreeMap<Key, Option<Entry>>,
    /// The greatest key when the view began: keys after it were absent then, so the walk
    /// stops there and their changes need nothing kept (a load of ascending new keys
    /// keeps nothing).
    last: Option<Key>,
    /// How far the walk has got. Moved by readers (under the state's read lock), read by
    /// writers (under its write lock): never contended.
    walked: Mutex<Walked>,
}

#[derive(Debug, Default, Clone)]
enum Walked {
    /// Not started.
    #[default]
    Start,
    /// Through this key.
    To(Key),
    /// The whole map.
    All,
}

impl View {
    fn walked(&self) -> std::sync::MutexGuard<'_, Walked> {
        self.walked.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the walk has passed `key` or will never reach it.
    fn passed(&self, key: &[u8]) -> bool {
        if self.last.as_ref().is_none_or(|last| key > last.as_bytes()) {
            return true;
        }
        match &*self.walked() {
            Walked::Start => false,
            Walked::To(last) => key <= last.as_bytes(),
            Walked::All => true,
        }
    }
}

/// What a view holds besides its entries, fixed when it began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewHead {
    /// The entries in the view.
    pub len: usize,
    pub counters: Counters,
    pub cluster_format: u32,
}

/// What a reader of a view has given so far.
#[derive(Debug, Default)]
pub struct ViewCursor {
    /// Kept entries already given (their keys were still in the map when reached).
    given: BTreeSet<Key>,
    finished: bool,
}

impl ViewCursor {
    /// Whether every entry of the view has been given.
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

impl Cache {
    /// Fixes the view at the current state; any view already open is replaced (only one
    /// reader at a time: the caller serializes them).
    pub fn begin_view(&mut self) -> ViewHead {
        self.view = Some(View {
            last: self.map.last_key_value().map(|(k, _)| k.clone()),
            ..View::default()
        });
        ViewHead {
            len: self.map.len(),
            counters: self.counters,
            cluster_format: self.cluster_format(),
        }
    }

    /// Whether a view is open.
    pub fn has_view(&self) -> bool {
        self.view.is_some()
    }

    /// Closes the view and frees what it kept.
    pub fn end_view(&mut self) {
        self.view = None;
    }

    /// Keeps `key`'s entry as it is now, if a view is open, the key has not changed since it
    /// began and the walk has not passed it. Called before every change to the map.
    pub(super) fn keep_for_view(&mut self, key: &[u8]) {
        if let Some(view) = &mut self.view {
            if !view.kept.contains_key(key) && !view.passed(key) {
                view.kept.insert(key.into(), self.map.get(key).cloned());
            }
        }
    }

    /// Gives the view's next entries to `give`: the map's in key order, stopping after about
    /// `budget` bytes of keys and values, and after the map's end the kept entries of keys
    /// deleted before the walk reached them. Call until `cursor` is finished. With no view
    /// open, gives nothing and finishes `cursor` (the reader then counts too few entries).
    pub fn view_chunk(&self, cursor: &mut ViewCursor, budget: usize, mut give: impl FnMut(&Key, &Entry)) {
        let Some(view) = &self.view else {
            // Ended under the reader: it is finished, with fewer entries than it began with.
            cursor.finished = true;
            return;
        };
        let mut walked = view.walked();
        let start = match &*walked {
            Walked::Start => Bound::Unbounded,
            Walked::To(key) => Bound::Excluded(key.as_bytes()),
            Walked::All => {
                for (key, entry) in &view.kept {
                    if let (Some(entry), false) = (entry, cursor.given.contains(key)) {
                        give(key, entry);
                    }
                }
                cursor.finished = true;
                return;
            }
        };
        let end = match &view.last {
            Some(last) => Bound::Included(last.as_bytes()),
            None => Bound::Excluded(&[][..]),
        };
        if matches!((start, end), (Bound::Excluded(a), Bound::Included(b)) if a >= b) || view.last.is_none() {
            *walked = Walked::All;
            return;
        }
        let mut bytes = 0;
        for (key, entry) in self.map.range::<[u8], _>((start, end)) {
            let entry = match view.kept.get(key) {
                Some(then) => {
                    cursor.given.insert(key.clone());
                    then.as_ref()
                }
                None => Some(entry),
            };
            if let Some(entry) = entry {
                give(key, entry);
                bytes += key.len() + entry.value.len();
            }
            if bytes >= budget {
                *walked = Walked::To(key.clone());
                return;
            }
        }
        *walked = Walked::All;
    }
}

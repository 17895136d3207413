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
        // The walk ends at the greatest key the view began with (none: it began empty).
        let last = match &view.last {
            Some(last) if !matches!(start, Bound::Excluded(after) if after >= last.as_bytes()) => last.as_bytes(),
            _ => {
                *walked = Walked::All;
                return;
            }
        };
        let mut bytes = 0;
        for (key, entry) in self.map.range::<[u8], _>((start, Bound::Included(last))) {
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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::super::tests::{one, req, set};
    use crate::cache::{Cache, Entry, Key, ViewCursor, Write};

    /// One step while a view is read: a set or delete of one of a few keys, or the next chunk.
    #[derive(Debug, Clone)]
    enum ViewStep {
        Set(u8, u8),
        Delete(u8),
        Chunk(usize),
    }

    fn view_step() -> impl Strategy<Value = ViewStep> {
        prop_oneof![
            (0u8..40, any::<u8>()).prop_map(|(k, v)| ViewStep::Set(k, v)),
            (0u8..40).prop_map(ViewStep::Delete),
            (1usize..40).prop_map(ViewStep::Chunk),
        ]
    }

    proptest! {
        /// A view read in chunks, with sets and deletes applied between them (ahead of the walk,
        /// behind it and at its cursor), gives exactly the entries the cache held when it began,
        /// each once; the cache itself ends in the state the writes left.
        #[test]
        fn a_view_gives_the_state_it_began_with_whatever_changes_meanwhile(
            initial in proptest::collection::btree_map(0u8..40, any::<u8>(), 0..30),
            steps in proptest::collection::vec(view_step(), 0..60),
        ) {
            let key = |k: u8| format!("k{k:02}");
            let mut cache = Cache::new();
            let mut index = 0;
            let mut apply = |cache: &mut Cache, w: Write| {
                index += 1;
                cache.apply(index, req(index, None, one(w)));
            };
            for (k, v) in &initial {
                apply(&mut cache, set(&key(*k), &v.to_string()));
            }
            let then: BTreeMap<Key, Entry> = cache.iter().map(|(k, e)| (k.clone(), e.clone())).collect();
            let head = cache.begin_view();
            prop_assert_eq!(head.len, then.len());
            let mut cursor = ViewCursor::default();
            let mut given = Vec::new();
            let mut expected_now = then.clone();
            for step in steps.iter().chain(std::iter::repeat_n(&ViewStep::Chunk(7), 100)) {
                match step {
                    ViewStep::Set(k, v) => {
                        apply(&mut cache, set(&key(*k), &v.to_string()));
                        expected_now.insert(key(*k).into(), cache.get(key(*k).as_bytes(), 0).unwrap().clone());
                    }
                    ViewStep::Delete(k) => {
                        apply(&mut cache, Write::Delete { key: key(*k).into(), if_version: None });
                        expected_now.remove(key(*k).as_bytes());
                    }
                    ViewStep::Chunk(budget) if !cursor.is_finished() => {
                        cache.view_chunk(&mut cursor, *budget, |k, e| given.push((k.clone(), e.clone())));
                    }
                    ViewStep::Chunk(_) => {}
                }
            }
            prop_assert!(cursor.is_finished());
            let given_keys: BTreeSet<&Key> = given.iter().map(|(k, _)| k).collect();
            prop_assert_eq!(given_keys.len(), given.len(), "a key given twice: {:?}", given);
            prop_assert_eq!(given.into_iter().collect::<BTreeMap<_, _>>(), then);
            cache.end_view();
            let now: BTreeMap<Key, Entry> = cache.iter().map(|(k, e)| (k.clone(), e.clone())).collect();
            prop_assert_eq!(now, expected_now);
        }
    }
}

//! Keyspace notifications over RESP: `SUBSCRIBE`/`PSUBSCRIBE` to `__keyspace@0__:KEY`
//! (payload: the event) and `__keyevent@0__:EVENT` (payload: the key), fed by the node's
//! watch stream of applied changes, so every member notifies every change in log order.
//!
//! Events: `set` (every write that stores a value: SET, INCR, EXPIRE, ...), `del`,
//! `expired`, `evicted`. A subscriber that falls behind the node's event buffer (or whose node installs a snapshot) gets an
//! error and is disconnected; the answers of a subscribed connection are never buffered
//! without bound (the connection loop writes each batch before it reads more events).

use std::collections::BTreeSet;

use bytes::Bytes;

use super::codec::Reply;
use super::glob;
use crate::cache::{EventKind, WatchEvent};
use crate::node::{Node, Watch};

const KEYSPACE: &str = "__keyspace@0__:";
const KEYEVENT: &str = "__keyevent@0__:";

/// A connection's subscriptions and the watch that feeds them (open while any exists).
#[derive(Default)]
pub(super) struct Subscriptions {
    channels: BTreeSet<Bytes>,
    patterns: BTreeSet<Bytes>,
    watch: Option<Watch>,
}

impl Subscriptions {
    /// Whether the connection is in subscribed mode.
    pub(super) fn active(&self) -> bool {
        !self.channels.is_empty() || !self.patterns.is_empty()
    }

    fn count(&self) -> i64 {
        (self.channels.len() + self.patterns.len()) as i64
    }

    /// The watch feeding the subscriptions, while any exists.
    pub(super) fn watch(&mut self) -> Option<&mut Watch> {
        self.watch.as_mut()
    }

    /// `SUBSCRIBE` (or `PSUBSCRIBE` when `pattern`): one confirmation per name.
    pub(super) fn subscribe(&mut self, node: &Node, names: &[Bytes], pattern: bool) -> Reply {
        if self.watch.is_none() {
            match node.watch(Vec::new(), None) {
                Ok(w) => self.watch = Some(w),
                Err(e) => return Reply::err(e),
            }
        }
        let kind = if pattern { "psubscribe" } else { "subscribe" };
        let replies = names
            .iter()
            .map(|name| {
                let set = if pattern {
                    &mut self.patterns
                } else {
                    &mut self.channels
                };
                set.insert(name.clone());
                push(kind, Reply::Bulk(name.clone()), Reply::Int(self.count()))
            })
            .collect();
        Reply::Many(replies)
    }

    /// `UNSUBSCRIBE` (or `PUNSUBSCRIBE`): the names given, or all of them.
    pub(super) fn unsubscribe(&mut self, names: &[Bytes], pattern: bool) -> Reply {
        let kind = if pattern { "punsubscribe" } else { "unsubscribe" };
        let set = if pattern { &self.patterns } else { &self.channels };
        let names: Vec<Bytes> = if names.is_empty() {
            set.iter().cloned().collect()
        } else {
            names.to_vec()
        };
        if names.is_empty() {
            return push(kind, Reply::Nil, Reply::Int(self.count()));
        }
        let replies = names
            .into_iter()
            .map(|name| {
                let set = if pattern {
                    &mut self.patterns
                } else {
                    &mut self.channels
                };
                set.remove(&name);
                push(kind, Reply::Bulk(name), Reply::Int(self.count()))
            })
            .collect();
        if !self.active() {
            self.watch = None;
        }
        Reply::Many(replies)
    }

    /// The messages `event` makes for this connection's subscriptions.
    pub(super) fn messages(&self, event: &WatchEvent) -> Vec<Reply> {
        let name = match event.kind {
            EventKind::Set => "set",
            EventKind::Delete => "del",
            EventKind::Expire => "expired",
            EventKind::Evict => "evicted",
        };
        // Channel names and payloads are bytes: a key that is not UTF-8 is carried as is.
        let notes = [
            (
                Bytes::from([KEYSPACE.as_bytes(), &event.key].concat()),
                Bytes::from_static(name.as_bytes()),
            ),
            (Bytes::from(format!("{KEYEVENT}{name}")), Bytes::from(event.key.clone())),
        ];
        let mut out = Vec::new();
        for (channel, payload) in notes {
            if self.channels.contains(&channel) {
                out.push(push3("message", &channel, &payload));
            }
            for p in self.patterns.iter().filter(|p| glob::matches(p, &channel)) {
                out.push(Reply::Push(vec![
                    Reply::text("pmessage"),
                    Reply::Bulk(p.clone()),
                    Reply::Bulk(channel.clone()),
                    Reply::Bulk(payload.clone()),
                ]));
            }
        }
        out
    }
}

fn push(kind: &str, name: Reply, count: Reply) -> Reply {
    Reply::Push(vec![Reply::text(kind), name, count])
}

fn push3(kind: &str, channel: &Bytes, payload: &Bytes) -> Reply {
    Reply::Push(vec![
        Reply::text(kind),
        Reply::Bulk(channel.clone()),
        Reply::Bulk(payload.clone()),
    ])
}

/// Commands a subscribed RESP2 connection may run, as in Redis.
pub(super) fn allowed_while_subscribed(name: &str) -> bool {
    matches!(
        name,
        "subscribe" | "psubscribe" | "unsubscribe" | "punsubscribe" | "ping" | "quit" | "reset"
    )
}

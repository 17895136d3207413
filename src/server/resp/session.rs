//! One RESP connection's state: [`Session`] (protocol, role, read consistency, SCAN
//! cursors, an open MULTI, watched keys, subscriptions).

use std::collections::VecDeque;

use super::codec::{self, Limits};
use super::pubsub::Subscriptions;
use super::transaction::Multi;
use crate::cache::Key;
use crate::config::security::Role;
use crate::node::Node;
use crate::types::Consistency;

/// Cursors a connection keeps for `SCAN` (older ones restart from the beginning).
pub(super) const CURSORS: usize = 16;

/// One connection's state.
pub(super) struct Session {
    /// RESP 2 or 3 (`HELLO`).
    pub(super) protocol: u8,
    /// What the connection may do; `None` until `AUTH` when tokens are configured.
    pub(super) role: Option<Role>,
    pub(super) id: u64,
    pub(super) peer: String,
    pub(super) name: Option<String>,
    /// Linearizable by default; `READONLY` switches to local reads.
    pub(super) consistency: Consistency,
    /// Set by `QUIT`: answer, then close.
    pub(super) closing: bool,
    /// `SCAN` cursors handed out: id -> the last key returned.
    pub(super) cursors: VecDeque<(u64, Key)>,
    pub(super) next_cursor: u64,
    /// The open `MULTI`, if any.
    pub(super) multi: Option<Multi>,
    /// `WATCH`ed keys and their versions (`0`: absent) until EXEC, DISCARD or UNWATCH.
    pub(super) watched: Vec<(Key, u64)>,
    /// Keyspace-notification subscriptions.
    pub(super) subs: Subscriptions,
    /// When tokens are required: the connection is closed unless it authenticates by then.
    auth_by: std::time::Instant,
}

impl Session {
    pub(super) fn new(node: &Node, id: u64, peer: String) -> Session {
        let open = node.config().security.auth_tokens.is_empty();
        let auth_by = std::time::Instant::now() + node.config().conn_limits.header_read_timeout;
        Session {
            auth_by,
            protocol: 2,
            role: open.then_some(Role::ReadWrite),
            id,
            peer,
            name: None,
            consistency: Consistency::Linearizable,
            closing: false,
            cursors: VecDeque::new(),
            next_cursor: 1,
            multi: None,
            watched: Vec::new(),
            subs: Subscriptions::default(),
        }
    }

    /// The session `RESET` leaves: a new one, unauthenticated if tokens are required. A
    /// connection that never authenticated keeps its deadline, so `RESET` cannot hold a
    /// connection slot open without a token.
    pub(super) fn reset(&mut self, node: &Node) -> Session {
        let mut fresh = Session::new(node, self.id, std::mem::take(&mut self.peer));
        if self.role.is_none() {
            fresh.auth_by = self.auth_by;
        }
        fresh
    }

    /// Whether the next requests of a pipeline may go as one entry: authenticated for
    /// writes, not inside `MULTI`, and not in RESP2's subscribed mode, which refuses writes
    /// one by one (see [`transaction::pipeline_run`]).
    pub(super) fn batches_writes(&self) -> bool {
        self.role.is_some_and(Role::may_write) && self.multi.is_none() && !self.subscribed_resp2()
    }

    /// Whether consecutive `GET`s of a pipeline may be answered from one read
    /// ([`super::pipeline::read_run`]): authenticated, not inside `MULTI`, and not in RESP2's
    /// subscribed mode (which refuses them).
    pub(super) fn batches_reads(&self) -> bool {
        self.role.is_some() && self.multi.is_none() && !self.subscribed_resp2()
    }

    /// RESP2's subscribed mode: only (P|S)(UN)SUBSCRIBE, PING, QUIT and RESET are allowed.
    fn subscribed_resp2(&self) -> bool {
        self.subs.active() && self.protocol < 3
    }

    /// When the connection is closed unless it has authenticated by then: `None` once it
    /// has, or when no token is required.
    pub(super) fn auth_deadline(&self) -> Option<std::time::Instant> {
        self.role.is_none().then_some(self.auth_by)
    }

    /// Request bounds: Redis's tight ones before authentication, the node's after.
    pub(super) fn limits(&self, node: &Node) -> Limits {
        if self.role.is_none() {
            return codec::UNAUTHENTICATED;
        }
        let l = &node.config().limits;
        Limits {
            max_args: 1024 * 1024,
            max_bulk: l.max_value_bytes.max(l.max_key_bytes),
            max_inline: 64 * 1024,
            max_request: l.max_request_bytes(),
            unauthenticated: false,
        }
    }
}

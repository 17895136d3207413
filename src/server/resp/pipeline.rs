//! Runs of a pipeline answered together on the read side: consecutive `GET`s share one
//! linearization. (Runs of writes, which go to the leader as one entry, are planned with the
//! transaction they are, in `transaction.rs`.)

use bytes::Bytes;

use super::args::{failed, key, view_value};
use super::codec::Reply;
use super::session::Session;
use crate::node::Node;

/// The most `GET`s answered from one read.
const MAX_READ_RUN: usize = 64;

/// The keys of the `GET`s at the head of a pipeline (`requests`, each name first), when two
/// or more come in a row: they are answered from one read ([`answer_reads`]) instead of one
/// linearization each. Every one of them arrived before that read begins, so each still sees
/// every write acknowledged before it was sent; a write between them ends the run, so the
/// pipeline's own writes are seen in order.
/// At most [`MAX_READ_RUN`] of them: their values are copied out together.
pub(super) fn read_run<'a>(node: &Node, requests: &'a [Vec<Bytes>]) -> Vec<&'a [u8]> {
    let keys: Vec<&[u8]> = requests
        .iter()
        .take(MAX_READ_RUN)
        .map_while(|args| match &args[..] {
            [name, k] if name.eq_ignore_ascii_case(b"get") => key(node, k).ok(),
            _ => None,
        })
        .collect();
    if keys.len() < 2 {
        return Vec::new();
    }
    keys
}

/// Value bytes one read copies out for a run: past it the rest of the run waits for the
/// next read, so a client that does not read its answers holds about this much, not 64
/// values of up to `max-value-bytes` each.
const READ_RUN_BYTES: usize = 256 * 1024;

/// Answers the head of a [`read_run`]'s `GET`s from one read at the session's consistency,
/// in order: all of them, or those whose values come to [`READ_RUN_BYTES`] (at least one).
pub(super) async fn answer_reads(s: &Session, node: &Node, keys: &[&[u8]]) -> Vec<Reply> {
    let started = std::time::Instant::now();
    let replies: Vec<Reply> = match node.get_many_within(keys, READ_RUN_BYTES, s.consistency).await {
        Ok(found) => found.into_iter().map(view_value).collect(),
        Err(e) => vec![failed(e); keys.len()],
    };
    for reply in &replies {
        node.metrics()
            .resp_command("get", started.elapsed(), matches!(reply, Reply::Error(_)));
    }
    replies
}

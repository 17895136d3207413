//! What every RESP command shares: its arguments read as keys, values and integers in
//! Redis's words, node failures and refusals turned into Redis errors, and the
//! compare-and-set loop of read-modify-write commands.

use bytes::Bytes;

use super::codec::{redis_integer, Reply};
use crate::cache::{show_key, KeyView, Refusal, Value, Write};
use crate::node::{Node, NodeError};
use crate::types::Consistency;

/// `ttl_ms` if the expiry it gives fits in a signed 64-bit count of ms since the epoch, as
/// Redis requires, or Redis's error for `command`. Only absurd times come near the bound,
/// so it is judged by this machine's clock; every expiry and `PTTL`/`EXPIRETIME` answer
/// then stays in range.
pub(super) fn ttl_in_range(ttl_ms: u64, command: &str) -> Result<u64, Reply> {
    if ttl_ms > (i64::MAX as u64).saturating_sub(crate::node::wall_clock_ms()) {
        return Err(Reply::err(format!("invalid expire time in '{command}' command")));
    }
    Ok(ttl_ms)
}

/// Whether `n` seconds of `EXPIRE`/`EXPIREAT` do not fit in a signed 64-bit count of
/// milliseconds, which Redis refuses before anything else, the key untouched.
pub(super) fn seconds_out_of_range(name: &str, n: i64) -> bool {
    matches!(name, "expire" | "expireat") && !(i64::MIN / 1000..=i64::MAX / 1000).contains(&n)
}

/// How often a conditional read-modify-write is retried after a concurrent change at
/// least; past that it goes on until the request timeout (see [`Retries`]).
const CAS_ATTEMPTS: usize = 16;

/// The retry budget of one compare-and-set command: [`CAS_ATTEMPTS`] attempts, and more
/// until `request-timeout` has passed, so a hot key delays the command instead of failing
/// it at once; then `-TRYAGAIN`.
pub(super) struct Retries {
    attempts: usize,
    deadline: std::time::Instant,
}

impl Retries {
    pub(super) fn new(node: &Node) -> Retries {
        Retries {
            attempts: 0,
            deadline: std::time::Instant::now() + node.config().limits.request_timeout,
        }
    }

    /// Whether one more attempt may run.
    pub(super) fn next(&mut self) -> bool {
        self.attempts += 1;
        self.attempts <= CAS_ATTEMPTS || std::time::Instant::now() < self.deadline
    }
}

pub(super) type Answer = Result<Reply, Reply>;

pub(super) fn syntax() -> Reply {
    Reply::err("syntax error")
}

pub(super) fn not_integer() -> Reply {
    Reply::err("value is not an integer or out of range")
}

/// A node failure in Redis's terms: no leader is `-TRYAGAIN` (retry shortly).
pub(super) fn failed(e: NodeError) -> Reply {
    match e {
        NodeError::NoLeader(why) => Reply::Error(format!("TRYAGAIN no leader: {why}")),
        other => Reply::err(other),
    }
}

/// A key argument: any bytes, 1 to `max-key-bytes` of them.
pub(super) fn key<'a>(node: &Node, b: &'a Bytes) -> Result<&'a [u8], Reply> {
    let k = &b[..];
    let max = node.config().limits.max_key_bytes;
    if k.is_empty() || k.len() > max {
        return Err(Reply::err(format!(
            "key is {} bytes; keys must be 1 to {max} bytes (max-key-bytes)",
            k.len()
        )));
    }
    Ok(k)
}

pub(super) fn value<'a>(node: &Node, b: &'a Bytes) -> Result<&'a [u8], Reply> {
    let v = &b[..];
    let max = node.config().limits.max_value_bytes;
    if v.len() > max {
        return Err(Reply::err(format!(
            "value is {} bytes; the limit is {max} (max-value-bytes)",
            v.len()
        )));
    }
    Ok(v)
}

pub(super) fn int(b: &Bytes) -> Result<i64, Reply> {
    std::str::from_utf8(b)
        .ok()
        .filter(|s| redis_integer(s))
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(not_integer)
}

pub(super) fn upper(b: &Bytes) -> String {
    String::from_utf8_lossy(b).to_uppercase()
}

pub(super) fn set_write(key: &[u8], value: impl Into<Value>, ttl_ms: Option<u64>, if_version: Option<u64>) -> Write {
    Write::Set {
        key: key.into(),
        value: value.into(),
        ttl_ms,
        if_version,
    }
}

/// Whether `name a...` (the arguments after the name) gives an absolute time: `EXPIREAT`,
/// `PEXPIREAT`, or `SET`'s or `GETEX`'s `EXAT`/`PXAT` option.
fn gives_absolute_time(name: &str, a: &[Bytes]) -> bool {
    let options = match name {
        "expireat" | "pexpireat" => return true,
        "set" => a.get(2..),
        "getex" => a.get(1..),
        _ => None,
    };
    options.is_some_and(|o| o.iter().any(|x| matches!(upper(x).as_str(), "EXAT" | "PXAT")))
}

/// The cluster clock that the absolute time `name a...` gives becomes a TTL against
/// ([`Node::fresh_clock_ms`]: on a member other than the leader, one read-index round), or
/// `None` when it gives none.
pub(super) async fn clock_for(node: &Node, name: &str, a: &[Bytes]) -> Result<Option<u64>, Reply> {
    if !gives_absolute_time(name, a) {
        return Ok(None);
    }
    node.fresh_clock_ms().await.map(Some).map_err(failed)
}

/// An absolute time met without the cluster clock ([`clock_for`] decides when one is read):
/// a command planned without it (in a pipeline run) goes on its own instead.
pub(super) fn no_clock() -> Reply {
    Reply::err("an absolute time needs the cluster clock")
}

/// Runs one write; `Err` is the answer for a node failure.
pub(super) async fn write(node: &Node, w: Write) -> Result<Result<crate::cache::Done, Refusal>, Reply> {
    node.write(w).await.map_err(failed)
}

/// A refused write in Redis's words.
pub(super) fn refused(r: Refusal) -> Reply {
    match r {
        Refusal::NotAnInteger { .. } => not_integer(),
        Refusal::Overflow { .. } => Reply::err("increment or decrement would overflow"),
        Refusal::TooLarge { key, bytes, max_bytes } => Reply::Error(format!(
            "OOM key {key:?} needs {bytes} bytes, more than the whole memory bound of {max_bytes} (max-memory)"
        )),
        Refusal::ConditionFailed { key, .. } => Reply::err(format!("key {key:?} changed; try again")),
        Refusal::NotFound { .. } => Reply::Nil,
        Refusal::NoExpiry { .. } => Reply::Int(0),
    }
}

/// Reads `key` at the connection's read `consistency`.
pub(super) async fn read(consistency: Consistency, node: &Node, key: &[u8]) -> Result<Option<KeyView>, Reply> {
    node.get(key, consistency).await.map_err(failed)
}

pub(super) fn view_value(v: Option<KeyView>) -> Reply {
    v.map_or(Reply::Nil, |v| Reply::Bulk(Bytes::from(v.value)))
}

/// What a conditional read-modify-write does with the key it read.
pub(super) enum Change {
    /// Nothing: the answer needs no write.
    Keep,
    /// Store `value`, expiring `ttl_ms` after the write (`None`: never).
    Set {
        value: Value,
        ttl_ms: Option<u64>,
    },
    Delete,
}

/// Reads `key` linearizably, lets `decide` choose the change and the answer from what it
/// read, and applies the change on condition that the key is still at the version read;
/// after a concurrent change it reads and decides again (within [`Retries`], then
/// `-TRYAGAIN`). Atomic, and the same on every replica. Costs one linearizable read and at
/// most one write per attempt.
pub(super) async fn compare_and_write<T>(
    node: &Node,
    key: &[u8],
    mut decide: impl FnMut(Option<&KeyView>) -> Result<(Change, T), Reply>,
) -> Result<T, Reply> {
    let mut retries = Retries::new(node);
    while retries.next() {
        let old = node.get(key, Consistency::Linearizable).await.map_err(failed)?;
        let (change, answer) = decide(old.as_ref())?;
        let version = old.as_ref().map_or(0, |o| o.version);
        let w = match change {
            Change::Keep => return Ok(answer),
            // A key read with little time left keeps at least a millisecond of it.
            Change::Set { value, ttl_ms } => set_write(key, value, ttl_ms.map(|t| t.max(1)), Some(version)),
            Change::Delete if old.is_none() => return Ok(answer),
            Change::Delete => Write::Delete {
                key: key.into(),
                if_version: Some(version),
            },
        };
        match write(node, w).await? {
            Ok(_) => return Ok(answer),
            Err(Refusal::ConditionFailed { .. }) => continue,
            Err(r) => return Err(refused(r)),
        }
    }
    Err(Reply::Error(format!(
        "TRYAGAIN key {:?} kept changing; try again",
        show_key(key)
    )))
}

/// [`compare_and_write`] of a new value computed from the old one by `next` (`None`
/// deletes the key), refused past `max_value` bytes; keeps the expiry. Returns the old view
/// and the new value.
pub(super) async fn read_modify_write(
    node: &Node,
    key: &[u8],
    next: impl Fn(Option<&KeyView>) -> Result<Option<Value>, Reply>,
    max_value: Option<usize>,
) -> Result<(Option<KeyView>, Option<Value>), Reply> {
    compare_and_write(node, key, |old| {
        let new = next(old)?;
        if let (Some(max), Some(v)) = (max_value, &new) {
            if v.len() > max {
                return Err(too_big(max));
            }
        }
        let change = match &new {
            Some(v) => Change::Set {
                value: v.clone(),
                ttl_ms: old.and_then(|o| o.ttl_ms),
            },
            None => Change::Delete,
        };
        Ok((change, (old.cloned(), new)))
    })
    .await
}
/// Redis's text for a value past the bound, with ours named.
pub(super) fn too_big(max: usize) -> Reply {
    Reply::err(format!(
        "string exceeds maximum allowed size ({max} bytes, max-value-bytes)"
    ))
}

//! Redis transactions over the node API. `WATCH` reads each key's version linearizably;
//! `MULTI` queues writes, each already turned into the node's [`Write`]s; `EXEC` proposes
//! them as one log entry conditioned on the watched versions ([`Node::transaction`]). If a
//! watched key moved, nothing applies and EXEC answers a null array; otherwise every queued
//! command applies at one version, in order, each with its own answer (a refused one, e.g.
//! `INCR` of text, is an error element and the others still apply), as in Redis.
//!
//! Differences from Redis, on purpose: only writes queue (read before `MULTI`, under
//! `WATCH`); `SET ... XX|GET`, `GETSET`, `GETDEL`, `APPEND` and `MSETNX` are refused while
//! queueing, as are syntax errors, so a transaction either runs whole or not at all.

use bytes::Bytes;

use super::args::{clock_for, failed, int, key, no_clock, refused, seconds_out_of_range, ttl_in_range, value};
use super::codec::Reply;
use super::strings::set_options;
use super::table::{spec, Access};
use crate::cache::{Done, Key, Op, Refusal, Write};
use crate::node::Node;
use crate::types::Consistency;

/// The most writes one transaction may queue: the HTTP batch's bound, one log entry.
pub(super) const MAX_WRITES: usize = 1000;

/// The most keys one connection may watch at once.
pub(super) const MAX_WATCHED: usize = 10_000;

/// How a queued command's outcomes become its element of EXEC's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `+OK` (SET, SETEX, PSETEX, MSET).
    Ok,
    /// `+OK`, or nil when its condition failed (SET NX).
    OkOrNil,
    /// 1, or 0 when its condition failed (SETNX).
    Flag,
    /// How many of the keys existed (DEL, UNLINK, EXPIRE with a time in the past).
    Existed,
    /// 1, or 0 when the key is missing or has no expiry (EXPIRE family, PERSIST).
    Changed,
    /// The new value (INCR family).
    Number,
}

/// One queued command.
#[derive(Debug)]
pub(super) struct Queued {
    writes: Vec<Write>,
    shape: Shape,
}

/// An open `MULTI`.
#[derive(Debug, Default)]
pub(super) struct Multi {
    queued: Vec<Queued>,
    /// The queued commands that give an absolute time (`EXPIREAT`, `SET ... PXAT`), by
    /// their place in `queued`: planned again with the cluster clock at `EXEC`, when Redis
    /// reads its clock too.
    absolute: Vec<(usize, String, Vec<Bytes>)>,
    /// A bound on the transaction's size on the peer wire (see
    /// [`crate::cache::Op::wire_bytes_bound`]): its framing, the watched keys and the
    /// queued writes.
    bytes: usize,
    /// A command was refused while queueing: EXEC answers EXECABORT.
    failed: bool,
}

impl Multi {
    /// A transaction opened with `watched` keys.
    pub(super) fn new(watched: &[(Key, u64)]) -> Multi {
        Multi {
            bytes: Op::framing_bytes_bound(watched),
            ..Multi::default()
        }
    }

    /// Queues `name a...` or answers why it cannot be queued (which aborts the transaction).
    /// A command with an absolute time is checked against the clock now, and planned again
    /// at `EXEC`.
    pub(super) async fn queue(&mut self, node: &Node, name: &str, a: &[Bytes]) -> Reply {
        let now = match clock_for(node, name, a).await {
            Ok(now) => now,
            Err(e) => return self.fail(e),
        };
        let bound = node.config().limits.max_operation_bytes();
        match plan(node, now, name, a) {
            Ok(q) if self.writes() + q.writes.len() > MAX_WRITES => self.fail(Reply::err(format!(
                "a dcache transaction holds at most {MAX_WRITES} writes (one log entry)"
            ))),
            Ok(q) if self.bytes + wire_bytes(&q) > bound => self.fail(Reply::err(format!(
                "a dcache transaction carries at most {bound} bytes (one log entry, set by max-key-bytes \
                 and max-value-bytes); this command would take it to {}",
                self.bytes + wire_bytes(&q)
            ))),
            Ok(q) => {
                self.bytes += wire_bytes(&q);
                if now.is_some() {
                    self.absolute.push((self.queued.len(), name.to_string(), a.to_vec()));
                }
                self.queued.push(q);
                Reply::Simple("QUEUED")
            }
            Err(e) => self.fail(e),
        }
    }

    fn writes(&self) -> usize {
        self.queued.iter().map(|q| q.writes.len()).sum()
    }

    /// Marks the transaction aborted and returns `e`.
    pub(super) fn fail(&mut self, e: Reply) -> Reply {
        self.failed = true;
        e
    }

    /// Plans the commands with an absolute time again, with the cluster clock read now.
    async fn replan_absolute(&mut self, node: &Node) -> Result<(), Reply> {
        let Some((_, name, a)) = self.absolute.first() else {
            return Ok(());
        };
        let now = clock_for(node, name, a).await?;
        for (at, name, a) in std::mem::take(&mut self.absolute) {
            self.queued[at] = plan(node, now, &name, &a)?;
        }
        Ok(())
    }
}

/// A queued command's writes' bound on the peer wire.
fn wire_bytes(q: &Queued) -> usize {
    q.writes.iter().map(Write::wire_bytes_bound).sum()
}

/// Key and value bytes one pipeline run may carry in its entry.
const MAX_RUN_BYTES: usize = 1024 * 1024;

/// The plain writes at the head of a pipeline (`requests`, each name first), planned: they
/// can go to the leader as one entry that applies them in order, each with its own answer
/// (a transaction without WATCH), instead of one round trip each. Empty when fewer than two
/// qualify, or while the cluster runs below format 3.
pub(super) fn pipeline_run(node: &Node, requests: &[Vec<Bytes>]) -> Vec<(String, Queued)> {
    let mut run = Vec::new();
    if node.cluster_format() < 3 {
        return run;
    }
    let (mut writes, mut bytes, mut wire) = (0, 0, Op::framing_bytes_bound(&[]));
    let bound = node.config().limits.max_operation_bytes();
    for args in requests {
        let name = String::from_utf8_lossy(&args[0]).to_lowercase();
        let n = args.len() as i32;
        match spec(&name) {
            Some((arity, Access::Write)) if (arity > 0 && n == arity) || (arity < 0 && n >= -arity) => {}
            _ => break,
        }
        // Without the cluster clock: a command with an absolute time ends the run and
        // goes on its own, which reads the clock fresh.
        let Ok(q) = plan(node, None, &name, &args[1..]) else {
            break;
        };
        writes += q.writes.len();
        bytes += q.writes.iter().map(Write::approx_bytes).sum::<usize>();
        wire += wire_bytes(&q);
        if writes > MAX_WRITES || bytes > MAX_RUN_BYTES || wire > bound {
            break;
        }
        run.push((name, q));
    }
    if run.len() < 2 {
        run.clear();
    }
    run
}

/// Applies a [`pipeline_run`] as one entry and returns each command's answer, in order.
pub(super) async fn apply_run(node: &Node, run: Vec<Queued>) -> Vec<Reply> {
    let shapes: Vec<(usize, Shape)> = run.iter().map(|q| (q.writes.len(), q.shape)).collect();
    let writes: Vec<Write> = run.into_iter().flat_map(|q| q.writes).collect();
    match node.transaction(Vec::new(), writes).await {
        Ok(Ok(applied)) => answers(&shapes, applied.outcomes),
        // Nothing is watched, so nothing can refuse the whole entry; answer alike anyway.
        Ok(Err(r)) => vec![refused(r); shapes.len()],
        Err(e) => vec![failed(e); shapes.len()],
    }
}

/// `WATCH key...`: each key's version now (`0`: absent), read linearizably whatever the
/// connection's read consistency, so EXEC judges against what was really current.
pub(super) async fn watch(node: &Node, a: &[Bytes]) -> Result<Vec<(Key, u64)>, Reply> {
    let keys = a.iter().map(|k| key(node, k)).collect::<Result<Vec<_>, _>>()?;
    let versions = node.versions(&keys, Consistency::Linearizable).await.map_err(failed)?;
    Ok(keys.iter().zip(versions).map(|(k, v)| (Key::from(*k), v)).collect())
}

/// `EXEC`: proposes the queued writes on condition of `watched`.
pub(super) async fn exec(node: &Node, mut multi: Multi, watched: Vec<(Key, u64)>) -> Reply {
    if multi.failed {
        return Reply::Error("EXECABORT Transaction discarded because of previous errors.".into());
    }
    if let Err(e) = multi.replan_absolute(node).await {
        return e;
    }
    let counts: Vec<(usize, Shape)> = multi.queued.iter().map(|q| (q.writes.len(), q.shape)).collect();
    let writes: Vec<Write> = multi.queued.into_iter().flat_map(|q| q.writes).collect();
    match node.transaction(watched, writes).await {
        Err(e) => failed(e),
        Ok(Err(Refusal::ConditionFailed { .. })) => Reply::NilArray,
        Ok(Err(other)) => refused(other),
        Ok(Ok(applied)) => Reply::Array(answers(&counts, applied.outcomes)),
    }
}

/// Each queued command's answer, in order: `shapes` says how many of the entry's
/// `outcomes` (one per write) belong to each command and how they answer.
fn answers(shapes: &[(usize, Shape)], outcomes: Vec<Result<Done, Refusal>>) -> Vec<Reply> {
    let mut outcomes = outcomes.into_iter();
    shapes
        .iter()
        .map(|&(n, shape)| answer(shape, outcomes.by_ref().take(n).collect()))
        .collect()
}

/// One queued command's answer from its writes' outcomes.
fn answer(shape: Shape, outcomes: Vec<Result<Done, Refusal>>) -> Reply {
    let flag = |ok: bool| Reply::Int(i64::from(ok));
    match shape {
        Shape::Existed => {
            let mut existed = 0;
            for o in outcomes {
                match o {
                    Ok(d) => existed += i64::from(d.existed),
                    Err(r) => return refused(r),
                }
            }
            Reply::Int(existed)
        }
        Shape::Number => match outcomes.into_iter().next() {
            Some(Ok(d)) => Reply::Int(d.number.unwrap_or_default()),
            Some(Err(r)) => refused(r),
            None => Reply::Int(0),
        },
        Shape::Ok | Shape::OkOrNil | Shape::Flag | Shape::Changed => match outcomes.into_iter().find_map(Result::err) {
            None if matches!(shape, Shape::Ok | Shape::OkOrNil) => Reply::Simple("OK"),
            None => flag(true),
            Some(Refusal::ConditionFailed { .. }) if shape == Shape::OkOrNil => Reply::Nil,
            Some(Refusal::ConditionFailed { .. }) if shape == Shape::Flag => flag(false),
            Some(Refusal::NotFound { .. } | Refusal::NoExpiry { .. }) if shape == Shape::Changed => flag(false),
            Some(r) => refused(r),
        },
    }
}

/// What `name a...` queues, or why it cannot be queued. `now` is the cluster clock an
/// absolute time is taken against ([`clock_for`]); without it, one is refused.
fn plan(node: &Node, now: Option<u64>, name: &str, a: &[Bytes]) -> Result<Queued, Reply> {
    let one = |w: Write, shape: Shape| Queued { writes: vec![w], shape };
    let set = |k: &[u8], v: &[u8], ttl_ms: Option<u64>, if_version: Option<u64>| Write::Set {
        key: k.into(),
        value: v.into(),
        ttl_ms,
        if_version,
    };
    Ok(match name {
        "set" => {
            let (k, v) = (key(node, &a[0])?, value(node, &a[1])?);
            let opts = set_options(now, &a[2..])?;
            match (opts.condition, opts.get, opts.keep_ttl) {
                (None, false, false) => one(set(k, v, opts.ttl_ms, None), Shape::Ok),
                (Some("NX"), false, false) => one(set(k, v, opts.ttl_ms, Some(0)), Shape::OkOrNil),
                _ => return Err(not_queueable("SET with XX, GET or KEEPTTL")),
            }
        }
        "setnx" => one(set(key(node, &a[0])?, value(node, &a[1])?, None, Some(0)), Shape::Flag),
        "setex" | "psetex" => {
            let bad = || Reply::err(format!("invalid expire time in '{name}' command"));
            let ttl = int(&a[1])?;
            if ttl <= 0 {
                return Err(bad());
            }
            let unit = if name == "setex" { 1000 } else { 1 };
            let ttl_ms = ttl_in_range((ttl as u64).checked_mul(unit).ok_or_else(bad)?, name)?;
            one(
                set(key(node, &a[0])?, value(node, &a[2])?, Some(ttl_ms), None),
                Shape::Ok,
            )
        }
        "mset" => {
            if a.len() % 2 != 0 {
                return Err(Reply::err("wrong number of arguments for 'mset' command"));
            }
            let writes = a
                .chunks(2)
                .map(|kv| Ok(set(key(node, &kv[0])?, value(node, &kv[1])?, None, None)))
                .collect::<Result<Vec<_>, Reply>>()?;
            Queued {
                writes,
                shape: Shape::Ok,
            }
        }
        "del" | "unlink" => Queued {
            writes: a
                .iter()
                .map(|k| {
                    Ok(Write::Delete {
                        key: key(node, k)?.into(),
                        if_version: None,
                    })
                })
                .collect::<Result<Vec<_>, Reply>>()?,
            shape: Shape::Existed,
        },
        "expire" | "pexpire" | "expireat" | "pexpireat" => {
            if a.len() > 2 {
                return Err(not_queueable("EXPIRE with NX, XX, GT or LT"));
            }
            let k = key(node, &a[0])?.into();
            let n = int(&a[1])?;
            if seconds_out_of_range(name, n) {
                return Err(Reply::err(format!("invalid expire time in '{name}' command")));
            }
            let n = i128::from(n);
            let ttl_ms = match name {
                "expire" => n * 1000,
                "pexpire" => n,
                "expireat" => n * 1000 - i128::from(now.ok_or_else(no_clock)?),
                _ => n - i128::from(now.ok_or_else(no_clock)?),
            };
            if ttl_ms <= 0 {
                one(
                    Write::Delete {
                        key: k,
                        if_version: None,
                    },
                    Shape::Existed,
                )
            } else {
                let ttl_ms = u64::try_from(ttl_ms)
                    .map_err(|_| Reply::err(format!("invalid expire time in '{name}' command")))?;
                let ttl_ms = ttl_in_range(ttl_ms, name)?;
                one(Write::Expire { key: k, ttl_ms }, Shape::Changed)
            }
        }
        "persist" => one(
            Write::Persist {
                key: key(node, &a[0])?.into(),
            },
            Shape::Changed,
        ),
        "incr" | "decr" | "incrby" | "decrby" => {
            let by = a.get(1).map_or(Ok(1), int)?;
            let by = if name.starts_with("decr") {
                by.checked_neg().ok_or_else(|| Reply::err("decrement would overflow"))?
            } else {
                by
            };
            one(
                Write::Incr {
                    key: key(node, &a[0])?.into(),
                    by,
                },
                Shape::Number,
            )
        }
        other => return Err(not_queueable(&format!("'{other}'"))),
    })
}

fn not_queueable(what: &str) -> Reply {
    Reply::err(format!(
        "{what} cannot be queued in a dcache transaction: only plain writes queue; read before MULTI, under WATCH"
    ))
}

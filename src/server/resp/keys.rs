//! Commands about keys rather than values: the `EXPIRE` family and `EXPIRETIME`, `RENAME`,
//! `RENAMENX`, `COPY`, `RANDOMKEY`, `FLUSHDB`/`FLUSHALL`, `KEYS` and `SCAN`. All over the
//! node API: conditional writes and transactions on the versions read, never Raft itself.

use bytes::Bytes;
use rand::Rng;

use super::args::{
    compare_and_write, failed, int, key, read, refused, seconds_out_of_range, set_write, syntax, ttl_in_range, upper,
    write, Answer, Change, Retries,
};
use super::codec::Reply;
use super::glob;
use super::session::{Session, CURSORS};
use crate::cache::{show_key, Key, KeyView, Refusal, Write};
use crate::node::Node;
use crate::types::Consistency;

/// Deletes per batch when flushing: the HTTP batch's bound, one log entry each.
const FLUSH_BATCH: usize = 1000;

/// `EXPIRE|PEXPIRE|EXPIREAT|PEXPIREAT key n [NX|XX|GT|LT]...`: 1 if the expiry was set (or
/// the key deleted by a time already past), 0 if the key is missing or a condition failed.
/// With an option the decision is made against the expiry read, and the write is a `SET` of
/// the same value on condition of the version read; without one, a plain `Write::Expire`.
pub(super) async fn expire(node: &Node, name: &str, a: &[Bytes]) -> Answer {
    let k = key(node, &a[0])?;
    let n = int(&a[1])?;
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &a[2..] {
        match upper(opt).as_str() {
            "NX" => nx = true,
            "XX" => xx = true,
            "GT" => gt = true,
            "LT" => lt = true,
            _ => {
                return Err(Reply::err(format!(
                    "Unsupported option {}",
                    String::from_utf8_lossy(opt)
                )))
            }
        }
    }
    if nx && (xx || gt || lt) {
        return Err(Reply::err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(Reply::err("GT and LT options at the same time are not compatible"));
    }
    if seconds_out_of_range(name, n) {
        return Err(Reply::err(format!("invalid expire time in '{name}' command")));
    }
    let ttl_ms: i128 = match name {
        "expire" => i128::from(n) * 1000,
        "pexpire" => i128::from(n),
        _ => {
            let now = i128::from(node.fresh_clock_ms().await.map_err(failed)?);
            let at = if name == "expireat" {
                i128::from(n) * 1000
            } else {
                i128::from(n)
            };
            at - now
        }
    };
    let bad_time = || Reply::err(format!("invalid expire time in '{name}' command"));
    // `None`: the time is already past, and the key goes.
    let ttl_ms = if ttl_ms <= 0 {
        None
    } else {
        Some(ttl_in_range(u64::try_from(ttl_ms).map_err(|_| bad_time())?, name)?)
    };
    if !(nx || xx || gt || lt) {
        return Ok(Reply::Int(i64::from(expire_unconditionally(node, k, ttl_ms).await?)));
    }
    compare_and_write(node, k, |old| {
        let Some(old) = old else {
            return Ok((Change::Keep, Reply::Int(0)));
        };
        // No expiry counts as infinite, as in Redis.
        let current = old.ttl_ms.map_or(i128::MAX, i128::from);
        let new = ttl_ms.map_or(0, i128::from);
        let holds = (!nx || old.ttl_ms.is_none())
            && (!xx || old.ttl_ms.is_some())
            && (!gt || (old.ttl_ms.is_some() && new > current))
            && (!lt || new < current);
        if !holds {
            return Ok((Change::Keep, Reply::Int(0)));
        }
        let change = match ttl_ms {
            None => Change::Delete,
            Some(t) => Change::Set {
                value: old.value.clone(),
                ttl_ms: Some(t),
            },
        };
        Ok((change, Reply::Int(1)))
    })
    .await
}

/// Sets `key`'s expiry (deletes it when `ttl_ms` is `None`); whether the key existed.
async fn expire_unconditionally(node: &Node, k: &[u8], ttl_ms: Option<u64>) -> Result<bool, Reply> {
    let w = match ttl_ms {
        None => Write::Delete {
            key: k.into(),
            if_version: None,
        },
        Some(ttl_ms) => Write::Expire { key: k.into(), ttl_ms },
    };
    match write(node, w).await? {
        Ok(done) => Ok(ttl_ms.is_some() || done.existed),
        Err(Refusal::NotFound { .. }) => Ok(false),
        Err(r) => Err(refused(r)),
    }
}

/// `EXPIRETIME`/`PEXPIRETIME key`: when the key expires, in Unix seconds (rounded) or
/// milliseconds, from the time it has left and the cluster clock; -1 without an expiry, -2
/// when missing.
pub(super) async fn expiretime(s: &Session, node: &Node, name: &str, a: &[Bytes]) -> Answer {
    let found = read(s.consistency, node, key(node, &a[0])?).await?;
    Ok(Reply::Int(match found {
        None => -2,
        Some(KeyView { ttl_ms: None, .. }) => -1,
        Some(KeyView { ttl_ms: Some(ms), .. }) => {
            let at = node.clock_ms().saturating_add(ms);
            let at = if name == "expiretime" {
                at.saturating_add(500) / 1000
            } else {
                at
            };
            i64::try_from(at).unwrap_or(i64::MAX)
        }
    }))
}

/// Both keys read linearizably at one moment: their versions are what a RENAME or COPY
/// transaction is conditioned on.
async fn read_both(node: &Node, src: &[u8], dst: &[u8]) -> Result<[Option<KeyView>; 2], Reply> {
    let views = node
        .get_many(&[src, dst], Consistency::Linearizable)
        .await
        .map_err(failed)?;
    Ok(<[Option<KeyView>; 2]>::try_from(views).unwrap_or([None, None]))
}

/// `RENAME`/`RENAMENX source destination`: the source's value and expiry move to the
/// destination in one transaction on condition that neither key moved since they were
/// read (read again and retried if one did), so a concurrent write is never lost.
pub(super) async fn rename(node: &Node, name: &str, a: &[Bytes]) -> Answer {
    let (src, dst) = (key(node, &a[0])?, key(node, &a[1])?);
    let nx = name == "renamenx";
    let done = if nx { Reply::Int(1) } else { Reply::Simple("OK") };
    let mut retries = Retries::new(node);
    while retries.next() {
        let [Some(from), to] = read_both(node, src, dst).await? else {
            return Err(Reply::err("no such key"));
        };
        if src == dst {
            return Ok(if nx { Reply::Int(0) } else { done });
        }
        if nx && to.is_some() {
            return Ok(Reply::Int(0));
        }
        let watch = vec![
            (Key::from(src), from.version),
            (Key::from(dst), to.map_or(0, |t| t.version)),
        ];
        let writes = vec![
            set_write(dst, from.value.clone(), from.ttl_ms.map(|t| t.max(1)), None),
            Write::Delete {
                key: src.into(),
                if_version: None,
            },
        ];
        if transact(node, watch, writes).await? {
            return Ok(done);
        }
    }
    Err(Reply::Error(format!(
        "TRYAGAIN key {:?} kept changing; try again",
        show_key(src)
    )))
}

/// `COPY source destination [DB 0] [REPLACE]`: 1 if copied (value and expiry), 0 if the
/// source is missing or the destination exists without `REPLACE`. One database: `DB`
/// other than 0 is refused.
pub(super) async fn copy(node: &Node, a: &[Bytes]) -> Answer {
    let (src, dst) = (key(node, &a[0])?, key(node, &a[1])?);
    let mut replace = false;
    let mut i = 2;
    while i < a.len() {
        match (upper(&a[i]).as_str(), a.get(i + 1)) {
            ("REPLACE", _) => replace = true,
            ("DB", Some(db)) => {
                if int(db)? != 0 {
                    return Err(Reply::err("DB index is out of range"));
                }
                i += 1;
            }
            _ => return Err(syntax()),
        }
        i += 1;
    }
    if src == dst {
        return Err(Reply::err("source and destination objects are the same"));
    }
    let mut retries = Retries::new(node);
    while retries.next() {
        let [from, to] = read_both(node, src, dst).await?;
        let Some(from) = from else {
            return Ok(Reply::Int(0));
        };
        if to.is_some() && !replace {
            return Ok(Reply::Int(0));
        }
        let watch = vec![
            (Key::from(src), from.version),
            (Key::from(dst), to.map_or(0, |t| t.version)),
        ];
        let writes = vec![set_write(dst, from.value.clone(), from.ttl_ms.map(|t| t.max(1)), None)];
        if transact(node, watch, writes).await? {
            return Ok(Reply::Int(1));
        }
    }
    Err(Reply::Error(format!(
        "TRYAGAIN key {:?} kept changing; try again",
        show_key(src)
    )))
}

/// Runs one transaction: `Ok(false)` when a watched key moved (read again and retry),
/// `Ok(true)` when every write applied.
async fn transact(node: &Node, watch: Vec<(Key, u64)>, writes: Vec<Write>) -> Result<bool, Reply> {
    match node.transaction(watch, writes).await.map_err(failed)? {
        Err(Refusal::ConditionFailed { .. }) => Ok(false),
        Err(r) => Err(refused(r)),
        Ok(applied) => {
            for outcome in applied.outcomes {
                outcome.map_err(refused)?;
            }
            Ok(true)
        }
    }
}

/// `RANDOMKEY`: some live key (the first after a random point in key order, or the first
/// key), nil when there is none. Not uniform: keys after a wide gap come up more often.
pub(super) async fn randomkey(s: &Session, node: &Node) -> Answer {
    let point: Vec<u8> = {
        let mut rng = rand::thread_rng();
        let len = rng.gen_range(1..=3);
        (0..len).map(|_| rng.gen_range(b' '..=b'~')).collect()
    };
    for after in [Some(point.as_slice()), None] {
        let (keys, _) = node.scan_keys(b"", after, 1, s.consistency).await.map_err(failed)?;
        if let Some(k) = keys.into_iter().next() {
            return Ok(Reply::Bulk(Bytes::from(k)));
        }
    }
    Ok(Reply::Nil)
}

/// `FLUSHDB`/`FLUSHALL [ASYNC|SYNC]`: deletes every key, a page of up to 1000 at a time, each
/// page one batch. Not atomic: a key written behind the pass during it survives.
pub(super) async fn flush(node: &Node, a: &[Bytes]) -> Answer {
    match a {
        [] => {}
        [mode] if matches!(upper(mode).as_str(), "ASYNC" | "SYNC") => {}
        _ => return Err(syntax()),
    }
    let mut after: Option<Key> = None;
    loop {
        let (keys, more) = node
            .scan_keys(b"", after.as_deref(), FLUSH_BATCH, Consistency::Linearizable)
            .await
            .map_err(failed)?;
        let Some(last) = keys.last() else { break };
        after = Some(last.clone());
        let deletes = keys
            .into_iter()
            .map(|key| Write::Delete { key, if_version: None })
            .collect();
        node.batch(deletes).await.map_err(failed)?.map_err(refused)?;
        if !more {
            break;
        }
    }
    Ok(Reply::Simple("OK"))
}

/// `KEYS pattern`: every live key matching the glob, read at once.
pub(super) async fn keys(s: &Session, node: &Node, pattern: &Bytes) -> Answer {
    let prefix = glob::literal_prefix(pattern);
    let (keys, _) = node
        .scan_keys(&prefix, None, usize::MAX, s.consistency)
        .await
        .map_err(failed)?;
    Ok(Reply::Array(matching(pattern, keys).await?))
}

/// The keys `pattern` matches, as bulk replies. Matching a glob over many keys can take a
/// while: it runs on the blocking pool, never on the workers that serve Raft and clients.
async fn matching(pattern: &Bytes, keys: Vec<Key>) -> Result<Vec<Reply>, Reply> {
    let pattern = pattern.clone();
    tokio::task::spawn_blocking(move || {
        keys.into_iter()
            .filter(|k| glob::matches(&pattern, k))
            .map(|k| Reply::Bulk(Bytes::from(k)))
            .collect()
    })
    .await
    .map_err(|e| Reply::err(format!("matching keys failed: {e}")))
}

/// `SCAN cursor [MATCH p] [COUNT n] [TYPE t]`: one page in key order; the cursor names the
/// last key returned (kept per connection).
pub(super) async fn scan(s: &mut Session, node: &Node, a: &[Bytes]) -> Answer {
    let cursor = std::str::from_utf8(&a[0])
        .ok()
        .and_then(|c| c.parse::<u64>().ok())
        .ok_or_else(|| Reply::err("invalid cursor"))?;
    let (mut pattern, mut count) = (None::<Bytes>, 10usize);
    let mut i = 1;
    while i < a.len() {
        match (upper(&a[i]).as_str(), a.get(i + 1)) {
            ("MATCH", Some(p)) => pattern = Some(p.clone()),
            ("COUNT", Some(c)) => {
                count = usize::try_from(int(c)?).ok().filter(|c| *c > 0).ok_or_else(syntax)?;
            }
            ("TYPE", Some(t)) => {
                if !t.eq_ignore_ascii_case(b"string") {
                    return Ok(Reply::Array(vec![Reply::text("0"), Reply::Array(Vec::new())]));
                }
            }
            _ => return Err(syntax()),
        }
        i += 2;
    }
    let prefix = pattern.as_deref().map(glob::literal_prefix).unwrap_or_default();
    let after = match cursor {
        0 => None,
        c => s.cursors.iter().find(|(id, _)| *id == c).map(|(_, k)| k.clone()),
    };
    let (views, more) = node
        .scan_keys(&prefix, after.as_deref(), count.min(10_000), s.consistency)
        .await
        .map_err(failed)?;
    let next = match (more, views.last()) {
        (true, Some(last)) => {
            let id = s.next_cursor;
            s.next_cursor += 1;
            s.cursors.push_back((id, last.clone()));
            if s.cursors.len() > CURSORS {
                s.cursors.pop_front();
            }
            id
        }
        _ => 0,
    };
    let keys = match &pattern {
        Some(p) => matching(p, views).await?,
        None => views.into_iter().map(|k| Reply::Bulk(Bytes::from(k))).collect(),
    };
    Ok(Reply::Array(vec![Reply::text(next.to_string()), Reply::Array(keys)]))
}

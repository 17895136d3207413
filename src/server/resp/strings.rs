//! String commands that read a value before they write it: `SET` with its options, `GETEX`,
//! `GETRANGE`/`SUBSTR`, `SETRANGE` and `INCRBYFLOAT`. Each is one node read and one write
//! conditioned on the version read ([`compare_and_write`]), so it is atomic and the same on
//! every replica; nothing here touches Raft or the cache directly.

use bytes::Bytes;

use super::args::{
    clock_for, compare_and_write, failed, int, key, no_clock, read, read_modify_write, refused, set_write, syntax,
    too_big, ttl_in_range, upper, value, view_value, write, Answer, Change,
};
use super::codec::Reply;
use super::long_double::LongDouble;
use crate::cache::Refusal;
use crate::node::Node;
use crate::types::Consistency;

/// The options of `SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT n|KEEPTTL]`.
pub(super) struct SetOptions {
    /// `NX` or `XX`.
    pub(super) condition: Option<&'static str>,
    /// Time to live from now (EXAT/PXAT converted with the cluster clock).
    pub(super) ttl_ms: Option<u64>,
    /// `KEEPTTL`: keep the key's current expiry (exclusive with a time).
    pub(super) keep_ttl: bool,
    pub(super) get: bool,
}

/// Parses SET's options (everything after the value), in Redis's words.
/// `now_ms` is the cluster clock that EXAT/PXAT are taken against ([`clock_for`]).
pub(super) fn set_options(now_ms: Option<u64>, a: &[Bytes]) -> Result<SetOptions, Reply> {
    let mut o = SetOptions {
        condition: None,
        ttl_ms: None,
        keep_ttl: false,
        get: false,
    };
    let mut i = 0;
    while i < a.len() {
        let opt = upper(&a[i]);
        match opt.as_str() {
            "NX" | "XX" if o.condition.is_none_or(|c| c == opt) => {
                o.condition = Some(if opt == "NX" { "NX" } else { "XX" })
            }
            "GET" => o.get = true,
            "KEEPTTL" if o.ttl_ms.is_none() => o.keep_ttl = true,
            "EX" | "PX" | "EXAT" | "PXAT" if o.ttl_ms.is_none() && !o.keep_ttl => {
                o.ttl_ms = Some(ttl_option(now_ms, &opt, a.get(i + 1).ok_or_else(syntax)?, "set")?);
                i += 1;
            }
            _ => return Err(syntax()),
        }
        i += 1;
    }
    Ok(o)
}

/// The time to live from now that `EX|PX|EXAT|PXAT n` asks for; `None` when an absolute
/// time is already past. A non-positive `n` is refused in Redis's words. `now` is the
/// cluster clock, needed for EXAT/PXAT only.
fn ttl_from(now: Option<u64>, opt: &str, n: &Bytes, command: &str) -> Result<Option<u64>, Reply> {
    let bad_time = || Reply::err(format!("invalid expire time in '{command}' command"));
    let n = int(n)?;
    if n <= 0 {
        return Err(bad_time());
    }
    let n = n as u64;
    let ttl_ms = match opt {
        "EX" => Some(n.checked_mul(1000).ok_or_else(bad_time)?),
        "PX" => Some(n),
        "EXAT" => n
            .checked_mul(1000)
            .ok_or_else(bad_time)?
            .checked_sub(now.ok_or_else(no_clock)?)
            .filter(|t| *t > 0),
        _ => n.checked_sub(now.ok_or_else(no_clock)?).filter(|t| *t > 0),
    };
    ttl_ms.map(|t| ttl_in_range(t, command)).transpose()
}

/// Like [`ttl_from`], with a time already past as 1 ms (SET's rule: the key is written and
/// expires at once).
fn ttl_option(now: Option<u64>, opt: &str, n: &Bytes, command: &str) -> Result<u64, Reply> {
    Ok(ttl_from(now, opt, n, command)?.unwrap_or(1))
}

/// `SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT n|KEEPTTL]`.
pub(super) async fn set(node: &Node, a: &[Bytes]) -> Answer {
    let (k, v) = (key(node, &a[0])?, value(node, &a[1])?);
    let o = set_options(clock_for(node, "set", a).await?, &a[2..])?;
    match (o.condition, o.get, o.keep_ttl) {
        (None, false, false) => {
            write(node, set_write(k, v, o.ttl_ms, None)).await?.map_err(refused)?;
            Ok(Reply::Simple("OK"))
        }
        (Some("NX"), false, false) => Ok(match write(node, set_write(k, v, o.ttl_ms, Some(0))).await? {
            Ok(_) => Reply::Simple("OK"),
            Err(Refusal::ConditionFailed { .. }) => Reply::Nil,
            Err(r) => return Err(refused(r)),
        }),
        // XX, GET or KEEPTTL: decided against the key read, written on condition of it.
        _ => {
            compare_and_write(node, k, |old| {
                let skip = match o.condition {
                    Some("NX") => old.is_some(),
                    Some(_) => old.is_none(),
                    None => false,
                };
                let answer = match (o.get, skip) {
                    (true, _) => view_value(old.cloned()),
                    (false, true) => Reply::Nil,
                    (false, false) => Reply::Simple("OK"),
                };
                if skip {
                    return Ok((Change::Keep, answer));
                }
                let ttl_ms = if o.keep_ttl {
                    old.and_then(|o| o.ttl_ms)
                } else {
                    o.ttl_ms
                };
                Ok((
                    Change::Set {
                        value: v.into(),
                        ttl_ms,
                    },
                    answer,
                ))
            })
            .await
        }
    }
}

/// `GETEX key [EX|PX|EXAT|PXAT n|PERSIST]`: the value, and the expiry changed as asked. An
/// absolute time already past deletes the key (the value is still returned), as in Redis.
pub(super) async fn getex(node: &Node, a: &[Bytes]) -> Answer {
    let k = key(node, &a[0])?;
    /// What GETEX does to the expiry.
    #[derive(Clone, Copy)]
    enum Expiry {
        Leave,
        Persist,
        In(Option<u64>),
    }
    let expiry = match &a[1..] {
        [] => Expiry::Leave,
        [opt] if upper(opt) == "PERSIST" => Expiry::Persist,
        [opt, n] if matches!(upper(opt).as_str(), "EX" | "PX" | "EXAT" | "PXAT") => {
            Expiry::In(ttl_from(clock_for(node, "getex", a).await?, &upper(opt), n, "getex")?)
        }
        _ => return Err(syntax()),
    };
    compare_and_write(node, k, |old| {
        let Some(old) = old else {
            return Ok((Change::Keep, Reply::Nil));
        };
        let answer = Reply::Bulk(Bytes::from(old.value.clone()));
        let change = match expiry {
            Expiry::Leave => Change::Keep,
            Expiry::Persist if old.ttl_ms.is_none() => Change::Keep,
            Expiry::Persist => Change::Set {
                value: old.value.clone(),
                ttl_ms: None,
            },
            Expiry::In(None) => Change::Delete,
            Expiry::In(ttl_ms) => Change::Set {
                value: old.value.clone(),
                ttl_ms,
            },
        };
        Ok((change, answer))
    })
    .await
}

/// `GETRANGE key start end` (and `SUBSTR`): the bytes from `start` to `end` inclusive,
/// negative offsets counting from the end, clamped as Redis clamps them.
pub(super) async fn getrange(consistency: Consistency, node: &Node, a: &[Bytes]) -> Answer {
    let k = key(node, &a[0])?;
    let (start, end) = (int(&a[1])?, int(&a[2])?);
    let found = read(consistency, node, k).await?;
    let bytes = found.map(|v| Bytes::from(v.value)).unwrap_or_default();
    Ok(Reply::Bulk(match byte_range(bytes.len(), start, end) {
        Some((from, to)) => bytes.slice(from..=to),
        None => Bytes::new(),
    }))
}

/// The inclusive byte range `start..=end` of a string of `len` bytes, Redis's way.
fn byte_range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let len = len as i64;
    let clamp = |i: i64| if i < 0 { (len + i).max(0) } else { i };
    let (start, end) = (clamp(start), clamp(end).min(len - 1));
    (len > 0 && start <= end).then_some((start as usize, end as usize))
}

/// `SETRANGE key offset value`: overwrites from byte `offset`, padding with zero bytes; the
/// new length. Keeps the expiry. The result must stay within max-value-bytes.
pub(super) async fn setrange(node: &Node, a: &[Bytes]) -> Answer {
    let k = key(node, &a[0])?;
    let offset = usize::try_from(int(&a[1])?).map_err(|_| Reply::err("offset is out of range"))?;
    let patch = value(node, &a[2])?;
    if patch.is_empty() {
        let found = read_linearizable(node, k).await?;
        return Ok(Reply::Int(found.map_or(0, |v| v.value.len() as i64)));
    }
    let max = node.config().limits.max_value_bytes;
    if offset.saturating_add(patch.len()) > max {
        return Err(too_big(max));
    }
    let (_, new) = read_modify_write(
        node,
        k,
        |old| {
            let mut bytes = old.map(|o| o.value.clone().into_vec()).unwrap_or_default();
            if bytes.len() < offset + patch.len() {
                bytes.resize(offset + patch.len(), 0);
            }
            bytes[offset..offset + patch.len()].copy_from_slice(patch);
            Ok(Some(bytes.into()))
        },
        Some(max),
    )
    .await?;
    Ok(Reply::Int(new.map_or(0, |v| v.len() as i64)))
}

/// `INCRBYFLOAT key increment`: adds in Redis's 80-bit `long double` and stores (and
/// answers) the sum as Redis writes it, so `1.1 + 2.2` is `3.3`. Keeps the expiry.
pub(super) async fn incrbyfloat(node: &Node, a: &[Bytes]) -> Answer {
    let k = key(node, &a[0])?;
    let not_float = || Reply::err("value is not a valid float");
    let by = LongDouble::parse(&a[1]);
    let (_, new) = read_modify_write(
        node,
        k,
        |old| {
            let current = match old {
                Some(o) => LongDouble::parse(o.value.as_bytes()).ok_or_else(not_float)?,
                None => LongDouble::Finite {
                    negative: false,
                    m: 0,
                    e: 0,
                },
            };
            let sum = current.add(by.as_ref().ok_or_else(not_float)?);
            if sum.is_infinite() {
                return Err(Reply::err("increment would produce NaN or Infinity"));
            }
            Ok(Some(sum.to_redis_string().into()))
        },
        Some(node.config().limits.max_value_bytes),
    )
    .await?;
    Ok(new.map_or(Reply::Nil, |v| Reply::Bulk(v.into())))
}

async fn read_linearizable(node: &Node, k: &[u8]) -> Result<Option<crate::cache::KeyView>, Reply> {
    node.get(k, crate::types::Consistency::Linearizable)
        .await
        .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn ranges_clamp_as_redis_clamps_them() {
        assert_eq!(byte_range(5, 0, -1), Some((0, 4)));
        assert_eq!(byte_range(5, -3, -1), Some((2, 4)));
        assert_eq!(byte_range(5, -1, -3), None);
        assert_eq!(byte_range(5, 3, 100), Some((3, 4)));
        assert_eq!(byte_range(5, -100, 1), Some((0, 1)));
        assert_eq!(byte_range(5, 4, 2), None);
        assert_eq!(byte_range(0, 0, -1), None);
        assert_eq!(byte_range(5, 10, 20), None);
    }
}

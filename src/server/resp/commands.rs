//! The commands of the RESP front end, each over the node API: a connection's [`Session`]
//! and [`execute`], which checks arity and permissions and runs one command.
//!
//! Strings are the only type. Writes are the node's [`Write`]s (forwarded by followers,
//! coalesced under load); read-modify-write commands that have no operation of their own
//! (`GETSET`, `GETDEL`, `APPEND`, and in `strings.rs` `SET ... XX|GET|KEEPTTL`, `SETRANGE`,
//! ...) go through [`compare_and_write`]: read the key's version, write on condition of it,
//! retry on a concurrent change: atomic, and the same on every replica. Key commands
//! (`EXPIRE`, `RENAME`, `COPY`, `SCAN`, `FLUSHDB`...) are in `keys.rs`.

use bytes::Bytes;

use super::args::{
    failed, int, key, read, read_modify_write, refused, set_write, syntax, ttl_in_range, upper, value, view_value,
    write, Answer,
};
use super::codec::Reply;
use super::glob;
use super::pubsub;
use super::session::Session;
use super::table::{spec, Access};
use super::transaction::{self, Multi};
use super::{keys, strings};
use crate::cache::{KeyView, Refusal, Write};
use crate::config::security::Role;
use crate::node::Node;
use crate::types::Consistency;

/// Runs one request (`args[0]` is the command name) and returns its answer.
pub(super) async fn execute(s: &mut Session, node: &Node, args: Vec<Bytes>) -> Reply {
    let name = String::from_utf8_lossy(&args[0]).to_lowercase();
    let queueing =
        s.multi.is_some() && !matches!(name.as_str(), "exec" | "discard" | "multi" | "watch" | "quit" | "reset");
    let Some((arity, access)) = spec(&name) else {
        return abort_if(s, queueing, unknown(&args));
    };
    let n = args.len() as i32;
    if (arity > 0 && n != arity) || (arity < 0 && n < -arity) {
        let e = Reply::err(format!("wrong number of arguments for '{name}' command"));
        return abort_if(s, queueing, e);
    }
    let role = s.role;
    if let (true, Some(multi)) = (queueing, s.multi.as_mut()) {
        return match (role, access) {
            (None, _) => multi.fail(Reply::Error("NOAUTH Authentication required.".into())),
            (Some(Role::ReadOnly), Access::Write) => multi.fail(Reply::Error(format!(
                "NOPERM this user has no permissions to run the '{name}' command"
            ))),
            _ => multi.queue(node, &name, &args[1..]).await,
        };
    }
    if s.subs.active() && s.protocol < 3 && !pubsub::allowed_while_subscribed(&name) {
        return Reply::err(format!(
            "Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        ));
    }
    let open_before_auth = matches!(name.as_str(), "auth" | "hello" | "quit" | "reset");
    match s.role {
        None if !open_before_auth => return Reply::Error("NOAUTH Authentication required.".into()),
        Some(Role::ReadOnly) if access == Access::Write => {
            return Reply::Error(format!(
                "NOPERM this user has no permissions to run the '{name}' command"
            ))
        }
        _ => {}
    }
    let started = std::time::Instant::now();
    let reply = match run(s, node, &name, &args[1..]).await {
        Ok(r) => r,
        Err(r) => r,
    };
    node.metrics()
        .resp_command(&name, started.elapsed(), matches!(reply, Reply::Error(_)));
    reply
}

/// `e`, and while queueing a `MULTI`, marks it aborted (EXEC answers EXECABORT).
fn abort_if(s: &mut Session, queueing: bool, e: Reply) -> Reply {
    match s.multi.as_mut() {
        Some(multi) if queueing => multi.fail(e),
        _ => e,
    }
}

/// `-ERR unknown command`, in Redis's words.
fn unknown(args: &[Bytes]) -> Reply {
    let shown: String = args[1..]
        .iter()
        .take(20)
        .map(|a| format!("'{}' ", String::from_utf8_lossy(a)))
        .collect();
    Reply::err(format!(
        "unknown command '{}', with args beginning with: {shown}",
        String::from_utf8_lossy(&args[0])
    ))
}

async fn run(s: &mut Session, node: &Node, name: &str, a: &[Bytes]) -> Answer {
    match name {
        "ping" if s.subs.active() && s.protocol < 3 => Ok(Reply::Array(vec![
            Reply::text("pong"),
            a.first().cloned().map_or(Reply::text(""), Reply::Bulk),
        ])),
        "subscribe" | "psubscribe" => Ok(s.subs.subscribe(node, a, name == "psubscribe")),
        "unsubscribe" | "punsubscribe" => Ok(s.subs.unsubscribe(a, name == "punsubscribe")),
        "publish" => Err(Reply::err(
            "dcache publishes keyspace notifications only (__keyspace@0__ and __keyevent@0__ channels); PUBLISH is not supported",
        )),
        "ping" => Ok(match a {
            [] => Reply::Simple("PONG"),
            [msg] => Reply::Bulk(msg.clone()),
            _ => return Err(Reply::err("wrong number of arguments for 'ping' command")),
        }),
        "echo" => Ok(Reply::Bulk(a[0].clone())),
        "quit" => {
            s.closing = true;
            Ok(Reply::Simple("OK"))
        }
        "reset" => {
            *s = s.reset(node);
            Ok(Reply::Simple("RESET"))
        }
        "select" => match int(&a[0]) {
            Ok(0) => Ok(Reply::Simple("OK")),
            Ok(_) => Err(Reply::err("DB index is out of range")),
            Err(e) => Err(e),
        },
        "hello" => hello(s, node, a),
        "auth" => auth(s, node, a),
        "client" => client(s, a),
        "command" => command(a),
        "config" => config(node, a),
        "info" => info(node, a).await,
        "time" => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            Ok(Reply::Array(vec![
                Reply::text(now.as_secs().to_string()),
                Reply::text(now.subsec_micros().to_string()),
            ]))
        }
        "multi" => {
            if s.multi.is_some() {
                return Err(Reply::err("MULTI calls can not be nested"));
            }
            s.multi = Some(Multi::new(&s.watched));
            Ok(Reply::Simple("OK"))
        }
        "exec" => {
            let multi = s.multi.take().ok_or_else(|| Reply::err("EXEC without MULTI"))?;
            let watched = std::mem::take(&mut s.watched);
            Ok(transaction::exec(node, multi, watched).await)
        }
        "discard" => {
            s.multi.take().ok_or_else(|| Reply::err("DISCARD without MULTI"))?;
            s.watched.clear();
            Ok(Reply::Simple("OK"))
        }
        "watch" => {
            if s.multi.is_some() {
                return Err(Reply::err("WATCH inside MULTI is not allowed"));
            }
            if s.watched.len() + a.len() > transaction::MAX_WATCHED {
                return Err(Reply::err(format!(
                    "a connection watches at most {} keys",
                    transaction::MAX_WATCHED
                )));
            }
            let versions = transaction::watch(node, a).await?;
            s.watched.extend(versions);
            Ok(Reply::Simple("OK"))
        }
        "unwatch" => {
            s.watched.clear();
            Ok(Reply::Simple("OK"))
        }
        "readonly" => {
            s.consistency = Consistency::Local;
            Ok(Reply::Simple("OK"))
        }
        "readwrite" => {
            s.consistency = Consistency::Linearizable;
            Ok(Reply::Simple("OK"))
        }
        "get" => Ok(view_value(read(s.consistency, node, key(node, &a[0])?).await?)),
        "strlen" => Ok(Reply::Int(
            read(s.consistency, node, key(node, &a[0])?)
                .await?
                .map_or(0, |v| v.value.len() as i64),
        )),
        "type" => Ok(Reply::Simple(match read(s.consistency, node, key(node, &a[0])?).await? {
            Some(_) => "string",
            None => "none",
        })),
        "ttl" | "pttl" => {
            let found = read(s.consistency, node, key(node, &a[0])?).await?;
            Ok(Reply::Int(match found {
                None => -2,
                Some(KeyView { ttl_ms: None, .. }) => -1,
                Some(KeyView { ttl_ms: Some(ms), .. }) if name == "ttl" => ((ms + 500) / 1000) as i64,
                Some(KeyView { ttl_ms: Some(ms), .. }) => i64::try_from(ms).unwrap_or(i64::MAX),
            }))
        }
        "mget" | "exists" => {
            let keys = a.iter().map(|k| key(node, k)).collect::<Result<Vec<_>, _>>()?;
            let views = node.get_many(&keys, s.consistency).await.map_err(failed)?;
            Ok(if name == "mget" {
                Reply::Array(views.into_iter().map(view_value).collect())
            } else {
                Reply::Int(views.iter().filter(|v| v.is_some()).count() as i64)
            })
        }
        "dbsize" => Ok(Reply::Int(node.key_count(s.consistency).await.map_err(failed)? as i64)),
        "keys" => keys::keys(s, node, &a[0]).await,
        "scan" => keys::scan(s, node, a).await,
        "set" => strings::set(node, a).await,
        "getex" => strings::getex(node, a).await,
        "getrange" | "substr" => strings::getrange(s.consistency, node, a).await,
        "setrange" => strings::setrange(node, a).await,
        "incrbyfloat" => strings::incrbyfloat(node, a).await,
        "expiretime" | "pexpiretime" => keys::expiretime(s, node, name, a).await,
        "rename" | "renamenx" => keys::rename(node, name, a).await,
        "copy" => keys::copy(node, a).await,
        "randomkey" => keys::randomkey(s, node).await,
        "flushdb" | "flushall" => keys::flush(node, a).await,
        "setnx" => {
            let w = set_write(key(node, &a[0])?, value(node, &a[1])?, None, Some(0));
            Ok(Reply::Int(i64::from(write(node, w).await?.is_ok())))
        }
        "setex" | "psetex" => {
            let unit = if name == "setex" { 1000 } else { 1 };
            let ttl = int(&a[1])?;
            if ttl <= 0 {
                return Err(Reply::err(format!("invalid expire time in '{name}' command")));
            }
            let ttl_ms = (ttl as u64)
                .checked_mul(unit)
                .ok_or_else(|| Reply::err(format!("invalid expire time in '{name}' command")))?;
            let ttl_ms = ttl_in_range(ttl_ms, name)?;
            let w = set_write(key(node, &a[0])?, value(node, &a[2])?, Some(ttl_ms), None);
            write(node, w).await?.map_err(refused)?;
            Ok(Reply::Simple("OK"))
        }
        // `SET key value GET`: the old value back, and like any plain SET the TTL cleared.
        "getset" => strings::set(node, &[a[0].clone(), a[1].clone(), Bytes::from_static(b"GET")]).await,
        "getdel" => {
            let k = key(node, &a[0])?;
            read_modify_write(node, k, |_| Ok(None), None)
                .await
                .map(|(old, _)| view_value(old))
        }
        "append" => {
            let (k, tail) = (key(node, &a[0])?, value(node, &a[1])?);
            let (_, new) = read_modify_write(
                node,
                k,
                |old| {
                    let mut new = old.map(|o| o.value.clone().into_vec()).unwrap_or_default();
                    new.extend_from_slice(tail);
                    Ok(Some(new.into()))
                },
                Some(node.config().limits.max_value_bytes),
            )
            .await?;
            Ok(Reply::Int(new.map_or(0, |n| n.len() as i64)))
        }
        "mset" | "msetnx" => {
            if a.len() % 2 != 0 {
                return Err(Reply::err(format!("wrong number of arguments for '{name}' command")));
            }
            let cond = (name == "msetnx").then_some(0);
            let writes = a
                .chunks(2)
                .map(|kv| Ok(set_write(key(node, &kv[0])?, value(node, &kv[1])?, None, cond)))
                .collect::<Result<Vec<_>, Reply>>()?;
            let done = node.batch(writes).await.map_err(failed)?;
            Ok(match (name, done) {
                ("msetnx", Ok(_)) => Reply::Int(1),
                (_, Ok(_)) => Reply::Simple("OK"),
                (_, Err(Refusal::ConditionFailed { .. })) => Reply::Int(0),
                (_, Err(r)) => return Err(refused(r)),
            })
        }
        "del" | "unlink" => {
            let writes = a
                .iter()
                .map(|k| {
                    Ok(Write::Delete {
                        key: key(node, k)?.into(),
                        if_version: None,
                    })
                })
                .collect::<Result<Vec<_>, Reply>>()?;
            let batched = node.batch(writes).await.map_err(failed)?.map_err(refused)?;
            Ok(Reply::Int(batched.done.iter().filter(|d| d.existed).count() as i64))
        }
        "expire" | "pexpire" | "expireat" | "pexpireat" => keys::expire(node, name, a).await,
        "persist" => Ok(Reply::Int(
            match write(
                node,
                Write::Persist {
                    key: key(node, &a[0])?.into(),
                },
            )
            .await?
            {
                Ok(_) => 1,
                Err(Refusal::NotFound { .. } | Refusal::NoExpiry { .. }) => 0,
                Err(r) => return Err(refused(r)),
            },
        )),
        "incr" | "decr" | "incrby" | "decrby" => {
            let by = match a.get(1) {
                Some(b) => int(b)?,
                None => 1,
            };
            let by = if name.starts_with("decr") {
                by.checked_neg().ok_or_else(|| Reply::err("decrement would overflow"))?
            } else {
                by
            };
            let done = write(
                node,
                Write::Incr {
                    key: key(node, &a[0])?.into(),
                    by,
                },
            )
            .await?
            .map_err(refused)?;
            Ok(Reply::Int(done.number.unwrap_or_default()))
        }
        _ => Ok(Reply::err(format!("command '{name}' is listed but not served"))),
    }
}

fn hello(s: &mut Session, node: &Node, a: &[Bytes]) -> Answer {
    let mut protocol = s.protocol;
    let mut i = 0;
    if let Some(v) = a.first() {
        protocol = match int(v) {
            Ok(2) => 2,
            Ok(3) => 3,
            _ => return Err(Reply::Error("NOPROTO unsupported protocol version".into())),
        };
        i = 1;
    }
    while i < a.len() {
        match upper(&a[i]).as_str() {
            "AUTH" if i + 2 < a.len() => {
                auth(s, node, &a[i + 1..i + 3])?;
                i += 3;
            }
            "SETNAME" if i + 1 < a.len() => {
                s.name = Some(String::from_utf8_lossy(&a[i + 1]).into_owned());
                i += 2;
            }
            _ => return Err(syntax()),
        }
    }
    if s.role.is_none() {
        return Err(Reply::Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into()));
    }
    s.protocol = protocol;
    let role = if node.status().leads() { "master" } else { "replica" };
    Ok(Reply::Map(vec![
        (Reply::text("server"), Reply::text("redis")),
        (Reply::text("version"), Reply::text("7.0.0")),
        (Reply::text("proto"), Reply::Int(i64::from(protocol))),
        (Reply::text("id"), Reply::Int(s.id as i64)),
        (Reply::text("mode"), Reply::text("standalone")),
        (Reply::text("role"), Reply::text(role)),
        (Reply::text("modules"), Reply::Array(Vec::new())),
    ]))
}

fn auth(s: &mut Session, node: &Node, a: &[Bytes]) -> Answer {
    let security = &node.config().security;
    if security.auth_tokens.is_empty() {
        return Err(Reply::err(
            "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    let token = match a {
        [token] | [_, token] => token,
        _ => return Err(syntax()),
    };
    match security.role_of(token) {
        Some(role) => {
            s.role = Some(role);
            Ok(Reply::Simple("OK"))
        }
        None => Err(Reply::Error(
            "WRONGPASS invalid username-password pair or user is disabled.".into(),
        )),
    }
}

fn client(s: &mut Session, a: &[Bytes]) -> Answer {
    let sub = upper(&a[0]);
    let info = || {
        format!(
            "id={} addr={} name={} db=0 resp={}",
            s.id,
            s.peer,
            s.name.as_deref().unwrap_or(""),
            s.protocol
        )
    };
    match (sub.as_str(), a.len()) {
        ("SETNAME", 2) => {
            s.name = Some(String::from_utf8_lossy(&a[1]).into_owned()).filter(|n| !n.is_empty());
            Ok(Reply::Simple("OK"))
        }
        ("GETNAME", 1) => Ok(s.name.clone().map_or(Reply::Nil, Reply::text)),
        ("ID", 1) => Ok(Reply::Int(s.id as i64)),
        ("INFO", 1) => Ok(Reply::text(info() + "\n")),
        ("LIST", _) => Ok(Reply::text(info() + "\n")),
        ("SETINFO", 3) | ("NO-EVICT", 2) | ("NO-TOUCH", 2) => Ok(Reply::Simple("OK")),
        _ => Err(Reply::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            String::from_utf8_lossy(&a[0])
        ))),
    }
}

/// Enough of `COMMAND` for clients and `redis-cli` to start cleanly.
fn command(a: &[Bytes]) -> Answer {
    match a.first().map(upper).as_deref() {
        None | Some("DOCS") => Ok(Reply::Array(Vec::new())),
        Some("COUNT") => Ok(Reply::Int(COMMANDS.len() as i64)),
        Some("INFO") => Ok(Reply::Array(a[1..].iter().map(|_| Reply::Nil).collect())),
        Some(_) => Err(Reply::err("unknown subcommand. Try COMMAND HELP.")),
    }
}

/// Every command served, for `COMMAND COUNT`.
const COMMANDS: &[&str] = &[
    "subscribe",
    "psubscribe",
    "unsubscribe",
    "punsubscribe",
    "publish",
    "multi",
    "exec",
    "discard",
    "watch",
    "unwatch",
    "ping",
    "echo",
    "quit",
    "reset",
    "select",
    "hello",
    "auth",
    "client",
    "command",
    "config",
    "info",
    "time",
    "readonly",
    "readwrite",
    "get",
    "strlen",
    "type",
    "ttl",
    "pttl",
    "mget",
    "exists",
    "dbsize",
    "keys",
    "scan",
    "set",
    "setnx",
    "setex",
    "psetex",
    "getset",
    "getdel",
    "append",
    "mset",
    "msetnx",
    "del",
    "unlink",
    "expire",
    "pexpire",
    "expireat",
    "pexpireat",
    "persist",
    "incr",
    "decr",
    "incrby",
    "decrby",
    "incrbyfloat",
    "getex",
    "expiretime",
    "pexpiretime",
    "getrange",
    "substr",
    "setrange",
    "rename",
    "renamenx",
    "copy",
    "randomkey",
    "flushdb",
    "flushall",
];

/// `CONFIG GET` for the settings tools ask about; everything else is empty.
fn config(node: &Node, a: &[Bytes]) -> Answer {
    if upper(&a[0]) != "GET" || a.len() < 2 {
        return Err(Reply::err(
            "dcache answers CONFIG GET only; its settings are in its config file",
        ));
    }
    let max_memory = node.config().limits.max_memory.unwrap_or(0).to_string();
    let known = [
        ("maxmemory", max_memory.as_str()),
        ("timeout", "0"),
        ("save", ""),
        ("appendonly", "no"),
        ("databases", "1"),
    ];
    let mut pairs = Vec::new();
    for pattern in &a[1..] {
        for (k, v) in known {
            if glob::matches(&pattern.to_ascii_lowercase(), k.as_bytes()) {
                pairs.push((Reply::text(k), Reply::text(v)));
            }
        }
    }
    Ok(Reply::Map(pairs))
}

async fn info(node: &Node, a: &[Bytes]) -> Answer {
    let st = node.status();
    let want = |section: &str| {
        a.is_empty()
            || a.iter().any(|s| {
                s.eq_ignore_ascii_case(section.as_bytes())
                    || s.eq_ignore_ascii_case(b"all")
                    || s.eq_ignore_ascii_case(b"everything")
            })
    };
    let mut out = String::new();
    if want("server") {
        out += &format!(
            "# Server\r\nredis_version:7.0.0\r\ndcache_version:{}\r\ndcache_build:{}\r\ndcache_format:{}\r\ncluster_format:{}\r\nredis_mode:standalone\r\nrun_id:{}\r\nuptime_in_seconds:{}\r\n\r\n",
            st.version, st.build, st.format, st.cluster_format, st.name, st.uptime_secs
        );
    }
    if want("memory") {
        out += &format!(
            "# Memory\r\nused_memory:{}\r\nmaxmemory:{}\r\n\r\n",
            st.approx_bytes,
            st.max_memory.unwrap_or(0)
        );
    }
    if want("stats") {
        out += &format!(
            "# Stats\r\nevicted_keys:{}\r\nexpired_keys:{}\r\n\r\n",
            st.evictions, st.expirations
        );
    }
    if want("replication") {
        let role = if st.leads() { "master" } else { "slave" };
        out += &format!(
            "# Replication\r\nrole:{role}\r\nraft_role:{}\r\nraft_term:{}\r\nraft_leader:{}\r\nlast_log_index:{}\r\ncommit_index:{}\r\napplied_index:{}\r\n",
            st.role_label(),
            st.term,
            st.leader.as_ref().map_or(String::new(), |l| l.name.clone()),
            st.last_log_index,
            st.committed,
            st.applied
        );
        for (i, r) in st.replication.iter().flatten().enumerate() {
            out += &format!(
                "follower{i}:name={},matched={},lag={}\r\n",
                r.name,
                r.matched.map_or("unknown".into(), |m| m.to_string()),
                r.lag.map_or("unknown".into(), |l| l.to_string())
            );
        }
        out += "\r\n";
    }
    if want("clients") {
        out += &format!(
            "# Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\n\r\n",
            node.metrics().resp_connections(),
            node.config().conn_limits.max_connections
        );
    }
    if want("keyspace") {
        out += &format!("# Keyspace\r\ndb0:keys={},expires=0,avg_ttl=0\r\n", st.key_count);
    }
    Ok(Reply::text(out))
}

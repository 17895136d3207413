//! The command table: each command's arity (Redis's convention) and what it needs
//! (nothing, reading or writing), checked before it runs or is queued.

/// What a command may need: nothing (connection commands), reading, or writing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    None,
    Read,
    Write,
}

/// Arity (Redis's: positive is exact, negative a minimum, the name included) and access.
pub(super) fn spec(name: &str) -> Option<(i32, Access)> {
    use Access::*;
    Some(match name {
        "ping" => (-1, None),
        "echo" => (2, None),
        "quit" => (-1, None),
        "reset" => (1, None),
        "select" => (2, None),
        "hello" => (-1, None),
        "auth" => (-2, None),
        "client" => (-2, None),
        "command" => (-1, None),
        "config" => (-2, None),
        "info" => (-1, Read),
        "time" => (1, None),
        "readonly" | "readwrite" => (1, None),
        "get" | "strlen" | "type" | "ttl" | "pttl" => (2, Read),
        "mget" | "exists" => (-2, Read),
        "dbsize" => (1, Read),
        "keys" => (2, Read),
        "scan" => (-2, Read),
        "set" => (-3, Write),
        "setnx" => (3, Write),
        "setex" | "psetex" => (4, Write),
        "getset" => (3, Write),
        "getdel" => (2, Write),
        "append" => (3, Write),
        "mset" | "msetnx" => (-3, Write),
        "del" | "unlink" => (-2, Write),
        "expire" | "pexpire" | "expireat" | "pexpireat" => (-3, Write),
        "persist" => (2, Write),
        "incr" | "decr" => (2, Write),
        "incrby" | "decrby" => (3, Write),
        "incrbyfloat" => (3, Write),
        "getex" => (-2, Write),
        "expiretime" | "pexpiretime" => (2, Read),
        "getrange" | "substr" => (4, Read),
        "setrange" => (4, Write),
        "rename" | "renamenx" => (3, Write),
        "copy" => (-3, Write),
        "randomkey" => (1, Read),
        "flushdb" | "flushall" => (-1, Write),
        "multi" | "discard" | "unwatch" => (1, None),
        "exec" => (1, None),
        "watch" => (-2, Read),
        "subscribe" | "psubscribe" => (-2, Read),
        "unsubscribe" | "punsubscribe" => (-1, Read),
        "publish" => (3, Write),
        _ => return Option::None,
    })
}

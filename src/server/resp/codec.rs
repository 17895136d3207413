//! RESP framing: requests in (arrays of bulk strings, or inline lines for `nc`/`telnet`),
//! replies out in RESP2 or RESP3.
//!
//! A server only ever decodes one request shape, so the parser is this small function with
//! Redis's limits and error texts, not a general frame decoder: nothing is buffered past the
//! bounds, and a length past them is refused before any allocation.

use bytes::{BufMut, Bytes, BytesMut};

/// Bounds on one request.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Most arguments in one request.
    pub(super) max_args: usize,
    /// Longest bulk argument (a key or a value).
    pub(super) max_bulk: usize,
    /// Longest inline request line (Redis: 64 KiB).
    pub(super) max_inline: usize,
    /// Most bytes of one multibulk request, framing included (`MSET` of many large values,
    /// say). Redis closes a client past its 1 GB query buffer.
    pub(super) max_request: usize,
    /// Before `AUTH`: a length past the bounds is "unauthenticated", in Redis's words.
    pub(super) unauthenticated: bool,
}

/// Unauthenticated connections get Redis's tighter bounds.
pub(super) const UNAUTHENTICATED: Limits = Limits {
    max_args: 10,
    max_bulk: 16 * 1024,
    max_inline: 64 * 1024,
    max_request: 10 * (16 * 1024 + 32) + 32,
    unauthenticated: true,
};

/// A malformed request: answered with `-ERR Protocol error: ...`, then the connection closes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Protocol error: {0}")]
pub(super) struct ProtocolError(pub String);

fn bad(msg: impl Into<String>) -> ProtocolError {
    ProtocolError(msg.into())
}

/// Takes requests off the front of a connection's input. It remembers how far it got into
/// a multibulk request that has not fully arrived, so bytes that trickle in are each looked
/// at once, not the whole request again on every read.
#[derive(Debug, Default)]
pub(super) struct Decoder {
    partial: Option<Partial>,
}

/// A multibulk request read up to `pos`: its argument count and the arguments so far.
#[derive(Debug)]
struct Partial {
    count: usize,
    pos: usize,
    spans: Vec<(usize, usize)>,
}

impl Decoder {
    /// Takes one complete request off the front of `buf`: `Ok(None)` if more bytes are
    /// needed (`buf` must then be passed again with more appended, nothing taken off). An
    /// empty inline line yields an empty request (Redis ignores it).
    pub(super) fn parse(&mut self, buf: &mut BytesMut, limits: &Limits) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let mut at = match self.partial.take() {
            Some(p) => p,
            None if buf.is_empty() => return Ok(None),
            None if buf[0] != b'*' => return parse_inline(buf, limits),
            None => {
                let mut pos = 0;
                let Some(count) = read_len(buf, &mut pos, b'*', limits.max_args, "multibulk", limits)? else {
                    return Ok(None);
                };
                let Ok(count) = usize::try_from(count) else {
                    // `*0`, `*-1`: an empty request, which Redis skips.
                    let _ = buf.split_to(pos);
                    return Ok(Some(Vec::new()));
                };
                Partial {
                    count,
                    pos,
                    spans: Vec::with_capacity(count.min(64)),
                }
            }
        };
        match more_args(buf, limits, &mut at)? {
            false => {
                self.partial = Some(at);
                Ok(None)
            }
            true => {
                let frame = buf.split_to(at.pos).freeze();
                Ok(Some(
                    at.spans
                        .into_iter()
                        .map(|(at, len)| frame.slice(at..at + len))
                        .collect(),
                ))
            }
        }
    }
}

/// Reads the arguments of `at` that have arrived in `buf`; whether it is complete.
fn more_args(buf: &[u8], limits: &Limits, at: &mut Partial) -> Result<bool, ProtocolError> {
    while at.spans.len() < at.count {
        let mut pos = at.pos;
        if pos >= buf.len() {
            return Ok(false);
        }
        if buf[pos] != b'$' {
            return Err(bad(format!("expected '$', got '{}'", buf[pos] as char)));
        }
        let Some(len) = read_len(buf, &mut pos, b'$', limits.max_bulk, "bulk", limits)? else {
            return Ok(false);
        };
        let Ok(len) = usize::try_from(len) else {
            return Err(bad("invalid bulk length"));
        };
        if pos + len + 2 > limits.max_request {
            return Err(bad(format!(
                "too big request: over {} bytes, the most one request may carry",
                limits.max_request
            )));
        }
        if buf.len() < pos + len + 2 {
            return Ok(false);
        }
        if &buf[pos + len..pos + len + 2] != b"\r\n" {
            return Err(bad("bulk string not terminated by CRLF"));
        }
        at.spans.push((pos, len));
        at.pos = pos + len + 2;
    }
    Ok(true)
}

/// Reads `<prefix><number>\r\n` at `pos`: a number written as Redis writes one (no `+`,
/// no leading zero), at most `max`; a negative one is the caller's to judge.
fn read_len(
    buf: &[u8],
    pos: &mut usize,
    prefix: u8,
    max: usize,
    what: &str,
    limits: &Limits,
) -> Result<Option<i64>, ProtocolError> {
    debug_assert_eq!(buf[*pos], prefix);
    let start = *pos + 1;
    let Some(nl) = buf[start..].iter().position(|&b| b == b'\n') else {
        // A length line is short; a long one without a newline is garbage.
        if buf.len() - start > 32 {
            return Err(bad(format!("invalid {what} length")));
        }
        return Ok(None);
    };
    let line = &buf[start..start + nl];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let n = std::str::from_utf8(line)
        .ok()
        .filter(|s| redis_integer(s))
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| bad(format!("invalid {what} length")))?;
    if n > 0 && n as u64 > max as u64 {
        return Err(bad(match limits.unauthenticated {
            true => format!("unauthenticated {what} length"),
            false => format!("invalid {what} length"),
        }));
    }
    *pos = start + nl + 1;
    Ok(Some(n))
}

/// Whether `s` is written as Redis writes integers (its `string2ll`), for lengths and
/// arguments alike: an optional `-`, then digits without a leading zero; `0` alone, never
/// `-0`, `+1`, `01` or spaces. (Whether it fits in 64 bits is the parser's to say.)
pub(super) fn redis_integer(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let plain = !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit());
    plain && (!digits.starts_with('0') || s == "0")
}

fn parse_inline(buf: &mut BytesMut, limits: &Limits) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        if buf.len() > limits.max_inline {
            return Err(bad("too big inline request"));
        }
        return Ok(None);
    };
    if nl > limits.max_inline {
        return Err(bad("too big inline request"));
    }
    let line = buf.split_to(nl + 1);
    let line = line.strip_suffix(b"\n").unwrap_or(&line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let words = split_inline(line)?;
    if words.len() > limits.max_args.max(1) * 16 {
        return Err(bad("invalid multibulk length"));
    }
    Ok(Some(words))
}

/// Splits an inline line into words: spaces separate, `"..."` (with `\n`, `\xHH`, `\"`
/// escapes) and `'...'` quote, as `redis-cli` and Redis's `sdssplitargs` do.
fn split_inline(line: &[u8]) -> Result<Vec<Bytes>, ProtocolError> {
    let mut words = Vec::new();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            break;
        }
        let mut word = Vec::new();
        match line[i] {
            q @ (b'"' | b'\'') => {
                i += 1;
                loop {
                    let Some(&c) = line.get(i) else {
                        return Err(bad("unbalanced quotes in request"));
                    };
                    i += 1;
                    if c == q {
                        break;
                    }
                    if c == b'\\' && q == b'"' {
                        let (byte, used) = unescape(&line[i..]);
                        word.push(byte);
                        i += used;
                    } else if c == b'\\' && q == b'\'' && line.get(i) == Some(&b'\'') {
                        word.push(b'\'');
                        i += 1;
                    } else {
                        word.push(c);
                    }
                }
                if line.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                    return Err(bad("unbalanced quotes in request"));
                }
            }
            _ => {
                while i < line.len() && !line[i].is_ascii_whitespace() {
                    word.push(line[i]);
                    i += 1;
                }
            }
        }
        words.push(Bytes::from(word));
    }
    Ok(words)
}

/// The byte an escape after `\` stands for, and how many bytes the escape used.
fn unescape(rest: &[u8]) -> (u8, usize) {
    let hex = |b: u8| (b as char).to_digit(16);
    match rest {
        [b'x', h, l, ..] if hex(*h).is_some() && hex(*l).is_some() => {
            ((hex(*h).unwrap_or(0) * 16 + hex(*l).unwrap_or(0)) as u8, 3)
        }
        [b'n', ..] => (b'\n', 1),
        [b'r', ..] => (b'\r', 1),
        [b't', ..] => (b'\t', 1),
        [b'b', ..] => (8, 1),
        [b'a', ..] => (7, 1),
        [c, ..] => (*c, 1),
        [] => (b'\\', 0),
    }
}

/// One reply. RESP3-only shapes (null, map) are written in their RESP2 form on RESP2
/// connections.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Reply {
    Simple(&'static str),
    /// `-CODE message`; the text must hold no CR or LF.
    Error(String),
    Int(i64),
    Bulk(Bytes),
    /// Null bulk (RESP2 `$-1`, RESP3 `_`).
    Nil,
    /// Null array (RESP2 `*-1`, RESP3 `_`): EXEC after a watched key changed.
    NilArray,
    Array(Vec<Reply>),
    /// A map (RESP3 `%`, a flat array in RESP2).
    Map(Vec<(Reply, Reply)>),
    /// An out-of-band message (RESP3 `>`, an array in RESP2): pub/sub.
    Push(Vec<Reply>),
    /// Several replies to one command, one after the other (SUBSCRIBE of many channels).
    Many(Vec<Reply>),
}

impl Reply {
    /// `-ERR message`.
    pub(super) fn err(message: impl std::fmt::Display) -> Reply {
        Reply::Error(format!("ERR {message}"))
    }

    /// A bulk string of `text`.
    pub(super) fn text(text: impl Into<String>) -> Reply {
        Reply::Bulk(Bytes::from(text.into()))
    }

    /// Writes the reply in RESP `protocol` (2 or 3).
    pub(super) fn encode(&self, protocol: u8, out: &mut BytesMut) {
        match self {
            Reply::Simple(s) => line(out, b'+', s.as_bytes()),
            Reply::Error(e) => line(out, b'-', clean(e).as_bytes()),
            Reply::Int(n) => line(out, b':', n.to_string().as_bytes()),
            Reply::Bulk(b) => {
                line(out, b'$', b.len().to_string().as_bytes());
                out.put_slice(b);
                out.put_slice(b"\r\n");
            }
            Reply::Nil if protocol >= 3 => out.put_slice(b"_\r\n"),
            Reply::Nil => out.put_slice(b"$-1\r\n"),
            Reply::NilArray if protocol >= 3 => out.put_slice(b"_\r\n"),
            Reply::NilArray => out.put_slice(b"*-1\r\n"),
            Reply::Array(items) => {
                line(out, b'*', items.len().to_string().as_bytes());
                items.iter().for_each(|r| r.encode(protocol, out));
            }
            Reply::Push(items) => {
                let kind = if protocol >= 3 { b'>' } else { b'*' };
                line(out, kind, items.len().to_string().as_bytes());
                items.iter().for_each(|r| r.encode(protocol, out));
            }
            Reply::Many(replies) => replies.iter().for_each(|r| r.encode(protocol, out)),
            Reply::Map(pairs) => {
                if protocol >= 3 {
                    line(out, b'%', pairs.len().to_string().as_bytes());
                } else {
                    line(out, b'*', (2 * pairs.len()).to_string().as_bytes());
                }
                for (k, v) in pairs {
                    k.encode(protocol, out);
                    v.encode(protocol, out);
                }
            }
        }
    }
}

fn line(out: &mut BytesMut, kind: u8, body: &[u8]) {
    out.reserve(body.len() + 3);
    out.put_u8(kind);
    out.put_slice(body);
    out.put_slice(b"\r\n");
}

/// A status or error line never carries CR or LF (they would end it early).
fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(['\r', '\n']) {
        s.replace(['\r', '\n'], " ").into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const WIDE: Limits = Limits {
        max_args: 1024,
        max_bulk: 1024,
        max_inline: 1024,
        max_request: 4096,
        unauthenticated: false,
    };

    fn one(input: &[u8]) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        Decoder::default().parse(&mut BytesMut::from(input), &WIDE)
    }

    #[test]
    fn multibulk_inline_and_partial_requests() {
        assert_eq!(
            one(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n").unwrap().unwrap(),
            vec![Bytes::from("GET"), Bytes::from("k")]
        );
        assert_eq!(one(b"*2\r\n$3\r\nGET\r\n$1\r\n").unwrap(), None);
        assert_eq!(one(b"*2\r\n$3\r\nGE").unwrap(), None);
        assert_eq!(
            one(b"set k \"a b\\x41\\n\" 'it\\'s'\r\n").unwrap().unwrap(),
            vec![
                Bytes::from("set"),
                Bytes::from("k"),
                Bytes::from("a bA\n"),
                Bytes::from("it's")
            ]
        );
        assert_eq!(one(b"\r\n").unwrap().unwrap(), Vec::<Bytes>::new());
        // As in Redis, a closing quote must end the word.
        assert!(one(b"set k 'it''s'\r\n").is_err());
        assert_eq!(one(b"PING").unwrap(), None, "an inline line without its newline waits");
    }

    #[test]
    fn lengths_past_the_bounds_are_refused_before_anything_is_buffered() {
        // As in Redis, `*0` and a negative count are an empty request, skipped.
        for input in [&b"*0\r\n"[..], b"*-1\r\n", b"*-5\r\n"] {
            assert_eq!(one(input).unwrap(), Some(Vec::new()), "{input:?}");
        }
        // Before AUTH, Redis names the bound it applies.
        let closed = |input: &[u8]| Decoder::default().parse(&mut BytesMut::from(input), &UNAUTHENTICATED);
        assert_eq!(
            closed(b"*11\r\n").unwrap_err().to_string(),
            "Protocol error: unauthenticated multibulk length"
        );
        assert_eq!(
            closed(b"*1\r\n$16385\r\n").unwrap_err().to_string(),
            "Protocol error: unauthenticated bulk length"
        );
        for (input, text) in [
            (&b"*2147483647\r\n"[..], "Protocol error: invalid multibulk length"),
            (b"*+1\r\n", "Protocol error: invalid multibulk length"),
            (b"*01\r\n", "Protocol error: invalid multibulk length"),
            (b"*1\r\n$-5\r\n", "Protocol error: invalid bulk length"),
            (b"*1\r\n$+4\r\nPING\r\n", "Protocol error: invalid bulk length"),
            (b"*1\r\n$04\r\nPING\r\n", "Protocol error: invalid bulk length"),
            (b"*1\r\n$-0\r\n", "Protocol error: invalid bulk length"),
            (b"*1\r\n$1025\r\n", "Protocol error: invalid bulk length"),
            (
                b"*1\r\n$3\r\nabcde",
                "Protocol error: bulk string not terminated by CRLF",
            ),
            (b"*1\r\n:3\r\n", "Protocol error: expected '$', got ':'"),
            (b"set k \"open\r\n", "Protocol error: unbalanced quotes in request"),
        ] {
            assert_eq!(one(input).unwrap_err().to_string(), text, "{input:?}");
        }
        // Five arguments of 1000 bytes are each in bounds, and over 4096 together: refused at
        // the header of the one that would cross the bound, before its bytes arrive.
        let mut big = b"*5\r\n".to_vec();
        for _ in 0..4 {
            big.extend_from_slice(b"$1000\r\n");
            big.extend_from_slice(&[b'a'; 1000]);
            big.extend_from_slice(b"\r\n");
        }
        big.extend_from_slice(b"$1000\r\n");
        assert_eq!(
            one(&big).unwrap_err().to_string(),
            "Protocol error: too big request: over 4096 bytes, the most one request may carry"
        );
        let long = vec![b'a'; 2000];
        assert_eq!(
            one(&long).unwrap_err().to_string(),
            "Protocol error: too big inline request"
        );
    }

    #[test]
    fn replies_in_both_protocols() {
        let enc = |r: Reply, p| {
            let mut out = BytesMut::new();
            r.encode(p, &mut out);
            out
        };
        assert_eq!(&enc(Reply::Nil, 2)[..], b"$-1\r\n");
        assert_eq!(&enc(Reply::Nil, 3)[..], b"_\r\n");
        assert_eq!(&enc(Reply::NilArray, 2)[..], b"*-1\r\n");
        assert_eq!(&enc(Reply::NilArray, 3)[..], b"_\r\n");
        let map = Reply::Map(vec![(Reply::text("a"), Reply::Int(1))]);
        assert_eq!(&enc(map.clone(), 2)[..], b"*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(&enc(map, 3)[..], b"%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(&enc(Reply::Error("ERR a\r\nb".into()), 2)[..], b"-ERR a  b\r\n");
    }

    proptest! {
        /// Arbitrary bytes never panic the parser, and whatever it takes is a whole request.
        #[test]
        fn any_input_is_parsed_or_refused(input in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut buf = BytesMut::from(&input[..]);
            let mut decoder = Decoder::default();
            for _ in 0..64 {
                match decoder.parse(&mut buf, &WIDE) {
                    Ok(Some(_)) => continue,
                    Ok(None) | Err(_) => break,
                }
            }
        }

        /// Any arguments, encoded as a client would, come back unchanged.
        #[test]
        fn encoded_requests_round_trip(args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..8)) {
            let mut wire = BytesMut::new();
            wire.put_slice(format!("*{}\r\n", args.len()).as_bytes());
            for a in &args {
                wire.put_slice(format!("${}\r\n", a.len()).as_bytes());
                wire.put_slice(a);
                wire.put_slice(b"\r\n");
            }
            let got = Decoder::default().parse(&mut wire.clone(), &WIDE).unwrap().unwrap();
            prop_assert_eq!(&got.iter().map(|b| b.to_vec()).collect::<Vec<_>>(), &args);
            // Byte by byte, as a slow client sends it: the same request, once, at the end.
            let (mut decoder, mut buf) = (Decoder::default(), BytesMut::new());
            for (i, b) in wire.iter().enumerate() {
                buf.put_u8(*b);
                let got = decoder.parse(&mut buf, &WIDE).unwrap();
                prop_assert_eq!(got.is_some(), i + 1 == wire.len());
                if let Some(got) = got {
                    prop_assert_eq!(&got.iter().map(|b| b.to_vec()).collect::<Vec<_>>(), &args);
                    prop_assert!(buf.is_empty());
                }
            }
        }
    }
}

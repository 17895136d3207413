//! A key: any bytes, ordered by its bytes.
//!
//! Keys cross the Redis protocol as raw bytes, HTTP paths as percent-escaped octets, and JSON
//! as text (or base64 when they are not UTF-8), so the cache keeps bytes. Byte order is
//! code-point order for UTF-8, so prefix scans and scan order of text keys are what they were
//! when keys were strings. In the log and in snapshots a UTF-8 key is a MessagePack string,
//! exactly as formats 2 and 3 wrote it, and any other key MessagePack binary, which only
//! format 4 reads: like a value, a key that is not UTF-8 needs cluster version 4.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::value::{format_of, TextOrBytes};

/// A key: any bytes, kept in one exact-size allocation (16 bytes inline). Orders, compares
/// and hashes as its bytes, and borrows as `[u8]` so maps keyed by it take `&[u8]` lookups.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Key(Box<[u8]>);

impl Key {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The key as text, if it is valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Whether the key's bytes start with `prefix`'s.
    pub fn starts_with(&self, prefix: &[u8]) -> bool {
        self.0.starts_with(prefix)
    }

    pub fn into_vec(self) -> Vec<u8> {
        self.0.into_vec()
    }

    /// The oldest format that can carry this key: 2 for UTF-8 text, else [`BINARY_FORMAT`](super::BINARY_FORMAT).
    pub fn format(&self) -> u32 {
        format_of(&self.0)
    }

    /// The key for logs and error messages; see [`show`].
    pub fn show(&self) -> Shown<'_> {
        show(&self.0)
    }
}

/// Key bytes as a person reads them in logs and errors, without allocating: UTF-8 text as
/// it is, other bytes with `\xNN` escapes (`escape_ascii`). Never panics.
pub fn show(bytes: &[u8]) -> Shown<'_> {
    Shown(bytes)
}

/// See [`show`]. `{}` prints the key; `{:?}` quotes it as `"text"` or `b"\xff..."`.
#[derive(Clone, Copy)]
pub struct Shown<'a>(&'a [u8]);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(self.0) {
            Ok(s) => f.write_str(s),
            Err(_) => write!(f, "{}", self.0.escape_ascii()),
        }
    }
}

impl fmt::Debug for Shown<'_> {
    /// Text as a quoted string (as `String`'s `Debug`); other bytes as `b"..."` with escapes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(self.0) {
            Ok(s) => fmt::Debug::fmt(s, f),
            Err(_) => write!(f, "b\"{}\"", self.0.escape_ascii()),
        }
    }
}

impl fmt::Debug for Key {
    /// As [`Shown`]'s: `"text"` or `b"\xff..."`, so messages that quoted a `String` key read
    /// the same for text keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.show(), f)
    }
}

impl fmt::Display for Key {
    /// As [`Shown`]'s: text as is, other bytes escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.show(), f)
    }
}

/// A key is used as its bytes wherever a key is read (map lookups, prefix tests), as the
/// `Box<str>` it replaced was used as a `str`.
impl std::ops::Deref for Key {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Key {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Key {
    fn from(v: Vec<u8>) -> Self {
        Key(v.into_boxed_slice())
    }
}

impl From<&[u8]> for Key {
    fn from(v: &[u8]) -> Self {
        Key(v.into())
    }
}

impl<const N: usize> From<&[u8; N]> for Key {
    fn from(v: &[u8; N]) -> Self {
        Key(v.as_slice().into())
    }
}

impl From<String> for Key {
    fn from(v: String) -> Self {
        Key(v.into_bytes().into_boxed_slice())
    }
}

impl From<&String> for Key {
    fn from(v: &String) -> Self {
        Key(v.as_bytes().into())
    }
}

impl From<&str> for Key {
    fn from(v: &str) -> Self {
        Key(v.as_bytes().into())
    }
}

impl From<&Key> for Key {
    fn from(v: &Key) -> Self {
        v.clone()
    }
}

impl From<bytes::Bytes> for Key {
    fn from(v: bytes::Bytes) -> Self {
        Key(v.as_ref().into())
    }
}

impl From<&bytes::Bytes> for Key {
    fn from(v: &bytes::Bytes) -> Self {
        Key(v.as_ref().into())
    }
}

impl From<Key> for bytes::Bytes {
    fn from(k: Key) -> Self {
        bytes::Bytes::from(k.into_vec())
    }
}

impl PartialEq<str> for Key {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Key {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == other.as_bytes()
    }
}

impl PartialEq<[u8]> for Key {
    fn eq(&self, other: &[u8]) -> bool {
        &*self.0 == other
    }
}

impl Serialize for Key {
    /// A MessagePack string when UTF-8 (what a `String` key encoded to), binary otherwise.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.as_str() {
            Some(s) => serializer.serialize_str(s),
            None => serializer.serialize_bytes(&self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Key {
    /// From a string or from binary (or a sequence of bytes, as some encoders write them).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextOrBytes::new()).map(Key::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keys_keep_the_string_encoding_and_other_bytes_are_binary() {
        for text in ["", "k", "héllo/ключ", &"x".repeat(300)] {
            let old = rmp_serde::to_vec_named(&text.to_string()).unwrap();
            let key = Key::from(text);
            assert_eq!(
                rmp_serde::to_vec_named(&key).unwrap(),
                old,
                "{text:?} encodes as a String did"
            );
            assert_eq!(rmp_serde::from_slice::<Key>(&old).unwrap(), key);
            assert_eq!(key.format(), 2);
        }
        let all: Vec<u8> = (0..=255).collect();
        let key = Key::from(all.clone());
        assert_eq!(key.format(), crate::cache::BINARY_FORMAT);
        let bytes = rmp_serde::to_vec_named(&key).unwrap();
        assert_eq!(bytes[0], 0xc5, "MessagePack bin 16 for 256 bytes");
        assert_eq!(&bytes[3..], &all[..]);
        assert_eq!(rmp_serde::from_slice::<Key>(&bytes).unwrap().as_bytes(), &all[..]);
        // A format-3 reader (a String) refuses binary rather than misreading it.
        assert!(rmp_serde::from_slice::<String>(&bytes).is_err());
    }

    #[test]
    fn keys_order_by_bytes_and_show_without_panicking() {
        let mut keys: Vec<Key> = ["b", "a\u{10000}", "a\u{ff}", "a"].into_iter().map(Key::from).collect();
        keys.push(Key::from(vec![b'a', 0xff]));
        keys.sort();
        let strs: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
        assert_eq!(strs, [r#""a""#, r#""aÿ""#, r#""a𐀀""#, r#"b"a\xff""#, r#""b""#]);
        assert_eq!(Key::from(vec![0xff, 0, b'k']).to_string(), r"\xff\x00k");
        assert_eq!(format!("{:?}", Key::from("q\"")), format!("{:?}", "q\""));
    }
}

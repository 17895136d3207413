//! A stored value: any bytes.
//!
//! Values cross the Redis protocol as raw bytes and the HTTP API as text (or base64 when
//! they are not UTF-8), so the cache keeps bytes. In the log and in snapshots a value that
//! is valid UTF-8 is encoded as a MessagePack string, exactly as formats 2 and 3 wrote it,
//! and any other value as MessagePack binary, which only format 4 reads: a cluster accepts
//! non-UTF-8 values only once its cluster version is 4.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// The first format that carries bytes that are not UTF-8, in keys or values.
pub const BINARY_FORMAT: u32 = 4;

/// The oldest format that can carry `bytes` as a key or value: 2 for UTF-8, else
/// [`BINARY_FORMAT`].
pub fn format_of(bytes: &[u8]) -> u32 {
    if std::str::from_utf8(bytes).is_ok() {
        2
    } else {
        BINARY_FORMAT
    }
}

/// A value: any bytes, kept in one exact-size allocation (16 bytes inline).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Value(Box<[u8]>);

impl Value {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value as text, if it is valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    pub fn into_vec(self) -> Vec<u8> {
        self.0.into_vec()
    }

    /// The oldest format that can carry this value: 2 for UTF-8 text, else [`BINARY_FORMAT`].
    pub fn format(&self) -> u32 {
        format_of(&self.0)
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value(v.into_boxed_slice())
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value(v.into())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value(v.into_bytes().into_boxed_slice())
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value(v.as_bytes().into())
    }
}

impl From<bytes::Bytes> for Value {
    fn from(v: bytes::Bytes) -> Self {
        Value(v.as_ref().into())
    }
}

impl From<Value> for bytes::Bytes {
    fn from(v: Value) -> Self {
        bytes::Bytes::from(v.into_vec())
    }
}

impl AsRef<[u8]> for Value {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl PartialEq<str> for Value {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == other.as_bytes()
    }
}

impl fmt::Debug for Value {
    /// Text as a quoted string; other bytes as `b"..."` with escapes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => fmt::Debug::fmt(s, f),
            None => write!(f, "b\"{}\"", self.0.escape_ascii()),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.as_str() {
            Some(s) => serializer.serialize_str(s),
            None => serializer.serialize_bytes(&self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextOrBytes::new()).map(Value::from)
    }
}

/// Reads a MessagePack string or binary (or a sequence of bytes) as bytes: how [`Value`] and
/// [`super::Key`] decode either encoding.
pub(super) struct TextOrBytes;

impl TextOrBytes {
    pub(super) fn new() -> Self {
        TextOrBytes
    }
}

impl<'de> Visitor<'de> for TextOrBytes {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or bytes")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
        Ok(v.as_bytes().to_vec())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Vec<u8>, E> {
        Ok(v.into_bytes())
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(b) = seq.next_element::<u8>()? {
            bytes.push(b);
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_the_old_encoding_and_bytes_round_trip() {
        let text = Value::from("héllo");
        let old = rmp_serde::to_vec_named(&"héllo".to_string()).unwrap();
        assert_eq!(rmp_serde::to_vec_named(&text).unwrap(), old, "text encodes as before");
        assert_eq!(rmp_serde::from_slice::<Value>(&old).unwrap(), text);
        assert_eq!(text.format(), 2);

        let all: Vec<u8> = (0..=255).collect();
        let bin = Value::from(all.clone());
        assert_eq!(bin.format(), BINARY_FORMAT);
        let bytes = rmp_serde::to_vec_named(&bin).unwrap();
        assert_eq!(rmp_serde::from_slice::<Value>(&bytes).unwrap().as_bytes(), &all[..]);
        // A format-3 reader (a String) refuses binary rather than misreading it.
        assert!(rmp_serde::from_slice::<String>(&bytes).is_err());
        assert_eq!(format!("{:?}", Value::from(vec![b'a', 0, 255])), "b\"a\\x00\\xff\"");
    }
}

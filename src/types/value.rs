//! How JSON carries bytes: a key as `key` (UTF-8 text) or `key_base64` (any other bytes), a
//! value as `value` or `value_base64`, the same way.

use base64::Engine as _;

use super::{
    BatchOp, BatchOpResult, DeleteResult, ExpireRequest, KeyValue, KeysResult, PersistRequest, SetRequest, SetResult,
};

/// How JSON carries bytes: UTF-8 text as is, any other bytes as base64 (standard alphabet,
/// padded). Returns `(text, base64)`, exactly one `Some`.
fn fields(bytes: &[u8]) -> (Option<String>, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (Some(text.to_string()), None),
        Err(_) => (None, Some(base64::engine::general_purpose::STANDARD.encode(bytes))),
    }
}

/// The bytes a `name` / `name_base64` pair carries; an error names what is wrong.
fn from_fields(name: &str, text: Option<String>, b64: Option<&str>) -> Result<Vec<u8>, String> {
    match (text, b64) {
        (Some(text), None) => Ok(text.into_bytes()),
        (None, Some(b64)) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("{name}_base64 is not valid base64: {e}")),
        (Some(_), Some(_)) => Err(format!("give either {name} or {name}_base64, not both")),
        (None, None) => Err(format!(
            "missing field `{name}` (or `{name}_base64` for bytes that are not UTF-8)"
        )),
    }
}

/// How JSON carries a value: `(value, value_base64)`, exactly one `Some`.
pub fn value_fields(bytes: &[u8]) -> (Option<String>, Option<String>) {
    fields(bytes)
}

/// The bytes JSON's `value` / `value_base64` pair carries; an error names what is wrong.
pub fn value_from_fields(value: Option<String>, value_base64: Option<&str>) -> Result<Vec<u8>, String> {
    from_fields("value", value, value_base64)
}

/// How JSON carries a key: `(key, key_base64)`, exactly one `Some`.
pub fn key_fields(bytes: &[u8]) -> (Option<String>, Option<String>) {
    fields(bytes)
}

/// The bytes JSON's `key` / `key_base64` pair carries; an error names what is wrong.
pub fn key_from_fields(key: Option<String>, key_base64: Option<&str>) -> Result<Vec<u8>, String> {
    from_fields("key", key, key_base64)
}

/// The key bytes of a reply (empty if it carries neither field, which a dcache node never
/// sends).
macro_rules! key_bytes {
    ($($t:ty),*) => {$(
        impl $t {
            /// The key's bytes, whichever of `key` / `key_base64` carries them.
            pub fn key_bytes(&self) -> Vec<u8> {
                key_from_fields(self.key.clone(), self.key_base64.as_deref()).unwrap_or_default()
            }
        }
    )*};
}

key_bytes!(KeyValue, SetResult, DeleteResult, BatchOpResult);

impl SetRequest {
    /// A set of `value` under `key` (each carried as text when it is UTF-8).
    pub fn new(key: &[u8], value: &[u8]) -> Self {
        let (key, key_base64) = key_fields(key);
        let (value, value_base64) = value_fields(value);
        SetRequest {
            key,
            key_base64,
            value,
            value_base64,
            ttl_ms: None,
            if_version: None,
        }
    }
}

impl ExpireRequest {
    /// Expire `key` `ttl_ms` after the leader accepts the change.
    pub fn new(key: &[u8], ttl_ms: u64) -> Self {
        let (key, key_base64) = key_fields(key);
        ExpireRequest {
            key,
            key_base64,
            ttl_ms,
        }
    }
}

impl PersistRequest {
    /// Remove `key`'s expiry.
    pub fn new(key: &[u8]) -> Self {
        let (key, key_base64) = key_fields(key);
        PersistRequest { key, key_base64 }
    }
}

impl BatchOp {
    /// A set of `value` under `key` in a batch.
    pub fn set(key: &[u8], value: &[u8], ttl_ms: Option<u64>, if_version: Option<u64>) -> Self {
        let (key, key_base64) = key_fields(key);
        let (value, value_base64) = value_fields(value);
        BatchOp::Set {
            key,
            key_base64,
            value,
            value_base64,
            ttl_ms,
            if_version,
        }
    }

    /// A delete of `key` in a batch.
    pub fn delete(key: &[u8], if_version: Option<u64>) -> Self {
        let (key, key_base64) = key_fields(key);
        BatchOp::Delete {
            key,
            key_base64,
            if_version,
        }
    }
}

impl KeyValue {
    /// The value's bytes, whichever field carries them (empty if neither does).
    pub fn value_bytes(&self) -> Vec<u8> {
        value_from_fields(self.value.clone(), self.value_base64.as_deref()).unwrap_or_default()
    }
}

impl KeysResult {
    /// The continuation key's bytes (`next` / `next_base64`), when the page was truncated.
    pub fn next_bytes(&self) -> Option<Vec<u8>> {
        from_fields("next", self.next.clone(), self.next_base64.as_deref()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_text_when_utf8_and_base64_otherwise() {
        assert_eq!(key_fields(b"k"), (Some("k".into()), None));
        assert_eq!(key_fields(&[0xff, 0, b'k']), (None, Some("/wBr".into())));
        assert_eq!(key_from_fields(None, Some("/wBr")).unwrap(), vec![0xff, 0, b'k']);
        let both = key_from_fields(Some("k".into()), Some("aw==")).unwrap_err();
        assert!(both.contains("key or key_base64"), "{both}");
        let neither = key_from_fields(None, None).unwrap_err();
        assert!(neither.contains("`key`"), "{neither}");
    }
}

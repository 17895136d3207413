//! How JSON carries a value: UTF-8 text as `value`, any other bytes as `value_base64`.

use base64::Engine as _;

use super::{KeyValue, SetRequest};

/// How JSON carries a value: UTF-8 text as `value`, any other bytes as `value_base64`
/// (standard alphabet, padded). Returns `(value, value_base64)`, exactly one `Some`.
pub fn value_fields(bytes: &[u8]) -> (Option<String>, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (Some(text.to_string()), None),
        Err(_) => (None, Some(base64::engine::general_purpose::STANDARD.encode(bytes))),
    }
}

/// The bytes JSON's `value` / `value_base64` pair carries; an error names what is wrong.
pub fn value_from_fields(value: Option<String>, value_base64: Option<&str>) -> Result<Vec<u8>, String> {
    match (value, value_base64) {
        (Some(text), None) => Ok(text.into_bytes()),
        (None, Some(b64)) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("value_base64 is not valid base64: {e}")),
        (Some(_), Some(_)) => Err("give either value or value_base64, not both".into()),
        (None, None) => Err("missing field `value` (or `value_base64` for bytes that are not UTF-8)".into()),
    }
}

impl SetRequest {
    /// A set of `value` (carried as text when it is UTF-8).
    pub fn new(key: impl Into<String>, value: &[u8]) -> Self {
        let (value, value_base64) = value_fields(value);
        SetRequest {
            key: key.into(),
            value,
            value_base64,
            ttl_ms: None,
            if_version: None,
        }
    }
}

impl KeyValue {
    /// The value's bytes, whichever field carries them (empty if neither does).
    pub fn value_bytes(&self) -> Vec<u8> {
        value_from_fields(self.value.clone(), self.value_base64.as_deref()).unwrap_or_default()
    }
}

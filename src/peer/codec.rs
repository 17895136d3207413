//! The peer wire codec: MessagePack with field names, nesting bounded on decode.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Content type of every peer message body.
pub const MSGPACK: &str = "application/msgpack";

/// Deepest nesting a peer message may have. Real messages stay far below it (an append
/// request with a batch entry is about ten levels); the bound keeps a hostile body from
/// exhausting the stack of the task that decodes it.
const MAX_DEPTH: usize = 128;

/// Errors of the peer wire format, shared by both sides.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("cannot encode peer message: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    #[error("malformed peer message: {0}")]
    Decode(#[from] rmp_serde::decode::Error),
    #[error("malformed snapshot frame: {0}")]
    Frame(&'static str),
    /// The message holds something of a newer format than this build reads.
    #[error("{0}")]
    TooNew(String),
}

/// Words every "newer format" error carries (they travel through serde as text).
pub const TOO_NEW: &str = "is newer than this build reads";

impl WireError {
    /// Whether the message was well formed for a newer build: this node cannot follow the
    /// cluster any more and must be upgraded.
    pub fn is_too_new(&self) -> bool {
        match self {
            WireError::TooNew(_) => true,
            WireError::Decode(e) => e.to_string().contains(TOO_NEW),
            _ => false,
        }
    }
}

/// Encodes a peer message body.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, WireError> {
    Ok(rmp_serde::to_vec_named(value)?)
}

/// Decodes a peer message body (nesting limited to [`MAX_DEPTH`]).
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
    de.set_max_depth(MAX_DEPTH);
    Ok(T::deserialize(&mut de)?)
}

//! Fuzz target for the peer listener's body decoders; owns nothing but this harness and must
//! not change how the peer wire format is decoded (that lives in `dcache::peer`; snapshot
//! frames in `dcache::raft::network`).
//!
//! The first input byte picks the message type (modulo the number of types), the rest is the
//! body exactly as `server::peer_api` would receive it. Decoding must return `Ok` or `Err`
//! without panicking, overflowing the stack or hanging, and whatever decodes must encode again.

#![no_main]

use dcache::cache::Op;
use dcache::peer::{decode, encode, AdminRequest, NodeId, Register};
use dcache::raft::network::{decode_snapshot_header, encode_snapshot_header};
use dcache::raft::TypeConfig;
use dcache::types::Consistency;
use libfuzzer_sys::fuzz_target;
use openraft::raft::{AppendEntriesRequest, TransferLeaderRequest, VoteRequest};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Decodes `body` as `T` the way `server::peer_api` does; a value that decodes must re-encode.
fn check<T: DeserializeOwned + Serialize>(body: &[u8]) {
    if let Ok(value) = decode::<T>(body) {
        if let Err(e) = encode(&value) {
            panic!(
                "decoded a {} that does not encode again: {e}",
                std::any::type_name::<T>()
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    // One arm per distinct request type of the routes in `dcache::peer::Route`.
    match selector % 10 {
        0 => check::<AppendEntriesRequest<TypeConfig>>(body), // /raft/append
        1 => check::<VoteRequest<TypeConfig>>(body),          // /raft/vote, /raft/pre-vote
        2 => {
            // /raft/snapshot: length-prefixed msgpack header, then raw snapshot bytes.
            if let Ok(Some((vote, meta, start))) = decode_snapshot_header(body) {
                assert!(start <= body.len(), "the body starts past the frame");
                if let Err(e) = encode_snapshot_header(&vote, &meta) {
                    panic!("decoded a snapshot frame head that does not encode again: {e}");
                }
            }
        }
        3 => check::<TransferLeaderRequest<TypeConfig>>(body), // /raft/transfer-leader
        4 => check::<Op>(body),                                // /peer/forward-write
        5 => check::<Consistency>(body),                       // /peer/read-index
        6 => check::<Register>(body),                          // /peer/register
        7 => check::<AdminRequest>(body),                      // /peer/admin
        8 => check::<NodeId>(body),                            // /peer/removed
        _ => check::<()>(body),                                // /peer/ping
    }
});

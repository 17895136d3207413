//! Protection of a node: TLS on both listeners with mutual TLS between peers, client tokens
//! with roles, the peer token, and the limits that cut off oversized and slow clients.

mod certificates;
mod exposure;
mod limits;
mod peer_token;
mod resources;
mod tls;
mod tokens;

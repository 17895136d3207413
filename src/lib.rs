//! dcache: a strongly consistent, Raft-replicated in-memory cache.
//!
//! Layout, from the outside in:
//! - `cli`, `config`: parsed options, and the validated configuration of `dcache serve`.
//! - `commands`: thin glue per subcommand (serve, kv, cluster, local-cluster, bench, completions).
//! - `dash`: the live terminal dashboard (pollers, pure `App::update`, widgets, terminal guard).
//! - `bench`: the closed-loop load generator behind `dcache bench`.
//! - `backup`: the file format of `dcache snapshot save/restore`.
//! - `client`, `types`: the typed HTTP client and the wire types of the client API.
//! - `server`: the two listeners; `server::listener` (accept loop, TLS, connection limits),
//!   `server::client_api` (the `/api/v1` routes, client tokens), `server::peer_api` (Raft RPCs
//!   and node-to-node forwarding, peer token), `server::metrics`.
//! - `tls`: certificates and keys from PEM files into rustls/reqwest settings.
//! - `node`: one running node; proposes writes, linearizes reads, reports status.
//! - `raft`: openraft wiring; `raft::store` (the only sled user), `raft::state_machine`,
//!   `raft::network`.
//! - `cache`: the in-memory ordered map with TTL, eviction and watch history; no I/O, no
//!   Raft, no clock.

pub mod backup;
pub mod bench;
pub mod cache;
pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod dash;
pub mod metrics;
pub mod node;
pub mod peer;
pub mod raft;
pub mod server;
pub mod tls;
pub mod types;

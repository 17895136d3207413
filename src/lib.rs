//! dcache: a strongly consistent, Raft-replicated in-memory cache.
//!
//! Layout, from the outside in:
//! - `cli`, `config`: parsed options, and the validated configuration of `dcache serve`.
//! - `commands`: thin glue per subcommand (serve, kv, cluster, local-cluster, bench, backup,
//!   completions) and the one error type that carries each command's exit code.
//! - `dash`: the live terminal dashboard (pollers, pure `App::update`, widgets, terminal guard).
//! - `bench`: the closed-loop load generator behind `dcache bench`.
//! - `quorum`: the voters-up / quorum summary of `cluster status`, `cluster health` and `dash`.
//! - `backup`: the file format of `dcache backup save/restore`.
//! - `client`, `types`: the typed HTTP client and the wire types of the client API.
//! - `server`: the listeners; `server::listener` (accept loop, TLS, connection limits),
//!   `server::client_api` (the `/api/v1` routes over the node API, client tokens),
//!   `server::peer_api` (the peer port's router, peer token), `server::metrics` (`/metrics`).
//! - `failpoint`: test-only crash points (`DCACHE_CRASH_AT`), compiled out of release builds.
//! - `fds`: the file-descriptor budget (soft limit raised, caps fitted, EMFILE reported).
//! - `tls`: certificates and keys from PEM files into rustls settings (and reqwest CA bundles).
//! - `node`: the node API every front end uses: writes (forwarded, coalesced), linearized
//!   reads, watches, status, membership, backups; `metrics`: the node's registry.
//! - `peer`: the node-to-node protocol: route table, codec, messages, typed client.
//! - `raft`: openraft wiring; `raft::network` (Raft RPCs over `peer`), `raft::state_machine`,
//!   `raft::store` (the only sled user).
//! - `cache`: the in-memory ordered map with TTL, eviction and watch history, the client
//!   operations it applies and the log payload that carries them; no I/O, no Raft, no clock.
//! - `clock`: the leader's time as any node tells it, which judges expiry on every node.
//! - `version`: the build, its format versions and the test hook that lowers them.

pub mod backup;
pub mod bench;
pub mod cache;
pub mod cli;
pub mod client;
pub mod clock;
pub mod commands;
pub mod config;
pub mod dash;
pub mod failpoint;
pub mod fds;
pub mod metrics;
pub mod node;
pub mod peer;
pub mod quorum;
pub mod raft;
pub mod server;
pub mod tls;
pub mod types;
pub mod version;

/// `err` and its causes joined by `: `, leaving out a cause whose text the message so far
/// already holds (many errors print their source in their own message, and expose it too).
pub fn describe_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(e) = cause {
        let more = e.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = e.source();
    }
    text
}

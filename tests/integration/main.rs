//! The one integration-test binary: real `dcache` processes on free ports, driven over HTTP
//! and through the CLI. Owns only `tests/integration/`; never reaches into `src/`.

// The crate denies unwrap/expect for production code; in tests a panic with the failed
// expectation is exactly the wanted outcome.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backup;
mod bench;
mod binary_keys;
mod cache;
mod cli;
mod cluster;
mod completions;
mod config;
mod crash;
mod dash;
pub(crate) mod disk;
mod durability;
mod failover;
mod faults;
mod hints;
mod kv;
mod local_cluster;
mod pages;
mod resp;
mod resp_limits;
mod security;
mod skew;
mod support;
mod untrusted;
mod upgrade;
mod verbs;
mod watch;

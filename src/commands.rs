//! Thin glue per subcommand: turn parsed options into calls on the library and print.

pub mod bench;
pub mod cluster;
pub mod completions;
pub mod kv;
pub mod local_cluster;
pub mod serve;
pub mod snapshot;

use crate::cli::ClientOpts;
use crate::client::{Access, ClientError};

/// The token and CA bundle given by `--token` / `--cacert` (or their environment variables).
pub fn access(opts: &ClientOpts) -> Result<Access, ClientError> {
    Access::new(opts.token.as_deref(), opts.cacert.as_deref())
}

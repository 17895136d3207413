//! Thin glue per subcommand: turn parsed options into calls on the library and print.

pub mod bench;
pub mod cluster;
pub mod completions;
pub mod kv;
pub mod local_cluster;
pub mod serve;

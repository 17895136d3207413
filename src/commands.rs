//! Thin glue per subcommand: turn parsed options into calls on the library and print. Owns
//! the dispatch from `Cli` to a subcommand and the one error type every subcommand returns,
//! [`CommandError`], whose [`CommandError::exit`] is the process's exit code. Prints results
//! only; `main` prints the error.

pub mod backup;
pub mod batch;
pub mod bench;
pub mod cluster;
pub mod completions;
pub mod dash;
pub mod kv;
pub mod local_cluster;
pub mod scan;
pub mod serve;
pub mod watch;

use crate::cli::{Cli, ClientOpts, Command};
use crate::client::{Access, ClientError};
use crate::config::ConfigError;
use crate::dash::DashError;
use std::os::unix::ffi::OsStrExt;

/// Exit codes of `dcache`, as the README's CLI section documents them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// Anything not listed below: a node that failed to start, a file that cannot be
    /// written, an unexpected answer.
    Failure = 1,
    /// Invalid usage; clap exits with it itself for what it can check.
    Usage = 2,
    KeyNotFound = 3,
    /// The server cannot be reached, or did not answer within `--timeout`.
    Unreachable = 4,
    /// The server refused the request (4xx other than a missing key).
    Rejected = 5,
    /// The server is unavailable (5xx: no leader, not ready, cluster timeout).
    Unavailable = 6,
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}

/// Why a subcommand failed. The message is one sentence for a person that says each cause
/// once (print it with `{}`); the variant fixes the exit code.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A request to a node failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// `dcache serve` or `backup restore` options that do not make a valid node.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The dashboard could not start or had to stop.
    #[error(transparent)]
    Dash(#[from] DashError),
    /// Options clap cannot check on its own.
    #[error("{0}")]
    Usage(String),
    /// A local failure, already phrased with its cause (a file, a damaged backup).
    #[error("{0}")]
    Failed(String),
    /// `cluster health` found a member down or unhealthy, or no quorum.
    #[error("{0}")]
    Unhealthy(String),
    /// Anything else from the glue of `serve` and `local-cluster`; printed with its causes,
    /// each once.
    #[error("{}", crate::describe_chain(.0.as_ref()))]
    Other(#[from] anyhow::Error),
}

impl CommandError {
    /// The exit code for this error.
    pub fn exit(&self) -> Exit {
        match self {
            CommandError::Client(e) => exit_for(e),
            CommandError::Dash(DashError::Client(e)) => exit_for(e),
            CommandError::Dash(
                DashError::NoEndpoints | DashError::BadEndpoint { .. } | DashError::IntervalTooShort(_),
            ) => Exit::Usage,
            CommandError::Usage(_) => Exit::Usage,
            CommandError::Unhealthy(_) => Exit::Unavailable,
            CommandError::Config(_) | CommandError::Dash(_) | CommandError::Failed(_) | CommandError::Other(_) => {
                Exit::Failure
            }
        }
    }
}

/// The exit code of a failed request.
fn exit_for(e: &ClientError) -> Exit {
    match e {
        _ if e.is_not_found() => Exit::KeyNotFound,
        ClientError::Unreachable { .. }
        | ClientError::Timeout { .. }
        | ClientError::Untrusted { .. }
        | ClientError::WrongScheme { .. } => Exit::Unreachable,
        ClientError::Api { status, .. } if *status >= 500 => Exit::Unavailable,
        ClientError::Api { .. } | ClientError::BadUrl { .. } | ClientError::BadCaCert { .. } => Exit::Rejected,
        ClientError::Protocol { .. } => Exit::Failure,
        ClientError::AllEndpoints { last, .. } | ClientError::WatchLost { last, .. } => exit_for(last),
        ClientError::TokenWithheld { .. } => Exit::Usage,
    }
}

/// Runs the subcommand `cli` names.
pub async fn run(cli: Cli) -> Result<(), CommandError> {
    match cli.command {
        Command::Serve(args) => serve::run(&args).await?,
        Command::Backup { command, .. } => backup::run(&command).await?,
        Command::Completions { shell } => completions::write(shell, &mut std::io::stdout()),
        Command::Bench { args, client } => bench::run(&client, &args).await?,
        Command::LocalCluster {
            nodes,
            base_port,
            data_dir,
        } => {
            let cluster = local_cluster::LocalCluster {
                nodes,
                base_port,
                data_dir,
            };
            local_cluster::run(&cluster).await?
        }
        Command::Dash { args, client } => dash::run(&client, &args).await?,
        Command::Set {
            key,
            value,
            file,
            ttl,
            if_version,
            if_absent,
            client,
        } => {
            let if_version = if if_absent { Some(0) } else { if_version };
            let value = kv::value_from(value, file.as_deref())?;
            kv::set(&client, key.as_bytes(), &value, ttl, if_version).await?
        }
        Command::Expire { key, duration, client } => kv::expire(&client, key.as_bytes(), duration).await?,
        Command::Persist { key, client } => kv::persist(&client, key.as_bytes()).await?,
        Command::Ttl {
            key,
            consistency,
            client,
        } => kv::ttl(&client, key.as_bytes(), consistency).await?,
        Command::Watch {
            prefix,
            from_version,
            client,
        } => watch::run(&client, prefix.as_bytes(), from_version).await?,
        Command::Get {
            key,
            prefix: true,
            keys_only,
            limit,
            consistency,
            client,
        } => {
            let listing = scan::Listing {
                prefix: key.as_bytes(),
                limit,
                consistency,
                keys_only,
            };
            scan::run(&client, &listing).await?
        }
        Command::Get {
            key,
            keys_only,
            consistency,
            client,
            ..
        } => kv::get(&client, key.as_bytes(), consistency, keys_only).await?,
        Command::Delete {
            key,
            prefix: true,
            yes,
            client,
            ..
        } => batch::delete_prefix(&client, key.as_bytes(), yes).await?,
        Command::Delete {
            key,
            if_version,
            client,
            ..
        } => kv::delete(&client, key.as_bytes(), if_version).await?,
        Command::Txn { file, client } => batch::txn(&client, file.as_deref()).await?,
        Command::Scan {
            prefix,
            limit,
            all,
            consistency,
            client,
        } => {
            let listing = scan::Listing {
                prefix: prefix.as_bytes(),
                limit: (!all).then_some(limit),
                consistency,
                keys_only: false,
            };
            scan::run(&client, &listing).await?
        }
        Command::Cluster { command, client } => cluster::run(&client, &command).await?,
    }
    Ok(())
}

/// The token and CA bundle given by `--token` / `--cacert` (or their environment variables),
/// the token guarded by the first URL the command talks to (`--endpoints`, else `--server`; see [`Access::guarded_by`]).
pub fn access(opts: &ClientOpts) -> Result<Access, ClientError> {
    let urls = opts.urls();
    access_from(opts, urls.first().unwrap_or(&opts.server))
}

/// Like [`access`], the token guarded by `first` (the first of `--endpoints`).
pub fn access_from(opts: &ClientOpts, first: &str) -> Result<Access, ClientError> {
    Ok(Access::new(opts.token.as_deref(), opts.cacert.as_deref())?.guarded_by(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot load state from /d: disk full")]
    struct Outer {
        #[source]
        cause: std::io::Error,
    }

    #[test]
    fn a_cause_already_in_the_message_is_said_once() {
        let e = anyhow::Error::new(Outer {
            cause: std::io::Error::other("disk full"),
        })
        .context("cannot restore into /d");
        assert_eq!(
            CommandError::from(e).to_string(),
            "cannot restore into /d: cannot load state from /d: disk full"
        );
    }

    #[test]
    fn exit_codes_follow_the_readme() {
        let unreachable = ClientError::Unreachable {
            url: "http://x:1".into(),
            reason: "refused".into(),
        };
        assert_eq!(CommandError::from(unreachable).exit(), Exit::Unreachable);
        let missing = ClientError::Api {
            status: 404,
            code: crate::types::ErrorCode::KeyNotFound,
            message: "no".into(),
        };
        assert_eq!(CommandError::from(missing).exit(), Exit::KeyNotFound);
        let no_leader = ClientError::Api {
            status: 503,
            code: crate::types::ErrorCode::NoLeader,
            message: "no".into(),
        };
        assert_eq!(CommandError::from(no_leader).exit(), Exit::Unavailable);
        assert_eq!(CommandError::Usage("x".into()).exit(), Exit::Usage);
        assert_eq!(CommandError::Failed("x".into()).exit(), Exit::Failure);
    }
}

//! The checked runtime configuration of `dcache serve`: YAML file, then flags on top, then
//! validation. Every error names where the bad value came from (file and key, or flag), the
//! value, and what would be accepted. This file owns `Config`, its error type and the order
//! in which the sections are checked; each section's rules live in a submodule (`file`,
//! `identity`, `urls`, `security`, `limits`, `tuning`). Parsing the command line is
//! `cli`'s job, reading PEM files `tls`'s.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::cli::ServeArgs;

mod file;
mod identity;
mod limits;
pub mod security;
mod tuning;
mod urls;

use file::FileConfig;
use security::{ConnLimits, Security};

pub use crate::cli::DEFAULT_CLIENT_URL;
pub use limits::Limits;
pub use tuning::RaftTuning;
pub(crate) use urls::{base_url, check_name};

/// Default peer URL.
pub const DEFAULT_PEER_URL: &str = "http://127.0.0.1:8081";
/// Where the Redis-protocol listener binds by default.
pub const DEFAULT_RESP_URL: &str = "redis://127.0.0.1:6379";

/// A configuration error: one sentence for a person.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// Whether this node founds a new cluster or joins a running one on its first start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterState {
    New,
    Existing,
}

/// A validated node configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub name: String,
    pub cluster_id: String,
    pub data_dir: PathBuf,
    pub listen_client: SocketAddr,
    pub advertise_client_url: String,
    pub listen_peer: SocketAddr,
    pub advertise_peer_url: String,
    /// Where the Redis-protocol listener binds; `None` when disabled.
    pub listen_resp: Option<SocketAddr>,
    /// The RESP URL published for this node; empty when disabled.
    pub advertise_resp_url: String,
    /// `(name, peer URL)` of the founding members, sorted by name.
    pub initial_cluster: Vec<(String, String)>,
    pub initial_cluster_state: ClusterState,
    /// A client URL of a running cluster to join on first start.
    pub join: Option<String>,
    /// TLS, tokens and the peer secret.
    pub security: Security,
    /// Connection limits of both listeners.
    pub conn_limits: ConnLimits,
    pub log_level: String,
    pub limits: Limits,
    pub raft: RaftTuning,
    /// The file the configuration was read from, if any.
    pub file: Option<PathBuf>,
    /// Settings that work but expose the node (plain HTTP or no tokens beyond loopback, a
    /// peer token in clear text, a data dir others can read): logged at start and printed
    /// by `serve --check`.
    pub warnings: Vec<String>,
}

/// The two sources of every setting (flags win over the file) and where the file is, so a
/// section can report which one a bad value came from.
struct Sources<'a> {
    args: &'a ServeArgs,
    file: &'a FileConfig,
    path: Option<&'a Path>,
}

impl Sources<'_> {
    /// An [`ConfigError::Invalid`] for `key`, naming the flag when the value came from one,
    /// else the file and key.
    fn invalid(&self, key: &str, from_flag: bool, message: impl Into<String>) -> ConfigError {
        let origin = match (from_flag, self.path) {
            (true, _) | (false, None) => format!("--{key}"),
            (false, Some(f)) => format!("{}: key `{key}`", f.display()),
        };
        ConfigError::Invalid {
            origin,
            message: message.into(),
        }
    }
}

/// Picks the flag if given, else the file's value; remembers which (true = the flag).
fn pick<T: Clone>(flag: &Option<T>, file: &Option<T>) -> (Option<T>, bool) {
    match flag {
        Some(v) => (Some(v.clone()), true),
        None => (file.clone(), false),
    }
}

impl Config {
    /// Reads `args.config` (if given), applies the flags over it and validates the result,
    /// including that the data dir can be created and written (the only side effect, done
    /// last, once everything else is valid). The first invalid setting is the error.
    pub fn load(args: &ServeArgs) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => file::read(path)?,
            None => FileConfig::default(),
        };
        let src = Sources {
            args,
            file: &file,
            path: args.config.as_deref(),
        };
        let (name, cluster_id) = identity::name_and_cluster(&src)?;
        let urls = urls::load(&src, &name)?;
        let security = security::load(&src, &urls)?;
        let conn_limits = limits::connections(&src)?;
        let log_level = identity::log_level(&src)?;
        let limits = limits::load(&src)?;
        let raft = tuning::load(&src)?;
        let (data_dir, dir_warning) = identity::data_dir(&src)?;
        let mut warnings = security::exposure(&security, urls.listen_client, urls.listen_peer, urls.listen_resp);
        warnings.extend(dir_warning);
        Ok(Config {
            name,
            cluster_id,
            data_dir,
            listen_client: urls.listen_client,
            advertise_client_url: urls.advertise_client_url,
            listen_peer: urls.listen_peer,
            advertise_peer_url: urls.advertise_peer_url,
            listen_resp: urls.listen_resp,
            advertise_resp_url: urls.advertise_resp_url,
            initial_cluster: urls.initial_cluster,
            initial_cluster_state: urls.initial_cluster_state,
            join: urls.join,
            security,
            conn_limits,
            log_level,
            limits,
            raft,
            file: args.config.clone(),
            warnings,
        })
    }
}

impl fmt::Display for Config {
    /// A one-paragraph summary for the startup log and `serve --check`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let members: Vec<String> = self.initial_cluster.iter().map(|(n, u)| format!("{n}={u}")).collect();
        writeln!(f, "name:            {}", self.name)?;
        writeln!(f, "cluster-id:      {}", self.cluster_id)?;
        writeln!(f, "data-dir:        {}", self.data_dir.display())?;
        writeln!(
            f,
            "client:          listen {} advertise {}",
            self.listen_client, self.advertise_client_url
        )?;
        writeln!(
            f,
            "peer:            listen {} advertise {}",
            self.listen_peer, self.advertise_peer_url
        )?;
        match self.listen_resp {
            Some(addr) => writeln!(
                f,
                "resp:            listen {addr} advertise {}",
                self.advertise_resp_url
            )?,
            None => writeln!(f, "resp:            off")?,
        }
        writeln!(f, "initial-cluster: {}", members.join(","))?;
        writeln!(
            f,
            "limits:          key {} B, value {} B, memory {}, request timeout {:?}",
            self.limits.max_key_bytes,
            self.limits.max_value_bytes,
            self.limits
                .max_memory
                .map_or("unbounded".to_string(), |m| format!("{m} B")),
            self.limits.request_timeout
        )?;
        let on = |b: bool| if b { "on" } else { "off" };
        writeln!(
            f,
            "security:        client TLS {}, peer mutual TLS {}, peer-token {}, client tokens {}",
            on(self.security.client_tls.is_some()),
            on(self.security.peer_tls.is_some()),
            if self.security.peer_token.is_some() {
                "set"
            } else {
                "unset"
            },
            match self.security.auth_tokens.len() {
                0 => "none (client API open)".to_string(),
                n => n.to_string(),
            }
        )?;
        writeln!(
            f,
            "connections:     at most {} per listener (+{} pending), {} watchers, request head <= {} B within {:?}",
            self.conn_limits.max_connections,
            self.conn_limits.max_pending,
            self.conn_limits.max_watchers,
            self.conn_limits.max_header_bytes,
            self.conn_limits.header_read_timeout
        )?;
        write!(
            f,
            "raft:            heartbeat {} ms, election {}-{} ms, snapshot every {} entries",
            self.raft.heartbeat_interval_ms,
            self.raft.election_timeout_ms,
            self.raft.election_timeout_ms * 2,
            self.raft.snapshot_logs
        )
    }
}

//! The checked runtime configuration of `dcache serve`: YAML file, then flags on top, then
//! validation. Every error names where the bad value came from (file and key, or flag), the
//! value, and what would be accepted.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::cli::ServeArgs;

pub mod security;

use security::{check_token, is_https, AuthToken, ConnLimits, PeerTls, Role, Security, TlsFiles};

/// Default client URL, for `dcache serve` with no flags and for the CLI.
pub const DEFAULT_CLIENT_URL: &str = "http://127.0.0.1:8080";
/// Default peer URL.
pub const DEFAULT_PEER_URL: &str = "http://127.0.0.1:8081";

/// Longest `request-timeout` and `header-read-timeout`: deadlines are `now + timeout`, which
/// must stay representable, and anything longer is surely a typo.
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// Longest `election-timeout-ms` (as etcd, about a minute): Raft multiplies it by four for
/// its timers, and a longer one only means a longer outage when a leader dies.
const MAX_ELECTION_TIMEOUT_MS: u64 = 60_000;

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

/// The YAML file, key for key. Unknown keys are rejected so typos do not pass silently.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    name: Option<String>,
    cluster_id: Option<String>,
    data_dir: Option<PathBuf>,
    listen_client_urls: Option<String>,
    advertise_client_urls: Option<String>,
    listen_peer_urls: Option<String>,
    initial_advertise_peer_urls: Option<String>,
    initial_cluster: Option<String>,
    initial_cluster_state: Option<String>,
    join: Option<String>,
    log_level: Option<String>,
    max_key_bytes: Option<usize>,
    max_value_bytes: Option<usize>,
    max_memory: Option<String>,
    peer_token: Option<String>,
    client_cert_file: Option<PathBuf>,
    client_key_file: Option<PathBuf>,
    trusted_ca_file: Option<PathBuf>,
    peer_cert_file: Option<PathBuf>,
    peer_key_file: Option<PathBuf>,
    peer_trusted_ca_file: Option<PathBuf>,
    auth_tokens: Option<Vec<AuthToken>>,
    join_token: Option<String>,
    max_connections: Option<usize>,
    max_header_bytes: Option<usize>,
    header_read_timeout: Option<String>,
    request_timeout: Option<String>,
    snapshot_logs: Option<u64>,
    heartbeat_interval_ms: Option<u64>,
    election_timeout_ms: Option<u64>,
}

/// Whether this node founds a new cluster or joins a running one on its first start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterState {
    New,
    Existing,
}

/// Request limits enforced by the client API.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest key in bytes (default 4 KiB).
    pub max_key_bytes: usize,
    /// Longest value in bytes (default 1 MiB).
    pub max_value_bytes: usize,
    /// Memory bound of the cache in bytes (`max-memory`); `None` = unbounded.
    pub max_memory: Option<u64>,
    /// How long a request may wait for Raft (commit, leader election, forwarding).
    pub request_timeout: Duration,
}

/// Raft timing and log compaction.
#[derive(Debug, Clone)]
pub struct RaftTuning {
    pub heartbeat_interval_ms: u64,
    /// Minimum election timeout; the maximum is twice this.
    pub election_timeout_ms: u64,
    /// Take a snapshot (and purge the log behind it) every this many entries.
    pub snapshot_logs: u64,
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
}

/// Where a value came from, for error messages.
struct Origin<'a> {
    file: Option<&'a Path>,
}

impl Origin<'_> {
    fn of(&self, key: &str, from_flag: bool) -> String {
        match (from_flag, self.file) {
            (true, _) | (false, None) => format!("--{key}"),
            (false, Some(f)) => format!("{}: key `{key}`", f.display()),
        }
    }
}

/// Picks the flag if given, else the file's value; remembers which.
fn pick<T: Clone>(flag: &Option<T>, file: &Option<T>) -> (Option<T>, bool) {
    match flag {
        Some(v) => (Some(v.clone()), true),
        None => (file.clone(), false),
    }
}

impl Config {
    /// Reads `args.config` (if given), applies the flags over it and validates the result,
    /// including that the data dir can be created and written.
    pub fn load(args: &ServeArgs) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let origin = Origin {
            file: args.config.as_deref(),
        };
        let invalid = |key: &str, from_flag: bool, message: String| ConfigError::Invalid {
            origin: origin.of(key, from_flag),
            message,
        };

        let (name, f) = pick(&args.name, &file.name);
        let name = name.unwrap_or_else(|| "node1".to_string());
        check_name(&name).map_err(|m| invalid("name", f, m))?;

        let (cluster_id, f) = pick(&args.cluster_id, &file.cluster_id);
        let cluster_id = cluster_id.unwrap_or_else(|| "dcache".to_string());
        if cluster_id.trim().is_empty() {
            return Err(invalid("cluster-id", f, "must not be empty".into()));
        }

        let (listen, f) = pick(&args.listen_client_urls, &file.listen_client_urls);
        let listen_client_url = listen.unwrap_or_else(|| DEFAULT_CLIENT_URL.to_string());
        let listen_client = listen_addr(&listen_client_url).map_err(|m| invalid("listen-client-urls", f, m))?;

        let (adv, f) = pick(&args.advertise_client_urls, &file.advertise_client_urls);
        let advertise_client_url = match adv {
            Some(u) => base_url(&u).map_err(|m| invalid("advertise-client-urls", f, m))?,
            None => base_url(&listen_client_url).map_err(|m| invalid("listen-client-urls", f, m))?,
        };

        let (listen, f) = pick(&args.listen_peer_urls, &file.listen_peer_urls);
        let listen_peer_url = listen.unwrap_or_else(|| DEFAULT_PEER_URL.to_string());
        let listen_peer = listen_addr(&listen_peer_url).map_err(|m| invalid("listen-peer-urls", f, m))?;
        if listen_peer == listen_client {
            return Err(invalid(
                "listen-peer-urls",
                f,
                format!("`{listen_peer_url}` is the same address as the client listener; give peers their own port"),
            ));
        }

        let (adv, f) = pick(&args.initial_advertise_peer_urls, &file.initial_advertise_peer_urls);
        let advertise_peer_url = match adv {
            Some(u) => base_url(&u).map_err(|m| invalid("initial-advertise-peer-urls", f, m))?,
            None => base_url(&listen_peer_url).map_err(|m| invalid("listen-peer-urls", f, m))?,
        };

        let (ic, f) = pick(&args.initial_cluster, &file.initial_cluster);
        let initial_cluster = match ic {
            Some(s) => parse_initial_cluster(&s).map_err(|m| invalid("initial-cluster", f, m))?,
            None => vec![(name.clone(), advertise_peer_url.clone())],
        };
        match initial_cluster.iter().find(|(n, _)| *n == name) {
            None => {
                return Err(invalid(
                    "initial-cluster",
                    f,
                    format!(
                        "this node's name `{name}` is not listed (members: {}); add `{name}={advertise_peer_url}`",
                        initial_cluster
                            .iter()
                            .map(|(n, _)| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            }
            Some((_, url)) if *url != advertise_peer_url => {
                return Err(invalid(
                    "initial-cluster",
                    f,
                    format!(
                    "lists `{name}={url}` but this node advertises peer URL `{advertise_peer_url}`; make them match"
                ),
                ))
            }
            Some(_) => {}
        }

        let (state, f) = pick(&args.initial_cluster_state, &file.initial_cluster_state);
        let initial_cluster_state = match state.as_deref() {
            None | Some("new") => ClusterState::New,
            Some("existing") => ClusterState::Existing,
            Some(other) => {
                return Err(invalid(
                    "initial-cluster-state",
                    f,
                    format!("`{other}` is not valid; use `new` or `existing`"),
                ))
            }
        };

        let (join, f) = pick(&args.join, &file.join);
        let join = join
            .map(|u| base_url(&u))
            .transpose()
            .map_err(|m| invalid("join", f, m))?;

        let (token, f) = pick(&args.peer_token, &file.peer_token);
        if let Some(t) = &token {
            check_token(t).map_err(|m| invalid("peer-token", f, m))?;
        }
        let mut security = Security {
            peer_token: token,
            ..Security::default()
        };

        // TLS is switched on per listener by the scheme of its URLs, which must then agree.
        let (cert, fc) = pick(&args.client_cert_file, &file.client_cert_file);
        let (key, fk) = pick(&args.client_key_file, &file.client_key_file);
        let client_https = listen_client_url.trim().starts_with("https://");
        if is_https(&advertise_client_url) != client_https {
            return Err(invalid(
                "advertise-client-urls",
                f,
                format!("`{advertise_client_url}` and listen-client-urls `{listen_client_url}` must both be https:// or both http://"),
            ));
        }
        if client_https {
            let cert =
                cert.ok_or_else(|| invalid("client-cert-file", fc, "is required for an https:// client URL".into()))?;
            let key =
                key.ok_or_else(|| invalid("client-key-file", fk, "is required for an https:// client URL".into()))?;
            security.client_tls = Some(TlsFiles { cert, key });
        } else if cert.is_some() || key.is_some() {
            return Err(invalid(
                if cert.is_some() {
                    "client-cert-file"
                } else {
                    "client-key-file"
                },
                if cert.is_some() { fc } else { fk },
                format!(
                    "is set but listen-client-urls `{listen_client_url}` is plain http; use https:// to switch TLS on"
                ),
            ));
        }
        let (ca, _) = pick(&args.trusted_ca_file, &file.trusted_ca_file);
        security.trusted_ca = ca;

        let (cert, fc) = pick(&args.peer_cert_file, &file.peer_cert_file);
        let (key, fk) = pick(&args.peer_key_file, &file.peer_key_file);
        let (ca, fca) = pick(&args.peer_trusted_ca_file, &file.peer_trusted_ca_file);
        let peer_https = is_https(&advertise_peer_url);
        if let Some((n, u)) = initial_cluster.iter().find(|(_, u)| is_https(u) != peer_https) {
            return Err(invalid(
                "initial-cluster",
                f,
                format!("`{n}={u}` and this node's peer URL `{advertise_peer_url}` differ in scheme; every peer URL must be https:// or every one http://"),
            ));
        }
        if peer_https != listen_peer_url.trim().starts_with("https://") {
            return Err(invalid(
                "listen-peer-urls",
                f,
                format!("`{listen_peer_url}` and the advertised peer URL `{advertise_peer_url}` must both be https:// or both http://"),
            ));
        }
        if peer_https {
            let need = |v: Option<PathBuf>, key: &str, from: bool| {
                v.ok_or_else(|| {
                    invalid(
                        key,
                        from,
                        "is required for https:// peer URLs (mutual TLS between peers)".into(),
                    )
                })
            };
            security.peer_tls = Some(PeerTls {
                files: TlsFiles {
                    cert: need(cert, "peer-cert-file", fc)?,
                    key: need(key, "peer-key-file", fk)?,
                },
                ca: need(ca, "peer-trusted-ca-file", fca)?,
            });
        } else if let Some((key, from)) = [
            ("peer-cert-file", cert.is_some(), fc),
            ("peer-key-file", key.is_some(), fk),
            ("peer-trusted-ca-file", ca.is_some(), fca),
        ]
        .into_iter()
        .find(|(_, set, _)| *set)
        .map(|(k, _, from)| (k, from))
        {
            return Err(invalid(
                key,
                from,
                format!("is set but listen-peer-urls `{listen_peer_url}` is plain http; use https:// peer URLs to switch TLS on"),
            ));
        }

        let from_flags = !args.auth_tokens.is_empty() || !args.read_only_tokens.is_empty();
        security.auth_tokens = if from_flags {
            let rw = args.auth_tokens.iter().map(|t| (t, Role::ReadWrite));
            let ro = args.read_only_tokens.iter().map(|t| (t, Role::ReadOnly));
            rw.chain(ro)
                .map(|(t, role)| AuthToken { token: t.clone(), role })
                .collect()
        } else {
            file.auth_tokens.clone().unwrap_or_default()
        };
        for (i, t) in security.auth_tokens.iter().enumerate() {
            check_token(&t.token).map_err(|m| invalid("auth-tokens", from_flags, format!("token #{} {m}", i + 1)))?;
            if security.auth_tokens[..i].iter().any(|o| o.token == t.token) {
                return Err(invalid(
                    "auth-tokens",
                    from_flags,
                    format!("token #{} is listed twice", i + 1),
                ));
            }
        }
        let (token, f) = pick(&args.join_token, &file.join_token);
        if let Some(t) = &token {
            check_token(t).map_err(|m| invalid("join-token", f, m))?;
        }
        security.join_token = token;

        let defaults = ConnLimits::default();
        let (v, f) = pick(&args.max_connections, &file.max_connections);
        let max_connections =
            positive(v.unwrap_or(defaults.max_connections)).map_err(|m| invalid("max-connections", f, m))?;
        let (v, f) = pick(&args.max_header_bytes, &file.max_header_bytes);
        let max_header_bytes = v.unwrap_or(defaults.max_header_bytes);
        if !(1024..=1024 * 1024).contains(&max_header_bytes) {
            return Err(invalid(
                "max-header-bytes",
                f,
                format!("`{max_header_bytes}` is out of range; use 1024 to 1048576"),
            ));
        }
        let (v, f) = pick(&args.header_read_timeout, &file.header_read_timeout);
        let header_read_timeout = match v {
            None => defaults.header_read_timeout,
            Some(s) => duration_in(
                &s,
                Duration::from_millis(100)..=MAX_TIMEOUT,
                "is out of range; use 100ms to 24h",
                "10s",
            )
            .map_err(|m| invalid("header-read-timeout", f, m))?,
        };
        let conn_limits = ConnLimits {
            max_connections,
            max_header_bytes,
            header_read_timeout,
        };

        let (level, f) = pick(&args.log_level, &file.log_level);
        let log_level = level.unwrap_or_else(|| "info".to_string());
        tracing_subscriber::EnvFilter::try_new(&log_level).map_err(|e| {
            invalid(
                "log-level",
                f,
                format!("`{log_level}` is not a log level ({e}); use error, warn, info, debug or trace"),
            )
        })?;

        let (v, f) = pick(&args.max_key_bytes, &file.max_key_bytes);
        let max_key_bytes = positive(v.unwrap_or(4096)).map_err(|m| invalid("max-key-bytes", f, m))?;
        let (v, f) = pick(&args.max_value_bytes, &file.max_value_bytes);
        let max_value_bytes = positive(v.unwrap_or(1024 * 1024)).map_err(|m| invalid("max-value-bytes", f, m))?;
        let (v, f) = pick(&args.max_memory, &file.max_memory);
        let max_memory = match v.as_deref().map(str::trim) {
            None | Some("") | Some("off") | Some("0") => None,
            Some(s) => Some(
                s.parse::<bytesize::ByteSize>()
                    .map_err(|e| {
                        invalid(
                            "max-memory",
                            f,
                            format!("`{s}` is not a size ({e}); e.g. 64MiB, 2GiB, off"),
                        )
                    })?
                    .as_u64(),
            ),
        };
        if let Some(m) = max_memory.filter(|m| {
            *m < (max_value_bytes.saturating_add(max_key_bytes) as u64).saturating_add(crate::cache::ENTRY_OVERHEAD)
        }) {
            return Err(invalid(
                "max-memory",
                f,
                format!("{m} bytes cannot hold even one maximal entry (max-key-bytes + max-value-bytes); raise it or lower those"),
            ));
        }
        let (v, f) = pick(&args.request_timeout, &file.request_timeout);
        let request_timeout = match v {
            None => Duration::from_secs(5),
            Some(s) => duration_in(
                &s,
                Duration::ZERO..=MAX_TIMEOUT,
                "is too long; use at most 24h",
                "500ms, 5s",
            )
            .map_err(|m| invalid("request-timeout", f, m))?,
        };

        let (v, f) = pick(&args.snapshot_logs, &file.snapshot_logs);
        let snapshot_logs = v.unwrap_or(10_000);
        if snapshot_logs < 10 {
            return Err(invalid(
                "snapshot-logs",
                f,
                format!("`{snapshot_logs}` is too small; use at least 10"),
            ));
        }
        let (v, f) = pick(&args.heartbeat_interval_ms, &file.heartbeat_interval_ms);
        let heartbeat_interval_ms = v.unwrap_or(100);
        let (v, fe) = pick(&args.election_timeout_ms, &file.election_timeout_ms);
        let election_timeout_ms = v.unwrap_or(400);
        if election_timeout_ms > MAX_ELECTION_TIMEOUT_MS {
            return Err(invalid(
                "election-timeout-ms",
                fe,
                format!("`{election_timeout_ms}` is too long; use at most {MAX_ELECTION_TIMEOUT_MS}"),
            ));
        }
        if heartbeat_interval_ms == 0 || election_timeout_ms < heartbeat_interval_ms.saturating_mul(2) {
            return Err(invalid(
                if fe { "election-timeout-ms" } else { "heartbeat-interval-ms" },
                fe || f,
                format!(
                    "election timeout {election_timeout_ms} ms must be at least twice the heartbeat interval {heartbeat_interval_ms} ms"
                ),
            ));
        }

        let (dir, f) = pick(&args.data_dir, &file.data_dir);
        let data_dir = dir.unwrap_or_else(|| PathBuf::from("./dcache-data"));
        check_writable(&data_dir).map_err(|m| invalid("data-dir", f, m))?;

        Ok(Config {
            name,
            cluster_id,
            data_dir,
            listen_client,
            advertise_client_url,
            listen_peer,
            advertise_peer_url,
            initial_cluster,
            initial_cluster_state,
            join,
            security,
            conn_limits,
            log_level,
            limits: Limits {
                max_key_bytes,
                max_value_bytes,
                max_memory,
                request_timeout,
            },
            raft: RaftTuning {
                heartbeat_interval_ms,
                election_timeout_ms,
                snapshot_logs,
            },
            file: args.config.clone(),
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
            "connections:     at most {} per listener, request head <= {} B within {:?}",
            self.conn_limits.max_connections, self.conn_limits.max_header_bytes, self.conn_limits.header_read_timeout
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

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if text.trim().is_empty() {
        return Ok(FileConfig::default());
    }
    serde_yaml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: describe_yaml_error(&e),
    })
}

/// Rewords serde's messages so they speak of keys, not fields.
fn describe_yaml_error(e: &serde_yaml::Error) -> String {
    let msg = e.to_string().replace("unknown field", "unknown key");
    match msg.split_once(", expected one of") {
        Some((head, rest)) => {
            // Keep the location serde appends after the list of expected keys.
            let location = rest
                .rsplit_once(" at line ")
                .map(|(_, l)| format!(" at line {l}"))
                .unwrap_or_default();
            format!("{head}{location}; see config/dcache.yaml for every valid key")
        }
        None => msg,
    }
}

pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(format!("`{name}` may only hold letters, digits, `-`, `_` and `.`"));
    }
    Ok(())
}

/// Parses a duration that must lie in `range`; `out_of_range` and `example` complete the
/// error messages.
fn duration_in(
    s: &str,
    range: std::ops::RangeInclusive<Duration>,
    out_of_range: &str,
    example: &str,
) -> Result<Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if range.contains(&d) => Ok(d),
        Ok(_) => Err(format!("`{s}` {out_of_range}")),
        Err(e) => Err(format!("`{s}` is not a duration ({e}); e.g. {example}")),
    }
}

fn positive(v: usize) -> Result<usize, String> {
    if v == 0 {
        Err("must be greater than 0".into())
    } else {
        Ok(v)
    }
}

/// Parses and normalizes an `http://host:port` base URL (no path, no trailing slash).
pub(crate) fn base_url(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.contains(',') {
        return Err(format!("`{s}` lists several URLs; give exactly one"));
    }
    let url = url::Url::parse(s)
        .map_err(|e| format!("`{s}` is not a valid URL ({e}); expected e.g. http://127.0.0.1:8080"))?;
    let scheme = url.scheme();
    if scheme != "http" && scheme != "https" {
        return Err(format!("`{s}` has scheme `{scheme}`; expected http:// or https://"));
    }
    let host = url.host_str().ok_or_else(|| format!("`{s}` has no host"))?;
    let port = url
        .port()
        .ok_or_else(|| format!("`{s}` has no port; expected e.g. http://127.0.0.1:8080"))?;
    if url.path() != "/" && !url.path().is_empty() {
        return Err(format!("`{s}` has a path; give only scheme, host and port"));
    }
    Ok(format!("{scheme}://{host}:{port}"))
}

fn listen_addr(s: &str) -> Result<SocketAddr, String> {
    let base = base_url(s)?;
    let hostport = base.split_once("://").map_or(base.as_str(), |(_, rest)| rest);
    hostport
        .to_socket_addrs()
        .map_err(|e| format!("`{s}`: cannot resolve `{hostport}` ({e})"))?
        .next()
        .ok_or_else(|| format!("`{s}`: `{hostport}` resolves to no address"))
}

fn parse_initial_cluster(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut members = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, url) = part
            .split_once('=')
            .ok_or_else(|| format!("`{part}` is not `name=url`; expected e.g. node1=http://127.0.0.1:8081"))?;
        check_name(name.trim()).map_err(|m| format!("member name {m}"))?;
        let url = base_url(url)?;
        if members.iter().any(|(n, _)| n == name.trim()) {
            return Err(format!("member `{}` is listed twice", name.trim()));
        }
        if members.iter().any(|(_, u)| *u == url) {
            return Err(format!("peer URL `{url}` is listed twice"));
        }
        members.push((name.trim().to_string(), url));
    }
    if members.is_empty() {
        return Err("is empty; expected e.g. node1=http://127.0.0.1:8081".into());
    }
    members.sort();
    Ok(members)
}

/// Creates `dir` if needed and proves a file can be written in it.
fn check_writable(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("`{}` cannot be created: {e}", dir.display()))?;
    let probe = dir.join(".dcache-write-probe");
    std::fs::write(&probe, b"ok").map_err(|e| format!("`{}` is not writable: {e}", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_cluster_is_sorted_and_checked() {
        let m = parse_initial_cluster("b=http://127.0.0.1:2, a=http://127.0.0.1:1").unwrap();
        assert_eq!(m[0].0, "a");
        assert!(parse_initial_cluster("a=http://127.0.0.1:1,a=http://127.0.0.1:2").is_err());
        assert!(parse_initial_cluster("a").is_err());
        assert!(parse_initial_cluster("").is_err());
    }

    #[test]
    fn base_url_normalizes_and_rejects() {
        assert_eq!(base_url("http://127.0.0.1:8080/").unwrap(), "http://127.0.0.1:8080");
        assert!(base_url("not a url").unwrap_err().contains("not a valid URL"));
        assert!(base_url("http://127.0.0.1").unwrap_err().contains("no port"));
        assert!(base_url("ftp://h:1").is_err());
    }
}

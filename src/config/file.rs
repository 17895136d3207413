//! The YAML config file as written, key for key, and reading it. Owns nothing about what the
//! values mean: the sections of `config` check them.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::security::AuthToken;
use super::ConfigError;

/// The YAML file, key for key. Unknown keys are rejected so typos do not pass silently.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct FileConfig {
    pub(super) name: Option<String>,
    pub(super) cluster_id: Option<String>,
    pub(super) data_dir: Option<PathBuf>,
    pub(super) listen_client_urls: Option<String>,
    pub(super) advertise_client_urls: Option<String>,
    pub(super) listen_resp_urls: Option<String>,
    pub(super) advertise_resp_urls: Option<String>,
    pub(super) listen_peer_urls: Option<String>,
    pub(super) initial_advertise_peer_urls: Option<String>,
    pub(super) initial_cluster: Option<String>,
    pub(super) initial_cluster_state: Option<String>,
    pub(super) join: Option<String>,
    pub(super) log_level: Option<String>,
    pub(super) max_key_bytes: Option<usize>,
    pub(super) max_value_bytes: Option<usize>,
    pub(super) max_memory: Option<String>,
    pub(super) peer_token: Option<String>,
    pub(super) client_cert_file: Option<PathBuf>,
    pub(super) client_key_file: Option<PathBuf>,
    pub(super) trusted_ca_file: Option<PathBuf>,
    pub(super) peer_cert_file: Option<PathBuf>,
    pub(super) peer_key_file: Option<PathBuf>,
    pub(super) peer_trusted_ca_file: Option<PathBuf>,
    pub(super) auth_tokens: Option<Vec<AuthToken>>,
    pub(super) join_token: Option<String>,
    pub(super) max_connections: Option<usize>,
    pub(super) max_watchers: Option<usize>,
    pub(super) max_header_bytes: Option<usize>,
    pub(super) header_read_timeout: Option<String>,
    pub(super) request_timeout: Option<String>,
    pub(super) snapshot_logs: Option<u64>,
    pub(super) heartbeat_interval_ms: Option<u64>,
    pub(super) election_timeout_ms: Option<u64>,
}

/// Reads and parses the file at `path`; an empty file is the default (every key unset).
pub(super) fn read(path: &Path) -> Result<FileConfig, ConfigError> {
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

//! Who the node is and where it keeps its state: `name`, `cluster-id`, `log-level` and
//! `data-dir` (the one check with a side effect: the directory is created and probed).

use std::path::{Path, PathBuf};

use super::urls::check_name;
use super::{pick, ConfigError, Sources};

/// The node's name (default `node1`, letters, digits, `-`, `_`, `.`) and its cluster id
/// (default `dcache`, not blank).
pub(super) fn name_and_cluster(src: &Sources<'_>) -> Result<(String, String), ConfigError> {
    let (name, f) = pick(&src.args.name, &src.file.name);
    let name = name.unwrap_or_else(|| "node1".to_string());
    check_name(&name).map_err(|m| src.invalid("name", f, m))?;

    let (cluster_id, f) = pick(&src.args.cluster_id, &src.file.cluster_id);
    let cluster_id = cluster_id.unwrap_or_else(|| "dcache".to_string());
    if cluster_id.trim().is_empty() {
        return Err(src.invalid("cluster-id", f, "must not be empty"));
    }
    if !cluster_id.bytes().all(|b| b.is_ascii_graphic()) || cluster_id.len() > 128 {
        return Err(src.invalid(
            "cluster-id",
            f,
            "must be at most 128 printable ASCII characters without spaces (it travels in every peer request)",
        ));
    }
    Ok((name, cluster_id))
}

/// The log filter (default `info`); must parse as a `tracing` env filter.
pub(super) fn log_level(src: &Sources<'_>) -> Result<String, ConfigError> {
    let (level, f) = pick(&src.args.log_level, &src.file.log_level);
    let log_level = level.unwrap_or_else(|| "info".to_string());
    tracing_subscriber::EnvFilter::try_new(&log_level).map_err(|e| {
        src.invalid(
            "log-level",
            f,
            format!("`{log_level}` is not a log level ({e}); use error, warn, info, debug or trace"),
        )
    })?;
    Ok(log_level)
}

/// The data dir (default `./dcache-data`), created (mode 0700) if needed and proven writable;
/// with a warning when it already exists and others may read or enter it.
pub(super) fn data_dir(src: &Sources<'_>) -> Result<(PathBuf, Option<String>), ConfigError> {
    let (dir, f) = pick(&src.args.data_dir, &src.file.data_dir);
    let data_dir = dir.unwrap_or_else(|| PathBuf::from("./dcache-data"));
    let warning = check_writable(&data_dir).map_err(|m| src.invalid("data-dir", f, m))?;
    Ok((data_dir, warning))
}

/// Creates `dir` (0700) if needed and proves a file can be written in it. A directory that
/// group or others may use is kept as it is, with a warning (as etcd does).
fn check_writable(dir: &Path) -> Result<Option<String>, String> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("`{}` cannot be created: {e}", dir.display()))?;
    let mode = std::fs::metadata(dir)
        .map_err(|e| format!("`{}` cannot be read: {e}", dir.display()))?
        .permissions()
        .mode()
        & 0o777;
    let warning = (mode & 0o077 != 0).then(|| {
        format!(
            "data dir `{}` has mode {mode:04o}: other users may read the cache and Raft log; `chmod 700 {}`",
            dir.display(),
            dir.display()
        )
    });
    let probe = dir.join(".dcache-write-probe");
    std::fs::write(&probe, b"ok").map_err(|e| format!("`{}` is not writable: {e}", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(warning)
}

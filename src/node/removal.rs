//! The mark a removed node leaves in its data dir, so that it refuses to start again as a
//! member of a cluster that no longer has it (it would only campaign in vain and answer every
//! request with "no leader"). Owns the file `REMOVED` in the data dir and nothing else.

use std::path::{Path, PathBuf};

/// Name of the mark file inside a node's data dir.
const MARK_FILE: &str = "REMOVED";

fn mark_path(data_dir: &Path) -> PathBuf {
    data_dir.join(MARK_FILE)
}

/// Records in `data_dir` that node `id` (`name`) was removed from `cluster_id`. Best effort:
/// the node stops either way; a failure is logged, since without the mark a restart of this
/// data dir is not refused.
pub(super) fn mark(data_dir: &Path, id: u64, name: &str, cluster_id: &str) {
    let note = format!(
        "node {name} (id {id}) was removed from cluster `{cluster_id}` at {} UTC\n",
        humantime::format_rfc3339_seconds(std::time::SystemTime::now())
    );
    if let Err(e) = std::fs::write(mark_path(data_dir), note) {
        tracing::warn!(error = %e, dir = %data_dir.display(), "cannot leave the removed mark in the data dir");
    }
}

/// The note left by [`mark`] in `data_dir`, if this data dir belongs to a removed node.
pub fn removed_note(data_dir: &Path) -> Option<String> {
    std::fs::read_to_string(mark_path(data_dir))
        .ok()
        .map(|s| s.trim().to_string())
}

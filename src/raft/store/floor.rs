//! The log's floor: a log index this data dir is known to hold, kept in a small file beside
//! `raft.sled` so that a start can tell when sled has silently lost entries.
//!
//! Why outside sled: sled recovers its file up to the first message that fails its checksum
//! and drops everything after it, without an error. A truncated or corrupted `raft.sled`
//! therefore opens as a shorter log, and a node starting from it would vote and replicate as
//! if it had never acknowledged the entries it lost. Anything sled holds about how far the
//! log went is lost with the same pages, so the record lives in a file of its own.
//!
//! What is recorded: an index both committed and fsynced here, written now and then (see
//! [`SAVE_EVERY`]) after a flush. Committed entries are never truncated by Raft, so a log
//! that legitimately shrinks (a follower's uncommitted tail replaced by a new leader) never
//! ends below the floor; only lost data does. "Fsynced here" falls back to the cut when the
//! log is truncated ([`super::Store::log_truncated`]): the entries that then take the cut
//! indexes may be committed elsewhere before this node has flushed them. The floor lags by
//! up to [`SAVE_EVERY`], so losses newer than that go unnoticed.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// File name of the floor, in the data dir.
const FILE: &str = "log.floor";

/// How often the floor is saved at most (one small fsynced write and rename).
pub(super) const SAVE_EVERY: Duration = Duration::from_secs(1);

fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// The recorded floor, if any. An unreadable file is an error: it names a loss it cannot
/// rule out.
pub(super) fn read(dir: &Path) -> io::Result<Option<u64>> {
    let path = path(dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => text.trim().parse().map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} holds {:?}, not a log index: {e}", path.display(), text.trim()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io::Error::new(e.kind(), format!("reading {}: {e}", path.display()))),
    }
}

/// Records `index` durably: a temp file, fsynced, renamed over the old one, and the
/// directory fsynced. A crash leaves the old floor or the new one.
pub(super) fn write(dir: &Path, index: u64) -> io::Result<()> {
    let path = path(dir);
    let temp = dir.join(format!("{FILE}.tmp"));
    let mut file = std::fs::File::create(&temp)?;
    writeln!(file, "{index}")?;
    file.sync_all()?;
    std::fs::rename(&temp, &path)?;
    std::fs::File::open(dir)?.sync_all()
}

/// Forgets the floor (a fresh `raft.sled`: nothing of the old log is expected).
pub(super) fn remove(dir: &Path) -> io::Result<()> {
    match std::fs::remove_file(path(dir)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_floor_reads_back_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        write(dir.path(), 41).unwrap();
        write(dir.path(), 42).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(42));
        remove(dir.path()).unwrap();
        remove(dir.path()).unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
    }

    #[test]
    fn a_garbled_floor_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "x1\n").unwrap();
        let e = read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("log.floor") && e.contains("not a log index"), "{e}");
    }
}

//! What this build is and which formats it reads and writes.
//!
//! The *format* versions everything that outlives a process or crosses the network: log
//! entries, snapshot bodies and peer messages. It moves separately from the crate version:
//! a release that changes no encoding keeps it.
//!
//! - Format 2: client operations split from log entries, application calls under `/peer/*`.
//! - Format 3: `expire` and `persist` writes, the replicated cluster version, snapshot bodies
//!   that carry it, and peer requests that carry the cluster id and member ids.
//! - Format 4: keys and values that are not UTF-8 (MessagePack binary in log entries,
//!   snapshot bodies and forwarded writes; UTF-8 keys and values keep the string encoding
//!   older formats read).
//! - Format 5: log runs stored in sled in pieces (see `raft::store`); nothing changes on the
//!   wire. A member stores pieces only once the cluster version reads them, so a member can
//!   go back to a format-4 build until then.
//!
//! A cluster runs at its *cluster version*: the lowest format every member reads, raised by
//! the leader (through the log) once the last member publishes a newer one. Nothing needing a
//! newer format is proposed before that, so members of two adjacent builds can run together
//! during a rolling upgrade.

use std::sync::OnceLock;

macro_rules! format_version {
    () => {
        5
    };
}

/// The newest format this build reads and writes.
pub const FORMAT: u32 = format_version!();

/// The format from which a data dir may hold log runs in pieces.
pub const PIECES_FORMAT: u32 = 5;

/// The oldest format this build can still run a cluster at (write, send and answer): a
/// cluster of format-2 members can be upgraded member by member to this build.
pub const OLDEST_FORMAT: u32 = 2;

/// The crate version.
pub const CRATE: &str = env!("CARGO_PKG_VERSION");

/// The git commit the binary was built from (`unknown` outside a checkout).
pub const COMMIT: &str = env!("DCACHE_GIT_COMMIT");

/// What `dcache --version` prints after the name.
pub const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (format ",
    format_version!(),
    ", commit ",
    env!("DCACHE_GIT_COMMIT"),
    ")"
);

/// The build as members publish it: crate version and commit.
pub fn build() -> String {
    format!("{CRATE}+{COMMIT}")
}

/// Test-only: makes a debug build claim an older newest format, to run a mixed-version
/// cluster from one binary. Release builds refuse to start with it set.
pub const TEST_MAX_FORMAT_ENV: &str = "DCACHE_TEST_MAX_FORMAT";

/// The newest format this process reads: [`FORMAT`], unless a debug build is told otherwise
/// by [`TEST_MAX_FORMAT_ENV`].
pub fn max_format() -> u32 {
    static MAX: OnceLock<u32> = OnceLock::new();
    *MAX.get_or_init(|| test_override().ok().flatten().unwrap_or(FORMAT))
}

/// Checks the test hook at start: `Err` with the reason if it is set but not allowed or not
/// a format this build can claim.
pub fn check_test_override() -> Result<(), String> {
    test_override().map(|_| ())
}

fn test_override() -> Result<Option<u32>, String> {
    let Ok(raw) = std::env::var(TEST_MAX_FORMAT_ENV) else {
        return Ok(None);
    };
    if !cfg!(debug_assertions) {
        return Err(format!(
            "{TEST_MAX_FORMAT_ENV} is a test-only setting of debug builds; unset it to run this release build"
        ));
    }
    match raw.trim().parse::<u32>() {
        Ok(f) if (OLDEST_FORMAT..=FORMAT).contains(&f) => {
            tracing::warn!(
                format = f,
                "test hook {TEST_MAX_FORMAT_ENV}: this node claims to read formats up to {f}"
            );
            Ok(Some(f))
        }
        _ => Err(format!(
            "{TEST_MAX_FORMAT_ENV}={raw:?} must be a format from {OLDEST_FORMAT} to {FORMAT}"
        )),
    }
}

/// The format of a member that publishes none: a build from before formats were published,
/// which reads format 2.
pub fn published_or_oldest(format: u32) -> u32 {
    if format == 0 {
        OLDEST_FORMAT
    } else {
        format
    }
}

/// The format of a snapshot body (a MessagePack array whose first field is its format), read
/// from its head without decoding the entries. Used by the store and the network before
/// they hand a snapshot to the state machine.
pub fn snapshot_body_format(bytes: &[u8]) -> Option<u32> {
    let mut rd = bytes;
    rmp::decode::read_array_len(&mut rd).ok()?;
    rmp::decode::read_int(&mut rd).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_version_names_the_format_and_commit() {
        assert!(LONG.starts_with(CRATE));
        assert!(LONG.contains(&format!("format {FORMAT},")), "{LONG}");
        assert!(LONG.contains(COMMIT));
    }
}

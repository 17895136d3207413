//! The backup file of `dcache backup save/restore`: a short header (magic line, then one
//! JSON line of metadata with a CRC-32 of the body), then the body: the cache in the same
//! MessagePack encoding as a Raft snapshot. Knows nothing of Raft or HTTP; the server
//! produces the body, the CLI writes and checks files, `node::restore` seeds a data dir.

use std::io::{self, BufRead, Read, Write};

use serde::{Deserialize, Serialize};

/// First line of every backup file.
pub const MAGIC: &str = "DCACHE-BACKUP 1";

/// What a backup holds, written as one JSON line after the magic line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupMeta {
    /// The cluster the backup was taken from.
    pub cluster_id: String,
    /// Log index the backup reflects: every write acknowledged before the save started.
    pub index: u64,
    /// Number of keys.
    pub keys: usize,
    /// Length of the body in bytes.
    pub body_bytes: u64,
    /// CRC-32 (IEEE) of the body.
    pub crc32: u32,
    /// Wall-clock time of the save, Unix milliseconds.
    pub created_ms: u64,
}

/// A backup that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("not a dcache backup (expected the first line `{MAGIC}`)")]
    NotABackup,
    #[error("the backup header is damaged: {0}")]
    BadHeader(String),
    #[error("the backup is truncated: the header promises {expected} bytes of data, the file has {found}")]
    Truncated { expected: u64, found: u64 },
    #[error("the backup is corrupt: CRC-32 of the data is {found:08x}, the header says {expected:08x}")]
    Corrupt { expected: u32, found: u32 },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// CRC-32 of `body`.
pub fn checksum(body: &[u8]) -> u32 {
    crc32fast::hash(body)
}

/// Writes the header for `meta`; the body follows it.
pub fn write_header(out: &mut impl Write, meta: &BackupMeta) -> io::Result<()> {
    let json = serde_json::to_string(meta).map_err(io::Error::other)?;
    writeln!(out, "{MAGIC}")?;
    writeln!(out, "{json}")
}

/// Reads and checks the header; leaves `input` at the first byte of the body.
pub fn read_header(input: &mut impl BufRead) -> Result<BackupMeta, BackupError> {
    let mut line = String::new();
    input
        .by_ref()
        .take(64)
        .read_line(&mut line)
        .map_err(|_| BackupError::NotABackup)?;
    if line.trim_end() != MAGIC {
        return Err(BackupError::NotABackup);
    }
    line.clear();
    input.by_ref().take(64 * 1024).read_line(&mut line)?;
    serde_json::from_str(line.trim_end()).map_err(|e| BackupError::BadHeader(e.to_string()))
}

/// Reads the body after [`read_header`] and checks its length and checksum.
pub fn read_body(input: &mut impl Read, meta: &BackupMeta) -> Result<Vec<u8>, BackupError> {
    let mut body = Vec::with_capacity(meta.body_bytes.min(1 << 30) as usize);
    input.take(meta.body_bytes + 1).read_to_end(&mut body)?;
    if body.len() as u64 != meta.body_bytes {
        return Err(BackupError::Truncated {
            expected: meta.body_bytes,
            found: body.len() as u64,
        });
    }
    let found = checksum(&body);
    if found != meta.crc32 {
        return Err(BackupError::Corrupt {
            expected: meta.crc32,
            found,
        });
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(body: &[u8]) -> BackupMeta {
        BackupMeta {
            cluster_id: "c".into(),
            index: 42,
            keys: 3,
            body_bytes: body.len() as u64,
            crc32: checksum(body),
            created_ms: 1,
        }
    }

    #[test]
    fn a_backup_reads_back_and_damage_is_named() {
        let body = b"some body bytes".to_vec();
        let mut file = Vec::new();
        write_header(&mut file, &sample(&body)).unwrap();
        file.extend_from_slice(&body);

        let mut input = io::Cursor::new(file.clone());
        let meta = read_header(&mut input).unwrap();
        assert_eq!(meta, sample(&body));
        assert_eq!(read_body(&mut input, &meta).unwrap(), body);

        let mut flipped = file.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        let mut input = io::Cursor::new(flipped);
        let meta = read_header(&mut input).unwrap();
        assert!(matches!(read_body(&mut input, &meta), Err(BackupError::Corrupt { .. })));

        let mut input = io::Cursor::new(file[..file.len() - 3].to_vec());
        let meta = read_header(&mut input).unwrap();
        assert!(matches!(
            read_body(&mut input, &meta),
            Err(BackupError::Truncated { .. })
        ));

        let mut input = io::Cursor::new(b"GIF89a....".to_vec());
        assert!(matches!(read_header(&mut input), Err(BackupError::NotABackup)));
    }
}

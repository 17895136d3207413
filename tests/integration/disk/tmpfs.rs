//! A size-limited tmpfs mounted on a fresh temp dir for one test, and unmounted when dropped
//! (also when the test panics). Owns only its own mount point. Mounting needs root with
//! `CAP_SYS_ADMIN` (as in CI); without it the test fails with the reason, it never skips.

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// Chunk size for filler files.
const CHUNK: usize = 64 * 1024;

/// A mounted tmpfs. Fields drop in order: the mount goes (in `Drop`) before the temp dir.
pub(crate) struct Tmpfs {
    dir: TempDir,
}

impl Tmpfs {
    /// A writable tmpfs holding at most `bytes` (rounded up to pages by the kernel).
    pub(crate) fn mount(bytes: u64) -> Tmpfs {
        Tmpfs::mount_with(&format!("size={bytes},mode=0755"))
    }

    /// A read-only tmpfs: nothing can be created in it, not even by root.
    pub(crate) fn mount_read_only() -> Tmpfs {
        Tmpfs::mount_with("ro,size=1m,mode=0755")
    }

    fn mount_with(options: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "dcache-test"])
            .arg(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run `mount` (util-linux): {e}"));
        assert!(
            out.status.success(),
            "mount -t tmpfs -o {options} on {} failed ({}): {}\n\
             the disk-fault tests need root with CAP_SYS_ADMIN to mount a small tmpfs (CI runs as root)",
            dir.path().display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Tmpfs { dir }
    }

    /// The mount point.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Creates `name` with `bytes` zero bytes (rounded up to whole chunks); panics if they
    /// do not fit. Deleting the file later gives the space back.
    pub(crate) fn reserve(&self, name: &str, bytes: u64) -> PathBuf {
        let path = self.path().join(name);
        let mut file = File::create(&path).unwrap();
        let chunk = vec![0u8; CHUNK];
        for _ in 0..bytes.div_ceil(CHUNK as u64) {
            file.write_all(&chunk)
                .unwrap_or_else(|e| panic!("cannot reserve {bytes} B in {}: {e}", path.display()));
        }
        file.sync_all().unwrap();
        path
    }

    /// Moves the (stopped) node's `data_dir` onto this disk: copies it here with `cp -a` and
    /// leaves a link to the copy at the old path, so the node restarts on this disk.
    pub(crate) fn take_over(&self, data_dir: &Path) {
        let moved = self.path().join("data");
        let copied = Command::new("cp").arg("-a").arg(data_dir).arg(&moved).status().unwrap();
        assert!(copied.success(), "cp -a {} {}", data_dir.display(), moved.display());
        std::fs::remove_dir_all(data_dir).unwrap();
        std::os::unix::fs::symlink(&moved, data_dir).unwrap();
    }

    /// Creates `name` and grows it until the file system is full, then gives back `leave`
    /// bytes (page granular), so that almost nothing is free.
    pub(crate) fn fill(&self, name: &str, leave: u64) -> PathBuf {
        let path = self.path().join(name);
        let mut file = File::create(&path).unwrap();
        let chunk = vec![0u8; CHUNK];
        loop {
            match file.write_all(&chunk) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::StorageFull => break,
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
        let len = file.metadata().unwrap().len();
        file.set_len(len.saturating_sub(leave)).unwrap();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let umount = |lazy: bool| {
            let mut cmd = Command::new("umount");
            if lazy {
                cmd.arg("-l");
            }
            cmd.arg(self.dir.path()).status().is_ok_and(|s| s.success())
        };
        // A lazy unmount detaches even a mount something still uses (a process that is
        // being killed); the kernel frees it once the last user is gone.
        if !umount(false) && !umount(true) {
            eprintln!(
                "warning: could not unmount the test tmpfs on {}",
                self.dir.path().display()
            );
        }
    }
}

//! The checked-in completion scripts under `completions/` match what the binary generates.
//! Regenerate them with `UPDATE_COMPLETIONS=1 cargo test completions`.

use std::path::PathBuf;
use std::process::Command;

const SHELLS: [(&str, &str); 5] = [
    ("bash", "dcache.bash"),
    ("zsh", "_dcache"),
    ("fish", "dcache.fish"),
    ("powershell", "_dcache.ps1"),
    ("elvish", "dcache.elv"),
];

#[test]
fn checked_in_completions_match_the_cli() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("completions");
    let update = std::env::var_os("UPDATE_COMPLETIONS").is_some();
    let mut drifted = Vec::new();
    for (shell, file) in SHELLS {
        let out = Command::new(env!("CARGO_BIN_EXE_dcache"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "dcache completions {shell} failed");
        assert!(!out.stdout.is_empty(), "dcache completions {shell} printed nothing");
        let path = dir.join(file);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &out.stdout).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(out.stdout.as_slice()) {
            drifted.push(file);
        }
    }
    assert!(
        drifted.is_empty(),
        "completions/{drifted:?} differ from the CLI; regenerate with UPDATE_COMPLETIONS=1 cargo test completions"
    );
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_dcache"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

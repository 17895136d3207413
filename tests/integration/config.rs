//! `dcache serve --config FILE`: malformed files are refused quickly with one message naming
//! the file, the key and the bad value; the repo's `config/*.yaml` all pass `--check`. Every
//! run uses its own temp dir as working directory and free ports, so a wrongly accepted file
//! cannot collide with another test.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;

use crate::support::{free_ports, BIN};

/// How long a refused config may take to be refused.
const REFUSE_WITHIN: Duration = Duration::from_secs(10);

/// A valid single-node config on free ports with its data dir under `dir`.
fn valid_config(dir: &Path) -> String {
    let [client, peer] = free_ports();
    format!(
        "name: node1\n\
         data-dir: {data}\n\
         listen-client-urls: http://127.0.0.1:{client}\n\
         listen-peer-urls: http://127.0.0.1:{peer}\n\
         initial-cluster: node1=http://127.0.0.1:{peer}\n",
        data = dir.join("data").display()
    )
}

/// Replaces the line starting with `key:` in `config` by `line`, or appends `line`.
fn with_line(config: &str, key: &str, line: &str) -> String {
    let prefix = format!("{key}:");
    let mut lines: Vec<String> = config
        .lines()
        .filter(|l| !l.starts_with(&prefix))
        .map(String::from)
        .collect();
    lines.push(line.to_string());
    lines.join("\n") + "\n"
}

/// Runs `dcache serve --config FILE` plus `extra` in `cwd`, killed after `limit`.
fn serve_config(cwd: &Path, file: &Path, extra: &[&str], limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let out = Command::new(BIN)
        .env_remove("DCACHE_SERVER")
        .current_dir(cwd)
        .arg("serve")
        .arg("--config")
        .arg(file)
        .args(extra)
        .timeout(limit)
        .output()
        .unwrap();
    (out, started.elapsed())
}

/// Writes `text` to a fresh temp file and expects `dcache serve --config` to refuse it
/// within [`REFUSE_WITHIN`], with one stderr line holding the file path and every one of
/// `must_name`.
fn assert_refused(what: &str, text: impl FnOnce(&Path) -> String, must_name: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    let text = text(dir.path());
    std::fs::write(&file, &text).unwrap();

    let (out, took) = serve_config(dir.path(), &file, &[], REFUSE_WITHIN);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let context = format!(
        "{what}: config\n{text}\nexit: {}, after {took:?}\nstderr:\n{stderr}",
        out.status
    );
    let code = out.status.code();
    assert!(
        code.is_some_and(|c| c != 0),
        "{context}\n=> must exit non-zero on its own within {REFUSE_WITHIN:?}"
    );

    let path = file.display().to_string();
    let mut wanted = vec![path.as_str()];
    wanted.extend_from_slice(must_name);
    let one_line = stderr.lines().any(|line| wanted.iter().all(|w| line.contains(w)));
    assert!(one_line, "{context}\n=> one stderr line must name all of {wanted:?}");
}

#[test]
fn the_valid_fixture_passes_check() {
    // Guards the tests below: each breaks exactly one thing in this fixture.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("good.yaml");
    std::fs::write(&file, valid_config(dir.path())).unwrap();
    let (out, _) = serve_config(dir.path(), &file, &["--check"], REFUSE_WITHIN);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("node1"), "the summary must show the config: {stdout}");
}

#[test]
fn unknown_key_is_refused() {
    assert_refused("unknown key", |d| valid_config(d) + "nmae: x\n", &["nmae"]);
}

#[test]
fn bad_url_is_refused() {
    assert_refused(
        "bad URL",
        |d| {
            with_line(
                &valid_config(d),
                "listen-client-urls",
                "listen-client-urls: \"not a url\"",
            )
        },
        &["listen-client-urls", "not a url"],
    );
}

#[test]
fn name_missing_from_initial_cluster_is_refused() {
    assert_refused(
        "name not in initial-cluster",
        |d| with_line(&valid_config(d), "name", "name: node9"),
        &["initial-cluster", "node9"],
    );
}

#[test]
fn unwritable_data_dir_is_refused() {
    assert_refused(
        "unwritable data-dir",
        |d| with_line(&valid_config(d), "data-dir", "data-dir: /proc/dcache-test"),
        &["data-dir", "/proc/dcache-test"],
    );
}

#[test]
fn wrongly_typed_value_is_refused() {
    assert_refused(
        "non-numeric snapshot-logs",
        |d| valid_config(d) + "snapshot-logs: lots\n",
        &["snapshot-logs", "lots"],
    );
}

#[test]
fn invalid_yaml_is_refused() {
    assert_refused(
        "invalid YAML",
        |d| valid_config(d) + "initial-cluster-state: [new\n",
        &[],
    );
    assert_refused("not a mapping", |_| "- just\n- a list\n".to_string(), &[]);
}

#[test]
fn bad_flag_value_is_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("good.yaml");
    std::fs::write(&file, valid_config(dir.path())).unwrap();
    let (out, took) = serve_config(dir.path(), &file, &["--listen-client-urls", "not a url"], REFUSE_WITHIN);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code().is_some_and(|c| c != 0),
        "exit {} after {took:?}; stderr:\n{stderr}",
        out.status
    );
    let named = stderr
        .lines()
        .any(|l| l.contains("--listen-client-urls") && l.contains("not a url"));
    assert!(named, "a bad flag must be named as the flag, with its value:\n{stderr}");
}

/// A request timeout under 10ms would time every request out: refused, naming the range.
#[test]
fn a_request_timeout_no_write_could_meet_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("good.yaml");
    std::fs::write(&file, valid_config(dir.path())).unwrap();
    for value in ["0s", "1ms"] {
        let (out, took) = serve_config(dir.path(), &file, &["--request-timeout", value], REFUSE_WITHIN);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.code().is_some_and(|c| c != 0),
            "{value}: exit {} after {took:?}; stderr:\n{stderr}",
            out.status
        );
        assert!(
            stderr.contains("request-timeout") && stderr.contains("use 10ms to 24h"),
            "{value}: {stderr}"
        );
    }
}

/// The repo's `config/` directory.
fn repo_config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

#[test]
fn shipped_config_files_exist() {
    for name in ["dcache.yaml", "node1.yaml", "node2.yaml", "node3.yaml"] {
        let path = repo_config_dir().join(name);
        assert!(path.is_file(), "{} must exist", path.display());
    }
}

#[test]
fn every_shipped_config_file_passes_check() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_config_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no config files in {}", repo_config_dir().display());
    for file in files {
        // Relative data dirs in the files resolve inside this temp dir, not the repo.
        let cwd = tempfile::tempdir().unwrap();
        let (out, took) = serve_config(cwd.path(), &file, &["--check"], REFUSE_WITHIN);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "dcache serve --config {} --check: exit {} after {took:?}\nstdout:\n{stdout}\nstderr:\n{}",
            file.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !stdout.trim().is_empty(),
            "--check must print the summary for {}",
            file.display()
        );
    }
}

#[test]
fn production_configs_pass_check_with_real_certificates() {
    let pki = crate::support::Pki::new();
    let dir = repo_config_dir().join("production");
    for i in 1..=3 {
        let file = dir.join(format!("node{i}.yaml"));
        let data = tempfile::tempdir().unwrap();
        let mut args = vec![
            "serve".to_string(),
            "--config".to_string(),
            file.display().to_string(),
            "--check".to_string(),
            "--data-dir".to_string(),
            data.path().display().to_string(),
        ];
        // Point the file's /etc/dcache/tls paths at certificates made for this test.
        args.extend(pki.serve_flags());
        let mut cmd = crate::support::dcache(None);
        cmd.env("DCACHE_AUTH_TOKEN", "rw-token-0123456789abcdef")
            .env("DCACHE_READ_ONLY_TOKEN", "ro-token-0123456789abcdef");
        let out = cmd.args(&args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}: {}\n{stdout}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("client TLS on, peer mutual TLS on") && stdout.contains("client tokens 2"),
            "{stdout}"
        );
    }
}

//! Random config files for `dcache serve --check`: the real keys of `config/dcache.yaml`
//! (commented-out ones included) with hostile values: wrong types, huge and negative
//! numbers, unicode, lists, maps, nulls, broken YAML. The loader must exit 0 or 1, never
//! panic, and every refusal must say `error:` and name the file.

use std::path::Path;

use proptest::collection::vec;
use proptest::prelude::*;
use tempfile::TempDir;

use super::{assert_still_serving, run_cases};
use crate::support::{dcache, Node};

/// `(key, value)` of every key in `config/dcache.yaml`: set ones with their value, and the
/// commented-out examples (`# key: value`) with theirs. Read from the file so that new keys
/// are fuzzed too.
fn documented_keys() -> Vec<(String, String, bool)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/dcache.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let keys: Vec<(String, String, bool)> = text
        .lines()
        .filter_map(|line| {
            let (set, rest) = match line.strip_prefix("# ") {
                Some(rest) => (false, rest),
                None => (true, line),
            };
            let (key, value) = rest.split_once(':')?;
            let is_key = !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '-');
            is_key.then(|| (key.to_string(), value.trim().to_string(), set))
        })
        .collect();
    for must in [
        "name",
        "listen-client-urls",
        "max-key-bytes",
        "auth-tokens",
        "header-read-timeout",
    ] {
        assert!(
            keys.iter().any(|(k, _, _)| k == must),
            "{} no longer lists `{must}`; the key parser here needs a look: {keys:?}",
            path.display()
        );
    }
    keys
}

/// Values worth trying for `key` beyond the generic ones: near its limits and just past them.
fn values_for(key: &str) -> &'static [&'static str] {
    match key {
        "listen-client-urls"
        | "advertise-client-urls"
        | "listen-peer-urls"
        | "initial-advertise-peer-urls"
        | "join" => &[
            "http://127.0.0.1:0",
            "http://127.0.0.1:65535",
            "http://127.0.0.1:65536",
            "https://127.0.0.1:8443",
            "http://[::1]:8080",
            "http://[::1",
            "http://0.0.0.0:8080",
            "http://127.0.0.1:8080/path",
            "http://127.0.0.1",
            "ftp://127.0.0.1:21",
            "http://user:pw@127.0.0.1:1",
            "http://127.0.0.1:1,http://127.0.0.1:2",
            "http://256.256.256.256:1",
            "http://no-such-host.invalid:1",
            "http://127.0.0.1:8081",
            "http://127.0.0.1:8080",
            "unix:/tmp/dcache.sock",
            "http://%zz:1",
        ],
        "initial-cluster" => &[
            "node1=http://127.0.0.1:8081",
            "node1=http://127.0.0.1:8081,node2=http://127.0.0.1:8082",
            "node2=http://127.0.0.1:8082",
            "node1=",
            "=http://127.0.0.1:1",
            ",,,",
            "node1=http://127.0.0.1:8081,node1=http://127.0.0.1:8082",
            "node1=http://127.0.0.1:8081,node2=http://127.0.0.1:8081",
            "a=b=c",
            "node1=https://127.0.0.1:8081",
        ],
        "name" | "cluster-id" => &["node1", "-", "a b", "ключ", "node.1_x-y", "' '"],
        "initial-cluster-state" => &["new", "existing", "NEW", "old"],
        "log-level" => &[
            "trace",
            "off",
            "dcache=debug,openraft=info",
            "'[{'",
            "a=b=c",
            "'='",
            "','",
            "'[span{f=1}]=debug'",
            "'foo[bar{baz=\"q\"}]=info'",
            "'info,9=9'",
            "x=99999999999999999999",
            "'[{{{{'",
            "'dcache=debug[}'",
        ],
        "max-key-bytes"
        | "max-value-bytes"
        | "snapshot-logs"
        | "heartbeat-interval-ms"
        | "election-timeout-ms"
        | "max-connections"
        | "max-header-bytes" => &[
            "9",
            "10",
            "100",
            "1023",
            "1024",
            "1048576",
            "1048577",
            "9223372036854775807",
            "9223372036854775808",
            "3074457345618258602",
            "3074457345618258603",
            "18446744073709551615",
        ],
        "request-timeout" | "header-read-timeout" => &[
            "5s",
            "0s",
            "99ms",
            "100ms",
            "1ns",
            "-1s",
            "5",
            "10 years",
            "99999999999999999999s",
            "18446744073709551615s",
            "584942417356y",
            "1h 1m",
            "'∞'",
        ],
        "max-memory" => &[
            "off",
            "'0'",
            "1B",
            "64MiB",
            "1EiB",
            "16EiB",
            "'18446744073709551615'",
            "18446744073709551616B",
            "-1MiB",
            "0.5KiB",
            "1.5 GiB",
            "1 ZiB",
            "64 mib",
        ],
        "peer-token" | "join-token" => &[
            "short",
            "0123456789abcdef",
            "0123456789abcde",
            "'with space 0123456789'",
            "ключключключключ",
        ],
        "auth-tokens" => &[
            "[{token: 0123456789abcdef}]",
            "[{token: 0123456789abcdef, role: read-only}]",
            "[{token: 0123456789abcdef, role: admin}]",
            "[{token: 0123456789abcdef}, {token: 0123456789abcdef}]",
            "[{role: read-only}]",
            "{token: 0123456789abcdef}",
            "[{token: 0123456789abcdef, extra: 1}]",
            "[0123456789abcdef]",
            "[{token: short}]",
        ],
        _ if key.ends_with("-file") => &["/nonexistent/dcache.pem", "'.'", "relative.pem", "garbage.pem"],
        _ => &[],
    }
}

/// Values that fit no key: every YAML type, huge and negative numbers, unicode, and text
/// that is not YAML at all.
const GENERIC: &[&str] = &[
    "~",
    "null",
    "''",
    "true",
    "no",
    "0",
    "-1",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
    "1e400",
    "-.inf",
    ".nan",
    "0x7FFFFFFFFFFFFFFF",
    "0o777",
    "3.5",
    "[]",
    "{}",
    "[1, [2, [3]]]",
    "{a: {b: {c: d}}}",
    "\"\\0\"",
    "\"\\t\\r\\n\"",
    "'☃ ключ 😀'",
    "!!binary aGVsbG8=",
    "!custom tag",
    "&anchor x",
    "*undefined",
    "|\n  two\n  lines",
    "{{",
    "]]",
    "'unterminated",
    "@reserved",
    "x: y",
    "- item",
];

/// One generated file: a subset of the documented keys with their documented values, a few
/// keys overridden with hostile values, and maybe a whole-document oddity.
#[derive(Debug, Clone)]
struct Doc {
    text: String,
}

fn doc() -> impl Strategy<Value = Doc> {
    let keys = documented_keys();
    let n = keys.len();
    let hostile = prop_oneof![
        3 => (0..n, any::<prop::sample::Index>()).prop_map({
            let keys = keys.clone();
            move |(k, i)| {
                let pool = values_for(&keys[k].0);
                let pool = if pool.is_empty() { GENERIC } else { pool };
                (keys[k].0.clone(), pool[i.index(pool.len())].to_string())
            }
        }),
        2 => (0..n, proptest::sample::select(GENERIC)).prop_map({
            let keys = keys.clone();
            move |(k, v)| (keys[k].0.clone(), v.to_string())
        }),
        1 => (0..n, prop_oneof![
            any::<u64>().prop_map(|v| v.to_string()),
            any::<i64>().prop_map(|v| v.to_string()),
            any::<f64>().prop_map(|v| v.to_string()),
            any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
            "[a-z0-9 .:/=,-]{0,30}",
            (1usize..20_000).prop_map(|n| "x".repeat(n)),
        ]).prop_map({
            let keys = keys.clone();
            move |(k, v)| (keys[k].0.clone(), v)
        }),
    ];
    let extra_line = prop_oneof![
        8 => Just(String::new()),
        1 => Just("unknown-key: 1".to_string()),
        1 => Just("name: node1".to_string()),
        1 => Just("\tname: node1".to_string()),
        1 => Just("---".to_string()),
        1 => Just("---\nname: other".to_string()),
        1 => any::<String>(),
    ];
    let whole = prop_oneof![
        20 => Just(None),
        1 => proptest::sample::select(
            &["", "# only a comment", "[]", "42", "~", "\u{feff}name: node1", "...", "!!binary aGVsbG8="][..]
        )
        .prop_map(|s| Some(s.to_string())),
        1 => (1usize..5000).prop_map(|d| Some(format!("name: {}{}", "[".repeat(d), "]".repeat(d)))),
        1 => Just(Some(billion_laughs())),
    ];
    (vec(any::<bool>(), n), vec(hostile, 1..4), extra_line, whole).prop_map(move |(keep, hostile, extra, whole)| {
        if let Some(text) = whole {
            return Doc { text };
        }
        let mut lines = Vec::new();
        for ((key, value, set), keep) in keys.iter().zip(keep) {
            if *set && (keep || key == "name") && !hostile.iter().any(|(k, _)| k == key) {
                lines.push(format!("{key}: {value}"));
            }
        }
        for (key, value) in &hostile {
            lines.push(format!("{key}: {value}"));
        }
        lines.push(extra);
        Doc {
            text: lines.join("\n") + "\n",
        }
    })
}

/// The classic alias bomb inside a known key: nine levels of ten references each, 10^9
/// strings if expanded.
fn billion_laughs() -> String {
    let mut levels = vec!["&a0 [lol]".to_string()];
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        levels.push(format!("&a{i} [{refs}]"));
    }
    format!("name: [{}]\n", levels.join(", "))
}

/// Runs `dcache serve --config FILE --check` on `text` and asserts it exits 0 or 1 without a
/// panic, naming the file on failure. `dir` holds the file, a data dir and `garbage.pem`.
fn check_file(dir: &TempDir, case: usize, text: &str) {
    let path = dir.path().join(format!("case-{case}.yaml"));
    std::fs::write(&path, text).unwrap();
    let data_dir = dir.path().join("data");
    let out = dcache(None)
        .env_remove("DCACHE_PEER_TOKEN")
        .env_remove("DCACHE_AUTH_TOKEN")
        .env_remove("DCACHE_READ_ONLY_TOKEN")
        .env_remove("DCACHE_JOIN_TOKEN")
        .current_dir(dir.path())
        .arg("serve")
        .arg("--config")
        .arg(&path)
        .arg("--check")
        .arg("--data-dir")
        .arg(&data_dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown: String = text.chars().take(600).collect();
    let what = format!(
        "dcache serve --check on\n---\n{shown}\n---\nexit {:?}\nstdout: {}\nstderr: {stderr}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!stderr.contains("panicked"), "the config loader panicked: {what}");
    match out.status.code() {
        Some(0) => assert!(
            String::from_utf8_lossy(&out.stdout).contains("configuration OK"),
            "exit 0 without `configuration OK`: {what}"
        ),
        Some(1) => {
            assert!(stderr.contains("error:"), "a refusal without `error:`: {what}");
            assert!(
                stderr.contains(&path.display().to_string()),
                "a refusal that does not name the file {}: {what}",
                path.display()
            );
        }
        _ => panic!("expected exit 0 or 1: {what}"),
    }
}

fn case_dir() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("garbage.pem"),
        b"-----BEGIN CERTIFICATE-----\n\xff\xfe\n",
    )
    .unwrap();
    dir
}

#[test]
fn random_config_files_are_accepted_or_refused_naming_the_file() {
    let dir = case_dir();
    let case = std::cell::Cell::new(0);
    run_cases(40, doc(), |doc| {
        case.set(case.get() + 1);
        check_file(&dir, case.get(), &doc.text);
    });
}

/// The generic values the per-key sweep tries on every key (the random files try them all).
const SWEEP_GENERIC: &[&str] = &["~", "-1", "18446744073709551616", "[]", "{a: 1}", "'☃ ключ 😀'"];

#[test]
fn every_documented_key_survives_each_of_its_edge_values() {
    // The random files above reach each key only a few times; this walks every key through
    // every value of its own list and a few generic ones, on top of the documented file.
    let keys = documented_keys();
    let mut files = Vec::new();
    for (key, _, _) in &keys {
        for value in values_for(key).iter().chain(SWEEP_GENERIC) {
            let mut lines: Vec<String> = keys
                .iter()
                .filter(|(k, _, set)| *set && k != key)
                .map(|(k, v, _)| format!("{k}: {v}"))
                .collect();
            lines.push(format!("{key}: {value}"));
            files.push(lines.join("\n") + "\n");
        }
    }
    let dir = case_dir();
    // Two at a time: each case is a process start, and the machine may have only two cores.
    std::thread::scope(|s| {
        for lane in 0..2 {
            let (files, dir) = (&files, &dir);
            s.spawn(move || {
                for (case, text) in files.iter().enumerate().skip(lane).step_by(2) {
                    check_file(dir, case, text);
                }
            });
        }
    });
}

/// Flag values at the far end of each range: whatever `--check` accepts must also run.
const EXTREMES: &[(&str, &str)] = &[
    ("--max-connections", "18446744073709551615"),
    ("--max-key-bytes", "18446744073709551615"),
    ("--max-value-bytes", "18446744073709551615"),
    ("--max-header-bytes", "1048576"),
    ("--request-timeout", "500000000000y"),
    ("--request-timeout", "24h"),
    ("--header-read-timeout", "500000000000y"),
    ("--header-read-timeout", "24h"),
    ("--election-timeout-ms", "9223372036854775807"),
    ("--snapshot-logs", "18446744073709551615"),
    ("--max-memory", "16EiB"),
];

#[test]
fn extreme_values_that_check_accepts_also_serve() {
    let dir = case_dir();
    std::thread::scope(|s| {
        for (flag, value) in EXTREMES {
            let data_dir = dir.path().join(format!("{flag}-{value}"));
            s.spawn(move || {
                let out = dcache(None)
                    .args(["serve", "--check", flag, value, "--data-dir"])
                    .arg(&data_dir)
                    .output()
                    .unwrap();
                let what = format!(
                    "dcache serve --check {flag} {value} -> {:?}\nstderr: {}",
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr)
                );
                match out.status.code() {
                    Some(0) => {
                        let node = Node::start_with(&[flag, value]);
                        assert_still_serving(&node.http, &format!("starting with {flag} {value}"));
                    }
                    Some(1) => assert!(String::from_utf8_lossy(&out.stderr).contains("error:"), "{what}"),
                    _ => panic!("expected exit 0 or 1: {what}"),
                }
            });
        }
    });
}

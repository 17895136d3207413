//! The client CLI (`dcache set/get/delete/scan`) against a live node: text and JSON output,
//! exit codes, `--server` and `DCACHE_SERVER`. Uses only `support`; starts its own nodes.

use assert_cmd::Command;
use serde_json::{json, Value};

use crate::support::{dcache, free_ports, run_dcache, Node};

/// Runs `args` against `node`, asserts exit code 0, and returns stdout.
fn ok(node: &Node, args: &[&str]) -> String {
    let (out, what) = run_dcache(dcache(Some(&node.url())), args);
    assert_eq!(out.status.code(), Some(0), "{what}");
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `args` against `node` with `-o json`, asserts exit code 0, and parses stdout.
fn ok_json(node: &Node, args: &[&str]) -> Value {
    let stdout = ok(node, &[&["-o", "json"][..], args].concat());
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("dcache -o json {args:?}: stdout is not JSON ({e}): {stdout}"))
}

/// Runs `args` with `cmd`, asserts exit code `code`, and returns stderr.
fn fails(cmd: Command, args: &[&str], code: i32) -> String {
    let (out, what) = run_dcache(cmd, args);
    assert_eq!(out.status.code(), Some(code), "{what}");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn set_get_delete_in_text_output() {
    let node = Node::start();

    assert_eq!(ok(&node, &["set", "greeting", "hello world"]).trim(), "OK");
    assert_eq!(
        ok(&node, &["get", "greeting"]),
        "hello world\n",
        "get prints the bare value and a newline"
    );
    assert_eq!(
        node.http.value_of("greeting").map(|(v, _)| v).as_deref(),
        Some("hello world"),
        "visible over HTTP"
    );

    // Written over HTTP, read by the CLI; odd keys need no quoting beyond the shell's.
    node.http.set("user:1", "ада");
    assert_eq!(ok(&node, &["get", "user:1"]), "ада\n");
    assert_eq!(ok(&node, &["set", "a/b c", "x"]).trim(), "OK");
    assert_eq!(ok(&node, &["get", "a/b c"]), "x\n");

    assert_eq!(ok(&node, &["delete", "greeting"]).trim(), "deleted");
    assert_eq!(ok(&node, &["delete", "greeting"]).trim(), "not found");
    let stderr = fails(dcache(Some(&node.url())), &["get", "greeting"], 3);
    assert!(
        stderr.contains("greeting"),
        "stderr of a missing-key get must name the key: {stderr}"
    );

    for consistency in ["linearizable", "lease", "local"] {
        assert_eq!(ok(&node, &["get", "user:1", "--consistency", consistency]), "ада\n");
    }
}

#[test]
fn json_output_prints_the_data_object() {
    let node = Node::start();

    let set = ok_json(&node, &["set", "k", "v"]);
    let version = set["version"]
        .as_u64()
        .unwrap_or_else(|| panic!("numeric version in {set}"));
    assert_eq!(set, json!({"key": "k", "version": version}));

    let get = ok_json(&node, &["get", "k"]);
    assert_eq!(get, json!({"key": "k", "value": "v", "version": version}));
    // The same flag spelled long and placed after the subcommand (it is global).
    let stdout = ok(&node, &["get", "k", "--output", "json"]);
    assert_eq!(serde_json::from_str::<Value>(stdout.trim()).unwrap(), get);

    let scan = ok_json(&node, &["scan", "k"]);
    assert_eq!(scan["prefix"], json!("k"));
    assert_eq!(scan["count"], json!(1));
    assert_eq!(scan["truncated"], json!(false));
    assert_eq!(scan["keys"], json!([{"key": "k", "value": "v", "version": version}]));

    assert_eq!(ok_json(&node, &["delete", "k"]), json!({"key": "k", "deleted": true}));
    assert_eq!(ok_json(&node, &["delete", "k"]), json!({"key": "k", "deleted": false}));
    let stderr = fails(dcache(Some(&node.url())), &["-o", "json", "get", "k"], 3);
    assert!(stderr.contains('k'), "{stderr}");
}

#[test]
fn scan_prints_key_tab_value_lines_in_key_order() {
    let node = Node::start();
    for (k, v) in [("c/2", "two"), ("c/1", "one"), ("c/3", "three"), ("d/1", "other")] {
        assert_eq!(ok(&node, &["set", k, v]).trim(), "OK");
    }

    assert_eq!(ok(&node, &["scan", "c/"]), "c/1\tone\nc/2\ttwo\nc/3\tthree\n");
    assert_eq!(ok(&node, &["scan", "c/", "--limit", "2"]), "c/1\tone\nc/2\ttwo\n");
    assert_eq!(ok(&node, &["scan", "nothing-here"]), "");
    let all = ok(&node, &["scan"]);
    assert_eq!(all.lines().count(), 4, "scan without a prefix lists every key: {all}");

    let json = ok_json(&node, &["scan", "c/", "--limit", "2"]);
    assert_eq!(json["count"], json!(2));
    assert_eq!(json["truncated"], json!(true));
}

#[test]
fn dcache_server_env_var_selects_the_node_and_the_flag_overrides_it() {
    let node = Node::start();
    let [dead] = free_ports();
    let dead_url = format!("http://127.0.0.1:{dead}");

    let mut cmd = dcache(None);
    cmd.env("DCACHE_SERVER", node.url());
    let (out, what) = run_dcache(cmd, &["set", "env", "from-env"]);
    assert_eq!(out.status.code(), Some(0), "{what}");
    assert_eq!(node.http.value_of("env").map(|(v, _)| v).as_deref(), Some("from-env"));

    let mut cmd = dcache(Some(&node.url()));
    cmd.env("DCACHE_SERVER", &dead_url);
    let (out, what) = run_dcache(cmd, &["get", "env"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "--server must win over DCACHE_SERVER: {what}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from-env\n");

    let mut cmd = dcache(None);
    cmd.env("DCACHE_SERVER", &dead_url);
    let stderr = fails(cmd, &["--timeout", "2s", "get", "env"], 4);
    assert!(
        stderr.contains(&dead_url),
        "the env var's URL must be the one reported: {stderr}"
    );
}

#[test]
fn unreachable_server_exits_4_naming_the_url() {
    // A port that was just free, with nothing listening on it.
    let [port] = free_ports();
    let url = format!("http://127.0.0.1:{port}");
    let cases: [&[&str]; 4] = [&["get", "k"], &["set", "k", "v"], &["delete", "k"], &["scan", "p"]];
    for args in cases {
        let stderr = fails(dcache(Some(&url)), &[&["--timeout", "2s"][..], args].concat(), 4);
        assert!(
            stderr.contains("cannot reach"),
            "dcache {args:?}: stderr must say `cannot reach`: {stderr}"
        );
        assert!(
            stderr.contains(&url),
            "dcache {args:?}: stderr must name {url}: {stderr}"
        );
    }
}

#[test]
fn bad_usage_exits_2() {
    // None of these may reach a server, so none needs one.
    let [port] = free_ports();
    let url = format!("http://127.0.0.1:{port}");
    let cases: &[&[&str]] = &[
        &["get"],
        &["set", "only-key"],
        &["set", "k", "v", "extra"],
        &["frobnicate"],
        &["--timeout", "abc", "get", "k"],
        &["--timeout", "", "get", "k"],
        &["-o", "yaml", "get", "k"],
        &["scan", "p", "--limit", "many"],
        &["get", "k", "--consistency", "bogus"],
        &["get", "k", "--no-such-flag"],
    ];
    for args in cases {
        let stderr = fails(dcache(Some(&url)), args, 2);
        assert!(
            !stderr.trim().is_empty(),
            "dcache {args:?}: a usage error must explain itself"
        );
        assert!(
            !stderr.contains("cannot reach"),
            "dcache {args:?}: must fail before any request: {stderr}"
        );
    }
}

#[test]
fn rejected_requests_exit_5() {
    let node = Node::start_with(&["--max-key-bytes", "8"]);
    let stderr = fails(dcache(Some(&node.url())), &["set", "123456789", "v"], 5);
    assert!(!stderr.trim().is_empty(), "a rejected request must explain itself");
    // The node is unharmed and the CLI still works.
    assert_eq!(ok(&node, &["set", "k", "v"]).trim(), "OK");
}

#[test]
fn bench_dash_and_backup_save_exit_4_against_an_unreachable_server_saying_so_once() {
    let [port] = free_ports();
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.backup").display().to_string();
    let cases: [&[&str]; 4] = [
        &["bench", "--requests", "10"],
        &["dash"],
        &["backup", "save", &file],
        &["snapshot", "save", &file],
    ];
    for args in cases {
        let stderr = fails(dcache(Some(&url)), &[&["--timeout", "2s"][..], args].concat(), 4);
        assert_eq!(
            stderr.matches("cannot reach").count(),
            1,
            "dcache {args:?}: stderr must say `cannot reach` once: {stderr}"
        );
        assert!(
            stderr.contains(&url),
            "dcache {args:?}: stderr must name {url}: {stderr}"
        );
    }
}

#[test]
fn unusable_option_values_are_usage_errors() {
    let [port] = free_ports();
    let url = format!("http://127.0.0.1:{port}");
    let cases: [(&[&str], &str); 7] = [
        (&["--server", "127.0.0.1:8080", "get", "k"], "127.0.0.1:8080"),
        (&["--server", "localhost:8080", "get", "k"], "localhost:8080"),
        (&["dash", "--interval", "0s"], "0s"),
        (&["bench", "--clients", "0"], "0"),
        (&["bench", "--read-ratio", "1.5"], "1.5"),
        (&["bench", "--key-space", "0"], "0"),
        (&["bench", "--endpoints", "127.0.0.1:1"], "127.0.0.1:1"),
    ];
    for (args, value) in cases {
        let cmd = if args[0] == "--server" {
            dcache(None)
        } else {
            dcache(Some(&url))
        };
        let stderr = fails(cmd, args, 2);
        assert!(
            stderr.contains(value) && !stderr.contains("cannot reach"),
            "dcache {args:?}: must name `{value}` before any request: {stderr}"
        );
    }
    // The same check applies to DCACHE_SERVER.
    let mut cmd = dcache(None);
    cmd.env("DCACHE_SERVER", "127.0.0.1:8080");
    fails(cmd, &["get", "k"], 2);
}

#[test]
fn serializable_is_accepted_as_local() {
    let node = Node::start();
    node.http.set("k", "v");
    assert_eq!(ok(&node, &["get", "k", "--consistency", "serializable"]), "v\n");
    assert_eq!(ok(&node, &["scan", "k", "--consistency", "serializable"]), "k\tv\n");
}

#[test]
fn backup_restore_says_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-backup");
    std::fs::write(&file, "hello\n").unwrap();
    let data = dir.path().join("data").display().to_string();
    let [client, peer] = free_ports();
    let args = [
        "backup",
        "restore",
        file.to_str().unwrap(),
        "--data-dir",
        &data,
        "--listen-client-urls",
        &format!("http://127.0.0.1:{client}"),
        "--listen-peer-urls",
        &format!("http://127.0.0.1:{peer}"),
    ];
    let stderr = fails(dcache(None), &args, 1);
    assert_eq!(stderr.matches("not a dcache backup").count(), 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

#[test]
fn set_reads_the_value_from_stdin_or_a_file_and_refuses_a_zero_ttl() {
    let node = Node::start();
    // `-` reads standard input as is, newlines and all.
    let mut cmd = dcache(Some(&node.url()));
    cmd.write_stdin("line one\nline two\n");
    let (out, what) = run_dcache(cmd, &["set", "piped", "-"]);
    assert_eq!(out.status.code(), Some(0), "{what}");
    assert_eq!(
        node.http.value_of("piped").map(|(v, _)| v).as_deref(),
        Some("line one\nline two\n")
    );

    // A value past what Linux passes as one argument (128 KiB) goes through --file.
    let big = "x".repeat(300 * 1024);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("value.txt");
    std::fs::write(&path, &big).unwrap();
    ok(&node, &["set", "big", "--file", path.to_str().unwrap()]);
    assert_eq!(node.http.value_of("big").map(|(v, _)| v.len()), Some(big.len()));

    // A missing file names itself; no value at all is a usage error.
    let err = fails(dcache(Some(&node.url())), &["set", "k", "--file", "/nonexistent/v"], 1);
    assert!(err.contains("/nonexistent/v"), "{err}");
    fails(dcache(Some(&node.url())), &["set", "k"], 2);

    // `--ttl 0s` would expire the key at once: refused before anything is sent.
    let err = fails(dcache(Some(&node.url())), &["set", "k", "v", "--ttl", "0s"], 2);
    assert!(err.contains("at least 1ms"), "{err}");
    assert!(node.http.value_of("k").is_none(), "nothing was written");
}

#[test]
fn scan_text_output_escapes_tabs_newlines_and_backslashes() {
    let node = Node::start();
    node.http.set("esc/a\tb", "line1\nline2");
    node.http.set("esc/c\\d", "plain");
    assert_eq!(
        ok(&node, &["scan", "esc/"]),
        "esc/a\\tb\tline1\\nline2\nesc/c\\\\d\tplain\n",
        "one record per line, fields never forged"
    );
    let json = ok_json(&node, &["scan", "esc/"]);
    assert_eq!(json["keys"][0]["value"], "line1\nline2", "-o json keeps the exact text");
}

/// The client options; they belong to client commands only.
const CLIENT_FLAGS: [&str; 6] = [
    "--server",
    "--endpoints",
    "--timeout",
    "--output",
    "--token",
    "--cacert",
];

/// `dcache ARGS --help` with a clean environment plus `env`; asserts success, returns stdout.
fn help(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = dcache(None);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (out, what) = run_dcache(cmd, &[args, &["--help"]].concat());
    assert_eq!(out.status.code(), Some(0), "{what}");
    String::from_utf8(out.stdout).unwrap()
}

/// Every subcommand path (`["get"]`, `["cluster", "status"]`, ...), read from the
/// `Commands:` sections of the binary's own help, so a new subcommand is checked without
/// being listed here.
fn subcommands(parent: &[String]) -> Vec<Vec<String>> {
    let args: Vec<&str> = parent.iter().map(String::as_str).collect();
    let text = help(&args, &[]);
    let names: Vec<String> = text
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect();
    let mut paths = Vec::new();
    for name in names {
        let path = [parent, &[name]].concat();
        paths.extend(subcommands(&path));
        paths.push(path);
    }
    paths
}

/// Issue 17, item 13: every subcommand's help, nested ones included, ends with examples of
/// itself, and no environment value shows in help (an empty `DCACHE_SERVER` used to print
/// as `[env: DCACHE_SERVER=]`, a token in full).
#[test]
fn every_subcommand_help_has_examples_and_no_env_values() {
    let paths = subcommands(&[]);
    for expected in [
        &["serve"][..],
        &["cluster", "status"],
        &["backup", "restore"],
        &["completions"],
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected:?} missing from the subcommands read from help: {paths:?}"
        );
    }
    let env = [("DCACHE_SERVER", ""), ("DCACHE_TOKEN", "sekrit-token-value")];
    for path in &paths {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&args, &env);
        let examples = text
            .split_once("\nExamples:\n")
            .map(|(_, e)| e)
            .unwrap_or_else(|| panic!("dcache {args:?} --help has no Examples section:\n{text}"));
        let invocation = format!("dcache {}", args.join(" "));
        assert!(
            examples.lines().any(|l| l.trim_start().contains(&invocation)),
            "dcache {args:?}: the examples must show `{invocation}`:\n{text}"
        );
        assert!(
            !text.contains("DCACHE_SERVER=") && !text.contains("sekrit"),
            "dcache {args:?}: env values in help:\n{text}"
        );
    }
    assert!(help(&[], &env).contains("\nExamples:\n  dcache "), "dcache --help");
}

/// Issue 17, item 13: `serve`, `local-cluster`, `completions` and `backup restore` take no
/// client options and do not list them; every client command lists them under their own
/// heading.
#[test]
fn client_options_show_only_where_they_apply() {
    let not_client = ["serve", "local-cluster", "completions", "backup", "backup restore"];
    for path in subcommands(&[]) {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&args, &[]);
        let joined = args.join(" ");
        if not_client.contains(&joined.as_str()) {
            for flag in CLIENT_FLAGS {
                // `backup restore` prints a summary, so it keeps -o/--output.
                if flag == "--output" && joined == "backup restore" {
                    continue;
                }
                assert!(!text.contains(flag), "dcache {joined} --help lists {flag}:\n{text}");
            }
        } else if joined == "dash" {
            // A full-screen view has no output format: every client option but -o.
            let shown = CLIENT_FLAGS.iter().filter(|f| **f != "--output");
            assert!(
                text.contains("\nClient options:\n") && shown.clone().all(|f| text.contains(f)),
                "dcache dash --help must list the client options but --output:\n{text}"
            );
            assert!(!text.contains("--output"), "dcache dash --help lists --output:\n{text}");
        } else {
            assert!(
                text.contains("\nClient options:\n") && CLIENT_FLAGS.iter().all(|f| text.contains(f)),
                "dcache {joined} --help must list the client options:\n{text}"
            );
        }
    }
    // `serve` refuses them rather than ignoring them, and does not read their environment.
    let stderr = fails(dcache(None), &["serve", "--server", "http://127.0.0.1:1", "--check"], 2);
    assert!(stderr.contains("--server"), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = dcache(None);
    cmd.current_dir(dir.path()).env("DCACHE_SERVER", "not a url");
    let (out, what) = run_dcache(cmd, &["serve", "--check"]);
    assert_eq!(out.status.code(), Some(0), "{what}");
}

/// The client options work before the subcommand (as when they were global options of
/// `dcache`), after it, and between `cluster` and its subcommand; `--server` given before
/// `serve` is still accepted (and means nothing to it).
#[test]
fn client_options_work_before_and_after_the_subcommand() {
    let node = Node::start();
    let url = node.url();
    node.http.set("k", "v");
    let [dead] = free_ports();
    let dead = format!("http://127.0.0.1:{dead}");
    let cases: [&[&str]; 5] = [
        &["--server", &url, "get", "k"],
        &["get", "k", "--server", &url],
        &["--server", &dead, "get", "k", "--server", &url],
        &["cluster", "--server", &url, "leader"],
        &["--timeout", "5s", "cluster", "leader", "--server", &url],
    ];
    for args in cases {
        let (out, what) = run_dcache(dcache(None), args);
        assert_eq!(out.status.code(), Some(0), "{what}");
    }
    let (out, what) = run_dcache(dcache(None), &["-o", "json", "get", "k", "--server", &url]);
    assert_eq!(out.status.code(), Some(0), "{what}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {what}"));
    assert_eq!(json["value"], "v", "{what}");

    let dir = tempfile::tempdir().unwrap();
    let mut cmd = dcache(None);
    cmd.current_dir(dir.path());
    let (out, what) = run_dcache(cmd, &["--server", &dead, "serve", "--check"]);
    assert_eq!(out.status.code(), Some(0), "{what}");
}

/// Every `[default: V]` that `serve --help` states is the value `serve` uses when the flag
/// is not given: `serve --check --FLAG V` prints the same configuration as `serve --check`.
#[test]
fn serve_help_states_the_real_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let check = |extra: &[&str]| {
        let mut cmd = dcache(None);
        cmd.current_dir(dir.path());
        let (out, what) = run_dcache(cmd, &[&["serve", "--check"][..], extra].concat());
        assert_eq!(out.status.code(), Some(0), "{what}");
        String::from_utf8(out.stdout).unwrap()
    };
    let baseline = check(&[]);
    let short = {
        let (out, what) = run_dcache(dcache(None), &["serve", "-h"]);
        assert_eq!(out.status.code(), Some(0), "{what}");
        String::from_utf8(out.stdout).unwrap()
    };
    let mut checked = Vec::new();
    // Each option starts a line with `-`; its help follows on that line or the next ones.
    let mut flag = None;
    for line in short.lines() {
        if line.trim_start().starts_with('-') {
            flag = line.split_whitespace().find(|w| w.starts_with("--"));
        }
        let (Some(flag), Some((_, rest))) = (flag, line.split_once("[default: ")) else {
            continue;
        };
        let value = rest.split(']').next().unwrap();
        assert_eq!(
            check(&[flag, value]),
            baseline,
            "`serve --help` says {flag} defaults to {value}, but giving it changes the configuration"
        );
        checked.push(flag);
    }
    assert!(
        checked.len() >= 15,
        "too few defaults stated in `serve -h`: {checked:?}\n{short}"
    );
    for flag in ["--max-key-bytes", "--snapshot-logs", "--name", "--listen-peer-urls"] {
        assert!(checked.contains(&flag), "{flag} states no default:\n{short}");
    }
}

#[test]
fn an_empty_server_url_says_so() {
    let mut cmd = dcache(None);
    cmd.env("DCACHE_SERVER", "");
    let stderr = fails(cmd, &["get", "k"], 2);
    assert!(stderr.contains("empty") && stderr.contains("DCACHE_SERVER"), "{stderr}");
}

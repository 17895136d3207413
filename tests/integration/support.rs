//! Test support: spawns real `dcache serve` nodes on free ports, speaks the HTTP API to them,
//! and waits on conditions with deadlines. Knows dcache only through its CLI and HTTP
//! contract; must not depend on anything in `src/`.

use std::borrow::BorrowMut;
use std::fs::File;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::{json, Value};
use tempfile::TempDir;

mod cluster;
mod flood;
mod pki;

pub(crate) use cluster::{Cluster, NOFILE_OVERRIDE};
pub(crate) use flood::Flood;
pub(crate) use pki::Pki;

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_dcache");

/// How long a node may take from spawn to a healthy `GET /health`.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How often conditions are re-checked while waiting.
const POLL: Duration = Duration::from_millis(25);

/// Re-checks `cond` until it holds or `timeout` passes; returns whether it held. The pause
/// between checks is only a poll interval: the wait ends as soon as the condition holds.
pub(crate) fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// `N` distinct ports that were free a moment ago. Racy by nature (another process may take
/// one before we bind it), so node start-up retries with fresh ports when the child dies.
pub(crate) fn free_ports<const N: usize>() -> [u16; N] {
    let mut ports = [0u16; N];
    ports.copy_from_slice(&free_port_list(N));
    ports
}

/// `n` distinct ports that were free a moment ago; see [`free_ports`].
pub(crate) fn free_port_list(n: usize) -> Vec<u16> {
    // Hold every listener until all ports are read so the kernel cannot hand one out twice.
    let listeners: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    listeners.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

/// A `dcache` client command with a clean environment, a generous safety timeout, and
/// `--server` pointing at `server` when given.
pub(crate) fn dcache(server: Option<&str>) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(BIN);
    cmd.env_remove("DCACHE_SERVER")
        .env_remove("DCACHE_TOKEN")
        .env_remove("DCACHE_CACERT")
        .env_remove("DCACHE_ENDPOINTS")
        .timeout(Duration::from_secs(30));
    if let Some(url) = server {
        cmd.args(["--server", url]);
    }
    cmd
}

/// Runs `cmd` with `args` and returns its output; describes the run for assertion messages.
pub(crate) fn run_dcache(mut cmd: assert_cmd::Command, args: &[&str]) -> (Output, String) {
    let out = cmd.args(args).output().unwrap();
    let what = format!(
        "dcache {args:?} -> {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, what)
}

/// Percent-encodes `s` for use as one URL path segment or query value: everything but the
/// RFC 3986 unreserved characters is escaped, so `/`, `:`, spaces and UTF-8 survive intact.
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Asserts the failure envelope `{"success":false,"error":{"code":C,"message":M}}` with a
/// non-empty message, and the expected status and code. `what` names the request in failures.
pub(crate) fn assert_error(what: &str, got: &(u16, Value), status: u16, code: &str) {
    let (s, body) = got;
    assert_eq!(
        *s, status,
        "{what}: expected HTTP {status} {code}, got {s} with body {body}"
    );
    assert_eq!(
        body["success"],
        json!(false),
        "{what}: `success` must be false in {body}"
    );
    assert_eq!(body["error"]["code"], json!(code), "{what}: wrong error code in {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        !message.trim().is_empty(),
        "{what}: error message must be a non-empty string in {body}"
    );
}

/// Asserts a 200 success envelope and returns its `data` object.
pub(crate) fn data(what: &str, got: (u16, Value)) -> Value {
    let (s, body) = got;
    assert_eq!(s, 200, "{what}: expected HTTP 200, got {s} with body {body}");
    assert_eq!(body["success"], json!(true), "{what}: `success` must be true in {body}");
    assert!(body["data"].is_object(), "{what}: `data` must be an object in {body}");
    body["data"].clone()
}

/// A blocking HTTP client bound to one node's client URL. Keeps connections alive, so one
/// per thread is the cheap way to drive many requests.
#[derive(Clone)]
pub(crate) struct Http {
    client: Client,
    base: String,
}

impl Http {
    /// A client for `base` (e.g. `http://127.0.0.1:1234`) with a 30 s request timeout.
    pub(crate) fn new(base: &str) -> Http {
        Http::with_timeout(base, Duration::from_secs(30))
    }

    /// A client for `base` whose every request gives up after `timeout`.
    pub(crate) fn with_timeout(base: &str, timeout: Duration) -> Http {
        let client = Client::builder().timeout(timeout).build().unwrap();
        Http {
            client,
            base: base.to_string(),
        }
    }

    /// A client for `base` that trusts `pki`'s CA (for https nodes) and sends `token` as a
    /// bearer token, when given.
    pub(crate) fn secured(base: &str, pki: Option<&Pki>, token: Option<&str>) -> Http {
        let mut builder = Client::builder().timeout(Duration::from_secs(30));
        if let Some(pki) = pki {
            let ca = reqwest::Certificate::from_pem(&std::fs::read(pki.ca()).unwrap()).unwrap();
            builder = builder.add_root_certificate(ca);
        }
        if let Some(token) = token {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {token}").parse().unwrap(),
            );
            builder = builder.default_headers(headers);
        }
        Http {
            client: builder.build().unwrap(),
            base: base.to_string(),
        }
    }

    /// The base URL this client talks to.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// Sends one request and returns the status and the body as JSON; a body that is not
    /// JSON comes back as a JSON string so assertions can show it. Panics only when no HTTP
    /// answer arrives at all.
    pub(crate) fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (u16, Value) {
        self.try_send(method.clone(), path, content_type, body)
            .unwrap_or_else(|e| panic!("{method} {}{path}: no HTTP answer: {e}", self.base))
    }

    /// Like [`Http::send`], but a missing answer (refused, reset, timed out) is an `Err`
    /// instead of a panic: for requests to nodes that may be down.
    pub(crate) fn try_send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Value), reqwest::Error> {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(ct) = content_type {
            req = req.header(reqwest::header::CONTENT_TYPE, ct);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let resp = req.send()?;
        let status = resp.status().as_u16();
        let text = resp.text()?;
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, value))
    }

    /// `GET path`.
    pub(crate) fn get(&self, path: &str) -> (u16, Value) {
        self.send(Method::GET, path, None, None)
    }

    /// `POST path` with `body` as `application/json`.
    pub(crate) fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(
            Method::POST,
            path,
            Some("application/json"),
            Some(body.to_string().into_bytes()),
        )
    }

    /// `GET /health`'s status, or `None` when nothing answers (not listening yet).
    pub(crate) fn health(&self) -> Option<u16> {
        self.client
            .get(format!("{}/health", self.base))
            .timeout(Duration::from_secs(2))
            .send()
            .ok()
            .map(|r| r.status().as_u16())
    }

    /// Sets `key` to `value`, asserting success; returns the version.
    pub(crate) fn set(&self, key: &str, value: &str) -> u64 {
        let what = format!("set {key:?}");
        let d = data(
            &what,
            self.post_json("/api/v1/set", &json!({"key": key, "value": value})),
        );
        assert_eq!(d["key"], json!(key), "{what}: answer names another key: {d}");
        let version = d["version"]
            .as_u64()
            .unwrap_or_else(|| panic!("{what}: no numeric version in {d}"));
        assert!(version > 0, "{what}: version must be > 0, got {d}");
        version
    }

    /// `GET /api/v1/get/{key}` with an optional `consistency`.
    pub(crate) fn get_key(&self, key: &str, consistency: Option<&str>) -> (u16, Value) {
        let q = consistency
            .map(|c| format!("?consistency={}", enc(c)))
            .unwrap_or_default();
        self.get(&format!("/api/v1/get/{}{q}", enc(key)))
    }

    /// The value and version stored under `key`, or `None` on 404 `KEY_NOT_FOUND`.
    pub(crate) fn value_of(&self, key: &str) -> Option<(String, u64)> {
        let got = self.get_key(key, None);
        if got.0 == 404 {
            assert_error(&format!("get missing {key:?}"), &got, 404, "KEY_NOT_FOUND");
            return None;
        }
        let d = data(&format!("get {key:?}"), got);
        assert_eq!(d["key"], json!(key), "get {key:?}: answer names another key: {d}");
        let value = d["value"]
            .as_str()
            .unwrap_or_else(|| panic!("get {key:?}: no string value in {d}"));
        let version = d["version"]
            .as_u64()
            .unwrap_or_else(|| panic!("get {key:?}: no version in {d}"));
        Some((value.to_string(), version))
    }

    /// Deletes `key`, asserting success; returns whether it existed.
    pub(crate) fn delete(&self, key: &str) -> bool {
        let what = format!("delete {key:?}");
        let d = data(
            &what,
            self.send(Method::DELETE, &format!("/api/v1/delete/{}", enc(key)), None, None),
        );
        assert_eq!(d["key"], json!(key), "{what}: answer names another key: {d}");
        d["deleted"]
            .as_bool()
            .unwrap_or_else(|| panic!("{what}: no boolean `deleted` in {d}"))
    }

    /// The raw answer to `GET /api/v1/keys` with the given prefix and limit.
    pub(crate) fn scan_raw(&self, prefix: Option<&str>, limit: Option<&str>) -> (u16, Value) {
        let mut q = Vec::new();
        if let Some(p) = prefix {
            q.push(format!("prefix={}", enc(p)));
        }
        if let Some(l) = limit {
            q.push(format!("limit={}", enc(l)));
        }
        let q = if q.is_empty() {
            String::new()
        } else {
            format!("?{}", q.join("&"))
        };
        self.get(&format!("/api/v1/keys{q}"))
    }

    /// A successful scan's data object, after checking its shape: `keys` sorted by key, all
    /// starting with the prefix, and `count` equal to their number.
    pub(crate) fn scan(&self, prefix: &str, limit: Option<u32>) -> Value {
        let what = format!("scan prefix {prefix:?} limit {limit:?}");
        let d = data(
            &what,
            self.scan_raw(Some(prefix), limit.map(|l| l.to_string()).as_deref()),
        );
        let keys = d["keys"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: `keys` is not an array in {d}"));
        let names: Vec<&str> = keys.iter().map(|k| k["key"].as_str().unwrap_or_default()).collect();
        assert!(
            names.windows(2).all(|w| w[0] < w[1]),
            "{what}: keys not sorted: {names:?}"
        );
        assert!(
            names.iter().all(|k| k.starts_with(prefix)),
            "{what}: a key lacks the prefix: {names:?}"
        );
        assert_eq!(d["count"], json!(keys.len()), "{what}: `count` disagrees with `keys`");
        assert_eq!(d["prefix"], json!(prefix), "{what}: wrong `prefix` echoed");
        assert!(
            d["truncated"].is_boolean(),
            "{what}: `truncated` must be a boolean in {d}"
        );
        d
    }

    /// `GET /api/v1/cluster/status`'s data object.
    pub(crate) fn status(&self) -> Value {
        data("cluster status", self.get("/api/v1/cluster/status"))
    }

    /// `GET /api/v1/cluster/status`'s data object if the node answers 200 within `timeout`;
    /// `None` when it is down, stopped, or answers with an error.
    pub(crate) fn status_within(&self, timeout: Duration) -> Option<Value> {
        let resp = self
            .client
            .get(format!("{}/api/v1/cluster/status", self.base))
            .timeout(timeout)
            .send()
            .ok()?;
        if resp.status().as_u16() != 200 {
            return None;
        }
        let body: Value = resp.json().ok()?;
        Some(body["data"].clone()).filter(Value::is_object)
    }
}

/// Why a spawned node did not become healthy.
enum StartFailure {
    /// The process exited first (often a port taken in the meantime): worth a retry.
    Exited(String),
    /// Still running but never healthy: a real failure.
    TimedOut(String),
}

/// One `dcache serve` child process with its own temp dir, data dir and ports. Killed with
/// SIGKILL when dropped. [`Node::restart`] reuses the ports and the data dir.
pub(crate) struct Node {
    dir: TempDir,
    data_dir: PathBuf,
    name: String,
    client_port: u16,
    peer_port: u16,
    /// The Redis-protocol listener's port.
    resp_port: u16,
    /// The flags that place the node in a cluster (`--initial-cluster ...` or `--join URL`);
    /// empty for a one-node cluster of its own.
    placement: Vec<String>,
    extra: Vec<String>,
    /// TLS on both listeners and between peers, with this PKI's certificates.
    tls: Option<Pki>,
    /// A read-write client token the node requires (and `http` sends).
    token: Option<String>,
    /// Extra environment variables of the `serve` process (test hooks).
    env: Vec<(String, String)>,
    /// The `dcache` binary to run: this build's unless set (an older build, for upgrades).
    bin: PathBuf,
    /// The open-file limit (soft = hard) of the `serve` process, when set.
    nofile: Option<u64>,
    child: Option<Child>,
    spawns: u32,
    /// A client bound to this node's client URL.
    pub(crate) http: Http,
}

impl Node {
    /// A healthy single-node cluster with default settings.
    pub(crate) fn start() -> Node {
        Node::start_with(&[])
    }

    /// A healthy single-node cluster with `extra` appended to the `serve` flags. Retries
    /// with fresh ports (and a fresh data dir) up to three times if the child exits early.
    pub(crate) fn start_with(extra: &[&str]) -> Node {
        Node::start_secured(None, None, extra)
    }

    /// Like [`Node::start_with`], with TLS on both listeners using `tls`'s certificates and
    /// a read-write client token the node requires (and `http` sends), when given.
    pub(crate) fn start_secured(tls: Option<&Pki>, token: Option<&str>, extra: &[&str]) -> Node {
        Node::start_limited(tls, token, None, extra)
    }

    /// Like [`Node::start_with`], with the process's open-file limit (soft and hard, like
    /// `prlimit --nofile=N:N`) set to `nofile`.
    pub(crate) fn start_with_nofile(nofile: u64, extra: &[&str]) -> Node {
        Node::start_limited(None, None, Some(nofile), extra)
    }

    fn start_limited(tls: Option<&Pki>, token: Option<&str>, nofile: Option<u64>, extra: &[&str]) -> Node {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let mut node = Node::unstarted("node1", Vec::new(), &extra);
        node.secure(tls, token);
        node.nofile = nofile;
        let mut failures = Vec::new();
        for attempt in 1..=3 {
            let [client, peer, resp] = free_ports();
            node.place(client, peer, resp, attempt);
            node.spawn();
            match node.await_healthy() {
                Ok(()) => return node,
                Err(StartFailure::Exited(log)) => failures.push(log),
                Err(StartFailure::TimedOut(log)) => panic!("{log}"),
            }
        }
        panic!(
            "dcache serve exited before becoming healthy, 3 times:\n{}",
            failures.join("\n")
        )
    }

    /// A node named `name` that is set up (temp dir, flags) but has no ports and is not
    /// running; [`Node::place`] gives it ports.
    fn unstarted(name: &str, placement: Vec<String>, extra: &[String]) -> Node {
        Node {
            dir: tempfile::tempdir().unwrap(),
            data_dir: PathBuf::new(),
            name: name.to_string(),
            client_port: 0,
            peer_port: 0,
            resp_port: 0,
            placement,
            extra: extra.to_vec(),
            tls: None,
            token: None,
            env: Vec::new(),
            bin: PathBuf::from(BIN),
            nofile: None,
            child: None,
            spawns: 0,
            http: Http::new("http://unset"),
        }
    }

    /// Gives the node its ports and a data dir of its own for start attempt `attempt`.
    fn place(&mut self, client_port: u16, peer_port: u16, resp_port: u16, attempt: u32) {
        self.client_port = client_port;
        self.peer_port = peer_port;
        self.resp_port = resp_port;
        self.data_dir = self.dir.path().join(format!("data-{attempt}"));
        self.http = Http::secured(&self.url(), self.tls.as_ref(), self.token.as_deref());
    }

    /// Makes the node (from its next placement on) serve TLS with `pki` and require `token`.
    fn secure(&mut self, tls: Option<&Pki>, token: Option<&str>) {
        self.tls = tls.cloned();
        self.token = token.map(str::to_string);
    }

    fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// The node's data dir (empty until its first start).
    pub(crate) fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// The index recorded in the data dir's `log.floor` (the log's floor), 0 while there is
    /// none.
    pub(crate) fn log_floor(&self) -> u64 {
        std::fs::read_to_string(self.data_dir().join("log.floor"))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0)
    }

    /// The node's `--name`.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The client URL, `http://127.0.0.1:PORT` (`https` with TLS).
    pub(crate) fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme(), self.client_port)
    }

    /// The peer URL, `http://127.0.0.1:PORT` (`https` with TLS).
    pub(crate) fn peer_url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme(), self.peer_port)
    }

    /// The running child's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("node is not running").id()
    }

    /// `redis://127.0.0.1:PORT` of the node's RESP listener (`rediss://` with TLS).
    pub(crate) fn resp_url(&self) -> String {
        let scheme = if self.tls.is_some() { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}", self.resp_port)
    }

    /// The RESP listener's port.
    pub(crate) fn resp_port(&self) -> u16 {
        self.resp_port
    }

    /// Whether a child process was spawned and has not been seen to exit or been killed.
    pub(crate) fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Runs `bin` instead of this build's `dcache` from the next start on.
    pub(crate) fn set_bin(&mut self, bin: &std::path::Path) {
        self.bin = bin.to_path_buf();
    }

    /// Replaces the extra environment of `serve` (test hooks) from the next start on.
    pub(crate) fn set_env(&mut self, env: &[(&str, &str)]) {
        self.env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    }

    /// Points the node at a new, empty data dir from the next start on (same ports): as if
    /// its machine were set up again from scratch.
    pub(crate) fn use_fresh_data_dir(&mut self) {
        self.data_dir = self.dir.path().join(format!("data-fresh-{}", self.spawns));
    }

    /// Replaces the extra `serve` flags used from the next start on.
    pub(crate) fn set_extra(&mut self, extra: &[&str]) {
        self.extra = extra.iter().map(|s| s.to_string()).collect();
    }

    /// The current run's stderr (where the node logs), last 16 KiB, followed by its stdout
    /// when that is not empty.
    pub(crate) fn log(&self) -> String {
        let mut text = tail(&self.stderr());
        let stdout = std::fs::read_to_string(self.log_path("stdout")).unwrap_or_default();
        if !stdout.is_empty() {
            text += &format!("\n--- stdout ---\n{}", tail(&stdout));
        }
        text
    }

    /// Everything the current run wrote to stderr.
    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(self.log_path("stderr")).unwrap_or_default()
    }

    /// SIGKILLs the child (like `kill -9`) and reaps it. No-op when not running.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (e.g. `TERM`, `INT`) with the `kill` command.
    pub(crate) fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {} failed: {status}", self.pid());
    }

    /// Waits up to `timeout` for the child to exit and returns its status; `None` if it is
    /// still running then.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut().expect("node is not running");
        let mut status = None;
        wait_until(timeout, || {
            status = child.try_wait().unwrap();
            status.is_some()
        });
        if status.is_some() {
            self.child = None;
        }
        status
    }

    /// Starts the node again on the same ports and data dir (SIGKILLing it first if it still
    /// runs) and waits until it is healthy. Retries if the child exits early, e.g. because
    /// the old socket or another process briefly holds a port.
    pub(crate) fn restart(&mut self) {
        self.kill();
        let mut failures = Vec::new();
        for _ in 0..3 {
            self.spawn();
            match self.await_healthy() {
                Ok(()) => return,
                Err(StartFailure::Exited(log)) => failures.push(log),
                Err(StartFailure::TimedOut(log)) => panic!("after restart: {log}"),
            }
            self.move_resp_port_if_taken();
            // Give whatever held the port a moment to let go before the next try.
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "restarted dcache serve exited before becoming healthy, 3 times:\n{}",
            failures.join("\n")
        )
    }

    /// After a start that failed because its RESP port was taken meanwhile (by another
    /// test's outgoing connection, say), gives the node a new free RESP port: unlike the peer
    /// port, nothing else remembers it.
    pub(crate) fn move_resp_port_if_taken(&mut self) {
        if self.stderr().contains("cannot listen for Redis-protocol clients") {
            let [port] = free_ports();
            self.resp_port = port;
        }
    }

    /// Starts the node again on the same ports and data dir (SIGKILLing it first if it still
    /// runs) without waiting for anything: for starts that are expected to fail.
    pub(crate) fn launch(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Where the current run's `stream` (`stdout` or `stderr`) goes.
    fn log_path(&self, stream: &str) -> PathBuf {
        self.dir.path().join(format!("{stream}-{}.log", self.spawns))
    }

    fn spawn(&mut self) {
        self.spawns += 1;
        let stdout = File::create(self.log_path("stdout")).unwrap();
        let stderr = File::create(self.log_path("stderr")).unwrap();
        let client = self.url();
        let peer = self.peer_url();
        let placement = if self.placement.is_empty() {
            vec!["--initial-cluster".to_string(), format!("{}={peer}", self.name)]
        } else {
            self.placement.clone()
        };
        let mut command = Command::new(&self.bin);
        if let Some(limit) = self.nofile {
            use std::os::unix::process::CommandExt;
            // SAFETY: between fork and exec only setrlimit runs, which is async-signal-safe.
            unsafe {
                command.pre_exec(move || {
                    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, limit, limit)
                        .map_err(std::io::Error::from)
                });
            }
        }
        let child = command
            .arg("serve")
            .args(["--name", &self.name, "--data-dir"])
            .arg(&self.data_dir)
            .args(["--listen-client-urls", &client, "--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer, "--initial-advertise-peer-urls", &peer])
            // Builds from before the RESP listener (upgrade tests) do not know the flag.
            .args(
                (self.bin == std::path::Path::new(BIN))
                    .then(|| ["--listen-resp-urls".to_string(), self.resp_url()])
                    .into_iter()
                    .flatten(),
            )
            .args(&placement)
            .args(self.tls.iter().flat_map(Pki::serve_flags))
            .args(self.token.iter().flat_map(|t| {
                [
                    "--admin-token".to_string(),
                    t.clone(),
                    "--join-token".to_string(),
                    t.clone(),
                ]
            }))
            .args(&self.extra)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// `Exited` (and forgets the child) if the spawned process has exited.
    fn check_exited(&mut self) -> Result<(), StartFailure> {
        let child = self.child.as_mut().expect("spawned before");
        match child.try_wait().unwrap() {
            None => Ok(()),
            Some(status) => {
                self.child = None;
                Err(StartFailure::Exited(format!(
                    "dcache serve {} on {} exited with {status} before becoming healthy; its log:\n{}",
                    self.name,
                    self.url(),
                    self.log()
                )))
            }
        }
    }

    fn await_healthy(&mut self) -> Result<(), StartFailure> {
        await_all_healthy(std::slice::from_mut(self))
    }
}

/// The last 16 KiB of `text`, cut at a character boundary.
fn tail(text: &str) -> String {
    let cut = text.len().saturating_sub(16 * 1024);
    let start = (cut..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    text[start..].to_string()
}

/// Waits until every node in `nodes` answers `GET /health` with 200. Fails as soon as one
/// process exits, or with every node's log when they are not all healthy in time.
fn await_all_healthy<N: BorrowMut<Node>>(nodes: &mut [N]) -> Result<(), StartFailure> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        for node in nodes.iter_mut() {
            node.borrow_mut().check_exited()?;
        }
        if nodes.iter().all(|n| n.borrow().http.health() == Some(200)) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let report: Vec<String> = nodes
                .iter()
                .map(|n| {
                    let n = n.borrow();
                    format!(
                        "dcache serve {} on {}: last /health {:?}; its log:\n{}",
                        n.name,
                        n.url(),
                        n.http.health(),
                        n.log()
                    )
                })
                .collect();
            return Err(StartFailure::TimedOut(format!(
                "not healthy within {START_TIMEOUT:?}:\n{}",
                report.join("\n")
            )));
        }
        std::thread::sleep(POLL);
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Writes every `(key, value)` through `threads` concurrent keep-alive clients and returns
/// `(key, value, version)` for each, in input order. Panics (with the failing request) if
/// any write is not acknowledged with 200.
pub(crate) fn parallel_set(base: &str, items: &[(String, String)], threads: usize) -> Vec<(String, String, u64)> {
    parallel_set_over(&[base.to_string()], items, threads)
}

/// Like [`parallel_set`], with thread `t` writing through `bases[t % bases.len()]`, so the
/// writes arrive through several nodes.
pub(crate) fn parallel_set_over(
    bases: &[String],
    items: &[(String, String)],
    threads: usize,
) -> Vec<(String, String, u64)> {
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .enumerate()
            .map(|(t, part)| {
                let base = &bases[t % bases.len()];
                s.spawn(move || {
                    let http = Http::new(base);
                    part.iter()
                        .map(|(k, v)| (k.clone(), v.clone(), http.set(k, v)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

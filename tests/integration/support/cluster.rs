//! A cluster of real `dcache serve` nodes on free ports: start, find the leader by polling
//! statuses, crash, freeze, restart and join nodes. Builds on `Node`; knows dcache only
//! through its CLI flags and HTTP contract.

use std::time::Duration;

use serde_json::Value;

use super::{await_all_healthy, free_port_list, wait_until, Node, Pki, StartFailure};

/// How long one status request may take while polling; a stopped node never answers.
const STATUS_TIMEOUT: Duration = Duration::from_millis(1500);

/// How long the live nodes may take to agree on a leader.
const LEADER_TIMEOUT: Duration = Duration::from_secs(20);

/// A hook that sees a cluster's nodes before they are spawned and returns each one's extra
/// environment variables.
/// A pseudo variable a [`Prepare`] may return: the binary the node runs, not an environment
/// variable of it.
const BIN_OVERRIDE: &str = "__dcache_binary";

/// A pseudo variable a [`Prepare`] may return: the node's descriptor limit (soft and hard,
/// like `prlimit --nofile=N:N`), not an environment variable of it.
pub(crate) const NOFILE_OVERRIDE: &str = "__dcache_nofile";

pub(crate) type Prepare<'a> = dyn FnMut(&[Node]) -> Vec<Vec<(String, String)>> + 'a;

/// Nodes `node1..nodeN` founded together with one `--initial-cluster`, plus any that joined
/// later. Indexes are 0-based (`node(0)` is `node1`). Every process is SIGKILLed on drop.
pub(crate) struct Cluster {
    nodes: Vec<Node>,
    /// Whether each node is frozen with SIGSTOP (it runs but cannot answer).
    stopped: Vec<bool>,
    extra: Vec<String>,
}

impl Cluster {
    /// A healthy cluster of `n` founding nodes, each started with `extra` appended to its
    /// `serve` flags. Every node must know the others' peer URLs before it starts, so if a
    /// child exits early (a port taken meanwhile) the whole cluster is started again on
    /// fresh ports, up to three times.
    pub(crate) fn start(n: usize, extra: &[&str]) -> Cluster {
        Cluster::start_secured(n, None, None, extra)
    }

    /// Like [`Cluster::start`], with TLS on every listener and between peers using `tls`'s
    /// certificates, and a client token every node requires (and the test clients send).
    pub(crate) fn start_secured(n: usize, tls: Option<&Pki>, token: Option<&str>, extra: &[&str]) -> Cluster {
        Cluster::start_inner(n, tls, token, extra, &mut |_| Vec::new())
    }

    /// Like [`Cluster::start`], but before the nodes are spawned (on each start attempt)
    /// `prepare` sees them (names, URLs, empty data dirs) and returns the extra environment of
    /// each: for test hooks such as the fault harness's peer routes, or to seed data dirs.
    pub(crate) fn start_prepared(n: usize, extra: &[&str], prepare: &mut Prepare<'_>) -> Cluster {
        Cluster::start_inner(n, None, None, extra, prepare)
    }

    /// Like [`Cluster::start`], every node running the `dcache` binary at `bin` (an older
    /// build, for upgrade tests).
    pub(crate) fn start_binary(n: usize, bin: &std::path::Path) -> Cluster {
        let bin = bin.to_path_buf();
        Cluster::start_inner(n, None, None, &[], &mut |nodes| {
            nodes
                .iter()
                .map(|_| vec![(BIN_OVERRIDE.to_string(), bin.display().to_string())])
                .collect()
        })
    }

    fn start_inner(
        n: usize,
        tls: Option<&Pki>,
        token: Option<&str>,
        extra: &[&str],
        prepare: &mut Prepare<'_>,
    ) -> Cluster {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let mut failures = Vec::new();
        for attempt in 1..=3 {
            let ports = free_port_list(3 * n);
            let mut nodes: Vec<Node> = (0..n)
                .map(|i| {
                    let mut node = Node::unstarted(&format!("node{}", i + 1), Vec::new(), &extra);
                    node.secure(tls, token);
                    node.place(ports[3 * i], ports[3 * i + 1], ports[3 * i + 2], attempt);
                    node
                })
                .collect();
            let envs = prepare(&nodes);
            for (node, mut env) in nodes.iter_mut().zip(envs) {
                if let Some(pos) = env.iter().position(|(k, _)| k == BIN_OVERRIDE) {
                    node.bin = env.remove(pos).1.into();
                }
                if let Some(pos) = env.iter().position(|(k, _)| k == NOFILE_OVERRIDE) {
                    node.nofile = Some(env.remove(pos).1.parse().expect("a descriptor limit"));
                }
                node.env = env;
            }
            let initial: Vec<String> = nodes.iter().map(|n| format!("{}={}", n.name, n.peer_url())).collect();
            let initial = initial.join(",");
            for node in &mut nodes {
                node.placement = vec!["--initial-cluster".to_string(), initial.clone()];
                node.spawn();
            }
            match await_all_healthy(&mut nodes) {
                Ok(()) => {
                    let cluster = Cluster {
                        stopped: vec![false; n],
                        nodes,
                        extra,
                    };
                    cluster.await_client_urls();
                    return cluster;
                }
                // Dropping `nodes` kills the survivors before the next attempt.
                Err(StartFailure::Exited(log)) => failures.push(log),
                Err(StartFailure::TimedOut(log)) => panic!("a {n}-node cluster did not start: {log}"),
            }
        }
        panic!("a {n}-node cluster failed to start 3 times:\n{}", failures.join("\n"))
    }

    /// Starts one more node, `node{len+1}`, with `--join` pointing at node `via`'s client
    /// URL and the cluster's extra flags, and waits until it is healthy (knows a leader).
    /// Returns its index.
    pub(crate) fn join(&mut self, via: usize) -> usize {
        let name = format!("node{}", self.nodes.len() + 1);
        let placement = vec!["--join".to_string(), self.nodes[via].url()];
        let mut node = Node::unstarted(&name, placement, &self.extra);
        node.secure(self.nodes[via].tls.as_ref(), self.nodes[via].token.as_deref());
        let mut failures = Vec::new();
        for attempt in 1..=3 {
            let [client, peer, resp] = super::free_ports();
            node.place(client, peer, resp, attempt);
            node.spawn();
            match node.await_healthy() {
                Ok(()) => {
                    self.nodes.push(node);
                    self.stopped.push(false);
                    return self.nodes.len() - 1;
                }
                Err(StartFailure::Exited(log)) => failures.push(log),
                Err(StartFailure::TimedOut(log)) => {
                    panic!(
                        "{name} joining via {} never became healthy: {log}\n{}",
                        self.nodes[via].url(),
                        self.logs()
                    )
                }
            }
        }
        panic!(
            "{name} exited before becoming healthy, 3 times:\n{}",
            failures.join("\n")
        )
    }

    /// Waits until every live node lists every live member with its client URL. Founders
    /// register their client URLs in the replicated membership only after a leader exists,
    /// so `/health` turns 200 before other nodes can point clients at them.
    fn await_client_urls(&self) {
        let live = self.live();
        let mut last = Vec::new();
        let registered = wait_until(Duration::from_secs(10), || {
            last = live
                .iter()
                .map(|&i| self.nodes[i].http.status_within(STATUS_TIMEOUT))
                .collect();
            last.iter().all(|s| {
                s.as_ref().is_some_and(|s| {
                    live.iter().all(|&i| {
                        let n = &self.nodes[i];
                        s["members"]
                            .as_array()
                            .is_some_and(|ms| ms.iter().any(|m| m["name"] == n.name() && m["client_url"] == n.url()))
                    })
                })
            })
        });
        assert!(
            registered,
            "the members' client URLs were not all registered within 10 s; last statuses: {last:#?}"
        );
    }

    /// Number of nodes ever started (founders and joiners), running or not.
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Node `i`.
    pub(crate) fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    /// Node `i`, mutably (to kill, restart or wait for its exit).
    pub(crate) fn node_mut(&mut self, i: usize) -> &mut Node {
        &mut self.nodes[i]
    }

    /// `GET /api/v1/cluster/status` of node `i`, asserting success.
    pub(crate) fn status(&self, i: usize) -> Value {
        self.nodes[i].http.status()
    }

    /// Indexes of the nodes that run and are not frozen, so can answer.
    pub(crate) fn live(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].is_running() && !self.stopped[i])
            .collect()
    }

    /// Index of the node that every live node names as leader, polling their statuses
    /// until they agree (and the leader says so itself). Panics after 20 s with the last
    /// statuses and every log.
    pub(crate) fn leader(&self) -> usize {
        self.leader_among(&self.live())
    }

    /// Like [`Cluster::leader`], but only asks the nodes in `among` (and the leader must be
    /// one of them): for when other nodes are known to be stale.
    pub(crate) fn leader_among(&self, among: &[usize]) -> usize {
        let mut statuses: Vec<Option<Value>> = Vec::new();
        let mut found = None;
        let agreed = wait_until(LEADER_TIMEOUT, || {
            statuses = among
                .iter()
                .map(|&i| self.nodes[i].http.status_within(STATUS_TIMEOUT))
                .collect();
            found = agreed_leader(&statuses).and_then(|pos| among.get(pos).copied());
            found.is_some()
        });
        match found {
            Some(i) if agreed => i,
            _ => panic!(
                "nodes {among:?} did not agree on a leader within {LEADER_TIMEOUT:?}; last statuses:\n{}\n{}",
                statuses
                    .iter()
                    .map(|s| s.as_ref().map(Value::to_string).unwrap_or_else(|| "(no answer)".into()))
                    .collect::<Vec<_>>()
                    .join("\n"),
                self.logs()
            ),
        }
    }

    /// The live nodes other than `leader`.
    pub(crate) fn followers_of(&self, leader: usize) -> Vec<usize> {
        self.live().into_iter().filter(|&i| i != leader).collect()
    }

    /// SIGKILLs node `i` (like `kill -9`) and reaps it.
    pub(crate) fn kill9(&mut self, i: usize) {
        self.nodes[i].kill();
        self.stopped[i] = false;
    }

    /// Restarts node `i` on its ports and data dir and waits until it is healthy.
    pub(crate) fn restart(&mut self, i: usize) {
        self.restart_many(&[i]);
    }

    /// SIGKILLs the nodes in `which` that still run, starts them all again on their ports and
    /// data dirs, and waits until all are healthy: the way to bring back a lost quorum.
    pub(crate) fn restart_many(&mut self, which: &[usize]) {
        for &i in which {
            self.kill9(i);
        }
        let mut failures = Vec::new();
        for _ in 0..3 {
            let mut group: Vec<&mut Node> = Vec::new();
            for (i, node) in self.nodes.iter_mut().enumerate() {
                if which.contains(&i) {
                    if !node.is_running() {
                        node.spawn();
                    }
                    group.push(node);
                }
            }
            match await_all_healthy(&mut group) {
                Ok(()) => return,
                Err(StartFailure::Exited(log)) => failures.push(log),
                Err(StartFailure::TimedOut(log)) => panic!("after restarting {which:?}: {log}\n{}", self.logs()),
            }
            for &i in which {
                if !self.nodes[i].is_running() {
                    self.nodes[i].move_resp_port_if_taken();
                }
            }
            // Give whatever held the port a moment to let go before the next try.
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "restarted nodes {which:?} exited before becoming healthy, 3 times:\n{}",
            failures.join("\n")
        )
    }

    /// Sends `signal` to node `i` with `kill`; `STOP` freezes it (it keeps its sockets but
    /// answers nothing) until `CONT`.
    pub(crate) fn stop_signal(&mut self, i: usize, signal: &str) {
        self.nodes[i].signal(signal);
        match signal {
            "STOP" => {
                // `kill` returns once the signal is queued; wait until the kernel has stopped
                // the process, so a test that polls right after sees it frozen.
                let stat = format!("/proc/{}/stat", self.nodes[i].pid());
                let frozen = super::wait_until(std::time::Duration::from_secs(5), || {
                    std::fs::read_to_string(&stat)
                        .is_ok_and(|s| s.rsplit_once(')').is_some_and(|(_, r)| r.trim_start().starts_with('T')))
                });
                assert!(frozen, "node {i} did not stop on SIGSTOP");
                self.stopped[i] = true;
            }
            "CONT" => self.stopped[i] = false,
            _ => {}
        }
    }

    /// Copies every log each node has written (one per start) into `to`, named after the
    /// node: what a long run keeps when it fails. Returns the files copied.
    pub(crate) fn keep_logs(&self, to: &std::path::Path) -> std::io::Result<usize> {
        std::fs::create_dir_all(to)?;
        let mut copied = 0;
        for node in &self.nodes {
            for entry in std::fs::read_dir(node.dir.path())? {
                let path = entry?.path();
                let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
                    continue;
                };
                if file.ends_with(".log") {
                    std::fs::copy(&path, to.join(format!("{}-{file}", node.name)))?;
                    copied += 1;
                }
            }
        }
        Ok(copied)
    }

    /// The current log of every node, each under its name, for failure messages.
    pub(crate) fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("--- log of {} ({}) ---\n{}", n.name, n.url(), n.log()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Position in `statuses` of the leader all of them agree on: every node answered, exactly
/// one says it is the leader, and every node names that one as `leader`.
fn agreed_leader(statuses: &[Option<Value>]) -> Option<usize> {
    let statuses: Vec<&Value> = statuses.iter().map(Option::as_ref).collect::<Option<_>>()?;
    let leaders: Vec<usize> = (0..statuses.len())
        .filter(|&p| statuses[p]["role"] == "leader")
        .collect();
    let [pos] = leaders[..] else {
        return None;
    };
    let id = statuses[pos]["id"].as_u64()?;
    statuses
        .iter()
        .all(|s| s["leader"]["id"].as_u64() == Some(id))
        .then_some(pos)
}

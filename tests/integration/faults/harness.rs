//! The fault harness: a 3-node cluster whose every directed peer link runs through a
//! fault-injecting proxy (via dcache's `DCACHE_TEST_PEER_ROUTES` test hook), concurrent clients
//! spread over the nodes recording every operation for the checker, and the faults themselves.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};

use super::checker::{Event, Op, Outcome};
use super::proxy::{Mode, Proxy};
use crate::support::{enc, wait_until, Cluster, Http};

/// Flags of every node: short timeouts so that clients learn outcomes quickly under faults.
pub(crate) const NODE_FLAGS: &[&str] = &[
    "--request-timeout",
    "2s",
    "--max-connections",
    "48",
    // Snapshots (and log purges) every 500 entries, several per run: lagging members catch
    // up by snapshot under the faults, and watchers on them must be told.
    "--snapshot-logs",
    "500",
];

/// The member [`FaultCluster::start_skewed`] runs with a descriptor limit of [`LOW_NOFILE`]:
/// under it the node lowers its connection caps at start, and the flood fault runs it out
/// of descriptors (EMFILE is load, never a dead disk).
pub(crate) const LOW_NOFILE_MEMBER: usize = 0;
pub(crate) const LOW_NOFILE: u64 = 200;

/// Silent connections the flood fault keeps on each port: past `--max-connections`.
pub(crate) const FLOOD_PER_PORT: usize = 60;

/// The member whose wall clock [`FaultCluster::start_skewed`] moves.
pub(crate) const SKEWED: usize = 2;

/// A client gives up on a request after this long; the outcome of a write is then unknown.
pub(crate) const CLIENT_TIMEOUT: Duration = Duration::from_secs(3);

/// The cluster and the proxies on its peer links (`links[&(from, to)]`).
pub(crate) struct FaultCluster {
    pub(crate) cluster: Cluster,
    links: HashMap<(usize, usize), Proxy>,
}

impl FaultCluster {
    /// Three founding nodes; node `i` reaches node `j`'s peer port only through the proxy
    /// of link (i, j).
    pub(crate) fn start() -> FaultCluster {
        FaultCluster::start_skewed(None)
    }

    /// Like [`FaultCluster::start`], with member [`SKEWED`]'s wall clock moved by `skew`
    /// (libfaketime's form, `+2s` or `-2s`) when given. The node keeps its environment, so
    /// the skew survives every restart a fault makes.
    pub(crate) fn start_skewed(skew: Option<&str>) -> FaultCluster {
        let skew_env = skew.map(crate::skew::faketime_env).unwrap_or_default();
        let low_nofile = vec![(crate::support::NOFILE_OVERRIDE.to_string(), LOW_NOFILE.to_string())];
        FaultCluster::start_with(NODE_FLAGS, &[(SKEWED, skew_env), (LOW_NOFILE_MEMBER, low_nofile)])
    }

    /// Three founding nodes started with `flags`; member `i` of each `(i, env)` in `envs`
    /// also gets `env` (libfaketime's variables, say), kept across restarts.
    pub(crate) fn start_with(flags: &[&str], envs: &[(usize, Vec<(String, String)>)]) -> FaultCluster {
        let mut links: HashMap<(usize, usize), Proxy> = HashMap::new();
        let cluster = Cluster::start_prepared(3, flags, &mut |nodes| {
            let peer_urls: Vec<String> = nodes.iter().map(|n| n.peer_url()).collect();
            links.clear();
            let n = peer_urls.len();
            (0..n)
                .map(|i| {
                    let routes: Vec<String> = (0..n)
                        .filter(|&j| j != i)
                        .map(|j| {
                            let target: SocketAddr = peer_urls[j].trim_start_matches("http://").parse().unwrap();
                            let proxy = Proxy::start(target).unwrap();
                            let route = format!("{}=http://{}", peer_urls[j], proxy.addr());
                            links.insert((i, j), proxy);
                            route
                        })
                        .collect();
                    let mut env = vec![("DCACHE_TEST_PEER_ROUTES".to_string(), routes.join(","))];
                    for (_, extra) in envs.iter().filter(|(member, _)| *member == i) {
                        env.extend(extra.iter().cloned());
                    }
                    env
                })
                .collect()
        });
        FaultCluster { cluster, links }
    }

    /// Sets the mode of both directions between `a` and `b`.
    pub(crate) fn set_link(&self, a: usize, b: usize, mode: Mode) {
        for key in [(a, b), (b, a)] {
            if let Some(p) = self.links.get(&key) {
                p.set_mode(mode);
            }
        }
    }

    /// Cuts `node` off from every other node (clients still reach it).
    pub(crate) fn isolate(&self, node: usize) {
        for other in 0..3 {
            if other != node {
                self.set_link(node, other, Mode::Blackhole);
            }
        }
    }

    /// Sets every link to `mode`.
    pub(crate) fn set_all(&self, mode: Mode) {
        for p in self.links.values() {
            p.set_mode(mode);
        }
    }

    /// Heals every link.
    pub(crate) fn heal(&self) {
        self.set_all(Mode::Pass);
    }

    /// Connections cut by faults on all links together.
    pub(crate) fn cuts(&self) -> u64 {
        self.links.values().map(|p| p.stats().cut_by_fault).sum()
    }
}

/// Every operation of a run, with times relative to its start.
pub(crate) struct Recorder {
    start: Instant,
    events: Mutex<Vec<Event>>,
    /// Writes of once-only keys that were acknowledged (checked for loss at the end).
    acked_unique: Mutex<Vec<String>>,
    pub(crate) ok: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) unknown: AtomicU64,
    /// Operations with a known outcome that went over the Redis protocol.
    pub(crate) resp_ok: AtomicU64,
}

impl Recorder {
    pub(crate) fn new() -> Arc<Recorder> {
        Arc::new(Recorder {
            start: Instant::now(),
            events: Mutex::new(Vec::new()),
            acked_unique: Mutex::new(Vec::new()),
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            unknown: AtomicU64::new(0),
            resp_ok: AtomicU64::new(0),
        })
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Runs `op` on `key` over `conn` as client `client` and records it.
    fn run_on(&self, conn: &mut Conn, client: usize, key: &str, op: Op) {
        match conn {
            // One HTTP client in two reads by lease: those reads are linearizable only while
            // clocks run at the same rate, which every fault here keeps true.
            Conn::Http(http) => {
                let consistency = if client % 3 == 1 { "lease" } else { "linearizable" };
                self.run(http, client, key, op, consistency)
            }
            Conn::Resp(resp) => self.run_resp(resp, client, key, op),
        }
    }

    /// Runs `op` on `key` over the Redis protocol and records it. RESP reports no versions:
    /// an acknowledged `SET` and a `GET` are checked by value alone.
    fn run_resp(&self, resp: &mut Resp, client: usize, key: &str, op: Op) {
        let call = self.now();
        let Some(con) = resp.connection() else {
            // Never sent: no effect.
            self.failed.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let outcome = match &op {
            Op::Set { value } => match redis::cmd("SET").arg(key).arg(value).query::<String>(con) {
                Ok(ok) if ok == "OK" => Some(Outcome::SetAcked),
                // An error reply, a timeout or a reset: the write may have been applied.
                _ => Some(Outcome::Unknown),
            },
            Op::Delete => match redis::cmd("DEL").arg(key).query::<i64>(con) {
                Ok(n) => Some(Outcome::Delete { existed: n == 1 }),
                Err(_) => Some(Outcome::Unknown),
            },
            Op::Get => redis::cmd("GET")
                .arg(key)
                .query::<Option<String>>(con)
                .ok()
                .map(Outcome::GetValue),
        };
        let ret = self.now();
        if matches!(outcome, None | Some(Outcome::Unknown)) {
            // The connection may be mid-answer: start afresh.
            resp.con = None;
        } else {
            self.resp_ok.fetch_add(1, Ordering::Relaxed);
        }
        self.record(client, key, op, call, ret, outcome);
    }

    /// Runs `op` on `key` through `http` as client `client` and records it.
    pub(crate) fn run(&self, http: &Http, client: usize, key: &str, op: Op, consistency: &str) {
        let call = self.now();
        let answer = match &op {
            Op::Set { value } => try_set(http, key, value),
            Op::Get => http.try_send(
                Method::GET,
                &format!("/api/v1/get/{}?consistency={consistency}", enc(key)),
                None,
                None,
            ),
            Op::Delete => http.try_send(Method::DELETE, &format!("/api/v1/delete/{}", enc(key)), None, None),
        };
        let ret = self.now();
        let outcome = match (&op, answer) {
            (Op::Set { .. }, Ok((200, v))) => Some(Outcome::Set {
                version: v["data"]["version"].as_u64().unwrap(),
            }),
            (Op::Delete, Ok((200, v))) => Some(Outcome::Delete {
                existed: v["data"]["deleted"].as_bool().unwrap(),
            }),
            (Op::Get, Ok((200, v))) => Some(Outcome::Get(Some((
                v["data"]["value"].as_str().unwrap().to_string(),
                v["data"]["version"].as_u64().unwrap(),
            )))),
            (Op::Get, Ok((404, v))) if v["error"]["code"] == "KEY_NOT_FOUND" => Some(Outcome::Get(None)),
            // The body did not reach the node within its request timeout (a starved client
            // on a loaded machine): it was never read, so it took no effect.
            (_, Ok((408, v))) if v["error"]["code"] == "REQUEST_TIMEOUT" => None,
            // A refused request (4xx) never took effect.
            (_, Ok((status, v))) if (400..500).contains(&status) => {
                panic!("{key}: {op:?} refused with {status}: {v}")
            }
            // A failed read changed nothing, nor did a request that never connected: leave
            // them out.
            (Op::Get, _) => None,
            (_, Err(e)) if e.is_connect() => None,
            // A write that failed in the cluster or on the way may still have been applied.
            (_, _) => Some(Outcome::Unknown),
        };
        self.record(client, key, op, call, ret, outcome);
    }

    /// Counts an operation and, unless it is known to have had no effect, adds it to the
    /// history.
    fn record(&self, client: usize, key: &str, op: Op, call: u64, ret: u64, outcome: Option<Outcome>) {
        let (ret, counter) = match &outcome {
            None => (None, &self.failed),
            Some(Outcome::Unknown) => (None, &self.unknown),
            Some(_) => (Some(ret), &self.ok),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(outcome) = outcome {
            self.events.lock().unwrap().push(Event {
                client,
                key: key.to_string(),
                op,
                call,
                ret,
                outcome,
            });
        }
    }

    /// Writes a key that is written only this once; remembers it when acknowledged.
    fn write_unique(&self, conn: &mut Conn, key: String) {
        let acked = match conn {
            Conn::Http(http) => matches!(try_set(http, &key, "once"), Ok((200, _))),
            Conn::Resp(resp) => {
                let answer = resp
                    .connection()
                    .map(|con| redis::cmd("SET").arg(&key).arg("once").query::<String>(con));
                match answer {
                    Some(Ok(ok)) => ok == "OK",
                    Some(Err(_)) => {
                        resp.con = None;
                        false
                    }
                    None => false,
                }
            }
        };
        if acked {
            self.acked_unique.lock().unwrap().push(key);
        }
    }

    /// The recorded history so far.
    pub(crate) fn history(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    /// Acknowledged once-only writes missing from `present` (keys a node lists).
    pub(crate) fn lost_unique(&self, present: &[String]) -> Vec<String> {
        let present: std::collections::HashSet<&String> = present.iter().collect();
        let acked = self.acked_unique.lock().unwrap();
        acked.iter().filter(|k| !present.contains(k)).cloned().collect()
    }

    /// The once-only writes acknowledged so far (every one of them before this call).
    pub(crate) fn acked_unique_keys(&self) -> Vec<String> {
        self.acked_unique.lock().unwrap().clone()
    }

    /// How many once-only writes were acknowledged.
    pub(crate) fn acked_unique(&self) -> usize {
        self.acked_unique.lock().unwrap().len()
    }
}

/// Keys the register workload spreads over.
pub(crate) fn keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("reg/{i}")).collect()
}

/// Clients running the register workload until stopped.
pub(crate) struct Workload {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Workload {
    /// `clients` threads, client `c` bound to node `c % nodes.len()` (`nodes[i]` is its
    /// client URL and its RESP URL), each doing random sets (unique values), linearizable
    /// gets and deletes on `keys`, plus now and then a once-only write, paced a few
    /// milliseconds apart. Every third client speaks RESP, the others HTTP.
    pub(crate) fn start(rec: &Arc<Recorder>, nodes: &[(String, String)], clients: usize, keys: &[String]) -> Workload {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..clients)
            .map(|c| {
                let (rec, stop, keys) = (rec.clone(), stop.clone(), keys.to_vec());
                let (http_url, resp_url) = &nodes[c % nodes.len()];
                let mut conn = if c % 3 == 2 {
                    Conn::Resp(Resp {
                        url: resp_url.clone(),
                        con: None,
                    })
                } else {
                    Conn::Http(Http::with_timeout(http_url, CLIENT_TIMEOUT))
                };
                std::thread::spawn(move || {
                    let mut rng = SmallRng::seed_from_u64(c as u64 * 7919 + 1);
                    let mut seq = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        seq += 1;
                        let key = &keys[rng.gen_range(0..keys.len())];
                        match rng.gen_range(0..100) {
                            0..=44 => rec.run_on(
                                &mut conn,
                                c,
                                key,
                                Op::Set {
                                    value: format!("c{c}-{seq}"),
                                },
                            ),
                            45..=89 => rec.run_on(&mut conn, c, key, Op::Get),
                            90..=94 => rec.run_on(&mut conn, c, key, Op::Delete),
                            _ => rec.write_unique(&mut conn, format!("once/{c}/{seq}")),
                        }
                        // Load shaping, not waiting for a state: keeps histories checkable.
                        std::thread::sleep(Duration::from_millis(rng.gen_range(2..12)));
                    }
                })
            })
            .collect();
        Workload { stop, threads }
    }

    /// Stops every client and waits for its last request to end.
    pub(crate) fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
    }
}

/// How a workload client talks to its node.
enum Conn {
    Http(Http),
    Resp(Resp),
}

/// A Redis-protocol client that reconnects after any failure.
struct Resp {
    url: String,
    con: Option<redis::Connection>,
}

impl Resp {
    /// The open connection, or a new one; `None` when the node cannot be reached.
    fn connection(&mut self) -> Option<&mut redis::Connection> {
        if self.con.is_none() {
            let client = redis::Client::open(self.url.as_str()).ok()?;
            let con = client.get_connection_with_timeout(CLIENT_TIMEOUT).ok()?;
            con.set_read_timeout(Some(CLIENT_TIMEOUT)).ok()?;
            con.set_write_timeout(Some(CLIENT_TIMEOUT)).ok()?;
            self.con = Some(con);
        }
        self.con.as_mut()
    }
}

/// `POST /api/v1/set` of `key` = `value`; an `Err` when no HTTP answer came back.
pub(crate) fn try_set(http: &Http, key: &str, value: &str) -> Result<(u16, Value), reqwest::Error> {
    http.try_send(
        Method::POST,
        "/api/v1/set",
        Some("application/json"),
        Some(json!({"key": key, "value": value}).to_string().into_bytes()),
    )
}

/// Waits until the live nodes agree on a leader and it accepts a write; returns it.
pub(crate) fn settle(c: &Cluster) -> usize {
    settle_among(c, &c.live())
}

/// Like [`settle`], asking only the nodes in `among` (e.g. not a member being removed, which
/// stops itself once it learns it and may answer no status while it does).
pub(crate) fn settle_among(c: &Cluster, among: &[usize]) -> usize {
    let leader = c.leader_among(among);
    let http = Http::with_timeout(&c.node(leader).url(), CLIENT_TIMEOUT);
    let ok = wait_until(Duration::from_secs(20), || {
        try_set(&http, "settle", "x").is_ok_and(|(s, _)| s == 200)
    });
    assert!(ok, "the cluster does not take writes after healing:\n{}", c.logs());
    leader
}

/// The keys under `prefix` that node `i` lists (linearizable scan, every page).
pub(crate) fn scan_keys(c: &Cluster, i: usize, prefix: &str) -> Vec<String> {
    super::mixed::scan_all(&c.node(i).http, prefix, "linearizable")
        .unwrap_or_else(|e| panic!("scan of {prefix} on node {i}: {e}"))
        .0
}

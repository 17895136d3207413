//! The node's Prometheus registry: request counters and latency histograms (recorded by the
//! front ends), write and read batching counters (recorded by the node), and Raft and cache
//! gauges refreshed from the node's status at scrape time, so they cost nothing between
//! scrapes. It knows nothing of the node; the server's `/metrics` handler encodes it.

use axum::extract::MatchedPath;
use axum::http::Method;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::types::NodeStatus;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Route,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteOnly {
    route: Route,
}

/// A route label: the router's pattern for the request, shared with the router (cloning it
/// does not allocate, which matters at tens of thousands of requests a second).
#[derive(Clone, Debug)]
pub struct Route(pub Option<MatchedPath>);

impl Route {
    fn as_str(&self) -> &str {
        self.0.as_ref().map_or("unmatched", MatchedPath::as_str)
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl std::hash::Hash for Route {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// The method label, without allocating for the methods the API serves.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::PUT => "PUT",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RespLabels {
    command: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RespCommand {
    command: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PeerLabels {
    peer: String,
}

/// The node's metric registry and the handles the server updates.
pub struct Metrics {
    registry: Registry,
    requests: Family<RouteLabels, Counter>,
    latency: Family<RouteOnly, Histogram>,
    gauges: Vec<(&'static str, Gauge<i64, AtomicI64>)>,
    lag: Family<PeerLabels, Gauge>,
    cert_expiry: Family<CertLabels, Gauge>,
    read_rounds: Counter,
    write_entries: Counter,
    writes: Counter,
    resp_commands: Family<RespLabels, Counter>,
    resp_latency: Family<RespCommand, Histogram>,
    resp_connections: Gauge<i64, AtomicI64>,
}

type AtomicI64 = std::sync::atomic::AtomicI64;

/// Which certificate an expiry gauge is about: `client`, `peer` or `peer-ca`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct CertLabels {
    certificate: &'static str,
}

/// Gauges refreshed from the status at scrape time: name and help.
const GAUGES: [(&str, &str); 13] = [
    ("dcache_raft_term", "Current Raft term"),
    ("dcache_raft_is_leader", "1 on the leader, 0 elsewhere"),
    ("dcache_raft_last_log_index", "Last log index on this node"),
    ("dcache_raft_committed_index", "Committed log index known to this node"),
    ("dcache_raft_applied_index", "Log index applied to the cache"),
    ("dcache_raft_snapshot_index", "Log index of the latest snapshot"),
    ("dcache_raft_purged_index", "Log purged up to this index"),
    ("dcache_cache_keys", "Keys held (expired keys count until purged)"),
    ("dcache_cache_bytes", "Bytes counted against max-memory"),
    (
        "dcache_cache_evictions",
        "Keys evicted for the memory bound (replicated count)",
    ),
    ("dcache_cache_expirations", "Keys removed on expiry (replicated count)"),
    ("dcache_disk_bytes", "Size of the sled database and the snapshot file"),
    ("dcache_members", "Members in the cluster configuration"),
];

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RouteLabels, Counter>::default();
        registry.register(
            "dcache_http_requests",
            "Client API requests by route, method and status",
            requests.clone(),
        );
        let latency = Family::<RouteOnly, Histogram>::new_with_constructor(|| {
            // 50 us .. ~13 s
            Histogram::new(exponential_buckets(0.000_05, 2.0, 19))
        });
        registry.register(
            "dcache_http_request_seconds",
            "Client API latency by route",
            latency.clone(),
        );
        let cert_expiry = Family::<CertLabels, Gauge>::default();
        registry.register(
            "dcache_tls_certificate_expiry_seconds",
            "Seconds until the certificate expires (negative once it has), read from its file at scrape time",
            cert_expiry.clone(),
        );
        let lag = Family::<PeerLabels, Gauge>::default();
        registry.register(
            "dcache_raft_replication_lag",
            "Entries each member is behind the leader (leader only)",
            lag.clone(),
        );
        let read_rounds = Counter::default();
        registry.register(
            "dcache_read_rounds",
            "ReadIndex or lease rounds run here; each serves every linearizable read waiting when it starts",
            read_rounds.clone(),
        );
        let write_entries = Counter::default();
        registry.register(
            "dcache_write_entries",
            "Log entries of single-key client writes proposed by this node as leader",
            write_entries.clone(),
        );
        let writes = Counter::default();
        registry.register(
            "dcache_coalesced_writes",
            "Single-key client writes in those entries (writes per entry = this / dcache_write_entries)",
            writes.clone(),
        );
        let resp_commands = Family::<RespLabels, Counter>::default();
        registry.register(
            "dcache_resp_commands",
            "Redis-protocol commands by command name and outcome (ok or error)",
            resp_commands.clone(),
        );
        let resp_latency = Family::<RespCommand, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_005, 2.0, 22))
        });
        registry.register(
            "dcache_resp_command_seconds",
            "Redis-protocol command latency by command name",
            resp_latency.clone(),
        );
        let resp_connections = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "dcache_resp_connections",
            "Open Redis-protocol connections",
            resp_connections.clone(),
        );
        let gauges = GAUGES
            .iter()
            .map(|(name, help)| {
                let g = Gauge::<i64, AtomicI64>::default();
                registry.register(*name, *help, g.clone());
                (*name, g)
            })
            .collect();
        Metrics {
            registry,
            requests,
            latency,
            gauges,
            lag,
            cert_expiry,
            read_rounds,
            write_entries,
            writes,
            resp_commands,
            resp_latency,
            resp_connections,
        }
    }

    /// Counts one Redis-protocol command (a name the front end serves) and its latency.
    pub fn resp_command(&self, command: &str, took: std::time::Duration, failed: bool) {
        let command = command.to_string();
        self.resp_latency
            .get_or_create(&RespCommand {
                command: command.clone(),
            })
            .observe(took.as_secs_f64());
        let outcome = if failed { "error" } else { "ok" };
        self.resp_commands.get_or_create(&RespLabels { command, outcome }).inc();
    }

    /// A Redis-protocol connection opened (`+1`) or closed (`-1`).
    pub fn resp_connection(&self, delta: i64) {
        self.resp_connections.inc_by(delta);
    }

    /// Open Redis-protocol connections.
    pub fn resp_connections(&self) -> i64 {
        self.resp_connections.get()
    }

    /// Counts one read round.
    pub fn read_round(&self) {
        self.read_rounds.inc();
    }

    /// Counts one proposed entry holding `writes` single-key client writes.
    pub fn write_entry(&self, writes: usize) {
        self.write_entries.inc();
        self.writes.inc_by(writes as u64);
    }

    /// Counts one client request and observes its latency.
    pub fn record(&self, route: Route, method: &'static str, status: u16, seconds: f64) {
        let route = RouteOnly { route };
        self.latency.get_or_create(&route).observe(seconds);
        self.requests
            .get_or_create(&RouteLabels {
                route: route.route,
                method,
                status,
            })
            .inc();
    }

    /// Records that `certificate` (`client`, `peer`, `peer-ca`) expires in `seconds`.
    pub fn set_cert_expiry(&self, certificate: &'static str, seconds: i64) {
        self.cert_expiry.get_or_create(&CertLabels { certificate }).set(seconds);
    }

    /// Sets the gauges from `s`, this node's status, then encodes every metric in the
    /// OpenMetrics text format.
    pub fn encode(&self, s: &NodeStatus) -> Result<String, std::fmt::Error> {
        self.refresh(s);
        let mut body = String::new();
        prometheus_client::encoding::text::encode(&mut body, &self.registry)?;
        Ok(body)
    }

    fn refresh(&self, s: &NodeStatus) {
        let values = [
            s.term,
            u64::from(s.leads()),
            s.last_log_index,
            s.committed,
            s.applied,
            s.snapshot_index,
            s.purged_index,
            s.key_count,
            s.approx_bytes,
            s.evictions,
            s.expirations,
            s.disk_bytes,
            s.members.len() as u64,
        ];
        for ((_, gauge), v) in self.gauges.iter().zip(values) {
            gauge.set(i64::try_from(v).unwrap_or(i64::MAX));
        }
        self.lag.clear();
        for r in s.replication.iter().flatten() {
            // A member the leader has not reached yet has no lag to report.
            let Some(lag) = r.lag else { continue };
            self.lag
                .get_or_create(&PeerLabels { peer: r.name.clone() })
                .set(i64::try_from(lag).unwrap_or(i64::MAX));
        }
    }
}

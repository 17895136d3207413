//! Command-line options as parsed by clap. The doc comments are the `--help` text. Values a
//! client command cannot use (a `--server` without scheme, `--clients 0`, `--read-ratio 1.5`,
//! a too short `--interval`) are refused here, so clap reports them as usage errors (exit 2);
//! `config` turns `ServeArgs` into a checked `Config`. Imports no other module's logic.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::types::Consistency;

/// Default client URL, for the CLI's `--server` and for `dcache serve` with no flags
/// (`config` re-exports it). Defined here so the options do not depend on `config`.
pub const DEFAULT_CLIENT_URL: &str = "http://127.0.0.1:8080";

/// dcache: a strongly consistent, Raft-replicated in-memory cache.
#[derive(Debug, Parser)]
#[command(
    name = "dcache",
    version = crate::version::LONG,
    about,
    propagate_version = true,
    after_help = "Client options (--server, --endpoints, --timeout, -o, --token, --cacert) belong to the \
client commands and may come before or after them; see e.g. `dcache get --help`.\n\n\
Examples:\n  dcache local-cluster\n  dcache set greeting hello\n  dcache get greeting --server http://127.0.0.1:8082\n  \
dcache --endpoints http://127.0.0.1:8080,http://127.0.0.1:8082 cluster status\n  dcache serve --config config/node1.yaml"
)]
pub struct Cli {
    #[command(flatten)]
    leading: LeadingClientOpts,
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every client command, flattened into each of them (and into `cluster`,
/// whose subcommands inherit them). `global` makes clap copy a value given before the
/// subcommand (see [`LeadingClientOpts`]) or before a `cluster` subcommand into these.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Client options")]
pub struct ClientOpts {
    /// Client URL of any dcache node (http:// or https://, with host and port).
    #[arg(long, env = "DCACHE_SERVER", hide_env_values = true, default_value = DEFAULT_CLIENT_URL, global = true, value_parser = parse_server_url)]
    pub server: String,
    /// How long to wait for an answer (e.g. 500ms, 10s, 2m).
    #[arg(long, default_value = "10s", value_parser = parse_duration, global = true)]
    pub timeout: Duration,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text, global = true)]
    pub output: Output,
    /// Bearer token sent with every request, for nodes that require client authentication
    /// (default: none).
    #[arg(long, env = "DCACHE_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// CA bundle (PEM) to trust for https:// servers, in addition to the system's roots
    /// (default: the system's roots only).
    #[arg(long, env = "DCACHE_CACERT", hide_env_values = true, global = true)]
    pub cacert: Option<PathBuf>,
    /// Client URLs of several members (comma-separated), tried in turn when one is down or
    /// has no leader; replaces --server. `dash` discovers the cluster from them and `bench`
    /// spreads its clients over them (default: --server alone).
    #[arg(long, env = "DCACHE_ENDPOINTS", hide_env_values = true, value_name = "URL,URL", value_delimiter = ',', global = true, value_parser = parse_server_url)]
    pub endpoints: Vec<String>,
}

/// The client options as they may also be given before the subcommand, e.g. `dcache
/// --server URL get k` (they were global options of `dcache` itself once; scripts still
/// write them so). Hidden there and not propagated, so `serve`, `local-cluster` and
/// `completions` neither show them nor read their environment variables. Holds no data:
/// clap copies a value given here into the subcommand's own [`ClientOpts`], whose
/// arguments have the same ids and are `global` (clap keeps the values of global ids alike
/// at every level, preferring one from the command line, then the deeper level's).
#[derive(Debug, Clone, Copy, Default)]
pub struct LeadingClientOpts;

impl LeadingClientOpts {
    /// `cmd` with [`ClientOpts`]'s arguments added, hidden, not global, and without their
    /// environment variables and defaults (the subcommand's copy reads those), so only a
    /// value written on the command line comes from here.
    fn add_to(cmd: clap::Command) -> clap::Command {
        let ids: Vec<clap::Id> = ClientOpts::augment_args(clap::Command::new("client"))
            .get_arguments()
            .map(|a| a.get_id().clone())
            .collect();
        ids.iter().fold(ClientOpts::augment_args(cmd), |cmd, id| {
            // `mut_arg` panics on an unknown id; every id was just added by the same
            // `augment_args`, so none is unknown.
            cmd.mut_arg(id, |a| {
                a.hide(true).global(false).env(None::<&str>).default_value(None::<&str>)
            })
        })
    }
}

impl clap::FromArgMatches for LeadingClientOpts {
    fn from_arg_matches(_: &clap::ArgMatches) -> Result<Self, clap::Error> {
        Ok(LeadingClientOpts)
    }

    fn update_from_arg_matches(&mut self, _: &clap::ArgMatches) -> Result<(), clap::Error> {
        Ok(())
    }
}

impl Args for LeadingClientOpts {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        LeadingClientOpts::add_to(cmd)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        LeadingClientOpts::add_to(cmd)
    }
}

impl ClientOpts {
    /// The URLs to talk to, in order: `--endpoints` when given, else `--server`.
    pub fn urls(&self) -> Vec<String> {
        if self.endpoints.is_empty() {
            vec![self.server.clone()]
        } else {
            self.endpoints.clone()
        }
    }
}

/// How client commands print results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Plain text for people.
    Text,
    /// JSON for scripts: the `data` object of the server's answer.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a dcache node (a one-node cluster on 127.0.0.1:8080 with no flags).
    ///
    /// Settings come from the YAML file given with --config; each flag overrides the same key
    /// of the file. A setting given nowhere takes the default shown with it.
    #[command(
        after_help = "Examples:\n  dcache serve\n  dcache serve --config config/node1.yaml\n  dcache serve --config config/node1.yaml --check\n  dcache serve --name node4 --data-dir ./data/node4 --listen-client-urls http://127.0.0.1:8086 \\\n    --listen-peer-urls http://127.0.0.1:8087 --join http://127.0.0.1:8080"
    )]
    Serve(Box<ServeArgs>),
    /// Store VALUE under KEY.
    #[command(
        after_help = "Examples:\n  dcache set greeting hello\n  dcache set session:42 abc123 --ttl 30m\n  dcache set config - < config.json\n  dcache set big --file ./blob.txt\n  dcache set lock owner-a --if-absent"
    )]
    Set {
        /// The key: any bytes, taken as the shell passes them (spaces, `/`, `:` and bytes that
        /// are not UTF-8 included; quote it for the shell), at most max-key-bytes (4096 by
        /// default) bytes.
        key: OsString,
        /// The value: any UTF-8 text; `-` reads it from standard input (all of it, as is).
        /// Give it or --file.
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        value: Option<String>,
        /// Read the value from this file (for values too large for an argument).
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
        /// Expire the key after this long (e.g. 30s, 5m; at least 1ms); the leader stamps the
        /// deadline (default: the key never expires).
        #[arg(long, value_parser = parse_ttl)]
        ttl: Option<Duration>,
        /// Only write if the key is at this version (compare-and-set; default: write
        /// whatever the version).
        #[arg(long, conflicts_with = "if_absent")]
        if_version: Option<u64>,
        /// Only write if the key does not exist.
        #[arg(long)]
        if_absent: bool,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Make the existing KEY expire after DURATION, keeping its value (exit code 3 if missing).
    ///
    /// Needs cluster version 3: refused (exit 5) while a member runs an older build.
    #[command(after_help = "Examples:\n  dcache expire session:42 30m\n  dcache expire lock 500ms")]
    Expire {
        /// The key, exactly as it was set.
        key: OsString,
        /// Time to live from now (e.g. 30s, 5m; at least 1ms); the leader stamps the deadline.
        #[arg(value_parser = parse_ttl)]
        duration: Duration,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Remove KEY's expiry, keeping its value (exit code 3 if missing, 5 if it has none).
    ///
    /// Needs cluster version 3: refused (exit 5) while a member runs an older build.
    #[command(after_help = "Examples:\n  dcache persist session:42")]
    Persist {
        /// The key, exactly as it was set.
        key: OsString,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Print the time left before KEY expires (`none` without a TTL).
    #[command(after_help = "Examples:\n  dcache ttl session:42\n  dcache ttl session:42 -o json")]
    Ttl {
        /// The key, exactly as it was set.
        key: OsString,
        /// Read consistency.
        #[arg(long, value_enum, default_value_t = Consistency::Linearizable)]
        consistency: Consistency,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Stream every change under PREFIX (sets, deletes, expiries, evictions) until Ctrl-C.
    ///
    /// Text output is `VERSION KIND KEY [VALUE]` per line, with tab, newline, carriage return,
    /// backslash and other control characters escaped (\t \n \r \\ \xNN); `-o json` gives one
    /// exact JSON object per line.
    #[command(
        after_help = "Examples:\n  dcache watch users/\n  dcache watch --from-version 1200 -o json\n  dcache watch jobs/ --endpoints http://h1:8080,http://h2:8080"
    )]
    Watch {
        /// Key prefix (matched byte for byte, no wildcards); empty watches every key.
        #[arg(default_value = "")]
        prefix: OsString,
        /// Resume after this version (replays kept history first; default: only changes
        /// from now on).
        #[arg(long)]
        from_version: Option<u64>,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Print the value stored under KEY (exit code 3 if it is missing); with --prefix, every
    /// key starting with KEY and its value (`KEY<TAB>VALUE`, escaped as in `scan`).
    #[command(
        after_help = "Examples:\n  dcache get greeting\n  dcache get greeting --consistency local\n  dcache get users/ --prefix --keys-only"
    )]
    Get {
        /// The key, exactly as it was set; with --prefix, the prefix (matched byte for byte,
        /// no wildcards).
        key: OsString,
        /// Treat KEY as a prefix and list every key under it (in pages, as `scan --all`).
        #[arg(long)]
        prefix: bool,
        /// Print keys only, without values.
        #[arg(long)]
        keys_only: bool,
        /// With --prefix: most keys to list in all (default: every one).
        #[arg(long, requires = "prefix", value_parser = clap::value_parser!(u64).range(1..))]
        limit: Option<u64>,
        /// Read consistency.
        #[arg(long, value_enum, default_value_t = Consistency::Linearizable)]
        consistency: Consistency,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Remove KEY; with --prefix, every key starting with KEY (asks first unless --yes).
    ///
    /// `delete --prefix` lists the keys, asks for confirmation on a terminal (without one it
    /// needs --yes), then deletes them in batches of 1000, each atomic; keys written under
    /// the prefix after the listing are kept.
    #[command(
        after_help = "Examples:\n  dcache delete greeting\n  dcache delete lock --if-version 17\n  dcache delete tmp/ --prefix --yes"
    )]
    Delete {
        /// The key, exactly as it was set; with --prefix, the prefix (matched byte for byte,
        /// no wildcards).
        key: OsString,
        /// Only delete if the key is at this version (default: whatever the version).
        #[arg(long, conflicts_with = "prefix")]
        if_version: Option<u64>,
        /// Treat KEY as a prefix and delete every key under it.
        #[arg(long)]
        prefix: bool,
        /// Do not ask for confirmation (needed when standard input is not a terminal).
        #[arg(long, short = 'y', requires = "prefix")]
        yes: bool,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Apply several sets and deletes atomically, at one version (POST /api/v1/batch).
    ///
    /// Reads one operation per line from FILE or standard input: `set KEY VALUE [ttl=30s]
    /// [if-version=N]`, `delete KEY [if-version=N]`, or a JSON object as in the API. KEY and
    /// VALUE are bare words or JSON strings ("a b", "line\n"); blank lines and `#` comments
    /// are skipped. At most 1000 operations; all apply or none (a failed if-version exits 5).
    #[command(visible_alias = "batch")]
    #[command(after_help = "Examples:\n  printf 'set a 1\\ndelete b\\n' | dcache txn\n  dcache batch ops.txt")]
    Txn {
        /// File of operations; `-` or none reads standard input.
        file: Option<PathBuf>,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// List keys starting with PREFIX, in key order, with their values.
    ///
    /// Text output is `KEY<TAB>VALUE` per line, with tab, newline, carriage return, backslash
    /// and other control characters escaped (\t \n \r \\ \xNN); `-o json` gives the exact text.
    /// Keys are fetched in pages of up to 10000 and printed as each page arrives; each page
    /// is one read at --consistency, so keys written meanwhile may show in either state.
    #[command(
        after_help = "Examples:\n  dcache scan users/\n  dcache scan users/ --limit 50000\n  dcache scan --all -o json > dump.json"
    )]
    Scan {
        /// Key prefix (matched byte for byte, no wildcards); empty lists every key.
        #[arg(default_value = "")]
        prefix: OsString,
        /// Most keys to list in all (fetched in pages of up to 10000).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "all")]
        limit: u64,
        /// List every key under PREFIX, however many.
        #[arg(long)]
        all: bool,
        /// Read consistency.
        #[arg(long, value_enum, default_value_t = Consistency::Linearizable)]
        consistency: Consistency,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Show and change the cluster.
    #[command(
        after_help = "Examples:\n  dcache cluster status\n  dcache cluster health --endpoints http://h1:8080,http://h2:8080\n  dcache cluster transfer-leadership node2\n  dcache cluster remove node3"
    )]
    Cluster {
        #[command(subcommand)]
        command: ClusterCommand,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Live terminal dashboard: every member's role, term, log positions, lag and keys.
    // `-o` has no meaning for a full-screen view: accepted (scripts pass it to every
    // command), not shown.
    #[command(
        after_help = "Examples:\n  dcache dash\n  dcache dash --endpoints http://127.0.0.1:8080,http://127.0.0.1:8082 --interval 250ms",
        mut_arg("output", |a| a.hide(true))
    )]
    Dash {
        #[command(flatten)]
        args: DashArgs,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Load-test a cluster: closed-loop clients, live progress, then a report with throughput,
    /// latency percentiles and histogram, a per-second timeline and errors by kind.
    #[command(
        after_help = "Examples:\n  dcache bench --clients 32 --duration 30s\n  dcache bench --workload mixed --read-ratio 0.9 --requests 100000\n  dcache bench --workload get --key-space 100000 --key-prefix load/ -o json"
    )]
    Bench {
        #[command(flatten)]
        args: BenchArgs,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Start a local N-node cluster on loopback in the foreground (Ctrl-C stops it).
    #[command(after_help = "Examples:\n  dcache local-cluster\n  dcache local-cluster --nodes 5 --base-port 9000")]
    LocalCluster {
        /// How many nodes (1-9).
        #[arg(long, default_value_t = 3)]
        nodes: u16,
        /// Client port of node1; node K uses base+2(K-1) for clients, the next port for peers
        /// and base+1000+(K-1) for the Redis protocol.
        #[arg(long, default_value_t = 8080)]
        base_port: u16,
        /// Where the nodes keep their data and logs.
        #[arg(long, default_value = "./dcache-data/local")]
        data_dir: PathBuf,
    },
    /// Back up the cache to a file, or seed a new cluster's data dir from one
    /// (`snapshot` is the older name of this command and still works).
    #[command(visible_alias = "snapshot")]
    #[command(
        after_help = "Examples:\n  dcache backup save ./cache.backup\n  dcache backup restore ./cache.backup --config config/node1.yaml"
    )]
    Backup {
        #[command(subcommand)]
        command: BackupCommand,
        #[command(flatten)]
        leading: LeadingClientOpts,
    },
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  dcache completions bash > ~/.local/share/bash-completion/completions/dcache\n  dcache completions zsh > ~/.zfunc/_dcache\n  dcache completions fish > ~/.config/fish/completions/dcache.fish"
    )]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Every member's role, term, log indexes, lag and key count, asked of each member, and
    /// the quorum line (`2/3 voters up, quorum OK`). A report: exits 0 whatever it shows.
    #[command(after_help = "Examples:\n  dcache cluster status\n  dcache cluster status -o json")]
    Status,
    /// Every member's /health, one line each, then the quorum line; exits 6 when a member
    /// is down or unhealthy or the voters have no quorum (for scripts and probes).
    #[command(after_help = "Examples:\n  dcache cluster health\n  dcache cluster health || echo degraded")]
    Health,
    /// The current leader.
    #[command(after_help = "Examples:\n  dcache cluster leader\n  dcache cluster leader -o json")]
    Leader,
    /// The members of the cluster.
    #[command(after_help = "Examples:\n  dcache cluster members\n  dcache cluster members -o json")]
    Members,
    /// Move leadership to a member (by name or id); waits until it leads.
    #[command(
        after_help = "Examples:\n  dcache cluster transfer-leadership node2\n  dcache cluster transfer-leadership 2"
    )]
    TransferLeadership {
        /// Member name or id.
        target: String,
    },
    /// Remove a member (by name or id) from the cluster; the removed node stops itself.
    #[command(after_help = "Examples:\n  dcache cluster remove node3\n  dcache cluster remove 3")]
    Remove {
        /// Member name or id.
        target: String,
    },
}

/// `dcache backup ...` subcommands (also reachable as `dcache snapshot ...`).
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Download a consistent backup from the leader into FILE (every write acknowledged
    /// before the command started is in it).
    #[command(
        after_help = "Examples:\n  dcache backup save ./cache.backup\n  dcache backup save /backups/dcache-$(date +%F).backup --server https://h1:8443"
    )]
    Save {
        /// Where to write the backup; written to FILE.partial first, renamed when verified.
        file: PathBuf,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Seed the empty data dir of one node of a new cluster from FILE. Give the node's
    /// configuration as for `dcache serve` (--config, or --name, --data-dir, --initial-cluster,
    /// ...); run it for every founding node with the same FILE, then start them.
    #[command(
        after_help = "Examples:\n  dcache backup restore ./cache.backup --config config/node1.yaml\n  dcache backup restore ./cache.backup --name node1 --data-dir ./data/node1"
    )]
    Restore {
        /// A file written by `dcache backup save`.
        file: PathBuf,
        /// Output format of the summary.
        #[arg(short, long, value_enum, default_value_t = Output::Text, global = true)]
        output: Output,
        #[command(flatten)]
        serve: Box<ServeArgs>,
    },
}

/// Options of `dcache dash`.
#[derive(Debug, Clone, Args)]
pub struct DashArgs {
    /// How often every node is polled (e.g. 250ms, 1s, 5s; at least 50ms).
    #[arg(long, default_value = "1s", value_parser = parse_interval)]
    pub interval: Duration,
}

/// Options of `dcache bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Concurrent clients, each with one request in flight (at least 1).
    #[arg(long, default_value_t = 16, value_parser = parse_count)]
    pub clients: usize,
    /// How long to run (e.g. 10s); ignored with --requests.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Stop after this many requests instead of after --duration (default: run for
    /// --duration).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: Option<u64>,
    /// What to send.
    #[arg(long, value_enum, default_value_t = crate::bench::Workload::Set)]
    pub workload: crate::bench::Workload,
    /// Fraction of gets in the mixed workload (0 to 1).
    #[arg(long, default_value_t = 0.9, value_parser = parse_ratio)]
    pub read_ratio: f64,
    /// Number of distinct keys (at least 1).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub key_space: u64,
    /// Text in front of every key the run writes or reads: keys are PREFIX00000000,
    /// PREFIX00000001, ... up to --key-space (any text; pick one no application uses).
    #[arg(long, value_name = "PREFIX", default_value = crate::bench::DEFAULT_KEY_PREFIX)]
    pub key_prefix: String,
    /// Value size in bytes.
    #[arg(long, default_value_t = 256)]
    pub value_size: usize,
    /// Consistency of the gets.
    #[arg(long, value_enum, default_value_t = Consistency::Linearizable)]
    pub consistency: Consistency,
    /// Skip writing the key space before a get or mixed run.
    #[arg(long)]
    pub no_prefill: bool,
}

/// Options of `dcache serve`. Each flag overrides the same key of the config file.
#[derive(Debug, Default, Clone, Args)]
pub struct ServeArgs {
    /// YAML config file (see config/dcache.yaml for every key; default: none, flags and
    /// built-in defaults only).
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Validate the configuration, print it, and exit without starting.
    #[arg(long)]
    pub check: bool,
    /// Log level or filter: error, warn, info, debug, trace (or e.g. `dcache=debug`)
    /// [default: info].
    #[arg(long)]
    pub log_level: Option<String>,
    /// This node's name; must appear in initial-cluster [default: node1].
    #[arg(long)]
    pub name: Option<String>,
    /// Cluster identity; a data dir written for another cluster id is refused
    /// [default: dcache].
    #[arg(long)]
    pub cluster_id: Option<String>,
    /// Where the Raft log, vote and snapshots are kept [default: ./dcache-data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// URL the client API listens on [default: http://127.0.0.1:8080].
    #[arg(long)]
    pub listen_client_urls: Option<String>,
    /// Client URL other nodes and tools should use for this node (default: the
    /// listen-client-urls URL).
    #[arg(long)]
    pub advertise_client_urls: Option<String>,
    /// URL the Redis-protocol (RESP) listener binds, `redis://HOST:PORT`; empty disables it
    /// [default: redis://127.0.0.1:6379].
    #[arg(long)]
    pub listen_resp_urls: Option<String>,
    /// RESP URL other nodes and tools should use for this node (default: the
    /// listen-resp-urls URL).
    #[arg(long)]
    pub advertise_resp_urls: Option<String>,
    /// URL the peer (Raft) listener binds [default: http://127.0.0.1:8081].
    #[arg(long)]
    pub listen_peer_urls: Option<String>,
    /// Peer URL other nodes should use for this node (default: the listen-peer-urls URL).
    #[arg(long)]
    pub initial_advertise_peer_urls: Option<String>,
    /// Founding members: name=peer-url,... (identical on every founding node; default: this
    /// node alone, at its advertised peer URL).
    #[arg(long)]
    pub initial_cluster: Option<String>,
    /// `new` to found the cluster in initial-cluster, `existing` to join one [default: new].
    #[arg(long)]
    pub initial_cluster_state: Option<String>,
    /// Client URL of a running cluster to join on first start (default: join none; found
    /// or restart the cluster in initial-cluster).
    #[arg(long)]
    pub join: Option<String>,
    /// Shared secret that every peer request must carry (same on every node; >= 16 chars;
    /// default: none, peers are not authenticated by token).
    #[arg(long, env = "DCACHE_PEER_TOKEN", hide_env_values = true)]
    pub peer_token: Option<String>,
    /// Certificate (PEM) of the client listener; needs an https:// listen-client-urls.
    #[arg(long)]
    pub client_cert_file: Option<PathBuf>,
    /// Private key (PEM) of the client listener.
    #[arg(long)]
    pub client_key_file: Option<PathBuf>,
    /// CA bundle (PEM) this node trusts when it calls a client URL over https (the join URL).
    #[arg(long)]
    pub trusted_ca_file: Option<PathBuf>,
    /// Certificate (PEM) this node presents to peers, as server and as client (mutual TLS).
    #[arg(long)]
    pub peer_cert_file: Option<PathBuf>,
    /// Private key (PEM) of the peer certificate.
    #[arg(long)]
    pub peer_key_file: Option<PathBuf>,
    /// CA bundle (PEM) that signs every peer certificate; peers without one are refused.
    #[arg(long)]
    pub peer_trusted_ca_file: Option<PathBuf>,
    /// Client token with admin access (repeatable): everything a read-write token may do,
    /// and membership changes (cluster join, remove, transfer-leadership).
    #[arg(
        long = "admin-token",
        env = "DCACHE_ADMIN_TOKEN",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub admin_tokens: Vec<String>,
    /// Client token with read-write access (repeatable): reads, writes, backups; with any
    /// token set, clients must send one (default: none, the client API is open).
    #[arg(
        long = "auth-token",
        env = "DCACHE_AUTH_TOKEN",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub auth_tokens: Vec<String>,
    /// Client token with read-only access (repeatable).
    #[arg(
        long = "read-only-token",
        env = "DCACHE_READ_ONLY_TOKEN",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub read_only_tokens: Vec<String>,
    /// Token this node sends when it joins a cluster whose client API requires one (an
    /// admin token: joining changes the membership).
    #[arg(long, env = "DCACHE_JOIN_TOKEN", hide_env_values = true)]
    pub join_token: Option<String>,
    /// Most connections serving requests per listener; further clients wait [default: 1024].
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Most watch streams open at once, counted apart from max-connections (503 past it)
    /// [default: 256].
    #[arg(long)]
    pub max_watchers: Option<usize>,
    /// Largest accepted request head (request line + headers) in bytes [default: 16384].
    #[arg(long)]
    pub max_header_bytes: Option<usize>,
    /// How long a client may take to send a request head, e.g. 10s (cuts slow clients and
    /// idle connections) [default: 10s].
    #[arg(long)]
    pub header_read_timeout: Option<String>,
    /// Longest accepted key in bytes [default: 4096].
    #[arg(long)]
    pub max_key_bytes: Option<usize>,
    /// Longest accepted value in bytes [default: 1048576].
    #[arg(long)]
    pub max_value_bytes: Option<usize>,
    /// Memory bound of the cache (e.g. 64MiB, 2GiB; `off` = unbounded); keys are evicted past
    /// it [default: off].
    #[arg(long)]
    pub max_memory: Option<String>,
    /// How long a request may wait for the cluster (e.g. 5s) [default: 5s].
    #[arg(long)]
    pub request_timeout: Option<String>,
    /// Snapshot the cache and purge the log every this many entries [default: 10000].
    #[arg(long)]
    pub snapshot_logs: Option<u64>,
    /// Leader heartbeat interval in milliseconds [default: 100].
    #[arg(long)]
    pub heartbeat_interval_ms: Option<u64>,
    /// Minimum election timeout in milliseconds (the maximum is twice this) [default: 400].
    #[arg(long)]
    pub election_timeout_ms: Option<u64>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("`{s}` is not a duration ({e}); use e.g. 500ms, 10s, 2m"))
}

/// A TTL: a duration of at least 1 ms (Redis refuses `EX 0` too; omit --ttl for no expiry).
fn parse_ttl(s: &str) -> Result<Duration, String> {
    let ttl = parse_duration(s)?;
    if ttl.as_millis() == 0 {
        return Err(format!(
            "a TTL of `{s}` would expire the key at once; give at least 1ms, or omit --ttl"
        ));
    }
    Ok(ttl)
}

/// The dashboard's poll interval: a duration of at least [`crate::dash::MIN_INTERVAL`].
fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    let min = crate::dash::MIN_INTERVAL;
    if d < min {
        return Err(format!(
            "`{s}` is too short; use at least {}",
            humantime::format_duration(min)
        ));
    }
    Ok(d)
}

/// A count of at least 1.
fn parse_count(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("`0` is too few; use at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("`{s}` is not a count ({e}); use e.g. 16")),
    }
}

/// A fraction from 0 to 1 inclusive.
fn parse_ratio(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        Ok(_) => Err(format!("`{s}` is not between 0 and 1; use e.g. 0.9 for 90% gets")),
        Err(e) => Err(format!("`{s}` is not a number ({e}); use e.g. 0.9")),
    }
}

/// A node's client URL: http:// or https:// with a host, e.g. `http://127.0.0.1:8080`.
/// Kept as given; the client trims a trailing slash.
fn parse_server_url(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        return Err(
            "the URL is empty; give e.g. http://127.0.0.1:8080 (an empty DCACHE_SERVER or DCACHE_ENDPOINTS counts as given: unset it)"
                .into(),
        );
    }
    let url = url::Url::parse(s)
        .map_err(|e| format!("`{s}` is not a URL ({e}); give scheme, host and port, e.g. http://{s}"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!(
            "`{s}` has scheme `{}`; use http:// or https://, e.g. http://127.0.0.1:8080",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{s}` has no host; use e.g. http://127.0.0.1:8080"));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_need_an_http_scheme_and_a_host() {
        assert!(parse_server_url("http://127.0.0.1:8080").is_ok());
        assert!(parse_server_url("https://node1:8443/").is_ok());
        assert!(parse_server_url("127.0.0.1:8080")
            .unwrap_err()
            .contains("http://127.0.0.1:8080"));
        assert!(parse_server_url("localhost:8080")
            .unwrap_err()
            .contains("scheme `localhost`"));
        assert!(parse_server_url("ftp://h:1").is_err());
        assert!(parse_server_url("").unwrap_err().contains("empty"));
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        // clap's own checks (duplicate flags, groups naming unknown arguments, ...), which it
        // otherwise runs only in debug builds when a command is parsed.
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn client_options_come_before_or_after_the_subcommand_but_not_to_serve() {
        use clap::Parser;
        let server = |cli: &Cli| match &cli.command {
            Command::Get { client, .. } => client.server.clone(),
            Command::Cluster { client, .. } => client.server.clone(),
            other => panic!("unexpected {other:?}"),
        };
        let before = Cli::try_parse_from(["dcache", "--server", "http://a:1", "get", "k"]).unwrap();
        assert_eq!(server(&before), "http://a:1");
        let after = Cli::try_parse_from(["dcache", "get", "k", "--server", "http://b:1"]).unwrap();
        assert_eq!(server(&after), "http://b:1");
        let both = Cli::try_parse_from(["dcache", "--server", "http://a:1", "get", "k", "--server", "http://b:1"]);
        assert_eq!(server(&both.unwrap()), "http://b:1", "the later, inner one wins");
        let nested = Cli::try_parse_from(["dcache", "cluster", "--server", "http://c:1", "status"]).unwrap();
        assert_eq!(server(&nested), "http://c:1");
        let neither = Cli::try_parse_from(["dcache", "get", "k"]).unwrap();
        assert_eq!(server(&neither), DEFAULT_CLIENT_URL);
        assert!(Cli::try_parse_from(["dcache", "serve", "--server", "http://a:1"]).is_err());
    }

    #[test]
    fn counts_ratios_and_intervals_are_range_checked() {
        assert_eq!(parse_count("4"), Ok(4));
        assert!(parse_count("0").is_err());
        assert!(parse_count("-1").is_err());
        assert_eq!(parse_ratio("1"), Ok(1.0));
        assert!(parse_ratio("1.5").is_err());
        assert!(parse_ratio("NaN").is_err());
        assert!(parse_interval("0s").is_err());
        assert_eq!(parse_interval("250ms"), Ok(Duration::from_millis(250)));
    }
}

//! The `dcache` binary: parse the command line, dispatch, and map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;
use dcache::cli::{Cli, Command};
use dcache::client::ClientError;
use dcache::commands;

/// mimalloc instead of glibc malloc: the write path allocates many small buffers (HTTP,
/// MessagePack, sled), and glibc's allocator was a fifth of the leader's CPU in a profile.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (see mimalloc.h; the sys crate does not name it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Return freed memory to the OS at once instead of after a delay that only runs out on a
/// later allocation: an idle node otherwise keeps the peak of its last snapshot build or
/// restore (a whole cache's worth) resident. Measured, 1M keys x 256 B on one node: RSS
/// after loading 853 -> 524 MB; no measurable change in 3-node write throughput.
/// `MIMALLOC_PURGE_DELAY` in the environment still wins.
///
/// Transparent huge pages are switched off for the process (as Redis advises): mimalloc asks
/// for them on its arenas, and a 2 MiB page is resident as soon as one byte of it is in use,
/// so a scattered heap costs far more RSS than it holds. Measured, 1M keys x 256 B on one
/// node: RSS 481-508 -> 412-444 MB after loading, 421-458 -> 384-393 MB after a restart; an
/// idle node 104 -> 44 MB. `MIMALLOC_ALLOW_THP` in the environment still wins.
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: called first thing in `main`, before any other thread exists (the call is
        // not thread-safe); the option id is from mimalloc's own header.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // Best effort: a kernel without the flag just keeps its default.
        let _ = nix::sys::prctl::set_thp_disable(true);
    }
}

/// Exit codes, documented in the README.
#[derive(Debug, Clone, Copy)]
enum Exit {
    Ok = 0,
    Failure = 1,
    // 2 is clap's usage error.
    KeyNotFound = 3,
    Unreachable = 4,
    Rejected = 5,
    Unavailable = 6,
}

fn exit_for(e: &ClientError) -> Exit {
    match e {
        _ if e.is_not_found() => Exit::KeyNotFound,
        ClientError::Unreachable { .. } | ClientError::Timeout { .. } => Exit::Unreachable,
        ClientError::Api { status, .. } if *status >= 500 => Exit::Unavailable,
        ClientError::Api { .. } | ClientError::BadUrl { .. } | ClientError::BadCaCert { .. } => Exit::Rejected,
        ClientError::Protocol { .. } => Exit::Failure,
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(Exit::Failure as u8);
        }
    };
    let exit = runtime.block_on(run(cli));
    // Everything that matters has finished; a blocking task still running here is a flush
    // stuck on a failed disk (see `raft::store`), and waiting for it would hang the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    ExitCode::from(exit as u8)
}

async fn run(cli: Cli) -> Exit {
    let opts = &cli.client;
    let result = match &cli.command {
        Command::Serve(args) => {
            return match commands::serve::run(args).await {
                Ok(()) => Exit::Ok,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    Exit::Failure
                }
            }
        }
        Command::Snapshot { command } => {
            return match commands::snapshot::run(opts, command).await {
                Ok(()) => Exit::Ok,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    Exit::Failure
                }
            };
        }
        Command::Completions { shell } => {
            commands::completions::write(*shell, &mut std::io::stdout());
            Ok(())
        }
        Command::Bench {
            clients,
            duration,
            requests,
            workload,
            read_ratio,
            key_space,
            value_size,
            consistency,
            endpoints,
            no_prefill,
        } => {
            let opts = dcache::bench::BenchOptions {
                endpoints: if endpoints.is_empty() {
                    vec![opts.server.clone()]
                } else {
                    endpoints.clone()
                },
                clients: *clients,
                stop: match requests {
                    Some(n) => dcache::bench::Stop::Requests(*n),
                    None => dcache::bench::Stop::After(*duration),
                },
                workload: *workload,
                read_ratio: *read_ratio,
                key_space: *key_space,
                value_size: *value_size,
                consistency: *consistency,
                timeout: opts.timeout,
                prefill: !*no_prefill,
                access: match commands::access(opts) {
                    Ok(a) => a,
                    Err(e) => {
                        eprintln!("error: {e}");
                        return Exit::Failure;
                    }
                },
            };
            return match commands::bench::run(opts, cli.client.output).await {
                Ok(()) => Exit::Ok,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    Exit::Failure
                }
            };
        }
        Command::LocalCluster {
            nodes,
            base_port,
            data_dir,
        } => {
            let opts = commands::local_cluster::LocalCluster {
                nodes: *nodes,
                base_port: *base_port,
                data_dir: data_dir.clone(),
            };
            return match commands::local_cluster::run(&opts).await {
                Ok(()) => Exit::Ok,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    Exit::Failure
                }
            };
        }
        Command::Dash { endpoints, interval } => {
            let access = match commands::access(opts) {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Exit::Failure;
                }
            };
            let result = match dcache::dash::DashOptions::new(
                &opts.server,
                endpoints.as_deref(),
                *interval,
                opts.timeout,
                access,
            ) {
                Ok(dash_opts) => dcache::dash::run(dash_opts).await,
                Err(e) => Err(e),
            };
            return match result {
                Ok(()) => Exit::Ok,
                Err(e) => {
                    eprintln!("error: {e}");
                    Exit::Failure
                }
            };
        }
        Command::Set {
            key,
            value,
            ttl,
            if_version,
            if_absent,
        } => {
            let if_version = if *if_absent { Some(0) } else { *if_version };
            commands::kv::set(opts, key, value, *ttl, if_version).await
        }
        Command::Ttl { key, consistency } => commands::kv::ttl(opts, key, *consistency).await,
        Command::Watch { prefix, from_version } => commands::kv::watch(opts, prefix, *from_version).await,
        Command::Get { key, consistency } => commands::kv::get(opts, key, *consistency).await,
        Command::Delete { key, if_version } => commands::kv::delete(opts, key, *if_version).await,
        Command::Scan {
            prefix,
            limit,
            consistency,
        } => commands::kv::scan(opts, prefix, *limit, *consistency).await,
        Command::Cluster { command } => commands::cluster::run(opts, command).await,
    };
    match result {
        Ok(()) => Exit::Ok,
        Err(e) => {
            eprintln!("error: {e}");
            exit_for(&e)
        }
    }
}

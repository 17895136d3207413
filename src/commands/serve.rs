//! `dcache serve`: load the config, bind, start the node, serve until SIGINT/SIGTERM.

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;
use crate::config::Config;
use crate::node::Node;
use crate::server::{self, Listeners};
use crate::tls::{Acceptors, PeerClientTls};

/// Runs a node until a signal asks it to stop; returns once it has drained and flushed.
pub async fn run(args: &ServeArgs) -> anyhow::Result<()> {
    crate::version::check_test_override().map_err(anyhow::Error::msg)?;
    let mut config = Config::load(args)?;
    // Raised before anything opens a file, so the caps below see the real budget.
    let raised = crate::fds::raise_soft_limit().context("cannot read the open-file limit (RLIMIT_NOFILE)")?;
    let lowered = crate::fds::fit(&mut config.conn_limits, raised.after)?;
    let tls = Acceptors::load(&config.security)?;
    config.warnings.extend(crate::tls::expiry_warnings(&config.security));
    if let Some(peer) = &config.security.peer_tls {
        PeerClientTls::load(peer)?;
    }
    if args.check {
        for warning in config.warnings.iter().chain(&lowered) {
            println!("warning: {warning}");
        }
        println!("{config}");
        println!("configuration OK");
        return Ok(());
    }
    init_tracing(&config.log_level);
    tracing::info!(
        version = crate::version::CRATE,
        commit = crate::version::COMMIT,
        format = crate::version::max_format(),
        "starting dcache\n{config}"
    );
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    if raised.after > raised.before {
        tracing::info!(from = raised.before, to = raised.after, "raised the open-file limit");
    }
    if let Some(warning) = lowered {
        tracing::warn!("{warning}");
    }
    let listeners = Listeners::bind(config.listen_client, config.listen_peer, config.listen_resp).await?;
    let (client_addr, peer_addr) = (listeners.client.local_addr()?, listeners.peer.local_addr()?);
    let shutdown = CancellationToken::new();
    let node = Node::start(config, shutdown.clone())
        .await
        .context("the node could not start")?;
    tokio::spawn(stop_on_signal(shutdown.clone()));
    tracing::info!(client = %client_addr, peer = %peer_addr, "serving");
    server::serve(node.clone(), listeners, tls, shutdown).await;
    if let Some(reason) = node.raft_failure() {
        anyhow::bail!("the node stopped: {reason}");
    }
    Ok(())
}

/// Logs to stderr at `level`. A plain level keeps the Raft library's own chatter at `warn`
/// unless debugging, and silences its management API: every error that API logs comes back
/// to the node as a result, which the node reports in its own words (a founding member that
/// loses the race to bootstrap the cluster is routine, not an error). A full filter (e.g.
/// `dcache=debug`) is taken as given.
fn init_tracing(level: &str) {
    use std::io::IsTerminal;
    let directive = match level {
        "error" | "warn" | "info" => format!(
            "{level},{raft}=warn,{raft}::raft::api::management=off",
            raft = crate::raft::LIBRARY_LOG_TARGET
        ),
        other => other.to_string(),
    };
    let filter = tracing_subscriber::EnvFilter::try_new(directive).unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

async fn stop_on_signal(token: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received: shutting down"),
        _ = term => tracing::info!("SIGTERM received: shutting down"),
    }
    token.cancel();
}

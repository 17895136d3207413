//! `dcache backup save|restore` (also `dcache snapshot ...`): download a backup from the
//! leader with a progress bar and verify it before it takes the file's name; restore one into
//! a new node's data dir. "Backup" is the user's file; Raft's own snapshots are `raft`'s.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use super::CommandError;
use crate::backup::{self, BackupError, BackupMeta};
use crate::cli::{BackupCommand, ClientOpts, Output, ServeArgs};
use crate::client::Client;
use crate::config::Config;

/// Runs one `backup` subcommand.
pub async fn run(command: &BackupCommand) -> Result<(), CommandError> {
    match command {
        BackupCommand::Save { file, client } => save(client, file).await,
        BackupCommand::Restore { file, output, serve } => restore(*output, file, serve).await,
    }
}

/// A failed file operation, phrased as "cannot `what` `path`: cause".
fn file_error(what: &str, path: &Path, cause: impl std::fmt::Display) -> CommandError {
    CommandError::Failed(format!("cannot {what} {}: {cause}", path.display()))
}

/// A backup file that cannot be used, phrased as "`path`: why".
fn damaged(path: &Path, e: BackupError) -> CommandError {
    CommandError::Failed(format!("{}: {e}", path.display()))
}

fn bar(total: Option<u64>, output: Output) -> ProgressBar {
    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} {wide_bar} {bytes_per_sec} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if output == Output::Json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar
}

/// Downloads a backup into `file` (via `file.partial`, renamed once verified).
async fn save(opts: &ClientOpts, file: &Path) -> Result<(), CommandError> {
    let access = super::access(opts)?;
    let first = Client::new(&opts.server, opts.timeout, &access)?;
    // The leader answers without an extra read-index round trip; any node would be consistent.
    let client = match first.leader().await {
        Ok(l) if !l.client_url.is_empty() => Client::new(&l.client_url, opts.timeout, &access)?,
        _ => first,
    };
    let resp = client.backup().await?;
    let partial = PathBuf::from(format!("{}.partial", file.display()));
    let mut out = BufWriter::new(File::create(&partial).map_err(|e| file_error("create", &partial, e))?);
    let bar = bar(resp.content_length(), opts.output);
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| client.stream_error(e))?;
        out.write_all(&chunk).map_err(|e| file_error("write", &partial, e))?;
        bar.inc(chunk.len() as u64);
    }
    out.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .map_err(|e| file_error("write", &partial, e))?;
    bar.finish_and_clear();
    let meta = verify(&partial)
        .map_err(|e| CommandError::Failed(format!("the download from {} is damaged: {e}", client.server())))?;
    std::fs::rename(&partial, file)
        .map_err(|e| file_error("rename", &partial, format!("to {}: {e}", file.display())))?;
    match opts.output {
        Output::Json => println!("{}", crate::client::to_json(&meta)),
        Output::Text => println!(
            "saved {} keys at index {} from {} to {} ({} bytes)",
            meta.keys,
            meta.index,
            client.server(),
            file.display(),
            meta.body_bytes
        ),
    }
    Ok(())
}

/// Reads `path` back and checks header, length and checksum.
fn verify(path: &Path) -> Result<BackupMeta, BackupError> {
    let mut input = BufReader::new(File::open(path)?);
    let meta = backup::read_header(&mut input)?;
    backup::read_body(&mut input, &meta)?;
    Ok(meta)
}

/// Seeds the data dir `serve` configures from the backup in `file`.
async fn restore(output: Output, file: &Path, serve: &ServeArgs) -> Result<(), CommandError> {
    let config = Config::load(serve)?;
    let input = File::open(file).map_err(|e| file_error("open", file, e))?;
    let size = input.metadata().map(|m| m.len()).ok();
    let bar = bar(size, output);
    let mut input = BufReader::new(bar.wrap_read(input));
    let meta = backup::read_header(&mut input).map_err(|e| damaged(file, e))?;
    let body = backup::read_body(&mut input, &meta).map_err(|e| damaged(file, e))?;
    bar.finish_and_clear();
    if meta.cluster_id != config.cluster_id {
        eprintln!(
            "note: the backup comes from cluster `{}`; the restored node belongs to cluster `{}`",
            meta.cluster_id, config.cluster_id
        );
    }
    let keys = crate::node::restore(&config, &meta, &body)
        .await
        .map_err(|e| file_error("restore into", &config.data_dir, e))?;
    match output {
        Output::Json => println!("{}", crate::client::to_json(&meta)),
        Output::Text => println!(
            "restored {keys} keys (index {}) into {} for node {}; start it with `dcache serve` and the same options",
            meta.index,
            config.data_dir.display(),
            config.name
        ),
    }
    Ok(())
}

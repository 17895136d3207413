//! `dcache snapshot save|restore`: download a backup from the leader with a progress bar and
//! verify it before it takes the file's name; restore one into a new node's data dir.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use crate::backup::{self, BackupMeta};
use crate::cli::{ClientOpts, Output, ServeArgs, SnapshotCommand};
use crate::client::Client;
use crate::config::Config;

/// Runs one `snapshot` subcommand.
pub async fn run(opts: &ClientOpts, command: &SnapshotCommand) -> anyhow::Result<()> {
    match command {
        SnapshotCommand::Save { file } => save(opts, file).await,
        SnapshotCommand::Restore { file, serve } => restore(opts, file, serve).await,
    }
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

async fn save(opts: &ClientOpts, file: &Path) -> anyhow::Result<()> {
    let access = super::access(opts)?;
    let first = Client::new(&opts.server, opts.timeout, &access)?;
    // The leader answers without an extra read-index round trip; any node would be consistent.
    let client = match first.leader().await {
        Ok(l) if !l.client_url.is_empty() => Client::new(&l.client_url, opts.timeout, &access)?,
        _ => first,
    };
    let resp = client.backup().await?;
    let partial = PathBuf::from(format!("{}.partial", file.display()));
    let mut out =
        BufWriter::new(File::create(&partial).with_context(|| format!("cannot create {}", partial.display()))?);
    let bar = bar(resp.content_length(), opts.output);
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| client.stream_error(e))?;
        out.write_all(&chunk)
            .with_context(|| format!("cannot write {}", partial.display()))?;
        bar.inc(chunk.len() as u64);
    }
    out.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot write {}", partial.display()))?;
    bar.finish_and_clear();
    let meta = verify(&partial).with_context(|| format!("the download from {} is damaged", client.server()))?;
    std::fs::rename(&partial, file)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), file.display()))?;
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
fn verify(path: &Path) -> anyhow::Result<BackupMeta> {
    let mut input = BufReader::new(File::open(path)?);
    let meta = backup::read_header(&mut input)?;
    backup::read_body(&mut input, &meta)?;
    Ok(meta)
}

async fn restore(opts: &ClientOpts, file: &Path, serve: &ServeArgs) -> anyhow::Result<()> {
    let config = Config::load(serve)?;
    let input = File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let size = input.metadata().map(|m| m.len()).ok();
    let bar = bar(size, opts.output);
    let mut input = BufReader::new(bar.wrap_read(input));
    let meta = backup::read_header(&mut input).with_context(|| format!("{}", file.display()))?;
    let body = backup::read_body(&mut input, &meta).with_context(|| format!("{}", file.display()))?;
    bar.finish_and_clear();
    if meta.cluster_id != config.cluster_id {
        eprintln!(
            "note: the backup comes from cluster `{}`; the restored node belongs to cluster `{}`",
            meta.cluster_id, config.cluster_id
        );
    }
    let keys = crate::node::restore(&config, &meta, &body)
        .await
        .with_context(|| format!("cannot restore into {}", config.data_dir.display()))?;
    match opts.output {
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

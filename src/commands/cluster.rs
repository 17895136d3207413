//! `dcache cluster ...`: show the cluster as one node sees it.

use crate::cli::{ClientOpts, ClusterCommand, Output};
use crate::client::{to_json, Client, ClientError};
use crate::types::MemberInfo;

/// Runs one `cluster` subcommand.
pub async fn run(opts: &ClientOpts, command: &ClusterCommand) -> Result<(), ClientError> {
    let client = Client::new(&opts.server, opts.timeout)?;
    match command {
        ClusterCommand::Status => {
            let s = client.status().await?;
            match opts.output {
                Output::Json => println!("{}", to_json(&s)),
                Output::Text => {
                    let leader = s
                        .leader
                        .as_ref()
                        .map(|l| format!("{} (id {})", l.name, l.id))
                        .unwrap_or_else(|| "none".into());
                    println!("node:       {} (id {}) at {}", s.name, s.id, s.client_url);
                    println!("cluster:    {}", s.cluster_id);
                    println!("role:       {}", s.role);
                    println!("term:       {}", s.term);
                    println!("leader:     {leader}");
                    println!(
                        "log:        last {} committed {} applied {} snapshot {} purged {}",
                        s.last_log_index, s.committed, s.applied, s.snapshot_index, s.purged_index
                    );
                    println!(
                        "keys:       {} (~{} bytes in memory, {} on disk)",
                        s.key_count, s.approx_bytes, s.disk_bytes
                    );
                    println!("uptime:     {}s, version {}", s.uptime_secs, s.version);
                    println!();
                    print_members(&s.members);
                }
            }
        }
        ClusterCommand::Leader => {
            let l = client.leader().await?;
            match opts.output {
                Output::Json => println!("{}", to_json(&l)),
                Output::Text => println!("{} (id {}) {}", l.name, l.id, l.client_url),
            }
        }
        ClusterCommand::Members => {
            let s = client.status().await?;
            match opts.output {
                Output::Json => println!("{}", to_json(&s.members)),
                Output::Text => print_members(&s.members),
            }
        }
    }
    Ok(())
}

fn print_members(members: &[MemberInfo]) {
    let rows: Vec<[String; 5]> = members
        .iter()
        .map(|m| {
            [
                m.name.clone(),
                m.id.to_string(),
                if m.voter { "voter" } else { "learner" }.to_string(),
                m.peer_url.clone(),
                m.client_url.clone(),
            ]
        })
        .collect();
    let header = ["NAME", "ID", "KIND", "PEER URL", "CLIENT URL"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}

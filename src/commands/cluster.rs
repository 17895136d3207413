//! `dcache cluster ...`: show and change the cluster from any one of its nodes.

use std::time::Duration;

use serde::Serialize;

use super::CommandError;
use crate::cli::{ClientOpts, ClusterCommand, Output};
use crate::client::{to_json, Client, ClientError, Endpoints, Retry};
use crate::quorum::Quorum;
use crate::types::{MemberInfo, NodeStatus, Role};

/// Runs one `cluster` subcommand.
pub async fn run(opts: &ClientOpts, command: &ClusterCommand) -> Result<(), CommandError> {
    let members = super::kv::endpoints(opts)?;
    let members = &members;
    match command {
        ClusterCommand::Status => status(opts, members).await?,
        ClusterCommand::Health => health(opts, members).await?,
        ClusterCommand::Leader => {
            let l = members.call(Retry::Read, |c| async move { c.leader().await }).await?;
            match opts.output {
                Output::Json => println!("{}", to_json(&l)),
                Output::Text => println!("{} (id {}) {}", l.name, l.id, l.client_url),
            }
        }
        ClusterCommand::Members => {
            let s = members.call(Retry::Read, |c| async move { c.status().await }).await?;
            match opts.output {
                Output::Json => println!("{}", to_json(&s.members)),
                Output::Text => print_table(
                    &["NAME", "ID", "KIND", "PEER URL", "CLIENT URL", "RESP URL"],
                    s.members.iter().map(member_row).collect(),
                ),
            }
        }
        ClusterCommand::TransferLeadership { target } => {
            let l = members
                .call(Retry::Write, |c| async move { c.transfer_leadership(target).await })
                .await?;
            match opts.output {
                Output::Json => println!("{}", to_json(&l)),
                Output::Text => println!("leader is now {} (id {}) {}", l.name, l.id, l.client_url),
            }
        }
        ClusterCommand::Remove { target } => {
            let m = members
                .call(Retry::Write, |c| async move { c.remove_member(target).await })
                .await?;
            match opts.output {
                Output::Json => println!("{}", to_json(&m)),
                Output::Text => println!("removed {} (id {}) {}", m.name, m.id, m.peer_url),
            }
        }
    }
    Ok(())
}

fn member_row(m: &MemberInfo) -> Vec<String> {
    vec![
        m.name.clone(),
        m.id.to_string(),
        if m.voter { "voter" } else { "learner" }.to_string(),
        m.peer_url.clone(),
        m.client_url.clone(),
        m.resp_url.clone(),
    ]
}

/// One member's line in `cluster status`; `error` is set when the member did not answer.
#[derive(Debug, Serialize)]
struct StatusRow {
    name: String,
    id: u64,
    client_url: String,
    role: Option<Role>,
    /// A leader no quorum has acknowledged within the lease (see `NodeStatus::quorum_lost`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    quorum_lost: bool,
    term: Option<u64>,
    committed: Option<u64>,
    applied: Option<u64>,
    lag: Option<u64>,
    keys: Option<u64>,
    /// The member's build (crate version and commit), as it published it.
    version: Option<String>,
    /// The newest format the member reads, as it published it.
    format: Option<u32>,
    /// The cluster version, as this member has applied it.
    cluster_format: Option<u32>,
    error: Option<String>,
}

/// Asks the first member that answers for the member list, then every member for its own
/// status.
async fn status(opts: &ClientOpts, members: &Endpoints) -> Result<(), ClientError> {
    let first = members.call(Retry::Read, |c| async move { c.status().await }).await?;
    let client = members.current();
    let per_node = opts.timeout.min(Duration::from_secs(3));
    let fetches = first.members.iter().map(|m| {
        let m = m.clone();
        let first = &first;
        async move {
            let result = if m.id == first.id {
                Ok(first.clone())
            } else if m.client_url.is_empty() {
                Err("client URL not registered yet".to_string())
            } else {
                match Client::new(&m.client_url, per_node, client.access()) {
                    Ok(c) => c.status().await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            };
            (m, result)
        }
    });
    let results: Vec<(MemberInfo, Result<NodeStatus, String>)> = futures::future::join_all(fetches).await;
    let leader = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .filter(|s| s.leads())
        .max_by_key(|s| s.term);
    let rows: Vec<StatusRow> = results.iter().map(|(m, r)| status_row(m, r, leader)).collect();
    match opts.output {
        Output::Json => println!("{}", to_json(&rows)),
        Output::Text => {
            print_status(&rows);
            let voters = results.iter().filter(|(m, _)| m.voter);
            let quorum = Quorum {
                voters: voters.clone().count(),
                up: voters.filter(|(_, r)| r.is_ok()).count(),
                leader: leader.is_some(),
            };
            println!("{quorum}");
            println!("{}", cluster_version_line(&rows));
        }
    }
    Ok(())
}

/// The cluster version and, until every member reads the newest format, who holds it back:
/// what to watch during a rolling upgrade.
fn cluster_version_line(rows: &[StatusRow]) -> String {
    let current = rows.iter().filter_map(|r| r.cluster_format).max();
    let reads = |r: &StatusRow| crate::version::published_or_oldest(r.format.unwrap_or(0));
    let newest = rows.iter().map(reads).max().unwrap_or(crate::version::OLDEST_FORMAT);
    let behind: Vec<String> = rows
        .iter()
        .filter(|r| reads(r) < newest)
        .map(|r| format!("{} (format {})", r.name, reads(r)))
        .collect();
    let current = current.map_or("unknown".to_string(), |c| format!("format {c}"));
    if behind.is_empty() {
        format!("cluster version: {current}; every member reads format {newest}")
    } else {
        format!(
            "cluster version: {current}; waiting for {} to read format {newest}",
            behind.join(", ")
        )
    }
}

/// One member's line in `cluster health`.
#[derive(Debug, Serialize)]
struct HealthRow {
    name: String,
    id: u64,
    client_url: String,
    voter: bool,
    /// `healthy`, `unhealthy` (answers, but is not in touch with a leader) or `down`.
    state: &'static str,
    /// The leader's id when healthy, else why not.
    leader: Option<u64>,
    error: Option<String>,
}

/// `cluster health`: every member's `/health`, one line each, then the quorum line. Fails
/// (exit 6) unless every member is healthy and the voters have a quorum.
async fn health(opts: &ClientOpts, members: &Endpoints) -> Result<(), CommandError> {
    let first = members.call(Retry::Read, |c| async move { c.status().await }).await?;
    let access = members.current().access().clone();
    let per_node = opts.timeout.min(Duration::from_secs(3));
    let checks = first.members.iter().map(|m| {
        let access = &access;
        async move {
            let answer = match Client::new(&m.client_url, per_node, access) {
                _ if m.client_url.is_empty() => Err(("down", "client URL not registered yet".to_string())),
                Ok(c) => match c.health().await {
                    Ok(h) => Ok(h.leader),
                    Err(ClientError::Api { message, .. }) => Err(("unhealthy", message)),
                    Err(e) => Err(("down", e.to_string())),
                },
                Err(e) => Err(("down", e.to_string())),
            };
            let (state, leader, error) = match answer {
                Ok(leader) => ("healthy", leader, None),
                Err((state, why)) => (state, None, Some(why)),
            };
            HealthRow {
                name: m.name.clone(),
                id: m.id,
                client_url: m.client_url.clone(),
                voter: m.voter,
                state,
                leader,
                error,
            }
        }
    });
    let rows: Vec<HealthRow> = futures::future::join_all(checks).await;
    let voters = rows.iter().filter(|r| r.voter);
    let quorum = Quorum {
        voters: voters.clone().count(),
        up: voters.filter(|r| r.state != "down").count(),
        leader: rows.iter().any(|r| r.state == "healthy"),
    };
    match opts.output {
        Output::Json => println!(
            "{}",
            to_json(&serde_json::json!({
                "members": rows,
                "voters": quorum.voters,
                "voters_up": quorum.up,
                "quorum": quorum.ok(),
            }))
        ),
        Output::Text => {
            print_rows(rows.iter().map(health_line).collect());
            println!("{quorum}");
        }
    }
    let unhealthy = rows.iter().filter(|r| r.state != "healthy").count();
    if unhealthy > 0 || !quorum.ok() {
        return Err(CommandError::Unhealthy(format!(
            "{unhealthy} of {} members unhealthy; {quorum}",
            rows.len()
        )));
    }
    Ok(())
}

/// `NAME  CLIENT URL  STATE  DETAIL` of one member.
fn health_line(r: &HealthRow) -> Vec<String> {
    let kind = if r.voter { "" } else { " (learner)" };
    let detail = match (&r.error, r.leader) {
        (Some(e), _) => e.clone(),
        (None, Some(l)) => format!("leader id {l}"),
        (None, None) => String::new(),
    };
    vec![
        format!("{}{kind}", r.name),
        r.client_url.clone(),
        r.state.to_string(),
        detail,
    ]
}

/// `m`'s row from its answer `r`; the lag is taken from `leader`'s view when one is known.
fn status_row(m: &MemberInfo, r: &Result<NodeStatus, String>, leader: Option<&NodeStatus>) -> StatusRow {
    match r {
        Ok(s) => StatusRow {
            name: m.name.clone(),
            id: m.id,
            client_url: m.client_url.clone(),
            role: Some(s.role),
            quorum_lost: s.quorum_lost,
            term: Some(s.term),
            committed: Some(s.committed),
            applied: Some(s.applied),
            lag: leader.and_then(|l| l.lag_of(m.id, Some(s))),
            keys: Some(s.key_count),
            version: Some(s.build.clone())
                .filter(|b| !b.is_empty())
                .or_else(|| m.version.clone()),
            format: Some(s.format).filter(|f| *f != 0).or(m.format),
            cluster_format: Some(s.cluster_format).filter(|f| *f != 0),
            error: None,
        },
        Err(e) => StatusRow {
            name: m.name.clone(),
            id: m.id,
            client_url: m.client_url.clone(),
            role: None,
            quorum_lost: false,
            term: None,
            committed: None,
            applied: None,
            lag: leader.and_then(|l| l.lag_of(m.id, None)),
            keys: None,
            version: m.version.clone(),
            format: m.format,
            cluster_format: None,
            error: Some(e.clone()),
        },
    }
}

/// `cluster status` as a table: one row per member, empty cells for what is unknown.
fn print_status(rows: &[StatusRow]) {
    let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    print_table(
        &[
            "NAME",
            "ID",
            "CLIENT URL",
            "ROLE",
            "TERM",
            "COMMITTED",
            "APPLIED",
            "LAG",
            "KEYS",
            "VERSION",
            "ERROR",
        ],
        rows.iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.id.to_string(),
                    r.client_url.clone(),
                    r.role
                        .map(|role| match r.quorum_lost {
                            true => format!("{role} (no quorum)"),
                            false => role.to_string(),
                        })
                        .unwrap_or_default(),
                    opt(r.term),
                    opt(r.committed),
                    opt(r.applied),
                    opt(r.lag),
                    opt(r.keys),
                    match (&r.version, r.format) {
                        (Some(v), Some(f)) => format!("{v} (format {f})"),
                        (Some(v), None) => v.clone(),
                        (None, Some(f)) => format!("format {f}"),
                        (None, None) => String::new(),
                    },
                    r.error.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    );
}

/// Prints left-aligned columns separated by two spaces, under `header`.
fn print_table(header: &[&str], rows: Vec<Vec<String>>) {
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    print_rows(std::iter::once(header).chain(rows).collect());
}

/// Prints left-aligned columns separated by two spaces.
fn print_rows(rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = Vec::new();
    for row in &rows {
        widths.resize(widths.len().max(row.len()), 0);
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in &rows {
        let line: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", line.join("  ").trim_end());
    }
}

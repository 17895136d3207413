//! Changing the cluster: leadership transfer, joins (learner, then voter) and removals.
//!
//! Every change runs on the leader. A node that receives one while following forwards it to
//! the leader over the peer port (`Route::Admin`), so callers can use any member.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use openraft::async_runtime::WatchReceiver;
use openraft::errors::{ClientWriteError, RaftError};
use openraft::{ChangeMembers, Instant as _};

use super::{Node, NodeError};
use crate::peer::{AdminReply, AdminRequest, Member, NodeId};
use crate::types::{JoinRequest, LeaderInfo, MemberInfo};

/// A learner may be promoted once it is at most this many entries behind the leader.
const PROMOTE_MAX_LAG: u64 = 100;
/// Leadership goes only to a voter at most this many entries behind.
const TRANSFER_MAX_LAG: u64 = 1000;

/// Runs `req` if `node` leads; `NotLeader` otherwise.
pub(super) async fn run(node: &Node, req: AdminRequest, deadline: Instant) -> Result<AdminReply, NodeError> {
    if !node.inner.raft.is_leader() {
        return Err(NodeError::NotLeader);
    }
    match req {
        AdminRequest::TransferLeader { target } => transfer(node, &target, deadline).await.map(AdminReply::Leader),
        AdminRequest::Join(join) => add_learner(node, join).await.map(AdminReply::Member),
        AdminRequest::Promote { id } => promote(node, id).await.map(|_| AdminReply::Done),
        AdminRequest::Remove { target } => remove(node, &target).await.map(AdminReply::Member),
    }
}

/// Finds a member by name or numeric id.
fn find_member(node: &Node, target: &str) -> Result<MemberInfo, NodeError> {
    node.status()
        .members
        .into_iter()
        .find(|m| m.name == target || m.id.to_string() == target)
        .ok_or_else(|| NodeError::MemberNotFound(format!("no member is named or numbered `{target}`")))
}

async fn transfer(node: &Node, target: &str, deadline: Instant) -> Result<LeaderInfo, NodeError> {
    let member = find_member(node, target)?;
    let info = LeaderInfo {
        id: member.id,
        name: member.name.clone(),
        client_url: member.client_url.clone(),
    };
    if member.id == node.inner.id {
        return Ok(info);
    }
    check_can_lead(node, &member).await?;
    tracing::info!(to = member.id, name = %member.name, "transferring leadership");
    node.inner
        .raft
        .trigger()
        .transfer_leader(member.id)
        .await
        .map_err(|_| NodeError::Stopped)?;
    // A transfer completes in about one round trip; give it a few election timeouts.
    let patience = Duration::from_millis(node.inner.config.raft.election_timeout_ms * 4);
    let timeout = deadline.saturating_duration_since(Instant::now()).min(patience);
    node.inner
        .raft
        .wait(Some(timeout))
        .metrics(|m| m.current_leader == Some(member.id), "leadership transfer")
        .await
        .map_err(|_| {
            NodeError::Refused(format!(
                "{} did not take over within {} ms; it may be down or behind",
                member.name,
                timeout.as_millis()
            ))
        })?;
    Ok(info)
}

/// On the leader: the voters that have stored entries this node has not fsynced yet (their
/// disks are faster), the one furthest ahead first.
pub(super) fn ahead_of_disk(node: &Node) -> Vec<MemberInfo> {
    let flushed = node.inner.store.flushed_index();
    // The metrics guard is dropped before `status()` borrows them again: tokio's watch lock
    // is fair, so a second read under a pending write (Raft publishing) would deadlock.
    let replication = node
        .inner
        .raft
        .metrics()
        .borrow_watched()
        .replication
        .clone()
        .unwrap_or_default();
    let mut ahead: Vec<(u64, MemberInfo)> = {
        node.status()
            .members
            .into_iter()
            .filter(|member| member.voter && member.id != node.inner.id)
            .filter_map(|member| {
                let matched = replication.get(&member.id).cloned().flatten()?.index();
                (matched > flushed).then_some((matched, member))
            })
            .collect()
    };
    ahead.sort_by_key(|(matched, _)| std::cmp::Reverse(*matched));
    ahead.into_iter().map(|(_, member)| member).collect()
}

/// On the leader: hands leadership to the first of `candidates` that answers and is caught
/// up; whether the transfer completed. `why` is logged.
pub(super) async fn hand_off(node: &Node, candidates: Vec<MemberInfo>, why: &str) -> bool {
    for member in candidates {
        if check_can_lead(node, &member).await.is_err() {
            continue;
        }
        tracing::warn!(to = %member.name, why, "handing leadership to a member that keeps up");
        let deadline = Instant::now() + Duration::from_millis(node.inner.config.raft.election_timeout_ms * 4);
        return transfer(node, &member.name, deadline).await.is_ok();
    }
    false
}

/// Refuses a transfer to `member` unless it is a voter that answers and is caught up.
async fn check_can_lead(node: &Node, member: &MemberInfo) -> Result<(), NodeError> {
    if !member.voter {
        return Err(NodeError::Refused(format!(
            "{} is a learner; only voters can lead",
            member.name
        )));
    }
    let (lag, silent_for) = {
        let rx = node.inner.raft.metrics();
        let m = rx.borrow_watched();
        let last = m.last_log_index.unwrap_or(0);
        let matched = m
            .replication
            .as_ref()
            .and_then(|r| r.get(&member.id).cloned().flatten())
            .map(|l| l.index());
        let acked = m.heartbeat.as_ref().and_then(|h| h.get(&member.id).cloned().flatten());
        (last.saturating_sub(matched.unwrap_or(0)), acked.map(|t| t.elapsed()))
    };
    let down_after = Duration::from_millis(node.inner.config.raft.election_timeout_ms * 2);
    match silent_for {
        Some(d) if d <= down_after => {}
        Some(d) => {
            return Err(NodeError::Refused(format!(
                "{} looks down: it has not answered for {} ms",
                member.name,
                d.as_millis()
            )))
        }
        None => {
            return Err(NodeError::Refused(format!(
                "{} looks down: it never answered",
                member.name
            )))
        }
    }
    if !is_alive(node, member).await {
        return Err(NodeError::Refused(format!(
            "{} looks down: it does not answer on {}",
            member.name, member.peer_url
        )));
    }
    if lag > TRANSFER_MAX_LAG {
        return Err(NodeError::Refused(format!(
            "{} is {lag} entries behind; wait until it catches up",
            member.name
        )));
    }
    Ok(())
}

async fn add_learner(node: &Node, join: JoinRequest) -> Result<MemberInfo, NodeError> {
    let _serial = node.inner.membership_lock.lock().await;
    let members = node.status().members;
    if let Some(existing) = members.iter().find(|m| m.name == join.name) {
        if existing.peer_url == join.peer_url {
            return Ok(existing.clone()); // a retried join
        }
        return Err(NodeError::Refused(format!(
            "the name `{}` is taken by member {} at {}",
            join.name, existing.id, existing.peer_url
        )));
    }
    if let Some(existing) = members.iter().find(|m| m.peer_url == join.peer_url) {
        return Err(NodeError::Refused(format!(
            "peer URL {} is already used by member `{}`",
            join.peer_url, existing.name
        )));
    }
    let joiner_reads = crate::version::published_or_oldest(join.format);
    let cluster = node.cluster_format();
    if joiner_reads < cluster {
        return Err(NodeError::Refused(format!(
            "`{}` reads formats up to {joiner_reads} but the cluster runs at format {cluster}; \
             start it with a build that reads format {cluster}",
            join.name
        )));
    }
    // Above every id ever used, so a removed member's id is never given again: every member
    // may still hold state keyed by it (its removal, its replication progress, its
    // connections, an unapplied publication of its name). Every earlier id was allocated at
    // or below the log index of its own join, and log indexes only grow.
    let last_index = node.inner.raft.metrics().borrow_watched().last_log_index.unwrap_or(0);
    let id = members.iter().map(|m| m.id).max().unwrap_or(0).max(last_index) + 1;
    let member = Member {
        name: join.name.clone(),
        peer_url: join.peer_url.clone(),
        client_url: join.client_url.clone(),
        version: join.version.clone(),
        format: join.format,
        resp_url: String::new(),
    };
    tracing::info!(id, name = %join.name, peer_url = %join.peer_url, "adding learner");
    node.inner
        .raft
        .add_learner(id, member, false)
        .await
        .map_err(membership_error)?;
    crate::failpoint::hit("join-learner-added");
    Ok(MemberInfo {
        id,
        name: join.name,
        peer_url: join.peer_url,
        client_url: join.client_url,
        voter: false,
        version: Some(join.version).filter(|v| !v.is_empty()),
        format: Some(join.format).filter(|f| *f != 0),
        resp_url: String::new(),
    })
}

/// Makes learner `id` a voter once it is caught up.
async fn promote(node: &Node, id: NodeId) -> Result<(), NodeError> {
    let _serial = node.inner.membership_lock.lock().await;
    let status = node.status();
    let member = status
        .members
        .iter()
        .find(|m| m.id == id)
        .ok_or_else(|| NodeError::MemberNotFound(format!("no member has id {id}")))?;
    if member.voter {
        return Ok(());
    }
    let lag = status
        .replication
        .as_ref()
        .and_then(|r| r.iter().find(|r| r.id == id).and_then(|r| r.lag))
        .unwrap_or(u64::MAX);
    if lag > PROMOTE_MAX_LAG {
        return Err(NodeError::Refused(format!(
            "{} is still catching up ({lag} entries behind)",
            member.name
        )));
    }
    tracing::info!(id, name = %member.name, "promoting learner to voter");
    node.inner
        .raft
        .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), true)
        .await
        .map_err(membership_error)?;
    crate::failpoint::hit("join-promoted");
    Ok(())
}

async fn remove(node: &Node, target: &str) -> Result<MemberInfo, NodeError> {
    let _serial = node.inner.membership_lock.lock().await;
    let member = find_member(node, target)?;
    let voters = node.status().members.iter().filter(|m| m.voter).count();
    if member.voter && voters == 1 {
        return Err(NodeError::Refused(format!(
            "{} is the last voter; the cluster would stop",
            member.name
        )));
    }
    tracing::info!(id = member.id, name = %member.name, "removing member");
    let ids = BTreeSet::from([member.id]);
    let change = if member.voter {
        ChangeMembers::RemoveVoters(ids)
    } else {
        ChangeMembers::RemoveNodes(ids)
    };
    node.inner
        .raft
        .change_membership(change, false)
        .await
        .map_err(membership_error)?;
    crate::failpoint::hit("remove-committed");
    // The removed node may never see the final configuration (it is no longer
    // replicated to), so tell it directly that it is out.
    let notifier = node.clone();
    let (id, peer_url) = (member.id, member.peer_url.clone());
    tokio::spawn(async move { notify_removed(&notifier, id, &peer_url).await });
    Ok(member)
}

/// Whether `member` answers a ping on its peer port within half an election timeout.
async fn is_alive(node: &Node, member: &MemberInfo) -> bool {
    let wait = Duration::from_millis((node.inner.config.raft.election_timeout_ms / 2).max(100));
    node.inner.peers.ping(&member.peer_url, wait).await
}

/// Tells a removed member to stop; best effort, a few tries.
async fn notify_removed(node: &Node, id: NodeId, peer_url: &str) {
    for _ in 0..3 {
        if let Ok(Ok(())) = node.inner.peers.removed(peer_url, id, Duration::from_secs(2)).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tracing::warn!(id, %peer_url, "could not tell the removed member to stop; stop it by hand");
}

/// Updates the replicated record of member `id` (used to publish client URLs). Only
/// succeeds on the leader.
pub(super) async fn update_member(node: &Node, id: NodeId, member: Member) -> Result<(), NodeError> {
    let _serial = node.inner.membership_lock.lock().await;
    let change = ChangeMembers::SetNodes(BTreeMap::from([(id, member)]));
    node.inner
        .raft
        .change_membership(change, true)
        .await
        .map(|_| ())
        .map_err(membership_error)
}

fn membership_error(e: RaftError<crate::raft::TypeConfig, ClientWriteError<crate::raft::TypeConfig>>) -> NodeError {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(_)) => NodeError::NotLeader,
        RaftError::APIError(e) => NodeError::Refused(e.to_string()),
        RaftError::Fatal(_) => NodeError::Stopped,
    }
}

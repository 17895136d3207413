//! What arrives from peers: Raft RPCs and snapshots handed to the Raft core, and the checks
//! on who may send them (cluster id, member ids, and under mutual TLS the certificate).

use std::sync::atomic::Ordering;

use openraft::async_runtime::WatchReceiver;

use super::{InboundError, Node};
use crate::peer::{NodeId, Route};

impl Node {
    /// Answers an incoming Raft RPC on `route` (the body and the answer are encoded), and
    /// notes when the current leader was last heard from.
    pub async fn raft_rpc(&self, route: Route, body: &[u8]) -> Result<Vec<u8>, InboundError> {
        let answered = crate::raft::network::answer(&self.inner.raft, route, body).await?;
        if answered.from_current_leader {
            let ms = self.inner.started.elapsed().as_millis() as u64;
            self.inner.leader_heard_ms.store(ms.max(1), Ordering::Relaxed);
        }
        Ok(answered.body)
    }

    /// Receives a snapshot frame streamed in `body` into a new body file and installs it.
    pub async fn receive_snapshot<E: std::fmt::Display>(
        &self,
        body: impl futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    ) -> Result<Vec<u8>, InboundError> {
        let bound = crate::raft::network::SnapshotBound::for_memory(self.inner.config.limits.max_memory);
        let (vote, snapshot) = crate::raft::network::receive_snapshot(&self.inner.store, bound, body).await?;
        crate::failpoint::hit("snapshot-install-received");
        crate::raft::network::install_snapshot(&self.inner.raft, vote, snapshot).await
    }

    /// Whether a peer request stamped with `cluster` and sender `from` (each `None` when the
    /// sender's build does not stamp them) and meant for member `to` is one this node takes:
    /// `Err(why not)` for another cluster, another member's request, or a sender that is not
    /// a member. Unstamped requests are taken until the cluster version reaches 3 (a member
    /// of an older build may still send them).
    pub fn check_peer(&self, cluster: Option<&str>, from: Option<NodeId>, to: Option<NodeId>) -> Result<(), String> {
        let ours = &self.inner.config.cluster_id;
        let me = self.inner.id;
        match cluster {
            Some(theirs) if theirs != ours => {
                return Err(format!(
                    "request cluster ID mismatch: the sender (member {}) is in cluster `{theirs}`, this node \
                     (member {me}) is in cluster `{ours}`",
                    from.map_or("?".into(), |f| f.to_string())
                ))
            }
            None if self.cluster_format() >= 3 => {
                return Err(format!(
                    "a peer request without a cluster id (a build older than format 3?) to member {me} of \
                     cluster `{ours}`, which runs at format {}",
                    self.cluster_format()
                ))
            }
            _ => {}
        }
        if let Some(to) = to.filter(|to| *to != me) {
            return Err(format!(
                "the request is for member {to} but this is member {me} of cluster `{ours}` (another node on its address?)"
            ));
        }
        if let Some(from) = from {
            let rx = self.inner.raft.metrics();
            let m = rx.borrow_watched();
            let membership = m.membership_config.membership();
            if membership.nodes().next().is_some() && membership.get_node(&from).is_none() {
                return Err(format!("member {from} is not a member of cluster `{ours}` (removed?)"));
            }
        }
        Ok(())
    }

    /// Whether `from`, asking for a vote with `sender_last` as the last index of its log, is a
    /// member this node knows was removed: this node's membership is applied here (so it is
    /// committed), does not have `from`, and was written after the sender's last entry. A
    /// member added after this node's membership has that newer entry in its log, so a
    /// lagging node never tells a new member it was removed.
    pub fn removal_of(&self, from: NodeId, sender_last: u64) -> Option<String> {
        let rx = self.inner.raft.metrics();
        let m = rx.borrow_watched();
        let stored = &m.membership_config;
        let at = stored.log_id().as_ref()?.index();
        let applied = m.last_applied.as_ref().map_or(0, |l| l.index());
        let gone = stored.membership().get_node(&from).is_none() && at <= applied && at > sender_last;
        gone.then(|| {
            format!(
                "member {from} was removed from cluster `{}`: the membership committed at log index {at} \
                 does not have it, and its log ends at {sender_last}",
                self.inner.config.cluster_id
            )
        })
    }

    /// Under mutual TLS between peers, binds a peer request to a member: it must name its
    /// sender, and the certificate it came with must name the host of that member's peer URL
    /// (a DNS or IP subject alternative name, or the common name), as etcd's
    /// `--peer-cert-allowed-hostname` does. Any other certificate of the peer CA (a client's,
    /// say) is refused. Before this node knows any membership (a new joiner) the CA alone
    /// vouches.
    pub fn check_peer_certificate(&self, from: Option<NodeId>, names: Option<&[String]>) -> Result<(), String> {
        if self.inner.config.security.peer_tls.is_none() {
            return Ok(());
        }
        let names = names.unwrap_or_default();
        let Some(from) = from else {
            return Err(format!(
                "a peer request without a sender id, from a certificate naming {names:?}; members always name themselves"
            ));
        };
        let url = {
            let rx = self.inner.raft.metrics();
            let m = rx.borrow_watched();
            match m.membership_config.membership().get_node(&from) {
                Some(member) => member.peer_url.clone(),
                None => return Ok(()),
            }
        };
        let host = url::Url::parse(&url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string));
        match host {
            Some(host) if crate::tls::names_cover(names, &host) => Ok(()),
            host => Err(format!(
                "the peer certificate names {names:?}, not the host {} of member {from}'s peer URL {url}; \
                 only members' own certificates may call the peer API",
                host.unwrap_or_default()
            )),
        }
    }
}

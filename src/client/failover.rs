//! Talking to a cluster through several of its members' client URLs (`--endpoints`), as
//! etcdctl does: a request goes to the member that answered last, and moves on to the next
//! when that one is down or has no leader. Owns only the choice of member; each request is
//! still one [`Client`] call.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::{Access, Client, ClientError};
use crate::types::ErrorCode;

/// Whether a request may be sent again to another member after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// A read: sending it twice is harmless, so any failure that another member may not
    /// share (no connection, no answer in time, a 5xx) moves on.
    Read,
    /// A write: moves on only when the member certainly did not apply it (no connection, or
    /// 503 no leader / not ready). A timeout is reported, since the write may have applied.
    Write,
}

/// Clients for every endpoint, tried in turn. Cheap to share by reference.
pub struct Endpoints {
    clients: Vec<Client>,
    /// The endpoint that answered last; the next request starts there.
    current: AtomicUsize,
}

impl Endpoints {
    /// Clients for `urls` (at least one), each giving a request `timeout`.
    pub fn new(urls: &[String], timeout: Duration, access: &Access) -> Result<Endpoints, ClientError> {
        let clients = urls
            .iter()
            .map(|u| Client::new(u, timeout, access))
            .collect::<Result<Vec<_>, _>>()?;
        if clients.is_empty() {
            return Err(ClientError::BadUrl {
                url: String::new(),
                reason: "no endpoint given; use --server URL or --endpoints URL,URL".into(),
            });
        }
        Ok(Endpoints {
            clients,
            current: AtomicUsize::new(0),
        })
    }

    /// The client of the endpoint that answered last (the first one before any answer).
    pub fn current(&self) -> &Client {
        &self.clients[self.current.load(Ordering::Relaxed) % self.clients.len()]
    }

    /// How many endpoints there are.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Whether there are none (never true: [`Endpoints::new`] refuses an empty list).
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Makes the endpoint after the current one current, and returns its client.
    pub fn advance(&self) -> &Client {
        let next = (self.current.load(Ordering::Relaxed) + 1) % self.clients.len();
        self.current.store(next, Ordering::Relaxed);
        &self.clients[next]
    }

    /// Runs `call` on the current endpoint, then on each other one in turn while the failure
    /// allows it under `retry`. Returns the first success; when every endpoint failed, the
    /// last failure (which fixes the exit code) with every endpoint's reason.
    pub async fn call<T, F, Fut>(&self, retry: Retry, call: F) -> Result<T, ClientError>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let mut reasons = Vec::new();
        let start = self.current.load(Ordering::Relaxed);
        for step in 0..self.clients.len() {
            let at = (start + step) % self.clients.len();
            let client = &self.clients[at];
            match call(client.clone()).await {
                Ok(v) => {
                    self.current.store(at, Ordering::Relaxed);
                    return Ok(v);
                }
                Err(e) if self.clients.len() > 1 && may_move_on(&e, retry) => {
                    reasons.push(format!("{}: {e}", client.server()));
                    if step + 1 == self.clients.len() {
                        return Err(ClientError::AllEndpoints {
                            reasons: reasons.join("; "),
                            last: Box::new(e),
                        });
                    }
                }
                Err(e) => return Err(e),
            }
        }
        // Unreachable: the loop returns on its last step.
        Err(ClientError::BadUrl {
            url: String::new(),
            reason: "no endpoint given".into(),
        })
    }
}

/// Whether failure `e` of one endpoint lets a request go to the next under `retry`.
fn may_move_on(e: &ClientError, retry: Retry) -> bool {
    match retry {
        Retry::Read => e.is_transient(),
        Retry::Write => match e {
            ClientError::Unreachable { .. } => true,
            ClientError::Api { code, .. } => matches!(code, ErrorCode::NoLeader | ErrorCode::NotReady),
            _ => false,
        },
    }
}

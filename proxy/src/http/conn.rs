//! What one client connection may take (`server.limits`): a slot among the open connections
//! (overall and per peer address), one deadline for the whole request head, a head size and
//! header count, and the idle keep-alive time.
//!
//! pingora applies its read timeout to each read, so a client sending one header byte a second
//! held a connection for as long as it liked; here the whole head has one deadline. pingora stops
//! at a 1 MiB head or 256 headers with a connection reset; here those, and the configured smaller
//! limits, get 431.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::StatusCode;
use pingora_core::protocols::http::ServerSession;
use ucp_config::ConnectionLimits;

use crate::error::{ProxyError, Refusal};

/// The open client connections, overall and by peer address.
pub(super) struct ConnectionSlots {
    total: AtomicUsize,
    by_peer: parking_lot::Mutex<HashMap<IpAddr, usize>>,
    max_total: AtomicUsize,
    max_per_peer: AtomicUsize,
}

/// A connection's slot, given back when it drops.
pub(super) struct Slot {
    slots: Arc<ConnectionSlots>,
    peer: Option<IpAddr>,
}

impl ConnectionSlots {
    pub(super) fn new(limits: &ConnectionLimits) -> Arc<Self> {
        Arc::new(ConnectionSlots {
            total: AtomicUsize::new(0),
            by_peer: parking_lot::Mutex::new(HashMap::new()),
            max_total: AtomicUsize::new(limits.max_connections),
            max_per_peer: AtomicUsize::new(limits.max_connections_per_peer),
        })
    }

    /// New caps (a reload): connections open beyond them stay, new ones wait for room.
    pub(super) fn set_caps(&self, limits: &ConnectionLimits) {
        self.max_total
            .store(limits.max_connections, Ordering::Relaxed);
        self.max_per_peer
            .store(limits.max_connections_per_peer, Ordering::Relaxed);
    }

    /// A slot for a connection from `peer`, or why there is none.
    pub(super) fn take(self: &Arc<Self>, peer: Option<IpAddr>) -> Result<Slot, &'static str> {
        if self.total.fetch_add(1, Ordering::AcqRel) >= self.max_total.load(Ordering::Relaxed) {
            self.total.fetch_sub(1, Ordering::AcqRel);
            return Err("server.limits.max_connections");
        }
        if let Some(ip) = peer {
            let mut by_peer = self.by_peer.lock();
            let open = by_peer.entry(ip).or_insert(0);
            if *open >= self.max_per_peer.load(Ordering::Relaxed) {
                drop(by_peer);
                self.total.fetch_sub(1, Ordering::AcqRel);
                return Err("server.limits.max_connections_per_peer");
            }
            *open += 1;
        }
        Ok(Slot {
            slots: self.clone(),
            peer,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(ip) = self.peer {
            let mut by_peer = self.slots.by_peer.lock();
            if let Some(open) = by_peer.get_mut(&ip) {
                *open -= 1;
                if *open == 0 {
                    by_peer.remove(&ip);
                }
            }
        }
        self.slots.total.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How reading a request head ended.
pub(super) enum Head {
    /// A whole head within the limits.
    Read,
    /// The client closed the connection (or stayed idle past the keep-alive time).
    Closed,
    /// A head the gateway answers with this error, then closes the connection.
    Refuse(ProxyError),
}

/// Marks a connection handed back to pingora for its next request.
pub(super) struct KeptAlive;

/// Reads the next request head under one deadline: `header_timeout` for a new connection, plus
/// the idle `keepalive_timeout` on a kept-alive one (there pingora's per-read timeout is the
/// keep-alive time, so an idle client goes at its end without an answer).
pub(super) async fn read_head(session: &mut ServerSession, limits: &ConnectionLimits) -> Head {
    if session.is_http2() {
        // h2 hands over a whole head per stream; the h2 layer bounds header lists itself.
        return match session.read_request().await {
            Ok(true) => check_head(session, limits),
            _ => Head::Closed,
        };
    }
    let kept_alive = session
        .take_connection_user_context()
        .is_some_and(|context| context.is::<KeptAlive>());
    let deadline = if kept_alive {
        limits.keepalive_timeout + limits.header_timeout
    } else {
        // pingora starts a new connection with a 60 s keep-alive, its per-read timeout until
        // the head is parsed (which sets keep-alive from the request): the head's own instead.
        session.set_keepalive(None);
        session.set_read_timeout(Some(limits.header_timeout));
        limits.header_timeout
    };
    match tokio::time::timeout(deadline, session.read_request()).await {
        Ok(Ok(true)) => check_head(session, limits),
        Ok(Ok(false)) => Head::Closed,
        Ok(Err(error)) => {
            let text = format!("{error:?}");
            if text.contains("TooManyHeaders") || text.contains("Request header larger than") {
                Head::Refuse(too_large(
                    "the request head is over pingora's 1 MiB or 256 headers",
                ))
            } else {
                tracing::debug!(%error, "unreadable request head");
                Head::Closed
            }
        }
        Err(_) => {
            tracing::debug!(?deadline, kept_alive, "request head not complete in time");
            Head::Refuse(ProxyError::Refused(Refusal::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request head did not arrive within {:?} (server.limits.header_timeout)",
                    limits.header_timeout
                ),
            )))
        }
    }
}

fn check_head(session: &ServerSession, limits: &ConnectionLimits) -> Head {
    let head = session.req_header();
    if head.headers.len() > limits.max_headers {
        return Head::Refuse(too_large(&format!(
            "{} headers; at most {} (server.limits.max_headers)",
            head.headers.len(),
            limits.max_headers
        )));
    }
    let size = head.raw_path().len()
        + head
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    if size > limits.max_header_bytes {
        return Head::Refuse(too_large(&format!(
            "the request head is {size} bytes; at most {} (server.limits.max_header_bytes)",
            limits.max_header_bytes
        )));
    }
    Head::Read
}

fn too_large(why: &str) -> ProxyError {
    ProxyError::Refused(Refusal::new(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        why.to_string(),
    ))
}

/// Reads the body under `timeout` (408 when it does not arrive in time).
pub(super) async fn with_body_deadline<T>(
    timeout: Duration,
    read: impl std::future::Future<Output = Result<T, ProxyError>>,
) -> Result<T, ProxyError> {
    match tokio::time::timeout(timeout, read).await {
        Ok(result) => result,
        Err(_) => Err(ProxyError::Refused(Refusal::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body did not arrive within {timeout:?} (server.limits.body_timeout)"
            ),
        ))),
    }
}

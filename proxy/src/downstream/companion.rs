//! The companion link: a 2025-11-25 session beside a server's 2026-07-28 link, for the requests of
//! clients older than 2026-07-28.
//!
//! A server that speaks both revisions serves a 2026-07-28 request statelessly, and over Streamable
//! HTTP such a request has no back-channel: a tool written the classic way (it sends
//! `sampling/createMessage` or `elicitation/create` while it runs) fails there, while it works for
//! a 2025-11-25 session. The gateway therefore sends an older client's requests over a session of
//! that client's own era, opened on first use and reopened after it ends. Only for HTTP servers: a
//! stdio server keeps its one child process (its pipe is a back-channel in both revisions).

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use tokio::sync::Mutex;
use ucp_config::DownstreamTransport;

use super::connect::{self, Era};
use super::{Downstream, Link};

#[derive(Default)]
pub(super) struct Companion {
    link: ArcSwapOption<Link>,
    /// Serialises opening, so concurrent first calls open one session.
    opening: Mutex<()>,
}

/// The companion link of `ds`, opened if need be; `None` for stdio servers or when it cannot open
/// (the caller then uses the server's own link).
pub(super) async fn for_legacy_client(ds: &Arc<Downstream>) -> Option<Arc<Link>> {
    if !matches!(ds.config.transport, DownstreamTransport::Http { .. }) {
        return None;
    }
    if let Some(link) = ds.companion.link.load_full().filter(|l| !l.is_gone()) {
        return Some(link);
    }
    let _opening = ds.companion.opening.lock().await;
    if let Some(link) = ds.companion.link.load_full().filter(|l| !l.is_gone()) {
        return Some(link);
    }
    let running = match connect::connect(ds, Era::Legacy).await {
        Ok(running) => running,
        Err(e) => {
            tracing::warn!(server = %ds.name, error = %e, "the 2025-11-25 companion session did not open; using the server's own link");
            return None;
        }
    };
    let link = Arc::new(Link::new(&running, ds.name.clone()));
    ds.companion.link.store(Some(link.clone()));
    tracing::info!(server = %ds.name, "2025-11-25 companion session opened for older clients");
    let (ds_weak, held) = (Arc::downgrade(ds), link.clone());
    let stop = ds.stop.clone();
    tokio::spawn(async move {
        let cancel = running.cancellation_token();
        tokio::select! {
            _ = running.waiting() => {}
            _ = stop.cancelled() => cancel.cancel(),
        }
        held.end();
        if let Some(ds) = ds_weak.upgrade() {
            ds.companion.link.store(None);
        }
    });
    Some(link)
}

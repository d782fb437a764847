//! A live connection to one downstream server, and the loop that keeps its listing current.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rmcp::RoleClient;
use rmcp::service::{Peer, ServiceError};
use tokio_util::sync::CancellationToken;

use super::connect::Running;
use super::{Downstream, DownstreamPool, LinkState};
use crate::catalog::ServerListing;
use crate::error::ProxyError;

/// A connected, initialized downstream. Cloned out of the pool by each call.
pub struct Link {
    pub peer: Peer<RoleClient>,
    server: Arc<str>,
    /// Cancelled the moment the connection ends, so calls in flight fail at once.
    gone: CancellationToken,
}

impl Link {
    /// Runs one request with the server's timeout; fails at once if the connection ends meanwhile.
    pub async fn guard<T>(
        &self,
        timeout: Duration,
        request: impl Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, ProxyError> {
        tokio::select! {
            result = tokio::time::timeout(timeout, request) => match result {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(error)) => Err(self.map_error(error, timeout)),
                Err(_) => Err(ProxyError::Timeout { server: self.server.to_string(), seconds: timeout.as_secs_f64() }),
            },
            _ = self.gone.cancelled() => Err(ProxyError::Disconnected(self.server.to_string())),
        }
    }

    fn map_error(&self, error: ServiceError, timeout: Duration) -> ProxyError {
        let server = self.server.to_string();
        match error {
            ServiceError::McpError(e) => ProxyError::Remote(e),
            ServiceError::TransportClosed => ProxyError::Disconnected(server),
            ServiceError::Timeout { .. } => ProxyError::Timeout {
                server,
                seconds: timeout.as_secs_f64(),
            },
            other => ProxyError::Downstream {
                server,
                message: other.to_string(),
            },
        }
    }
}

/// Publishes a fresh connection, keeps its listing current, and returns why it ended.
pub(super) async fn serve_link(pool: &DownstreamPool, ds: &Downstream, running: Running) -> String {
    let peer = running.peer().clone();
    let cancel = running.cancellation_token();
    let mut quit = tokio::spawn(running.waiting());
    let link = Arc::new(Link {
        peer: peer.clone(),
        server: ds.name.clone(),
        gone: CancellationToken::new(),
    });
    let first = tokio::select! {
        listing = fetch_listing(&link, ds.config.timeout) => listing,
        _ = &mut quit => Err(ProxyError::Disconnected(ds.name.to_string())),
    };
    let reason = match first {
        Err(e) => {
            cancel.cancel();
            format!("listing failed: {e}")
        }
        Ok(listing) => {
            tracing::info!(server = %ds.name, tools = listing.tools.len(), prompts = listing.prompts.len(),
                resources = listing.resources.len(), "downstream connected");
            ds.listing.store(Arc::new(listing));
            ds.link.store(Some(link.clone()));
            ds.state.store(Arc::new(LinkState::Connected));
            pool.announce_change();
            loop {
                tokio::select! {
                    ended = &mut quit => break match ended {
                        Ok(quit) => format!("connection closed ({quit:?})"),
                        Err(e) => format!("connection task failed: {e}"),
                    },
                    _ = ds.resync.notified() => match fetch_listing(&link, ds.config.timeout).await {
                        Ok(listing) => {
                            tracing::info!(server = %ds.name, tools = listing.tools.len(), "downstream re-synced");
                            ds.listing.store(Arc::new(listing));
                            pool.announce_change();
                        }
                        Err(e) => tracing::warn!(server = %ds.name, error = %e, "re-sync failed; keeping the previous listing"),
                    },
                    _ = ds.stop.cancelled() => {
                        cancel.cancel();
                        let _ = quit.await;
                        break "stopped".to_string();
                    }
                }
            }
        }
    };
    link.gone.cancel();
    ds.link.store(None);
    ds.listing.store(Arc::new(ServerListing::default()));
    reason
}

/// Lists everything the server's capabilities say it has. Listing is idempotent, so it may retry.
async fn fetch_listing(link: &Link, timeout: Duration) -> Result<ServerListing, ProxyError> {
    let caps = link
        .peer
        .peer_info()
        .map(|info| info.capabilities.clone())
        .unwrap_or_default();
    let peer = &link.peer;
    let mut listing = ServerListing::default();
    if caps.tools.is_some() {
        listing.tools = link.guard(timeout, peer.list_all_tools()).await?;
    }
    if caps.prompts.is_some() {
        listing.prompts = link.guard(timeout, peer.list_all_prompts()).await?;
    }
    if caps.resources.is_some() {
        listing.resources = link.guard(timeout, peer.list_all_resources()).await?;
        // Templates are optional even for servers with resources.
        listing.resource_templates = link
            .guard(timeout, peer.list_all_resource_templates())
            .await
            .unwrap_or_default();
    }
    Ok(listing)
}

//! A live connection to one downstream server, and the loop that keeps its listing current.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

use rmcp::RoleClient;
use rmcp::model::{
    CancelledNotificationParam, ClientRequest, RequestMetaObject, ServerNotification, ServerResult,
    SubscribeRequestParams, SubscriptionFilter, UnsubscribeRequestParams,
};
use rmcp::service::{Peer, PeerRequestOptions, ServiceError, Subscription};
use tokio_util::sync::CancellationToken;

use super::connect::Running;
use super::{Downstream, DownstreamPool, LinkState};
use crate::catalog::ServerListing;
use crate::error::ProxyError;
use crate::relay::{ClientCall, InFlight};

/// A connected, initialized downstream. Cloned out of the pool by each call.
pub struct Link {
    pub peer: Peer<RoleClient>,
    server: Arc<str>,
    /// Cancelled the moment the connection ends, so calls in flight fail at once.
    gone: CancellationToken,
    /// The client calls in flight on this connection, for relaying back to their clients.
    inflight: Arc<InFlight>,
    /// Where a resource update goes (its subscribers), for updates that arrive on a
    /// `subscriptions/listen` stream rather than through the client handler.
    downstream: Weak<Downstream>,
    /// 2026-07-28: one `subscriptions/listen` stream per subscribed URI, ended by its token.
    watches: parking_lot::Mutex<HashMap<String, CancellationToken>>,
}

/// The client side of a forwarded request: who asked, and the signal that it gave up.
pub struct Forward {
    pub call: Arc<ClientCall>,
    /// Cancelled when the client cancels its request (`notifications/cancelled`).
    pub cancelled: CancellationToken,
    /// The client speaks a revision before 2026-07-28, so input-required results are driven by
    /// the gateway (it asks the client the server's questions) instead of handed to it.
    pub legacy_client: bool,
}

impl Link {
    /// The link of a started connection (its handler's in-flight table included).
    pub(super) fn new(running: &Running, server: Arc<str>) -> Link {
        Link {
            peer: running.peer().clone(),
            server,
            gone: CancellationToken::new(),
            inflight: running.service().inflight.clone(),
            downstream: running.service().downstream.clone(),
            watches: Default::default(),
        }
    }

    pub(super) fn is_gone(&self) -> bool {
        self.gone.is_cancelled() || self.peer.is_transport_closed()
    }

    /// The connection ended: calls in flight fail at once.
    pub(super) fn end(&self) {
        self.gone.cancel();
    }
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

    /// Sends one request on behalf of a client call: registered for relaying while in flight,
    /// cancelled downstream when the client cancels or the timeout passes.
    pub async fn forward(
        &self,
        request: ClientRequest,
        timeout: Duration,
        client: Option<&Forward>,
    ) -> Result<ServerResult, ProxyError> {
        // The client's `_meta` stays on its own hop (rmcp gives this connection's progress token
        // and protocol version), except that a 2026-07-28 server learns per request what the
        // client can answer, so it asks only for input the client can give.
        let mut options = PeerRequestOptions::no_options();
        if self.modern()
            && let Some(call) = client.map(|c| &c.call)
        {
            let mut meta = RequestMetaObject::new();
            if let Some(caps) = call.capabilities.clone() {
                meta.set_client_capabilities(caps);
            }
            // 2026-07-28 has no `logging/setLevel`: the level rides on each request.
            #[allow(deprecated, reason = "log levels are relayed for every revision")]
            if let Some(level) = call.log_level {
                meta.set_log_level(level);
            }
            options = options.with_meta(meta);
        }
        let handle = self
            .peer
            .send_cancellable_request(request, options)
            .await
            .map_err(|e| self.map_error(e, timeout))?;
        let _registered = client.map(|c| {
            self.inflight.register(
                handle.id.clone(),
                handle.progress_token.clone(),
                c.call.clone(),
            )
        });
        let id = handle.id.clone();
        let never = CancellationToken::new();
        let cancelled = client.map_or(&never, |c| &c.cancelled);
        let outcome = tokio::select! {
            result = tokio::time::timeout(timeout, handle.await_response()) => match result {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(error)) => return Err(self.map_error(error, timeout)),
                Err(_) => Err(ProxyError::Timeout { server: self.server.to_string(), seconds: timeout.as_secs_f64() }),
            },
            _ = self.gone.cancelled() => return Err(ProxyError::Disconnected(self.server.to_string())),
            _ = cancelled.cancelled() => Err(ProxyError::Cancelled),
        };
        let reason = match &outcome {
            Err(ProxyError::Cancelled) => "the client cancelled its request",
            _ => "the gateway's timeout passed",
        };
        let _ = self
            .peer
            .notify_cancelled(CancelledNotificationParam::new(
                Some(id),
                Some(reason.to_string()),
            ))
            .await;
        outcome
    }

    /// Whether this connection speaks 2026-07-28 (per-request metadata, no session).
    pub fn modern(&self) -> bool {
        self.peer
            .peer_info()
            .is_some_and(|info| info.protocol_version.as_str() >= "2026-07-28")
    }

    /// Subscribes to updates of `uri` (after a reconnect, again for every subscribed URI): with
    /// `resources/subscribe` before 2026-07-28, with a `subscriptions/listen` stream naming the URI
    /// on a 2026-07-28 link, which has no `resources/subscribe`.
    pub async fn subscribe(&self, uri: &str, timeout: Duration) -> Result<(), ProxyError> {
        if self.modern() {
            return self.watch(uri, timeout).await;
        }
        #[allow(
            deprecated,
            reason = "resources/subscribe is how pre-2026-07-28 servers announce updates"
        )]
        let request = self
            .peer
            .subscribe(SubscribeRequestParams::new(uri.to_string()));
        Box::pin(self.guard(timeout, request)).await
    }

    /// Ends the subscription to `uri` (the last subscriber left).
    pub async fn unsubscribe(&self, uri: &str, timeout: Duration) -> Result<(), ProxyError> {
        if self.modern() {
            if let Some(stop) = self.watches.lock().remove(uri) {
                stop.cancel();
            }
            return Ok(());
        }
        #[allow(deprecated, reason = "the counterpart of resources/subscribe")]
        let request = self
            .peer
            .unsubscribe(UnsubscribeRequestParams::new(uri.to_string()));
        Box::pin(self.guard(timeout, request)).await
    }

    /// A `subscriptions/listen` stream for one URI whose updates go to the URI's subscribers until
    /// it is unsubscribed or the connection ends.
    async fn watch(&self, uri: &str, timeout: Duration) -> Result<(), ProxyError> {
        let filter = SubscriptionFilter::builder()
            .resource_subscriptions([uri])
            .build();
        let mut stream = Box::pin(self.guard(timeout, self.peer.listen(filter))).await?;
        let stop = CancellationToken::new();
        if let Some(old) = self.watches.lock().insert(uri.to_string(), stop.clone()) {
            old.cancel();
        }
        let (downstream, gone, server) = (
            self.downstream.clone(),
            self.gone.clone(),
            self.server.clone(),
        );
        tokio::spawn(async move {
            loop {
                let update = tokio::select! {
                    next = stream.next() => next,
                    _ = stop.cancelled() => break,
                    _ = gone.cancelled() => break,
                };
                match update {
                    Ok(Some(ServerNotification::ResourceUpdatedNotification(n))) => {
                        let Some(ds) = downstream.upgrade() else {
                            break;
                        };
                        for subscriber in ds.subscribers_of(&n.params.uri) {
                            subscriber.updated(n.params.clone()).await;
                        }
                    }
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => {
                        tracing::debug!(%server, "a resource subscription stream ended");
                        break;
                    }
                }
            }
        });
        Ok(())
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
    let inflight = running.service().inflight.clone();
    let downstream = running.service().downstream.clone();
    let cancel = running.cancellation_token();
    let mut quit = tokio::spawn(running.waiting());
    let link = Arc::new(Link {
        peer: peer.clone(),
        server: ds.name.clone(),
        gone: CancellationToken::new(),
        inflight,
        downstream,
        watches: Default::default(),
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
            for uri in ds.subscribed_uris() {
                if let Err(e) = link.subscribe(&uri, ds.config.timeout).await {
                    tracing::warn!(server = %ds.name, %uri, error = %e, "re-subscribing after a reconnect failed");
                }
            }
            // A 2026-07-28 server sends list changes only on a `subscriptions/listen` stream.
            let mut changes = listen_for_changes(&link).await;
            loop {
                tokio::select! {
                    change = next_change(&mut changes) => match change {
                        Ok(Some(_)) => ds.resync.notify_one(),
                        Ok(None) | Err(_) => {
                            tracing::debug!(server = %ds.name, "list-change subscription ended");
                            changes = None;
                        }
                    },
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

/// Opens a list-change subscription on a 2026-07-28 connection whose server announces changes.
async fn listen_for_changes(link: &Link) -> Option<Subscription> {
    if !link.modern() {
        return None;
    }
    let caps = link.peer.peer_info().map(|i| i.capabilities.clone())?;
    let mut filter = SubscriptionFilter::builder();
    let mut any = false;
    if caps
        .tools
        .as_ref()
        .is_some_and(|t| t.list_changed == Some(true))
    {
        filter = filter.tools_list_changed();
        any = true;
    }
    if caps
        .prompts
        .as_ref()
        .is_some_and(|p| p.list_changed == Some(true))
    {
        filter = filter.prompts_list_changed();
        any = true;
    }
    if caps
        .resources
        .as_ref()
        .is_some_and(|r| r.list_changed == Some(true))
    {
        filter = filter.resources_list_changed();
        any = true;
    }
    if !any {
        return None;
    }
    match link.peer.listen(filter.build()).await {
        Ok(subscription) => Some(subscription),
        Err(e) => {
            tracing::warn!(server = %link.server, error = %e, "subscriptions/listen failed; list changes will not be seen");
            None
        }
    }
}

/// The next notification of a list-change subscription; never, without one.
async fn next_change(
    changes: &mut Option<Subscription>,
) -> Result<Option<rmcp::model::ServerNotification>, ServiceError> {
    match changes {
        Some(subscription) => subscription.next().await,
        None => std::future::pending().await,
    }
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

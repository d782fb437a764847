//! Downstream connections: one long-lived, initialized MCP client per configured server, shared by
//! every client of the gateway, supervised and respawned with capped exponential backoff.
//!
//! Each server has a supervisor task. It connects (spawning a stdio child or opening a Streamable HTTP
//! session), fetches the server's listing, publishes both, then waits for the connection to end or for
//! the server to say its lists changed. A crashed server is reconnected forever, with a delay that
//! doubles up to a cap; calls in flight when it dies fail at once with a JSON-RPC error.
//!
//! The set of servers can change while the gateway runs (`reconcile`): added servers start,
//! removed ones stop once their calls in flight are answered, a changed one is replaced by a new
//! connection that takes over once it is up; the others are not touched.

#![allow(
    deprecated,
    reason = "sampling, roots and logging are deprecated by SEP-2577 but live in every pre-2026-07-28 session, which a gateway must relay"
)]

mod breaker;
mod child_env;
mod companion;
mod connect;
mod fast_parse;
mod link;
mod listeners;
mod ordered;
mod reconcile;
mod stderr;
mod stdio_child;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, ArcSwapOption};
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResponse, ClientRequest, CompleteRequest,
    CompleteRequestParams, CompleteResult, GetPromptRequest, GetPromptRequestParams,
    GetPromptResponse, LoggingLevel, ReadResourceRequest, ReadResourceRequestParams,
    ReadResourceResponse, ServerResult, SetLevelRequestParams,
};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use ucp_config::DownstreamConfig;

use crate::catalog::ServerListing;
use crate::error::ProxyError;
use crate::relay::{ClientCall, Subscriber};
use crate::session::SessionState;
pub use breaker::Circuit;
pub use link::{Forward, Link};
pub use reconcile::Reconciled;

/// How a downstream server is doing, as `/health` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    Connected,
    Disconnected { reason: String },
    Disabled,
}

impl LinkState {
    /// The word `/health` shows for this state.
    pub fn as_str(&self) -> &'static str {
        match self {
            LinkState::Connecting => "connecting",
            LinkState::Connected => "connected",
            LinkState::Disconnected { .. } => "disconnected",
            LinkState::Disabled => "disabled",
        }
    }
}

/// First and largest delay between two connection attempts.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    /// A connection that lived this long resets the delay to `initial`.
    pub stable_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(30),
            stable_after: Duration::from_secs(30),
        }
    }
}

/// One downstream server: its config, its current link (if connected) and its last listing.
pub struct Downstream {
    pub name: Arc<str>,
    pub config: DownstreamConfig,
    link: ArcSwapOption<Link>,
    /// A 2025-11-25 session beside a 2026-07-28 `link` of an HTTP server, opened on first use by
    /// an older client (see `companion`).
    companion: companion::Companion,
    breaker: breaker::Breaker,
    state: ArcSwap<LinkState>,
    listing: ArcSwap<ServerListing>,
    resync: Notify,
    /// Connections made so far (1 after the first success); restarts = connects - 1.
    connects: AtomicU64,
    /// Client requests in flight to this server (a replaced or removed server drains them).
    active: AtomicUsize,
    /// Stops this server's supervisor (a child of the pool's shutdown).
    stop: CancellationToken,
    listeners: listeners::Listeners,
}

impl Downstream {
    fn new(config: DownstreamConfig, stop: CancellationToken) -> Self {
        let state = if config.enabled {
            LinkState::Connecting
        } else {
            LinkState::Disabled
        };
        Downstream {
            name: Arc::from(config.name.as_str()),
            config,
            link: ArcSwapOption::empty(),
            companion: Default::default(),
            breaker: Default::default(),
            state: ArcSwap::from_pointee(state),
            listing: ArcSwap::from_pointee(ServerListing::default()),
            resync: Notify::new(),
            connects: AtomicU64::new(0),
            active: AtomicUsize::new(0),
            stop,
            listeners: Default::default(),
        }
    }

    pub fn state(&self) -> LinkState {
        LinkState::clone(&self.state.load())
    }

    /// The server's circuit breaker, as `/health` shows it.
    pub fn circuit(&self) -> Circuit {
        self.breaker.circuit()
    }

    pub fn restarts(&self) -> u64 {
        self.connects.load(Ordering::Relaxed).saturating_sub(1)
    }

    fn subscribed_uris(&self) -> Vec<String> {
        self.listeners.uris()
    }

    fn subscribers_of(&self, uri: &str) -> Vec<Arc<Subscriber>> {
        self.listeners.subscribers_of(uri)
    }

    fn log_listeners(&self) -> Vec<Arc<ClientCall>> {
        self.listeners.log_listeners()
    }

    fn link(&self) -> Result<Arc<Link>, ProxyError> {
        self.link
            .load_full()
            .ok_or_else(|| ProxyError::NotConnected(self.name.to_string()))
    }
}

type Servers = BTreeMap<Arc<str>, Arc<Downstream>>;

/// Every configured downstream server, and a watch that ticks whenever any listing changes.
pub struct DownstreamPool {
    servers: ArcSwap<Servers>,
    changed_tx: watch::Sender<u64>,
    shutdown: CancellationToken,
    backoff: Backoff,
    /// Serialises `reconcile` calls and replacements (the server map is read lock-free).
    reconciling: parking_lot::Mutex<()>,
    /// Replacements of changed servers, connecting beside the servers they replace.
    pending: parking_lot::Mutex<Servers>,
}

impl DownstreamPool {
    /// Starts a supervisor per enabled server. Returns at once: servers come up in the background.
    pub fn start(configs: &[DownstreamConfig], backoff: Backoff) -> Arc<DownstreamPool> {
        let (changed_tx, _) = watch::channel(0);
        let pool = Arc::new(DownstreamPool {
            servers: ArcSwap::from_pointee(BTreeMap::new()),
            changed_tx,
            shutdown: CancellationToken::new(),
            backoff,
            reconciling: parking_lot::Mutex::new(()),
            pending: parking_lot::Mutex::new(BTreeMap::new()),
        });
        pool.reconcile(configs);
        pool
    }

    /// A receiver that sees a new value whenever any server's listing or connection changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed_tx.subscribe()
    }

    fn announce_change(&self) {
        self.changed_tx.send_modify(|n| *n += 1);
    }

    /// The servers configured now, by name.
    pub fn servers(&self) -> Arc<BTreeMap<Arc<str>, Arc<Downstream>>> {
        self.servers.load_full()
    }

    pub fn get(&self, name: &str) -> Option<Arc<Downstream>> {
        self.servers.load().get(name).cloned()
    }

    /// The listings of the servers that are connected now.
    pub fn listings(&self) -> BTreeMap<Arc<str>, Arc<ServerListing>> {
        self.servers
            .load()
            .iter()
            .filter(|(_, s)| s.link.load().is_some())
            .map(|(name, s)| (name.clone(), s.listing.load_full()))
            .collect()
    }

    /// Waits until every enabled server has left `Connecting` at least once, or `limit` passes.
    pub async fn settle(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self
                .servers
                .load()
                .values()
                .all(|s| s.state() != LinkState::Connecting)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn server(&self, name: &str) -> Result<Arc<Downstream>, ProxyError> {
        self.get(name)
            .ok_or_else(|| ProxyError::NotConnected(name.to_string()))
    }

    /// `idempotent`: the tool is annotated read-only or idempotent, so a call whose connection
    /// dies may be sent again (see `forward`).
    pub async fn call_tool(
        &self,
        server: &str,
        params: CallToolRequestParams,
        client: Option<&Forward>,
        idempotent: bool,
    ) -> Result<CallToolResponse, ProxyError> {
        let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));
        match Box::pin(self.forward(server, request, client, idempotent)).await? {
            ServerResult::CallToolResult(result) => Ok(CallToolResponse::Complete(result)),
            ServerResult::InputRequiredResult(result) => {
                Ok(CallToolResponse::InputRequired(result))
            }
            ServerResult::CreateTaskResult(result) => Ok(CallToolResponse::Task(result)),
            other => Err(unexpected(server, "tools/call", &other)),
        }
    }

    pub async fn get_prompt(
        &self,
        server: &str,
        params: GetPromptRequestParams,
        client: Option<&Forward>,
    ) -> Result<GetPromptResponse, ProxyError> {
        let request = ClientRequest::GetPromptRequest(GetPromptRequest::new(params));
        match Box::pin(self.forward(server, request, client, true)).await? {
            ServerResult::GetPromptResult(result) => Ok(GetPromptResponse::Complete(result)),
            ServerResult::InputRequiredResult(result) => {
                Ok(GetPromptResponse::InputRequired(result))
            }
            other => Err(unexpected(server, "prompts/get", &other)),
        }
    }

    pub async fn read_resource(
        &self,
        server: &str,
        params: ReadResourceRequestParams,
        client: Option<&Forward>,
    ) -> Result<ReadResourceResponse, ProxyError> {
        let request = ClientRequest::ReadResourceRequest(ReadResourceRequest::new(params));
        match Box::pin(self.forward(server, request, client, true)).await? {
            ServerResult::ReadResourceResult(result) => Ok(ReadResourceResponse::Complete(result)),
            ServerResult::InputRequiredResult(result) => {
                Ok(ReadResourceResponse::InputRequired(result))
            }
            other => Err(unexpected(server, "resources/read", &other)),
        }
    }

    pub async fn complete(
        &self,
        server: &str,
        params: CompleteRequestParams,
        client: Option<&Forward>,
    ) -> Result<CompleteResult, ProxyError> {
        let request = ClientRequest::CompleteRequest(CompleteRequest::new(params));
        match Box::pin(self.forward(server, request, client, false)).await? {
            ServerResult::CompleteResult(result) => Ok(result),
            other => Err(unexpected(server, "completion/complete", &other)),
        }
    }

    /// Subscribes a client session to a resource of `server` (the downstream is told once).
    pub async fn subscribe_resource(
        &self,
        server: &str,
        uri: &str,
        subscriber: Subscriber,
    ) -> Result<(), ProxyError> {
        let ds = self.server(server)?;
        // Over HTTP the 2025-11-25 companion session takes `resources/subscribe`; a 2026-07-28
        // stdio link subscribes with `subscriptions/listen` (`Link::subscribe`).
        let link = self.link_for(&ds, true).await?;
        let session = subscriber.session.clone();
        if ds.listeners.subscribe(uri, subscriber)
            && let Err(e) = Box::pin(link.subscribe(uri, ds.config.timeout)).await
        {
            ds.listeners.unsubscribe(uri, &session);
            return Err(e);
        }
        Ok(())
    }

    /// Ends a session's subscription; the downstream is told when nobody is left.
    pub async fn unsubscribe_resource(
        &self,
        server: &str,
        uri: &str,
        session: &Weak<SessionState>,
    ) -> Result<(), ProxyError> {
        let ds = self.server(server)?;
        if ds.listeners.unsubscribe(uri, session) {
            let link = self.link_for(&ds, true).await?;
            Box::pin(link.unsubscribe(uri, ds.config.timeout)).await?;
        }
        Ok(())
    }

    /// `logging/setLevel` from a client session: applied to every connected server that logs, and
    /// the session receives their log messages from now on. Fails only if every server refused.
    pub async fn set_level(
        &self,
        level: LoggingLevel,
        listener: Arc<ClientCall>,
    ) -> Result<(), ProxyError> {
        let mut failures = Vec::new();
        for ds in self.servers().values() {
            let Ok(link) = ds.link() else { continue };
            let logs = link
                .peer
                .peer_info()
                .is_some_and(|info| info.capabilities.logging.is_some());
            ds.listeners.add_log_listener(listener.clone());
            // A 2026-07-28 server takes the level from each request's `_meta` instead.
            if !logs || link.modern() {
                continue;
            }
            let request = link.peer.set_level(SetLevelRequestParams::new(level));
            if let Err(e) = Box::pin(link.guard(ds.config.timeout, request)).await {
                tracing::debug!(server = %ds.name, error = %e, "logging/setLevel refused");
                failures.push(e);
            }
        }
        match failures.pop() {
            Some(e) if failures.len() + 1 == self.servers().len() => Err(e),
            _ => Ok(()),
        }
    }

    /// Sends a request for a client: refused at once while the server's circuit is open; an
    /// `idempotent` request whose connection turns out dead is sent once more on the new one.
    /// Callers box this future: it holds rmcp's request futures (~5 KB), which unboxed would be
    /// copied into every enclosing future, the one rmcp spawns per client request included (the
    /// same goes for every rmcp request future awaited in this file).
    async fn forward(
        &self,
        server: &str,
        request: ClientRequest,
        client: Option<&Forward>,
        idempotent: bool,
    ) -> Result<ServerResult, ProxyError> {
        let ds = self.server(server)?;
        let _active = Active::enter(&ds);
        ds.breaker.admit().map_err(|left| ProxyError::CircuitOpen {
            server: server.to_string(),
            seconds: left.as_secs_f64(),
        })?;
        let legacy = client.is_some_and(|c| c.legacy_client);
        let link = self.link_for(&ds, legacy).await?;
        let timeout = ds.config.timeout;
        let mut result = link.forward(request.clone(), timeout, client).await;
        if idempotent
            && matches!(result, Err(ProxyError::Disconnected(_)))
            && let Some(fresh) = self.next_link(&ds, &link, legacy, timeout).await
        {
            tracing::info!(server = %ds.name, "connection died under an idempotent request: sent again on the new one");
            result = fresh.forward(request, timeout, client).await;
        }
        match &result {
            Ok(_) | Err(ProxyError::Remote(_)) => ds.breaker.success(),
            Err(
                ProxyError::Timeout { .. }
                | ProxyError::Disconnected(_)
                | ProxyError::Downstream { .. },
            ) => {
                if ds.breaker.failure() {
                    tracing::warn!(server = %ds.name, after = breaker::OPEN_AFTER, cool_down_s = breaker::COOL_DOWN.as_secs(),
                        "circuit opened: calls to this server fail at once until a probe succeeds");
                }
            }
            Err(_) => {}
        }
        result
    }

    /// The connection that replaces `dead`, once the supervisor has it (within `limit`).
    async fn next_link(
        &self,
        ds: &Arc<Downstream>,
        dead: &Arc<Link>,
        legacy: bool,
        limit: Duration,
    ) -> Option<Arc<Link>> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(25)).await;
            if let Ok(link) = self.link_for(ds, legacy).await
                && !Arc::ptr_eq(&link, dead)
                && !link.is_gone()
            {
                return Some(link);
            }
        }
        None
    }

    /// The server's link, or for a client older than 2026-07-28 its companion session when the
    /// server's link speaks 2026-07-28 (see `companion`).
    async fn link_for(
        &self,
        ds: &Arc<Downstream>,
        legacy_client: bool,
    ) -> Result<Arc<Link>, ProxyError> {
        let link = ds.link()?;
        if legacy_client
            && link.modern()
            // Boxed: opening a companion session is a large future, and rare.
            && let Some(companion) = Box::pin(companion::for_legacy_client(ds)).await
        {
            return Ok(companion);
        }
        Ok(link)
    }

    /// Stops every supervisor and closes every connection (stdio children are killed).
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }
}

impl Drop for DownstreamPool {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// One request in flight to a server, counted while it lives.
struct Active<'a>(&'a Downstream);

impl<'a> Active<'a> {
    fn enter(ds: &'a Downstream) -> Self {
        ds.active.fetch_add(1, Ordering::AcqRel);
        Active(ds)
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

fn unexpected(server: &str, method: &str, result: &ServerResult) -> ProxyError {
    ProxyError::Downstream {
        server: server.to_string(),
        message: format!("answered {method} with an unexpected result: {result:?}"),
    }
}

/// The life of one server: connect, publish, wait, and after a failure try again, forever.
async fn supervise(pool: Arc<DownstreamPool>, ds: Arc<Downstream>, backoff: Backoff) {
    let mut delay = backoff.initial;
    loop {
        ds.state.store(Arc::new(LinkState::Connecting));
        let attempt = tokio::select! {
            r = connect::connect(&ds, connect::Era::Newest) => r,
            _ = ds.stop.cancelled() => return,
        };
        let reason = match attempt {
            Ok(running) => {
                let up_since = Instant::now();
                ds.connects.fetch_add(1, Ordering::Relaxed);
                let reason = link::serve_link(&pool, &ds, running).await;
                if up_since.elapsed() >= backoff.stable_after {
                    delay = backoff.initial;
                }
                reason
            }
            Err(error) => error.to_string(),
        };
        if ds.stop.is_cancelled() {
            return;
        }
        tracing::warn!(server = %ds.name, %reason, retry_in_ms = delay.as_millis() as u64, "downstream disconnected");
        ds.state.store(Arc::new(LinkState::Disconnected { reason }));
        pool.announce_change();
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = ds.stop.cancelled() => return,
        }
        delay = (delay * 2).min(backoff.max);
    }
}

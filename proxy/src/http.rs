//! The Streamable HTTP front on pingora-core: `/mcp` for MCP clients, `/v1/*` for agent
//! frameworks, plus the operator endpoints that `ops` supplies (`/health`, `/metrics`).
//!
//! pingora owns the sockets, TLS, HTTP/1.1 and h2 framing and keep-alive. rmcp's
//! `StreamableHttpService` owns the MCP transport semantics (sessions, SSE, protocol headers). In
//! between, every request starts here: the front classifies it, reads a size-capped body, checks
//! the JSON-RPC shape itself (so malformed input gets a JSON-RPC error, not a bare status), and
//! runs the admission stages on an [`Exchange`]. An admitted MCP message goes to rmcp with the
//! exchange in its extensions (the handler continues it); everything else is answered here. The
//! response stages run for every request: here, or in the handler that took the exchange over.

mod bridge;
mod conn;
mod listen;
mod owners;
mod rest;
pub mod tls;
mod ui;
mod write;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use http::{Method as HttpMethod, StatusCode, header};
use http_body_util::Full;
use pingora_core::apps::{HttpPersistentSettings, HttpServerApp, ReusedHttpStream};
use pingora_core::protocols::http::ServerSession;
use pingora_core::server::ShutdownWatch;
pub use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::Value;

use crate::error::ProxyError;
use crate::exchange::{Credential, Exchange, Method, Outcome, Transport};
use crate::gateway::handoff::{Admitted, HttpHandoff};
use crate::gateway::{Gateway, GatewayShared};
use crate::jsonrpc::check_message;
use crate::pipeline::Stage;
use crate::session::{CALLER, RmcpSessions};
use crate::snapshot::Snapshot;
pub use listen::{HttpListener, bind};
use owners::SessionOwners;
pub use write::Plain;
use write::{read_body, write_error, write_page, write_plain};

/// Builds `/health` and `/metrics` answers; supplied by `ops`.
pub trait OpsEndpoints: Send + Sync + 'static {
    fn health(&self) -> Plain;
    fn metrics(&self) -> Plain;
}

impl<T: OpsEndpoints> OpsEndpoints for Arc<T> {
    fn health(&self) -> Plain {
        (**self).health()
    }

    fn metrics(&self) -> Plain {
        (**self).metrics()
    }
}

/// A front's settings. A reload replaces them through [`FrontControl`]; a request keeps the ones
/// it started with.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub max_body_bytes: usize,
    /// Exact origins (`scheme://host[:port]`) allowed besides loopback ones.
    pub allowed_origins: Vec<String>,
    /// Host header values rmcp accepts; empty disables the check (for a public bind behind a proxy).
    pub allowed_hosts: Vec<String>,
    /// Where `/metrics` is served on this listener; `None`: not here (disabled, or on its own port).
    pub metrics_path: Option<String>,
    /// Serve only `/health` and `/metrics` (the separate metrics listener, `server.metrics.port`).
    pub ops_only: bool,
    /// `/health` and `/metrics` pass the admission stages too (`server.admit_ops_endpoints`).
    pub admit_ops_endpoints: bool,
    /// Live sessions overall and per identity (`session.max_sessions[_per_identity]`).
    pub max_sessions: usize,
    pub max_sessions_per_identity: usize,
    /// Connection and request-head limits (`server.limits`).
    pub limits: ucp_config::ConnectionLimits,
}

/// The pingora app serving one gateway.
pub struct HttpFront<S, O> {
    mcp: StreamableHttpService<Gateway<S>, LocalSessionManager>,
    shared: Arc<GatewayShared<S>>,
    ops: O,
    control: Arc<FrontControl>,
    /// Which identity opened each session: another one presenting its id gets 404.
    owners: SessionOwners,
}

/// What a reload changes in a running front: its settings, and the connection caps they carry.
pub struct FrontControl {
    settings: arc_swap::ArcSwap<HttpSettings>,
    /// Open connections, overall and per peer.
    slots: Arc<conn::ConnectionSlots>,
    /// Requests being served now (the drain waits for them).
    in_flight: AtomicUsize,
}

impl FrontControl {
    /// New requests use `settings`; open connections count against the new caps at once.
    pub fn update(&self, settings: HttpSettings) {
        self.slots.set_caps(&settings.limits);
        self.settings.store(Arc::new(settings));
    }

    pub fn settings(&self) -> Arc<HttpSettings> {
        self.settings.load_full()
    }

    /// Requests this front is serving now, streams included.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Waits until no request is in flight, or `limit` passes; returns how many are left.
    pub async fn drained(&self, limit: std::time::Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        while self.in_flight() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        self.in_flight()
    }
}

/// One request counted in flight while it lives.
struct Serving<'a>(&'a AtomicUsize);

impl<'a> Serving<'a> {
    fn start(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Serving(count)
    }
}

impl Drop for Serving<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl<S: Stage, O: OpsEndpoints> HttpFront<S, O> {
    pub fn new(
        gateway: Gateway<S>,
        sessions: Arc<LocalSessionManager>,
        ops: O,
        settings: HttpSettings,
    ) -> Self {
        // The body cap and the Host check are this front's (they follow a reload, and the Host
        // check covers every route): rmcp gets bodies already read within the cap.
        let mut config = StreamableHttpServerConfig::default()
            .with_max_request_body_bytes(usize::MAX)
            .with_sse_keep_alive(Some(std::time::Duration::from_secs(15)))
            .disable_allowed_hosts();
        let shared = gateway.shared().clone();
        // rmcp stores each new session's `initialize` there and restores an id it does not hold
        // (after a restart, or opened on another instance) by replaying it.
        if let Some(store) = &shared.store {
            config.session_store = Some(Arc::new(RmcpSessions(store.clone())));
        }
        let owners = SessionOwners::new(sessions.clone());
        let control = Arc::new(FrontControl {
            slots: conn::ConnectionSlots::new(&settings.limits),
            settings: arc_swap::ArcSwap::from_pointee(settings),
            in_flight: AtomicUsize::new(0),
        });
        let mcp = StreamableHttpService::new(move || Ok(gateway.clone()), sessions, config);
        HttpFront {
            mcp,
            shared,
            ops,
            control,
            owners,
        }
    }

    /// Where a reload changes this front's settings (take it before the front starts serving).
    pub fn control(&self) -> Arc<FrontControl> {
        self.control.clone()
    }

    /// Host validation (DNS rebinding), on every route: the Host header (or the h2 authority),
    /// without its port, must be listed; an empty list checks nothing.
    fn host_allowed(
        settings: &HttpSettings,
        head: &pingora_http::RequestHeader,
    ) -> Result<(), ProxyError> {
        if settings.allowed_hosts.is_empty() {
            return Ok(());
        }
        let host = head
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| head.uri.authority().map(|a| a.as_str()))
            .unwrap_or("");
        let name = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None => host.rsplit_once(':').map_or(host, |(name, _)| name),
        };
        if settings
            .allowed_hosts
            .iter()
            .any(|h| h.trim_matches(['[', ']']).eq_ignore_ascii_case(name))
        {
            Ok(())
        } else {
            tracing::warn!(host, "rejected request for a foreign Host");
            Err(ProxyError::HostNotAllowed(host.to_string()))
        }
    }

    /// Origin validation (DNS rebinding): a browser origin must be loopback or listed.
    fn origin_check(
        settings: &HttpSettings,
        head: &pingora_http::RequestHeader,
    ) -> Result<(), ProxyError> {
        match head.headers.get(header::ORIGIN) {
            Some(origin) => {
                let origin = origin.to_str().unwrap_or("");
                if Self::origin_allowed(settings, origin) {
                    Ok(())
                } else {
                    tracing::warn!(%origin, "rejected request from a foreign origin");
                    Err(ProxyError::OriginNotAllowed(origin.to_string()))
                }
            }
            None => Ok(()),
        }
    }

    fn origin_allowed(settings: &HttpSettings, origin: &str) -> bool {
        if settings.allowed_origins.iter().any(|o| o == origin) {
            return true;
        }
        let host = origin
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(origin);
        let host = host.strip_prefix('[').map_or_else(
            || host.split(':').next().unwrap_or(host),
            |v6| v6.split(']').next().unwrap_or(v6),
        );
        matches!(host, "localhost" | "127.0.0.1" | "::1")
    }

    /// One request, from its head to its response stages.
    async fn handle(
        &self,
        session: &mut ServerSession,
        settings: &HttpSettings,
        shutdown: &ShutdownWatch,
    ) {
        let head = session.req_header();
        let method = classify(
            &head.method,
            head.uri.path(),
            settings.metrics_path.as_deref(),
        );
        // Host and Origin on every route, operator endpoints included: after DNS rebinding a web
        // page could otherwise read the catalog or write into a session.
        if let Err(error) =
            Self::host_allowed(settings, head).and_then(|()| Self::origin_check(settings, head))
        {
            let mut ex = Exchange::new(Transport::Http, method);
            ex.peer = session.client_addr().and_then(|a| a.as_inet()).copied();
            ex.answered(Outcome::Status(error.status()));
            write_error(session, method, &Value::Null, &error).await;
            self.shared.snapshot.load().pipeline.finish(&mut ex).await;
            return;
        }
        if settings.ops_only && !method.is_ops() {
            let error = ProxyError::NotFound(head.uri.path().to_string());
            write_error(session, Method::Unknown, &Value::Null, &error).await;
            return;
        }
        if method.is_ops() && !settings.admit_ops_endpoints {
            let plain = self.ops_answer(method);
            write_plain(session, plain).await;
            return;
        }
        // At start, until every server has listed its tools; /health and /metrics never wait.
        if !method.is_ops() && !self.shared.ready.is_open() {
            let limit = self.shared.snapshot.load().config.server.ready_timeout;
            self.shared.ready.wait(limit).await;
        }
        let snap = self.shared.snapshot.load_full();
        // While the operator page is off, its paths are unknown ones.
        let method = if method == Method::Ui && !snap.config.server.ui.enabled {
            Method::Unknown
        } else {
            method
        };
        if method == Method::ResourceMetadata {
            // Public by design (RFC 9728): a client reads it to learn where to get a token.
            let plain = rest::resource_metadata(&snap.config.server.auth);
            write_plain(session, plain).await;
            return;
        }
        let mut ex = Exchange::new(Transport::Http, method);
        // Only read (and copied) when a stage will judge it.
        if snap.config.server.auth.enabled {
            ex.credential = Credential::from_headers(&head.headers);
        }
        ex.peer = session.client_addr().and_then(|a| a.as_inet()).copied();
        ex.session_id = head
            .headers
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(Arc::from);
        if let Some(mut ex) = self.serve(session, settings, &snap, ex, shutdown).await {
            snap.pipeline.finish(&mut ex).await;
        }
    }

    /// Serves an exchange; returns it when it is still this front's to finish.
    async fn serve(
        &self,
        session: &mut ServerSession,
        settings: &HttpSettings,
        snap: &Arc<Snapshot<S>>,
        mut ex: Exchange,
        shutdown: &ShutdownWatch,
    ) -> Option<Exchange> {
        let is_mcp = matches!(
            ex.method,
            Method::McpOther | Method::McpStream | Method::McpDelete
        );
        let mut id = Value::Null;
        let body = match Self::read_and_check(session, settings, &mut ex, &mut id, is_mcp).await {
            Ok(body) => body,
            Err(error) => {
                return self.fail(session, ex, &id, error).await;
            }
        };
        if let Err(error) = snap.pipeline.admit(&mut ex).await {
            return self.fail(session, ex, &id, error).await;
        }
        let path = session.req_header().uri.path();
        let claimed = match ex.method {
            Method::SessionContext => rest::session_context_id(path),
            Method::SessionGet => rest::session_id_of(path),
            _ => ex.session_id.as_deref(),
        };
        // `None`: this process never saw the session opened (rmcp answers 404, or restores it
        // from the session store for its owner).
        let owned = claimed.map(|claimed| self.owners.may_use(claimed, &ex.identity));
        if owned == Some(Some(false)) {
            tracing::warn!(
                identity = ex.identity.as_str(),
                "a session id presented by an identity that did not open it"
            );
            let error = ProxyError::NotFound("session".into());
            return self.fail(session, ex, &id, error).await;
        }
        if ex.method == Method::Initialize
            && ex.session_id.is_none()
            && let Err(why) = self.owners.may_open(
                &ex.identity,
                settings.max_sessions,
                settings.max_sessions_per_identity,
            )
        {
            tracing::warn!(identity = ex.identity.as_str(), "{why}");
            let refusal = crate::error::Refusal::new(StatusCode::SERVICE_UNAVAILABLE, why)
                .retry_after(std::time::Duration::from_secs(5));
            return self
                .fail(session, ex, &id, ProxyError::Refused(refusal))
                .await;
        }
        if is_mcp {
            let unseen = owned == Some(None);
            return self
                .to_rmcp(session, snap, ex, body, unseen, shutdown)
                .await;
        }
        if ex.method == Method::Ui {
            let uri = session.req_header().uri.clone();
            return match ui::page(&self.shared, snap, &mut ex, uri.path(), uri.query()).await {
                Ok(page) => {
                    ex.answered(outcome_of(page.status));
                    write_page(session, page).await;
                    Some(ex)
                }
                Err(error) => self.fail(session, ex, &id, error).await,
            };
        }
        let answer = match ex.method {
            Method::Select => {
                let answer = rest::select(&self.shared, snap, &mut ex, &body).await;
                if answer.is_ok() {
                    self.shared.recent.selected(&ex);
                }
                answer
            }
            Method::SessionContext => {
                rest::push_context(&self.shared, session, &ex.identity, &body).await
            }
            Method::SessionGet => rest::session_record(&self.shared, session, &ex.identity).await,
            Method::Health | Method::Metrics => Ok(self.ops_answer(ex.method)),
            _ => Err(ProxyError::NotFound(
                session.req_header().uri.path().to_string(),
            )),
        };
        match answer {
            Ok(plain) => {
                ex.answered(outcome_of(plain.status));
                write_plain(session, plain).await;
                Some(ex)
            }
            Err(error) => self.fail(session, ex, &id, error).await,
        }
    }

    /// The origin check and the body (capped) with, on `/mcp`, the JSON-RPC head it carries.
    async fn read_and_check(
        session: &mut ServerSession,
        settings: &HttpSettings,
        ex: &mut Exchange,
        id: &mut Value,
        is_mcp: bool,
    ) -> Result<Bytes, ProxyError> {
        let head = session.req_header();
        if head.method != HttpMethod::POST {
            return Ok(Bytes::new());
        }
        let content_type = head
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        let takes_json = is_mcp || matches!(ex.method, Method::Select | Method::SessionContext);
        // A browser sends text/plain or a form cross-origin without a CORS preflight: only JSON.
        if takes_json && !essence.eq_ignore_ascii_case("application/json") {
            let shown = if content_type.is_empty() {
                "none"
            } else {
                content_type
            };
            return Err(ProxyError::UnsupportedMediaType(shown.to_string()));
        }
        let body = conn::with_body_deadline(
            settings.limits.body_timeout,
            read_body(session, settings.max_body_bytes),
        )
        .await?;
        if is_mcp {
            let message = check_message(&body).map_err(|bad| {
                *id = bad.id;
                bad.error
            })?;
            *id = message.id.unwrap_or(Value::Null);
            ex.method = message.method;
            ex.target = message.target;
        }
        Ok(body)
    }

    /// Hands an admitted `/mcp` request to rmcp and streams its answer back.
    async fn to_rmcp(
        &self,
        session: &mut ServerSession,
        snap: &Arc<Snapshot<S>>,
        ex: Exchange,
        body: Bytes,
        unseen: bool,
        shutdown: &ShutdownWatch,
    ) -> Option<Exchange> {
        let parts = session.req_header().as_owned_parts();
        let stream = ex.method == Method::McpStream;
        let mut request = http::Request::from_parts(parts, Full::new(body));
        let caller = ex.identity.clone();
        // A new session, or one this process has not seen opened (rmcp restores it from the
        // store, for its owner only): either way it is the caller's once rmcp accepts it.
        let opener = (ex.method == Method::Initialize || unseen)
            .then(|| (ex.identity.clone(), ex.session_id.clone()));
        let (handoff, mut kept) = if ex.method.handled_by_router() {
            let handoff = HttpHandoff::new(Admitted {
                ex,
                snap: snap.clone(),
            });
            request.extensions_mut().insert(handoff.clone());
            (Some(handoff), None)
        } else {
            (None, Some(ex))
        };
        let response = CALLER.scope(caller, self.mcp.handle(request)).await;
        if let Some((identity, presented)) = opener
            && response.status().is_success()
            && let Some(id) = response
                .headers()
                .get("mcp-session-id")
                .and_then(|id| id.to_str().ok())
                .or(presented.as_deref())
        {
            self.owners.opened(id, &identity);
        }
        let status = bridge::stream_back(session, response, shutdown, stream).await;
        // Not taken: rmcp answered before the handler did (an unknown session, a bad header).
        if let Some(Admitted { ex, .. }) = handoff.and_then(|h| h.take()) {
            kept = Some(ex);
        }
        let mut ex = kept?;
        ex.answered(outcome_of(status));
        Some(ex)
    }

    /// Answers `error` in the form the endpoint speaks, and returns the exchange to finish.
    async fn fail(
        &self,
        session: &mut ServerSession,
        mut ex: Exchange,
        id: &Value,
        error: ProxyError,
    ) -> Option<Exchange> {
        ex.answered(Outcome::Status(error.status()));
        write_error(session, ex.method, id, &error).await;
        Some(ex)
    }

    fn ops_answer(&self, method: Method) -> Plain {
        match method {
            Method::Metrics => self.ops.metrics(),
            _ => self.ops.health(),
        }
    }
}

#[async_trait]
impl<S: Stage, O: OpsEndpoints> HttpServerApp for HttpFront<S, O> {
    async fn process_new_http(
        self: &Arc<Self>,
        mut session: ServerSession,
        shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        let peer = session
            .client_addr()
            .and_then(|a| a.as_inet())
            .map(|a| a.ip());
        let _slot = match self.control.slots.take(peer) {
            Ok(slot) => slot,
            Err(limit) => {
                tracing::debug!(
                    ?peer,
                    limit,
                    "connection refused: too many open connections"
                );
                return None;
            }
        };
        // The wait for the head follows the limits of its start; the request, the settings current
        // once its head is in (a reload while a kept-alive connection sat idle applies to it).
        let waiting = self.control.settings.load_full();
        match conn::read_head(&mut session, &waiting.limits).await {
            conn::Head::Read => {}
            conn::Head::Closed => return None,
            conn::Head::Refuse(error) => {
                tracing::warn!(?peer, %error, "request head refused");
                session.set_keepalive(None);
                write_error(&mut session, Method::Unknown, &Value::Null, &error).await;
                // Not `finish`: that would read on for the next request of this connection.
                let _ = session.finish_body().await;
                return None;
            }
        }
        drop(waiting);
        let settings = self.control.settings.load_full();
        let keepalive = settings.limits.keepalive_timeout.as_secs().max(1);
        session.set_keepalive(if *shutdown.borrow() {
            None
        } else {
            Some(keepalive)
        });
        {
            let _serving = Serving::start(&self.control.in_flight);
            self.handle(&mut session, &settings, shutdown).await;
        }
        let mut settings = HttpPersistentSettings::for_session(&session);
        settings.set_user_context(Box::new(conn::KeptAlive));
        match session.finish().await {
            Ok(Some(stream)) => Some(ReusedHttpStream::from_reusable_stream(stream, settings)),
            _ => None,
        }
    }
}

/// What a request is, from its HTTP method and path (a POST to `/mcp` is refined by its message).
fn classify(method: &HttpMethod, path: &str, metrics_path: Option<&str>) -> Method {
    match (method, path) {
        (&HttpMethod::GET, "/mcp") => Method::McpStream,
        (&HttpMethod::DELETE, "/mcp") => Method::McpDelete,
        (_, "/mcp") => Method::McpOther,
        (&HttpMethod::POST, "/v1/select") => Method::Select,
        (&HttpMethod::POST, p) if rest::session_context_id(p).is_some() => Method::SessionContext,
        (&HttpMethod::GET, p) if rest::session_id_of(p).is_some() => Method::SessionGet,
        (&HttpMethod::GET, "/health") => Method::Health,
        (&HttpMethod::GET, p)
            if p.strip_prefix(rest::RESOURCE_METADATA_PATH)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')) =>
        {
            Method::ResourceMetadata
        }
        (&HttpMethod::GET, p) if Some(p) == metrics_path => Method::Metrics,
        (&HttpMethod::GET, p) if ui::is_ui_path(p) => Method::Ui,
        _ => Method::Unknown,
    }
}

fn outcome_of(status: StatusCode) -> Outcome {
    if status.is_success() || status.is_redirection() {
        Outcome::Ok
    } else {
        Outcome::Status(status)
    }
}

#[cfg(test)]
mod tests;

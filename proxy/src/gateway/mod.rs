//! The MCP server the clients talk to: one `ServerHandler` (in `handler`) that continues each
//! admitted request through the route phase, routes it to the downstream that owns the tool,
//! prompt or resource, and finishes it through the response stages.
//!
//! Both front-ends (stdio and Streamable HTTP) serve this same handler through rmcp, which owns the
//! protocol: `initialize` and `server/discover`, version negotiation, sessions and SSE.

mod handler;
pub mod handoff;
pub mod meta;
mod notify;
mod parked;
mod signature;

use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::service::RequestContext;
use tokio::sync::broadcast;

use crate::downstream::{DownstreamPool, Forward};
use crate::error::ProxyError;
use crate::exchange::{Exchange, Method, Outcome, Transport};
use crate::pipeline::Stage;
use crate::relay::ClientCall;
use crate::session::{SessionEvent, SessionMeter, SessionRegistry, SessionState, SessionStore};
use crate::snapshot::{Snapshot, SnapshotCell};
use handoff::{Admitted, HttpHandoff, StdioHandoffs};
pub use notify::ListsChanged;

/// State shared by every client session of one gateway process.
pub struct GatewayShared<S> {
    pub snapshot: Arc<SnapshotCell<S>>,
    pub pool: Arc<DownstreamPool>,
    /// Live sessions by `Mcp-Session-Id` (dynamic exposure's context endpoint).
    pub sessions: SessionRegistry,
    changes: broadcast::Sender<ListsChanged>,
    /// 2026-07-28 clients' calls waiting for their answers to an older server's questions.
    parked: parked::ParkedCalls,
    /// Where sessions are counted and timed.
    session_meter: Option<SessionMeter>,
    /// Where HTTP sessions are kept beyond this process (`session.backend`), if anywhere.
    pub store: Option<Arc<SessionStore>>,
    /// The last selections and reloads, for the operator page.
    pub recent: crate::recent::Recent,
    /// Held at start until the first catalog is complete (see `ready`).
    pub ready: crate::ready::Ready,
}

impl<S: Stage> GatewayShared<S> {
    pub fn new(snapshot: Arc<SnapshotCell<S>>, pool: Arc<DownstreamPool>) -> Arc<Self> {
        Self::metered(snapshot, pool, None)
    }

    /// A gateway whose client sessions are counted and timed on `meter`.
    pub fn metered(
        snapshot: Arc<SnapshotCell<S>>,
        pool: Arc<DownstreamPool>,
        session_meter: Option<SessionMeter>,
    ) -> Arc<Self> {
        Self::with_store(snapshot, pool, session_meter, None)
    }

    /// A gateway whose HTTP sessions are kept in `store` as well.
    pub fn with_store(
        snapshot: Arc<SnapshotCell<S>>,
        pool: Arc<DownstreamPool>,
        session_meter: Option<SessionMeter>,
        store: Option<Arc<SessionStore>>,
    ) -> Arc<Self> {
        let (changes, _) = broadcast::channel(16);
        Arc::new(GatewayShared {
            snapshot,
            pool,
            sessions: SessionRegistry::default(),
            changes,
            parked: parked::ParkedCalls::default(),
            session_meter,
            store,
            recent: Default::default(),
            ready: Default::default(),
        })
    }

    /// `POST /v1/sessions/{id}/context`: adds context to a session of `identity`'s, live or
    /// stored (a stored one reads it when it continues); false if there is none.
    pub async fn push_context(
        self: &Arc<Self>,
        session_id: &str,
        identity: &str,
        text: &str,
    ) -> Result<bool, ProxyError> {
        let event = SessionEvent::Context {
            at_ms: crate::session::now_ms(),
            text: text.to_string(),
        };
        if let Some(session) = self.sessions.get(session_id) {
            if let Some(store) = &self.store {
                session.hydrate(store, session_id).await;
                session.record(store, session_id, &event).await?;
            }
            session.push_context(text);
            tokio::spawn(notify::refresh_dynamic(self.clone(), session));
            return Ok(true);
        }
        let Some(store) = &self.store else {
            return Ok(false);
        };
        match store.meta(session_id).await? {
            Some(meta) if meta.identity == identity => {
                store.append(session_id, &event, 0).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// `GET /v1/sessions/{id}`: the stored record of a session of `identity`'s.
    pub async fn session_record(
        &self,
        session_id: &str,
        identity: &str,
    ) -> Result<Option<crate::session::SessionRecord>, ProxyError> {
        let Some(store) = &self.store else {
            return Ok(None);
        };
        Ok(store
            .load(session_id)
            .await?
            .filter(|record| record.meta.identity == identity))
    }

    /// Tells every connected client session which lists changed.
    pub fn notify(&self, changed: ListsChanged) {
        if changed.any() {
            let _ = self.changes.send(changed);
        }
    }
}

/// One client session's handler. The HTTP front makes one per session by cloning: a clone shares
/// the gateway but starts a new session (its own usage memory and notification task).
pub struct Gateway<S> {
    shared: Arc<GatewayShared<S>>,
    transport: Transport,
    session: Arc<SessionState>,
    /// stdio: requests the front admitted, waiting for this handler.
    stdio: Option<Arc<StdioHandoffs<S>>>,
}

impl<S> Clone for Gateway<S> {
    fn clone(&self) -> Self {
        Gateway {
            shared: self.shared.clone(),
            transport: self.transport,
            session: Arc::default(),
            stdio: self.stdio.clone(),
        }
    }
}

impl<S: Stage> Gateway<S> {
    pub fn new(shared: Arc<GatewayShared<S>>, transport: Transport) -> Self {
        Gateway {
            shared,
            transport,
            session: Arc::default(),
            stdio: None,
        }
    }

    /// The stdio front's handler: takes the requests the front admitted from `handoffs`.
    pub fn with_stdio_handoffs(mut self, handoffs: Arc<StdioHandoffs<S>>) -> Self {
        self.stdio = Some(handoffs);
        self
    }

    pub fn shared(&self) -> &Arc<GatewayShared<S>> {
        &self.shared
    }

    /// The request the front admitted; without a front (an embedder serving rmcp directly) the
    /// request is admitted here, so no request skips the stages.
    async fn admitted(
        &self,
        context: &RequestContext<RoleServer>,
        method: Method,
    ) -> Result<Admitted<S>, rmcp::ErrorData> {
        let parts = context.extensions.get::<http::request::Parts>();
        let handed = match parts {
            Some(parts) => parts
                .extensions
                .get::<HttpHandoff<S>>()
                .and_then(HttpHandoff::take),
            None => self.stdio.as_ref().and_then(|s| s.take(&context.id)),
        };
        let mut admitted = match handed {
            Some(admitted) => admitted,
            None => {
                let snap = self.shared.snapshot.load_full();
                let mut ex = Exchange::new(self.transport, method);
                if let Err(error) = snap.pipeline.admit(&mut ex).await {
                    snap.pipeline.finish(&mut ex).await;
                    return Err(error.to_mcp());
                }
                Admitted { ex, snap }
            }
        };
        let ex = &mut admitted.ex;
        ex.method = method;
        ex.session = Some(self.session.clone());
        ex.catalog = Some(admitted.snap.catalog.clone());
        if ex.grant.is_some() {
            self.session.grant.lock().clone_from(&ex.grant);
        }
        if ex.session_id.is_none() {
            ex.session_id = parts
                .and_then(|p| p.headers.get("mcp-session-id"))
                .and_then(|v| v.to_str().ok())
                .map(Arc::from);
        }
        if let (Some(store), Some(id)) = (&self.shared.store, &ex.session_id) {
            self.session.hydrate(store, id).await;
            self.session.keep_alive(store, id).await;
        }
        Ok(admitted)
    }

    /// How the downstream's messages about this request find their way back to its client.
    fn forward_of(&self, context: &RequestContext<RoleServer>) -> Forward {
        Forward {
            call: Arc::new(ClientCall {
                peer: context.peer.clone(),
                request_id: context.id.clone(),
                progress_token: context.meta.get_progress_token(),
                capabilities: context.client_capabilities(),
                log_level: context.meta.log_level().or(*self.session.log_level.lock()),
                session: Arc::downgrade(&self.session),
                questions: None,
            }),
            cancelled: context.ct.clone(),
            legacy_client: context
                .protocol_version()
                .is_none_or(|v| v.as_str() < "2026-07-28"),
        }
    }

    /// Records how the request ended and runs the response stages.
    async fn finish<T>(
        &self,
        snap: &Snapshot<S>,
        ex: &mut Exchange,
        result: Result<T, ProxyError>,
    ) -> Result<T, rmcp::ErrorData> {
        let result = result.map_err(|e| e.to_mcp());
        ex.answered(match &result {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Failed {
                code: e.code.0,
                message: e.message.to_string(),
            },
        });
        self.remember(ex).await;
        snap.pipeline.finish(ex).await;
        result
    }

    /// Records a search or a routed tool call in the session store before the client has its
    /// answer, so every answer a client saw is in the session's history.
    async fn remember(&self, ex: &Exchange) {
        let (Some(store), Some(id)) = (&self.shared.store, &ex.session_id) else {
            return;
        };
        let Some(event) = session_event(ex) else {
            return;
        };
        if let Err(error) = self.session.record(store, id, &event).await {
            tracing::warn!(session = %id, %error, "session event not stored");
        }
    }
}

/// What a finished exchange adds to its session's history: a search, or a call routed to a server.
fn session_event(ex: &Exchange) -> Option<SessionEvent> {
    if ex.method != Method::ToolsCall {
        return None;
    }
    let at_ms = crate::session::now_ms();
    match &ex.select {
        Some(work) if work.purpose == crate::exchange::SelectPurpose::Search => {
            if !ex.outcome.passed() {
                return None;
            }
            let returned = work
                .answer
                .as_ref()
                .map(|s| s.iter().map(|t| t.name.clone()).collect())
                .unwrap_or_default();
            Some(SessionEvent::Search {
                at_ms,
                query: work.query.clone(),
                returned,
            })
        }
        _ => Some(SessionEvent::Call {
            at_ms,
            tool: ex.target.clone()?,
            server: ex.server.as_deref()?.to_string(),
            ok: ex.outcome.passed(),
            ms: ex.timings.total().as_millis() as u64,
        }),
    }
}

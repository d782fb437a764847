//! Per-client-session state: the last search and recent calls (learning, co-occurrence), and for
//! `router.exposure: dynamic` the session's context, its current tool list and its peer.
//!
//! A session's state lives exactly as long as its MCP handler: when the session closes, rmcp drops
//! the handler, the state drops and `closed` fires, which ends the session's notification task.

#![allow(
    deprecated,
    reason = "sampling, roots and logging are deprecated by SEP-2577 but live in every pre-2026-07-28 session, which a gateway must relay"
)]

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Instant;

use rmcp::RoleServer;
use rmcp::service::Peer;
use tokio_util::sync::CancellationToken;

/// What one client session searched last: a call of one of those tools is learned from, and the
/// tools it never called count as ignored when the next search comes.
#[derive(Default)]
pub struct SessionState {
    /// Set when the client completed `initialize` (a stateless 2026-07-28 request never does):
    /// when, and the meter the session's end is recorded on.
    pub opened: OnceLock<(Instant, SessionMeter)>,
    pub last_search: parking_lot::Mutex<Option<LastSearch>>,
    /// The session's last tool calls, most recent last (co-occurrence).
    pub recent_calls: parking_lot::Mutex<std::collections::VecDeque<String>>,
    /// `router.exposure: dynamic`: context pushed with `POST /v1/sessions/{id}/context` and the
    /// session's searches, most recent last.
    pub context: parking_lot::Mutex<std::collections::VecDeque<String>>,
    /// The tool names this session was last shown by `tools/list` (dynamic exposure).
    pub listed: parking_lot::Mutex<Option<Vec<String>>>,
    /// How to reach the client with `notifications/tools/list_changed`.
    pub peer: parking_lot::Mutex<Option<Peer<RoleServer>>>,
    /// The lowest level of downstream log messages the client wants (`logging/setLevel`); all
    /// until it says.
    pub log_level: parking_lot::Mutex<Option<rmcp::model::LoggingLevel>>,
    /// The tools the session's caller may use, from its last admitted request (the gateway's own
    /// re-selection for a `dynamic` session ranks with it).
    pub grant: parking_lot::Mutex<Option<Arc<crate::policy::Grant>>>,
    /// Cancelled when the session's state is dropped (the session closed).
    pub closed: CancellationToken,
}

impl Drop for SessionState {
    fn drop(&mut self) {
        self.closed.cancel();
        if let Some((opened, meter)) = self.opened.get() {
            meter.active.dec();
            meter.duration.observe(opened.elapsed().as_secs_f64());
        }
    }
}

/// The seed's session metrics: `ucp_session_active_total` (a gauge, under the seed's name),
/// `ucp_session_created_total`, `ucp_session_duration_seconds`. A session counts from its
/// `initialized` notification to the drop of its state (closed by the client or expired).
#[derive(Clone)]
pub struct SessionMeter {
    pub active: prometheus::IntGauge,
    pub created: prometheus::IntCounter,
    pub duration: prometheus::Histogram,
}

/// Session lengths: 1 s to 1 day.
const SESSION_SECONDS: [f64; 10] = [
    1.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 14400.0, 86400.0,
];

impl SessionMeter {
    /// The meter, registered in `registry`.
    pub fn register(registry: &prometheus::Registry) -> prometheus::Result<SessionMeter> {
        let meter = SessionMeter::unregistered()?;
        registry.register(Box::new(meter.active.clone()))?;
        registry.register(Box::new(meter.created.clone()))?;
        registry.register(Box::new(meter.duration.clone()))?;
        Ok(meter)
    }

    fn unregistered() -> prometheus::Result<SessionMeter> {
        Ok(SessionMeter {
            active: prometheus::IntGauge::new(
                "ucp_session_active_total",
                "Client sessions open now",
            )?,
            created: prometheus::IntCounter::new(
                "ucp_session_created_total",
                "Client sessions opened (initialize completed)",
            )?,
            duration: prometheus::Histogram::with_opts(
                prometheus::HistogramOpts::new(
                    "ucp_session_duration_seconds",
                    "How long client sessions lasted, from initialize to close or expiry",
                )
                .buckets(SESSION_SECONDS.to_vec()),
            )?,
        })
    }

    /// Session `state` completed `initialize`: counted from now until it drops.
    pub fn opened(&self, state: &SessionState) {
        if state.opened.set((Instant::now(), self.clone())).is_ok() {
            self.created.inc();
            self.active.inc();
        }
    }
}

/// A session's last search, for learning from the calls that follow it.
pub struct LastSearch {
    pub query: String,
    pub returned: Vec<String>,
    pub called: Vec<String>,
}

/// How many context items make a session's dynamic context.
pub const CONTEXT_ITEMS: usize = 5;

impl SessionState {
    /// Adds a context item (pushed text or a search query).
    pub fn push_context(&self, text: &str) {
        let mut context = self.context.lock();
        context.push_back(text.to_string());
        while context.len() > CONTEXT_ITEMS {
            context.pop_front();
        }
    }

    /// Whether a downstream log message of `level` goes to this client.
    pub fn admits_log(&self, level: rmcp::model::LoggingLevel) -> bool {
        use crate::relay::level_rank;
        self.log_level
            .lock()
            .is_none_or(|min| level_rank(level) >= level_rank(min))
    }

    /// The session's recent tool calls, most recent last.
    pub fn recent_calls(&self) -> Vec<String> {
        self.recent_calls.lock().iter().cloned().collect()
    }

    /// The text the session's dynamic tool list is selected for.
    pub fn context_text(&self) -> String {
        self.context
            .lock()
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(". ")
    }
}

/// Live client sessions by `Mcp-Session-Id`, for `POST /v1/sessions/{id}/context`.
#[derive(Default)]
pub struct SessionRegistry {
    sessions: parking_lot::Mutex<HashMap<String, Weak<SessionState>>>,
}

impl SessionRegistry {
    pub fn register(&self, id: &str, session: &Arc<SessionState>) {
        let mut sessions = self.sessions.lock();
        sessions.retain(|_, s| s.strong_count() > 0);
        sessions.insert(id.to_string(), Arc::downgrade(session));
    }

    pub fn get(&self, id: &str) -> Option<Arc<SessionState>> {
        self.sessions.lock().get(id).and_then(Weak::upgrade)
    }
}

/// How many recent calls of a session count for co-occurrence.
pub const RECENT_CALLS: usize = 5;

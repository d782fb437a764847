//! Per-client-session state: the last search and recent calls (learning, co-occurrence), and for
//! `router.exposure: dynamic` the session's context, its current tool list and its peer.
//!
//! A session's state lives exactly as long as its MCP handler: when the session closes, rmcp drops
//! the handler, the state drops and `closed` fires, which ends the session's notification task.

#![allow(
    deprecated,
    reason = "sampling, roots and logging are deprecated by SEP-2577 but live in every pre-2026-07-28 session, which a gateway must relay"
)]

mod record;
pub mod redis;
pub mod rocks;
pub mod store;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Instant;

pub use record::{SessionEvent, SessionMeta, SessionRecord, now_ms};
pub use redis::{RedisSessions, RedisTarget, RedisTlsFiles};
pub use rocks::RocksSessions;
pub use store::{CALLER, RmcpSessions, SessionStore};

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
    /// Set once the state holds what the session store had of it (a restored session's first
    /// request loads it; a new session has nothing to load).
    pub hydrated: tokio::sync::OnceCell<()>,
    /// Events the session store holds for this session (it trims past `max_history`).
    pub stored_events: AtomicUsize,
    /// When the store last heard of this session (milliseconds since the epoch).
    pub touched_ms: AtomicU64,
    /// Its handshake was the replay of a stored session's (`SessionRestoreMarker`).
    pub restored: std::sync::atomic::AtomicBool,
    /// Its first `initialized` notification was handled.
    pub initialized: std::sync::atomic::AtomicBool,
    /// With a shared store: the session's version (events recorded by any instance) this state
    /// reflects.
    pub version: AtomicU64,
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
    /// Sessions continued from the session store (after a restart, or opened on another
    /// instance).
    pub restored: prometheus::IntCounter,
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
        registry.register(Box::new(meter.restored.clone()))?;
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
            restored: prometheus::IntCounter::new(
                "ucp_session_restored_total",
                "Client sessions continued from the session store (after a restart or on another instance)",
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

    /// Session `state` completed `initialize` (or was `restored` from the session store):
    /// counted from now until it drops.
    pub fn opened(&self, state: &SessionState, restored: bool) {
        if state.opened.set((Instant::now(), self.clone())).is_ok() {
            if restored {
                self.restored.inc();
            } else {
                self.created.inc();
            }
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

/// How often a session in use is marked seen in the store when it records no event.
const TOUCH_EVERY_MS: u64 = 60_000;

impl SessionState {
    /// Fills this state from the store's record of session `id`: once with a store of this
    /// process (a restored session continues where it was), and again whenever another instance
    /// recorded something with a shared one. A store error leaves the state as it is (logged).
    pub async fn hydrate(&self, store: &SessionStore, id: &str) {
        if self.hydrated.initialized() {
            let Ok(Some(version)) = store.version(id).await else {
                return;
            };
            if version == self.version.load(Ordering::Relaxed) {
                return;
            }
            self.reload(store, id, Some(version)).await;
            return;
        }
        self.hydrated
            .get_or_init(|| async {
                let version = store.version(id).await.ok().flatten();
                self.reload(store, id, version).await;
            })
            .await;
    }

    async fn reload(&self, store: &SessionStore, id: &str, version: Option<u64>) {
        match store.load(id).await {
            Ok(Some(record)) => {
                self.forget();
                self.replay(&record.events);
                self.stored_events
                    .store(record.events.len(), Ordering::Relaxed);
                self.touched_ms.store(now_ms(), Ordering::Relaxed);
                if let Some(version) = version {
                    self.version.store(version, Ordering::Relaxed);
                }
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(session = id, %error, "session history not loaded")
            }
        }
    }

    /// Empties the usage memory (before a replay of the whole history).
    fn forget(&self) {
        *self.last_search.lock() = None;
        self.recent_calls.lock().clear();
        self.context.lock().clear();
    }

    /// Records `event` for session `id` in the store.
    pub async fn record(
        &self,
        store: &SessionStore,
        id: &str,
        event: &SessionEvent,
    ) -> Result<(), crate::ProxyError> {
        let stored = self.stored_events.fetch_add(1, Ordering::Relaxed) + 1;
        let appended = store.append(id, event, stored).await?;
        self.stored_events.store(appended.stored, Ordering::Relaxed);
        // Our write moved the version by one; if it moved by more, another instance wrote too and
        // the next request reloads.
        if let Some(version) = appended.version {
            let _ = self.version.compare_exchange(
                version - 1,
                version,
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
        }
        self.touched_ms.store(now_ms(), Ordering::Relaxed);
        Ok(())
    }

    /// Marks session `id` seen in the store when it has not been for a while.
    pub async fn keep_alive(&self, store: &SessionStore, id: &str) {
        let now = now_ms();
        let last = self.touched_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < TOUCH_EVERY_MS {
            return;
        }
        self.touched_ms.store(now, Ordering::Relaxed);
        if let Err(error) = store.touch(id).await {
            tracing::warn!(session = id, %error, "session not marked seen");
        }
    }
}

/// How many recent calls of a session count for co-occurrence.
pub const RECENT_CALLS: usize = 5;

//! Where client sessions outlive the process that opened them: the session store (`session.backend`)
//! and its seam into rmcp, whose `SessionStore` hook restores an unknown `Mcp-Session-Id` by
//! replaying the stored `initialize` (after a restart, or on another instance).
//!
//! The identity of the caller reaches the store through [`CALLER`], a task-local the HTTP front
//! sets around each request it hands to rmcp: a session is stored with the identity that opened
//! it, and restored only for that identity (anyone else gets the same 404 as for an unknown id).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rmcp::transport::streamable_http_server::session::store::{
    SessionState as RmcpSessionState, SessionStore as RmcpSessionStore, SessionStoreError,
};

use super::record::{SessionEvent, SessionMeta, SessionRecord, now_ms};
use super::redis::RedisSessions;
use super::rocks::RocksSessions;
use crate::error::ProxyError;
use crate::exchange::Identity;

tokio::task_local! {
    /// The identity of the request the HTTP front is handing to rmcp.
    pub static CALLER: Identity;
}

/// The longest session id the store looks up (rmcp's are UUIDs); a longer one is unknown.
const MAX_ID_BYTES: usize = 128;

/// A session store and the limits it keeps.
pub struct SessionStore {
    backend: Backend,
    max_history: usize,
    ttl: Duration,
    /// The last operation's failure, cleared by the next success: `/health` shows it.
    failing: parking_lot::Mutex<Option<String>>,
    /// Whether `failing` holds one: a success reads only this, locking nothing.
    is_failing: AtomicBool,
}

enum Backend {
    Rocks(Arc<RocksSessions>),
    Redis(RedisSessions),
}

/// Runs one backend operation, mapping its error and noting success or failure.
macro_rules! on_backend {
    ($self:ident, $db:ident => $rocks:expr, $redis:expr) => {{
        let result = match &$self.backend {
            Backend::Rocks($db) => $rocks.map_err(|e: rocksdb::Error| e.to_string()),
            Backend::Redis($db) => $redis
                .await
                .map_err(|e: ::redis::RedisError| redis_failed($db, e)),
        };
        $self.noted(result)
    }};
}

impl SessionStore {
    pub fn rocks(db: RocksSessions, max_history: usize, ttl: Duration) -> SessionStore {
        Self::with(Backend::Rocks(Arc::new(db)), max_history, ttl)
    }

    pub fn redis(db: RedisSessions, max_history: usize, ttl: Duration) -> SessionStore {
        Self::with(Backend::Redis(db), max_history, ttl)
    }

    fn with(backend: Backend, max_history: usize, ttl: Duration) -> SessionStore {
        SessionStore {
            backend,
            max_history,
            ttl,
            failing: parking_lot::Mutex::new(None),
            is_failing: AtomicBool::new(false),
        }
    }

    /// The RocksDB database, when that is the backend (maintenance).
    pub fn rocks_db(&self) -> Option<&RocksSessions> {
        match &self.backend {
            Backend::Rocks(db) => Some(db),
            Backend::Redis(_) => None,
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match &self.backend {
            Backend::Rocks(_) => "rocksdb",
            Backend::Redis(_) => "redis",
        }
    }

    pub fn max_history(&self) -> usize {
        self.max_history
    }

    /// Why the store is failing now (its last operation failed), if it is.
    pub fn failing(&self) -> Option<String> {
        self.failing.lock().clone()
    }

    fn noted<T>(&self, result: Result<T, String>) -> Result<T, ProxyError> {
        match result {
            Ok(value) => {
                if self.is_failing.load(Ordering::Acquire) {
                    let was = self.failing.lock().take();
                    self.is_failing.store(false, Ordering::Release);
                    if let Some(was) = was {
                        tracing::info!(backend = self.backend_name(), was, "session store is back");
                    }
                }
                Ok(value)
            }
            Err(error) => {
                let mut failing = self.failing.lock();
                if failing.is_none() {
                    tracing::warn!(
                        backend = self.backend_name(),
                        %error,
                        "session store failing: sessions go on in memory only"
                    );
                }
                *failing = Some(error.clone());
                self.is_failing.store(true, Ordering::Release);
                Err(ProxyError::SessionStore(error))
            }
        }
    }

    fn expired(&self, last_seen_ms: u64, now: u64) -> bool {
        now.saturating_sub(last_seen_ms) > self.ttl.as_millis() as u64
    }

    /// A session whose `initialize` was just answered.
    pub async fn open(&self, id: &str, meta: &SessionMeta) -> Result<(), ProxyError> {
        let now = now_ms();
        on_backend!(self, db => db.open_session(id, meta, now), db.open_session(id, meta, now, self.ttl))
    }

    /// The session's meta, if it is stored and has not expired (an expired one is deleted).
    pub async fn meta(&self, id: &str) -> Result<Option<SessionMeta>, ProxyError> {
        if id.len() > MAX_ID_BYTES {
            return Ok(None);
        }
        let found = on_backend!(self, db => db.meta(id), db.meta(id))?;
        match found {
            Some((_, seen)) if self.expired(seen, now_ms()) => {
                self.delete(id).await?;
                Ok(None)
            }
            found => Ok(found.map(|(meta, _)| meta)),
        }
    }

    /// The whole record with its last `max_history` events, if stored and not expired.
    pub async fn load(&self, id: &str) -> Result<Option<SessionRecord>, ProxyError> {
        if id.len() > MAX_ID_BYTES {
            return Ok(None);
        }
        let history = self.max_history;
        let record = on_backend!(self, db => db.load(id, history), db.load(id, history))?;
        match record {
            Some(record) if self.expired(record.last_seen_ms, now_ms()) => {
                self.delete(id).await?;
                Ok(None)
            }
            record => Ok(record),
        }
    }

    /// Records `event`; `stored` is how many events the session has stored, this one included.
    /// RocksDB drops the oldest past `max_history` plus some slack (a range delete every few
    /// appends, not one per append); Redis trims on every append.
    pub async fn append(
        &self,
        id: &str,
        event: &SessionEvent,
        stored: usize,
    ) -> Result<Appended, ProxyError> {
        let now = now_ms();
        let history = self.max_history;
        on_backend!(self, db => db.append(id, event, now).and_then(|()| {
            if stored > history + trim_slack(history) {
                db.trim(id, history).map(|()| Appended { stored: history, version: None })
            } else {
                Ok(Appended { stored, version: None })
            }
        }), async {
            let version = db.append(id, event, now, self.ttl, history).await?;
            Ok(Appended { stored: stored.min(history), version: Some(version) })
        })
    }

    /// Where instances share the store (Redis): how many events the session has recorded, so a
    /// session held in memory here notices another instance's writes. `None`: not shared.
    pub async fn version(&self, id: &str) -> Result<Option<u64>, ProxyError> {
        match &self.backend {
            Backend::Rocks(_) => Ok(None),
            Backend::Redis(db) => self.noted(
                db.version(id)
                    .await
                    .map(Some)
                    .map_err(|e| redis_failed(db, e)),
            ),
        }
    }

    /// The session is in use (it expires `ttl` after the last of these).
    pub async fn touch(&self, id: &str) -> Result<(), ProxyError> {
        let now = now_ms();
        on_backend!(self, db => db.touch(id, now), db.touch(id, now, self.ttl))
    }

    pub async fn delete(&self, id: &str) -> Result<(), ProxyError> {
        on_backend!(self, db => db.delete(id), db.delete(id))
    }

    /// Deletes expired sessions (RocksDB on a blocking thread; Redis expires keys itself and
    /// only its index of ids is pruned); how many went.
    pub async fn sweep(&self) -> Result<usize, ProxyError> {
        let cutoff = now_ms().saturating_sub(self.ttl.as_millis() as u64);
        match &self.backend {
            Backend::Rocks(db) => {
                let db = db.clone();
                let swept = tokio::task::spawn_blocking(move || db.sweep(cutoff))
                    .await
                    .map_err(|e| ProxyError::SessionStore(e.to_string()))?;
                self.noted(swept.map_err(|e| e.to_string()))
            }
            Backend::Redis(db) => {
                self.noted(db.sweep(cutoff).await.map_err(|e| redis_failed(db, e)))
            }
        }
    }

    /// Checks the store answers (Redis: `PING`), so `/health` recovers without traffic.
    pub async fn probe(&self) -> Result<(), ProxyError> {
        match &self.backend {
            Backend::Rocks(_) => Ok(()),
            Backend::Redis(db) => self.noted(db.ping().await.map_err(|e| redis_failed(db, e))),
        }
    }
}

/// Events past `max_history` kept before a trim. A trim walks the session's newest events back to
/// the cut, then range-deletes the rest: with as much slack as history, that walk costs about one
/// key per append (with a fixed 16 it was six keys per append at the default history of 100, the
/// largest cost of the session write; BENCHMARKS.md, issue 10 point 6), and range tombstones, which
/// every later read has to step over, pile up at a sixth of the rate.
pub fn trim_slack(max_history: usize) -> usize {
    max_history.max(16)
}

/// What an append left behind.
pub struct Appended {
    /// Events the session has stored now.
    pub stored: usize,
    /// Where instances share the store: the session's version after this write.
    pub version: Option<u64>,
}

fn redis_failed(db: &RedisSessions, e: ::redis::RedisError) -> String {
    format!("redis {}: {e}", db.target())
}

/// rmcp's view of the store: `initialize` params by session id, for its transparent restore.
pub struct RmcpSessions(pub Arc<SessionStore>);

fn caller() -> Option<Identity> {
    CALLER.try_with(Identity::clone).ok()
}

#[async_trait::async_trait]
impl RmcpSessionStore for RmcpSessions {
    async fn load(&self, session_id: &str) -> Result<Option<RmcpSessionState>, SessionStoreError> {
        let Some(meta) = self.0.meta(session_id).await? else {
            return Ok(None);
        };
        let caller = caller();
        if caller.as_ref().map(Identity::as_str) != Some(meta.identity.as_str()) {
            tracing::warn!(
                owner = %meta.identity,
                caller = caller.as_ref().map_or("(none)", Identity::as_str),
                "a stored session presented by an identity that did not open it"
            );
            return Ok(None);
        }
        let params = serde_json::from_value(meta.initialize)?;
        Ok(Some(RmcpSessionState::new(params)))
    }

    async fn store(
        &self,
        session_id: &str,
        state: &RmcpSessionState,
    ) -> Result<(), SessionStoreError> {
        let Some(identity) = caller() else {
            // Only the HTTP front opens sessions, and it always names the caller.
            return Err("no caller identity for a new session".into());
        };
        let meta = SessionMeta {
            identity: identity.as_str().to_string(),
            created_ms: now_ms(),
            initialize: serde_json::to_value(&state.initialize_params)?,
        };
        Ok(self.0.open(session_id, &meta).await?)
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        Ok(self.0.delete(session_id).await?)
    }
}

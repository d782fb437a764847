//! What a session store keeps of one client session (who opened it, when, its `initialize`, its
//! recent events) and how a restored session's usage memory is rebuilt from those events.

use serde::{Deserialize, Serialize};

use super::{LastSearch, RECENT_CALLS, SessionState};

/// Written once, when the session's `initialize` is answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionMeta {
    /// The identity that opened the session: only it may continue it.
    pub identity: String,
    /// Milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// The client's `initialize` params, replayed when the session is restored.
    pub initialize: serde_json::Value,
}

/// One thing a session did, in the order it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SessionEvent {
    /// `ucp_search_tools`: the query and the tools it returned, best first.
    Search {
        at_ms: u64,
        query: String,
        returned: Vec<String>,
    },
    /// A routed `tools/call` (the public tool name) and whether it succeeded.
    Call {
        at_ms: u64,
        tool: String,
        server: String,
        ok: bool,
        ms: u64,
    },
    /// Text pushed with `POST /v1/sessions/{id}/context`.
    Context { at_ms: u64, text: String },
}

/// A stored session: its meta, when it was last seen, its last `max_history` events (oldest
/// first).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionRecord {
    pub id: String,
    #[serde(flatten)]
    pub meta: SessionMeta,
    pub last_seen_ms: u64,
    pub events: Vec<SessionEvent>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl SessionState {
    /// Rebuilds the usage memory a live session would have after `events`: its last search with
    /// the calls that followed it, its recent calls, its dynamic context.
    pub fn replay(&self, events: &[SessionEvent]) {
        for event in events {
            match event {
                SessionEvent::Search {
                    query, returned, ..
                } => {
                    *self.last_search.lock() = Some(LastSearch {
                        query: query.clone(),
                        returned: returned.clone(),
                        called: Vec::new(),
                    });
                    self.push_context(query);
                }
                SessionEvent::Call { tool, ok: true, .. } => {
                    if let Some(search) = self.last_search.lock().as_mut()
                        && search.returned.contains(tool)
                        && !search.called.contains(tool)
                    {
                        search.called.push(tool.clone());
                    }
                    let mut recent = self.recent_calls.lock();
                    recent.retain(|t| t != tool);
                    recent.push_back(tool.clone());
                    if recent.len() > RECENT_CALLS {
                        recent.pop_front();
                    }
                }
                SessionEvent::Call { ok: false, .. } => {}
                SessionEvent::Context { text, .. } => self.push_context(text),
            }
        }
    }
}

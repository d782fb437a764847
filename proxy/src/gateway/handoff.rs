//! Handing an admitted request from the front that admitted it to the MCP handler that serves it.
//!
//! HTTP: the handoff rides in the request's extensions (rmcp copies them into the handler's
//! context). stdio: the front keeps admitted requests by JSON-RPC id until the handler takes them.
//! Whoever holds the exchange last finishes it (runs the response stages), so every request is
//! finished exactly once.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use rmcp::model::RequestId;
use serde_json::Value;

use crate::exchange::Exchange;
use crate::snapshot::Snapshot;

/// An admitted request and the snapshot generation it uses to the end.
pub struct Admitted<S> {
    pub ex: Exchange,
    pub snap: Arc<Snapshot<S>>,
}

/// HTTP: an admitted request in the request's extensions.
pub struct HttpHandoff<S>(Arc<Mutex<Option<Admitted<S>>>>);

impl<S> Clone for HttpHandoff<S> {
    fn clone(&self) -> Self {
        HttpHandoff(self.0.clone())
    }
}

impl<S> HttpHandoff<S> {
    pub fn new(admitted: Admitted<S>) -> Self {
        HttpHandoff(Arc::new(Mutex::new(Some(admitted))))
    }

    /// The admitted request, once: the taker finishes it.
    pub fn take(&self) -> Option<Admitted<S>> {
        self.0.lock().take()
    }
}

/// How many admitted stdio requests may wait for the handler at once; more is a client flooding
/// the gateway with requests it has not read answers for.
pub const MAX_PENDING_STDIO: usize = 4096;

/// stdio: admitted requests waiting for the handler, by JSON-RPC id.
pub struct StdioHandoffs<S> {
    pending: Mutex<HashMap<RequestId, Admitted<S>>>,
}

impl<S> Default for StdioHandoffs<S> {
    fn default() -> Self {
        StdioHandoffs {
            pending: Mutex::new(HashMap::new()),
        }
    }
}

impl<S> StdioHandoffs<S> {
    /// Keeps `admitted` for the handler; gives it back when too many already wait.
    pub fn insert(&self, id: RequestId, admitted: Admitted<S>) -> Option<Admitted<S>> {
        let mut pending = self.pending.lock();
        if pending.len() >= MAX_PENDING_STDIO {
            return Some(admitted);
        }
        pending.insert(id, admitted);
        None
    }

    pub fn take(&self, id: &RequestId) -> Option<Admitted<S>> {
        self.pending.lock().remove(id)
    }

    /// Everything still waiting (the connection ended).
    pub fn drain(&self) -> Vec<Admitted<S>> {
        self.pending.lock().drain().map(|(_, a)| a).collect()
    }
}

/// The rmcp request id of a JSON-RPC id value.
pub fn request_id(id: &Value) -> Option<RequestId> {
    match id {
        Value::Number(n) => n.as_i64().map(RequestId::Number),
        Value::String(s) => Some(RequestId::String(s.as_str().into())),
        _ => None,
    }
}

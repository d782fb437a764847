//! Which identity opened each MCP session, so a session id is no bearer token: another identity
//! presenting it gets the same 404 as an unknown id (session hijack across identities).

use std::collections::HashMap;
use std::sync::Arc;

use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;

use crate::exchange::Identity;

/// Owners of live sessions; pruned of closed sessions as it grows, so it never outgrows them.
pub(super) struct SessionOwners {
    owners: parking_lot::Mutex<Owners>,
    sessions: Arc<LocalSessionManager>,
}

struct Owners {
    by_session: HashMap<Box<str>, Box<str>>,
    /// Prune when the map reaches this size (doubling from the live count after each prune).
    prune_at: usize,
}

const FIRST_PRUNE: usize = 256;

impl SessionOwners {
    pub(super) fn new(sessions: Arc<LocalSessionManager>) -> Self {
        SessionOwners {
            owners: parking_lot::Mutex::new(Owners {
                by_session: HashMap::new(),
                prune_at: FIRST_PRUNE,
            }),
            sessions,
        }
    }

    /// `identity` opened session `id` (its `initialize` was answered with that id).
    pub(super) fn opened(&self, id: &str, identity: &Identity) {
        let full = {
            let owners = self.owners.lock();
            owners.by_session.len() >= owners.prune_at
        };
        let live = if full { self.live_sessions() } else { None };
        let mut owners = self.owners.lock();
        if let Some(live) = live {
            owners.by_session.retain(|id, _| live.contains(&**id));
            owners.prune_at = (owners.by_session.len() * 2).max(FIRST_PRUNE);
        }
        owners
            .by_session
            .insert(id.into(), identity.as_str().into());
    }

    /// Whether `identity` may use session `id`: `Some(true)` when it opened it, `Some(false)`
    /// when another identity did, `None` when this process never saw it opened (rmcp then
    /// answers 404 itself, or restores it from the session store for its owner only).
    pub(super) fn may_use(&self, id: &str, identity: &Identity) -> Option<bool> {
        self.owners
            .lock()
            .by_session
            .get(id)
            .map(|owner| **owner == *identity.as_str())
    }

    /// Whether `identity` may open one more session: fewer than `max_total` live ones overall and
    /// fewer than `max_per_identity` of its own. When rmcp's table is busy, the check passes.
    pub(super) fn may_open(
        &self,
        identity: &Identity,
        max_total: usize,
        max_per_identity: usize,
    ) -> Result<(), String> {
        let Some(live) = self.live_sessions() else {
            return Ok(());
        };
        if live.len() >= max_total {
            return Err(format!(
                "the gateway holds its maximum of {max_total} sessions (session.max_sessions)"
            ));
        }
        let name = identity.as_str();
        let own = self
            .owners
            .lock()
            .by_session
            .iter()
            .filter(|(id, owner)| ***owner == *name && live.contains(&***id))
            .count();
        if own >= max_per_identity {
            return Err(format!(
                "{name} holds its maximum of {max_per_identity} sessions \
                 (session.max_sessions_per_identity); close one (DELETE /mcp) or wait for it to expire"
            ));
        }
        Ok(())
    }

    /// The ids rmcp still holds, when its table is not being written right now.
    fn live_sessions(&self) -> Option<std::collections::HashSet<Arc<str>>> {
        let sessions = self.sessions.sessions.try_read().ok()?;
        Some(sessions.keys().cloned().collect())
    }
}

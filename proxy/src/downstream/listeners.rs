//! Who wants a downstream's unprompted messages: client sessions subscribed to its resources, and
//! sessions that asked for its log messages with `logging/setLevel`.
//!
//! Entries hold the session weakly: a closed session's entries are dropped the next time the list
//! is read, so no session outlives its client here.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use crate::relay::{ClientCall, Subscriber};
use crate::session::SessionState;

#[derive(Default)]
pub(super) struct Listeners {
    /// Downstream resource URI -> the sessions subscribed to it.
    subscribers: parking_lot::Mutex<HashMap<String, Vec<Arc<Subscriber>>>>,
    logs: parking_lot::Mutex<Vec<Arc<ClientCall>>>,
}

impl Listeners {
    /// Adds a subscriber; true when it is the first for `uri` (the downstream must be told).
    pub(super) fn subscribe(&self, uri: &str, subscriber: Subscriber) -> bool {
        let mut all = self.subscribers.lock();
        let list = all.entry(uri.to_string()).or_default();
        list.retain(|s| s.alive() && !s.same_session(&subscriber.session));
        list.push(Arc::new(subscriber));
        list.len() == 1
    }

    /// Removes a session's subscription; true when nobody is left for `uri`.
    pub(super) fn unsubscribe(&self, uri: &str, session: &Weak<SessionState>) -> bool {
        let mut all = self.subscribers.lock();
        let Some(list) = all.get_mut(uri) else {
            return false;
        };
        list.retain(|s| s.alive() && !s.same_session(session));
        if list.is_empty() {
            all.remove(uri);
            return true;
        }
        false
    }

    pub(super) fn subscribers_of(&self, uri: &str) -> Vec<Arc<Subscriber>> {
        let mut all = self.subscribers.lock();
        let Some(list) = all.get_mut(uri) else {
            return Vec::new();
        };
        list.retain(|s| s.alive());
        list.clone()
    }

    pub(super) fn uris(&self) -> Vec<String> {
        self.subscribers.lock().keys().cloned().collect()
    }

    pub(super) fn add_log_listener(&self, call: Arc<ClientCall>) {
        let mut logs = self.logs.lock();
        logs.retain(|c| c.alive() && !c.same_session(&call.session));
        logs.push(call);
    }

    pub(super) fn log_listeners(&self) -> Vec<Arc<ClientCall>> {
        let mut logs = self.logs.lock();
        logs.retain(|c| c.alive());
        logs.clone()
    }
}

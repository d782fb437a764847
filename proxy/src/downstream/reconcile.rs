//! Changing the set of servers while the gateway serves (a config reload): without a failed call.
//!
//! An added server starts. A removed one leaves the map at once (no new call is routed to it) and
//! stops once its calls in flight are answered. A changed one is replaced make-before-break: the
//! new connection starts beside the old one, which keeps serving until the new one is up (or has
//! failed once, or its start-up time has passed); then the new one takes the name and the old one
//! drains and stops. The others keep their connections and processes.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ucp_config::DownstreamConfig;

use super::{Downstream, DownstreamPool, LinkState, Servers, supervise};

/// How long a replacement may take to come up before it takes over anyway (its errors then show
/// in `/health`, as the operator's new config wants it).
const MAX_TAKEOVER_WAIT: Duration = Duration::from_secs(30);
/// How long a server's calls in flight may take, at most, to finish after it was removed or
/// replaced (its own timeout when shorter).
const MAX_DRAIN: Duration = Duration::from_secs(60);

/// What `reconcile` did, by server name.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Replaced by a new connection with the new config (it takes over once up).
    pub restarted: Vec<String>,
    pub unchanged: Vec<String>,
}

impl Reconciled {
    pub fn changed(&self) -> bool {
        !(self.added.is_empty() && self.removed.is_empty() && self.restarted.is_empty())
    }
}

impl DownstreamPool {
    /// Makes the running set match `configs` (see the module comment). Returns at once: new
    /// connections come up, replacements take over and old ones drain in the background.
    pub fn reconcile(self: &Arc<Self>, configs: &[DownstreamConfig]) -> Reconciled {
        let _one_at_a_time = self.reconciling.lock();
        let old = self.servers.load_full();
        let mut pending = self.pending.lock();
        let mut next = Servers::new();
        let mut done = Reconciled::default();
        let mut started = Vec::new();
        let mut replacing = Vec::new();
        let mut draining = Vec::new();
        for config in configs {
            let name: Arc<str> = Arc::from(config.name.as_str());
            let live = old.get(&name);
            // What the server will be once any replacement under way has taken over.
            let wanted = pending.get(&name).or(live);
            if let Some(ds) = wanted.filter(|ds| ds.config == *config) {
                done.unchanged.push(config.name.clone());
                next.insert(name, live.unwrap_or(ds).clone());
                continue;
            }
            // A replacement that is itself out of date never served a call: stop it now.
            if let Some(stale) = pending.remove(&name) {
                stale.stop.cancel();
            }
            let ds = Arc::new(Downstream::new(config.clone(), self.shutdown.child_token()));
            started.push(ds.clone());
            match live {
                None => {
                    done.added.push(config.name.clone());
                    next.insert(name, ds);
                }
                // Nothing to keep serving from: the new one takes the name at once.
                Some(old_ds) if !config.enabled || old_ds.state() != LinkState::Connected => {
                    done.restarted.push(config.name.clone());
                    draining.push(old_ds.clone());
                    next.insert(name, ds);
                }
                Some(old_ds) => {
                    done.restarted.push(config.name.clone());
                    pending.insert(name.clone(), ds.clone());
                    replacing.push((old_ds.clone(), ds));
                    next.insert(name, old_ds.clone());
                }
            }
        }
        for (name, ds) in old.iter() {
            if !next.contains_key(name) {
                if let Some(stale) = pending.remove(name) {
                    stale.stop.cancel();
                }
                draining.push(ds.clone());
                done.removed.push(name.to_string());
            }
        }
        drop(pending);
        self.servers.store(Arc::new(next));
        for ds in started {
            if ds.config.enabled {
                tokio::spawn(supervise(self.clone(), ds, self.backoff));
            }
        }
        for (old_ds, new_ds) in replacing {
            tokio::spawn(take_over(self.clone(), old_ds, new_ds));
        }
        for ds in draining {
            tokio::spawn(drain(ds));
        }
        if done.changed() {
            tracing::info!(added = ?done.added, removed = ?done.removed, restarted = ?done.restarted,
                "downstream servers reconciled");
            self.announce_change();
        }
        done
    }
}

/// Waits for `new` to come up, then puts it in `old`'s place (unless a later reconcile changed
/// the plan) and drains `old`.
async fn take_over(pool: Arc<DownstreamPool>, old: Arc<Downstream>, new: Arc<Downstream>) {
    let deadline = Instant::now()
        + new
            .config
            .timeout
            .clamp(Duration::from_secs(1), MAX_TAKEOVER_WAIT);
    while new.state() == LinkState::Connecting && Instant::now() < deadline {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            _ = new.stop.cancelled() => return,
        }
    }
    {
        let _one_at_a_time = pool.reconciling.lock();
        let mut pending = pool.pending.lock();
        if !pending.get(&new.name).is_some_and(|p| Arc::ptr_eq(p, &new)) {
            // Superseded by a later reconcile, which owns `old` now.
            return;
        }
        pending.remove(&new.name);
        let mut servers = Servers::clone(&pool.servers.load());
        match servers.get(&new.name) {
            Some(live) if Arc::ptr_eq(live, &old) => {
                servers.insert(new.name.clone(), new.clone());
            }
            _ => return,
        }
        pool.servers.store(Arc::new(servers));
    }
    tracing::info!(server = %new.name, state = new.state().as_str(), "replacement took over");
    pool.announce_change();
    drain(old).await;
}

/// Lets the calls in flight to `ds` finish (within its timeout), then stops it.
async fn drain(ds: Arc<Downstream>) {
    let deadline = Instant::now() + ds.config.timeout.min(MAX_DRAIN);
    while ds.active.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left = ds.active.load(Ordering::Acquire);
    if left > 0 {
        tracing::warn!(server = %ds.name, calls = left, "stopping a replaced server with calls still in flight");
    }
    ds.stop.cancel();
}

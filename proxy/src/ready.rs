//! The start-up gate: until every downstream server has listed its tools (or failed), MCP requests
//! wait instead of meeting an "unknown tool" from a server still starting, so a new instance
//! behind a load balancer loses nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// Open once the first catalog is complete; open from the start where nothing needs to wait.
#[derive(Debug)]
pub struct Ready {
    open: AtomicBool,
    opened: Notify,
}

impl Default for Ready {
    fn default() -> Self {
        Ready {
            open: AtomicBool::new(true),
            opened: Notify::new(),
        }
    }
}

impl Ready {
    /// Closes the gate (at start, before any request can arrive).
    pub fn hold(&self) {
        self.open.store(false, Ordering::Release);
    }

    /// Opens it for good; every waiting request goes on.
    pub fn open(&self) {
        self.open.store(true, Ordering::Release);
        self.opened.notify_waiters();
    }

    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Returns at once when open (one atomic load), else when it opens or after `limit`.
    pub async fn wait(&self, limit: Duration) {
        if self.is_open() {
            return;
        }
        let opened = self.opened.notified();
        tokio::pin!(opened);
        // Registered before the second look, so an `open` in between is not missed.
        opened.as_mut().enable();
        if self.is_open() {
            return;
        }
        let _ = tokio::time::timeout(limit, opened).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_held_gate_lets_waiters_go_when_it_opens() {
        let ready = Arc::new(Ready::default());
        assert!(ready.is_open());
        ready.hold();
        let waiter = tokio::spawn({
            let ready = ready.clone();
            async move { ready.wait(Duration::from_secs(30)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "a held gate must hold");
        ready.open();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiter goes on once the gate opens")
            .unwrap();
    }

    #[tokio::test]
    async fn a_gate_that_never_opens_lets_waiters_go_after_the_limit() {
        let ready = Ready::default();
        ready.hold();
        tokio::time::timeout(
            Duration::from_secs(5),
            ready.wait(Duration::from_millis(50)),
        )
        .await
        .expect("the limit ends the wait");
        assert!(!ready.is_open());
    }
}

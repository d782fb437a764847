//! A per-server circuit breaker: after consecutive failures (timeouts, dead connections) the
//! server's calls fail at once for a cool-down, then one probe call decides whether it closes again.
//!
//! Only failures that say the server is unwell count: a JSON-RPC error the server returned is an
//! answer, not a failure.

use std::time::{Duration, Instant};

/// Consecutive failures that open the circuit.
pub const OPEN_AFTER: u32 = 5;
/// How long an open circuit refuses calls before it lets one probe through.
pub const COOL_DOWN: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub(super) struct Breaker {
    inner: parking_lot::Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failures: u32,
    /// Set while open: when calls may probe again.
    open_until: Option<Instant>,
    /// A probe is in flight (half-open): others still get the fast failure.
    probing: bool,
}

/// What `/health` shows for a server's circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Circuit {
    Closed,
    Open,
    HalfOpen,
}

impl Circuit {
    pub fn as_str(self) -> &'static str {
        match self {
            Circuit::Closed => "closed",
            Circuit::Open => "open",
            Circuit::HalfOpen => "half_open",
        }
    }
}

impl Breaker {
    /// Whether a call may go out now; `Err(seconds until a probe may)` while open.
    pub(super) fn admit(&self) -> Result<(), Duration> {
        let mut s = self.inner.lock();
        let Some(until) = s.open_until else {
            return Ok(());
        };
        let now = Instant::now();
        if now < until || s.probing {
            return Err(until.saturating_duration_since(now));
        }
        s.probing = true; // half-open: this call is the probe
        Ok(())
    }

    pub(super) fn success(&self) {
        let mut s = self.inner.lock();
        if s.open_until.is_some() {
            tracing::info!("circuit closed: the probe call succeeded");
        }
        *s = State::default();
    }

    /// Records a failure; true when this one opened (or re-opened) the circuit.
    pub(super) fn failure(&self) -> bool {
        let mut s = self.inner.lock();
        s.failures += 1;
        if s.probing || s.failures >= OPEN_AFTER {
            s.probing = false;
            s.open_until = Some(Instant::now() + COOL_DOWN);
            return true;
        }
        false
    }

    pub(super) fn circuit(&self) -> Circuit {
        let s = self.inner.lock();
        match s.open_until {
            None => Circuit::Closed,
            Some(_) if s.probing => Circuit::HalfOpen,
            Some(until) if Instant::now() >= until => Circuit::HalfOpen,
            Some(_) => Circuit::Open,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_probes_once_and_closes_on_success() {
        let b = Breaker::default();
        for _ in 0..OPEN_AFTER - 1 {
            assert!(!b.failure());
        }
        b.success(); // a success in between resets the count
        for _ in 0..OPEN_AFTER - 1 {
            b.failure();
        }
        assert_eq!(b.circuit(), Circuit::Closed);
        assert!(b.failure(), "the fifth consecutive failure opens it");
        assert_eq!(b.circuit(), Circuit::Open);
        assert!(b.admit().is_err());
        // After the cool-down one probe goes through; others still fail fast.
        b.inner.lock().open_until = Some(Instant::now());
        assert!(b.admit().is_ok());
        assert_eq!(b.circuit(), Circuit::HalfOpen);
        assert!(b.admit().is_err(), "one probe at a time");
        b.success();
        assert_eq!(b.circuit(), Circuit::Closed);
        assert!(b.admit().is_ok());
    }

    #[test]
    fn a_failed_probe_opens_it_again() {
        let b = Breaker::default();
        for _ in 0..OPEN_AFTER {
            b.failure();
        }
        b.inner.lock().open_until = Some(Instant::now());
        assert!(b.admit().is_ok());
        assert!(b.failure(), "the probe failed");
        assert_eq!(b.circuit(), Circuit::Open);
    }
}

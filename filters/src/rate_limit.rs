//! The rate-limit stage: one `governor` bucket per identity (`server.auth.rate_limit`), checked at
//! the head of every request after authentication. Over the limit: HTTP 429 with `Retry-After`,
//! on stdio the same JSON-RPC error (-32029) with the wait in its data.
//!
//! The buckets live in [`Buckets`], kept by `Shared` across pipeline rebuilds (a reload with the
//! same quota keeps every caller's state). They are a bounded LRU: unauthenticated callers are
//! keyed by address, and a flood of addresses evicts the least recently seen bucket instead of
//! growing memory. Client notifications and responses are never refused (a refused answer to a
//! server's sampling request would fail that server's call instead).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use http::StatusCode;
use ucp_config::RateLimitConfig;
use ucp_proxy::{Exchange, Flow, Identity, Method, ProxyError, Refusal, Stage};

/// At most this many buckets are kept (about 100 bytes each).
pub const MAX_BUCKETS: usize = 65_536;

/// Per-identity buckets for one quota.
pub struct Buckets {
    config: RateLimitConfig,
    quota: Quota,
    clock: DefaultClock,
    buckets: parking_lot::Mutex<lru::LruCache<Box<str>, Arc<DefaultDirectRateLimiter>>>,
}

impl Buckets {
    pub fn new(config: &RateLimitConfig, max_buckets: usize) -> Buckets {
        let per_minute = NonZeroU32::new(config.requests_per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.burst).unwrap_or(NonZeroU32::MIN);
        let capacity =
            std::num::NonZeroUsize::new(max_buckets).unwrap_or(std::num::NonZeroUsize::MIN);
        Buckets {
            config: config.clone(),
            quota: Quota::per_minute(per_minute).allow_burst(burst),
            clock: DefaultClock::default(),
            buckets: parking_lot::Mutex::new(lru::LruCache::new(capacity)),
        }
    }

    /// The quota these buckets enforce.
    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    /// Takes one request from `key`'s bucket, or says how long until one is allowed.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let bucket = {
            let mut buckets = self.buckets.lock();
            match buckets.get(key) {
                Some(bucket) => bucket.clone(),
                None => {
                    let bucket = Arc::new(RateLimiter::direct(self.quota));
                    buckets.put(key.into(), bucket.clone());
                    bucket
                }
            }
        };
        bucket
            .check()
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    pub fn len(&self) -> usize {
        self.buckets.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub struct RateLimit {
    buckets: Arc<Buckets>,
    refused: prometheus::IntCounter,
}

impl RateLimit {
    pub fn new(buckets: Arc<Buckets>, refused: prometheus::IntCounter) -> RateLimit {
        RateLimit { buckets, refused }
    }
}

impl Stage for RateLimit {
    fn name(&self) -> &'static str {
        "rate_limit"
    }

    async fn on_request(&self, ex: &mut Exchange) -> Flow {
        if matches!(ex.method, Method::Notification | Method::Response) {
            return Flow::Next;
        }
        let address;
        let key = match &ex.identity {
            Identity::Verified(p) => &*p.name,
            Identity::Local => "local",
            // Unauthenticated callers share a bucket per address.
            Identity::Anonymous => {
                address = ex.peer.map(|p| p.ip().to_string()).unwrap_or_default();
                &address
            }
        };
        match self.buckets.check(key) {
            Ok(()) => Flow::Next,
            Err(wait) => {
                self.refused.inc();
                let config = self.buckets.config();
                tracing::warn!(
                    component = "rate_limit",
                    identity = ex.identity.as_str(),
                    requests_per_minute = config.requests_per_minute,
                    burst = config.burst,
                    "request over the rate limit"
                );
                Flow::Reply(ProxyError::Refused(
                    Refusal::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        format!(
                            "rate limit exceeded ({} requests per minute, burst {})",
                            config.requests_per_minute, config.burst
                        ),
                    )
                    .retry_after(wait),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests;

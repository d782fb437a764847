//! The buckets: burst then refusal with a wait, one bucket per identity, a bounded key set, and
//! the same buckets after a pipeline rebuild with the same quota.

use std::net::SocketAddr;

use ucp_config::RateLimitConfig;
use ucp_proxy::{Exchange, Flow, Method, Stage, Transport};

use super::*;

fn limit(rpm: u32, burst: u32) -> RateLimitConfig {
    RateLimitConfig {
        requests_per_minute: rpm,
        burst,
    }
}

#[test]
fn a_burst_passes_then_the_next_request_waits() {
    let buckets = Buckets::new(&limit(60, 3), 16);
    for _ in 0..3 {
        assert!(buckets.check("team-a").is_ok());
    }
    let wait = buckets.check("team-a").unwrap_err();
    // 60 per minute: one request per second comes back.
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(1),
        "{wait:?}"
    );
    // Another identity has its own bucket.
    assert!(buckets.check("team-b").is_ok());
}

#[test]
fn the_key_set_is_bounded() {
    let buckets = Buckets::new(&limit(60, 1), 100);
    for i in 0..10_000 {
        let _ = buckets.check(&format!("10.0.{}.{}", i / 256, i % 256));
    }
    assert_eq!(buckets.len(), 100);
}

#[tokio::test]
async fn the_stage_refuses_with_429_and_retry_after_and_keys_anonymous_callers_by_address() {
    let stage = RateLimit::new(
        std::sync::Arc::new(Buckets::new(&limit(1, 1), 16)),
        prometheus::IntCounter::new("t", "t").unwrap(),
    );
    let request = |peer: &str| {
        let mut ex = Exchange::new(Transport::Http, Method::ToolsCall);
        ex.peer = Some(peer.parse::<SocketAddr>().unwrap());
        ex
    };
    assert!(matches!(
        stage.on_request(&mut request("10.0.0.1:1000")).await,
        Flow::Next
    ));
    // Same address, another port: the same caller.
    let Flow::Reply(error) = stage.on_request(&mut request("10.0.0.1:2000")).await else {
        panic!("second request within the minute passed");
    };
    assert_eq!(error.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after = error
        .headers()
        .into_iter()
        .find(|(name, _)| name == http::header::RETRY_AFTER)
        .map(|(_, v)| v.parse::<u64>().unwrap())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(error.code(), ucp_proxy::error::code::RATE_LIMITED);
    assert!(matches!(
        stage.on_request(&mut request("10.0.0.2:1000")).await,
        Flow::Next
    ));
    // Notifications are never refused.
    let mut note = request("10.0.0.1:3000");
    note.method = Method::Notification;
    assert!(matches!(stage.on_request(&mut note).await, Flow::Next));
}

#[test]
fn buckets_survive_a_pipeline_rebuild_with_the_same_quota() {
    let shared = crate::Shared::new(None, None, 8, 1 << 20, prometheus::Registry::new()).unwrap();
    let first = shared.buckets_for(&limit(10, 2));
    assert!(first.check("x").is_ok() && first.check("x").is_ok());
    let again = shared.buckets_for(&limit(10, 2));
    assert!(again.check("x").is_err(), "a rebuild reset the bucket");
    let changed = shared.buckets_for(&limit(10, 5));
    assert!(changed.check("x").is_ok(), "a new quota starts new buckets");
}

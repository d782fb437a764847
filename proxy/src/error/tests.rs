//! The one wire mapping: each kind of error gets its JSON-RPC code, HTTP status, headers and retry flag.

use std::time::Duration;

use http::StatusCode;
use serde_json::{Value, json};

use super::*;

fn body(e: &ProxyError) -> Value {
    serde_json::from_slice(&e.jsonrpc_body(&json!(7))).unwrap()
}

#[test]
fn a_stage_refusal_maps_to_its_status_headers_and_a_jsonrpc_code() {
    let unauthorized =
        ProxyError::Refused(Refusal::new(StatusCode::UNAUTHORIZED, "no token").challenge("Bearer"));
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unauthorized.code(), code::UNAUTHORIZED);
    assert_eq!(
        unauthorized.headers(),
        vec![(http::header::WWW_AUTHENTICATE, "Bearer".to_string())]
    );
    assert!(!unauthorized.retry_safe());

    let limited = ProxyError::Refused(
        Refusal::new(StatusCode::TOO_MANY_REQUESTS, "slow down")
            .retry_after(Duration::from_millis(1500)),
    );
    assert_eq!(limited.code(), code::RATE_LIMITED);
    assert_eq!(
        limited.headers(),
        vec![(http::header::RETRY_AFTER, "2".to_string())]
    );
    assert!(limited.retry_safe());
    let b = body(&limited);
    assert_eq!(b["id"], 7);
    assert_eq!(b["error"]["code"], code::RATE_LIMITED);
    assert_eq!(b["error"]["message"], "slow down");
    assert_eq!(b["error"]["data"]["status"], 429);
}

#[test]
fn input_errors_are_client_errors_and_downstream_failures_name_the_server() {
    assert_eq!(ProxyError::Parse("x".into()).code(), -32700);
    assert_eq!(
        ProxyError::TooLarge { limit: 10 }.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let timeout = ProxyError::Timeout {
        server: "time".into(),
        seconds: 2.0,
    };
    assert_eq!(timeout.code(), -32603);
    assert_eq!(timeout.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(!timeout.retry_safe(), "a timed-out call may have run");
    assert_eq!(body(&timeout)["error"]["data"]["server"], "time");
    let not_ready = ProxyError::IndexNotReady;
    assert_eq!(not_ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(not_ready.retry_safe());
    assert_eq!(not_ready.headers()[0].0, http::header::RETRY_AFTER);
}

#[test]
fn a_downstream_error_passes_through_unchanged() {
    let remote = McpError::new(ErrorCode(-32042), "custom", Some(json!({"k": 1})));
    let e = ProxyError::Remote(remote.clone());
    assert_eq!(e.to_mcp(), remote);
    assert_eq!(e.code(), -32042);
}

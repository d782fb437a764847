//! The admission phase on the real HTTP front (pingora + rmcp, on a loopback port): every kind of
//! request passes the stages at its head, a stage's answer goes out with its status and headers,
//! and the response stages run for every request, refused ones included. The stage here is a probe
//! that refuses by method; the real stages are tested in `ucp-filters` and end to end.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::testing::probe_gateway;

struct NoOps;

impl OpsEndpoints for NoOps {
    fn health(&self) -> Plain {
        Plain::json(StatusCode::OK, &serde_json::json!({"status": "healthy"}))
    }
    fn metrics(&self) -> Plain {
        self.health()
    }
}

async fn front(log: &Arc<Mutex<Vec<String>>>) -> std::net::SocketAddr {
    let gateway = probe_gateway(log, Transport::Http);
    let settings = HttpSettings {
        max_body_bytes: 1 << 20,
        allowed_origins: Vec::new(),
        allowed_hosts: vec!["127.0.0.1".into()],
        metrics_path: Some("/metrics".into()),
        ops_only: false,
        admit_ops_endpoints: true,
        max_sessions: 10_000,
        max_sessions_per_identity: 1_000,
        limits: Default::default(),
    };
    let front = HttpFront::new(
        gateway,
        Arc::new(LocalSessionManager::default()),
        NoOps,
        settings,
    );
    let listener = bind("127.0.0.1", 0).unwrap();
    let addr = listener.local_addr;
    let (tx, rx) = tokio::sync::watch::channel(false);
    std::mem::forget(tx);
    tokio::spawn(listener.serve(front, rx));
    addr
}

/// One HTTP/1.1 request on its own connection: (status, head, body).
async fn request(addr: std::net::SocketAddr, head: &str, body: &str) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let raw = format!(
        "{head}\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

const MCP_HEADERS: &str =
    "Content-Type: application/json\r\nAccept: application/json, text/event-stream";

#[tokio::test]
async fn every_request_passes_the_head_and_refusals_carry_status_and_headers() {
    let log = Arc::default();
    let addr = front(&log).await;

    let (status, head, body) = request(
        addr,
        "POST /v1/select HTTP/1.1\r\nContent-Type: application/json",
        r#"{"context":"x"}"#,
    )
    .await;
    assert_eq!(status, 401, "{head}{body}");
    assert!(
        head.contains("www-authenticate: bearer realm=\"ucp\""),
        "{head}"
    );
    assert!(body.contains("who are you"), "{body}");

    let (status, head, _) =
        request(addr, "GET /mcp HTTP/1.1\r\nAccept: text/event-stream", "").await;
    assert_eq!(status, 429);
    assert!(head.contains("retry-after: 3"), "{head}");

    let (status, head, _) = request(addr, "GET /health HTTP/1.1", "").await;
    assert_eq!(status, 503);
    assert!(head.contains("retry-after: 1"), "{head}");

    // initialize passes the head phase and reaches rmcp.
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let (status, head, _) =
        request(addr, &format!("POST /mcp HTTP/1.1\r\n{MCP_HEADERS}"), init).await;
    assert_eq!(status, 200, "{head}");

    // A refused JSON-RPC request gets a JSON-RPC error with its id and the stage's status.
    let call = r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"forbidden"}}"#;
    let (status, _, body) =
        request(addr, &format!("POST /mcp HTTP/1.1\r\n{MCP_HEADERS}"), call).await;
    assert_eq!(status, 403);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["id"], 9);
    assert_eq!(body["error"]["code"], crate::error::code::FORBIDDEN);

    // DELETE of an unknown session: admitted, rmcp answers, the front finishes it.
    let (status, _, _) = request(addr, "DELETE /mcp HTTP/1.1\r\nMcp-Session-Id: nope", "").await;
    assert!(status > 0, "answered");

    let log = log.lock().clone();
    for line in [
        "request POST /v1/select",
        "response POST /v1/select refused 401",
        "request GET /mcp",
        "response GET /mcp refused 429",
        "request GET /health",
        "response GET /health refused 503",
        "request initialize",
        "response initialize ok",
        "request tools/call",
        "response tools/call refused 403",
        "request DELETE /mcp",
        "response DELETE /mcp ok",
    ] {
        assert!(
            log.iter().any(|l| l == line),
            "`{line}` missing from {log:#?}"
        );
    }
    let requests = log.iter().filter(|l| l.starts_with("request ")).count();
    let responses = log.iter().filter(|l| l.starts_with("response ")).count();
    assert_eq!(requests, responses, "every request finished once: {log:#?}");
}

#[tokio::test]
async fn malformed_input_is_answered_and_still_finished() {
    let log = Arc::default();
    let addr = front(&log).await;
    let (status, _, body) = request(
        addr,
        &format!("POST /mcp HTTP/1.1\r\n{MCP_HEADERS}"),
        "{not json",
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("-32700"), "{body}");
    let (status, _, _) = request(addr, "POST /v1/sessions/context HTTP/1.1", "{}").await;
    assert_eq!(
        status, 404,
        "a malformed session path is not found, never a panic"
    );
    let (status, _, _) = request(addr, "POST /v1/sessions//context HTTP/1.1", "{}").await;
    assert_eq!(status, 404);
    let log = log.lock().clone();
    assert!(
        log.iter().any(|l| l == "response /mcp status 400"),
        "{log:#?}"
    );
}

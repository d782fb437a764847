//! The stdio front runs the same admission stages with the local identity: a refused message gets
//! the matching JSON-RPC error under its id, an admitted one reaches rmcp, and every message is
//! finished by the response stages.

use std::sync::Arc;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::*;
use crate::testing::probe_gateway;

#[tokio::test]
async fn stdio_messages_pass_the_stages_and_refusals_are_jsonrpc_errors() {
    let log = Arc::default();
    let gateway = probe_gateway(&log, Transport::Stdio);
    let (client, server) = tokio::io::duplex(1 << 16);
    let (server_in, server_out) = tokio::io::split(server);
    let serving = tokio::spawn(serve(gateway, server_in, server_out, 1 << 20));
    let (client_in, mut client_out) = tokio::io::split(client);
    let mut lines = BufReader::new(client_in).lines();
    let mut send = async |line: &str| {
        client_out.write_all(line.as_bytes()).await.unwrap();
        client_out.write_all(b"\n").await.unwrap();
    };
    send(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#).await;
    let init: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(init["id"], 1);
    send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).await;
    send(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"forbidden"}}"#).await;
    let refused: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(refused["id"], 2);
    assert_eq!(refused["error"]["code"], crate::error::code::FORBIDDEN);
    send(r#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#).await;
    let listed: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(listed["id"], 3);
    assert!(listed["result"]["tools"].is_array(), "{listed}");
    client_out.shutdown().await.unwrap();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), serving).await;
    let log = log.lock().clone();
    for line in [
        "request initialize",
        "response initialize ok",
        "request tools/call",
        "response tools/call refused 403",
        "request tools/list",
        "response tools/list ok",
    ] {
        assert!(
            log.iter().any(|l| l == line),
            "`{line}` missing from {log:#?}"
        );
    }
    let requests = log.iter().filter(|l| l.starts_with("request ")).count();
    let responses = log.iter().filter(|l| l.starts_with("response ")).count();
    assert_eq!(requests, responses, "{log:#?}");
}

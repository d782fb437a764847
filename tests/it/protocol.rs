//! MCP protocol behaviour of the fronts: protocol revisions, session end, list-changed propagation,
//! and the built-in default config.

use std::time::Duration;

use rmcp::service::NotificationContext;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};

use crate::harness::*;

/// A client that reports each notifications/tools/list_changed it receives.
struct Watcher(tokio::sync::mpsc::UnboundedSender<()>);

impl ClientHandler for Watcher {
    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        let _ = self.0.send(());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn downstream_list_changed_resyncs_and_reaches_clients() {
    let fixture = repo_file("tests/fixtures/named_tools_server.py");
    let config = http_config(
        &[
            stdio_server("dyn", &python_bin(), &[&fixture, "first"]),
            stdio_server("time", &time_bin(), &[]),
        ],
        "",
    );
    let gw = GatewayProcess::start(&config);
    wait_connected(&gw.url(""), &["dyn", "time"]).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let client = Watcher(tx)
        .serve(StreamableHttpClientTransport::from_uri(gw.mcp_url()))
        .await
        .expect("connect");
    let before: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(
        before.contains(&"dyn__first".to_string()) && !before.contains(&"dyn__second".to_string()),
        "{before:?}"
    );

    let mut args = serde_json::Map::new();
    args.insert("text".into(), "second".into());
    client
        .call_tool(rmcp::model::CallToolRequestParams::new("dyn__grow").with_arguments(args))
        .await
        .expect("grow");
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("the client is told that the tool list changed")
        .unwrap();
    let after: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(after.contains(&"dyn__second".to_string()), "{after:?}");
    assert!(
        after.contains(&"time__get_current_time".to_string()),
        "other servers keep their tools: {after:?}"
    );
    let mut call_args = serde_json::Map::new();
    call_args.insert("text".into(), "hello".into());
    let result = client
        .call_tool(rmcp::model::CallToolRequestParams::new("dyn__second").with_arguments(call_args))
        .await
        .expect("the new tool is routed");
    assert_eq!(
        serde_json::to_value(&result).unwrap()["content"][0]["text"],
        "second says hello"
    );
    client.cancel().await.ok();
}

async fn raw_initialize(url: &str, version: &str) -> (u16, Option<String>, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let session = response
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_string());
    let body = response.text().await.unwrap();
    let message = body
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|m| m["id"] == json!(1))
        .or_else(|| serde_json::from_str(&body).ok())
        .unwrap_or(Value::Null);
    (status, session, message)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_initialize_revision_is_negotiated_and_delete_ends_the_session() {
    let gw = GatewayProcess::start(&http_config(&[stdio_server("time", &time_bin(), &[])], ""));
    wait_connected(&gw.url(""), &["time"]).await;
    let url = gw.mcp_url();
    for version in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
        let (status, session, message) = raw_initialize(&url, version).await;
        assert_eq!(status, 200, "{version}: {message}");
        assert_eq!(
            message["result"]["protocolVersion"],
            json!(version),
            "{message}"
        );
        assert!(session.is_some(), "{version}: a session id is issued");
    }
    // DELETE ends a session; the id is then unknown (404).
    let (_, session, _) = raw_initialize(&url, "2025-06-18").await;
    let session = session.unwrap();
    let http = reqwest::Client::new();
    let deleted = http
        .delete(&url)
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    let after = http
        .post(&url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-06-18")
        .body(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status().as_u16(), 404);
    // An unknown MCP-Protocol-Version header on a live session is refused with 400.
    let (_, session, _) = raw_initialize(&url, "2025-06-18").await;
    let bad_version = http
        .post(&url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", session.unwrap())
        .header("mcp-protocol-version", "1999-01-01")
        .body(r#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_version.status().as_u16(), 400);
    // A newer client's server/discover gets a real answer listing the supported revisions.
    let discover = http
        .post(&url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "server/discover")
        .body(
            json!({"jsonrpc": "2.0", "id": 9, "method": "server/discover", "params": {"_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {}}}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let body = discover.text().await.unwrap();
    assert!(
        body.contains("supportedVersions") && body.contains("2025-11-25"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_without_config_runs_the_built_in_default() {
    let gw = GatewayProcess::start_built_in();
    let health = wait_connected(&gw.url(""), &["everything", "memory", "time"]).await;
    assert!(
        health["metrics"]["tools_indexed"].as_u64().unwrap() > 20,
        "{health}"
    );
    assert!(
        gw.log_text()
            .contains("claude mcp add --transport http ucp"),
        "prints how to connect: {}",
        gw.log_text()
    );
    let client = connect_http(&gw.mcp_url()).await;
    let echo = call_text(&client, "everything__echo", json!({"message": "default"}))
        .await
        .unwrap();
    assert_eq!(echo, "Echo: default");
    let time = call_text(
        &client,
        "time__get_current_time",
        json!({"timezone": "UTC"}),
    )
    .await
    .unwrap();
    assert!(time.contains("UTC"), "{time}");
    client.cancel().await.ok();
}

/// A server that lists a tool only to 2026-07-28 clients: the gateway's link speaks 2026-07-28 to it
/// (`server/discover`), so the tool is in the catalog and callable, while a client that connects to
/// the same server with `initialize` does not see it.
#[tokio::test(flavor = "multi_thread")]
async fn a_tool_offered_only_to_2026_07_28_clients_is_in_the_catalog() {
    let fixture = repo_file("tests/fixtures/named_tools_server.py");
    let server = format!(
        "{}    env:\n      NAMED_TOOLS_MODERN_ONLY: fresh\n",
        stdio_server("new", &python_bin(), &[&fixture, "old"])
    );
    let gw = GatewayProcess::start(&http_config(&[server], ""));
    wait_connected(&gw.url(""), &["new"]).await;
    let client = connect_http(&gw.mcp_url()).await;
    let names = tool_names(&client).await;
    assert!(
        names.contains(&"new__fresh".to_string()) && names.contains(&"new__old".to_string()),
        "{names:?}"
    );
    let said = call_text(&client, "new__fresh", json!({"text": "hi"}))
        .await
        .expect("tools/call of the 2026-07-28-only tool");
    assert_eq!(said, "fresh says hi");
    client.cancel().await.ok();

    // The same server, asked with `initialize` (2025-11-25), keeps the tool to itself.
    let direct = tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(python_bin())
            .arg(repo_file("tests/clients/mcp_client.py"))
            // The SDK's stdio client passes no environment of ours to the server: `env` does.
            .args([
                "--mode",
                "legacy",
                "stdio",
                "--",
                "env",
                "NAMED_TOOLS_MODERN_ONLY=fresh",
            ])
            .args([&python_bin(), &fixture, "old"])
            .output()
            .expect("run mcp_client.py");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(direct["protocol_version"], "2025-11-25", "{direct}");
    assert_eq!(direct["tools"], json!(["old", "grow"]), "{direct}");
}

/// A client that reports the URI of each notifications/resources/updated it receives.
struct Updates(tokio::sync::mpsc::UnboundedSender<String>);

impl ClientHandler for Updates {
    async fn on_resource_updated(
        &self,
        params: rmcp::model::ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let _ = self.0.send(params.uri);
    }
}

/// A stdio server that speaks 2026-07-28 has no `resources/subscribe`: the gateway follows the
/// resource with a `subscriptions/listen` stream naming it, and an older client that subscribed
/// through the gateway gets the updates, until it unsubscribes.
#[tokio::test(flavor = "multi_thread")]
async fn a_resource_of_a_2026_07_28_stdio_server_can_be_subscribed_and_unsubscribed() {
    let fixture = repo_file("tests/fixtures/named_tools_server.py");
    let server = format!(
        "{}    env:\n      NAMED_TOOLS_WATCHED: \"1\"\n",
        stdio_server("new", &python_bin(), &[&fixture, "old"])
    );
    let gw = GatewayProcess::start(&http_config(&[server], ""));
    wait_connected(&gw.url(""), &["new"]).await;
    let (tx, mut updates) = tokio::sync::mpsc::unbounded_channel();
    let client = Updates(tx)
        .serve(StreamableHttpClientTransport::from_uri(gw.mcp_url()))
        .await
        .expect("connect");
    let touch = || client.call_tool(rmcp::model::CallToolRequestParams::new("new__touch"));
    #[allow(
        deprecated,
        reason = "resources/subscribe is what the older client uses"
    )]
    client
        .peer()
        .subscribe(rmcp::model::SubscribeRequestParams::new("test://watched"))
        .await
        .expect("resources/subscribe through the gateway");
    touch().await.expect("touch");
    let uri = tokio::time::timeout(Duration::from_secs(20), updates.recv())
        .await
        .expect("an update of the subscribed resource")
        .unwrap();
    assert_eq!(uri, "test://watched");

    #[allow(deprecated, reason = "the counterpart of resources/subscribe")]
    client
        .peer()
        .unsubscribe(rmcp::model::UnsubscribeRequestParams::new("test://watched"))
        .await
        .expect("resources/unsubscribe through the gateway");
    touch().await.expect("touch after unsubscribing");
    let late = tokio::time::timeout(Duration::from_secs(3), updates.recv()).await;
    assert!(late.is_err(), "an update after unsubscribing: {late:?}");
    client.cancel().await.ok();
}

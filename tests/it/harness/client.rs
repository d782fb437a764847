//! Clients for tests: an rmcp client over Streamable HTTP, raw HTTP, and polling helpers.

use std::future::Future;
use std::time::{Duration, Instant};

use rmcp::model::CallToolRequestParams;
use rmcp::service::{RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

pub type McpClient = RunningService<RoleClient, ()>;

/// An initialized rmcp client session against `url` (a gateway's or a server's `/mcp`).
pub async fn connect_http(url: &str) -> McpClient {
    ().serve(StreamableHttpClientTransport::from_uri(url.to_string()))
        .await
        .unwrap_or_else(|e| panic!("rmcp client could not initialize against {url}: {e}"))
}

/// The same, presenting `Authorization: Bearer <token>` on every request.
pub async fn connect_http_with_token(url: &str, token: &str) -> McpClient {
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_string()).auth_header(token);
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .unwrap_or_else(|e| {
            panic!("rmcp client with a token could not initialize against {url}: {e}")
        })
}

/// Public tool names the client sees.
pub async fn tool_names(client: &McpClient) -> Vec<String> {
    client
        .list_all_tools()
        .await
        .expect("tools/list")
        .into_iter()
        .map(|t| t.name.to_string())
        .collect()
}

/// Calls a tool and returns the concatenated text content, or the JSON-RPC error.
pub async fn call_text(
    client: &McpClient,
    name: &str,
    args: Value,
) -> Result<String, ServiceError> {
    let params = CallToolRequestParams::new(name.to_string())
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    let result = client.call_tool(params).await?;
    Ok(content_text(
        &serde_json::to_value(&result).expect("serialize result"),
    ))
}

/// The concatenated text blocks of a tool result's `content`.
pub fn content_text(result: &Value) -> String {
    result["content"]
        .as_array()
        .map(|blocks| {
            blocks
                .iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join("")
        })
        .unwrap_or_default()
}

/// The JSON-RPC error code inside a service error, if it is one.
pub fn error_code(error: &ServiceError) -> Option<i32> {
    match error {
        ServiceError::McpError(e) => Some(e.code.0),
        _ => None,
    }
}

pub async fn get_json(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.expect("GET");
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

/// Polls `check` until it returns `Some`, or panics with `what` after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Calls a tool until it succeeds (for a server that is still coming up); returns its text.
pub async fn call_eventually(client: &McpClient, name: &str, args: Value) -> String {
    eventually(Duration::from_secs(60), name, || {
        let args = args.clone();
        async move { call_text(client, name, args).await.ok() }
    })
    .await
}

/// Waits until `/health` reports every listed server as connected.
pub async fn wait_connected(base: &str, servers: &[&str]) -> Value {
    eventually(
        Duration::from_secs(60),
        "downstream servers to connect",
        || async {
            let (_, health) = get_json(&format!("{base}/health")).await;
            servers
                .iter()
                .all(|s| health["components"]["downstream_servers"][s] == json!("connected"))
                .then_some(health)
        },
    )
    .await
}

pub const ACCEPT: &str = "application/json, text/event-stream";

pub async fn post(
    url: &str,
    body: impl Into<reqwest::Body>,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", ACCEPT);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.body(body).send().await.expect("POST");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap_or_default())
}

/// JSON-RPC messages in a body that is either plain JSON or an SSE stream.
pub fn messages(body: &str) -> Vec<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        return vec![v];
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect()
}

/// A 2025-06-18 `initialize` request with id 1.
pub fn initialize_body() -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
    .to_string()
}

/// `ucp hash-api-key` of `key`: what `server.auth.api_keys[].hash` takes.
pub fn hash_api_key(key: &str) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_ucp"))
        .arg("hash-api-key")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("ucp hash-api-key");
    writeln!(child.stdin.take().expect("stdin"), "{key}").expect("write the key");
    let out = child.wait_with_output().expect("ucp hash-api-key");
    assert!(out.status.success(), "ucp hash-api-key failed");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

/// The tool names of a brief `ucp_search_tools` answer, best first: each tool's first line is
/// `name(arguments)`, its description the indented line under it.
pub fn searched_names(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| !line.starts_with(' '))
        .filter_map(|line| line.split_once('(').map(|(name, _)| name.to_string()))
        .collect()
}

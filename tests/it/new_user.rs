//! Regression tests for the defects found when the project was tried as a new user would: SIGHUP,
//! forged log lines, the default log's noise, closed sessions that kept memory, oversized
//! `initialize` params, over-long queries, the session-context path without an id, and `/health`
//! counting the catalog instead of the index.

use std::io::{BufRead, Write};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn sighup_keeps_the_http_gateway_serving() {
    let gw = GatewayProcess::start(&http_config(&[], ""));
    let pid = gw.child.id();
    signal(pid, "HUP");
    signal(pid, "HUP");
    eventually(Duration::from_secs(10), "the SIGHUP log line", || async {
        gw.log_text()
            .contains("SIGHUP: configuration reloaded")
            .then_some(())
    })
    .await;
    let (status, health) = get_json(&gw.url("/health")).await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "healthy");
}

#[test]
fn sighup_keeps_the_stdio_gateway_serving() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stdio.yaml");
    std::fs::write(
        &path,
        format!(
            "server:\n  transport: stdio\ntool_zoo:\n  persist_dir: {:?}\ndownstream_servers: []\n",
            dir.path().join("zoo")
        ),
    )
    .unwrap();
    let (mut child, mut stdin, mut stdout) = spawn_stdio_gateway(&path);
    let mut ask = |line: &str| {
        writeln!(stdin, "{line}").unwrap();
        let mut reply = String::new();
        stdout.read_line(&mut reply).unwrap();
        serde_json::from_str::<Value>(&reply).unwrap_or(Value::Null)
    };
    let init = ask(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
    );
    assert_eq!(init["id"], 1, "{init}");
    signal(child.id(), "HUP");
    std::thread::sleep(Duration::from_millis(300));
    let reply = ask(concat!(
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        "\n",
        r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#
    ));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(reply["id"], 2, "the gateway answered after SIGHUP: {reply}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newline_in_a_request_cannot_forge_a_log_line() {
    let config = http_config(
        &[],
        "  log_format: text\n  log_output: [\"file:{dir}/ucp.log\"]\n",
    );
    let gw = GatewayProcess::start(&config);
    let client = connect_http(&gw.mcp_url()).await;
    let forged = "nope\n2026-12-01T00:00:00.000000Z  INFO ucp: FORGED admin logged in";
    let error = call_text(&client, forged, json!({})).await.unwrap_err();
    assert_eq!(error_code(&error), Some(-32602));
    let log_path = gw.dir().join("ucp.log");
    let text = eventually(Duration::from_secs(10), "the access log line", || async {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        text.contains("FORGED").then_some(text)
    })
    .await;
    assert!(
        !text
            .lines()
            .any(|l| l.contains("FORGED") && !l.contains("nope\\n")),
        "a line was forged:\n{text}"
    );
    assert!(text.contains(r"nope\n2026-12-01"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_log_is_one_short_line_per_event() {
    // No log_level: the default (info). server-everything's initialize carries long instructions.
    let config = format!(
        "server:\n  transport: http\n  host: 127.0.0.1\n  port: 0\ntool_zoo:\n  persist_dir: \"{{dir}}/zoo\"\ndownstream_servers:\n{}",
        stdio_server("everything", &everything_bin(), &["stdio"])
    );
    let gw = GatewayProcess::start(&config);
    wait_connected(&gw.url(""), &["everything"]).await;
    let client = connect_http(&gw.mcp_url()).await;
    tool_names(&client).await;
    drop(client);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logs = gw.log_text();
    let longest = logs.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 600, "a {longest}-byte log line:\n{logs}");
    assert!(!logs.contains("Service initialized"), "{logs}");
    assert!(logs.contains("downstream connected"), "{logs}");
}

/// Opens a session with `client_name` as its clientInfo.name, says initialized, and DELETEs it.
async fn open_and_close(http: &reqwest::Client, url: &str, client_name: &str) {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": client_name, "version": "1"}}});
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(init.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let id = response.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let _ = response.text().await;
    let notified = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", &id)
        .header("mcp-protocol-version", "2025-06-18")
        .body(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string())
        .send()
        .await
        .unwrap();
    assert!(notified.status().is_success());
    let deleted = http
        .delete(url)
        .header("mcp-session-id", &id)
        .header("mcp-protocol-version", "2025-06-18")
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_sessions_give_their_memory_back_and_huge_initialize_params_are_refused() {
    // rmcp's in-memory sessions (a session store's write buffer would grow RSS by design).
    let gw = GatewayProcess::start(&format!(
        "{}session:\n  backend: memory\n",
        http_config(&[], "")
    ));
    let http = reqwest::Client::new();
    let url = gw.mcp_url();
    // 48 KiB of clientInfo per session: a session that stays in memory after it closes shows.
    let name = "n".repeat(48 * 1024);
    const BATCH: usize = 300;
    for _ in 0..BATCH {
        open_and_close(&http, &url, &name).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_first = rss_kib(gw.child.id());
    for _ in 0..BATCH {
        open_and_close(&http, &url, &name).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_second = rss_kib(gw.child.id());
    let (_, health) = get_json(&gw.url("/health")).await;
    assert_eq!(health["metrics"]["active_sessions"], 0, "{health}");
    // A leak keeps >= 48 KiB x 300 = 14 MiB more after the second batch; reuse keeps it flat.
    let grown = after_second.saturating_sub(after_first);
    assert!(
        grown < 6 * 1024,
        "RSS grew {grown} KiB over {BATCH} closed sessions ({after_first} -> {after_second} KiB)"
    );

    let huge = "h".repeat(1024 * 1024);
    let init = json!({"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": huge, "version": "1"}}});
    let response = http
        .post(&url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(init.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], 7);
    assert_eq!(body["error"]["code"], -32602);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("initialize params exceed"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn over_long_queries_and_a_missing_session_id_get_clear_errors() {
    let config = http_config(&[stdio_server("time", &time_bin(), &[])], "")
        .replace("exposure: all", "exposure: search");
    let gw = GatewayProcess::start(&config);
    wait_connected(&gw.url(""), &["time"]).await;
    let http = reqwest::Client::new();
    let select = |context: String| {
        http.post(gw.url("/v1/select"))
            .header("content-type", "application/json")
            .body(json!({ "context": context }).to_string())
            .send()
    };
    eventually(
        Duration::from_secs(60),
        "an index with the time tools",
        || async {
            let r = select("what time is it".into()).await.ok()?;
            let body: Value = r.json().await.ok()?;
            (!body["tools"].as_array()?.is_empty()).then_some(())
        },
    )
    .await;
    let long = "time ".repeat(1000);
    let response = select(long.clone()).await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("tool_zoo.max_query_bytes"),
        "{body}"
    );
    let client = connect_http(&gw.mcp_url()).await;
    let error = call_text(&client, "ucp_search_tools", json!({ "query": long }))
        .await
        .unwrap_err();
    assert_eq!(error_code(&error), Some(-32602), "{error}");

    let response = http
        .post(gw.url("/v1/sessions/context"))
        .body(r#"{"context":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "no panic, a 404");
    let (status, _) = get_json(&gw.url("/health")).await;
    assert_eq!(status, 200, "still serving");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_says_indexing_until_the_index_covers_the_catalog() {
    const TOOLS: u64 = 600;
    let many = format!(
        "  - name: many\n    command: {:?}\n    args: [{:?}, \"{TOOLS}\"]\n    timeout: 60\n",
        python_bin(),
        repo_file("tests/fixtures/many_tools_server.py")
    );
    let config = http_config(&[many], "").replace("exposure: all", "exposure: search");
    let gw = GatewayProcess::start(&config);
    // While the catalog has the tools but the index does not yet: indexing, with progress.
    let seen = eventually(Duration::from_secs(60), "health while indexing", || async {
        let (_, health) = get_json(&gw.url("/health")).await;
        (health["metrics"]["tools_in_catalog"] == json!(TOOLS)
            && health["components"]["tool_zoo"] == "indexing")
            .then_some(health)
    })
    .await;
    assert!(
        seen["metrics"]["tools_indexed"].as_u64().unwrap() < TOOLS,
        "{seen}"
    );
    let progress = &seen["metrics"]["indexing"];
    assert_eq!(progress["total"], json!(TOOLS), "{seen}");
    assert!(progress["embedded"].as_u64().unwrap() <= TOOLS, "{seen}");
    let done = eventually(Duration::from_secs(180), "the whole index", || async {
        let (_, health) = get_json(&gw.url("/health")).await;
        (health["components"]["tool_zoo"] == "healthy").then_some(health)
    })
    .await;
    assert_eq!(done["metrics"]["tools_indexed"], json!(TOOLS), "{done}");
    assert!(done["metrics"].get("indexing").is_none(), "{done}");
}

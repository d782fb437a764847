//! `router.exposure: search`: the meta-tools over the real servers' tools, `/v1/select`, and the
//! embedding store that makes a restart re-embed nothing.

mod agent;

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::*;

pub(crate) fn search_config(zoo: &str) -> String {
    let memory = tool("node/node_modules/.bin/mcp-server-memory");
    let servers = [
        stdio_server("everything", &everything_bin(), &["stdio"]),
        stdio_server("time", &time_bin(), &[]),
        stdio_server("memory", &memory, &[]),
    ];
    format!(
        "server:\n  transport: http\n  host: 127.0.0.1\n  port: 0\n  log_level: debug\nrouter:\n  exposure: search\n  mode: hybrid\n  pinned: [\"time__convert_time\"]\ntool_zoo:\n  persist_dir: {zoo:?}\ndownstream_servers:\n{}",
        servers.concat()
    )
}

/// Every `tool index built` log line so far, as (tools, embedded, from_store).
fn index_builds(gw: &GatewayProcess) -> Vec<(u64, u64, u64)> {
    gw.log_text()
        .lines()
        .filter(|l| l.contains("tool index built"))
        .filter_map(|line| {
            let field = |name: &str| -> Option<u64> {
                let rest = line.split(&format!(" {name}=")).nth(1)?;
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse()
                    .ok()
            };
            Some((field("tools")?, field("embedded")?, field("from_store")?))
        })
        .collect()
}

/// Waits for an index of the whole catalog (`tools` tools); returns the tools embedded and the
/// tools read back from the store, summed over every build so far (servers connect one by one and
/// each build embeds only what the store does not have yet).
pub(crate) async fn wait_full_index(gw: &GatewayProcess, tools: u64) -> (u64, u64) {
    eventually(Duration::from_secs(120), "the full tool index", || async {
        let builds = index_builds(gw);
        builds.iter().any(|b| b.0 == tools).then(|| {
            (
                builds.iter().map(|b| b.1).sum(),
                builds.iter().map(|b| b.2).sum(),
            )
        })
    })
    .await
}

/// The catalog's size once it stops changing (server-everything adds the tools that depend on
/// what its client declared a moment after it connects) and the index covers it.
pub(crate) async fn settled_catalog(gw: &GatewayProcess) -> u64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let mut previous = None;
    loop {
        let (_, health) = get_json(&gw.url("/health")).await;
        let now = health["metrics"]["tools_in_catalog"].as_u64();
        let indexed = health["components"]["tool_zoo"] != "indexing";
        if indexed && now.is_some() && now == previous {
            return now.unwrap_or(0);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the catalog never settled: {health}"
        );
        previous = now;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

async fn search(client: &McpClient, query: &str) -> Vec<String> {
    let text = call_text(client, "ucp_search_tools", json!({"query": query, "k": 3}))
        .await
        .expect("search");
    searched_names(&text)
}

#[tokio::test(flavor = "multi_thread")]
async fn search_exposure_lists_meta_tools_and_finds_the_right_tools() {
    let zoo = tempfile::tempdir().unwrap();
    let zoo_dir = zoo.path().display().to_string();
    let gw = GatewayProcess::start(&search_config(&zoo_dir));
    wait_connected(&gw.url(""), &["everything", "time", "memory"]).await;
    let tools = settled_catalog(&gw).await;
    let client = connect_http(&gw.mcp_url()).await;
    assert_eq!(
        tool_names(&client).await,
        ["time__convert_time", "ucp_call_tool", "ucp_search_tools"]
    );

    // Wait for the index of the whole catalog, then ask in plain words.
    let (embedded, _) = wait_full_index(&gw, tools).await;
    assert_eq!(embedded, tools, "a fresh store embeds each tool once");
    let hits = search(&client, "what time is it in Tokyo right now").await;
    assert_eq!(hits[0], "time__get_current_time", "{hits:?}");
    let hits = search(
        &client,
        "remember a new person as an entity in the knowledge graph",
    )
    .await;
    assert!(
        hits.contains(&"memory__create_entities".to_string()),
        "{hits:?}"
    );
    let hits = search(&client, "add two numbers together").await;
    assert_eq!(hits[0], "everything__get-sum", "{hits:?}");

    // The same search again is answered from the selection cache.
    let metric = |text: &str, name: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().last()?.parse().ok())
            .unwrap_or(0)
    };
    let before = reqwest::get(gw.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        search(&client, "add two numbers together").await[0],
        "everything__get-sum"
    );
    let after = reqwest::get(gw.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let hits = "ucp_router_cache_hits_total";
    assert_eq!(metric(&after, hits), metric(&before, hits) + 1, "{after}");
    assert!(
        metric(&after, "ucp_tool_zoo_cache_misses_total") >= 3,
        "{after}"
    );

    // Call through the meta-tool, and directly by name (not listed, still callable).
    let args = json!({"name": "everything__echo", "arguments": {"message": "via meta"}});
    assert_eq!(
        call_text(&client, "ucp_call_tool", args).await.unwrap(),
        "Echo: via meta"
    );
    let direct = call_text(&client, "everything__echo", json!({"message": "direct"})).await;
    assert_eq!(direct.unwrap(), "Echo: direct");
    let err = call_text(&client, "ucp_search_tools", json!({}))
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some(-32602), "{err}");

    // REST selection with per-signal scores.
    let response: Value = reqwest::Client::new()
        .post(gw.url("/v1/select"))
        .json(&json!({"context": "convert 3pm New York time to London time", "k": 3}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = &response["tools"][0];
    assert_eq!(first["name"], "time__convert_time", "{response}");
    let (bm25, dense) = (
        first["scores"]["bm25"].as_f64().unwrap(),
        first["scores"]["dense"].as_f64().unwrap(),
    );
    assert!(bm25 > 0.0 && dense > 0.2, "{response}");
    assert!(
        first["input_schema"]["properties"].is_object(),
        "{response}"
    );
    client.cancel().await.ok();
    drop(gw);

    // Restart on the same store: nothing is embedded again.
    let again = GatewayProcess::start(&search_config(&zoo_dir));
    wait_connected(&again.url(""), &["everything", "time", "memory"]).await;
    let (embedded, from_store) = wait_full_index(&again, tools).await;
    assert_eq!(
        embedded, 0,
        "a restart with an unchanged catalog embeds nothing"
    );
    assert!(from_store >= tools, "{from_store}");
}

#[test]
fn index_and_search_commands_work_on_the_configured_servers() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("ucp.yaml");
    let zoo = dir.path().join("zoo").display().to_string();
    std::fs::write(&cfg, search_config(&zoo)).unwrap();
    let ucp = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ucp"))
            .args(args)
            .arg("-c")
            .arg(&cfg)
            .env("UCP_HOME", ucp_home())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let first = ucp(&["index"]);
    assert!(
        // 27: server-everything lists its sampling, elicitation and roots tools to the gateway,
        // which declares it can relay those requests.
        first.contains("indexed 27 tools") && first.contains("27 embedded"),
        "{first}"
    );
    let second = ucp(&["index"]);
    assert!(
        second.contains("0 embedded, 27 already in the store"),
        "{second}"
    );
    let table = ucp(&["search", "what time is it in Tokyo", "-k", "3"]);
    let first_row = table.lines().nth(2).unwrap_or_default();
    assert!(first_row.contains("time__get_current_time"), "{table}");
}

async fn select(gw: &GatewayProcess, context: &str) -> Value {
    reqwest::Client::new()
        .post(gw.url("/v1/select"))
        .json(&json!({"context": context, "k": 5}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn learned_score(selection: &Value, tool: &str) -> f64 {
    selection["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == tool)
        .and_then(|t| t["scores"]["learned"].as_f64())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_after_a_search_is_learned_and_survives_a_restart() {
    let zoo = tempfile::tempdir().unwrap();
    let zoo_dir = zoo.path().display().to_string();
    // Cached selections expire after 1 s here, so the learned score shows up quickly.
    let config = search_config(&zoo_dir)
        .replace("  mode: hybrid\n", "  mode: hybrid\n  cache:\n    ttl: 1\n");
    let gw = GatewayProcess::start(&config);
    let health = wait_connected(&gw.url(""), &["everything", "time", "memory"]).await;
    wait_full_index(&gw, health["metrics"]["tools_indexed"].as_u64().unwrap()).await;
    let client = connect_http(&gw.mcp_url()).await;
    let query = "add up a couple of values";
    assert_eq!(
        learned_score(&select(&gw, query).await, "everything__get-sum"),
        0.0
    );
    let hits = search(&client, query).await;
    assert!(
        hits.contains(&"everything__get-sum".to_string()),
        "{hits:?}"
    );
    let sum = call_text(
        &client,
        "ucp_call_tool",
        json!({"name": "everything__get-sum", "arguments": {"a": 1, "b": 2}}),
    )
    .await;
    assert_eq!(sum.unwrap(), "The sum of 1 and 2 is 3.");
    let learned = eventually(
        Duration::from_secs(20),
        "the call to be learned",
        || async {
            let score = learned_score(&select(&gw, query).await, "everything__get-sum");
            (score > 0.0).then_some(score)
        },
    )
    .await;
    client.cancel().await.ok();
    drop(gw);

    let again = GatewayProcess::start(&config);
    let health = wait_connected(&again.url(""), &["everything", "time", "memory"]).await;
    wait_full_index(&again, health["metrics"]["tools_indexed"].as_u64().unwrap()).await;
    let after_restart = learned_score(&select(&again, query).await, "everything__get-sum");
    assert!(
        (after_restart - learned).abs() < 1e-4,
        "{after_restart} vs {learned}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tools_called_together_in_one_session_boost_each_other_in_the_next() {
    let zoo = tempfile::tempdir().unwrap();
    let gw = GatewayProcess::start(&search_config(&zoo.path().display().to_string()));
    let health = wait_connected(&gw.url(""), &["everything", "time", "memory"]).await;
    wait_full_index(&gw, health["metrics"]["tools_indexed"].as_u64().unwrap()).await;

    // Session one uses the time tool, then echo.
    let first = connect_http(&gw.mcp_url()).await;
    call_text(&first, "time__get_current_time", json!({"timezone": "UTC"}))
        .await
        .unwrap();
    call_text(&first, "everything__echo", json!({"message": "hi"}))
        .await
        .unwrap();
    first.cancel().await.ok();

    // Session two uses the time tool; ranked for that session (`/v1/select` with its
    // Mcp-Session-Id), echo now carries a co-occurrence score; ranked for no session, none.
    let mut second = RawSession::new(&gw, "no auth here");
    second.initialize().await;
    let (status, _) = second
        .call("time__get_current_time", json!({"timezone": "UTC"}))
        .await;
    assert_eq!(status, 200);
    let id = second.session.clone().expect("a session id");
    let co_occurrence = |session: Option<String>| {
        let url = gw.url("/v1/select");
        async move {
            let headers: Vec<(&str, &str)> = session
                .as_deref()
                .map(|id| ("mcp-session-id", id))
                .into_iter()
                .collect();
            let body = json!({"context": "repeat a message back", "k": 5}).to_string();
            let (status, _, body) = post(&url, body, &headers).await;
            let v: Value = serde_json::from_str(&body).ok().filter(|_| status == 200)?;
            v["tools"]
                .as_array()?
                .iter()
                .find(|t| t["name"] == "everything__echo")
                .and_then(|t| t["scores"]["co_occurrence"].as_f64())
        }
    };
    let score = eventually(Duration::from_secs(20), "a co-occurrence score", || async {
        co_occurrence(Some(id.clone())).await.filter(|s| *s > 0.0)
    })
    .await;
    assert!(score > 0.0 && score < 1.0, "{score}");
    assert_eq!(
        co_occurrence(None).await,
        Some(0.0),
        "no session, no co-occurrence"
    );
}

/// A client that reports each notifications/tools/list_changed it receives.
struct ListWatcher(tokio::sync::mpsc::UnboundedSender<()>);

impl rmcp::ClientHandler for ListWatcher {
    async fn on_tool_list_changed(
        &self,
        _context: rmcp::service::NotificationContext<rmcp::RoleClient>,
    ) {
        let _ = self.0.send(());
    }
}

async fn raw_post(url: &str, session: Option<&str>, body: Value) -> (Option<String>, Vec<Value>) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(id) = session {
        request = request
            .header("mcp-session-id", id)
            .header("mcp-protocol-version", "2025-06-18");
    }
    let response = request.body(body.to_string()).send().await.unwrap();
    let id = response
        .headers()
        .get("mcp-session-id")
        .map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    let messages = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect();
    (id, messages)
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamic_exposure_follows_the_sessions_context() {
    use rmcp::ServiceExt;
    let zoo = tempfile::tempdir().unwrap();
    let config = search_config(&zoo.path().display().to_string())
        .replace(
            "  exposure: search\n",
            "  exposure: dynamic\n  max_tools: 3\n",
        )
        .replace("  pinned: [\"time__convert_time\"]\n", "");
    let gw = GatewayProcess::start(&config);
    let health = wait_connected(&gw.url(""), &["everything", "time", "memory"]).await;
    wait_full_index(&gw, health["metrics"]["tools_indexed"].as_u64().unwrap()).await;

    // An rmcp session: no context yet, so only the meta-tools; a search gives it context, the
    // client is told its list changed, and the list now holds the selected tools.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let client = ListWatcher(tx)
        .serve(rmcp::transport::StreamableHttpClientTransport::from_uri(
            gw.mcp_url(),
        ))
        .await
        .unwrap();
    let names = |tools: Vec<rmcp::model::Tool>| {
        tools
            .into_iter()
            .map(|t| t.name.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(client.list_all_tools().await.unwrap()),
        ["ucp_call_tool", "ucp_search_tools"]
    );
    let params = rmcp::model::CallToolRequestParams::new("ucp_search_tools").with_arguments(
        json!({"query": "what time is it in Tokyo"})
            .as_object()
            .unwrap()
            .clone(),
    );
    client.call_tool(params).await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("tools/list_changed")
        .unwrap();
    let listed = names(client.list_all_tools().await.unwrap());
    assert!(
        listed.contains(&"time__get_current_time".to_string()),
        "{listed:?}"
    );
    assert_eq!(listed.len(), 2 + 3, "meta-tools + max_tools: {listed:?}");
    client.cancel().await.ok();

    // A raw session gets its context from POST /v1/sessions/{id}/context.
    let url = gw.mcp_url();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}});
    let (id, _) = raw_post(&url, None, init).await;
    let id = id.unwrap();
    raw_post(
        &url,
        Some(&id),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let tool_names = |messages: Vec<Value>| -> Vec<String> {
        messages
            .iter()
            .find(|m| m["id"] == json!(2))
            .map(|m| {
                m["result"]["tools"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        tool_names(raw_post(&url, Some(&id), list.clone()).await.1).len(),
        2
    );
    let http = reqwest::Client::new();
    let pushed = http
        .post(gw.url(&format!("/v1/sessions/{id}/context")))
        .json(&json!({"context": "I need to remember facts about people in a knowledge graph"}))
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status().as_u16(), 200);
    let listed = tool_names(raw_post(&url, Some(&id), list).await.1);
    assert!(
        listed.iter().any(|n| n.starts_with("memory__")),
        "{listed:?}"
    );
    let unknown = http
        .post(gw.url("/v1/sessions/nope/context"))
        .json(&json!({"context": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
}

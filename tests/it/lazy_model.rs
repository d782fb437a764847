//! The embedding model loads only when a mode needs it (issue 10, point 5): keyword mode and
//! `exposure: all` without a selection never map ONNX Runtime; a reload to `hybrid`, or the first
//! `/v1/select` under `exposure: all`, loads it off the request path and semantic ranking follows.
//! The downstream is the paginated fixture server, so the catalog also shows that the gateway
//! follows `nextCursor`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::*;

/// 40 tools of the scale pool from line 100 on, listed 15 per page (three pages).
const TOOLS: u64 = 40;

fn paged_server() -> String {
    format!(
        "  - name: pool\n    command: {:?}\n    args: [{:?}, \"{TOOLS}\", \"--offset\", \"100\", \"--page-size\", \"15\", \"--schemas\"]\n    timeout: 60\n",
        python_bin(),
        repo_file("tests/fixtures/many_tools_server.py")
    )
}

fn config(mode: &str, exposure: &str) -> String {
    http_config(&[paged_server()], "").replace(
        "exposure: all",
        &format!("exposure: {exposure}\n  mode: {mode}"),
    )
}

/// Whether the gateway process has ONNX Runtime mapped.
fn runtime_mapped(gw: &GatewayProcess) -> bool {
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", gw.child.id())).unwrap();
    maps.contains("libonnxruntime")
}

/// /health once the index covers the whole (paginated) catalog and is no longer being built.
async fn indexed(gw: &GatewayProcess) -> Value {
    eventually(Duration::from_secs(120), "the whole index", || async {
        let (_, health) = get_json(&gw.url("/health")).await;
        (health["metrics"]["tools_in_catalog"] == json!(TOOLS)
            && health["metrics"]["tools_indexed"] == json!(TOOLS)
            && health["components"]["tool_zoo"] != "indexing")
            .then_some(health)
    })
    .await
}

async fn select(gw: &GatewayProcess, context: &str) -> Value {
    let body = json!({"context": context, "k": 3}).to_string();
    let (status, _, text) = post(&gw.url("/v1/select"), body, &[]).await;
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn top_dense(selection: &Value) -> f64 {
    selection["tools"][0]["scores"]["dense"]
        .as_f64()
        .unwrap_or_else(|| panic!("{selection}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn keyword_mode_never_loads_the_model_and_a_reload_to_hybrid_does() {
    let gw = GatewayProcess::start(&config("keyword", "search"));
    let health = indexed(&gw).await;
    assert_eq!(health["components"]["tool_zoo"], "healthy", "{health}");
    // Keyword selection works without the model.
    let keyword = select(&gw, "airplanes by brand").await;
    assert!(
        keyword["tools"][0]["name"]
            .as_str()
            .unwrap()
            .contains("Airplanes"),
        "{keyword}"
    );
    assert_eq!(top_dense(&keyword), 0.0, "{keyword}");
    let (_, health) = get_json(&gw.url("/health")).await;
    assert_eq!(
        health["metrics"]["embedding_model"], "not_loaded",
        "{health}"
    );
    assert!(!runtime_mapped(&gw), "keyword mode mapped ONNX Runtime");

    std::fs::write(
        gw.dir().join("ucp_config.yaml"),
        own_session_store(&config("hybrid", "search"))
            .replace("{dir}", &gw.dir().display().to_string()),
    )
    .unwrap();
    signal(gw.child.id(), "HUP");
    let loaded = eventually(Duration::from_secs(120), "the model loaded", || async {
        let (_, health) = get_json(&gw.url("/health")).await;
        (health["metrics"]["embedding_model"] == "loaded"
            && health["components"]["tool_zoo"] == "healthy")
            .then_some(health)
    })
    .await;
    assert_eq!(loaded["metrics"]["tools_indexed"], json!(TOOLS), "{loaded}");
    assert!(runtime_mapped(&gw));
    // Semantic ranking now: the query shares no word with the tool's name.
    let hybrid = select(&gw, "which jets does Boeing make").await;
    assert!(top_dense(&hybrid) > 0.2, "{hybrid}");
}

#[tokio::test(flavor = "multi_thread")]
async fn exposure_all_loads_the_model_only_once_a_selection_is_asked() {
    let gw = GatewayProcess::start(&config("hybrid", "all"));
    let health = indexed(&gw).await;
    assert_eq!(health["components"]["tool_zoo"], "healthy", "{health}");
    // Proxying alone: every tool listed and callable, no model.
    let client = connect_http(&gw.mcp_url()).await;
    let names = tool_names(&client).await;
    assert_eq!(names.len() as u64, TOOLS, "all three pages: {names:?}");
    let first = names.iter().find(|n| n.starts_with("pool__t100_")).unwrap();
    let reply = call_text(&client, first, json!({"brand": "Airbus"})).await;
    assert_eq!(reply.unwrap(), first.trim_start_matches("pool__"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, health) = get_json(&gw.url("/health")).await;
    assert_eq!(
        health["metrics"]["embedding_model"], "not_loaded",
        "{health}"
    );
    assert!(!runtime_mapped(&gw), "exposure: all mapped ONNX Runtime");

    // The first selection is answered at once (by keywords) and makes the model wanted.
    let first_answer = select(&gw, "airplanes by brand").await;
    assert!(
        first_answer["tools"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );
    eventually(Duration::from_secs(120), "the model loaded", || async {
        let (_, health) = get_json(&gw.url("/health")).await;
        (health["metrics"]["embedding_model"] == "loaded"
            && health["components"]["tool_zoo"] == "healthy")
            .then_some(())
    })
    .await;
    let hybrid = select(&gw, "which jets does Boeing make").await;
    assert!(top_dense(&hybrid) > 0.2, "{hybrid}");
    client.cancel().await.ok();
}

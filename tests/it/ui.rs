//! The operator page (`/ui`) from outside: off by default (404 like any unknown path), turned on
//! by a SIGHUP reload, behind the same API key as every route (401 without it), and looked at in
//! a real headless browser (Debian's chromium driven by playwright-core,
//! tests/clients/ui_check.mjs) in front of real MCP servers: server states, a real search among
//! the recent selections, the reloads, the catalog search and "try a query" with each signal's
//! score. The browser's screenshots are kept under the target dir and their paths printed.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::*;

const KEY: &str = "ui-operator-key-5f0c2a9e41d7b3";
const QUERY: &str = "what time is it in Tokyo right now";
const CONTEXT: &str = "add two numbers together";

/// Two real servers, search exposure, one API key (identity `operator`); `ui` is the
/// `server.ui` mapping's lines, if any; `extra` more `server` keys.
fn config(ui: &str, extra: &str, hash: &str) -> String {
    let servers = [
        stdio_server("everything", &everything_bin(), &["stdio"]),
        stdio_server("time", &time_bin(), &[]),
    ];
    let server_keys = format!(
        "{extra}{ui}  auth:\n    enabled: true\n    provider: apikey\n    api_keys:\n      - {{identity: operator, hash: {hash:?}}}\n"
    );
    http_config(&servers, &server_keys).replace("exposure: all", "exposure: search")
}

/// `GET url` with the headers given: status, content type, body.
async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut request = reqwest::Client::new().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("GET");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (
        status,
        content_type,
        response.text().await.unwrap_or_default(),
    )
}

/// A counter's value on `/metrics` (0 when absent).
async fn counter(gw: &GatewayProcess, name: &str) -> f64 {
    metrics_text(gw)
        .await
        .lines()
        .find(|l| l.split([' ', '{']).next() == Some(name))
        .and_then(|l| l.split_whitespace().last()?.parse().ok())
        .unwrap_or(0.0)
}

/// Rewrites the config, sends SIGHUP and waits until `/metrics` counts the outcome.
async fn reload(gw: &GatewayProcess, config: &str, metric: &str) {
    let before = counter(gw, metric).await;
    let config = own_session_store(config).replace("{dir}", &gw.dir().display().to_string());
    std::fs::write(gw.dir().join("ucp_config.yaml"), config).unwrap();
    signal(gw.child.id(), "HUP");
    eventually(Duration::from_secs(30), metric, || async {
        (counter(gw, metric).await > before).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_page_shows_servers_selections_reloads_catalog_and_rankings_in_a_browser() {
    let hash = hash_api_key(KEY);
    // Off by default: with the key, /ui is an unknown path.
    let gw = GatewayProcess::start(&config("", "", &hash));
    let key = [("x-api-key", KEY)];
    let (status, _, _) = get(&gw.url("/ui"), &key).await;
    assert_eq!(status, 404, "the page is off by default");
    let (status, _, _) = get(&gw.url("/ui"), &[]).await;
    assert_eq!(status, 401, "admission comes first, as for any path");
    wait_connected(&gw.url(""), &["everything", "time"]).await;

    // A real search through the meta-tool and a `/v1/select`, as the key's identity.
    let client = connect_http_with_token(&gw.mcp_url(), KEY).await;
    let text = eventually(Duration::from_secs(120), "the tool index", || async {
        call_text(&client, "ucp_search_tools", json!({"query": QUERY, "k": 3}))
            .await
            .ok()
    })
    .await;
    assert_eq!(
        searched_names(&text).first().map(String::as_str),
        Some("time__get_current_time"),
        "{text}"
    );
    client.cancel().await.ok();
    let selected = select_as(&gw.url(""), KEY, CONTEXT)
        .await
        .expect("POST /v1/select");
    assert_eq!(selected[0]["name"], "everything__get-sum");

    // Turned on by a reload; then a reload that fails (the old config stays, the page too).
    let on = config("  ui:\n    enabled: true\n", "", &hash);
    reload(&gw, &on, "ucp_config_reloads_total").await;
    let broken = config(
        "  ui:\n    enabled: true\n",
        "  max_body_bytes: 10\n",
        &hash,
    );
    reload(&gw, &broken, "ucp_config_reload_failures_total").await;

    // Same auth as every route; plain HTML that runs no script; unknown pages 404.
    let (status, _, body) = get(&gw.url("/ui"), &[]).await;
    assert_eq!(status, 401, "{body}");
    let (status, _, _) = get(&gw.url("/ui"), &[("x-api-key", "not-the-key")]).await;
    assert_eq!(status, 401);
    let response = reqwest::Client::new()
        .get(gw.url("/ui"))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = response.text().await.unwrap();
    assert!(!body.contains("<script"), "{body}");
    let (status, _, _) = get(&gw.url("/ui/nothing-here"), &key).await;
    assert_eq!(status, 404);

    // The browser.
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui");
    std::fs::create_dir_all(&out).unwrap();
    for name in ["ui-overview.png", "ui-catalog.png", "ui-try.png"] {
        let _ = std::fs::remove_file(out.join(name));
    }
    let run = Command::new("node")
        .arg(repo_file("tests/clients/ui_check.mjs"))
        .args([&gw.url(""), KEY])
        .arg(&out)
        .args([QUERY, CONTEXT])
        .env("UCP_HOME", ucp_home())
        .output()
        .expect("run node tests/clients/ui_check.mjs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "ui_check.mjs failed: {stderr}\n{}",
        gw.log_text()
    );
    let summary: Value = serde_json::from_slice(&run.stdout).expect("ui_check.mjs prints JSON");
    let servers: Vec<&str> = summary["servers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["data"]["server"].as_str())
        .collect();
    assert_eq!(servers, ["everything", "time"], "{summary}");
    assert_eq!(
        summary["ranked"]["rows"][0][1], "time__convert_time",
        "{summary}"
    );
    assert!(
        summary["catalog"]["rows"]
            .as_array()
            .unwrap()
            .contains(&json!("time__convert_time")),
        "{summary}"
    );
    // The browser's own requests carried the key: the gateway's access log names its identity.
    let logs = gw.log_text();
    assert!(
        logs.lines()
            .any(|l| l.contains("GET /ui") && l.contains("operator")),
        "{logs}"
    );
    for shot in summary["screenshots"].as_array().unwrap() {
        let path = PathBuf::from(shot.as_str().unwrap());
        let png = std::fs::read(&path).expect("the screenshot");
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{} is not a page's screenshot",
            path.display()
        );
        println!("screenshot: {}", path.display());
    }
}

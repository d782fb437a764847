//! The per-identity tool policy from outside: two API-key identities see different `tools/list`,
//! searches and `/v1/select` results, and a denied call (direct or through `ucp_call_tool`) is an
//! error naming the tool that never reaches the server.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::*;

const KEY_A: &str = "policy-key-team-a-0123456789";
const KEY_B: &str = "policy-key-team-b-0123456789";

struct Fixture {
    gw: GatewayProcess,
    calls: tempfile::NamedTempFile,
}

/// team-a (group `a`) may use the `alpha_*` tools but `alpha_write`; team-b only `beta_*`.
fn start(exposure: &str) -> Fixture {
    let calls = tempfile::NamedTempFile::new().unwrap();
    let server = stdio_server(
        "named",
        &python_bin(),
        &[
            &repo_file("tests/fixtures/named_tools_server.py"),
            "alpha_read",
            "alpha_write",
            "beta_read",
        ],
    ) + &format!(
        "    env:\n      NAMED_TOOLS_CALL_LOG: {:?}\n",
        calls.path().display().to_string()
    );
    let auth = format!(
        "  auth:\n    enabled: true\n    provider: apikey\n    api_keys:\n      - {{identity: team-a, hash: {:?}, groups: [a]}}\n      - {{identity: team-b, hash: {:?}}}\n    policy:\n      default: deny\n      rules:\n        - groups: [a]\n          allow: [\"named__alpha_*\"]\n          deny: [named__alpha_write]\n        - identities: [team-b]\n          allow: [\"named__beta_*\"]\n",
        hash_api_key(KEY_A),
        hash_api_key(KEY_B)
    );
    let config = http_config(&[server], &auth).replace(
        "exposure: all",
        &format!("exposure: {exposure}\n  pinned: [named__beta_read]"),
    );
    Fixture {
        gw: GatewayProcess::start(&config),
        calls,
    }
}

impl Fixture {
    fn calls(&self) -> String {
        std::fs::read_to_string(self.calls.path()).unwrap()
    }

    async fn select(&self, key: &str, context: &str) -> Vec<String> {
        let (status, _, body) = post(
            &self.gw.url("/v1/select"),
            json!({"context": context, "k": 10}).to_string(),
            &[("x-api-key", key)],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        body["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    }
}

fn denied(result: Result<String, rmcp::service::ServiceError>, tool: &str) {
    let error = result.expect_err("a denied call succeeded");
    assert_eq!(error_code(&error), Some(-32003), "{error}");
    assert!(error.to_string().contains(tool), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_identity_lists_and_calls_only_its_tools() {
    let fx = start("all");
    let a = connect_http_with_token(&fx.gw.mcp_url(), KEY_A).await;
    let b = connect_http_with_token(&fx.gw.mcp_url(), KEY_B).await;
    call_eventually(&a, "named__alpha_read", json!({"text": "ready"})).await;
    assert_eq!(tool_names(&a).await, vec!["named__alpha_read"]);
    assert_eq!(tool_names(&b).await, vec!["named__beta_read"]);
    denied(
        call_text(&a, "named__alpha_write", json!({"text": "x"})).await,
        "named__alpha_write",
    );
    denied(
        call_text(&a, "named__beta_read", json!({"text": "x"})).await,
        "named__beta_read",
    );
    denied(
        call_text(&b, "named__alpha_read", json!({"text": "x"})).await,
        "named__alpha_read",
    );
    assert_eq!(
        call_text(&b, "named__beta_read", json!({"text": "b"}))
            .await
            .unwrap(),
        "beta_read says b"
    );
    assert_eq!(
        fx.calls(),
        "alpha_read ready\nbeta_read b\n",
        "a denied call reached the server"
    );
    let _ = a.cancel().await;
    let _ = b.cancel().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn searches_selects_and_ucp_call_tool_follow_the_policy() {
    let fx = start("search");
    let a = connect_http_with_token(&fx.gw.mcp_url(), KEY_A).await;
    let b = connect_http_with_token(&fx.gw.mcp_url(), KEY_B).await;
    call_eventually(&b, "named__beta_read", json!({"text": "ready"})).await;
    // Search exposure: the meta-tools, and the pinned tool only for whom it is allowed.
    assert_eq!(
        tool_names(&a).await,
        vec!["ucp_call_tool", "ucp_search_tools"]
    );
    assert_eq!(
        tool_names(&b).await,
        vec!["named__beta_read", "ucp_call_tool", "ucp_search_tools"]
    );
    let selected = eventually(
        Duration::from_secs(60),
        "an index with the tools",
        || async {
            let names = fx.select(KEY_A, "read").await;
            (!names.is_empty()).then_some(names)
        },
    )
    .await;
    assert_eq!(selected, vec!["named__alpha_read"]);
    assert_eq!(
        fx.select(KEY_B, "read write").await,
        vec!["named__beta_read"]
    );
    let found = call_text(
        &a,
        "ucp_search_tools",
        json!({"query": "read write", "k": 10}),
    )
    .await
    .unwrap();
    assert_eq!(searched_names(&found), vec!["named__alpha_read"], "{found}");
    denied(
        call_text(
            &a,
            "ucp_call_tool",
            json!({"name": "named__beta_read", "arguments": {"text": "x"}}),
        )
        .await,
        "named__beta_read",
    );
    assert_eq!(
        call_text(
            &a,
            "ucp_call_tool",
            json!({"name": "named__alpha_read", "arguments": {"text": "via"}})
        )
        .await
        .unwrap(),
        "alpha_read says via"
    );
    assert_eq!(fx.calls(), "beta_read ready\nalpha_read via\n");
    let _ = a.cancel().await;
    let _ = b.cancel().await;
}

/// A `dynamic` session (protocol before 2026-07-28) lists its context's top tools: only the ones
/// its caller may use, whatever the context asks for.
#[tokio::test(flavor = "multi_thread")]
async fn a_dynamic_session_lists_only_allowed_tools() {
    let fx = start("dynamic");
    let url = fx.gw.mcp_url();
    for (key, allowed) in [(KEY_A, "named__alpha_read"), (KEY_B, "named__beta_read")] {
        let (status, headers, body) = post(&url, initialize_body(), &[("x-api-key", key)]).await;
        assert_eq!(status, 200, "{body}");
        let id = headers["mcp-session-id"].to_str().unwrap().to_string();
        let in_session = [("x-api-key", key), ("mcp-session-id", id.as_str())];
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert_eq!(
            post(&url, initialized.to_string(), &in_session).await.0,
            202
        );
        let context = json!({"context": "alpha read, alpha write and beta read"}).to_string();
        let (status, _, body) = post(
            &fx.gw.url(&format!("/v1/sessions/{id}/context")),
            context,
            &[("x-api-key", key)],
        )
        .await;
        assert!(status < 300, "{status} {body}");
        let names = eventually(Duration::from_secs(60), "the session's tools", || {
            let url = url.clone();
            async move {
                let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string();
                let (_, _, body) = post(&url, list, &in_session).await;
                let reply = messages(&body).into_iter().next()?;
                let names: Vec<String> = reply["result"]["tools"]
                    .as_array()?
                    .iter()
                    .filter_map(|t| t["name"].as_str().map(str::to_string))
                    .collect();
                names.contains(&allowed.to_string()).then_some(names)
            }
        })
        .await;
        let named: Vec<&String> = names.iter().filter(|n| n.starts_with("named__")).collect();
        assert_eq!(named, vec![allowed], "{key}: {names:?}");
    }
}

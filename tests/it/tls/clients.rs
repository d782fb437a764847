//! MCP clients over TLS: curl, reqwest and rmcp on h2 and HTTP/1.1, and an SSE response over h2.

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use super::pki::run;
use super::*;

#[test]
fn curl_gets_health_and_initializes_over_https_on_h2_and_http1() {
    let gw = tls_gateway(&[], "");
    let dir = gw.dir();
    let base = format!("https://localhost:{}", gw.addr.port());
    for (flag, version) in [("--http2", "2"), ("--http1.1", "1.1")] {
        let health = run(
            dir,
            "curl",
            &[
                "-sS",
                "--cacert",
                "ca.pem",
                flag,
                "-w",
                "\n%{http_version}",
                &format!("{base}/health"),
            ],
        );
        let text = String::from_utf8_lossy(&health.stdout);
        assert!(health.status.success(), "{text}{:?}", health.stderr);
        let (body, got) = text.rsplit_once('\n').unwrap();
        assert_eq!(got, version, "{flag}: {text}");
        assert_eq!(
            serde_json::from_str::<Value>(body).unwrap()["status"],
            "healthy"
        );

        let init = run(
            dir,
            "curl",
            &[
                "-sS",
                "--cacert",
                "ca.pem",
                flag,
                "-D",
                "-",
                "-H",
                "content-type: application/json",
                "-H",
                "accept: application/json, text/event-stream",
                "-d",
                INITIALIZE,
                "-w",
                "\n%{http_version}",
                &format!("{base}/mcp"),
            ],
        );
        let text = String::from_utf8_lossy(&init.stdout).to_lowercase();
        assert!(init.status.success(), "{text}");
        assert!(text.contains("mcp-session-id:"), "{flag}: {text}");
        assert!(
            text.contains("\"protocolversion\":\"2025-06-18\""),
            "{flag}: {text}"
        );
        assert!(text.ends_with(&format!("\n{version}")), "{flag}: {text}");
    }
    // Without the CA, curl refuses the certificate: the clients above really verified it.
    let untrusted = run(dir, "curl", &["-sS", &format!("{base}/health")]);
    assert_eq!(untrusted.status.code(), Some(60), "{:?}", untrusted);
}

/// initialize, tools/list and tools/call through the gateway to server-everything, with reqwest
/// held to one HTTP version (h2 only offers `h2` by ALPN, so it fails unless the gateway picks h2).
async fn rmcp_session_over(gw: &GatewayProcess, h2: bool) {
    let client = https_client(gw.dir(), h2);
    let label = if h2 { "over h2" } else { "over http/1.1" };
    let probe = client.get(gw.url("/health")).send().await.unwrap();
    let expected = if h2 {
        reqwest::Version::HTTP_2
    } else {
        reqwest::Version::HTTP_11
    };
    assert_eq!(probe.version(), expected, "{label}");
    let transport = StreamableHttpClientTransport::with_client(
        client,
        StreamableHttpClientTransportConfig::with_uri(gw.mcp_url()),
    );
    let mcp = ().serve(transport).await.unwrap_or_else(|e| panic!("initialize {label}: {e}"));
    let names = tool_names(&mcp).await;
    assert!(
        names.iter().any(|n| n == "everything__echo"),
        "{label}: {names:?}"
    );
    let echo = call_text(&mcp, "everything__echo", json!({ "message": label }))
        .await
        .unwrap();
    assert_eq!(echo, format!("Echo: {label}"));
    let _ = mcp.cancel().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_rmcp_client_lists_and_calls_tools_over_https_on_h2_and_http1() {
    let gw = tls_gateway(&everything(), "");
    wait_connected_over(&https_client(gw.dir(), true), &gw, "everything").await;
    rmcp_session_over(&gw, true).await;
    rmcp_session_over(&gw, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tool_call_streams_its_progress_as_sse_over_h2() {
    let gw = tls_gateway(&everything(), "");
    let client = https_client(gw.dir(), true);
    wait_connected_over(&client, &gw, "everything").await;
    let post = |body: String, session: Option<&str>| {
        let mut request = client
            .post(gw.mcp_url())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .body(body);
        if let Some(id) = session {
            request = request
                .header("mcp-session-id", id)
                .header("mcp-protocol-version", "2025-06-18");
        }
        request.send()
    };
    let init = post(INITIALIZE.to_string(), None).await.unwrap();
    let session = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let _ = init.text().await;
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let ack = post(initialized.to_string(), Some(&session)).await.unwrap();
    assert_eq!(ack.status().as_u16(), 202);

    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "everything__trigger-long-running-operation",
        "arguments": {"duration": 1, "steps": 3},
        "_meta": {"progressToken": "over-h2"}}});
    let response = post(call.to_string(), Some(&session)).await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    let content_type = response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let stream = response.text().await.unwrap();
    let events: Vec<Value> = stream
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect();
    let progress = events
        .iter()
        .filter(|e| e["method"] == "notifications/progress")
        .filter(|e| e["params"]["progressToken"] == "over-h2")
        .count();
    assert_eq!(progress, 3, "one progress event per step: {stream}");
    let result = events.iter().find(|e| e["id"] == 2).expect("the result");
    assert!(
        content_text(&result["result"]).contains("completed"),
        "{result}"
    );
}

//! A flaky downstream looks steady: an idempotent request whose connection dies is sent once more on
//! the new connection (and nothing else is), and a server that keeps failing gets its circuit opened.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::*;

fn flaky(timeout_s: u32, state: &std::path::Path) -> String {
    let fixture = repo_file("tests/fixtures/flaky_server.py");
    stdio_server(
        "flaky",
        &python_bin(),
        &[&fixture, &state.display().to_string()],
    )
    .replace("    timeout: 20\n", &format!("    timeout: {timeout_s}\n"))
}

fn calls(state: &std::path::Path, kind: &str) -> usize {
    std::fs::read_to_string(state.join(format!("{kind}.calls")))
        .unwrap_or_default()
        .lines()
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_call_whose_connection_dies_is_sent_once_more_and_a_write_is_not() {
    let state = tempfile::tempdir().unwrap();
    let gw = GatewayProcess::start(&http_config(&[flaky(10, state.path())], ""));
    wait_connected(&gw.url(""), &["flaky"]).await;
    let client = connect_http(&gw.mcp_url()).await;

    let answer = call_text(&client, "flaky__crash_once_readonly", json!({})).await;
    assert_eq!(
        answer.expect("the retry on the new connection answers"),
        "survived"
    );
    assert_eq!(
        calls(state.path(), "readonly"),
        2,
        "sent twice: once to the dead process, once to the new"
    );

    wait_connected(&gw.url(""), &["flaky"]).await;
    let refused = call_text(&client, "flaky__crash_once_write", json!({})).await;
    let shown = format!("{refused:?}");
    assert!(
        refused.is_err(),
        "a call without the hints is not retried: {shown}"
    );
    assert!(shown.contains("closed the connection"), "{shown}");
    assert_eq!(calls(state.path(), "write"), 1, "the write ran once");
    client.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_keeps_timing_out_gets_its_circuit_opened() {
    let state = tempfile::tempdir().unwrap();
    // The server's timeout also bounds its start, which takes over a second on a busy machine.
    let gw = GatewayProcess::start(&http_config(&[flaky(4, state.path())], ""));
    wait_connected(&gw.url(""), &["flaky"]).await;
    let client = connect_http(&gw.mcp_url()).await;
    for i in 0..5 {
        let e = call_text(&client, "flaky__hang", json!({}))
            .await
            .unwrap_err();
        assert!(format!("{e:?}").contains("timed out"), "call {i}: {e:?}");
    }
    let started = Instant::now();
    let e = call_text(&client, "flaky__hang", json!({}))
        .await
        .unwrap_err();
    let shown = format!("{e:?}");
    assert!(
        shown.contains("'flaky'") && shown.contains("circuit is open"),
        "{shown}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "answered at once, not after the timeout"
    );
    let (_, health) = get_json(&gw.url("/health")).await;
    assert_eq!(health["circuit_breakers"]["flaky"], "open", "{health}");
    assert_eq!(health["status"], "degraded", "{health}");
    client.cancel().await.ok();
}

//! kill -9 of a stdio downstream in the middle of a call: the call fails at once with a JSON-RPC
//! error, the gateway keeps serving, respawns the server, and the tool works again.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn killed_downstream_fails_in_flight_calls_then_recovers() {
    let config = http_config(
        &[
            stdio_server("everything", &everything_bin(), &["stdio"]),
            stdio_server("time", &time_bin(), &[]),
        ],
        "",
    );
    let gw = GatewayProcess::start(&config);
    wait_connected(&gw.url(""), &["everything", "time"]).await;
    let client = connect_http(&gw.mcp_url()).await;

    // A call that would take 60 s if nothing went wrong.
    let slow = {
        let url = gw.mcp_url();
        tokio::spawn(async move {
            let c = connect_http(&url).await;
            let started = Instant::now();
            let r = call_text(
                &c,
                "everything__trigger-long-running-operation",
                json!({"duration": 60, "steps": 60}),
            )
            .await;
            (r, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let victim = gw
        .child_matching("mcp-server-everything")
        .expect("the everything server is a child of the gateway");
    std::process::Command::new("kill")
        .args(["-9", &victim.to_string()])
        .status()
        .unwrap();

    let (result, elapsed) = tokio::time::timeout(Duration::from_secs(50), slow)
        .await
        .expect("the in-flight call must not hang until its own end")
        .unwrap();
    let err = result.expect_err("the in-flight call must fail");
    assert!(error_code(&err).is_some(), "a JSON-RPC error, got {err}");
    assert!(
        err.to_string().contains("everything"),
        "the error names the server: {err}"
    );
    assert!(elapsed < Duration::from_secs(50), "{elapsed:?}");

    // Other servers were never disturbed.
    let t = call_text(
        &client,
        "time__get_current_time",
        json!({"timezone": "UTC"}),
    )
    .await;
    assert!(t.is_ok(), "{t:?}");

    // The server is respawned and its tools work again.
    let echo = call_eventually(&client, "everything__echo", json!({"message": "back"})).await;
    assert_eq!(echo, "Echo: back");
    let new_pid = gw
        .child_matching("mcp-server-everything")
        .expect("respawned");
    assert_ne!(new_pid, victim);
    let (_, metrics) = (
        0,
        reqwest::get(gw.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(
        metrics.contains("ucp_downstream_restarts_total{server=\"everything\"} 1"),
        "{metrics}"
    );
    client.cancel().await.ok();
}

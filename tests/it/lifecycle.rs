//! Downstream timeouts, a server that comes up after the gateway, and graceful shutdown.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_call_times_out_with_the_servers_timeout_and_others_are_served() {
    let everything = everything_bin();
    let config = http_config(
        &[format!(
            "  - name: slow\n    command: {everything:?}\n    args: [stdio]\n    timeout: 2\n"
        )],
        "",
    );
    let gw = GatewayProcess::start(&config);
    wait_connected(&gw.url(""), &["slow"]).await;
    let client = connect_http(&gw.mcp_url()).await;
    let started = Instant::now();
    let err = call_text(
        &client,
        "slow__trigger-long-running-operation",
        json!({"duration": 30, "steps": 3}),
    )
    .await
    .expect_err("a call longer than the server's timeout fails");
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "it did not wait for the call to finish"
    );
    assert_eq!(error_code(&err), Some(-32603), "{err}");
    assert!(err.to_string().contains("timed out after 2.0s"), "{err}");
    assert_eq!(
        call_text(&client, "slow__echo", json!({"message": "next"}))
            .await
            .unwrap(),
        "Echo: next"
    );
    client.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_is_down_at_start_joins_when_it_comes_up() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let gw = GatewayProcess::start(&http_config(&[http_server("late", &url)], ""));
    let health = eventually(
        Duration::from_secs(20),
        "late to be disconnected",
        || async {
            let (_, h) = get_json(&gw.url("/health")).await;
            (h["components"]["downstream_servers"]["late"] == json!("disconnected")).then_some(h)
        },
    )
    .await;
    assert_eq!(health["metrics"]["tools_indexed"], json!(0));
    let client = connect_http(&gw.mcp_url()).await;
    assert!(tool_names(&client).await.is_empty());

    let _server = ServerProcess::everything_http_on(port);
    wait_connected(&gw.url(""), &["late"]).await;
    let echo = call_eventually(&client, "late__echo", json!({"message": "finally"})).await;
    assert_eq!(echo, "Echo: finally");
    client.cancel().await.ok();
}

#[test]
fn sigterm_drains_stops_the_downstream_servers_and_exits_cleanly() {
    let mut gw = GatewayProcess::start(&http_config(
        &[stdio_server("everything", &everything_bin(), &["stdio"])],
        "",
    ));
    let deadline = Instant::now() + Duration::from_secs(60);
    let child = loop {
        if let Some(pid) = gw.child_matching("mcp-server-everything") {
            break pid;
        }
        assert!(Instant::now() < deadline, "the downstream never started");
        std::thread::sleep(Duration::from_millis(100));
    };
    std::process::Command::new("kill")
        .args(["-TERM", &gw.child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = gw.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
    // The stdio child is gone too (no orphaned servers).
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{child}")).exists()
        && !std::fs::read_to_string(format!("/proc/{child}/stat"))
            .unwrap_or_default()
            .contains(") Z")
    {
        assert!(
            Instant::now() < deadline,
            "downstream {child} outlived the gateway"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(gw.log_text().contains("SIGTERM"), "{}", gw.log_text());
}

/// Fault injection: a "server" that prints garbage instead of JSON-RPC, and an HTTP endpoint that
/// is not an MCP server (it also records what the gateway sent, to check configured headers).
#[tokio::test(flavor = "multi_thread")]
async fn garbage_downstreams_stay_disconnected_and_configured_headers_are_sent() {
    use std::io::{Read, Write};
    let capture = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = capture.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in capture.incoming().take(1) {
            let mut stream = stream.unwrap();
            let mut buf = [0u8; 8192];
            let n = stream.read(&mut buf).unwrap_or(0);
            let _ = tx.send(String::from_utf8_lossy(&buf[..n]).to_lowercase());
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 9\r\n\r\nnot json!");
        }
    });
    let config = http_config(
        &[
            "  - name: garbage\n    command: sh\n    args: [\"-c\", \"echo this is not json-rpc; sleep 30\"]\n    timeout: 2\n"
                .to_string(),
            format!(
                "  - name: nonmcp\n    url: \"http://127.0.0.1:{port}/mcp\"\n    headers:\n      X-Api-Key: \"secret-value\"\n    timeout: 2\n"
            ),
            stdio_server("time", &time_bin(), &[]),
        ],
        "",
    );
    let gw = GatewayProcess::start(&config);
    let request = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the gateway connects to the HTTP downstream");
    assert!(request.contains("x-api-key: secret-value"), "{request}");
    let health = eventually(
        Duration::from_secs(30),
        "garbage servers to be disconnected",
        || async {
            let (_, h) = get_json(&gw.url("/health")).await;
            let s = &h["components"]["downstream_servers"];
            (s["garbage"] == json!("disconnected")
                && s["nonmcp"] == json!("disconnected")
                && s["time"] == json!("connected"))
            .then_some(h)
        },
    )
    .await;
    assert_eq!(health["status"], "degraded");
    let client = connect_http(&gw.mcp_url()).await;
    let names = tool_names(&client).await;
    assert!(names.iter().all(|n| n.starts_with("time__")), "{names:?}");
    assert!(
        call_text(
            &client,
            "time__get_current_time",
            json!({"timezone": "UTC"})
        )
        .await
        .is_ok()
    );
    client.cancel().await.ok();
}

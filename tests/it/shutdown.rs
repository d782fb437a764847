//! SIGTERM: the gateway stops accepting, ends notification streams with a reconnect hint, lets the
//! calls in flight finish within `server.drain_timeout`, stops its servers and exits 0.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::*;

fn slow_server(marker: &std::path::Path) -> String {
    stdio_server(
        "slow",
        &python_bin(),
        &[
            &repo_file("tests/fixtures/cancellable_server.py"),
            &marker.display().to_string(),
        ],
    )
}

/// Waits for the gateway process to exit; its status.
fn exit_status(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway did not exit within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The process exists and is not a zombie (an orphan's zombie waits for a reaper that a
/// container may not run).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

fn gone_within(pid: u32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_finishes_calls_in_flight_ends_streams_and_exits_0() {
    let marker = tempfile::NamedTempFile::new().unwrap();
    let config = http_config(&[slow_server(marker.path())], "  drain_timeout: 10\n");
    let mut gw = GatewayProcess::start(&config);
    wait_connected(&gw.url(""), &["slow"]).await;
    let server_pid = gw
        .child_matching("cancellable_server.py")
        .expect("slow runs");

    // A notification stream, open on a session of its own.
    let (status, headers, _) = post(&gw.mcp_url(), initialize_body(), &[]).await;
    assert_eq!(status, 200);
    let session = headers["mcp-session-id"].to_str().unwrap().to_string();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
    post(&gw.mcp_url(), initialized, &[("mcp-session-id", &session)]).await;
    let stream = reqwest::Client::new()
        .get(gw.mcp_url())
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-06-18")
        .send()
        .await
        .expect("GET /mcp");
    assert_eq!(stream.status(), 200);
    let stream_body = tokio::spawn(async move {
        let started = Instant::now();
        let text = stream.text().await.unwrap_or_default();
        (text, started.elapsed())
    });

    let client = connect_http(&gw.mcp_url()).await;
    let call = tokio::spawn(async move {
        let result = call_text(&client, "slow__wait", json!({"seconds": 2})).await;
        (result, client)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let terminated = Instant::now();
    signal(gw.child.id(), "TERM");

    let (result, _client) = call.await.unwrap();
    assert_eq!(result.expect("the call in flight finished"), "waited 2.0s");
    let (text, _) = stream_body.await.unwrap();
    assert!(
        text.contains("retry: 1000"),
        "the stream ended with a reconnect hint: {text:?}"
    );
    let status = exit_status(&mut gw.child, Duration::from_secs(15));
    assert!(status.success(), "exit status {status}");
    eprintln!("exited {:?} after SIGTERM", terminated.elapsed());
    assert!(
        gone_within(server_pid, Duration::from_secs(5)),
        "the downstream server was stopped"
    );
    assert_eq!(
        std::fs::read_to_string(marker.path()).unwrap(),
        "",
        "the call was not cancelled"
    );
    let log = gw.log_text();
    assert!(log.contains("SIGTERM: draining"), "{log}");
    assert!(log.contains("drained"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_longer_than_the_drain_timeout_does_not_hold_the_exit() {
    let marker = tempfile::NamedTempFile::new().unwrap();
    let config = http_config(&[slow_server(marker.path())], "  drain_timeout: 1\n");
    let mut gw = GatewayProcess::start(&config);
    wait_connected(&gw.url(""), &["slow"]).await;
    let client = connect_http(&gw.mcp_url()).await;
    let call = tokio::spawn(async move {
        let result = call_text(&client, "slow__wait", json!({"seconds": 60})).await;
        (result, client)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    signal(gw.child.id(), "TERM");
    // The 60 s call is cut at the drain timeout (1 s) plus the servers' stop, far before 60 s.
    let status = exit_status(&mut gw.child, Duration::from_secs(20));
    assert!(status.success(), "exit status {status}");
    // The cut call's client may wait on for its own timeout: not this test's concern.
    call.abort();
    assert!(
        gw.log_text().contains("drain timed out"),
        "{}",
        gw.log_text()
    );
}

#[test]
fn sigterm_stops_a_stdio_gateway_and_its_servers() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("ucp_config.yaml");
    let config = format!(
        "server:\n  transport: stdio\ntool_zoo:\n  persist_dir: {:?}\ndownstream_servers:\n{}",
        dir.path().join("zoo"),
        stdio_server("time", &time_bin(), &[])
    );
    std::fs::write(&cfg, config).unwrap();
    let (mut child, _stdin, _stdout) = spawn_stdio_gateway(&cfg);
    let deadline = Instant::now() + Duration::from_secs(30);
    let server = loop {
        if let Some(pid) = children_of(child.id())
            .into_iter()
            .find(|p| cmdline(*p).contains("mcp-server-time"))
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "mcp-server-time never started");
        std::thread::sleep(Duration::from_millis(100));
    };
    std::thread::sleep(Duration::from_millis(500));
    signal(child.id(), "TERM");
    let status = exit_status(&mut child, Duration::from_secs(15));
    assert!(status.success(), "exit status {status}");
    assert!(
        gone_within(server, Duration::from_secs(5)),
        "mcp-server-time outlived the gateway"
    );
}

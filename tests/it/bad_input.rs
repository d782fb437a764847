//! Bad input over both fronts gets a precise error, and other clients are not disturbed.

use std::io::{BufRead, Write};

use serde_json::{Value, json};

use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn http_front_rejects_bad_input_precisely() {
    let config = http_config(
        &[stdio_server("everything", &everything_bin(), &["stdio"])],
        "  max_body_bytes: 4096\n",
    );
    let gw = GatewayProcess::start(&config);
    wait_connected(&gw.url(""), &["everything"]).await;
    let url = gw.mcp_url();
    // A client that is already connected before the bad input arrives.
    let bystander = connect_http(&url).await;

    let (status, _, body) = post(&url, "{\"jsonrpc\":", &[]).await;
    assert_eq!(status, 400, "{body}");
    let err: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (err["error"]["code"].clone(), err["id"].clone()),
        (json!(-32700), Value::Null),
        "{body}"
    );

    let (status, _, body) = post(&url, r#"{"jsonrpc":"2.0","id":5,"method":7}"#, &[]).await;
    assert_eq!(status, 400, "{body}");
    let err: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (err["error"]["code"].clone(), err["id"].clone()),
        (json!(-32600), json!(5)),
        "{body}"
    );

    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{{"pad":"{}"}}}}"#,
        "x".repeat(10_000)
    );
    let (status, _, body) = post(&url, big, &[]).await;
    assert_eq!(status, 413, "{body}");

    let (status, _, _) = post(
        &url,
        initialize_body(),
        &[("origin", "http://evil.example")],
    )
    .await;
    assert_eq!(status, 403);

    // Unknown method inside a real session.
    let (status, headers, body) = post(
        &url,
        initialize_body(),
        &[("origin", "http://localhost:3000")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let session = headers["mcp-session-id"].to_str().unwrap().to_string();
    let session_headers = [
        ("mcp-session-id", session.as_str()),
        ("mcp-protocol-version", "2025-06-18"),
    ];
    let (status, _, _) = post(
        &url,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        &session_headers,
    )
    .await;
    assert!(status == 202 || status == 200, "{status}");
    let (_, _, body) = post(
        &url,
        r#"{"jsonrpc":"2.0","id":2,"method":"no/such/method"}"#,
        &session_headers,
    )
    .await;
    let reply = messages(&body)
        .into_iter()
        .find(|m| m["id"] == json!(2))
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(reply["error"]["code"], json!(-32601), "{reply}");

    // Nobody else noticed.
    assert_eq!(
        call_text(&bystander, "everything__echo", json!({"message": "fine"}))
            .await
            .unwrap(),
        "Echo: fine"
    );
    let fresh = connect_http(&url).await;
    assert_eq!(
        call_text(&fresh, "everything__echo", json!({"message": "new"}))
            .await
            .unwrap(),
        "Echo: new"
    );
    let (status, health) = get_json(&gw.url("/health")).await;
    assert_eq!(status, 200);
    assert_eq!(
        health["components"]["downstream_servers"]["everything"],
        "connected"
    );
    bystander.cancel().await.ok();
    fresh.cancel().await.ok();
}

#[test]
fn stdio_front_answers_garbage_with_jsonrpc_errors_and_keeps_going() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("ucp_config.yaml");
    let config = format!(
        "server:\n  transport: stdio\n  max_body_bytes: 2048\ntool_zoo:\n  persist_dir: {:?}\ndownstream_servers:\n{}",
        dir.path().join("zoo"),
        stdio_server("everything", &everything_bin(), &["stdio"])
    );
    std::fs::write(&cfg, config).unwrap();
    let (mut child, mut stdin, mut stdout) = spawn_stdio_gateway(&cfg);
    let mut read = || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        serde_json::from_str::<Value>(&line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}"))
    };
    let mut send = move |line: &str| {
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    };

    send("this is not json");
    assert_eq!(read()["error"]["code"], json!(-32700));
    send(&format!(
        r#"{{"jsonrpc":"2.0","id":3,"method":"x","params":{{"p":"{}"}}}}"#,
        "y".repeat(5000)
    ));
    assert_eq!(read()["error"]["code"], json!(-32600));
    send(&initialize_body());
    let init = read();
    assert_eq!(init["id"], json!(1), "{init}");
    assert!(init["result"]["serverInfo"].is_object(), "{init}");
    send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    send(r#"{"jsonrpc":"2.0","id":4,"method":"no/such/method"}"#);
    let mut reply = read();
    while reply.get("id").is_none() {
        reply = read(); // skip notifications (list_changed)
    }
    assert_eq!(
        (reply["id"].clone(), reply["error"]["code"].clone()),
        (json!(4), json!(-32601)),
        "{reply}"
    );
    send(
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"everything__echo","arguments":{"message":"ok"}}}"#,
    );
    let mut reply = read();
    while reply.get("id").is_none() {
        reply = read();
    }
    assert_eq!(
        reply["result"]["content"][0]["text"],
        json!("Echo: ok"),
        "{reply}"
    );
    drop(send);
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "closing stdin ends the gateway cleanly: {status}"
    );
}

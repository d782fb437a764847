//! The per-identity rate limit from outside: the burst passes, the next request gets 429 with
//! `Retry-After` (HTTP) or the JSON-RPC error -32029 with the wait in its data (stdio), another
//! identity is not affected, and notifications are never refused.

use std::io::{BufRead, Write};

use serde_json::{Value, json};

use crate::harness::*;

fn tools_list(id: u64) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"}).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn http_callers_get_their_burst_then_429_with_retry_after() {
    let (a, b) = ("limits-key-a-0123456789", "limits-key-b-0123456789");
    // One request per minute after a burst of 3: the refusal cannot expire during the test.
    let auth = format!(
        "  auth:\n    enabled: true\n    provider: apikey\n    api_keys:\n      - {{identity: a, hash: {:?}}}\n      - {{identity: b, hash: {:?}}}\n    rate_limit:\n      requests_per_minute: 1\n      burst: 3\n",
        hash_api_key(a),
        hash_api_key(b)
    );
    let gw = GatewayProcess::start(&http_config(
        &[stdio_server("time", &time_bin(), &[])],
        &auth,
    ));
    let url = gw.mcp_url();
    let (status, headers, body) = post(&url, initialize_body(), &[("x-api-key", a)]).await;
    assert_eq!(status, 200, "{body}");
    let id = headers["mcp-session-id"].to_str().unwrap().to_string();
    let in_session = [("x-api-key", a), ("mcp-session-id", id.as_str())];
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
    assert_eq!(post(&url, initialized.clone(), &in_session).await.0, 202);
    for n in 2..=3 {
        let (status, _, body) = post(&url, tools_list(n), &in_session).await;
        assert_eq!(status, 200, "request {n} of the burst: {body}");
    }
    let (status, headers, body) = post(&url, tools_list(4), &in_session).await;
    assert_eq!(status, 429, "{body}");
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(
        (1..=60).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    let error = &messages(&body)[0]["error"];
    assert_eq!(error["code"], -32029, "{body}");
    assert_eq!(error["data"]["status"], 429, "{body}");
    // A notification from the limited caller still goes through; another identity is unaffected.
    assert_eq!(post(&url, initialized, &in_session).await.0, 202);
    let (status, _, body) = post(&url, initialize_body(), &[("x-api-key", b)]).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = post(&url, tools_list(5), &in_session).await;
    assert_eq!(status, 429, "the bucket refilled within the minute");
    assert!(
        gw.log_text().contains("request over the rate limit"),
        "{}",
        gw.log_text()
    );
}

#[test]
fn stdio_gets_the_json_rpc_error_with_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("ucp_config.yaml");
    let config = format!(
        "server:\n  transport: stdio\n  auth:\n    rate_limit: {{requests_per_minute: 1, burst: 2}}\ntool_zoo:\n  persist_dir: {:?}\ndownstream_servers:\n{}",
        dir.path().join("zoo"),
        stdio_server("time", &time_bin(), &[])
    );
    std::fs::write(&cfg, config).unwrap();
    let (mut child, mut stdin, mut stdout) = spawn_stdio_gateway(&cfg);
    let mut send = |line: &str| {
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    };
    let mut reply = |id: u64| -> Value {
        loop {
            let mut line = String::new();
            assert!(stdout.read_line(&mut line).unwrap() > 0, "stdout closed");
            let message: Value = serde_json::from_str(&line).unwrap();
            if message["id"] == json!(id) {
                return message;
            }
        }
    };
    send(&initialize_body());
    assert!(reply(1)["result"].is_object());
    send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    send(&tools_list(2));
    assert!(reply(2)["result"]["tools"].is_array());
    send(&tools_list(3));
    let refused = reply(3);
    assert_eq!(refused["error"]["code"], -32029, "{refused}");
    let wait = refused["error"]["data"]["retry_after_seconds"]
        .as_u64()
        .unwrap();
    assert!((1..=60).contains(&wait), "{refused}");
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
}

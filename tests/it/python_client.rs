//! The Python `mcp` SDK (2.x) as a real client, against both fronts of the gateway.

use std::process::Command;

use serde_json::Value;

use crate::harness::*;

fn run_client(args: &[&str]) -> Value {
    let output = Command::new(python_bin())
        .arg(repo_file("tests/clients/mcp_client.py"))
        .args(args)
        .env("UCP_HOME", ucp_home())
        .output()
        .expect("run mcp_client.py");
    assert!(
        output.status.success(),
        "python client failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    serde_json::from_slice(&output.stdout).expect("client prints one JSON object")
}

fn calls() -> Vec<&'static str> {
    vec![
        "--call",
        "everything__echo",
        "--args",
        r#"{"message":"from python"}"#,
        "--call",
        "time__get_current_time",
        "--args",
        r#"{"timezone":"Europe/Paris"}"#,
    ]
}

fn check(result: &Value) {
    let tools: Vec<&str> = result["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        tools.contains(&"everything__echo") && tools.contains(&"time__get_current_time"),
        "{result}"
    );
    assert_eq!(result["calls"][0]["text"], "Echo: from python", "{result}");
    assert_eq!(result["calls"][0]["is_error"], false);
    let time: Value = serde_json::from_str(result["calls"][1]["text"].as_str().unwrap()).unwrap();
    assert_eq!(time["timezone"], "Europe/Paris", "{result}");
}

fn servers() -> Vec<String> {
    vec![
        stdio_server("everything", &everything_bin(), &["stdio"]),
        stdio_server("time", &time_bin(), &[]),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_client_over_http() {
    let gw = GatewayProcess::start(&http_config(&servers(), ""));
    wait_connected(&gw.url(""), &["everything", "time"]).await;
    let url = gw.mcp_url();
    let result = tokio::task::spawn_blocking(move || {
        let mut args = calls();
        args.extend(["http", url.as_str()]);
        run_client(&args)
    })
    .await
    .unwrap();
    check(&result);
}

#[test]
fn python_sdk_client_over_stdio() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("ucp_config.yaml");
    std::fs::write(
        &cfg,
        format!(
            "server:\n  transport: stdio\nrouter:\n  exposure: all\ntool_zoo:\n  persist_dir: {:?}\ndownstream_servers:\n{}",
            dir.path().join("zoo"),
            servers().concat()
        ),
    )
    .unwrap();
    let cfg = cfg.display().to_string();
    let mut args = calls();
    args.extend([
        "stdio",
        "--",
        env!("CARGO_BIN_EXE_ucp"),
        "serve",
        "--stdio",
        "-c",
        &cfg,
    ]);
    check(&run_client(&args));
}

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

/// A stdio-front config in `dir` in front of `servers` (YAML entries); returns its path.
fn stdio_config(dir: &tempfile::TempDir, servers: &str) -> String {
    let cfg = dir.path().join("ucp_config.yaml");
    std::fs::write(
        &cfg,
        format!(
            "server:\n  transport: stdio\nrouter:\n  exposure: all\ntool_zoo:\n  persist_dir: {:?}\ndownstream_servers:\n{servers}",
            dir.path().join("zoo"),
        ),
    )
    .unwrap();
    cfg.display().to_string()
}

/// The client's arguments that start `ucp serve --stdio -c cfg` as its server.
fn stdio_gateway(cfg: &str) -> [&str; 7] {
    [
        "stdio",
        "--",
        env!("CARGO_BIN_EXE_ucp"),
        "serve",
        "--stdio",
        "-c",
        cfg,
    ]
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
    let cfg = stdio_config(&dir, &servers().concat());
    let mut args = calls();
    args.extend(stdio_gateway(&cfg));
    check(&run_client(&args));
}

/// Progress, sampling, elicitation and log messages from server-everything (a 2025-11-25 server),
/// through the gateway, to the Python SDK client (which answers sampling as "bob" and declines
/// elicitation). `mode`: the client's protocol choice. A 2026-07-28 client takes no
/// server-to-client requests: it gets the server's sampling and elicitation requests as an
/// input-required result, and its retry resumes the call (`gateway/parked.rs`).
fn relay_args(mode: &'static str) -> Vec<&'static str> {
    vec![
        "--mode",
        mode,
        "--answer",
        "bob",
        "--log-level",
        "debug",
        "--wait-logs",
        "20",
        "--call",
        "everything__trigger-long-running-operation",
        "--args",
        r#"{"duration":1,"steps":3}"#,
        "--call",
        "everything__trigger-sampling-request",
        "--args",
        r#"{"prompt":"asked from python"}"#,
        "--call",
        "everything__trigger-elicitation-request",
        "--args",
        "{}",
        "--call",
        "everything__toggle-simulated-logging",
        "--args",
        "{}",
    ]
}

fn check_relays(r: &Value, mode: &str) {
    let calls = &r["calls"];
    let modern = mode != "legacy";
    assert_eq!(
        r["protocol_version"],
        if modern { "2026-07-28" } else { "2025-11-25" },
        "{r}"
    );
    // server-everything logs on a timer, outside any request: a 2026-07-28 session takes log
    // messages only about its own requests (the level rides in their `_meta`), so only the
    // session that sent `logging/setLevel` gets these.
    assert!(
        modern || !r["logs"].as_array().unwrap().is_empty(),
        "a log message after logging/setLevel: {r}"
    );
    assert!(
        calls[0]["text"].as_str().unwrap().contains("completed"),
        "{r}"
    );
    assert_eq!(
        calls[0]["progress"].as_array().unwrap().len(),
        3,
        "one progress notification per step reached the caller: {r}"
    );
    assert!(
        calls[1]["text"]
            .as_str()
            .unwrap()
            .contains("answer from bob"),
        "{r}"
    );
    assert!(
        r["sampling"][0]
            .as_str()
            .unwrap()
            .contains("asked from python"),
        "{r}"
    );
    assert_eq!(r["elicitation"].as_array().unwrap().len(), 1, "{r}");
    assert!(
        calls[2]["text"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("decline"),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_client_gets_progress_sampling_elicitation_and_logs_over_http() {
    // A gateway (and server-everything) per run: the logging tool toggles server-wide.
    for mode in ["legacy", "auto"] {
        let server = stdio_server("everything", &everything_bin(), &["stdio"]);
        let gw = GatewayProcess::start(&http_config(&[server], ""));
        wait_connected(&gw.url(""), &["everything"]).await;
        let url = gw.mcp_url();
        let result = tokio::task::spawn_blocking(move || {
            let mut args = relay_args(mode);
            args.extend(["http", url.as_str()]);
            run_client(&args)
        })
        .await
        .unwrap();
        check_relays(&result, mode);
    }
}

#[test]
fn python_sdk_client_gets_progress_sampling_elicitation_and_logs_over_stdio() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = stdio_config(
        &dir,
        &stdio_server("everything", &everything_bin(), &["stdio"]),
    );
    for mode in ["legacy", "auto"] {
        let mut args = relay_args(mode);
        args.extend(stdio_gateway(&cfg));
        check_relays(&run_client(&args), mode);
    }
}

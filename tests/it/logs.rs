//! Logs from outside (issue 8, point 6): at trace level, every record the gateway writes (its own,
//! rmcp's, hyper's, the downstream servers' stderr) is one JSON object with the seed's fields,
//! on stderr and in the `file:` output, and no canary secret gets through: not the client's
//! token, not the JWT secret, not a downstream's `env` or `headers` values, not secret-shaped
//! tool arguments, and not the tool results that carry all of them back. The seed's selection
//! line is there, and a SIGHUP after logrotate moved the file reopens it at its path.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::harness::*;

const JWT_SECRET: &str = "jwtcanary-2b7d1f0e9c8a6b4d2f0e1c3a";
const ENV_VALUE: &str = "envcanary-8a2f4c6e";
const HEADER_VALUE: &str = "hdrcanary-5d1e9b7c";
const BEARER_VALUE: &str = "bearercanary-0f9e8d7c";
const ARG_PASSWORD: &str = "argcanary-314159";
const ARG_KEY: &str = "sk-argcanary0123456789abcdef";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_canary_secret_reaches_any_log_line_at_trace_level() {
    let remote_server = ServerProcess::named_tools_http("remote");
    let remote = http_server_entry(&remote_server.mcp_url());
    let local = stdio_server(
        "local",
        &python_bin(),
        &[&repo_file("tests/fixtures/named_tools_server.py"), "probe"],
    ) + &format!("    env:\n      CANARY_ENV: {ENV_VALUE:?}\n");
    let keys = format!(
        "  log_format: json\n  log_output: [stderr, \"file:{{dir}}/ucp.log\"]\n  sanitize_logs: true\n  auth:\n    enabled: true\n    secret: {JWT_SECRET:?}\n"
    );
    let config =
        http_config(&[remote, local], &keys).replace("log_level: debug", "log_level: trace");
    let gw = GatewayProcess::start(&config);
    let claims = json!({"sub": "erin", "exp": now() + 600});
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let client = connect_http_with_token(&gw.mcp_url(), &token).await;
    // The headers a downstream got come back in the result, the configured ones included.
    let seen = call_eventually(&client, "remote__headers", json!({})).await;
    assert!(
        seen.contains(HEADER_VALUE),
        "the canary header did not reach the server: {seen}"
    );
    // Arguments (and the results that repeat them) with a configured env value and secret shapes.
    for text in [
        ENV_VALUE.to_string(),
        format!("password={ARG_PASSWORD}"),
        ARG_KEY.to_string(),
    ] {
        let said = call_eventually(&client, "local__probe", json!({ "text": text })).await;
        assert!(said.contains(&text), "{said}");
    }
    // A selection gets the seed's line (session, tools selected, duration).
    let bearer = format!("Bearer {token}");
    eventually(Duration::from_secs(60), "a selection", || async {
        let body = json!({"context": "probe the local server", "k": 3}).to_string();
        let (status, _, body) =
            post(&gw.url("/v1/select"), body, &[("authorization", &bearer)]).await;
        (status == 200 && body.contains("local__probe")).then_some(())
    })
    .await;
    // logrotate: the file is moved away, SIGHUP reopens the configured path.
    let log_path = gw.dir().join("ucp.log");
    std::fs::rename(&log_path, gw.dir().join("ucp.log.1")).unwrap();
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &gw.child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    eventually(Duration::from_secs(10), "the reopened log file", || async {
        let _ = get_json(&gw.url("/health")).await;
        std::fs::read_to_string(&log_path)
            .ok()
            .filter(|text| text.contains("log files reopened"))
    })
    .await;
    // A refused token is logged too (a failure line names the reason, not the token).
    let (status, _, _) = post(
        &gw.mcp_url(),
        initialize_body(),
        &[("authorization", &format!("Bearer {token}x"))],
    )
    .await;
    assert_eq!(status, 401);
    let _ = client.cancel().await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let stderr_lines: Vec<String> = gw
        .log_text()
        .lines()
        .filter(|l| !l.starts_with("ucp: "))
        .map(str::to_string)
        .collect();
    let rotated = std::fs::read_to_string(gw.dir().join("ucp.log.1")).unwrap();
    let file = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        file.lines().count() > 0,
        "nothing was written after the reopen"
    );
    let file_lines: Vec<String> = rotated
        .lines()
        .chain(file.lines())
        .map(str::to_string)
        .collect();
    assert!(
        stderr_lines.len() > 50,
        "only {} lines at trace level",
        stderr_lines.len()
    );
    assert!(
        file_lines.len() > 50,
        "only {} lines in the log file",
        file_lines.len()
    );
    let signature = token.rsplit('.').next().unwrap().to_string();
    let canaries = [
        JWT_SECRET,
        ENV_VALUE,
        HEADER_VALUE,
        BEARER_VALUE,
        ARG_PASSWORD,
        ARG_KEY,
        token.as_str(),
        signature.as_str(),
    ];
    let mut redacted = 0;
    for (source, lines) in [("stderr", &stderr_lines), ("file", &file_lines)] {
        for line in lines {
            for canary in canaries {
                assert!(!line.contains(canary), "{source}: {canary} in: {line}");
            }
            let record: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{source}: not a JSON record ({e}): {line}"));
            for field in ["timestamp", "level", "component", "message"] {
                assert!(record[field].is_string(), "{source}: no {field} in {line}");
            }
            assert!(
                record["context"].is_object(),
                "{source}: no context in {line}"
            );
            redacted += usize::from(line.contains("[REDACTED]"));
        }
    }
    // The canaries did reach the log paths (and were redacted there), so the test can fail.
    assert!(
        redacted > 0,
        "nothing was redacted: the canaries never reached a log line"
    );
    let levels: std::collections::HashSet<String> = stderr_lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|r| r["level"].as_str().map(str::to_string))
        .collect();
    for level in ["TRACE", "DEBUG", "INFO", "WARN"] {
        assert!(levels.contains(level), "no {level} record: {levels:?}");
    }
    assert!(
        stderr_lines
            .iter()
            .any(|l| l.contains("\"component\":\"router\"") && l.contains("request served")),
        "no access record"
    );
    let selection: Value = stderr_lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|r| {
            r["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Selected "))
        })
        .expect("the seed's selection line");
    assert_eq!(selection["component"], "router", "{selection}");
    let selected = selection["context"]["tools_selected"]
        .as_array()
        .expect("tools_selected array");
    assert!(selected.iter().any(|t| t == "local__probe"), "{selection}");
    assert!(
        selection["context"]["selection_duration_ms"].is_number(),
        "{selection}"
    );
    assert!(
        selection["context"].get("session_id").is_some(),
        "{selection}"
    );
}

fn http_server_entry(url: &str) -> String {
    http_server("remote", url)
        + &format!(
            "    headers:\n      X-Canary: {HEADER_VALUE:?}\n      Authorization: \"Bearer {BEARER_VALUE}\"\n"
        )
}

//! `session.redis.tls`: the gateway keeps its sessions in a real `redis-server` that speaks only
//! TLS and asks for client certificates (certificates made by the `openssl` CLI), verifying Redis
//! against the configured CA. A wrong CA or a missing client certificate gives a degraded
//! `/health` naming the failure while MCP keeps working; an unreadable file stops the start,
//! named by its YAML path.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::harness::*;
use crate::sessions::ALICE;
use crate::tls::pki;

/// `tls_keys`: the lines under `session.redis.tls` (`{pki}` is the certificates' directory).
fn config(redis_port: u16, pki: &Path, tls_keys: &str) -> String {
    let servers = [stdio_server("everything", &everything_bin(), &["stdio"])];
    format!(
        "server:\n  transport: http\n  host: 127.0.0.1\n  port: 0\n  auth:\n    enabled: true\n    provider: apikey\n    api_keys:\n      - {{identity: alice, hash: {:?}}}\nrouter:\n  exposure: all\ntool_zoo:\n  persist_dir: \"{{dir}}/tool_zoo\"\nsession:\n  backend: redis\n  redis:\n    host: 127.0.0.1\n    port: {redis_port}\n    pool_size: 2\n    tls:\n      enabled: true\n{}downstream_servers:\n{}",
        hash_api_key(ALICE),
        tls_keys.replace("{pki}", &pki.display().to_string()),
        servers.concat()
    )
}

const FULL: &str = "      ca_path: \"{pki}/ca.pem\"\n      cert_path: \"{pki}/client.pem\"\n      key_path: \"{pki}/client.key\"\n";

/// `redis-cli` over TLS with the client certificate: what `args` answers.
fn redis_cli(pki: &Path, port: u16, args: &[&str]) -> String {
    let out = Command::new("timeout")
        .args(["10", "redis-cli", "--tls"])
        .args([
            "--cacert",
            "ca.pem",
            "--cert",
            "client.pem",
            "--key",
            "client.key",
        ])
        .args(["-p", &port.to_string()])
        .args(args)
        .current_dir(pki)
        .output()
        .expect("redis-cli (scripts/setup.sh installs redis-server, which brings it)");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

async fn health_component(gw: &GatewayProcess, want: &str) -> serde_json::Value {
    eventually(Duration::from_secs(15), want, || async {
        let (_, health) = get_json(&gw.url("/health")).await;
        (health["components"]["session_manager"] == want).then_some(health)
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_are_kept_in_a_redis_that_speaks_only_tls_with_client_certificates() {
    let certs = pki::pki();
    let dir = certs.path();
    pki::make_leaf(dir, "redis", 2001);
    pki::make_client_leaf(dir, "client", 2002);
    let redis = RedisServer::start_tls(dir);
    // The server really refuses plaintext, so a session found there came over TLS.
    let plain = Command::new("timeout")
        .args(["10", "redis-cli", "-p", &redis.port.to_string(), "PING"])
        .output()
        .expect("redis-cli");
    assert_ne!(String::from_utf8_lossy(&plain.stdout).trim(), "PONG");
    assert_eq!(redis_cli(dir, redis.port, &["PING"]), "PONG");

    let gw = GatewayProcess::start(&config(redis.port, dir, FULL));
    wait_connected(&gw.url(""), &["everything"]).await;
    let mut alice = RawSession::new(&gw, ALICE);
    alice.initialize().await;
    let (status, answer) = alice
        .call("everything__echo", json!({"message": "over tls"}))
        .await;
    assert_eq!(status, 200, "{answer}");
    let id = alice.session.clone().expect("a session id");
    let stored = redis_cli(dir, redis.port, &["EXISTS", &format!("ucp:session:{id}")]);
    assert_eq!(stored, "1", "the session is in the TLS Redis");
    let events = redis_cli(
        dir,
        redis.port,
        &["LLEN", &format!("ucp:session:{id}:events")],
    );
    assert!(
        events.parse::<u64>().unwrap_or(0) >= 1,
        "the call is in its history: {events}"
    );
    let health = health_component(&gw, "healthy").await;
    assert!(
        health["metrics"]["session_store_error"].is_null(),
        "{health}"
    );

    // Verified against the configured CA: a gateway trusting another CA does not connect, says
    // why, and still serves MCP.
    let other = tempfile::tempdir().unwrap();
    pki::make_ca(other.path());
    let wrong_ca = FULL.replace(
        "{pki}/ca.pem",
        &format!("{}/ca.pem", other.path().display()),
    );
    let untrusting = GatewayProcess::start(&config(redis.port, dir, &wrong_ca));
    // Without the client certificate Redis refuses the handshake.
    let no_cert = "      ca_path: \"{pki}/ca.pem\"\n";
    let anonymous = GatewayProcess::start(&config(redis.port, dir, no_cert));
    for gw in [&untrusting, &anonymous] {
        wait_connected(&gw.url(""), &["everything"]).await;
        let mut session = RawSession::new(gw, ALICE);
        session.initialize().await;
        let (status, answer) = session
            .call("everything__echo", json!({"message": "degraded"}))
            .await;
        assert_eq!(status, 200, "MCP works without the store: {answer}");
        let health = health_component(gw, "degraded").await;
        let error = health["metrics"]["session_store_error"]
            .as_str()
            .unwrap_or("");
        eprintln!("degraded: {error}");
        assert!(error.contains("rediss://"), "names the TLS store: {health}");
    }
}

#[test]
fn an_unreadable_redis_tls_file_stops_the_start_naming_its_yaml_path() {
    let dir = tempfile::tempdir().unwrap();
    let keys = "      ca_path: \"{pki}/missing-ca.pem\"\n";
    let path = dir.path().join("ucp_config.yaml");
    std::fs::write(
        &path,
        config(free_port(), dir.path(), keys).replace("{dir}", &dir.path().display().to_string()),
    )
    .unwrap();
    let out = Command::new("timeout")
        .arg("60")
        .arg(env!("CARGO_BIN_EXE_ucp"))
        .args(["serve", "-c"])
        .arg(&path)
        .env("UCP_HOME", ucp_home())
        .output()
        .expect("ucp serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("session.redis.tls.ca_path") && stderr.contains("missing-ca.pem"),
        "{stderr}"
    );
}

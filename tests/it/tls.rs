//! TLS termination end to end: the real gateway presenting certificates that the `openssl` CLI
//! makes at test time, reached by curl, `openssl s_client`, reqwest and an rmcp client over h2 and
//! HTTP/1.1, every client verifying against the test CA (no `-k`).

mod clients;
mod files;
mod handshake;
pub mod pki;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::*;

/// A gateway config with TLS on `{dir}/cert.pem` and `{dir}/key.pem`, plus `ssl_extra` lines.
pub fn tls_config(servers: &[String], ssl_extra: &str) -> String {
    http_config(
        servers,
        &format!(
            "  ssl:\n    enabled: true\n    cert_path: \"{{dir}}/cert.pem\"\n    key_path: \"{{dir}}/key.pem\"\n{ssl_extra}"
        ),
    )
}

pub fn tls_gateway(servers: &[String], ssl_extra: &str) -> GatewayProcess {
    let gw = GatewayProcess::start_in(pki::pki(), &tls_config(servers, ssl_extra));
    assert_eq!(gw.scheme, "https", "the listening line says https");
    gw
}

pub fn everything() -> Vec<String> {
    vec![stdio_server("everything", &everything_bin(), &["stdio"])]
}

/// A reqwest client that trusts only the test CA; h2 only (by ALPN) or HTTP/1.1 only.
pub fn https_client(dir: &Path, h2: bool) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(dir.join("ca.pem")).unwrap()).unwrap();
    let builder = reqwest::Client::builder()
        .tls_certs_only([ca])
        .tls_info(true);
    let builder = if h2 {
        builder.http2_prior_knowledge()
    } else {
        builder.http1_only()
    };
    builder.build().unwrap()
}

pub async fn wait_connected_over(client: &reqwest::Client, gw: &GatewayProcess, server: &str) {
    eventually(
        Duration::from_secs(60),
        "the downstream server to connect",
        || async {
            let health: Value = client
                .get(gw.url("/health"))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (health["components"]["downstream_servers"][server] == json!("connected")).then_some(())
        },
    )
    .await;
}

pub const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"tls-test","version":"1"}}}"#;

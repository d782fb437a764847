//! Tests for `server` validation: listener, logging, TLS, auth, rate limit, metrics.

use std::time::Duration;

use crate::validate::tests::{errors, ok, one_error};
use crate::{AuthProvider, JwtAlgorithm, LogFormat, LogLevel, LogOutput, TlsVersion};

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn server_values_and_port_zero() {
    let c = ok(r#"
server:
  name: gw
  transport: HTTP
  host: 0.0.0.0
  port: 0
  log_level: warn
  log_format: JSON
  log_output: stdout
  sanitize_logs: false
  max_body_bytes: 1024
  allowed_origins: ["https://app.example.com", "http://localhost:3000", "*"]
"#);
    let s = c.server;
    assert_eq!(s.port, 0);
    assert_eq!(s.log_level, LogLevel::Warning);
    assert_eq!(s.log_format, LogFormat::Json);
    assert_eq!(s.log_output, vec![LogOutput::Stdout]);
    assert!(!s.sanitize_logs);
    assert_eq!(s.max_body_bytes, 1024);
    assert_eq!(s.allowed_origins.len(), 3);
}

#[test]
fn log_level_spellings() {
    for (text, level) in [
        ("DEBUG", LogLevel::Debug),
        ("INFO", LogLevel::Info),
        ("WARNING", LogLevel::Warning),
        ("WARN", LogLevel::Warning),
        ("ERROR", LogLevel::Error),
        ("trace", LogLevel::Trace),
        ("Critical", LogLevel::Error),
    ] {
        assert_eq!(
            ok(&format!("server: {{log_level: {text}}}"))
                .server
                .log_level,
            level
        );
    }
    assert_eq!(
        one_error("server: {log_level: loud}"),
        r#"server.log_level: unknown log level "loud" (expected trace, debug, info, warning or error)"#
    );
}

#[test]
fn log_output_checks() {
    assert_eq!(
        one_error("server: {log_output: [stdout, syslog]}"),
        r#"server.log_output[1]: unknown log output "syslog" (expected stdout, stderr or file:PATH)"#
    );
    assert_eq!(
        one_error("server: {log_output: 'file:'}"),
        "server.log_output: file: needs a path, e.g. file:/var/log/ucp/ucp.log"
    );
    assert_eq!(
        one_error("server: {log_output: []}"),
        "server.log_output: must list at least one output"
    );
}

#[test]
fn ssl_needs_cert_and_key_when_enabled() {
    assert_eq!(
        errors("server:\n  ssl:\n    enabled: true\n"),
        vec![
            "server.ssl.cert_path: required when ssl.enabled is true",
            "server.ssl.key_path: required when ssl.enabled is true",
        ]
    );
    ok("server:\n  ssl:\n    enabled: false\n");
}

#[test]
fn tls_versions() {
    for (text, v) in [
        ("1.2", TlsVersion::V1_2),
        ("\"1.3\"", TlsVersion::V1_3),
        ("TLSv1.3", TlsVersion::V1_3),
    ] {
        assert_eq!(
            ok(&format!("server: {{ssl: {{min_tls_version: {text}}}}}"))
                .server
                .ssl
                .min_tls_version,
            v
        );
    }
    assert_eq!(
        one_error("server: {ssl: {min_tls_version: 1.1}}"),
        r#"server.ssl.min_tls_version: unsupported TLS version "1.1" (expected 1.2 or 1.3)"#
    );
}

const KEY_HASH: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

#[test]
fn auth_checks() {
    let c = ok(&format!(
        "server: {{auth: {{enabled: true, provider: apikey, api_keys: [{{identity: team-a, hash: '{KEY_HASH}', groups: [a]}}]}}}}"
    ));
    assert_eq!(c.server.auth.provider, AuthProvider::ApiKey);
    let key = &c.server.auth.api_keys[0];
    assert_eq!(
        (key.identity.as_str(), key.sha256[0], key.sha256[31]),
        ("team-a", 0x9f, 0x08)
    );
    assert_eq!(
        ok("server: {auth: {provider: OAuth2}}")
            .server
            .auth
            .provider,
        AuthProvider::OAuth2
    );
    assert_eq!(
        one_error("server: {auth: {provider: basic}}"),
        r#"server.auth.provider: unknown provider "basic" (expected jwt, apikey or oauth2)"#
    );
    assert_eq!(
        one_error("server: {auth: {enabled: true, provider: jwt, secret: ''}}"),
        "server.auth.secret: required when auth is enabled with provider jwt (or public_key_path, or jwks_path)"
    );
    assert_eq!(
        errors("server: {auth: {rate_limit: {requests_per_minute: 0}}}"),
        vec![
            "server.auth.rate_limit.requests_per_minute: must be greater than 0",
            "server.auth.rate_limit.burst: required when rate_limit is set",
        ]
    );
}

#[test]
fn jwt_keys_and_algorithms() {
    let c = ok(
        "server: {auth: {enabled: true, public_key_path: /k.pem, algorithms: RS256, issuer: i, audience: [a, b], leeway: 5}}",
    );
    let auth = &c.server.auth;
    assert_eq!(auth.algorithms, vec![JwtAlgorithm::RS256]);
    assert_eq!(auth.audience, vec!["a", "b"]);
    assert_eq!(auth.leeway, Duration::from_secs(5));
    assert_eq!(
        one_error("server: {auth: {enabled: true, public_key_path: /k.pem, algorithms: [HS256]}}"),
        "server.auth.algorithms[0]: HS256 needs a shared secret; a public key never verifies an HMAC token"
    );
    assert_eq!(
        one_error("server: {auth: {enabled: true, secret: s, algorithms: [ES256]}}"),
        "server.auth.algorithms[0]: an asymmetric algorithm needs public_key_path or jwks_path, not secret"
    );
    assert_eq!(
        one_error("server: {auth: {algorithms: [none]}}"),
        r#"server.auth.algorithms[0]: unsupported algorithm "none" (expected HS256, RS256 or ES256)"#
    );
    assert_eq!(
        one_error("server: {auth: {enabled: true, secret: s, jwks_path: /j.json}}"),
        "server.auth.jwks_path: give one of secret, public_key_path or jwks_path (also set: secret)"
    );
    assert_eq!(
        one_error("server: {auth: {leeway: 3600}}"),
        "server.auth.leeway: at most 300 seconds"
    );
    let short = crate::parse("server: {auth: {enabled: true, secret: short}}", &no_env).unwrap();
    assert!(
        short
            .warnings
            .iter()
            .any(|w| w.contains("shorter than 32 bytes")),
        "{:?}",
        short.warnings
    );
}

#[test]
fn api_key_checks() {
    assert_eq!(
        one_error("server: {auth: {enabled: true, provider: apikey}}"),
        "server.auth.api_keys: required when auth is enabled with provider apikey: at least one key that is not revoked"
    );
    assert_eq!(
        errors("server: {auth: {api_keys: [{hash: 'plain-key-in-clear'}]}}"),
        vec![
            "server.auth.api_keys[0].identity: required",
            "server.auth.api_keys[0].hash: expected sha256:<64 hex digits> (print one with `ucp hash-api-key`); keys are never written in the config in clear",
        ]
    );
    assert_eq!(
        one_error(&format!(
            "server: {{auth: {{api_keys: [{{identity: a, hash: '{KEY_HASH}'}}, {{identity: b, hash: '{KEY_HASH}'}}]}}}}"
        )),
        "server.auth.api_keys[1].hash: the same key is listed twice"
    );
    assert_eq!(
        one_error("server: {auth: {api_keys: [{identity: a, hash: 'sha256:abc'}]}}"),
        "server.auth.api_keys[0].hash: expected sha256: followed by 64 hex digits"
    );
    assert_eq!(
        errors("server: {auth: {api_keys: [{identity: a, hash: 'x', grups: []}]}}")[0],
        "server.auth.api_keys[0].grups: unknown key (did you mean `groups`?)"
    );
}

#[test]
fn oauth2_checks() {
    let c = ok(
        "server: {auth: {enabled: true, provider: oauth2, jwks_path: /j.json, issuer: 'https://idp', resource: 'https://ucp.example.com/mcp'}}",
    );
    let auth = &c.server.auth;
    assert_eq!(auth.audience, vec!["https://ucp.example.com/mcp"]);
    assert_eq!(auth.oauth2.authorization_servers, vec!["https://idp"]);
    assert_eq!(
        auth.oauth2.metadata_url().as_deref(),
        Some("https://ucp.example.com/.well-known/oauth-protected-resource/mcp")
    );
    assert_eq!(
        errors("server: {auth: {enabled: true, provider: oauth2, secret: s}}"),
        vec![
            "server.auth.secret: not used by provider oauth2: tokens are verified with the authorization server's public keys (public_key_path or jwks_path)",
            "server.auth.issuer: required with provider oauth2",
            "server.auth.resource: required with provider oauth2: this gateway's URL, e.g. https://ucp.example.com/mcp",
        ]
    );
    assert_eq!(
        one_error(
            "server: {auth: {enabled: true, provider: oauth2, jwks_path: /j, issuer: i, resource: 'ucp'}}"
        ),
        r#"server.auth.resource: "ucp" is not an http(s) URL"#
    );
}

#[test]
fn metrics_checks() {
    assert_eq!(
        one_error("server: {metrics: {path: metrics}}"),
        "server.metrics.path: must start with / and contain no spaces"
    );
    assert_eq!(
        one_error("server: {transport: http, port: 9000, metrics: {port: 9000}}"),
        "server.metrics.port: must differ from server.port (leave it out to serve metrics on the main listener)"
    );
}

#[test]
fn server_scalar_checks() {
    assert_eq!(
        one_error("server: {transport: sse}"),
        r#"server.transport: unknown transport "sse" (expected stdio or http)"#
    );
    assert_eq!(
        one_error("server: {max_body_bytes: 100}"),
        "server.max_body_bytes: must be at least 1024"
    );
    assert_eq!(
        one_error("server: {allowed_origins: ['https://a.example.com/']}"),
        r#"server.allowed_origins[0]: "https://a.example.com/" is not an origin (expected scheme and host such as https://app.example.com, without a path, or *)"#
    );
    assert_eq!(
        one_error("server: {name: ' '}"),
        "server.name: must not be empty"
    );
    assert_eq!(
        one_error("server: {log_format: xml}"),
        r#"server.log_format: unknown log format "xml" (expected json or text)"#
    );
}

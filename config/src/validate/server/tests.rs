//! Tests for `server` validation: listener, logging, TLS, auth, rate limit, metrics.

use crate::validate::tests::{errors, ok, one_error};
use crate::{AuthProvider, LogFormat, LogLevel, LogOutput, TlsVersion};

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

#[test]
fn auth_checks() {
    let c = ok("server: {auth: {enabled: true, provider: apikey}}");
    assert_eq!(c.server.auth.provider, AuthProvider::ApiKey);
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
        "server.auth.secret: required when auth is enabled with provider jwt"
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

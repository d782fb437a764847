//! Validation of `server`: listener, logging, TLS, auth, rate limit and metrics.

use std::path::PathBuf;

use crate::error::Problems;
use crate::model::{
    AuthConfig, AuthProvider, LogFormat, LogLevel, LogOutput, MetricsConfig, RateLimitConfig,
    ServerConfig, ServerTransport, SslConfig, TlsVersion,
};
use crate::raw::{RawAuth, RawLogOutput, RawMetrics, RawServer, RawSsl};

use super::{choice, choice_expecting, non_empty};

pub(super) fn server(raw: RawServer, p: &mut Problems) -> ServerConfig {
    let mut out = ServerConfig::default();
    if let Some(name) = raw.name {
        out.name = non_empty(name, "server.name", p);
    }
    if let Some(transport) = raw.transport {
        let transports = [
            ("stdio", ServerTransport::Stdio),
            ("http", ServerTransport::Http),
        ];
        out.transport = choice(&transport, &transports, "transport", "server.transport", p)
            .unwrap_or(out.transport);
    }
    if let Some(host) = raw.host {
        out.host = non_empty(host, "server.host", p);
    }
    if let Some(port) = raw.port {
        out.port = port;
    }
    if let Some(level) = raw.log_level {
        let levels = [
            ("trace", LogLevel::Trace),
            ("debug", LogLevel::Debug),
            ("info", LogLevel::Info),
            ("warning", LogLevel::Warning),
            ("error", LogLevel::Error),
            ("warn", LogLevel::Warning),
            ("critical", LogLevel::Error),
        ];
        out.log_level = choice_expecting(
            &level,
            &levels,
            "log level",
            "trace, debug, info, warning or error",
            "server.log_level",
            p,
        )
        .unwrap_or(out.log_level);
    }
    if let Some(format) = raw.log_format {
        let formats = [("json", LogFormat::Json), ("text", LogFormat::Text)];
        out.log_format = choice(&format, &formats, "log format", "server.log_format", p)
            .unwrap_or(out.log_format);
    }
    if let Some(outputs) = raw.log_output {
        out.log_output = log_outputs(outputs, p);
    }
    if let Some(sanitize) = raw.sanitize_logs {
        out.sanitize_logs = sanitize;
    }
    if let Some(admit) = raw.admit_ops_endpoints {
        out.admit_ops_endpoints = admit;
    }
    if let Some(max) = raw.max_body_bytes {
        if max < 1024 {
            p.push("server.max_body_bytes", "must be at least 1024");
        }
        out.max_body_bytes = max;
    }
    if let Some(origins) = raw.allowed_origins {
        for (i, origin) in origins.iter().enumerate() {
            if !is_origin(origin) {
                p.push(
                    format!("server.allowed_origins[{i}]"),
                    format!(
                        "\"{origin}\" is not an origin (expected scheme and host such as \
                         https://app.example.com, without a path, or *)"
                    ),
                );
            }
        }
        out.allowed_origins = origins;
    }
    out.ssl = ssl(raw.ssl.unwrap_or_default(), p);
    out.auth = auth(raw.auth.unwrap_or_default(), p);
    out.metrics = metrics(raw.metrics.unwrap_or_default(), p);
    if out.transport == ServerTransport::Http && out.port != 0 && out.metrics.port == Some(out.port)
    {
        p.push(
            "server.metrics.port",
            "must differ from server.port (leave it out to serve metrics on the main listener)",
        );
    }
    out
}

fn log_outputs(raw: RawLogOutput, p: &mut Problems) -> Vec<LogOutput> {
    let items: Vec<(String, String)> = match raw {
        RawLogOutput::One(item) => vec![("server.log_output".to_owned(), item)],
        RawLogOutput::Many(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| (format!("server.log_output[{i}]"), item))
            .collect(),
    };
    if items.is_empty() {
        p.push("server.log_output", "must list at least one output");
    }
    let mut outputs = Vec::with_capacity(items.len());
    for (path, item) in items {
        let trimmed = item.trim();
        if trimmed.eq_ignore_ascii_case("stdout") {
            outputs.push(LogOutput::Stdout);
        } else if trimmed.eq_ignore_ascii_case("stderr") {
            outputs.push(LogOutput::Stderr);
        } else if let Some(file) = trimmed.strip_prefix("file:") {
            if file.trim().is_empty() {
                p.push(path, "file: needs a path, e.g. file:/var/log/ucp/ucp.log");
            } else {
                outputs.push(LogOutput::File(PathBuf::from(file.trim())));
            }
        } else {
            p.push(
                path,
                format!("unknown log output \"{item}\" (expected stdout, stderr or file:PATH)"),
            );
        }
    }
    outputs
}

/// `*`, or `scheme://host[:port]` with no path: what browsers send in the Origin header.
fn is_origin(origin: &str) -> bool {
    if origin == "*" {
        return true;
    }
    match origin.split_once("://") {
        Some((scheme, rest)) => {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !rest.is_empty()
                && !rest.contains('/')
                && !rest.contains(char::is_whitespace)
        }
        None => false,
    }
}

fn ssl(raw: RawSsl, p: &mut Problems) -> SslConfig {
    let mut out = SslConfig::default();
    if let Some(enabled) = raw.enabled {
        out.enabled = enabled;
    }
    out.cert_path = raw
        .cert_path
        .map(|v| non_empty(v, "server.ssl.cert_path", p).into());
    out.key_path = raw
        .key_path
        .map(|v| non_empty(v, "server.ssl.key_path", p).into());
    if out.enabled {
        if out.cert_path.is_none() {
            p.push("server.ssl.cert_path", "required when ssl.enabled is true");
        }
        if out.key_path.is_none() {
            p.push("server.ssl.key_path", "required when ssl.enabled is true");
        }
    }
    if let Some(version) = raw.min_tls_version {
        let v = version.0.trim().to_ascii_lowercase();
        let v = v
            .strip_prefix("tlsv")
            .or_else(|| v.strip_prefix("tls"))
            .unwrap_or(&v);
        match v {
            "1.2" => out.min_tls_version = TlsVersion::V1_2,
            "1.3" => out.min_tls_version = TlsVersion::V1_3,
            _ => p.push(
                "server.ssl.min_tls_version",
                format!(
                    "unsupported TLS version \"{}\" (expected 1.2 or 1.3)",
                    version.0
                ),
            ),
        }
    }
    out.ciphers = raw.ciphers.map(|c| non_empty(c, "server.ssl.ciphers", p));
    out
}

fn auth(raw: RawAuth, p: &mut Problems) -> AuthConfig {
    let mut out = AuthConfig::default();
    if let Some(enabled) = raw.enabled {
        out.enabled = enabled;
    }
    if let Some(provider) = raw.provider {
        let providers = [
            ("jwt", AuthProvider::Jwt),
            ("apikey", AuthProvider::ApiKey),
            ("oauth2", AuthProvider::OAuth2),
            ("api_key", AuthProvider::ApiKey),
        ];
        out.provider = choice_expecting(
            &provider,
            &providers,
            "provider",
            "jwt, apikey or oauth2",
            "server.auth.provider",
            p,
        )
        .unwrap_or(out.provider);
    }
    out.secret = raw.secret.filter(|s| !s.is_empty());
    if out.enabled && out.provider == AuthProvider::Jwt && out.secret.is_none() {
        p.push(
            "server.auth.secret",
            "required when auth is enabled with provider jwt",
        );
    }
    if let Some(limit) = raw.rate_limit {
        let mut positive = |value: Option<u32>, key: &str| -> u32 {
            let path = format!("server.auth.rate_limit.{key}");
            match value {
                None => p.push(path, "required when rate_limit is set"),
                Some(0) => p.push(path, "must be greater than 0"),
                Some(_) => {}
            }
            value.unwrap_or(0)
        };
        out.rate_limit = Some(RateLimitConfig {
            requests_per_minute: positive(limit.requests_per_minute, "requests_per_minute"),
            burst: positive(limit.burst, "burst"),
        });
    }
    out
}

fn metrics(raw: RawMetrics, p: &mut Problems) -> MetricsConfig {
    let mut out = MetricsConfig::default();
    if let Some(enabled) = raw.enabled {
        out.enabled = enabled;
    }
    out.port = raw.port;
    if let Some(path) = raw.path {
        if !path.starts_with('/') || path.contains(char::is_whitespace) {
            p.push(
                "server.metrics.path",
                "must start with / and contain no spaces",
            );
        }
        out.path = path;
    }
    out
}

#[cfg(test)]
mod tests;

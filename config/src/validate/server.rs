//! Validation of `server`: listener, logging, TLS, auth, rate limit, metrics and the operator page.

use std::path::PathBuf;

use crate::error::Problems;
use crate::model::{
    ApiKeyConfig, AuthConfig, AuthProvider, ConnectionLimits, JwtAlgorithm, LogFormat, LogLevel,
    LogOutput, MAX_POLICY_RULES, MetricsConfig, PolicyConfig, PolicyRule, RateLimitConfig,
    ServerConfig, ServerTransport, SslConfig, TlsVersion,
};
use crate::raw::{
    RawApiKey, RawAuth, RawLimits, RawMetrics, RawOneOrMany, RawPolicy, RawServer, RawSsl,
};

use super::{choice, choice_expecting, non_empty};

pub(super) fn server(raw: RawServer, p: &mut Problems, warnings: &mut Vec<String>) -> ServerConfig {
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
    if let Some(hosts) = raw.allowed_hosts {
        for (i, host) in hosts.iter().enumerate() {
            if host.is_empty() || host.contains(['/', ' ', ':']) && !host.starts_with('[') {
                p.push(
                    format!("server.allowed_hosts[{i}]"),
                    format!(
                        "\"{host}\" is not a host name (no scheme, port or path: ucp.example.com)"
                    ),
                );
            }
        }
        out.allowed_hosts = hosts;
    }
    if let Some(region) = raw.region {
        let valid = (1..=64).contains(&region.len())
            && region
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            p.push(
                "server.region",
                format!("\"{region}\" must be 1-64 of A-Z a-z 0-9 - _ . (e.g. eu-west-1)"),
            );
        }
        out.region = Some(region);
    }
    if let Some(allow) = raw.allow_public_without_auth {
        out.allow_public_without_auth = allow;
    }
    if let Some(admit) = raw.admit_ops_endpoints {
        out.admit_ops_endpoints = admit;
    }
    if let Some(drain) = raw.drain_timeout
        && let Some(drain) = super::seconds(drain, "server.drain_timeout", p)
    {
        out.drain_timeout = drain;
    }
    if let Some(ready) = raw.ready_timeout
        && let Some(ready) = super::seconds(ready, "server.ready_timeout", p)
    {
        out.ready_timeout = ready;
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
    out.auth = auth(raw.auth.unwrap_or_default(), p, warnings);
    out.metrics = metrics(raw.metrics.unwrap_or_default(), p);
    out.ui.enabled = raw.ui.and_then(|ui| ui.enabled).unwrap_or(false);
    if out.ui.enabled && out.transport == ServerTransport::Stdio {
        warnings.push(
            "server.ui.enabled: the operator page is served over HTTP only; with \
             server.transport: stdio there is none"
                .to_owned(),
        );
    }
    out.limits = limits(raw.limits.unwrap_or_default(), p);
    if out.transport == ServerTransport::Http && out.port != 0 && out.metrics.port == Some(out.port)
    {
        p.push(
            "server.metrics.port",
            "must differ from server.port (leave it out to serve metrics on the main listener)",
        );
    }
    out
}

fn log_outputs(raw: RawOneOrMany, p: &mut Problems) -> Vec<LogOutput> {
    let items: Vec<(String, String)> = match raw {
        RawOneOrMany::One(item) => vec![("server.log_output".to_owned(), item)],
        RawOneOrMany::Many(items) => items
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

fn auth(raw: RawAuth, p: &mut Problems, warnings: &mut Vec<String>) -> AuthConfig {
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
    out.public_key_path = raw
        .public_key_path
        .map(|v| non_empty(v, "server.auth.public_key_path", p).into());
    out.jwks_path = raw
        .jwks_path
        .map(|v| non_empty(v, "server.auth.jwks_path", p).into());
    if let Some(algorithms) = raw.algorithms {
        let names = [
            ("HS256", JwtAlgorithm::HS256),
            ("RS256", JwtAlgorithm::RS256),
            ("ES256", JwtAlgorithm::ES256),
        ];
        for (path, name) in one_or_many(algorithms, "server.auth.algorithms") {
            match names
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
            {
                Some((_, alg)) => out.algorithms.push(*alg),
                None => p.push(
                    path,
                    format!("unsupported algorithm \"{name}\" (expected HS256, RS256 or ES256)"),
                ),
            }
        }
    }
    out.issuer = raw.issuer.map(|v| non_empty(v, "server.auth.issuer", p));
    if let Some(audience) = raw.audience {
        for (path, aud) in one_or_many(audience, "server.auth.audience") {
            out.audience.push(non_empty(aud, &path, p));
        }
    }
    if let Some(leeway) = raw.leeway {
        if leeway > 300 {
            p.push("server.auth.leeway", "at most 300 seconds");
        }
        out.leeway = std::time::Duration::from_secs(leeway);
    }
    if let Some(claim) = raw.identity_claim {
        out.identity_claim = non_empty(claim, "server.auth.identity_claim", p);
    }
    if let Some(claim) = raw.groups_claim {
        out.groups_claim = non_empty(claim, "server.auth.groups_claim", p);
    }
    out.api_keys = api_keys(raw.api_keys.unwrap_or_default(), p);
    out.oauth2.resource = raw
        .resource
        .map(|v| non_empty(v, "server.auth.resource", p));
    out.oauth2.authorization_servers = raw.authorization_servers.unwrap_or_default();
    out.oauth2.scopes_supported = raw.scopes_supported.unwrap_or_default();
    out.oauth2.required_scopes = raw.required_scopes.unwrap_or_default();
    if out.enabled {
        auth_provider_keys(&mut out, p, warnings);
    }
    if let Some(policy) = raw.policy {
        out.policy = self::policy(policy, p);
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

/// What each provider needs, checked once auth is enabled.
fn auth_provider_keys(out: &mut AuthConfig, p: &mut Problems, warnings: &mut Vec<String>) {
    let sources = [
        ("secret", out.secret.is_some()),
        ("public_key_path", out.public_key_path.is_some()),
        ("jwks_path", out.jwks_path.is_some()),
    ];
    let given: Vec<&str> = sources.iter().filter(|s| s.1).map(|s| s.0).collect();
    match out.provider {
        AuthProvider::Jwt => {
            if given.is_empty() {
                p.push(
                    "server.auth.secret",
                    "required when auth is enabled with provider jwt (or public_key_path, or jwks_path)",
                );
            }
        }
        AuthProvider::OAuth2 => {
            if out.secret.is_some() {
                p.push(
                    "server.auth.secret",
                    "not used by provider oauth2: tokens are verified with the authorization \
                     server's public keys (public_key_path or jwks_path)",
                );
            } else if given.is_empty() {
                p.push(
                    "server.auth.jwks_path",
                    "required when auth is enabled with provider oauth2 (or public_key_path)",
                );
            }
            if out.issuer.is_none() {
                p.push("server.auth.issuer", "required with provider oauth2");
            }
            match &out.oauth2.resource {
                None => p.push(
                    "server.auth.resource",
                    "required with provider oauth2: this gateway's URL, e.g. https://ucp.example.com/mcp",
                ),
                Some(resource) if !is_http_url(resource) => p.push(
                    "server.auth.resource",
                    format!("\"{resource}\" is not an http(s) URL"),
                ),
                Some(resource) => {
                    if out.audience.is_empty() {
                        out.audience.push(resource.clone());
                    }
                }
            }
            if out.oauth2.authorization_servers.is_empty()
                && let Some(issuer) = &out.issuer
            {
                out.oauth2.authorization_servers.push(issuer.clone());
            }
        }
        AuthProvider::ApiKey => {
            if out.api_keys.iter().all(|k| k.revoked) {
                p.push(
                    "server.auth.api_keys",
                    "required when auth is enabled with provider apikey: at least one key that is not revoked",
                );
            }
        }
    }
    if out.provider != AuthProvider::ApiKey && given.len() > 1 {
        p.push(
            format!("server.auth.{}", given[1]),
            format!(
                "give one of secret, public_key_path or jwks_path (also set: {})",
                given[0]
            ),
        );
    }
    // Algorithm confusion: an HMAC algorithm with a public key, or an asymmetric one with a secret.
    let secret = out.secret.is_some();
    for (i, alg) in out.algorithms.iter().enumerate() {
        if (*alg == JwtAlgorithm::HS256) != secret && out.provider != AuthProvider::ApiKey {
            p.push(
                format!("server.auth.algorithms[{i}]"),
                if secret {
                    "an asymmetric algorithm needs public_key_path or jwks_path, not secret"
                } else {
                    "HS256 needs a shared secret; a public key never verifies an HMAC token"
                },
            );
        }
    }
    if let Some(secret) = &out.secret
        && secret.len() < 32
    {
        warnings.push(
            "server.auth.secret: shorter than 32 bytes; an HS256 secret should have 256 bits \
             (generate one with `openssl rand -base64 32`)"
                .to_owned(),
        );
    }
}

fn policy(raw: RawPolicy, p: &mut Problems) -> PolicyConfig {
    let mut out = PolicyConfig::default();
    if let Some(default) = raw.default {
        let defaults = [("allow", true), ("deny", false)];
        out.default_allow = choice(
            &default,
            &defaults,
            "default",
            "server.auth.policy.default",
            p,
        )
        .unwrap_or(true);
    }
    let rules = raw.rules.unwrap_or_default();
    if rules.len() > MAX_POLICY_RULES {
        p.push(
            "server.auth.policy.rules",
            format!("at most {MAX_POLICY_RULES} rules"),
        );
    }
    for (i, rule) in rules.into_iter().enumerate() {
        let path = format!("server.auth.policy.rules[{i}]");
        let mut patterns = |list: Option<Vec<String>>, key: &str| -> Vec<String> {
            let list = list.unwrap_or_default();
            for (j, pattern) in list.iter().enumerate() {
                let bare = pattern.strip_prefix("server:").unwrap_or(pattern);
                if bare.trim().is_empty() || bare.contains(char::is_whitespace) {
                    p.push(
                        format!("{path}.{key}[{j}]"),
                        "a pattern is a tool name with * and ? wildcards, or server:NAME",
                    );
                }
            }
            list
        };
        let allow = patterns(rule.allow, "allow");
        let deny = patterns(rule.deny, "deny");
        if allow.is_empty() && deny.is_empty() {
            p.push(&path, "a rule needs allow or deny patterns");
        }
        out.rules.push(PolicyRule {
            identities: rule.identities.unwrap_or_default(),
            groups: rule.groups.unwrap_or_default(),
            claims: rule.claims.unwrap_or_default(),
            allow,
            deny,
        });
    }
    out
}

fn api_keys(raw: Vec<RawApiKey>, p: &mut Problems) -> Vec<ApiKeyConfig> {
    let mut out: Vec<ApiKeyConfig> = Vec::with_capacity(raw.len());
    for (i, key) in raw.into_iter().enumerate() {
        let path = format!("server.auth.api_keys[{i}]");
        let identity = match key.identity {
            Some(identity) => non_empty(identity, &format!("{path}.identity"), p),
            None => {
                p.push(format!("{path}.identity"), "required");
                String::new()
            }
        };
        let sha256 = match key.hash.as_deref().map(parse_key_hash) {
            Some(Ok(hash)) => hash,
            Some(Err(why)) => {
                p.push(format!("{path}.hash"), why);
                [0; 32]
            }
            None => {
                p.push(
                    format!("{path}.hash"),
                    "required: sha256:<64 hex digits> (print one with `ucp hash-api-key`)",
                );
                [0; 32]
            }
        };
        if sha256 != [0; 32] && out.iter().any(|k| k.sha256 == sha256) {
            p.push(format!("{path}.hash"), "the same key is listed twice");
        }
        out.push(ApiKeyConfig {
            identity,
            sha256,
            groups: key.groups.unwrap_or_default(),
            revoked: key.revoked.unwrap_or(false),
        });
    }
    out
}

/// `sha256:<64 hex digits>`.
fn parse_key_hash(text: &str) -> Result<[u8; 32], String> {
    let hex = text.trim().strip_prefix("sha256:").ok_or_else(|| {
        "expected sha256:<64 hex digits> (print one with `ucp hash-api-key`); keys are never \
         written in the config in clear"
            .to_owned()
    })?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("expected sha256: followed by 64 hex digits".to_owned());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

fn is_http_url(url: &str) -> bool {
    url.split_once("://").is_some_and(|(scheme, rest)| {
        matches!(scheme, "http" | "https")
            && !rest.is_empty()
            && !rest.contains(char::is_whitespace)
    })
}

/// Items of a one-or-many value with their YAML paths.
fn one_or_many(raw: RawOneOrMany, key: &str) -> Vec<(String, String)> {
    match raw {
        RawOneOrMany::One(item) => vec![(key.to_owned(), item)],
        RawOneOrMany::Many(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| (format!("{key}[{i}]"), item))
            .collect(),
    }
}

fn limits(raw: RawLimits, p: &mut Problems) -> ConnectionLimits {
    let mut out = ConnectionLimits::default();
    let timeouts = [
        (
            raw.header_timeout,
            "header_timeout",
            &mut out.header_timeout,
        ),
        (raw.body_timeout, "body_timeout", &mut out.body_timeout),
        (
            raw.keepalive_timeout,
            "keepalive_timeout",
            &mut out.keepalive_timeout,
        ),
    ];
    for (value, key, slot) in timeouts {
        if let Some(value) = value
            && let Some(d) = super::seconds(value, &format!("server.limits.{key}"), p)
        {
            *slot = d;
        }
    }
    let counts = [
        (
            raw.max_connections,
            "max_connections",
            1,
            &mut out.max_connections,
        ),
        (
            raw.max_connections_per_peer,
            "max_connections_per_peer",
            1,
            &mut out.max_connections_per_peer,
        ),
        // pingora reads at most 1 MiB of head and 256 headers: a larger limit could not hold.
        (
            raw.max_header_bytes,
            "max_header_bytes",
            1024,
            &mut out.max_header_bytes,
        ),
        (raw.max_headers, "max_headers", 8, &mut out.max_headers),
    ];
    for (value, key, min, slot) in counts {
        if let Some(value) = value {
            *slot = super::at_least(value, min, &format!("server.limits.{key}"), p);
        }
    }
    if out.max_header_bytes > 1024 * 1024 - 1 {
        p.push(
            "server.limits.max_header_bytes",
            "must be at most 1048575 (pingora's limit)",
        );
    }
    if out.max_headers > 256 {
        p.push(
            "server.limits.max_headers",
            "must be at most 256 (pingora's limit)",
        );
    }
    if out.max_connections_per_peer > out.max_connections {
        p.push(
            "server.limits.max_connections_per_peer",
            "must not exceed server.limits.max_connections",
        );
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

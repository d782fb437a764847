//! Raw -> Config: applies defaults and checks every value, collecting all problems with their paths.

mod downstream;
mod server;

use std::path::PathBuf;
use std::time::Duration;

use serde_yaml_ng::Value;

use crate::error::Problems;
use crate::model::{
    CacheConfig, Config, Exposure, RedisConfig, RedisTls, RouterConfig, RouterMode, SessionBackend,
    SessionConfig, ToolZooConfig,
};
use crate::raw::{RawCache, RawConfig, RawRedis, RawRedisTls, RawRouter, RawSession, RawToolZoo};

/// Builds the validated config; the result is only meaningful when `problems` stayed empty.
pub(crate) fn validate(raw: RawConfig, p: &mut Problems, warnings: &mut Vec<String>) -> Config {
    // Problems are reported in file order: server, tool_zoo, router, session, downstream_servers.
    let server = server::server(raw.server.unwrap_or_default(), p, warnings);
    let tool_zoo = tool_zoo(raw.tool_zoo.unwrap_or_default(), p, warnings);
    let router = router(raw.router.unwrap_or_default(), p);
    let session = session(raw.session.unwrap_or_default(), p, warnings);
    let downstream_servers = downstream::servers(
        raw.downstream_servers.unwrap_or_default(),
        &router.separator,
        p,
    );
    Config {
        server,
        tool_zoo,
        router,
        session,
        downstream_servers,
    }
}

fn tool_zoo(raw: RawToolZoo, p: &mut Problems, warnings: &mut Vec<String>) -> ToolZooConfig {
    let mut out = ToolZooConfig::default();
    if let Some(model) = raw.embedding_model {
        out.embedding_model = non_empty(model, "tool_zoo.embedding_model", p);
    }
    if let Some(top_k) = raw.top_k {
        out.top_k = at_least(top_k, 1, "tool_zoo.top_k", p);
    }
    if let Some(threshold) = raw.similarity_threshold {
        if threshold.is_finite() && (-1.0..=1.0).contains(&threshold) {
            out.similarity_threshold = threshold as f32;
        } else {
            p.push("tool_zoo.similarity_threshold", "must be between -1 and 1");
        }
    }
    if let Some(dir) = raw.persist_dir {
        out.persist_dir = non_empty(dir, "tool_zoo.persist_dir", p).into();
    }
    if let Some(cache) = raw.cache_embeddings {
        out.cache_embeddings = cache;
    }
    if let Some(max) = raw.max_query_bytes {
        out.max_query_bytes = at_least(max, 16, "tool_zoo.max_query_bytes", p);
    }
    if raw.chromadb_server.is_some() {
        warnings.push(
            "tool_zoo.chromadb_server: UCP stores the tool zoo in embedded RocksDB; \
             chromadb_server is not supported (ignored)"
                .to_owned(),
        );
    }
    unsupported("tool_zoo.cache_dir", &raw.cache_dir, warnings);
    unsupported("tool_zoo.cache_ttl", &raw.cache_ttl, warnings);
    out
}

fn router(raw: RawRouter, p: &mut Problems) -> RouterConfig {
    let mut out = RouterConfig::default();
    if let Some(mode) = raw.mode {
        let modes = [
            ("keyword", RouterMode::Keyword),
            ("semantic", RouterMode::Semantic),
            ("hybrid", RouterMode::Hybrid),
        ];
        out.mode = choice(&mode, &modes, "mode", "router.mode", p).unwrap_or(out.mode);
    }
    if let Some(exposure) = raw.exposure {
        let exposures = [
            ("search", Exposure::Search),
            ("dynamic", Exposure::Dynamic),
            ("all", Exposure::All),
        ];
        out.exposure =
            choice(&exposure, &exposures, "exposure", "router.exposure", p).unwrap_or(out.exposure);
    }
    if let Some(max_tools) = raw.max_tools {
        out.max_tools = at_least(max_tools, 1, "router.max_tools", p);
    }
    out.per_server_cap = raw.per_server_cap.filter(|cap| *cap > 0);
    if let Some(separator) = raw.separator {
        if separator.is_empty() {
            p.push("router.separator", "must not be empty");
        } else if !is_name_chars(&separator) {
            p.push("router.separator", "must only contain [A-Za-z0-9_-]");
        } else {
            out.separator = separator;
        }
    }
    if let Some(pinned) = raw.pinned {
        for (i, name) in pinned.iter().enumerate() {
            if name.trim().is_empty() {
                p.push(format!("router.pinned[{i}]"), "must not be empty");
            }
        }
        out.pinned = pinned;
    }
    if let Some(on) = raw.enable_co_occurrence {
        out.enable_co_occurrence = on;
    }
    if let Some(on) = raw.enable_learning {
        out.enable_learning = on;
    }
    out.cache = cache(raw.cache.unwrap_or_default(), p);
    out
}

fn cache(raw: RawCache, p: &mut Problems) -> CacheConfig {
    let mut out = CacheConfig::default();
    if let Some(enabled) = raw.enabled {
        out.enabled = enabled;
    }
    if let Some(max_size) = raw.max_size {
        out.max_size = at_least(max_size, 1, "router.cache.max_size", p);
    }
    if let Some(max_bytes) = raw.max_bytes {
        out.max_bytes = at_least(max_bytes, 4096, "router.cache.max_bytes", p);
    }
    if let Some(ttl) = raw.ttl {
        out.ttl = seconds(ttl, "router.cache.ttl", p).unwrap_or(out.ttl);
    }
    out
}

fn session(raw: RawSession, p: &mut Problems, warnings: &mut Vec<String>) -> SessionConfig {
    let mut out = SessionConfig::default();
    if let Some(backend) = raw.backend {
        if backend.eq_ignore_ascii_case("sqlite") {
            p.push(
                "session.backend",
                "sqlite is not supported; use rocksdb (embedded, the default) or redis",
            );
        } else {
            let backends = [
                ("rocksdb", SessionBackend::Rocksdb),
                ("memory", SessionBackend::Memory),
                ("redis", SessionBackend::Redis),
            ];
            out.backend =
                choice(&backend, &backends, "backend", "session.backend", p).unwrap_or(out.backend);
        }
    }
    out.redis = redis(raw.redis.unwrap_or_default(), p, warnings);
    if let Some(dir) = raw.persist_dir {
        out.persist_dir = non_empty(dir, "session.persist_dir", p).into();
    }
    if let Some(max_history) = raw.max_history {
        out.max_history = at_least(max_history, 1, "session.max_history", p);
    }
    if let Some(ttl) = raw.ttl {
        out.ttl = seconds(ttl, "session.ttl", p).unwrap_or(out.ttl);
    }
    if let Some(max) = raw.max_sessions {
        out.max_sessions = at_least(max, 1, "session.max_sessions", p);
    }
    if let Some(max) = raw.max_sessions_per_identity {
        out.max_sessions_per_identity = at_least(max, 1, "session.max_sessions_per_identity", p);
    }
    if let Some(idle) = raw.idle_timeout {
        out.idle_timeout = seconds(idle, "session.idle_timeout", p).unwrap_or(out.idle_timeout);
    }
    unsupported("session.affinity", &raw.affinity, warnings);
    out
}

fn redis(raw: RawRedis, p: &mut Problems, warnings: &mut Vec<String>) -> RedisConfig {
    let mut out = RedisConfig::default();
    if let Some(host) = raw.host {
        out.host = non_empty(host, "session.redis.host", p);
    }
    if let Some(port) = raw.port {
        out.port = port;
    }
    if let Some(db) = raw.db {
        if db < 0 {
            p.push("session.redis.db", "must not be negative");
        } else {
            out.db = db;
        }
    }
    out.password = raw.password.filter(|pw| !pw.is_empty());
    if let Some(pool_size) = raw.pool_size {
        out.pool_size = at_least(pool_size, 1, "session.redis.pool_size", p);
    }
    if let Some(tls) = raw.tls {
        out.tls = redis_tls(tls, p);
    }
    unsupported(
        "session.redis.max_connections",
        &raw.max_connections,
        warnings,
    );
    unsupported("session.redis.save_interval", &raw.save_interval, warnings);
    out
}

fn redis_tls(raw: RawRedisTls, p: &mut Problems) -> RedisTls {
    let path = |value: Option<String>, key: &str, p: &mut Problems| {
        value.map(|v| PathBuf::from(non_empty(v, key, p)))
    };
    let out = RedisTls {
        enabled: raw.enabled.unwrap_or(false),
        ca_path: path(raw.ca_path, "session.redis.tls.ca_path", p),
        cert_path: path(raw.cert_path, "session.redis.tls.cert_path", p),
        key_path: path(raw.key_path, "session.redis.tls.key_path", p),
    };
    match (&out.cert_path, &out.key_path) {
        (Some(_), None) => p.push(
            "session.redis.tls.key_path",
            "must be set with cert_path (the client certificate's private key)",
        ),
        (None, Some(_)) => p.push(
            "session.redis.tls.cert_path",
            "must be set with key_path (the client certificate)",
        ),
        _ => {}
    }
    out
}

fn unsupported(path: &str, value: &Option<Value>, warnings: &mut Vec<String>) {
    if value.is_some() {
        warnings.push(format!("{path}: not supported by this build (ignored)"));
    }
}

/// Matches `value` case-insensitively against `choices`; reports `unknown <what> "<value>" (expected ...)`.
fn choice<T: Copy>(
    value: &str,
    choices: &[(&str, T)],
    what: &str,
    path: &str,
    p: &mut Problems,
) -> Option<T> {
    choice_expecting(value, choices, what, &one_of(choices), path, p)
}

/// Like `choice`, for lists with aliases that the message should not advertise.
fn choice_expecting<T: Copy>(
    value: &str,
    choices: &[(&str, T)],
    what: &str,
    expected: &str,
    path: &str,
    p: &mut Problems,
) -> Option<T> {
    let found = choices
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(value.trim()))
        .map(|(_, v)| *v);
    if found.is_none() {
        p.push(
            path,
            format!("unknown {what} \"{value}\" (expected {expected})"),
        );
    }
    found
}

/// `a, b or c`.
fn one_of<T>(choices: &[(&str, T)]) -> String {
    let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

fn non_empty(value: String, path: &str, p: &mut Problems) -> String {
    if value.trim().is_empty() {
        p.push(path, "must not be empty");
    }
    value
}

pub(super) fn at_least(value: usize, min: usize, path: &str, p: &mut Problems) -> usize {
    if value < min {
        p.push(path, format!("must be at least {min}"));
    }
    value
}

/// A duration written as a positive number of seconds (integer or fraction).
pub(super) fn seconds(value: f64, path: &str, p: &mut Problems) -> Option<Duration> {
    if !(value.is_finite() && value > 0.0) {
        p.push(path, "must be a positive number of seconds");
        return None;
    }
    match Duration::try_from_secs_f64(value) {
        Ok(d) if !d.is_zero() => Some(d),
        Ok(_) => {
            p.push(path, "must be at least one nanosecond");
            None
        }
        Err(_) => {
            p.push(path, "is too large");
            None
        }
    }
}

/// Only `[A-Za-z0-9_-]`, the characters allowed in namespaced tool names.
fn is_name_chars(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests;

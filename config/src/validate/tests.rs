//! Validation tests for tool_zoo, router and session, defaults, collecting several problems at once;
//! also the helpers the server and downstream tests share.

use std::path::PathBuf;
use std::time::Duration;

use crate::{Config, Exposure, LogOutput, RouterMode, SessionBackend, parse};

fn no_env(_: &str) -> Option<String> {
    None
}

pub(crate) fn ok(yaml: &str) -> Config {
    match parse(yaml, &no_env) {
        Ok(loaded) => loaded.config,
        Err(errs) => panic!("unexpected errors:\n{errs}"),
    }
}

pub(crate) fn errors(yaml: &str) -> Vec<String> {
    match parse(yaml, &no_env) {
        Ok(loaded) => panic!("expected errors, got {loaded:?}"),
        Err(errs) => errs.0.iter().map(ToString::to_string).collect(),
    }
}

pub(crate) fn one_error(yaml: &str) -> String {
    let errs = errors(yaml);
    assert_eq!(errs.len(), 1, "{errs:?}");
    errs.into_iter().next().unwrap()
}

// ---- tool_zoo, router, session ----

#[test]
fn tool_zoo_checks() {
    assert_eq!(
        one_error("tool_zoo: {top_k: 0}"),
        "tool_zoo.top_k: must be at least 1"
    );
    assert_eq!(
        one_error("tool_zoo: {similarity_threshold: 1.5}"),
        "tool_zoo.similarity_threshold: must be between -1 and 1"
    );
    assert_eq!(
        one_error("tool_zoo: {embedding_model: ''}"),
        "tool_zoo.embedding_model: must not be empty"
    );
    let c = ok("tool_zoo: {similarity_threshold: -1, persist_dir: ~/zoo}");
    assert_eq!(c.tool_zoo.similarity_threshold, -1.0);
    assert_eq!(c.tool_zoo.persist_dir, PathBuf::from("~/zoo"));
}

#[test]
fn router_checks() {
    let c = ok(
        "router: {mode: Keyword, exposure: all, separator: '-', pinned: [a__b], cache: {ttl: 0.5}}",
    );
    assert_eq!(c.router.mode, RouterMode::Keyword);
    assert_eq!(c.router.exposure, Exposure::All);
    assert_eq!(c.router.separator, "-");
    assert_eq!(c.router.cache.ttl, Duration::from_millis(500));
    assert_eq!(
        one_error("router: {separator: ''}"),
        "router.separator: must not be empty"
    );
    assert_eq!(
        one_error("router: {separator: '.'}"),
        "router.separator: must only contain [A-Za-z0-9_-]"
    );
    assert_eq!(
        one_error("router: {mode: magic}"),
        r#"router.mode: unknown mode "magic" (expected keyword, semantic or hybrid)"#
    );
    assert_eq!(
        one_error("router: {exposure: some}"),
        r#"router.exposure: unknown exposure "some" (expected search, dynamic or all)"#
    );
    assert_eq!(
        one_error("router: {max_tools: 0}"),
        "router.max_tools: must be at least 1"
    );
    assert_eq!(
        one_error("router: {cache: {max_size: 0}}"),
        "router.cache.max_size: must be at least 1"
    );
    assert_eq!(
        one_error("router: {cache: {max_bytes: 10}}"),
        "router.cache.max_bytes: must be at least 4096"
    );
    assert_eq!(
        one_error("tool_zoo: {max_query_bytes: 4}"),
        "tool_zoo.max_query_bytes: must be at least 16"
    );
    assert_eq!(
        one_error("router: {cache: {ttl: 0}}"),
        "router.cache.ttl: must be a positive number of seconds"
    );
    assert_eq!(
        one_error("router: {pinned: ['']}"),
        "router.pinned[0]: must not be empty"
    );
}

#[test]
fn session_checks() {
    assert_eq!(
        ok("session: {backend: memory}").session.backend,
        SessionBackend::Memory
    );
    assert_eq!(
        ok("session: {backend: RocksDB}").session.backend,
        SessionBackend::Rocksdb
    );
    assert_eq!(
        one_error("session: {backend: sqlite}"),
        "session.backend: sqlite is not supported; use rocksdb (embedded, the default) or redis"
    );
    assert_eq!(
        one_error("session: {backend: mongo}"),
        r#"session.backend: unknown backend "mongo" (expected rocksdb, memory or redis)"#
    );
    assert_eq!(
        one_error("session: {redis: {db: -1}}"),
        "session.redis.db: must not be negative"
    );
    assert_eq!(
        one_error("session: {redis: {pool_size: 0}}"),
        "session.redis.pool_size: must be at least 1"
    );
    assert_eq!(
        one_error("session: {max_history: 0}"),
        "session.max_history: must be at least 1"
    );
    assert_eq!(
        one_error("session: {ttl: -5}"),
        "session.ttl: must be a positive number of seconds"
    );
    let c = ok("session: {ttl: 60, redis: {password: '', host: r}}");
    assert_eq!(c.session.ttl, Duration::from_secs(60));
    assert_eq!(c.session.redis.password, None);
    assert_eq!(
        ok("session: {redis: {password: pw}}")
            .session
            .redis
            .password
            .as_deref(),
        Some("pw")
    );
}

// ---- collection ----

#[test]
fn three_distinct_problems_give_three_errors() {
    let yaml = r#"
server:
  ssl: {enabled: true, cert_path: /c.pem, key_path: /k.pem}
  max_body_bytes: 10
router:
  separator: "::"
downstream_servers:
  - {name: a, transport: http, url: "ws://x"}
"#;
    assert_eq!(
        errors(yaml),
        vec![
            "server.max_body_bytes: must be at least 1024",
            "router.separator: must only contain [A-Za-z0-9_-]",
            "downstream_servers[0].url: must start with http:// or https://",
        ]
    );
}

#[test]
fn default_config_has_the_documented_defaults() {
    let c = Config::default();
    assert_eq!(c.server.name, "UCP Gateway");
    assert_eq!(c.server.host, "127.0.0.1");
    assert_eq!(c.server.port, 8765);
    assert_eq!(c.server.log_output, vec![LogOutput::Stderr]);
    assert_eq!(c.server.max_body_bytes, 4 * 1024 * 1024);
    assert_eq!(c.server.metrics.path, "/metrics");
    assert_eq!(
        c.tool_zoo.persist_dir,
        PathBuf::from("~/.ucp/data/tool_zoo")
    );
    assert_eq!(c.router.separator, "__");
    assert_eq!(c.router.cache.ttl, Duration::from_secs(3600));
    assert_eq!(c.session.ttl, Duration::from_secs(86400));
    assert_eq!(c.session.redis.pool_size, 8);
    assert!(c.downstream_servers.is_empty());
}

#[test]
fn per_server_cap_zero_means_none() {
    assert_eq!(
        ok("router: {per_server_cap: 0}").router.per_server_cap,
        None
    );
    assert_eq!(
        ok("router: {per_server_cap: 2}").router.per_server_cap,
        Some(2)
    );
    assert_eq!(ok("{}").router.per_server_cap, None);
}

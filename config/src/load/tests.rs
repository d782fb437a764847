//! End-to-end `parse` tests: the seed's production template, the init template, unknown keys,
//! type and syntax errors, warnings for seed keys this build ignores.

use std::path::PathBuf;
use std::time::Duration;

use crate::{
    Config, ConfigError, DownstreamTransport, INIT_TEMPLATE, LogLevel, ServerTransport,
    SessionBackend, parse,
};

/// "Production Configuration Template" from seed/production_deployment.md, verbatim.
const SEED_PRODUCTION_TEMPLATE: &str = r#"server:
  name: "UCP Production Gateway"
  transport: http  # or stdio for Claude Desktop
  host: "0.0.0.0"
  port: 8765
  log_level: WARNING
  # SSL configuration
  ssl:
    enabled: true
    cert_path: "/etc/ucp/ssl/cert.pem"
    key_path: "/etc/ucp/ssl/key.pem"

tool_zoo:
  embedding_model: "all-MiniLM-L6-v2"
  top_k: 5
  similarity_threshold: 0.7
  persist_dir: "/opt/ucp/data/tool_zoo"
  # ChromaDB server for scaling
  chromadb_server:
    host: "chromadb.internal"
    port: 8000
  # Caching
  cache_embeddings: true
  cache_dir: "/opt/ucp/cache/embeddings"

router:
  mode: hybrid
  max_tools: 10
  enable_co_occurrence: true
  enable_learning: true
  # Caching
  cache:
    enabled: true
    max_size: 1000
    ttl: 3600

session:
  # Redis for horizontal scaling
  backend: redis
  redis:
    host: "redis.internal"
    port: 6379
    db: 0
    pool_size: 20
  persist_dir: "/opt/ucp/data/sessions.db"
  max_history: 100

downstream_servers:
  # Use environment variables for secrets
  - name: github
    transport: stdio
    command: npx
    args: ["-y", "@modelcontextprotocol/server-github"]
    env:
      GITHUB_PERSONAL_ACCESS_TOKEN: "${GITHUB_TOKEN}"
    tags: [code, git]

  - name: slack
    transport: stdio
    command: npx
    args: ["-y", "@modelcontextprotocol/server-slack"]
    env:
      SLACK_BOT_TOKEN: "${SLACK_TOKEN}"
      SLACK_APP_TOKEN: "${SLACK_APP_TOKEN}"
    tags: [communication, team]
"#;

fn no_env(_: &str) -> Option<String> {
    None
}

fn seed_env(name: &str) -> Option<String> {
    match name {
        "GITHUB_TOKEN" => Some("ghp_test".into()),
        "SLACK_TOKEN" => Some("xoxb-test".into()),
        "SLACK_APP_TOKEN" => Some("xapp-test".into()),
        _ => None,
    }
}

fn errors_of(yaml: &str) -> Vec<String> {
    match parse(yaml, &no_env) {
        Ok(loaded) => panic!("expected errors, got {loaded:?}"),
        Err(errs) => errs.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn seed_production_template_parses_with_warnings() {
    let loaded = parse(SEED_PRODUCTION_TEMPLATE, &seed_env).unwrap();
    let c = &loaded.config;
    assert_eq!(c.server.name, "UCP Production Gateway");
    assert_eq!(c.server.transport, ServerTransport::Http);
    assert_eq!(c.server.log_level, LogLevel::Warning);
    assert!(c.server.ssl.enabled);
    assert_eq!(
        c.server.ssl.cert_path,
        Some(PathBuf::from("/etc/ucp/ssl/cert.pem"))
    );
    assert!((c.tool_zoo.similarity_threshold - 0.7).abs() < 1e-6);
    assert_eq!(c.router.cache.ttl, Duration::from_secs(3600));
    assert_eq!(c.session.backend, SessionBackend::Redis);
    assert_eq!(c.session.redis.pool_size, 20);
    assert_eq!(c.downstream_servers.len(), 2);
    let DownstreamTransport::Stdio {
        command, args, env, ..
    } = &c.downstream_servers[0].transport
    else {
        panic!("github should be stdio");
    };
    assert_eq!(command, "npx");
    assert_eq!(args, &["-y", "@modelcontextprotocol/server-github"]);
    assert_eq!(env["GITHUB_PERSONAL_ACCESS_TOKEN"], "ghp_test");
    assert_eq!(c.downstream_servers[1].tags, ["communication", "team"]);
    assert_eq!(c.downstream_servers[1].timeout, Duration::from_secs(30));

    assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].starts_with("tool_zoo.chromadb_server: "));
    assert!(loaded.warnings[0].contains("embedded RocksDB"));
    assert_eq!(
        loaded.warnings[1],
        "tool_zoo.cache_dir: not supported by this build (ignored)"
    );
}

#[test]
fn seed_production_template_without_github_token_names_it() {
    let env = |name: &str| {
        if name == "GITHUB_TOKEN" {
            None
        } else {
            seed_env(name)
        }
    };
    let errs = parse(SEED_PRODUCTION_TEMPLATE, &env).unwrap_err();
    assert_eq!(
        errs.0,
        vec![ConfigError::new(
            "line 55",
            "environment variable GITHUB_TOKEN is not set"
        )]
    );
}

#[test]
fn init_template_parses_cleanly_with_empty_env() {
    let loaded = parse(INIT_TEMPLATE, &no_env).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let expected = Config {
        downstream_servers: loaded.config.downstream_servers.clone(),
        ..Config::default()
    };
    assert_eq!(
        loaded.config, expected,
        "the template must show the defaults"
    );
    assert_eq!(loaded.config.downstream_servers.len(), 1);
    assert_eq!(loaded.config.downstream_servers[0].name, "everything");
}

#[test]
fn init_template_mentions_every_key() {
    for parent in [
        "",
        "server",
        "server.ssl",
        "server.auth",
        "server.auth.rate_limit",
        "server.metrics",
        "server.ui",
        "tool_zoo",
        "router",
        "router.cache",
        "session",
        "session.redis",
        "downstream_servers[0]",
    ] {
        for key in crate::paths::known_keys(parent) {
            let unsupported = [
                "chromadb_server",
                "cache_dir",
                "cache_ttl",
                "affinity",
                "max_connections",
                "save_interval",
            ];
            if unsupported.contains(key) {
                continue;
            }
            assert!(
                INIT_TEMPLATE.contains(&format!("{key}:"))
                    || INIT_TEMPLATE.contains(&format!(" {key} "))
                    || INIT_TEMPLATE.contains(&format!(" {key},")),
                "INIT_TEMPLATE does not mention {parent}.{key}"
            );
        }
    }
}

#[test]
fn empty_and_comment_only_files_give_defaults() {
    for text in ["", "\n", "# nothing here\n", "---\n"] {
        let loaded = parse(text, &no_env).unwrap();
        assert_eq!(loaded.config, Config::default(), "{text:?}");
        assert!(loaded.warnings.is_empty());
    }
}

#[test]
fn empty_sections_give_defaults() {
    let loaded = parse(
        "server:\ntool_zoo:\nrouter:\nsession:\ndownstream_servers:\n",
        &no_env,
    )
    .unwrap();
    assert_eq!(loaded.config, Config::default());
}

#[test]
fn unknown_keys_at_every_depth_are_all_reported() {
    let yaml = r#"
colour: blue
server:
  prot: 1
  ssl:
    enabled: false
    certificate: x
  auth:
    rate_limit:
      requests_per_minute: 10
      burst: 5
      brust: 5
router:
  cache:
    ttl_seconds: 5
downstream_servers:
  - name: a
    command: x
  - name: b
    comand: y
    command: y
"#;
    assert_eq!(
        errors_of(yaml),
        vec![
            "colour: unknown key",
            "server.prot: unknown key (did you mean `port`?)",
            "server.ssl.certificate: unknown key",
            "server.auth.rate_limit.brust: unknown key (did you mean `burst`?)",
            "router.cache.ttl_seconds: unknown key",
            "downstream_servers[1].comand: unknown key (did you mean `command`?)",
        ]
    );
}

#[test]
fn unknown_keys_and_validation_problems_are_reported_together() {
    let yaml = "server:\n  hots: x\ndownstream_servers:\n  - name: a\n    command: ''\n";
    assert_eq!(
        errors_of(yaml),
        vec![
            "server.hots: unknown key (did you mean `host`?)",
            "downstream_servers[0].command: must not be empty",
        ]
    );
}

#[test]
fn type_errors_name_the_path() {
    assert_eq!(
        errors_of("server:\n  port: \"abc\"\n"),
        vec![r#"server.port: invalid type: string "abc", expected u16"#]
    );
    assert_eq!(
        errors_of("server:\n  port: 70000\n"),
        vec!["server.port: invalid value: integer `70000`, expected u16"]
    );
    assert_eq!(
        errors_of("downstream_servers:\n  - name: a\n    command: x\n    args: oops\n"),
        vec![r#"downstream_servers[0].args: invalid type: string "oops", expected a sequence"#]
    );
    assert_eq!(
        errors_of("server: 5\n"),
        vec!["server: invalid type: integer `5`, expected a mapping"]
    );
    assert_eq!(
        errors_of("downstream_servers:\n  - {name: a, command: x, timeout: abc}\n"),
        vec![r#"downstream_servers[0].timeout: invalid type: string "abc", expected a number"#]
    );
    assert_eq!(
        errors_of("router:\n  enable_learning: yes\n"),
        vec![r#"router.enable_learning: invalid type: string "yes", expected a boolean"#]
    );
}

#[test]
fn unknown_keys_before_a_type_error_are_kept() {
    assert_eq!(
        errors_of("colour: blue\nserver:\n  port: abc\n"),
        vec![
            "colour: unknown key",
            r#"server.port: invalid type: string "abc", expected u16"#,
        ]
    );
}

#[test]
fn yaml_syntax_errors_name_the_line() {
    let errs = parse("server:\n  port: 1\n bad indent: [\n", &no_env).unwrap_err();
    assert_eq!(errs.0.len(), 1);
    assert!(errs.0[0].path.starts_with("line "), "{:?}", errs.0[0]);
    assert!(!errs.0[0].message.is_empty());

    let errs = parse("server:\n\tport: 1\n", &no_env).unwrap_err();
    assert_eq!(errs.0[0].path, "line 2");
    assert!(
        errs.0[0]
            .message
            .ends_with("(YAML is indented with spaces, not tabs)")
    );
}

#[test]
fn duplicate_keys_are_errors() {
    let errs = errors_of("server:\n  port: 1\n  port: 2\n");
    assert_eq!(errs, vec!["server: duplicate field `port`"]);
}

#[test]
fn plain_scalars_read_as_strings_where_strings_are_expected() {
    let yaml = "downstream_servers:\n  - name: a\n    command: x\n    args: [--port, 8080, true]\n    env:\n      PORT: 3000\n";
    let loaded = parse(yaml, &no_env).unwrap();
    let DownstreamTransport::Stdio { args, env, .. } =
        &loaded.config.downstream_servers[0].transport
    else {
        panic!("stdio expected");
    };
    assert_eq!(args, &["--port", "8080", "true"]);
    assert_eq!(env["PORT"], "3000");
}

#[test]
fn every_unsupported_seed_key_warns() {
    let yaml = r#"
tool_zoo:
  chromadb_server: {host: x}
  cache_dir: /tmp/x
  cache_ttl: 86400
session:
  affinity: true
  redis:
    max_connections: 50
    save_interval: 60
"#;
    let loaded = parse(yaml, &no_env).unwrap();
    let keys: Vec<&str> = loaded
        .warnings
        .iter()
        .map(|w| w.split(':').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "tool_zoo.chromadb_server",
            "tool_zoo.cache_dir",
            "tool_zoo.cache_ttl",
            "session.redis.max_connections",
            "session.redis.save_interval",
            "session.affinity",
        ]
    );
    assert!(loaded.warnings[2].ends_with("not supported by this build (ignored)"));
}

#[test]
fn missing_variables_stop_before_yaml_is_read() {
    let errs = parse("a: ${ONE}\nb: ${TWO}\n", &no_env).unwrap_err();
    assert_eq!(
        errs.to_string(),
        "line 1: environment variable ONE is not set\nline 2: environment variable TWO is not set"
    );
}

#[test]
fn seed_snippets_parse() {
    let env = |name: &str| (name == "JWT_SECRET").then(|| "s3cret".to_owned());
    let auth = r#"
server:
  transport: http
  port: 8765
  # Enable authentication
  auth:
    enabled: true
    provider: jwt  # or oauth2, apikey
    secret: "${JWT_SECRET}"
    # Rate limiting
    rate_limit:
      requests_per_minute: 100
      burst: 20
"#;
    let c = parse(auth, &env).unwrap().config;
    assert_eq!(c.server.auth.secret.as_deref(), Some("s3cret"));
    assert_eq!(c.server.auth.rate_limit.unwrap().burst, 20);

    let tls = r#"
server:
  transport: http
  ssl:
    enabled: true
    cert_path: /etc/ucp/ssl/cert.pem
    key_path: /etc/ucp/ssl/key.pem
    # Enforce strong ciphers
    min_tls_version: "1.2"
    ciphers: "HIGH:!aNULL:!MD5"
  metrics:
    enabled: true
    port: 9090
    path: /metrics
  log_level: INFO
  log_format: json  # or text
  log_output:
    - file:/opt/ucp/logs/ucp.log
    - stdout
"#;
    let c = parse(tls, &no_env).unwrap().config;
    assert_eq!(c.server.ssl.ciphers.as_deref(), Some("HIGH:!aNULL:!MD5"));
    assert_eq!(c.server.metrics.port, Some(9090));
    assert_eq!(
        c.server.log_output,
        vec![
            crate::LogOutput::File("/opt/ucp/logs/ucp.log".into()),
            crate::LogOutput::Stdout
        ]
    );
}

//! The operator commands as a user runs them: `ucp config-schema` against every example config,
//! `ucp import-claude-config` from a realistic Claude Desktop file to a served gateway, and
//! `ucp status` against real gateways (healthy, degraded, gone, behind TLS and auth).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::*;

fn ucp(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ucp"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run ucp");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn schema_validator() -> jsonschema::Validator {
    let (code, out, err) = ucp(&["config-schema"], &[]);
    assert_eq!(code, 0, "{err}");
    let schema: Value = serde_json::from_str(&out).expect("config-schema prints JSON");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    jsonschema::draft202012::new(&schema).expect("a valid draft 2020-12 schema")
}

/// The schema's verdict on YAML text as an editor sees it (before `${VAR}` expansion).
fn schema_errors(validator: &jsonschema::Validator, yaml: &str) -> Vec<String> {
    let instance: Value = serde_yaml_ng::from_str(yaml).expect("YAML");
    validator
        .iter_errors(&instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// The parser's verdict, with `x` for each variable that has no default.
fn parses(yaml: &str) -> Result<(), String> {
    let missing: Vec<String> = match ucp_config::interpolate(yaml, &|_| None) {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .iter()
            .filter_map(|e| {
                let text = e.to_string();
                let rest = text.split("environment variable ").nth(1)?;
                Some(rest.strip_suffix(" is not set")?.to_string())
            })
            .collect(),
    };
    let env = |name: &str| missing.iter().any(|m| m == name).then(|| "x".to_string());
    ucp_config::parse(yaml, &env)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Every YAML file in the repo (UCP configs, except the listed non-configs) and every ```yaml
/// block of its Markdown files.
fn repo_examples() -> Vec<(String, String)> {
    const NOT_CONFIGS: [&str; 2] = [
        "ops/deploy/prometheus-alerts.yml",
        "ops/deploy/prometheus-alerts.test.yml",
    ];
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.') && !["target", "node_modules", "corpus"].contains(&&*name)
                {
                    stack.push(path);
                }
                continue;
            }
            let relative = path.strip_prefix(&root).unwrap().display().to_string();
            let text = || std::fs::read_to_string(&path).unwrap();
            if name.ends_with(".yaml") || name.ends_with(".yml") {
                if !NOT_CONFIGS.contains(&relative.as_str()) {
                    out.push((relative, text()));
                }
            } else if name.ends_with(".md") {
                for (i, block) in text().split("```yaml\n").skip(1).enumerate() {
                    let block = block.split("```").next().unwrap_or_default();
                    out.push((
                        format!("{relative} yaml block {}", i + 1),
                        block.to_string(),
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn config_schema_accepts_the_template_the_default_and_every_example() {
    let validator = schema_validator();
    let mut examples = vec![
        (
            "init template".to_string(),
            ucp_config::INIT_TEMPLATE.to_string(),
        ),
        (
            "ops/default_config.yaml".to_string(),
            std::fs::read_to_string(repo_file("ops/default_config.yaml")).unwrap(),
        ),
    ];
    let found = repo_examples();
    for expected in [
        "ops/default_config.yaml",
        "tests/fixtures/seed/production_config.yaml",
        "README.md yaml block 1",
        "ops/deploy/README.md yaml block 1",
    ] {
        assert!(
            found.iter().any(|(name, _)| name == expected),
            "{expected} not found among the examples"
        );
    }
    examples.extend(found);
    for (name, yaml) in &examples {
        let errors = schema_errors(&validator, yaml);
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        // What the schema accepts here, the parser accepts too.
        parses(yaml).unwrap_or_else(|e| panic!("{name}: the parser refuses it: {e}"));
    }
}

#[test]
fn config_schema_and_parser_refuse_unknown_keys_and_wrong_types_alike() {
    let validator = schema_validator();
    let refused = [
        ("server:\n  prot: 8765\n", "/server"),
        (
            "downstream_servers:\n  - name: a\n    command: x\n    comand: y\n",
            "/downstream_servers/0",
        ),
        ("server:\n  port: [1]\n", "/server/port"),
        ("server:\n  port: eighty\n", "/server/port"),
        ("server:\n  port: 70000\n", "/server/port"),
        ("downstream_servers:\n  a: 1\n", "/downstream_servers"),
        ("server:\n  log_output: 3\n", "/server/log_output"),
        (
            "server:\n  ssl:\n    min_tls_version: true\n",
            "/server/ssl/min_tls_version",
        ),
    ];
    for (yaml, at) in refused {
        let errors = schema_errors(&validator, yaml);
        assert!(
            errors.iter().any(|e| e.starts_with(&format!("{at}:"))),
            "the schema accepts {yaml:?}: {errors:?}"
        );
        assert!(parses(yaml).is_err(), "the parser accepts {yaml:?}");
    }
    // What the parser reads that a naive schema would refuse.
    let accepted = [
        "server:\n  port: ${UCP_PORT:-8765}\n  sanitize_logs: ${REDACT:-true}\n",
        "downstream_servers:\n  - name: a\n    command: x\n    args: [--port, 8080, true]\n    env: {PORT: 3000}\n",
        "server:\n  ssl:\n    min_tls_version: 1.3\n  log_output: stderr\n",
        "tool_zoo:\n  chromadb_server: {host: x, port: 1}\n",
        "",
    ];
    for yaml in accepted {
        assert_eq!(
            schema_errors(&validator, yaml),
            Vec::<String>::new(),
            "{yaml:?}"
        );
        parses(yaml).unwrap_or_else(|e| panic!("{yaml:?}: {e}"));
    }
}

/// A Claude Desktop config as people have them: npx servers with tokens, a remote server with a
/// bearer header, a name with a space, a legacy SSE server, and keys that are not about servers.
const CLAUDE_DESKTOP: &str = r#"{
  "globalShortcut": "Alt+Space",
  "mcpServers": {
    "filesystem": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop", "/Users/me/Downloads"]
    },
    "github": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-github"],
      "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_importTestSecret0123456789"}
    },
    "brave search": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-brave-search"],
      "env": {"BRAVE_API_KEY": "BSA-importTestSecret", "BRAVE_REGION": "us"}
    },
    "remote": {
      "type": "http",
      "url": "https://mcp.example.com/mcp",
      "headers": {"Authorization": "Bearer sk-importTestSecret", "X-Team": "platform"}
    },
    "legacy": {"type": "sse", "url": "https://old.example.com/sse"}
  }
}"#;

const SECRETS: [&str; 3] = [
    "ghp_importTestSecret0123456789",
    "BSA-importTestSecret",
    "sk-importTestSecret",
];

#[test]
fn import_claude_config_writes_a_config_that_ucp_loads_without_the_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let claude = dir.path().join("claude_desktop_config.json");
    std::fs::write(&claude, CLAUDE_DESKTOP).unwrap();
    let out = dir.path().join("ucp.yaml");
    let (claude, out_s) = (claude.to_str().unwrap(), out.to_str().unwrap());

    let (code, stdout, stderr) = ucp(&["import-claude-config", claude, "-o", out_s], &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let yaml = std::fs::read_to_string(&out).unwrap();
    for secret in SECRETS {
        assert!(!yaml.contains(secret), "{secret} written into:\n{yaml}");
        assert!(!stderr.contains(secret), "{secret} printed:\n{stderr}");
    }
    for expected in [
        "GITHUB_PERSONAL_ACCESS_TOKEN=",
        "BRAVE_API_KEY=",
        "REMOTE_AUTHORIZATION=",
        "mcpServers.\"brave search\": renamed to brave-search",
        "mcpServers.legacy: the legacy HTTP+SSE transport",
        "4 server(s) imported",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(yaml.contains("  # - name: legacy\n"), "{yaml}");
    assert!(
        yaml.contains("\"Bearer ${REMOTE_AUTHORIZATION}\""),
        "{yaml}"
    );

    // Without the variables the loader names them; with them in the .env beside it, it loads.
    let (code, _, err) = ucp(&["check-config", "-c", out_s], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("GITHUB_PERSONAL_ACCESS_TOKEN"), "{err}");
    std::fs::write(
        dir.path().join(".env"),
        "GITHUB_PERSONAL_ACCESS_TOKEN=ghp_importTestSecret0123456789\nBRAVE_API_KEY=BSA-importTestSecret\nREMOTE_AUTHORIZATION=sk-importTestSecret\n",
    )
    .unwrap();
    let (code, stdout, err) = ucp(&["check-config", "-c", out_s], &[]);
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(stdout.contains("4 downstream server(s)"), "{stdout}");

    let env = |name: &str| match name {
        "GITHUB_PERSONAL_ACCESS_TOKEN" => Some(SECRETS[0].to_string()),
        "BRAVE_API_KEY" => Some(SECRETS[1].to_string()),
        "REMOTE_AUTHORIZATION" => Some(SECRETS[2].to_string()),
        _ => None,
    };
    let config = ucp_config::parse(&yaml, &env)
        .expect("ucp_config loads it")
        .config;
    let names: Vec<&str> = config.downstream_servers.iter().map(|s| &*s.name).collect();
    assert_eq!(names, ["filesystem", "github", "brave-search", "remote"]);
    match &config.downstream_servers[1].transport {
        ucp_config::DownstreamTransport::Stdio { command, env, .. } => {
            assert_eq!(command, "npx");
            assert_eq!(env["GITHUB_PERSONAL_ACCESS_TOKEN"], SECRETS[0]);
        }
        other => panic!("github: {other:?}"),
    }
    match &config.downstream_servers[3].transport {
        ucp_config::DownstreamTransport::Http { url, headers } => {
            assert_eq!(url, "https://mcp.example.com/mcp");
            assert_eq!(headers["Authorization"], format!("Bearer {}", SECRETS[2]));
            assert_eq!(headers["X-Team"], "platform");
        }
        other => panic!("remote: {other:?}"),
    }
    assert!(schema_errors(&schema_validator(), &yaml).is_empty());

    // No -o: the same YAML on stdout. An existing file needs --force.
    let (code, stdout, _) = ucp(&["import-claude-config", claude], &[]);
    assert_eq!((code, stdout.as_str()), (0, yaml.as_str()));
    let (code, _, err) = ucp(&["import-claude-config", claude, "-o", out_s], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("exists (use --force"), "{err}");
    let (code, _, err) = ucp(
        &["import-claude-config", claude, "-o", out_s, "--force"],
        &[],
    );
    assert_eq!(code, 0, "{err}");
}

#[test]
fn import_claude_config_names_the_json_path_of_every_bad_value() {
    let dir = tempfile::tempdir().unwrap();
    let claude = dir.path().join(".mcp.json");
    std::fs::write(
        &claude,
        r#"{"mcpServers": {"github": {"command": "npx", "args": ["-y", 42]},
            "remote": {"type": "websocket", "url": "wss://x"}}}"#,
    )
    .unwrap();
    let (code, stdout, err) = ucp(&["import-claude-config", claude.to_str().unwrap()], &[]);
    assert_eq!(code, 1, "{stdout}{err}");
    assert!(stdout.is_empty(), "{stdout}");
    for expected in [
        "mcpServers.github.args[1]: expected a string",
        "mcpServers.remote.type: expected stdio, http, streamable-http or sse",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_imported_config_serves_its_stdio_and_http_servers() {
    use rmcp::ServiceExt;

    let remote = ServerProcess::everything_http();
    let dir = tempfile::tempdir().unwrap();
    let claude = json!({"mcpServers": {
        "time": {"command": time_bin(), "args": ["--local-timezone", "UTC"], "env": {"TIME_API_KEY": "t-123456"}},
        "everything remote": {"type": "streamable-http", "url": remote.mcp_url(),
                              "headers": {"Authorization": "Bearer e-123456"}},
    }});
    let claude_path = dir.path().join("claude_desktop_config.json");
    std::fs::write(&claude_path, claude.to_string()).unwrap();
    let config = dir.path().join("ucp.yaml");
    let (code, out, err) = ucp(
        &[
            "import-claude-config",
            claude_path.to_str().unwrap(),
            "-o",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("TIME_API_KEY=") && err.contains("EVERYTHING_REMOTE_AUTHORIZATION="),
        "{err}"
    );
    std::fs::write(
        dir.path().join(".env"),
        "TIME_API_KEY=t-123456\nEVERYTHING_REMOTE_AUTHORIZATION=e-123456\n",
    )
    .unwrap();

    // As Claude Desktop runs it: `ucp serve --stdio -c FILE`, with a home of its own for the store.
    let home = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_ucp"));
    command
        .args(["serve", "--stdio", "-c"])
        .arg(&config)
        .env("HOME", home.path())
        .env("UCP_HOME", ucp_home())
        .env_remove("RUST_LOG");
    let transport = rmcp::transport::TokioChildProcess::new(command).expect("spawn ucp --stdio");
    let client = ().serve(transport).await.expect("initialize over stdio");
    let listed = tool_names(&client).await;
    assert!(
        listed.contains(&"ucp_search_tools".to_string()),
        "{listed:?}"
    );
    let now = call_eventually(
        &client,
        "time__get_current_time",
        json!({"timezone": "UTC"}),
    )
    .await;
    assert!(now.contains("UTC"), "{now}");
    let echo = call_eventually(
        &client,
        "everything-remote__echo",
        json!({"message": "imported"}),
    )
    .await;
    assert!(echo.contains("imported"), "{echo}");
    // Both servers' tools are in the gateway's catalog: the search lists them.
    let found = eventually(
        Duration::from_secs(60),
        "a search that lists both servers",
        || async {
            let text = call_text(
                &client,
                "ucp_search_tools",
                json!({"query": "current time echo message", "k": 10}),
            )
            .await
            .ok()?;
            (text.contains("time__get_current_time") && text.contains("everything-remote__echo"))
                .then_some(text)
        },
    )
    .await;
    assert!(!found.is_empty());
    client.cancel().await.ok();
}

fn status(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut all = vec!["status"];
    all.extend_from_slice(args);
    ucp(&all, env)
}

#[tokio::test(flavor = "multi_thread")]
async fn status_summarizes_a_healthy_gateway_with_its_servers_and_traffic() {
    let gw = GatewayProcess::start(&http_config(
        &[stdio_server(
            "time",
            &time_bin(),
            &["--local-timezone", "UTC"],
        )],
        "",
    ));
    let base = gw.url("");
    wait_connected(&base, &["time"]).await;
    let client = connect_http(&gw.mcp_url()).await;
    call_eventually(
        &client,
        "time__get_current_time",
        json!({"timezone": "UTC"}),
    )
    .await;
    client.cancel().await.ok();

    let (code, out, err) = status(&["--url", &base, "--sample", "1"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    for expected in [
        format!("UCP at {base}: healthy\n"),
        format!("  version {}, up ", env!("CARGO_PKG_VERSION")),
        "  servers (1):\n".to_string(),
        "    time  connected     circuit closed     1 requests, 0 errors".to_string(),
        "  sessions: ".to_string(),
        "  requests: ".to_string(),
        "  rates over the last 1.0 s: ".to_string(),
        "  reloads: 0 ok, 0 failed\n".to_string(),
    ] {
        assert!(out.contains(&expected), "missing {expected:?} in:\n{out}");
    }
    // The /mcp URL a client uses works too.
    let (code, out, _) = status(&["--url", &gw.mcp_url()], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("average since start: "), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_exits_1_when_degraded_and_2_when_nothing_answers() {
    let gw = GatewayProcess::start(&http_config(
        &[
            stdio_server("time", &time_bin(), &[]),
            stdio_server("broken", "/nonexistent/mcp-server", &[]),
        ],
        "",
    ));
    wait_connected(&gw.url(""), &["time"]).await;
    let (code, out, err) = status(&["--url", &gw.url("")], &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains(": degraded\n"), "{out}");
    assert!(out.contains("    broken  "), "{out}");
    assert!(!out.contains("    broken  connected"), "{out}");

    let url = format!("http://127.0.0.1:{}", free_port());
    let (code, out, err) = status(&["--url", &url, "--timeout", "2"], &[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("ucp status: unreachable: cannot reach") && err.contains(&url),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_reaches_a_gateway_behind_tls_and_auth() {
    let key = "status-key-0123456789abcdef";
    let gw = crate::tls::tls_gateway(
        &[],
        &format!(
            "  admit_ops_endpoints: true\n  auth:\n    enabled: true\n    provider: apikey\n    api_keys:\n      - {{identity: ops, hash: {:?}}}\n",
            hash_api_key(key)
        ),
    );
    let base = gw.url("");
    let ca = gw.dir().join("ca.pem");
    let ca = ca.to_str().unwrap();

    let (code, _, err) = status(&["--url", &base], &[]);
    assert_eq!(code, 2, "an unknown CA: {err}");
    let (code, _, err) = status(&["--url", &base, "--cacert", ca], &[]);
    assert_eq!(code, 2, "no key: {err}");
    assert!(
        err.contains("401") && err.contains("--api-key-env"),
        "{err}"
    );
    let (code, out, err) = status(
        &[
            "--url",
            &base,
            "--cacert",
            ca,
            "--api-key-env",
            "UCP_STATUS_KEY",
        ],
        &[("UCP_STATUS_KEY", key)],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("UCP at {base}: healthy")), "{out}");
    assert!(out.contains("  servers (0):"), "{out}");
}

//! The import's rules on small files: paths in errors, names, secrets, transports.

use super::*;
use crate::import_claude::secrets::references;

fn ok(json: &str) -> Imported {
    import(json).unwrap_or_else(|e| panic!("{e:?}"))
}

fn errors(json: &str) -> Vec<String> {
    import(json).err().expect("errors")
}

#[test]
fn wrong_types_are_named_by_their_json_path() {
    let errs = errors(
        r#"{"mcpServers": {"github": {"command": "npx", "args": ["-y", 3], "env": {"A": true}},
            "x": {"url": 5}, "y": []}}"#,
    );
    assert_eq!(
        errs,
        [
            "mcpServers.github.args[1]: expected a string, found a number",
            "mcpServers.github.env.A: expected a string, found a boolean",
            "mcpServers.x.url: expected a string, found a number",
            "mcpServers.x: needs command (stdio) or url (http)",
            "mcpServers.y: expected an object, found a list",
        ]
    );
}

#[test]
fn a_file_without_servers_says_so() {
    assert_eq!(
        errors(r#"{"globalShortcut": "x"}"#),
        ["mcpServers: missing (expected a Claude Desktop config or a .mcp.json)"]
    );
    assert!(errors("{").join("").starts_with("not JSON:"));
    assert_eq!(
        errors(r#"{"mcpServers": [1]}"#),
        ["mcpServers: expected an object, found a list"]
    );
}

#[test]
fn names_become_valid_and_unique_and_keep_the_file_order() {
    let long = "a".repeat(40);
    let imported = ok(&format!(
        r#"{{"mcpServers": {{"zeta": {{"command": "z"}}, "my server.v2": {{"command": "a"}},
            "my-server-v2": {{"command": "b"}}, "{long}": {{"command": "c"}}, "@/": {{"command": "d"}}}}}}"#
    ));
    let names: Vec<&str> = imported.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "zeta",
            "my-server-v2-2",
            "my-server-v2",
            &long[..32],
            "server"
        ]
    );
    assert_eq!(imported.notes.len(), 3, "{:?}", imported.notes);
    assert!(
        imported.notes[0].starts_with("mcpServers.\"my server.v2\": renamed to my-server-v2-2 "),
        "{}",
        imported.notes[0]
    );
}

#[test]
fn secret_env_values_become_references_and_are_listed() {
    let imported = ok(r#"{"mcpServers": {
        "github": {"command": "npx", "env": {"GITHUB_TOKEN": "ghp_abc", "LOG": "debug"}},
        "other": {"command": "x", "env": {"GITHUB_TOKEN": "ghp_other", "Api_Key": "${MY_KEY}"}},
        "same": {"command": "x", "env": {"GITHUB_TOKEN": "ghp_abc"}}}}"#);
    let env = |i: usize| match &imported.entries[i].transport {
        Transport::Stdio { env, .. } => env.clone(),
        Transport::Http { .. } => panic!("stdio expected"),
    };
    assert_eq!(
        env(0),
        [
            ("GITHUB_TOKEN".into(), "${GITHUB_TOKEN}".into()),
            ("LOG".into(), "debug".into())
        ]
    );
    // Keys come sorted (serde_json's map): Api_Key, then GITHUB_TOKEN.
    assert_eq!(
        env(1),
        [
            ("Api_Key".into(), "${MY_KEY}".into()),
            ("GITHUB_TOKEN".into(), "${OTHER_GITHUB_TOKEN}".into())
        ]
    );
    assert_eq!(
        env(2)[0].1,
        "${GITHUB_TOKEN}",
        "the same value shares its variable"
    );
    let vars: Vec<(&str, Option<&str>)> = imported
        .variables
        .iter()
        .map(|v| (v.name.as_str(), v.from.as_deref()))
        .collect();
    assert_eq!(
        vars,
        [
            ("GITHUB_TOKEN", Some("mcpServers.github.env.GITHUB_TOKEN")),
            (
                "OTHER_GITHUB_TOKEN",
                Some("mcpServers.other.env.GITHUB_TOKEN")
            ),
            ("MY_KEY", None),
        ]
    );
}

#[test]
fn http_types_and_secret_headers() {
    let imported = ok(r#"{"mcpServers": {
        "remote": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer s3cr3t", "X-Team": "a"}},
        "typed": {"type": "streamable-http", "url": "https://x.example.com/mcp"},
        "old": {"type": "sse", "url": "https://x.example.com/sse", "headers": {"X-Api-Key": "k"}},
        "local": {"type": "stdio", "command": "uvx", "args": ["mcp-server-time"], "disabled": true}}}"#);
    let Transport::Http { headers, .. } = &imported.entries[0].transport else {
        panic!("http expected")
    };
    assert_eq!(headers[0].1, "Bearer ${REMOTE_AUTHORIZATION}");
    assert_eq!(headers[1].1, "a");
    assert!(matches!(
        imported.entries[1].transport,
        Transport::Http { .. }
    ));
    assert!(imported.entries[2].legacy_sse);
    assert!(!imported.entries[3].enabled);
    let old = imported
        .variables
        .iter()
        .find(|v| v.name == "OLD_X_API_KEY")
        .expect("the sse entry's secret is listed");
    assert!(old.commented);
    assert!(imported.notes.iter().any(|n| n.contains("legacy HTTP+SSE")));
}

#[test]
fn conflicting_and_unknown_keys() {
    let errs = errors(
        r#"{"mcpServers": {"a": {"command": "x", "url": "https://y"}, "b": {"type": "websocket", "url": "ws://x"},
            "c": {"type": "stdio", "command": "x", "headers": {}}, "d": {"url": "ftp://x"}}}"#,
    );
    assert_eq!(
        errs,
        [
            "mcpServers.a: has both command and url; say which with type",
            "mcpServers.b.type: expected stdio, http, streamable-http or sse, found \"websocket\"",
            "mcpServers.c.headers: not used by a stdio server",
            "mcpServers.d.url: must start with http:// or https://",
        ]
    );
    let imported = ok(r#"{"mcpServers": {"a": {"command": "x", "autoApprove": []}}}"#);
    assert_eq!(
        imported.notes,
        ["mcpServers.a.autoApprove: not imported (UCP has no such setting)"]
    );
}

#[test]
fn references_skip_defaults_and_literals() {
    assert_eq!(
        references("${A}/x/${B:-1}/$${C}/${D}"),
        ["A".to_string(), "D".to_string()]
    );
}

//! Tests for `downstream_servers` validation: transport inference, per-transport keys, names,
//! prefixes, duplicates.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::DownstreamTransport;
use crate::validate::tests::{errors, ok, one_error};

#[test]
fn transport_is_inferred_from_command_or_url() {
    let c = ok(
        "downstream_servers:\n  - {name: a, command: x}\n  - {name: b, url: 'http://h:1/mcp'}\n",
    );
    assert!(matches!(
        c.downstream_servers[0].transport,
        DownstreamTransport::Stdio { .. }
    ));
    assert_eq!(
        c.downstream_servers[1].transport,
        DownstreamTransport::Http {
            url: "http://h:1/mcp".into(),
            headers: BTreeMap::new()
        }
    );
    assert!(c.downstream_servers[0].enabled);
    assert_eq!(c.downstream_servers[0].timeout, Duration::from_secs(30));
}

#[test]
fn stdio_fields_are_kept() {
    let c = ok(r#"
downstream_servers:
  - name: fs
    transport: STDIO
    command: npx
    args: [-y, server]
    env: {A: "1"}
    cwd: /tmp
    tags: [files]
    timeout: 2.5
    enabled: false
"#);
    let s = &c.downstream_servers[0];
    assert_eq!(
        s.transport,
        DownstreamTransport::Stdio {
            command: "npx".into(),
            args: vec!["-y".into(), "server".into()],
            env: BTreeMap::from([("A".into(), "1".into())]),
            cwd: Some(PathBuf::from("/tmp")),
        }
    );
    assert_eq!(s.tags, ["files"]);
    assert_eq!(s.timeout, Duration::from_millis(2500));
    assert!(!s.enabled);
}

#[test]
fn empty_command() {
    assert_eq!(
        one_error("downstream_servers:\n  - {name: a, command: x}\n  - {name: b, command: ''}\n"),
        "downstream_servers[1].command: must not be empty"
    );
}

#[test]
fn duplicate_names_reported_once_at_first_use() {
    let yaml = "downstream_servers:\n  - {name: github, command: x}\n  - {name: b, command: x}\n  - {name: github, command: x}\n  - {name: github, command: x}\n";
    assert_eq!(
        one_error(yaml),
        r#"downstream_servers[0].name: duplicate name "github" (also downstream_servers[2], downstream_servers[3])"#
    );
}

#[test]
fn http_needs_url_and_refuses_stdio_keys() {
    let yaml = "downstream_servers:\n  - name: r\n    transport: http\n    command: x\n    args: []\n    env: {}\n    cwd: /\n";
    assert_eq!(
        errors(yaml),
        vec![
            "downstream_servers[0].command: not allowed when transport is http",
            "downstream_servers[0].args: not allowed when transport is http",
            "downstream_servers[0].env: not allowed when transport is http",
            "downstream_servers[0].cwd: not allowed when transport is http",
            "downstream_servers[0].url: required when transport is http",
        ]
    );
}

#[test]
fn stdio_needs_command_and_refuses_http_keys() {
    let yaml = "downstream_servers:\n  - name: s\n    transport: stdio\n    url: http://x\n    headers: {A: b}\n";
    assert_eq!(
        errors(yaml),
        vec![
            "downstream_servers[0].url: not allowed when transport is stdio",
            "downstream_servers[0].headers: not allowed when transport is stdio",
            "downstream_servers[0].command: required when transport is stdio",
        ]
    );
}

#[test]
fn command_or_url_is_required_and_both_need_a_transport() {
    assert_eq!(
        one_error("downstream_servers:\n  - name: a\n"),
        "downstream_servers[0].command: required (or set url for an http server)"
    );
    assert_eq!(
        one_error("downstream_servers:\n  - {name: a, command: x, url: 'http://h'}\n"),
        "downstream_servers[0].transport: required when both command and url are given"
    );
}

#[test]
fn unknown_transport() {
    assert_eq!(
        one_error("downstream_servers:\n  - {name: a, transport: sse, url: 'http://h'}\n"),
        r#"downstream_servers[0].transport: unknown transport "sse" (expected stdio or http)"#
    );
}

#[test]
fn names_must_be_tool_prefix_safe() {
    assert_eq!(
        one_error("downstream_servers:\n  - {name: 'git hub', command: x}\n"),
        "downstream_servers[0].name: must match [A-Za-z0-9_-]+"
    );
    assert_eq!(
        one_error("downstream_servers:\n  - {name: '', command: x}\n"),
        "downstream_servers[0].name: must not be empty"
    );
    assert_eq!(
        one_error("downstream_servers:\n  - {command: x}\n"),
        "downstream_servers[0].name: required"
    );
    let long = "a".repeat(33);
    assert_eq!(
        one_error(&format!(
            "downstream_servers:\n  - {{name: {long}, command: x}}\n"
        )),
        "downstream_servers[0].name: must be at most 32 characters"
    );
    ok(&format!(
        "downstream_servers:\n  - {{name: {}, command: x}}\n",
        "a".repeat(32)
    ));
    ok("downstream_servers:\n  - {name: My_Server-2, command: x}\n");
}

#[test]
fn urls_must_be_http() {
    assert_eq!(
        one_error("downstream_servers:\n  - {name: a, url: 'ftp://h'}\n"),
        "downstream_servers[0].url: must start with http:// or https://"
    );
    assert_eq!(
        one_error("downstream_servers:\n  - {name: a, url: 'https://'}\n"),
        "downstream_servers[0].url: must name a host"
    );
    ok("downstream_servers:\n  - {name: a, url: 'https://mcp.example.com/mcp'}\n");
}

#[test]
fn headers_and_env_names_are_checked() {
    assert_eq!(
        one_error(
            "downstream_servers:\n  - name: a\n    url: http://h\n    headers: {'Bad Header': x, Authorization: 'Bearer t'}\n"
        ),
        "downstream_servers[0].headers.Bad Header: is not a valid HTTP header name"
    );
    assert_eq!(
        one_error("downstream_servers:\n  - name: a\n    command: x\n    env: {'A=B': x}\n"),
        "downstream_servers[0].env.A=B: variable name must not be empty or contain = or NUL"
    );
}

#[test]
fn timeout_must_be_positive() {
    for bad in ["0", "-1", ".nan", ".inf"] {
        assert_eq!(
            one_error(&format!(
                "downstream_servers:\n  - {{name: a, command: x, timeout: {bad}}}\n"
            )),
            "downstream_servers[0].timeout: must be a positive number of seconds",
            "{bad}"
        );
    }
}

#[test]
fn tags_must_not_be_empty() {
    assert_eq!(
        one_error("downstream_servers:\n  - {name: a, command: x, tags: [ok, '']}\n"),
        "downstream_servers[0].tags[1]: must not be empty"
    );
}

#[test]
fn prefix_defaults_to_name_and_separator_and_may_be_empty() {
    let c = ok(r#"
router: {separator: "-"}
downstream_servers:
  - {name: a, command: x}
  - {name: b, command: x, prefix: ""}
  - {name: c, command: x, prefix: "team-c_"}
  - {name: d, command: x, prefix: ""}
"#);
    let prefixes: Vec<_> = c
        .downstream_servers
        .iter()
        .map(|s| s.prefix.as_str())
        .collect();
    assert_eq!(prefixes, ["a-", "", "team-c_", ""]);
}

#[test]
fn a_prefix_two_servers_share_is_an_error_naming_both() {
    let e = one_error(
        "downstream_servers:\n  - {name: a, command: x}\n  - {name: b, command: x, prefix: a__}\n",
    );
    assert_eq!(
        e,
        "downstream_servers[1].prefix: \"a__\" is also the prefix of downstream_servers[0] (a): a and b would publish the same names"
    );
    // A disabled server publishes nothing, so it shares with no one.
    ok(
        "downstream_servers:\n  - {name: a, command: x}\n  - {name: b, command: x, prefix: a__, enabled: false}\n",
    );
}

#[test]
fn prefix_characters_and_length_are_checked() {
    let e = one_error("downstream_servers:\n  - {name: a, command: x, prefix: 'a b'}\n");
    assert!(
        e.starts_with("downstream_servers[0].prefix: must match"),
        "{e}"
    );
    let long = "p".repeat(33);
    let e = one_error(&format!(
        "downstream_servers:\n  - {{name: a, command: x, prefix: {long}}}\n"
    ));
    assert_eq!(
        e,
        "downstream_servers[0].prefix: must be at most 32 characters"
    );
}

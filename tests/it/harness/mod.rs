//! Test harness: where the installed servers are, config files, and the gateway as a child process.

pub mod client;
pub mod process;
pub mod raw;
pub mod services;

use std::path::PathBuf;

pub use client::*;
pub use process::*;
pub use raw::*;
pub use services::*;

/// `$UCP_HOME` as scripts/setup.sh uses it.
pub fn ucp_home() -> PathBuf {
    std::env::var_os("UCP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").expect("HOME")).join(".ucp"))
}

/// A tool installed by scripts/setup.sh; panics with the fix when it is missing.
pub fn tool(relative: &str) -> String {
    let path = ucp_home().join("tools").join(relative);
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup.sh first",
        path.display()
    );
    path.display().to_string()
}

pub fn everything_bin() -> String {
    tool("node/node_modules/.bin/mcp-server-everything")
}

pub fn time_bin() -> String {
    tool("venv/bin/mcp-server-time")
}

pub fn python_bin() -> String {
    tool("venv/bin/python")
}

pub fn repo_file(relative: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(relative)
        .display()
        .to_string()
}

/// A YAML downstream entry for a stdio server.
pub fn stdio_server(name: &str, command: &str, args: &[&str]) -> String {
    let args = args
        .iter()
        .map(|a| format!("{a:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "  - name: {name}\n    transport: stdio\n    command: {command:?}\n    args: [{args}]\n    timeout: 20\n"
    )
}

/// A YAML downstream entry for a Streamable HTTP server.
pub fn http_server(name: &str, url: &str) -> String {
    format!("  - name: {name}\n    transport: http\n    url: {url:?}\n    timeout: 20\n")
}

/// A whole gateway config serving HTTP on an ephemeral loopback port, every tool listed, its
/// index store in the gateway's temp dir (`{dir}` is replaced by `GatewayProcess::start`).
pub fn http_config(servers: &[String], extra_server_keys: &str) -> String {
    format!(
        "server:\n  transport: http\n  host: 127.0.0.1\n  port: 0\n  log_level: debug\n{extra_server_keys}router:\n  exposure: all\ntool_zoo:\n  persist_dir: \"{{dir}}/tool_zoo\"\ndownstream_servers:\n{}",
        servers.concat()
    )
}

//! The imported servers written as a UCP config: the init template's server defaults, then one
//! `downstream_servers` entry per server (legacy SSE ones commented out). Every value is a
//! double-quoted JSON string, which YAML reads as the same text.

use std::fmt::Write;

use super::convert::{Entry, Transport};

pub fn write(source: &str, entries: &[Entry]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "# UCP config imported from {source} by `ucp import-claude-config`.\n\
         # Check it with `ucp check-config -c FILE`. Claude Desktop runs it as\n\
         # {{\"command\": \"ucp\", \"args\": [\"serve\", \"--stdio\", \"-c\", \"/path/to/FILE\"]}};\n\
         # with transport: http, `ucp serve -c FILE` serves http://127.0.0.1:8765/mcp.\n\
         # ${{VAR}} values come from the environment or a .env file beside this file.\n\
         # `ucp init-config` writes every other key with its default.\n\
         \n\
         server:\n  \
           name: \"UCP Gateway\"\n  \
           # stdio (a client spawns the gateway) or http (Streamable HTTP at /mcp).\n  \
           transport: stdio\n  \
           host: \"127.0.0.1\"\n  \
           port: 8765\n  \
           log_level: info\n\
         \n\
         # Each server's tools appear as <name>__<tool>.\n\
         downstream_servers:\n"
    );
    if entries.is_empty() {
        out.push_str("  []\n");
    }
    for entry in entries {
        let mut block = String::new();
        server(&mut block, entry);
        if entry.legacy_sse {
            let _ = writeln!(
                out,
                "  # {}: legacy HTTP+SSE, which UCP does not speak. If the server also serves\n  \
                 # Streamable HTTP (often at /mcp), point url there and uncomment.",
                entry.name
            );
            for line in block.lines() {
                let _ = writeln!(out, "  # {}", &line[2..]);
            }
        } else {
            out.push_str(&block);
        }
    }
    out
}

fn server(out: &mut String, entry: &Entry) {
    let _ = writeln!(out, "  - name: {}", entry.name);
    if entry.name != entry.original {
        let _ = writeln!(
            out,
            "    # {} in the imported file",
            quoted(&entry.original)
        );
    }
    match &entry.transport {
        Transport::Stdio {
            command,
            args,
            env,
            cwd,
        } => {
            let _ = writeln!(
                out,
                "    transport: stdio\n    command: {}",
                quoted(command)
            );
            if !args.is_empty() {
                let list: Vec<String> = args.iter().map(|a| quoted(a)).collect();
                let _ = writeln!(out, "    args: [{}]", list.join(", "));
            }
            mapping(out, "env", env);
            if let Some(cwd) = cwd {
                let _ = writeln!(out, "    cwd: {}", quoted(cwd));
            }
        }
        Transport::Http { url, headers } => {
            let _ = writeln!(out, "    transport: http\n    url: {}", quoted(url));
            mapping(out, "headers", headers);
        }
    }
    if !entry.enabled {
        let _ = writeln!(out, "    enabled: false");
    }
}

fn mapping(out: &mut String, key: &str, items: &[(String, String)]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "    {key}:");
    for (k, v) in items {
        let plain = k
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
            && k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
        let k = if plain { k.clone() } else { quoted(k) };
        let _ = writeln!(out, "      {k}: {}", quoted(v));
    }
}

/// A JSON string literal: a valid YAML double-quoted scalar with the same text.
fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

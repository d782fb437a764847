//! A Claude Desktop `claude_desktop_config.json` or Claude Code `.mcp.json` read into UCP's
//! downstream entries: types checked with their JSON path, names made valid and unique, literal
//! secrets replaced by `${VAR}` references (`secrets`). Pure: text in, entries out.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::secrets::Secrets;

/// Longest server name `downstream_servers[].name` takes.
const MAX_NAME: usize = 32;
/// Keys of a server entry this import reads; others are named in a note and skipped.
const KNOWN: [&str; 8] = [
    "command", "args", "env", "cwd", "url", "headers", "type", "disabled",
];

pub enum Transport {
    Stdio {
        command: String,
        args: Vec<String>,
        env: Vec<(String, String)>,
        cwd: Option<String>,
    },
    Http {
        url: String,
        headers: Vec<(String, String)>,
    },
}

pub struct Entry {
    /// The key in `mcpServers`.
    pub original: String,
    pub name: String,
    pub transport: Transport,
    pub enabled: bool,
    /// `type: sse`: written commented out (UCP does not speak the legacy transport).
    pub legacy_sse: bool,
}

/// A variable the YAML references without a default: it must be in the environment or `.env`.
pub struct Variable {
    pub name: String,
    /// Where the import found the literal value it moved out (`mcpServers.github.env.TOKEN`);
    /// `None` when the file already referenced the variable.
    pub from: Option<String>,
    /// Only commented-out entries use it.
    pub commented: bool,
}

pub struct Imported {
    pub entries: Vec<Entry>,
    /// Renames, skipped keys, legacy servers: for stderr.
    pub notes: Vec<String>,
    pub variables: Vec<Variable>,
}

/// Reads the file's `mcpServers`; every problem is returned, each with its JSON path.
pub fn import(text: &str) -> Result<Imported, Vec<String>> {
    let root: Value = serde_json::from_str(text).map_err(|e| vec![format!("not JSON: {e}")])?;
    let servers = match root.get("mcpServers") {
        Some(Value::Object(servers)) => servers,
        Some(other) => {
            return Err(vec![format!(
                "mcpServers: expected an object, {}",
                found(other)
            )]);
        }
        None if root.is_object() => {
            return Err(vec![
                "mcpServers: missing (expected a Claude Desktop config or a .mcp.json)".into(),
            ]);
        }
        None => {
            return Err(vec![format!(
                "expected an object with mcpServers, {}",
                found(&root)
            )]);
        }
    };
    let order = serde_json::from_str::<KeyOrder>(text)
        .map(|k| k.0)
        .unwrap_or_else(|_| servers.keys().cloned().collect());
    let mut out = Imported {
        entries: Vec::new(),
        notes: Vec::new(),
        variables: Vec::new(),
    };
    let mut errors = Vec::new();
    // Valid names are kept; the others are made valid around them.
    let mut names: BTreeSet<String> = order.iter().filter(|k| is_name(k)).cloned().collect();
    let mut secrets = Secrets::default();
    for key in order {
        let Some(value) = servers.get(&key) else {
            continue;
        };
        let path = format!("mcpServers.{}", json_key(&key));
        let Some(mut entry) = entry(&key, value, &path, &mut errors, &mut out.notes) else {
            continue;
        };
        entry.name = if is_name(&key) {
            key.clone()
        } else {
            unique_name(&key, &mut names)
        };
        if entry.name != key {
            out.notes.push(format!(
                "{path}: renamed to {} (server names are 1-{MAX_NAME} of A-Z a-z 0-9 _ -)",
                entry.name
            ));
        }
        secrets.move_out(&mut entry, &path);
        out.entries.push(entry);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    out.variables = secrets.variables(&out.entries);
    Ok(out)
}

fn entry(
    key: &str,
    value: &Value,
    path: &str,
    errors: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Option<Entry> {
    let Some(obj) = value.as_object() else {
        errors.push(format!("{path}: expected an object, {}", found(value)));
        return None;
    };
    let before = errors.len();
    let mut read = Reader {
        obj,
        path,
        errors: &mut *errors,
    };
    let command = read.string("command");
    let args = read.strings("args");
    let env = read.map("env");
    let cwd = read.string("cwd");
    let url = read.string("url");
    let headers = read.map("headers");
    let kind = read.string("type");
    let disabled = read.boolean("disabled");
    for unknown in obj.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
        notes.push(format!(
            "{path}.{}: not imported (UCP has no such setting)",
            json_key(unknown)
        ));
    }
    let stdio = match kind.as_deref() {
        Some("stdio") => true,
        Some("http" | "streamable-http" | "streamableHttp" | "sse") => false,
        Some(other) => {
            errors.push(format!(
                "{path}.type: expected stdio, http, streamable-http or sse, found {other:?}"
            ));
            return None;
        }
        None => match (&command, &url) {
            (Some(_), Some(_)) => {
                errors.push(format!(
                    "{path}: has both command and url; say which with type"
                ));
                return None;
            }
            (None, None) => {
                errors.push(format!("{path}: needs command (stdio) or url (http)"));
                return None;
            }
            (Some(_), None) => true,
            (None, Some(_)) => false,
        },
    };
    let misplaced = if stdio {
        vec![("url", url.is_some()), ("headers", headers.is_some())]
    } else {
        vec![
            ("command", command.is_some()),
            ("args", args.is_some()),
            ("env", env.is_some()),
            ("cwd", cwd.is_some()),
        ]
    };
    let transport_name = if stdio { "stdio" } else { "http" };
    for (k, present) in misplaced {
        if present {
            errors.push(format!("{path}.{k}: not used by a {transport_name} server"));
        }
    }
    let transport = if stdio {
        let command = required(command, path, "command", errors);
        let env = env.unwrap_or_default();
        for (k, v) in &env {
            if k.is_empty() || k.contains(['=', '\0']) || v.contains('\0') {
                errors.push(format!(
                    "{path}.env.{}: not a valid environment variable",
                    json_key(k)
                ));
            }
        }
        Transport::Stdio {
            command,
            args: args.unwrap_or_default(),
            env,
            cwd,
        }
    } else {
        let url = required(url, path, "url", errors);
        // A `${VAR}` reference is checked once expanded, by the gateway.
        let scheme = ["http://", "https://", "${"];
        if !url.is_empty() && !scheme.iter().any(|s| url.starts_with(s)) {
            errors.push(format!("{path}.url: must start with http:// or https://"));
        }
        let headers = headers.unwrap_or_default();
        for (k, v) in &headers {
            if !is_header_name(k) || v.contains(['\r', '\n', '\0']) {
                errors.push(format!(
                    "{path}.headers.{}: not a valid HTTP header",
                    json_key(k)
                ));
            }
        }
        Transport::Http { url, headers }
    };
    if errors.len() > before {
        return None;
    }
    let legacy_sse = kind.as_deref() == Some("sse");
    if legacy_sse {
        notes.push(format!(
            "{path}: the legacy HTTP+SSE transport, which UCP does not speak; written commented out \
             (if the server also serves Streamable HTTP, often at /mcp, use that url and uncomment it)"
        ));
    } else if let Transport::Http { url, .. } = &transport
        && kind.is_none()
        && url.trim_end_matches('/').ends_with("/sse")
    {
        notes.push(format!(
            "{path}.url: ends in /sse, which is usually the legacy SSE transport; imported as \
             Streamable HTTP (set \"type\": \"sse\" to have it commented out instead)"
        ));
    }
    Some(Entry {
        original: key.to_string(),
        name: String::new(),
        transport,
        enabled: disabled != Some(true),
        legacy_sse,
    })
}

/// Typed reads of one server entry's keys, each wrong type reported with its path.
struct Reader<'a> {
    obj: &'a Map<String, Value>,
    path: &'a str,
    errors: &'a mut Vec<String>,
}

impl<'a> Reader<'a> {
    fn string(&mut self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            other => {
                self.wrong(&format!("{}.{key}", self.path), "a string", other);
                None
            }
        }
    }

    fn boolean(&mut self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.wrong(&format!("{}.{key}", self.path), "true or false", other);
                None
            }
        }
    }

    fn strings(&mut self, key: &str) -> Option<Vec<String>> {
        let items = match self.get(key)? {
            Value::Array(items) => items,
            other => {
                self.wrong(&format!("{}.{key}", self.path), "a list of strings", other);
                return None;
            }
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(s) => out.push(s.clone()),
                other => self.wrong(&format!("{}.{key}[{i}]", self.path), "a string", other),
            }
        }
        Some(out)
    }

    fn map(&mut self, key: &str) -> Option<Vec<(String, String)>> {
        let items = match self.get(key)? {
            Value::Object(items) => items,
            other => {
                self.wrong(
                    &format!("{}.{key}", self.path),
                    "an object of strings",
                    other,
                );
                return None;
            }
        };
        let mut out = Vec::new();
        for (k, v) in items {
            match v {
                Value::String(s) => out.push((k.clone(), s.clone())),
                other => {
                    let at = format!("{}.{key}.{}", self.path, json_key(k));
                    self.wrong(&at, "a string", other);
                }
            }
        }
        Some(out)
    }

    /// The value at `key`, borrowed from the file rather than from `self`.
    fn get(&self, key: &str) -> Option<&'a Value> {
        let obj: &'a Map<String, Value> = self.obj;
        obj.get(key)
    }

    fn wrong(&mut self, at: &str, expected: &str, value: &Value) {
        self.errors
            .push(format!("{at}: expected {expected}, {}", found(value)));
    }
}

fn required(value: Option<String>, path: &str, key: &str, errors: &mut Vec<String>) -> String {
    match value {
        Some(v) if !v.trim().is_empty() => v,
        Some(_) => {
            errors.push(format!("{path}.{key}: must not be empty"));
            String::new()
        }
        None => {
            errors.push(format!("{path}.{key}: missing"));
            String::new()
        }
    }
}

fn found(value: &Value) -> String {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    };
    format!("found {kind}")
}

/// A key as it appears in a path: bare when plain, else quoted.
pub fn json_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
    {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// RFC 9110 token characters, as `validate` checks header names.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

fn is_name(key: &str) -> bool {
    (1..=MAX_NAME).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `[A-Za-z0-9_-]{1,32}`: other characters become `-` (one for a run), then a suffix keeps it
/// unique among `taken`.
fn unique_name(key: &str, taken: &mut BTreeSet<String>) -> String {
    let mut base = String::new();
    for c in key.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            base.push(c);
        } else if !base.ends_with('-') {
            base.push('-');
        }
    }
    let mut base = base.trim_matches('-').to_string();
    if base.is_empty() {
        base = "server".into();
    }
    base.truncate(MAX_NAME);
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains(&name) {
        let suffix = format!("-{n}");
        let mut stem = base.clone();
        stem.truncate(MAX_NAME - suffix.len());
        name = format!("{stem}{suffix}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

/// The keys of `mcpServers` in the file's order (`serde_json::Map` sorts them).
struct KeyOrder(Vec<String>);

impl<'de> Deserialize<'de> for KeyOrder {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Root {
            #[serde(rename = "mcpServers")]
            servers: Keys,
        }
        struct Keys(Vec<String>);
        impl<'de> Deserialize<'de> for Keys {
            fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
                struct KeysVisitor;
                impl<'de> Visitor<'de> for KeysVisitor {
                    type Value = Keys;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("an object")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                        let mut keys: Vec<String> = Vec::new();
                        while let Some(key) = map.next_key::<String>()? {
                            map.next_value::<IgnoredAny>()?;
                            if !keys.contains(&key) {
                                keys.push(key);
                            }
                        }
                        Ok(Keys(keys))
                    }
                }
                de.deserialize_map(KeysVisitor)
            }
        }
        Root::deserialize(de).map(|r| KeyOrder(r.servers.0))
    }
}

#[cfg(test)]
mod tests;

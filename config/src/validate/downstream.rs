//! Validation of `downstream_servers`: names, prefixes, transport inference, per-transport keys,
//! duplicates.

use std::collections::BTreeMap;

use crate::error::Problems;
use crate::model::{
    DEFAULT_DOWNSTREAM_TIMEOUT, DEFAULT_MAX_RESULT_BYTES, DownstreamConfig, DownstreamTransport,
};
use crate::raw::RawDownstream;

use super::{is_name_chars, seconds};

/// Longest server name: it prefixes every tool name, which must stay within 64 characters.
const MAX_NAME_LEN: usize = 32;

/// Longest prefix: with it, a 32-character name still fits the 64-character limit.
const MAX_PREFIX_LEN: usize = 32;

pub(super) fn servers(
    raw: Vec<RawDownstream>,
    separator: &str,
    p: &mut Problems,
) -> Vec<DownstreamConfig> {
    let servers: Vec<DownstreamConfig> = raw
        .into_iter()
        .enumerate()
        .map(|(i, server)| one(server, &format!("downstream_servers[{i}]"), separator, p))
        .collect();
    duplicates(&servers, p);
    shared_prefixes(&servers, p);
    servers
}

fn one(raw: RawDownstream, base: &str, separator: &str, p: &mut Problems) -> DownstreamConfig {
    let name = match raw.name.clone() {
        None => {
            p.push(format!("{base}.name"), "required");
            String::new()
        }
        Some(name) => {
            check_name(&name, &format!("{base}.name"), p);
            name
        }
    };

    let transport = match raw.transport.as_deref().map(str::trim) {
        Some(t) if t.eq_ignore_ascii_case("stdio") => Some(Kind::Stdio),
        Some(t) if t.eq_ignore_ascii_case("http") => Some(Kind::Http),
        Some(t) => {
            p.push(
                format!("{base}.transport"),
                format!("unknown transport \"{t}\" (expected stdio or http)"),
            );
            None
        }
        None => match (&raw.command, &raw.url) {
            (Some(_), None) => Some(Kind::Stdio),
            (None, Some(_)) => Some(Kind::Http),
            (Some(_), Some(_)) => {
                p.push(
                    format!("{base}.transport"),
                    "required when both command and url are given",
                );
                None
            }
            (None, None) => {
                p.push(
                    format!("{base}.command"),
                    "required (or set url for an http server)",
                );
                None
            }
        },
    };

    let transport = match transport {
        Some(Kind::Stdio) => stdio(&raw, base, p),
        Some(Kind::Http) => http(&raw, base, p),
        // Already reported; a placeholder keeps the remaining checks running.
        None => DownstreamTransport::Stdio {
            command: String::new(),
            args: Vec::new(),
            env: BTreeMap::new(),
            cwd: None,
        },
    };

    let tags = raw.tags.unwrap_or_default();
    for (j, tag) in tags.iter().enumerate() {
        if tag.trim().is_empty() {
            p.push(format!("{base}.tags[{j}]"), "must not be empty");
        }
    }
    let timeout = raw
        .timeout
        .and_then(|t| seconds(t, &format!("{base}.timeout"), p))
        .unwrap_or(DEFAULT_DOWNSTREAM_TIMEOUT);

    let prefix = match raw.prefix {
        Some(prefix) => {
            if !prefix.is_empty() && !is_name_chars(&prefix) {
                p.push(
                    format!("{base}.prefix"),
                    "must match [A-Za-z0-9_-]* (empty: the server's own names)",
                );
            } else if prefix.len() > MAX_PREFIX_LEN {
                p.push(
                    format!("{base}.prefix"),
                    format!("must be at most {MAX_PREFIX_LEN} characters"),
                );
            }
            prefix
        }
        None => format!("{name}{separator}"),
    };

    let max_result_bytes = match raw.max_result_bytes {
        Some(max) if max < 1024 => {
            p.push(format!("{base}.max_result_bytes"), "must be at least 1024");
            max
        }
        Some(max) => max,
        None => DEFAULT_MAX_RESULT_BYTES,
    };

    DownstreamConfig {
        name,
        prefix,
        transport,
        tags,
        timeout,
        max_result_bytes,
        enabled: raw.enabled.unwrap_or(true),
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Stdio,
    Http,
}

fn check_name(name: &str, path: &str, p: &mut Problems) {
    if name.is_empty() {
        p.push(path, "must not be empty");
    } else if !is_name_chars(name) {
        p.push(path, "must match [A-Za-z0-9_-]+");
    } else if name.len() > MAX_NAME_LEN {
        p.push(path, format!("must be at most {MAX_NAME_LEN} characters"));
    }
}

fn stdio(raw: &RawDownstream, base: &str, p: &mut Problems) -> DownstreamTransport {
    not_allowed(raw.url.is_some(), base, "url", "stdio", p);
    not_allowed(raw.headers.is_some(), base, "headers", "stdio", p);
    let command = match &raw.command {
        None => {
            p.push(
                format!("{base}.command"),
                "required when transport is stdio",
            );
            String::new()
        }
        Some(c) if c.trim().is_empty() => {
            p.push(format!("{base}.command"), "must not be empty");
            c.clone()
        }
        Some(c) => c.clone(),
    };
    let env = raw.env.clone().unwrap_or_default();
    for (key, value) in &env {
        let path = format!("{base}.env.{key}");
        if key.is_empty() || key.contains(['=', '\0']) {
            p.push(path, "variable name must not be empty or contain = or NUL");
        } else if value.contains('\0') {
            p.push(path, "value must not contain NUL");
        }
    }
    let cwd = match &raw.cwd {
        Some(dir) if dir.trim().is_empty() => {
            p.push(format!("{base}.cwd"), "must not be empty");
            None
        }
        other => other.as_ref().map(Into::into),
    };
    DownstreamTransport::Stdio {
        command,
        args: raw.args.clone().unwrap_or_default(),
        env,
        cwd,
    }
}

fn http(raw: &RawDownstream, base: &str, p: &mut Problems) -> DownstreamTransport {
    not_allowed(raw.command.is_some(), base, "command", "http", p);
    not_allowed(raw.args.is_some(), base, "args", "http", p);
    not_allowed(raw.env.is_some(), base, "env", "http", p);
    not_allowed(raw.cwd.is_some(), base, "cwd", "http", p);
    let url = match &raw.url {
        None => {
            p.push(format!("{base}.url"), "required when transport is http");
            String::new()
        }
        Some(url) => {
            let host = url
                .strip_prefix("http://")
                .or_else(|| url.strip_prefix("https://"));
            match host {
                None => p.push(format!("{base}.url"), "must start with http:// or https://"),
                Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                    p.push(format!("{base}.url"), "must name a host")
                }
                Some(rest) if rest.contains(char::is_whitespace) => {
                    p.push(format!("{base}.url"), "must not contain spaces")
                }
                Some(_) => {}
            }
            url.clone()
        }
    };
    let headers = raw.headers.clone().unwrap_or_default();
    for (name, value) in &headers {
        let path = format!("{base}.headers.{name}");
        if !is_header_name(name) {
            p.push(path, "is not a valid HTTP header name");
        } else if value.contains(['\r', '\n', '\0']) {
            p.push(path, "value must not contain line breaks or NUL");
        }
    }
    DownstreamTransport::Http { url, headers }
}

fn not_allowed(present: bool, base: &str, key: &str, transport: &str, p: &mut Problems) {
    if present {
        p.push(
            format!("{base}.{key}"),
            format!("not allowed when transport is {transport}"),
        );
    }
}

/// RFC 9110 token characters.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// Reports each repeated name once, at its first use, listing the others.
fn duplicates(servers: &[DownstreamConfig], p: &mut Problems) {
    let mut seen: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, server) in servers.iter().enumerate() {
        if !server.name.is_empty() {
            seen.entry(server.name.as_str()).or_default().push(i);
        }
    }
    let mut groups: Vec<(&str, Vec<usize>)> =
        seen.into_iter().filter(|(_, at)| at.len() > 1).collect();
    groups.sort_by_key(|(_, at)| at[0]);
    for (name, at) in groups {
        let others: Vec<String> = at[1..]
            .iter()
            .map(|i| format!("downstream_servers[{i}]"))
            .collect();
        p.push(
            format!("downstream_servers[{}].name", at[0]),
            format!("duplicate name \"{name}\" (also {})", others.join(", ")),
        );
    }
}

/// Two enabled servers with one non-empty prefix would publish each other's names: an error naming
/// both. Empty prefixes may repeat; a name two of them publish is held back from the later one
/// when the catalog is built, with a warning.
fn shared_prefixes(servers: &[DownstreamConfig], p: &mut Problems) {
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, server) in servers.iter().enumerate() {
        if server.prefix.is_empty() || !server.enabled || server.name.is_empty() {
            continue;
        }
        match first.get(server.prefix.as_str()) {
            None => {
                first.insert(&server.prefix, i);
            }
            Some(&j) if servers[j].name != server.name => p.push(
                format!("downstream_servers[{i}].prefix"),
                format!(
                    "\"{}\" is also the prefix of downstream_servers[{j}] ({}): {} and {} would publish the same names",
                    server.prefix, servers[j].name, servers[j].name, server.name
                ),
            ),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests;

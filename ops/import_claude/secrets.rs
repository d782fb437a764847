//! Literal secrets in imported `env` and header values moved to `${VAR}` references, and the list
//! of variables the imported config needs in its `.env`.

use std::collections::BTreeMap;

use super::convert::{Entry, Transport, Variable, json_key};

/// Parts of an env or header name that mark its value as a secret.
const SECRET_WORDS: [&str; 6] = ["TOKEN", "KEY", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL"];

/// The variables that literal secrets moved to, by name, with the value each stands for.
#[derive(Default)]
pub struct Secrets {
    values: BTreeMap<String, (String, String)>,
}

impl Secrets {
    /// Replaces each secret-looking env or header value with a `${VAR}` reference.
    pub fn move_out(&mut self, entry: &mut Entry, path: &str) {
        let server = var_name(&entry.name);
        match &mut entry.transport {
            Transport::Stdio { env, .. } => {
                for (key, value) in env.iter_mut() {
                    if is_secret_name(key) {
                        let at = format!("{path}.env.{}", json_key(key));
                        *value = self.reference(value, &var_name(key), &server, at);
                    }
                }
            }
            Transport::Http { headers, .. } => {
                for (key, value) in headers.iter_mut() {
                    let lower = key.to_ascii_lowercase();
                    let secret = ["authorization", "proxy-authorization", "cookie"]
                        .contains(&lower.as_str())
                        || is_secret_name(key);
                    if secret {
                        let at = format!("{path}.headers.{}", json_key(key));
                        let var = format!("{server}_{}", var_name(key));
                        *value = self.header_reference(value, &var, at);
                    }
                }
            }
        }
    }

    /// `Bearer abc` keeps its scheme: `Bearer ${VAR}`.
    fn header_reference(&mut self, value: &str, var: &str, at: String) -> String {
        for scheme in ["Bearer ", "Basic ", "Token "] {
            if let Some(credential) = value.strip_prefix(scheme) {
                let at = format!("{at} after {:?}", scheme.trim_end());
                return format!("{scheme}{}", self.reference(credential, var, "", at));
            }
        }
        self.reference(value, var, "", at)
    }

    /// `${VAR}` for a literal value; a value that already references a variable, or is empty,
    /// stays. A name taken by another value gets the server's name in front, then a number.
    fn reference(&mut self, value: &str, var: &str, server: &str, at: String) -> String {
        if value.is_empty() || value.contains("${") {
            return value.to_string();
        }
        let mut candidates = vec![var.to_string()];
        if !server.is_empty() && !var.starts_with(&format!("{server}_")) {
            candidates.push(format!("{server}_{var}"));
        }
        let last = candidates.last().cloned().unwrap_or_default();
        candidates.extend((2..).map(|n| format!("{last}_{n}")).take(1000));
        for name in candidates {
            match self.values.get(&name) {
                Some((known, _)) if known == value => return format!("${{{name}}}"),
                Some(_) => continue,
                None => {
                    self.values.insert(name.clone(), (value.to_string(), at));
                    return format!("${{{name}}}");
                }
            }
        }
        value.to_string()
    }

    /// Every variable the entries reference without a default, moved-out secrets first.
    pub fn variables(&self, entries: &[Entry]) -> Vec<Variable> {
        let mut used: BTreeMap<String, bool> = BTreeMap::new();
        for entry in entries {
            for text in entry_texts(entry) {
                for name in references(text) {
                    let commented = used.get(&name).copied().unwrap_or(true);
                    used.insert(name, commented && entry.legacy_sse);
                }
            }
        }
        let mut out: Vec<Variable> = used
            .into_iter()
            .map(|(name, commented)| Variable {
                from: self.values.get(&name).map(|(_, at)| at.clone()),
                name,
                commented,
            })
            .collect();
        out.sort_by_key(|v| (v.from.is_none(), v.commented));
        out
    }
}

fn entry_texts(entry: &Entry) -> Vec<&str> {
    match &entry.transport {
        Transport::Stdio {
            command,
            args,
            env,
            cwd,
        } => std::iter::once(command.as_str())
            .chain(args.iter().map(String::as_str))
            .chain(env.iter().map(|(_, v)| v.as_str()))
            .chain(cwd.as_deref())
            .collect(),
        Transport::Http { url, headers } => std::iter::once(url.as_str())
            .chain(headers.iter().map(|(_, v)| v.as_str()))
            .collect(),
    }
}

/// Names in `${NAME}` references without a `:-default` (`$${` is a literal).
pub(super) fn references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        if rest[..at].ends_with('$') {
            rest = &rest[at + 2..];
            continue;
        }
        let inner = &rest[at + 2..];
        let Some(close) = inner.find('}') else {
            break;
        };
        let body = &inner[..close];
        if !body.contains(":-") {
            out.push(body.to_string());
        }
        rest = &inner[close + 1..];
    }
    out
}

fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_WORDS.iter().any(|w| upper.contains(w))
}

/// `GITHUB_TOKEN` from `github-token`: upper case, `_` for anything else, no leading digit.
fn var_name(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

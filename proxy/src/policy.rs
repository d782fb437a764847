//! The per-identity tool policy (`server.auth.policy`) and the grant it gives one caller: which
//! public tools that caller may see and call. Applied alike to `tools/list`, to selection
//! (`ucp_search_tools`, `/v1/select`, `dynamic` exposure rank only allowed tools) and to calls;
//! a grant depends on the caller's identity only, never on its connection.

use std::sync::Arc;

use ucp_config::PolicyConfig;

use crate::exchange::Identity;

/// The compiled policy of one snapshot.
#[derive(Debug)]
pub struct ToolPolicy {
    /// Unique per compiled policy: a grant's cache key never outlives its policy.
    id: u64,
    default_allow: bool,
    rules: Vec<Rule>,
}

#[derive(Debug)]
struct Rule {
    identities: Vec<String>,
    groups: Vec<String>,
    claims: Vec<(String, String)>,
    allow: Vec<Pattern>,
    deny: Vec<Pattern>,
}

#[derive(Debug)]
enum Pattern {
    Tool(String),
    Server(String),
}

impl Pattern {
    fn matches(&self, tool: &str, server: &str) -> bool {
        match self {
            Pattern::Tool(p) => wildcard(p, tool),
            Pattern::Server(p) => wildcard(p, server),
        }
    }
}

/// What one caller may use: the policy and which of its rules apply (a bit per rule).
#[derive(Debug, Clone)]
pub struct Grant {
    policy: Arc<ToolPolicy>,
    rules: u64,
}

impl ToolPolicy {
    /// `None` when the config has no rules and allows by default: nothing to check.
    pub fn from_config(config: &PolicyConfig) -> Option<Arc<ToolPolicy>> {
        if config.rules.is_empty() && config.default_allow {
            return None;
        }
        let patterns = |list: &[String]| {
            list.iter()
                .map(|p| match p.strip_prefix("server:") {
                    Some(server) => Pattern::Server(server.to_string()),
                    None => Pattern::Tool(p.clone()),
                })
                .collect()
        };
        let rules = config
            .rules
            .iter()
            .take(64)
            .map(|r| Rule {
                identities: r.identities.clone(),
                groups: r.groups.clone(),
                claims: r
                    .claims
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                allow: patterns(&r.allow),
                deny: patterns(&r.deny),
            })
            .collect();
        static POLICIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Some(Arc::new(ToolPolicy {
            id: POLICIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            default_allow: config.default_allow,
            rules,
        }))
    }

    /// The grant of `identity`: the rules that apply to it.
    pub fn grant(self: &Arc<Self>, identity: &Identity) -> Arc<Grant> {
        let mut rules = 0u64;
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.applies_to(identity) {
                rules |= 1 << i;
            }
        }
        Arc::new(Grant {
            policy: self.clone(),
            rules,
        })
    }
}

impl Rule {
    fn applies_to(&self, identity: &Identity) -> bool {
        if self.identities.is_empty() && self.groups.is_empty() && self.claims.is_empty() {
            return true;
        }
        let name = identity.as_str();
        if self.identities.iter().any(|i| i == name) {
            return true;
        }
        let Some(principal) = identity.principal() else {
            return false;
        };
        self.groups
            .iter()
            .any(|g| principal.groups.iter().any(|h| **h == **g))
            || self
                .claims
                .iter()
                .any(|(key, wanted)| match principal.claims.get(key) {
                    Some(serde_json::Value::String(s)) => {
                        s == wanted || s.split_whitespace().any(|w| w == wanted)
                    }
                    Some(serde_json::Value::Array(items)) => {
                        items.iter().any(|v| v.as_str() == Some(wanted))
                    }
                    Some(serde_json::Value::Bool(b)) => b.to_string() == *wanted,
                    Some(serde_json::Value::Number(n)) => n.to_string() == *wanted,
                    _ => false,
                })
    }
}

impl Grant {
    /// Whether the caller may see and call `tool` (a public name) of `server`.
    pub fn allows(&self, tool: &str, server: &str) -> bool {
        let applying = || {
            self.policy
                .rules
                .iter()
                .enumerate()
                .filter(|(i, _)| self.rules & (1 << i) != 0)
                .map(|(_, r)| r)
        };
        if applying().any(|r| r.deny.iter().any(|p| p.matches(tool, server))) {
            return false;
        }
        if applying().any(|r| r.allow.iter().any(|p| p.matches(tool, server))) {
            return true;
        }
        self.policy.default_allow
    }

    /// Equal for two callers exactly when they are given the same tools by the same policy: what
    /// a cached selection is keyed on.
    pub fn key(&self) -> u128 {
        (u128::from(self.policy.id) << 64) | u128::from(self.rules)
    }
}

/// `*` matches any run of characters, `?` any one character. Over bytes, without allocating: it
/// runs for every indexed tool of a search, and public and server names are ASCII by construction.
fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests;

//! Public names: `{prefix}{name}` (the prefix defaults to `{server}{sep}`), sanitized to
//! `[A-Za-z0-9_-]` and kept within 64 characters.
//!
//! Sanitizing is lossy, so the way back from a public name to the downstream's own name is the catalog's
//! route table, never string surgery. Shortening is deterministic: the same inputs always give the same
//! public name, so clients can cache names across gateway restarts.

use std::borrow::Cow;
use std::collections::HashMap;

use sha2::{Digest, Sha256};
use ucp_config::Config;

/// The longest public name MCP clients accept for tools (several clients enforce 64).
pub const MAX_NAME_LEN: usize = 64;

/// Length of the hex hash suffix used when a name is shortened or disambiguated.
const HASH_HEX_LEN: usize = 8;

/// Replaces every character outside `[A-Za-z0-9_-]` with `_`.
pub fn sanitize(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A short, stable hash of `server` + `name`, used to keep shortened or colliding names unique.
pub fn hash_suffix(server: &str, name: &str, salt: u32) -> String {
    let mut hasher = Sha256::new();
    hasher.update(server.as_bytes());
    hasher.update([0u8]);
    hasher.update(name.as_bytes());
    if salt > 0 {
        hasher.update(salt.to_le_bytes());
    }
    let digest = hasher.finalize();
    let mut out = String::with_capacity(HASH_HEX_LEN);
    for byte in digest.iter().take(HASH_HEX_LEN / 2) {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// How each server's names are published: its prefix, and its place in the config (the first of
/// two servers that publish one name keeps it).
#[derive(Debug, Clone, Default)]
pub struct Naming {
    /// Server name -> (position in `downstream_servers`, prefix).
    servers: HashMap<String, (usize, String)>,
    /// For a server the config does not name: `{server}{separator}`.
    separator: String,
}

impl Naming {
    pub fn from_config(config: &Config) -> Naming {
        let servers = config
            .downstream_servers
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), (i, s.prefix.clone())))
            .collect();
        Naming {
            servers,
            separator: config.router.separator.clone(),
        }
    }

    /// Every server under `{server}{separator}`, ranked by name (tests, benches, tools).
    pub fn uniform(separator: &str) -> Naming {
        Naming {
            servers: HashMap::new(),
            separator: separator.to_string(),
        }
    }

    pub fn prefix<'a>(&'a self, server: &str) -> Cow<'a, str> {
        match self.servers.get(server) {
            Some((_, prefix)) => Cow::Borrowed(prefix),
            None => Cow::Owned(format!("{}{}", sanitize(server), self.separator)),
        }
    }

    /// Lower ranks first; servers the config does not name come after, by name.
    pub(crate) fn rank(&self, server: &str) -> usize {
        self.servers.get(server).map_or(usize::MAX, |(i, _)| *i)
    }

    /// The public name of `name` on `server`.
    pub fn public(&self, server: &str, name: &str) -> String {
        public_name(&self.prefix(server), server, name)
    }
}

/// `{prefix}{name}` with `name` sanitized, at most [`MAX_NAME_LEN`] chars.
///
/// A name that is too long keeps its first characters and ends in `_` + 8 hex digits of a hash of the
/// original server and name, so two long names that share a prefix still differ.
pub fn public_name(prefix: &str, server: &str, name: &str) -> String {
    let full = format!("{prefix}{}", sanitize(name));
    if full.len() <= MAX_NAME_LEN {
        return full;
    }
    shorten(&full, &hash_suffix(server, name, 0))
}

/// The public name of `name` on `server` under the default prefix `{server}{sep}`.
pub fn namespaced(server: &str, name: &str, sep: &str) -> String {
    public_name(&format!("{}{}", sanitize(server), sep), server, name)
}

/// A variant of [`public_name`] used when a server lists two names that sanitize to one.
pub fn disambiguated(prefix: &str, server: &str, name: &str, salt: u32) -> String {
    let base = format!("{prefix}{}", sanitize(name));
    shorten_always(&base, &hash_suffix(server, name, salt))
}

fn shorten(full: &str, suffix: &str) -> String {
    // Names are ASCII after sanitizing, so byte slicing is safe.
    let keep = MAX_NAME_LEN - suffix.len() - 1;
    format!("{}_{}", &full[..keep], suffix)
}

fn shorten_always(base: &str, suffix: &str) -> String {
    let keep = base.len().min(MAX_NAME_LEN - suffix.len() - 1);
    format!("{}_{}", &base[..keep], suffix)
}

#[cfg(test)]
mod tests;

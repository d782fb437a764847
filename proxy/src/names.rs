//! Namespaced names: `{server}{sep}{name}` sanitized to `[A-Za-z0-9_-]` and kept within 64 characters.
//!
//! Sanitizing is lossy, so the way back from a public name to the downstream's own name is the catalog's
//! route table, never string surgery. Shortening is deterministic: the same inputs always give the same
//! public name, so clients can cache names across gateway restarts.

use sha2::{Digest, Sha256};

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

/// The public name of `name` on `server`: sanitized, joined with `sep`, at most [`MAX_NAME_LEN`] chars.
///
/// A name that is too long keeps its first characters and ends in `_` + 8 hex digits of a hash of the
/// original server and name, so two long names that share a prefix still differ.
pub fn namespaced(server: &str, name: &str, sep: &str) -> String {
    let full = format!("{}{}{}", sanitize(server), sep, sanitize(name));
    if full.len() <= MAX_NAME_LEN {
        return full;
    }
    shorten(&full, &hash_suffix(server, name, 0))
}

/// A variant of [`namespaced`] used when that name is already taken by another tool.
pub fn disambiguated(server: &str, name: &str, sep: &str, salt: u32) -> String {
    let base = format!("{}{}{}", sanitize(server), sep, sanitize(name));
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

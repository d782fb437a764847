//! The tool as the index sees it: the text fields both retrievers read, built from an MCP tool listing.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[cfg(test)]
mod tests;

/// One indexed tool. Field texts are kept apart so BM25 can weight them separately.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolDoc {
    /// Unique id (e.g. `server/tool`); queries and labels refer to tools by it.
    pub id: String,
    /// The downstream server the tool belongs to.
    pub server: String,
    /// The tool name as the server lists it.
    pub name: String,
    /// Free-text description; may be empty.
    pub description: String,
    /// Parameters from the input schema: (name, description).
    pub params: Vec<(String, String)>,
    /// Tags from the server's config.
    pub tags: Vec<String>,
}

/// Longest description (in chars) that goes into the dense text; MiniLM truncates at 256 tokens anyway.
const DENSE_DESCRIPTION_CHARS: usize = 600;
/// At most this many parameter names go into the dense text.
const DENSE_MAX_PARAMS: usize = 8;

impl ToolDoc {
    /// Builds a doc from an MCP tool listing. `schema` is the tool's `inputSchema`; the names and
    /// descriptions of its top-level `properties` become `params`. Any other shape yields no params.
    pub fn from_input_schema(
        id: impl Into<String>,
        server: impl Into<String>,
        name: impl Into<String>,
        description: impl Into<String>,
        schema: &Value,
        tags: Vec<String>,
    ) -> Self {
        ToolDoc {
            id: id.into(),
            server: server.into(),
            name: name.into(),
            description: description.into(),
            params: schema_params(schema),
            tags,
        }
    }

    /// The text an embedding model sees: `"{server}: {name words}. {description} Parameters: a, b."`,
    /// with the description cut at a word boundary so the whole stays short.
    pub fn dense_text(&self) -> String {
        let mut out = String::new();
        let server = self.server.trim();
        if !server.is_empty() {
            out.push_str(server);
            out.push_str(": ");
        }
        out.push_str(&split_identifier(&self.name).join(" "));
        let desc = collapse_whitespace(&self.description);
        if !desc.is_empty() {
            out.push_str(". ");
            out.push_str(truncate_words(&desc, DENSE_DESCRIPTION_CHARS));
        }
        let names: Vec<String> = self
            .params
            .iter()
            .take(DENSE_MAX_PARAMS)
            .map(|(n, _)| split_identifier(n).join(" "))
            .filter(|n| !n.is_empty())
            .collect();
        if !names.is_empty() {
            if !out.ends_with('.') {
                out.push('.');
            }
            out.push_str(" Parameters: ");
            out.push_str(&names.join(", "));
            out.push('.');
        }
        out
    }
}

/// Top-level `properties` of a JSON Schema as (name, description) pairs, in the map's order.
fn schema_params(schema: &Value) -> Vec<(String, String)> {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(name, prop)| {
            let desc = prop
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_string();
            (name.clone(), desc)
        })
        .collect()
}

/// Splits an identifier or phrase into lowercase words: `getHTTPResponse2xx_v2-final` becomes
/// `get http response 2 xx v 2 final`. Boundaries: any non-alphanumeric char, lower->upper,
/// the last capital of an acronym before a lowercase letter, and letter<->digit.
pub fn split_identifier(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            flush(&mut cur, &mut words);
            continue;
        }
        if let Some(&prev) = i.checked_sub(1).and_then(|j| chars.get(j)) {
            let next = chars.get(i + 1).copied();
            if is_boundary(prev, c, next) {
                flush(&mut cur, &mut words);
            }
        }
        cur.extend(c.to_lowercase().filter(|l| l.is_alphanumeric()));
    }
    flush(&mut cur, &mut words);
    words
}

/// True when a word ends between `prev` and `c` (both alphanumeric).
pub(crate) fn is_boundary(prev: char, c: char, next: Option<char>) -> bool {
    if !prev.is_alphanumeric() {
        return false;
    }
    let digit_switch = prev.is_numeric() != c.is_numeric();
    let lower_upper = prev.is_lowercase() && c.is_uppercase();
    let acronym_end =
        prev.is_uppercase() && c.is_uppercase() && next.is_some_and(|n| n.is_lowercase());
    digit_switch || lower_upper || acronym_end
}

fn flush(cur: &mut String, words: &mut Vec<String>) {
    if !cur.is_empty() {
        words.push(std::mem::take(cur));
    }
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The longest prefix of `s` of at most `max` chars that ends at a word boundary (or the hard cut
/// if the first word is longer).
fn truncate_words(s: &str, max: usize) -> &str {
    let Some((cut, _)) = s.char_indices().nth(max) else {
        return s;
    };
    let head = &s[..cut];
    match head.rfind(' ') {
        Some(sp) if sp > 0 => &head[..sp],
        _ => head,
    }
}

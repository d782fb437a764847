//! `${VAR}` / `${VAR:-default}` expansion in the raw YAML text, before it is parsed.
//!
//! The scan is line based and deliberately simple: comment-only lines and trailing ` # ...` comments outside
//! quotes are copied untouched, so a variable mentioned in a comment never fails a load; block scalars
//! (`key: |`) are expanded in full because `#` is content there.

use crate::error::ConfigError;

/// Expands `${VAR}` and `${VAR:-default}` (default used when VAR is unset or empty); `$${` gives a literal `${`.
///
/// Every unset variable without a default is reported with its line, not just the first one.
pub fn interpolate(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Vec<ConfigError>> {
    let mut out = String::with_capacity(text.len());
    let mut errors: Vec<ConfigError> = Vec::new();
    // Column of the key that opened a block scalar: lines indented deeper belong to it.
    let mut block_parent: Option<usize> = None;

    for (index, line) in text.split_inclusive('\n').enumerate() {
        let line_no = index + 1;
        let indent = line.len() - line.trim_start_matches(' ').len();
        let blank = line.trim().is_empty();
        if let Some(parent) = block_parent {
            if blank || indent > parent {
                expand(line, line_no, env, &mut out, &mut errors);
                continue;
            }
            block_parent = None;
        }
        let (content, comment) = line.split_at(comment_start(line).unwrap_or(line.len()));
        expand(content, line_no, env, &mut out, &mut errors);
        out.push_str(comment);
        if opens_block_scalar(content) {
            block_parent = Some(key_column(line));
        }
    }

    if errors.is_empty() {
        Ok(out)
    } else {
        errors.dedup();
        Err(errors)
    }
}

/// Byte offset of a `#` that starts a YAML comment on this line, if any.
fn comment_start(line: &str) -> Option<usize> {
    let mut chars = line.char_indices().peekable();
    let mut prev: Option<char> = None;
    let mut quote: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        match quote {
            Some('"') => {
                if c == '\\' {
                    chars.next();
                } else if c == '"' {
                    quote = None;
                }
            }
            Some(_) => {
                if c == '\'' {
                    if chars.peek().map(|&(_, n)| n) == Some('\'') {
                        chars.next();
                    } else {
                        quote = None;
                    }
                }
            }
            None => {
                let at_token_start = prev.is_none_or(|p| p.is_whitespace() || "[{,".contains(p));
                if c == '#' && prev.is_none_or(char::is_whitespace) {
                    return Some(i);
                }
                if (c == '"' || c == '\'') && at_token_start {
                    quote = Some(c);
                } else if c == '$' && chars.peek().map(|&(_, n)| n) == Some('{') {
                    // `${VAR:-a # b}` is one reference, not a comment.
                    for (_, n) in chars.by_ref() {
                        if n == '}' {
                            break;
                        }
                    }
                }
            }
        }
        prev = Some(c);
    }
    None
}

/// True when the line's value is a block scalar indicator such as `|`, `>-` or `|2+`.
fn opens_block_scalar(content: &str) -> bool {
    let trimmed = content.trim_end();
    let Some(token) = trimmed.split_whitespace().last() else {
        return false;
    };
    let mut rest = token.chars();
    if !matches!(rest.next(), Some('|' | '>')) {
        return false;
    }
    let tail: String = rest.collect();
    let valid_tail = tail.len() <= 2
        && tail
            .chars()
            .all(|c| c == '+' || c == '-' || c.is_ascii_digit());
    let before = trimmed[..trimmed.len() - token.len()].trim_end();
    valid_tail
        && (before.is_empty() || before.ends_with(':') || before == "-" || before.ends_with(" -"))
}

/// Column of the first key on a line, skipping any `- ` sequence markers.
fn key_column(line: &str) -> usize {
    let mut col = line.len() - line.trim_start_matches(' ').len();
    let mut rest = &line[col..];
    while let Some(after) = rest.strip_prefix('-') {
        let spaces = after.len() - after.trim_start_matches(' ').len();
        if spaces == 0 {
            break;
        }
        col += 1 + spaces;
        rest = &after[spaces..];
    }
    col
}

/// Appends `segment` to `out` with every `${...}` reference replaced.
fn expand(
    segment: &str,
    line_no: usize,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut String,
    errors: &mut Vec<ConfigError>,
) {
    let line = format!("line {line_no}");
    let mut rest = segment;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        rest = &rest[dollar..];
        if let Some(after) = rest.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = rest.strip_prefix("${") {
            let Some(close) = after.find('}') else {
                errors.push(ConfigError::new(
                    &line,
                    "unterminated ${ (write $${ for a literal ${)",
                ));
                out.push_str(rest);
                return;
            };
            let inner = &after[..close];
            let (name, default) = match inner.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (inner, None),
            };
            if !is_var_name(name) {
                errors.push(ConfigError::new(
                    &line,
                    format!("invalid variable reference ${{{inner}}} (expected ${{NAME}} or ${{NAME:-default}})"),
                ));
            } else {
                match (env(name), default) {
                    (Some(value), Some(default)) if value.is_empty() => out.push_str(default),
                    (Some(value), _) => out.push_str(&value),
                    (None, Some(default)) => out.push_str(default),
                    (None, None) => errors.push(ConfigError::new(
                        &line,
                        format!("environment variable {name} is not set"),
                    )),
                }
            }
            rest = &after[close + 1..];
        } else {
            out.push('$');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests;

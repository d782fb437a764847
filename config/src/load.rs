//! `parse`: YAML text -> interpolation -> raw structs (unknown keys collected) -> validated `Config`.

use crate::error::{ConfigError, ConfigErrors, Problems};
use crate::interpolate::interpolate;
use crate::model::Config;
use crate::paths::{error_path, ignored_path, unknown_key_message};
use crate::raw::RawConfig;
use crate::validate::validate;

/// A config that passed validation, with warnings about accepted-but-ignored keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub config: Config,
    /// e.g. `tool_zoo.cache_dir: not supported by this build (ignored)`.
    pub warnings: Vec<String>,
}

/// Parses and validates a config. `env` looks variables up for `${VAR}` expansion; the caller decides
/// where they come from (process environment, a `.env` beside the config, a test map).
///
/// Every problem found is returned, each with the YAML path (or line) it concerns.
pub fn parse(yaml: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Loaded, ConfigErrors> {
    let text = interpolate(yaml, env).map_err(ConfigErrors)?;
    let mut problems = Problems::default();
    let raw = deserialize(&text, &mut problems);
    let Some(raw) = raw else {
        return Err(ConfigErrors(problems.errors));
    };
    let mut warnings = Vec::new();
    let config = validate(raw, &mut problems, &mut warnings);
    if problems.errors.is_empty() {
        Ok(Loaded { config, warnings })
    } else {
        Err(ConfigErrors(problems.errors))
    }
}

/// Deserializes into `RawConfig`, recording every unknown key; `None` when the YAML or a type is wrong.
fn deserialize(text: &str, problems: &mut Problems) -> Option<RawConfig> {
    let mut unknown: Vec<String> = Vec::new();
    let result = {
        let yaml = serde_yaml_ng::Deserializer::from_str(text);
        let mut on_unknown = |path: serde_ignored::Path<'_>| unknown.push(ignored_path(&path));
        let ignoring = serde_ignored::Deserializer::new(yaml, &mut on_unknown);
        serde_path_to_error::deserialize::<_, Option<RawConfig>>(ignoring)
    };
    for path in unknown {
        let message = unknown_key_message(&path);
        problems.push(path, message);
    }
    match result {
        // An empty file (or one with only comments) is the all-defaults config.
        Ok(raw) => Some(raw.unwrap_or_default()),
        Err(err) => {
            problems.errors.push(describe(&err, text));
            None
        }
    }
}

/// serde's "data" errors are about one value and get its path; anything else is YAML syntax and
/// gets the line instead.
fn describe(err: &serde_path_to_error::Error<serde_yaml_ng::Error>, text: &str) -> ConfigError {
    let path = error_path(err.path());
    let inner = err.inner();
    let mut message = inner.to_string();
    if let Some(loc) = inner.location() {
        message = message.replacen(
            &format!(" at line {} column {}", loc.line(), loc.column()),
            "",
            1,
        );
    }
    // serde_yaml_ng prefixes its own copy of the path; we print ours.
    if let Some(rest) = message.strip_prefix(&format!("{path}: ")) {
        message = rest.to_owned();
    }
    message = friendly_struct_names(&message);
    let is_data_error = [
        "invalid type",
        "invalid value",
        "invalid length",
        "unknown variant",
        "missing field",
        "duplicate field",
    ]
    .iter()
    .any(|prefix| message.starts_with(prefix));
    match (is_data_error, inner.location()) {
        (true, _) | (false, None) => ConfigError::new(path, message),
        (false, Some(loc)) => {
            let line = text.lines().nth(loc.line().saturating_sub(1)).unwrap_or("");
            if line.trim_start_matches(' ').starts_with('\t') {
                message.push_str(" (YAML is indented with spaces, not tabs)");
            }
            ConfigError::new(format!("line {}", loc.line()), message)
        }
    }
}

/// `expected struct RawServer` -> `expected a mapping`, `expected f64` -> `expected a number`: our
/// type names mean nothing to users.
fn friendly_struct_names(message: &str) -> String {
    let mut out = message.replace("expected f64", "expected a number");
    while let Some(start) = out.find("struct Raw") {
        let end = out[start + "struct Raw".len()..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(out.len(), |e| start + "struct Raw".len() + e);
        out.replace_range(start..end, "a mapping");
    }
    out
}

#[cfg(test)]
mod tests;

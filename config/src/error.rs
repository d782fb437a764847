//! Why a config was refused: every problem with the YAML path (or line) it came from.

use std::fmt;

/// One problem in a config file, e.g. `downstream_servers[1].command: must not be empty`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", display_one(.path, .message))]
pub struct ConfigError {
    /// YAML path in `a.b[2].c` form, or `line N` for text-level problems; empty for the whole file.
    pub path: String,
    /// Lowercase, no trailing period.
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }
}

fn display_one(path: &str, message: &str) -> String {
    if path.is_empty() {
        message.to_owned()
    } else {
        format!("{path}: {message}")
    }
}

/// Every problem found in one config, in document order where possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<Vec<ConfigError>> for ConfigErrors {
    fn from(errors: Vec<ConfigError>) -> Self {
        ConfigErrors(errors)
    }
}

/// Collects problems while checking a config so that one pass reports all of them.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    pub errors: Vec<ConfigError>,
}

impl Problems {
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError::new(path, message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_path_colon_message_one_per_line() {
        let errs = ConfigErrors(vec![
            ConfigError::new("downstream_servers[1].command", "must not be empty"),
            ConfigError::new("", "config is empty"),
        ]);
        assert_eq!(
            errs.to_string(),
            "downstream_servers[1].command: must not be empty\nconfig is empty"
        );
    }
}

//! A reader of systemd unit files (sections, `Key=Value`, comments) for the deploy kit's test.

/// The `(section, key, value)` entries of a unit, in order.
pub struct Unit(Vec<(String, String, String)>);

impl Unit {
    /// The last value of `key` in `[section]` (a later assignment wins in systemd too).
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(s, k, _)| s == section && k == key)
            .map(|(_, _, v)| v.as_str())
    }
}

pub fn parse(text: &str) -> Unit {
    let mut section = String::new();
    let mut entries = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        assert!(
            !line.ends_with('\\'),
            "continued lines are not read here: {line}"
        );
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not Key=Value: {line}"));
        entries.push((
            section.clone(),
            key.trim().to_string(),
            value.trim().to_string(),
        ));
    }
    Unit(entries)
}

/// An `Exec*=` line as an argument vector: its special prefixes (`-`, `@`, `+`, `!`, `:`)
/// dropped, split on whitespace (the kit's commands quote nothing).
pub fn argv(line: &str) -> Vec<String> {
    assert!(
        !line.contains(['"', '\'']),
        "quoting is not read here: {line}"
    );
    line.trim_start_matches(['-', '@', '+', '!', ':'])
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

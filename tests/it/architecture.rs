//! The crate dependency edges ARCHITECTURE.md promises, read from the Cargo.toml files: `config`
//! and `index` depend on no workspace crate, `proxy` on `config` and `index`, `filters` on
//! `proxy`, `config` and `index` (never the other way round), and every file starts with `//!`.

use std::collections::BTreeSet;
use std::path::Path;

const WORKSPACE: [&str; 4] = ["ucp-config", "ucp-index", "ucp-proxy", "ucp-filters"];

/// The workspace crates `crate_dir/Cargo.toml` depends on, in any dependency table.
fn workspace_deps(crate_dir: &str) -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(crate_dir)
        .join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut table = String::new();
    let mut deps = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            table = line.to_string();
            continue;
        }
        if !table.contains("dependencies") {
            continue;
        }
        let name = line.split(['=', '.', ' ']).next().unwrap_or("");
        if WORKSPACE.contains(&name) {
            deps.insert(format!("{name} ({table})"));
        }
    }
    deps
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn crate_dependencies_point_one_way() {
    assert_eq!(workspace_deps("config"), set(&[]));
    assert_eq!(workspace_deps("index"), set(&[]));
    assert_eq!(
        workspace_deps("proxy"),
        set(&["ucp-config ([dependencies])", "ucp-index ([dependencies])"])
    );
    assert_eq!(
        workspace_deps("filters"),
        set(&[
            "ucp-config ([dependencies])",
            "ucp-index ([dependencies])",
            "ucp-proxy ([dependencies])",
        ])
    );
}

#[test]
fn every_source_file_says_why_it_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    let mut stack: Vec<_> = [
        "config", "index", "proxy", "filters", "ops", "tests", "benches",
    ]
    .iter()
    .map(|d| root.join(d))
    .collect();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if !path.ends_with("target")
                    && !path.ends_with("corpus")
                    && !path.ends_with("artifacts")
                {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                if !text.starts_with("//!") {
                    missing.push(path.display().to_string());
                }
            }
        }
    }
    assert!(missing.is_empty(), "files without a //! line: {missing:#?}");
}

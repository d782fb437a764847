//! The deploy kit (`ops/deploy/`) checked with the tools an operator runs on it (promtool,
//! `nginx -t`, `systemd-analyze verify`, logrotate) and against the real binary: the unit's
//! commands start and reload a gateway, logrotate's reload makes it reopen its log, the nginx site
//! agrees with the gateway's defaults; and `scripts/install.sh` installs a stripped binary that runs.
//! That every metric the alerts and the dashboard query exists in a live scrape is checked in
//! `metrics.rs` (`check_kit.py --check`).

mod install;
mod monitoring;
mod nginx;
mod nginx_site;
mod service;
mod unit;

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::harness::*;

fn kit_dir() -> PathBuf {
    PathBuf::from(repo_file("ops/deploy"))
}

fn read_kit(file: &str) -> String {
    fs::read_to_string(kit_dir().join(file)).unwrap_or_else(|e| panic!("ops/deploy/{file}: {e}"))
}

/// Runs `command` (stdin closed); `setup` says how to get the program when it is not there.
fn run(command: &mut Command, setup: &str) -> Output {
    command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}; {setup}", command.get_program()))
}

/// stdout and stderr together.
fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The output of a command that must succeed.
fn success(command: &mut Command, setup: &str) -> String {
    let out = run(command, setup);
    let all = output_text(&out);
    assert!(
        out.status.success(),
        "{command:?} failed ({}):\n{all}",
        out.status
    );
    all
}

fn id(flag: &str) -> String {
    success(Command::new("id").arg(flag), "coreutils")
        .trim()
        .to_string()
}

/// The config template the binary writes (`ucp init-config`): every key with its default.
fn template_defaults() -> serde_yaml_ng::Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("template.yaml");
    success(
        Command::new(env!("CARGO_BIN_EXE_ucp"))
            .args(["init-config", "-o"])
            .arg(&path),
        "the ucp binary",
    );
    serde_yaml_ng::from_str(&fs::read_to_string(&path).unwrap()).expect("template parses")
}

fn template_u64(template: &serde_yaml_ng::Value, section: &str, key: &str) -> u64 {
    template[section][key].as_u64().unwrap_or_else(|| {
        panic!(
            "{section}.{key} in `ucp init-config`: {:?}",
            template[section][key]
        )
    })
}

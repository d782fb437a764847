//! `ucp backup --to DIR` and `ucp restore --from DIR`: the gateway's state (the tool store with its
//! embeddings and learned usage, the session store) and its config, copied out while it serves and
//! copied back only where no gateway is running.
//!
//! A backup directory holds `manifest.json` (what was copied from where, with a digest of every
//! column family), `ucp_config.yaml` (the config file, when there is one), and one RocksDB
//! database per store (`tool_zoo/`, `sessions/`). Restore copies each database beside its target,
//! checks the copy against the manifest, moves the old one aside and the copy into place.

pub mod db;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::{Deserialize, Serialize};
use ucp_config::{Config, SessionBackend};

use crate::load;
use db::DbDigest;

const MANIFEST: &str = "manifest.json";
const CONFIG_COPY: &str = "ucp_config.yaml";

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub ucp_version: String,
    pub created_ms: u64,
    /// Store name (`tool_zoo`, `sessions`) -> what was copied.
    pub stores: std::collections::BTreeMap<String, StoreCopy>,
    /// The config file copied as `ucp_config.yaml`, if any.
    pub config: Option<PathBuf>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StoreCopy {
    /// Where it was copied from (`tool_zoo.persist_dir` or `session.persist_dir`).
    pub source: PathBuf,
    pub digest: DbDigest,
}

/// The stores of `config`, by the name a backup gives them, with the YAML key that places each.
pub fn stores(config: &Config) -> Vec<(&'static str, &'static str, PathBuf)> {
    let mut stores = vec![(
        "tool_zoo",
        "tool_zoo.persist_dir",
        load::expand_home(&config.tool_zoo.persist_dir),
    )];
    if config.session.backend == SessionBackend::Rocksdb {
        stores.push((
            "sessions",
            "session.persist_dir",
            load::expand_home(&config.session.persist_dir),
        ));
    }
    stores
}

fn load_config(path: Option<&Path>) -> Result<Config, String> {
    load::load(path).map(|(loaded, _)| loaded.config)
}

pub fn backup(config_path: Option<&Path>, to: &Path) -> ExitCode {
    match run_backup(config_path, to) {
        Ok(manifest) => {
            for (name, copy) in &manifest.stores {
                let entries: u64 = copy.digest.values().map(|f| f.entries).sum();
                println!("{name}: {} entries from {}", entries, copy.source.display());
            }
            println!("backup written to {}", to.display());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

fn run_backup(config_path: Option<&Path>, to: &Path) -> Result<Manifest, String> {
    let config = load_config(config_path)?;
    if to.exists()
        && std::fs::read_dir(to)
            .map_err(|e| format!("{}: {e}", to.display()))?
            .next()
            .is_some()
    {
        return Err(format!(
            "{}: exists and is not empty (a backup goes to a new directory)",
            to.display()
        ));
    }
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let mut manifest = Manifest {
        format: 1,
        ucp_version: env!("CARGO_PKG_VERSION").to_string(),
        created_ms: ucp_proxy::session::now_ms(),
        stores: Default::default(),
        config: None,
    };
    for (name, key, source) in stores(&config) {
        match db::copy(&source, &to.join(name)).map_err(|e| format!("{key}: {e}"))? {
            Some(digest) => {
                manifest
                    .stores
                    .insert(name.to_string(), StoreCopy { source, digest });
            }
            None => eprintln!("{key}: {}: no database yet, skipped", source.display()),
        }
    }
    if let Some(path) = config_path {
        std::fs::copy(path, to.join(CONFIG_COPY))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        manifest.config = Some(path.canonicalize().unwrap_or_else(|_| path.to_path_buf()));
    }
    let text = serde_json::to_string_pretty(&manifest).expect("the manifest serializes");
    std::fs::write(to.join(MANIFEST), text).map_err(|e| format!("{}: {e}", to.display()))?;
    Ok(manifest)
}

pub fn restore(config_path: Option<&Path>, from: &Path, force: bool) -> ExitCode {
    match run_restore(config_path, from, force) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

fn run_restore(
    config_path: Option<&Path>,
    from: &Path,
    force: bool,
) -> Result<Vec<String>, String> {
    let config = load_config(config_path)?;
    let manifest_path = from.join(MANIFEST);
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(&manifest_path).map_err(|e| format!("{}: {e}", manifest_path.display()))?,
    )
    .map_err(|e| format!("{}: {e}", manifest_path.display()))?;
    // Every check before anything changes: no target is in use, none is overwritten unasked.
    let mut plan = Vec::new();
    for (name, key, target) in stores(&config) {
        let Some(copy) = manifest.stores.get(name) else {
            continue;
        };
        if db::in_use(&target).map_err(|e| format!("{key}: {e}"))? {
            return Err(format!(
                "{key}: {} is in use by a running gateway (its RocksDB lock is held): stop it \
                 before restoring",
                target.display()
            ));
        }
        if target.exists() && !force {
            return Err(format!(
                "{key}: {} exists; --force moves it aside (to {}.pre-restore-<time>) and \
                 restores the backup",
                target.display(),
                target.display()
            ));
        }
        plan.push((name, key, target, copy));
    }
    let mut done = Vec::new();
    for (name, key, target, copy) in plan {
        let staging = target.with_extension("restoring");
        let _ = std::fs::remove_dir_all(&staging);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{key}: {e}"))?;
        }
        let restored = db::copy(&from.join(name), &staging)
            .map_err(|e| format!("{key}: {e}"))?
            .ok_or_else(|| format!("{key}: the backup has no {name} database"))?;
        if restored != copy.digest {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(format!(
                "{key}: the backup's {name} database does not match its manifest: not restored"
            ));
        }
        if target.exists() {
            let old = aside(&target);
            std::fs::rename(&target, &old).map_err(|e| format!("{key}: {e}"))?;
            done.push(format!("{key}: the previous data is in {}", old.display()));
        }
        std::fs::rename(&staging, &target).map_err(|e| format!("{key}: {e}"))?;
        let entries: u64 = restored.values().map(|f| f.entries).sum();
        done.push(format!(
            "{key}: restored {} ({entries} entries, digests match the manifest)",
            target.display()
        ));
    }
    if manifest.config.is_some() {
        done.push(format!(
            "the config of the backup is {}",
            from.join(CONFIG_COPY).display()
        ));
    }
    Ok(done)
}

/// Where `--force` moves a store out of the way.
fn aside(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(format!(".pre-restore-{}", ucp_proxy::session::now_ms()));
    PathBuf::from(name)
}

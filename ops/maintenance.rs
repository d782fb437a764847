//! `ucp maintenance verify | compact`: check every record of the gateway's databases (online or
//! not), and compact them (with the gateway stopped), sweeping expired sessions first.

use std::path::Path;
use std::process::ExitCode;

use serde_json::json;

use crate::backup::{db, stores};

pub fn verify(config_path: Option<&Path>, as_json: bool) -> ExitCode {
    let config = match crate::load::load(config_path) {
        Ok((loaded, _)) => loaded.config,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let mut problems = Vec::new();
    let mut report = serde_json::Map::new();
    for (name, key, path) in stores(&config) {
        let reader = match db::open_reader(&path) {
            Ok(Some(reader)) => reader,
            Ok(None) => {
                report.insert(name.into(), json!({"path": path, "present": false}));
                continue;
            }
            Err(e) => {
                problems.push(format!("{key}: {e}"));
                continue;
            }
        };
        let mut bad = 0u64;
        let checked = db::for_each_entry(&reader, |family, key_bytes, value| {
            if let Some(why) = record_problem(name, family, value) {
                bad += 1;
                if bad <= 10 {
                    problems.push(format!(
                        "{key}: {family}: {}: {why}",
                        String::from_utf8_lossy(key_bytes)
                    ));
                }
            }
            Ok(())
        });
        if let Err(e) = checked {
            problems.push(format!("{key}: {e}"));
            continue;
        }
        match db::digest(&reader) {
            Ok(digest) => {
                report.insert(
                    name.into(),
                    json!({"path": path, "present": true, "bad_records": bad, "families": digest}),
                );
            }
            Err(e) => problems.push(format!("{key}: {e}")),
        }
    }
    if as_json {
        let body = json!({"ok": problems.is_empty(), "stores": report, "problems": problems});
        println!(
            "{}",
            serde_json::to_string_pretty(&body).expect("serializes")
        );
    } else {
        for (name, store) in &report {
            println!("{name}: {}", store["path"].as_str().unwrap_or("?"));
            if let Some(families) = store["families"].as_object() {
                for (family, digest) in families {
                    println!(
                        "  {family:<14} {:>8} entries  sha256 {}",
                        digest["entries"],
                        digest["sha256"].as_str().unwrap_or("?")
                    );
                }
            } else {
                println!("  (no database yet)");
            }
        }
        for problem in &problems {
            eprintln!("problem: {problem}");
        }
        println!("{}", if problems.is_empty() { "ok" } else { "NOT ok" });
    }
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// What is wrong with one record, judged by the store and column family it is in.
fn record_problem(store: &str, family: &str, value: &[u8]) -> Option<String> {
    use ucp_proxy::session::{SessionEvent, SessionMeta};
    let fails = |e: serde_json::Error| Some(e.to_string());
    match (store, family) {
        ("sessions", "meta") => serde_json::from_slice::<SessionMeta>(value)
            .err()
            .and_then(fails),
        ("sessions", "events") => serde_json::from_slice::<SessionEvent>(value)
            .err()
            .and_then(fails),
        ("sessions", "seen") => (value.len() != 8).then(|| "not a u64 time".into()),
        ("tool_zoo", "embeddings") => (value.is_empty() || !value.len().is_multiple_of(4))
            .then(|| "not a vector of f32".into()),
        ("tool_zoo", "cooccurrence") => (value.len() != 4).then(|| "not a u32 count".into()),
        _ => None,
    }
}

pub fn compact(config_path: Option<&Path>) -> ExitCode {
    let config = match crate::load::load(config_path) {
        Ok((loaded, _)) => loaded.config,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    for (name, key, path) in stores(&config) {
        if !path.join("CURRENT").exists() {
            println!("{name}: no database at {}", path.display());
            continue;
        }
        match db::in_use(&path) {
            Ok(false) => {}
            Ok(true) => {
                eprintln!(
                    "error: {key}: {} is in use by a running gateway; stop it first (a running \
                     gateway sweeps expired sessions itself and RocksDB compacts in the background)",
                    path.display()
                );
                return ExitCode::from(1);
            }
            Err(e) => {
                eprintln!("error: {key}: {e}");
                return ExitCode::from(1);
            }
        }
        let before = dir_size(&path);
        let result = if name == "sessions" {
            compact_sessions(&path, &config.session)
        } else {
            compact_plain(&path)
        };
        match result {
            Ok(note) => println!("{name}: {} -> {} bytes{note}", before, dir_size(&path)),
            Err(e) => {
                eprintln!("error: {key}: {e}");
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}

fn compact_sessions(path: &Path, session: &ucp_config::SessionConfig) -> Result<String, String> {
    let db = ucp_proxy::session::RocksSessions::open(path).map_err(|e| e.to_string())?;
    let cutoff = ucp_proxy::session::now_ms().saturating_sub(session.ttl.as_millis() as u64);
    let swept = db.sweep(cutoff).map_err(|e| e.to_string())?;
    for family in ucp_proxy::session::rocks::FAMILIES {
        if let Some(cf) = db.db().cf_handle(family) {
            db.db().compact_range_cf(cf, None::<&[u8]>, None::<&[u8]>);
        }
    }
    Ok(format!(" ({swept} expired sessions swept)"))
}

fn compact_plain(path: &Path) -> Result<String, String> {
    let families =
        rocksdb::DB::list_cf(&rocksdb::Options::default(), path).map_err(|e| e.to_string())?;
    let mut options = rocksdb::Options::default();
    options.set_compression_type(rocksdb::DBCompressionType::Lz4);
    let db = rocksdb::DB::open_cf(&options, path, &families).map_err(|e| e.to_string())?;
    for family in &families {
        if let Some(cf) = db.cf_handle(family) {
            db.compact_range_cf(&cf, None::<&[u8]>, None::<&[u8]>);
        }
    }
    Ok(String::new())
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

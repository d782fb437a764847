//! Loading config for the CLI: the file (or the built-in default), its `.env`, the process
//! environment, and the report of keys this build accepts but does not act on yet.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ucp_config::{Config, Loaded, ServerTransport};

/// The built-in config `ucp serve` uses without `-c`: real servers that `scripts/setup.sh` installs
/// under `$UCP_HOME` (default `~/.ucp`).
pub const DEFAULT_CONFIG: &str = include_str!("default_config.yaml");

/// Where the config came from, for messages.
pub enum Source {
    File(PathBuf),
    BuiltIn,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::BuiltIn => f.write_str("built-in default config"),
        }
    }
}

/// `$UCP_HOME`, or `~/.ucp`.
pub fn ucp_home() -> PathBuf {
    std::env::var_os("UCP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home_dir().join(".ucp"))
}

/// `~/x` as `$HOME/x`; other paths unchanged.
pub fn expand_home(path: &Path) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => home_dir().join(rest),
        Err(_) => path.to_path_buf(),
    }
}

fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// Reads and validates the config. Errors are printable, one problem per line.
pub fn load(path: Option<&Path>) -> Result<(Loaded, Source), String> {
    let (text, dotenv, source) = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
            let dotenv_path = path.parent().unwrap_or_else(|| Path::new(".")).join(".env");
            (
                text,
                read_dotenv(&dotenv_path)?,
                Source::File(path.to_path_buf()),
            )
        }
        None => (DEFAULT_CONFIG.to_string(), HashMap::new(), Source::BuiltIn),
    };
    let home = ucp_home().display().to_string();
    let lookup = |name: &str| {
        std::env::var(name)
            .ok()
            .or_else(|| dotenv.get(name).cloned())
            .or_else(|| (name == "UCP_HOME").then(|| home.clone()))
    };
    let loaded = ucp_config::parse(&text, &lookup)
        .map_err(|errors| format!("{source}: invalid config\n{errors}"))?;
    Ok((loaded, source))
}

fn read_dotenv(path: &Path) -> Result<HashMap<String, String>, String> {
    if !path.exists() {
        return Ok(HashMap::new());
    }
    let iter = dotenvy::from_path_iter(path).map_err(|e| format!("{}: {e}", path.display()))?;
    iter.map(|item| item.map_err(|e| format!("{}: {e}", path.display())))
        .collect()
}

/// What this build does not do yet although the config asks for it. `fatal` ones stop `serve`:
/// the gateway never serves with weaker security than the config asked for.
pub struct NotYet {
    pub warnings: Vec<String>,
    pub fatal: Vec<String>,
}

pub fn not_yet(config: &Config) -> NotYet {
    let mut warnings = Vec::new();
    let fatal: Vec<String> = Vec::new();

    if config.server.transport == ServerTransport::Stdio && config.server.metrics.port.is_some() {
        warnings.push(
            "server.metrics.port: not served with the stdio transport (it has no listener)"
                .to_string(),
        );
    }
    NotYet { warnings, fatal }
}

pub fn init_config(output: &Path, force: bool) -> ExitCode {
    if output.exists() && !force {
        eprintln!(
            "error: {} exists (use --force to overwrite)",
            output.display()
        );
        return ExitCode::from(1);
    }
    match std::fs::write(output, ucp_config::INIT_TEMPLATE) {
        Ok(()) => {
            println!("wrote {}", output.display());
            println!("check it with: ucp check-config -c {}", output.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", output.display());
            ExitCode::from(1)
        }
    }
}

pub fn check_config(path: &Path) -> ExitCode {
    match load(Some(path)) {
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
        Ok((loaded, source)) => {
            let not_yet = not_yet(&loaded.config);
            let auth = &loaded.config.server.auth;
            if auth.enabled
                && let Err(e) = ucp_filters::Verifier::from_config(auth, &crate::app::FsFiles)
            {
                eprintln!("{source}: invalid config\n{e}");
                return ExitCode::from(1);
            }
            for w in loaded.warnings.iter().chain(&not_yet.warnings) {
                println!("warning: {w}");
            }
            for f in &not_yet.fatal {
                println!("warning: {f} (`ucp serve` refuses this config)");
            }
            println!(
                "ok: {source}: {} downstream server(s)",
                loaded.config.downstream_servers.len()
            );
            ExitCode::SUCCESS
        }
    }
}

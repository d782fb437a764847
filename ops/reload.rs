//! SIGHUP: re-read the configuration and apply it while every request keeps being served, or keep
//! the running one (and say why) when anything in it is wrong.
//!
//! Everything that can fail is checked before anything changes: the file parses and validates,
//! the listener would stay safe, the TLS pair loads, the stages build (key files read). Then the
//! new state goes in: the downstream pool reconciles (added servers start, removed ones drain,
//! changed ones are replaced make-before-break), the snapshot swaps config, pipeline and catalog
//! at once (the index is rebuilt off the request path when tools or tags changed), the fronts take
//! their new limits, logging its level and secrets, the listener its certificate. Log files are
//! reopened first in any case (logrotate's `postrotate` sends the same signal).

mod pinned;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use tokio::signal::unix::Signal;
use ucp_config::Config;
use ucp_proxy::Reconciled;
use ucp_proxy::http::FrontControl;
use ucp_proxy::http::tls::{CertStore, CertifiedKey};

use crate::app::App;
use crate::health::Metrics;
use crate::load;
use crate::telemetry::Logging;

/// A running front whose settings follow the config.
struct Front {
    control: Arc<FrontControl>,
    /// Builds its settings from a config.
    settings: Box<dyn Fn(&Config) -> ucp_proxy::http::HttpSettings + Send + Sync>,
}

/// Everything a reload touches.
pub struct Reloader {
    /// The config file; `None`: the built-in default (re-read with the environment).
    path: Option<PathBuf>,
    stdio: bool,
    /// The listener's address is not on loopback (auth may not be turned off, as at start).
    public_bind: bool,
    app: Arc<App>,
    /// The configuration in force (its restart-only keys as they were at start). The lock also
    /// makes overlapping SIGHUPs run one after the other.
    current: tokio::sync::Mutex<Arc<Config>>,
    tls: Option<TlsFiles>,
    logging: Logging,
    metrics: Arc<Metrics>,
    fronts: parking_lot::Mutex<Vec<Front>>,
}

impl Reloader {
    pub fn new(
        path: Option<PathBuf>,
        stdio: bool,
        config: Arc<Config>,
        app: Arc<App>,
        tls: Option<TlsFiles>,
        logging: Logging,
        metrics: Arc<Metrics>,
    ) -> Reloader {
        Reloader {
            path,
            stdio,
            public_bind: false,
            app,
            current: tokio::sync::Mutex::new(config),
            tls,
            logging,
            metrics,
            fronts: parking_lot::Mutex::new(Vec::new()),
        }
    }

    /// The listener is not on loopback: a reload that turns auth off is refused, as a start is.
    pub fn with_public_bind(mut self, public: bool) -> Self {
        self.public_bind = public;
        self
    }

    /// A front whose settings `settings` builds from each reloaded config.
    pub fn add_front(
        &self,
        control: Arc<FrontControl>,
        settings: impl Fn(&Config) -> ucp_proxy::http::HttpSettings + Send + Sync + 'static,
    ) {
        self.fronts.lock().push(Front {
            control,
            settings: Box::new(settings),
        });
    }

    /// SIGHUP's default action ends the process: here every SIGHUP runs a reload and the gateway
    /// keeps serving, whatever the reload finds.
    pub async fn run(self: Arc<Self>, mut hup: Signal) {
        while hup.recv().await.is_some() {
            self.on_sighup().await;
        }
    }

    pub async fn on_sighup(&self) {
        // First, so that this reload's own lines land in the new files.
        let reopened = self.logging.files.reopen();
        let outcome = match reopened {
            Ok(n) => {
                if n > 0 {
                    tracing::info!(files = n, "SIGHUP: log files reopened");
                }
                self.reload().await
            }
            Err(error) => Err(format!(
                "a log file could not be reopened (still writing to the old one): {error}"
            )),
        };
        match &outcome {
            Ok(summary) => {
                self.metrics.reloads.inc();
                self.metrics.last_reload_ok.set(1);
                self.metrics.last_reload_at.set(unix_now());
                tracing::info!(changes = %summary, "SIGHUP: configuration reloaded");
                self.app
                    .gateway
                    .recent
                    .reloaded(Ok(&self.logging.redact(summary)));
            }
            Err(error) => {
                self.metrics.reload_failures.inc();
                self.metrics.last_reload_ok.set(0);
                tracing::error!(%error, "SIGHUP: configuration not reloaded; still serving the previous one");
                self.app
                    .gateway
                    .recent
                    .reloaded(Err(&self.logging.redact(error)));
            }
        }
    }

    /// Checks the new config whole, then applies it; says what changed.
    async fn reload(&self) -> Result<String, String> {
        let mut current = self.current.lock().await;
        let (loaded, _) = load::load(self.path.as_deref())?;
        for warning in &loaded.warnings {
            tracing::warn!("{warning}");
        }
        let mut next = loaded.config;
        let not_yet = load::not_yet(&next);
        if let Some(fatal) = not_yet.fatal.first() {
            return Err(fatal.clone());
        }
        let pinned = pinned::keep_restart_only(&current, &mut next, self.stdio);
        for key in &pinned {
            tracing::warn!(
                "{key}: takes effect only after a restart; the running gateway keeps its current value"
            );
        }
        if let Some(refusal) = crate::serve::open_to_anyone(&next, !self.public_bind) {
            return Err(refusal);
        }
        let pair = match &self.tls {
            Some(tls) => Some(tls.read().await?),
            None => None,
        };
        // The last check: the stages read the key files the new config names.
        let pipeline = Arc::new(ucp_filters::build(&next, &self.app.filters)?);

        let sections = pinned::changed_sections(&current, &next);
        let next = Arc::new(next);
        let servers = self.app.pool.reconcile(&next.downstream_servers);
        self.app.reconfigure(next.clone(), pipeline).await?;
        if current.router != next.router
            || current.tool_zoo != next.tool_zoo
            || current.server.auth.policy != next.server.auth.policy
        {
            let cache = &next.router.cache;
            self.app
                .filters
                .cache
                .reset(cache.max_size, cache.max_bytes);
        }
        for front in self.fronts.lock().iter() {
            front.control.update((front.settings)(&next));
        }
        self.logging.reconfigure(&next)?;
        if let (Some(tls), Some(pair)) = (&self.tls, pair) {
            tls.install(pair);
        }
        *current = next;
        Ok(describe(&sections, &servers, &pinned))
    }
}

/// `ucp reload`: checks the file as `check-config` does, then sends SIGHUP to `pid` in any case
/// (logrotate's reload must reopen the log files even when someone broke the config: the gateway
/// then keeps its running configuration); exits non-zero when the file is invalid, so
/// `systemctl reload` reports it.
pub fn signal(config: &std::path::Path, pid: i32) -> std::process::ExitCode {
    let checked = load::check_config(config);
    let target = nix::unistd::Pid::from_raw(pid);
    if let Err(e) = nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGHUP) {
        eprintln!("error: cannot signal process {pid}: {e}");
        return std::process::ExitCode::from(1);
    }
    if checked == std::process::ExitCode::SUCCESS {
        println!(
            "sent SIGHUP to {pid}: the gateway reloads (its log and \
             ucp_config_last_reload_successful say how it went)"
        );
    } else {
        eprintln!(
            "error: sent SIGHUP to {pid}, which reopens its log files and keeps its running \
             configuration: fix the config above and reload again"
        );
    }
    checked
}

/// One line saying what a reload changed.
fn describe(sections: &[&str], servers: &Reconciled, pinned: &[String]) -> String {
    let mut parts = Vec::new();
    if sections.is_empty() {
        parts.push("no change".to_string());
    } else {
        parts.push(format!("changed: {}", sections.join(", ")));
    }
    for (what, names) in [
        ("added", &servers.added),
        ("removed", &servers.removed),
        ("restarted", &servers.restarted),
    ] {
        if !names.is_empty() {
            parts.push(format!("{what}: {}", names.join(", ")));
        }
    }
    if !pinned.is_empty() {
        parts.push(format!("needs a restart: {}", pinned.join("; ")));
    }
    parts.join("; ")
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs() as i64
}

/// The pair the listener presents, and the files it came from (re-read on SIGHUP).
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub store: CertStore,
}

impl TlsFiles {
    pub fn new(cert: PathBuf, key: PathBuf, pair: CertifiedKey) -> TlsFiles {
        TlsFiles {
            cert,
            key,
            store: Arc::new(ArcSwap::from_pointee(pair)),
        }
    }

    /// Reads both files; a pair that does not load (a missing file, a key of another
    /// certificate) is an error naming the file.
    async fn read(&self) -> Result<CertifiedKey, String> {
        let (cert, key) = (self.cert.clone(), self.key.clone());
        match tokio::task::spawn_blocking(move || CertifiedKey::load(&cert, &key)).await {
            Ok(result) => result.map_err(|e| format!("TLS certificate not reloaded: {e}")),
            Err(e) => Err(format!("the TLS reload task failed: {e}")),
        }
    }

    /// New handshakes present `pair`.
    fn install(&self, pair: CertifiedKey) {
        tracing::info!(
            cert = %self.cert.display(),
            fingerprint = %pair.fingerprint(),
            not_after = %pair.not_after(),
            "SIGHUP: TLS certificate reloaded; new handshakes present it"
        );
        self.store.store(Arc::new(pair));
    }
}

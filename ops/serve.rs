//! `ucp serve`: load the config, start the gateway, serve stdio or HTTP (with TLS when configured),
//! re-read what SIGHUP re-reads, stop gracefully.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::signal::unix::{Signal, SignalKind, signal};
use ucp_config::{Config, ServerTransport, SslConfig};
use ucp_proxy::http::tls::{self, CertStore, CertifiedKey, TlsSettings};
use ucp_proxy::http::{self, HttpFront, HttpSettings, LocalSessionManager};
use ucp_proxy::{Gateway, Transport};

use crate::app::App;
use crate::health::{Metrics, Ops};
use crate::load;
use crate::telemetry::LogFiles;

/// How long a stdio client waits at most for downstream servers before the first `initialize`.
const STDIO_SETTLE: Duration = Duration::from_secs(20);
/// How long in-flight HTTP requests get after SIGTERM.
const DRAIN: Duration = Duration::from_secs(10);

pub fn main(config_path: Option<&Path>, stdio: bool) -> ExitCode {
    let (loaded, source) = match load::load(config_path) {
        Ok(loaded) => loaded,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let config = loaded.config;
    let stdio = stdio || config.server.transport == ServerTransport::Stdio && config_path.is_some();
    let log_files = match crate::telemetry::init(&config, stdio) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let not_yet = load::not_yet(&config);
    for w in loaded.warnings.iter().chain(&not_yet.warnings) {
        tracing::warn!("{w}");
    }
    if !not_yet.fatal.is_empty() {
        for f in &not_yet.fatal {
            eprintln!("error: {f}");
        }
        return ExitCode::from(2);
    }
    // The TLS files and settings belong to the configuration: a bad one stops the start before
    // anything runs.
    let tls = match Tls::prepare(&config.server.ssl, stdio) {
        Ok(tls) => tls,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    tracing::info!(config = %source, servers = config.downstream_servers.len(), "starting");
    let built_in = matches!(source, load::Source::BuiltIn);
    exit_code(block_on(run(
        Arc::new(config),
        stdio,
        built_in,
        tls,
        log_files,
    )))
}

/// Runs `work` on a fresh multi-thread runtime, then gives its tasks 2 s to finish.
pub fn block_on<T>(
    work: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let result = runtime.block_on(work);
    runtime.shutdown_timeout(Duration::from_secs(2));
    result
}

/// Exit 0, or print the error and exit 1.
pub fn exit_code(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

async fn run(
    config: Arc<Config>,
    stdio: bool,
    built_in: bool,
    tls: Option<Tls>,
    log_files: LogFiles,
) -> Result<(), String> {
    let (files, tls_settings) = tls.map(|t| (t.files, t.settings)).unzip();
    // First, before the model loads: a SIGHUP during start-up must not end the process either.
    // Until the loop below runs, a SIGHUP waits in the stream.
    let hup = signal(SignalKind::hangup()).map_err(|e| format!("SIGHUP handler: {e}"))?;
    let app = Arc::new(App::start(config.clone())?);
    let metrics =
        Arc::new(Metrics::new(app.filters.registry.clone()).map_err(|e| format!("metrics: {e}"))?);
    tokio::spawn(sighup_loop(
        hup,
        Reload {
            tls: files,
            log_files,
            metrics: metrics.clone(),
        },
    ));
    let result = if stdio {
        app.pool.settle(STDIO_SETTLE).await;
        let gateway = Gateway::new(app.gateway.clone(), Transport::Stdio);
        ucp_proxy::stdio::serve(
            gateway,
            tokio::io::stdin(),
            tokio::io::stdout(),
            config.server.max_body_bytes,
        )
        .await
        .map_err(|e| format!("stdio: {e}"))
    } else {
        serve_http(&config, app.clone(), metrics, built_in, tls_settings).await
    };
    app.pool.shutdown();
    // Give stdio children a moment to be killed before the runtime goes away.
    tokio::time::sleep(Duration::from_millis(200)).await;
    result
}

async fn serve_http(
    config: &Config,
    app: Arc<App>,
    metrics: Arc<Metrics>,
    built_in: bool,
    tls: Option<TlsSettings>,
) -> Result<(), String> {
    let server = &config.server;
    let mut listener = http::bind(&server.host, server.port).map_err(|e| {
        format!(
            "server.port: cannot listen on {}:{}: {e}",
            server.host, server.port
        )
    })?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    if let Some(tls) = tls {
        listener = listener.with_tls(tls);
    }
    let addr = listener.local_addr;
    let loopback = addr.ip().is_loopback();
    if !loopback && !server.auth.enabled && !server.allow_public_without_auth {
        return Err(format!(
            "server.host: {} is not a loopback address and server.auth is off, so anyone who can \
             reach it could use every tool; enable server.auth, bind 127.0.0.1 behind a proxy that \
             authenticates, or set server.allow_public_without_auth: true",
            server.host
        ));
    }
    if !loopback && server.allowed_hosts.is_empty() {
        tracing::warn!(
            "server.allowed_hosts is empty on a non-loopback bind: the Host header is not checked \
             (a proxy in front must own the public names)"
        );
    }
    let settings = HttpSettings {
        max_body_bytes: server.max_body_bytes,
        allowed_origins: server.allowed_origins.clone(),
        // A loopback bind answers loopback Host names and the listed ones (DNS rebinding); a
        // public bind the listed ones, or (none listed) leaves the names to a proxy in front.
        allowed_hosts: if loopback {
            ["localhost", "127.0.0.1", "::1"]
                .into_iter()
                .map(String::from)
                .chain(server.allowed_hosts.iter().cloned())
                .collect()
        } else {
            server.allowed_hosts.clone()
        },
        metrics_path: (server.metrics.enabled && server.metrics.port.is_none())
            .then(|| server.metrics.path.clone()),
        ops_only: false,
        admit_ops_endpoints: server.admit_ops_endpoints,
        max_sessions: config.session.max_sessions,
        max_sessions_per_identity: config.session.max_sessions_per_identity,
        limits: server.limits.clone(),
    };
    let mut sessions = LocalSessionManager::default();
    sessions.session_config.keep_alive = Some(config.session.idle_timeout);
    let sessions = Arc::new(sessions);
    let draining = Arc::new(AtomicBool::new(false));
    let ops = Ops {
        app: app.clone(),
        sessions: sessions.clone(),
        draining: draining.clone(),
        metrics,
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // `server.metrics.port`: /metrics (and /health) on a listener of their own, plain HTTP, for a
    // scraper on the inside; the main listener then does not serve /metrics.
    let metrics_listener = match server.metrics.port {
        Some(port) if server.metrics.enabled => {
            let ops_listener = http::bind(&server.host, port).map_err(|e| {
                format!(
                    "server.metrics.port: cannot listen on {}:{port}: {e}",
                    server.host
                )
            })?;
            let ops_settings = HttpSettings {
                metrics_path: Some(server.metrics.path.clone()),
                ops_only: true,
                ..settings.clone()
            };
            let ops_front = HttpFront::new(
                Gateway::new(app.gateway.clone(), Transport::Http),
                sessions.clone(),
                Arc::new(ops.clone()),
                ops_settings,
            );
            let addr = ops_listener.local_addr;
            eprintln!("ucp: metrics on http://{addr}{}", server.metrics.path);
            Some(tokio::spawn(ops_listener.serve(ops_front, stop_rx.clone())))
        }
        _ => None,
    };
    let front = HttpFront::new(
        Gateway::new(app.gateway.clone(), Transport::Http),
        sessions,
        Arc::new(ops),
        settings,
    );
    let mut serving = tokio::spawn(listener.serve(front, stop_rx));
    // The one line a person (or a test) needs: where to point a client.
    eprintln!("ucp: listening on {scheme}://{addr}/mcp (health: {scheme}://{addr}/health)");
    tracing::info!(%addr, scheme, "serving MCP over Streamable HTTP at /mcp");
    if built_in {
        eprintln!("{}", connect_hint(addr));
    }

    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: draining"),
        _ = int.recv() => tracing::info!("SIGINT: draining"),
        _ = &mut serving => return Err("the HTTP listener stopped".into()),
    }
    draining.store(true, Ordering::Relaxed);
    let _ = stop_tx.send(true);
    if tokio::time::timeout(DRAIN, serving).await.is_err() {
        tracing::warn!("drain timed out");
    }
    if let Some(metrics_listener) = metrics_listener {
        let _ = tokio::time::timeout(Duration::from_secs(1), metrics_listener).await;
    }
    Ok(())
}

/// What a SIGHUP re-reads. Today the TLS certificate and key; the configuration reload (a later
/// issue) adds its part to [`on_sighup`].
struct Reload {
    tls: Option<TlsFiles>,
    /// `server.log_output` files, reopened for logrotate.
    log_files: LogFiles,
    metrics: Arc<Metrics>,
}

/// SIGHUP's default action ends the process, and logrotate's `postrotate` sends it: here every
/// SIGHUP runs [`on_sighup`] and the gateway keeps serving, whatever the re-read finds.
async fn sighup_loop(mut hup: Signal, reload: Reload) {
    while hup.recv().await.is_some() {
        on_sighup(&reload).await;
    }
}

async fn on_sighup(reload: &Reload) {
    let mut reloaded = match &reload.tls {
        Some(tls) => tls.reload().await,
        None => true,
    };
    match reload.log_files.reopen() {
        Ok(0) => {}
        Ok(n) => tracing::info!(files = n, "SIGHUP: log files reopened"),
        Err(error) => {
            reloaded = false;
            tracing::error!(%error, "SIGHUP: a log file could not be reopened; writing to the old one");
        }
    }
    if reloaded {
        reload.metrics.reloads.inc();
    } else {
        reload.metrics.reload_failures.inc();
    }
    tracing::warn!(
        "SIGHUP received: reloading the configuration is not implemented in this build yet \
         (the TLS certificate and key are re-read, log files reopened); still serving the \
         configuration loaded at start"
    );
}

/// TLS for the listener: its settings, and the files its pair comes from.
struct Tls {
    files: TlsFiles,
    settings: TlsSettings,
}

impl Tls {
    /// When `server.ssl.enabled` (and the gateway listens on HTTP): reads and checks the pair,
    /// and builds the listener's settings (protocol floor, ciphers, ALPN) around it.
    fn prepare(ssl: &SslConfig, stdio: bool) -> Result<Option<Tls>, String> {
        if !ssl.enabled {
            return Ok(None);
        }
        if stdio {
            tracing::warn!("server.ssl: ignored: the stdio transport has no listener");
            return Ok(None);
        }
        // Validation guarantees both paths when TLS is enabled.
        let (Some(cert), Some(key)) = (&ssl.cert_path, &ssl.key_path) else {
            return Err("server.ssl: cert_path and key_path are required".into());
        };
        let pair = CertifiedKey::load(cert, key).map_err(|e| e.to_string())?;
        tracing::info!(
            cert = %cert.display(),
            fingerprint = %pair.fingerprint(),
            not_after = %pair.not_after(),
            "TLS certificate loaded"
        );
        let files = TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            store: Arc::new(ArcSwap::from_pointee(pair)),
        };
        let settings = tls::settings(ssl, files.store.clone()).map_err(|e| e.to_string())?;
        Ok(Some(Tls { files, settings }))
    }
}

/// The pair the listener presents, and the files it came from (re-read on SIGHUP).
struct TlsFiles {
    cert: PathBuf,
    key: PathBuf,
    store: CertStore,
}

impl TlsFiles {
    /// Re-reads both files. New handshakes present a pair that loads; one that does not (a missing
    /// file, a key of another certificate) leaves the served pair in place and says why (false).
    async fn reload(&self) -> bool {
        let (cert, key) = (self.cert.clone(), self.key.clone());
        let loaded =
            match tokio::task::spawn_blocking(move || CertifiedKey::load(&cert, &key)).await {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(e) => Err(format!("the reload task failed: {e}")),
            };
        match loaded {
            Ok(pair) => {
                tracing::info!(
                    cert = %self.cert.display(),
                    fingerprint = %pair.fingerprint(),
                    not_after = %pair.not_after(),
                    "SIGHUP: TLS certificate reloaded; new handshakes present it"
                );
                self.store.store(Arc::new(pair));
                true
            }
            Err(error) => {
                tracing::error!(
                    %error,
                    "SIGHUP: TLS certificate not reloaded; still presenting the previous one"
                );
                false
            }
        }
    }
}

/// How to point common clients at this gateway (printed for the built-in default config).
fn connect_hint(addr: std::net::SocketAddr) -> String {
    format!(
        "ucp: built-in default config: fronting server-everything, server-memory and mcp-server-time;\n\
         ucp: clients see ucp_search_tools + ucp_call_tool (try: curl -s http://{addr}/v1/select -H 'content-type: application/json' -d '{{\"context\":\"what time is it\"}}')\n\
         ucp: connect a client:\n\
         \x20   Claude Code:  claude mcp add --transport http ucp http://{addr}/mcp\n\
         \x20   Inspector:    npx @modelcontextprotocol/inspector --cli http://{addr}/mcp --transport http --method tools/list\n\
         \x20   Claude Desktop (stdio): {{\"mcpServers\": {{\"ucp\": {{\"command\": \"ucp\", \"args\": [\"serve\", \"--stdio\", \"-c\", \"/path/to/ucp_config.yaml\"]}}}}}}\n\
         ucp: stop with Ctrl-C"
    )
}

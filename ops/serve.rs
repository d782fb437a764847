//! `ucp serve`: load the config, start the gateway, serve stdio or HTTP (with TLS when configured),
//! reload on SIGHUP (`reload`), stop gracefully.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use ucp_config::{Config, ServerTransport, SslConfig};
use ucp_proxy::http::tls::{self, CertifiedKey, TlsSettings};
use ucp_proxy::http::{self, HttpFront, HttpSettings, LocalSessionManager};
use ucp_proxy::{Gateway, Transport};

use crate::app::App;
use crate::health::{Metrics, Ops};
use crate::load;
use crate::reload::{Reloader, TlsFiles};
use crate::telemetry::Logging;

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
    let logging = match crate::telemetry::init(&config, stdio) {
        Ok(logging) => logging,
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
    let start = Start {
        config: Arc::new(config),
        path: config_path.map(Path::to_path_buf),
        stdio,
        built_in,
        tls,
        logging,
    };
    exit_code(block_on(run(start)))
}

/// What `serve` starts from.
struct Start {
    config: Arc<Config>,
    /// The config file (`None`: the built-in default), re-read by SIGHUP.
    path: Option<std::path::PathBuf>,
    stdio: bool,
    built_in: bool,
    tls: Option<Tls>,
    logging: Logging,
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

async fn run(start: Start) -> Result<(), String> {
    let Start {
        config,
        path,
        stdio,
        built_in,
        tls,
        logging,
    } = start;
    let (files, tls_settings) = tls.map(|t| (t.files, t.settings)).unzip();
    // First, before the model loads: a SIGHUP during start-up must not end the process either.
    // Until the reloader runs, a SIGHUP waits in the stream.
    let hup = signal(SignalKind::hangup()).map_err(|e| format!("SIGHUP handler: {e}"))?;
    let stop = Stop::listen()?;
    let app = Arc::new(App::start(config.clone(), stdio)?);
    let metrics =
        Arc::new(Metrics::new(app.filters.registry.clone()).map_err(|e| format!("metrics: {e}"))?);
    let reloader = Reloader::new(
        path,
        stdio,
        config.clone(),
        app.clone(),
        files,
        logging,
        metrics.clone(),
    );
    let result = if stdio {
        tokio::spawn(Arc::new(reloader).run(hup));
        // The first `tools/list` shows every server that comes up in time.
        app.gateway.ready.wait(config.server.ready_timeout).await;
        let gateway = Gateway::new(app.gateway.clone(), Transport::Stdio);
        let serving = ucp_proxy::stdio::serve(
            gateway,
            tokio::io::stdin(),
            tokio::io::stdout(),
            config.server.max_body_bytes,
        );
        // The client closing stdin ends the session; a signal ends it too, and the servers are
        // stopped either way (no child outlives the gateway).
        tokio::select! {
            served = serving => served.map_err(|e| format!("stdio: {e}")),
            signal = stop.wait() => {
                tracing::info!("{signal}: stopping");
                Ok(())
            }
        }
    } else {
        let http = HttpStart {
            app: app.clone(),
            metrics,
            built_in,
            tls: tls_settings,
            reloader,
            hup,
            stop,
        };
        serve_http(&config, http).await
    };
    app.pool.shutdown();
    // Give stdio children a moment to be killed before the runtime goes away.
    tokio::time::sleep(Duration::from_millis(200)).await;
    result
}

/// What the HTTP front starts with besides the config.
struct HttpStart {
    app: Arc<App>,
    metrics: Arc<Metrics>,
    built_in: bool,
    tls: Option<TlsSettings>,
    /// Started once the fronts it updates exist.
    reloader: Reloader,
    hup: tokio::signal::unix::Signal,
    stop: Stop,
}

/// SIGTERM and SIGINT, listened to from the start (their default action would end the process
/// with its servers still running).
struct Stop {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Stop {
    fn listen() -> Result<Stop, String> {
        let handler = |kind, name| signal(kind).map_err(|e| format!("{name} handler: {e}"));
        Ok(Stop {
            term: handler(SignalKind::terminate(), "SIGTERM")?,
            int: handler(SignalKind::interrupt(), "SIGINT")?,
        })
    }

    /// The name of the first of the two that arrives.
    async fn wait(mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

async fn serve_http(config: &Config, start: HttpStart) -> Result<(), String> {
    let HttpStart {
        app,
        metrics,
        built_in,
        tls,
        reloader,
        hup,
        stop,
    } = start;
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
    if let Some(refusal) = open_to_anyone(config, loopback) {
        return Err(refusal);
    }
    if !loopback && server.allowed_hosts.is_empty() {
        tracing::warn!(
            "server.allowed_hosts is empty on a non-loopback bind: the Host header is not checked \
             (a proxy in front must own the public names)"
        );
    }
    let settings = http_settings(config, loopback);
    let reloader = reloader.with_public_bind(!loopback);
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
            let ops_front = HttpFront::new(
                Gateway::new(app.gateway.clone(), Transport::Http),
                sessions.clone(),
                Arc::new(ops.clone()),
                ops_settings(config, loopback),
            );
            reloader.add_front(ops_front.control(), move |c| ops_settings(c, loopback));
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
    let control = front.control();
    reloader.add_front(control.clone(), move |c| http_settings(c, loopback));
    tokio::spawn(Arc::new(reloader).run(hup));
    let mut serving = tokio::spawn(listener.serve(front, stop_rx));
    // The one line a person (or a test) needs: where to point a client.
    eprintln!("ucp: listening on {scheme}://{addr}/mcp (health: {scheme}://{addr}/health)");
    tracing::info!(%addr, scheme, "serving MCP over Streamable HTTP at /mcp");
    if built_in {
        eprintln!("{}", connect_hint(addr));
    }

    tokio::select! {
        signal = stop.wait() => tracing::info!("{signal}: draining"),
        _ = &mut serving => return Err("the HTTP listener stopped".into()),
    }
    // The drain: /health says `draining` (503, so a load balancer stops sending), the accept loop
    // ends, kept-alive connections close after their current request, notification streams end
    // with a reconnect hint, and requests in flight get `server.drain_timeout` to finish.
    let grace = app.gateway.snapshot.load().config.server.drain_timeout;
    draining.store(true, Ordering::Relaxed);
    let _ = stop_tx.send(true);
    let started = std::time::Instant::now();
    let _ = tokio::time::timeout(grace, serving).await;
    let left = control
        .drained(grace.saturating_sub(started.elapsed()))
        .await;
    if left > 0 {
        tracing::warn!(
            requests = left,
            ?grace,
            "drain timed out: stopping with requests in flight"
        );
    } else {
        tracing::info!(ms = started.elapsed().as_millis() as u64, "drained");
    }
    if let Some(metrics_listener) = metrics_listener {
        let _ = tokio::time::timeout(Duration::from_secs(1), metrics_listener).await;
    }
    Ok(())
}

/// Why `config` may not serve on this bind: a non-loopback listener without auth lets anyone who
/// can reach it use every tool, unless the config says it means that. Checked at start and by
/// every reload.
pub fn open_to_anyone(config: &Config, loopback: bool) -> Option<String> {
    let server = &config.server;
    (!loopback && !server.auth.enabled && !server.allow_public_without_auth).then(|| {
        format!(
            "server.host: {} is not a loopback address and server.auth is off, so anyone who can \
             reach it could use every tool; enable server.auth, bind 127.0.0.1 behind a proxy that \
             authenticates, or set server.allow_public_without_auth: true",
            server.host
        )
    })
}

/// The main front's settings for `config` on a `loopback` (or public) listener.
fn http_settings(config: &Config, loopback: bool) -> HttpSettings {
    let server = &config.server;
    HttpSettings {
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
    }
}

/// The metrics listener's settings (`server.metrics.port`): `/metrics` and `/health` only.
fn ops_settings(config: &Config, loopback: bool) -> HttpSettings {
    HttpSettings {
        metrics_path: Some(config.server.metrics.path.clone()),
        ops_only: true,
        ..http_settings(config, loopback)
    }
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
        let files = TlsFiles::new(cert.clone(), key.clone(), pair);
        let settings = tls::settings(ssl, files.store.clone()).map_err(|e| e.to_string())?;
        Ok(Some(Tls { files, settings }))
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

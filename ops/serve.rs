//! `ucp serve`: load the config, start the gateway, serve stdio or HTTP, stop gracefully.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use ucp_config::{Config, ServerTransport};
use ucp_proxy::http::{self, HttpFront, HttpSettings, LocalSessionManager};
use ucp_proxy::{Gateway, Transport};

use crate::app::App;
use crate::health::{Metrics, Ops};
use crate::load;

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
    if let Err(e) = crate::telemetry::init(&config.server, stdio) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
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
    tracing::info!(config = %source, servers = config.downstream_servers.len(), "starting");
    let built_in = matches!(source, load::Source::BuiltIn);
    exit_code(block_on(run(Arc::new(config), stdio, built_in)))
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

async fn run(config: Arc<Config>, stdio: bool, built_in: bool) -> Result<(), String> {
    // First, before the model loads: a SIGHUP during start-up must not end the process either.
    tokio::spawn(ignore_sighup()?);
    let app = Arc::new(App::start(config.clone())?);
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
        serve_http(&config, app.clone(), built_in).await
    };
    app.pool.shutdown();
    // Give stdio children a moment to be killed before the runtime goes away.
    tokio::time::sleep(Duration::from_millis(200)).await;
    result
}

async fn serve_http(config: &Config, app: Arc<App>, built_in: bool) -> Result<(), String> {
    let server = &config.server;
    let listener = http::bind(&server.host, server.port).map_err(|e| {
        format!(
            "server.port: cannot listen on {}:{}: {e}",
            server.host, server.port
        )
    })?;
    let addr = listener.local_addr;
    let loopback = addr.ip().is_loopback();
    let settings = HttpSettings {
        max_body_bytes: server.max_body_bytes,
        allowed_origins: server.allowed_origins.clone(),
        // A loopback bind only answers loopback Host names (DNS rebinding); a public bind sits
        // behind a proxy that owns the public names.
        allowed_hosts: if loopback {
            vec!["localhost".into(), "127.0.0.1".into(), "::1".into()]
        } else {
            Vec::new()
        },
        metrics_path: server.metrics.path.clone(),
        admit_ops_endpoints: server.admit_ops_endpoints,
    };
    let sessions = Arc::new(LocalSessionManager::default());
    let draining = Arc::new(AtomicBool::new(false));
    let metrics =
        Metrics::new(app.filters.registry.clone()).map_err(|e| format!("metrics: {e}"))?;
    let ops = Ops {
        app: app.clone(),
        sessions: sessions.clone(),
        draining: draining.clone(),
        metrics,
    };
    let front = HttpFront::new(
        Gateway::new(app.gateway.clone(), Transport::Http),
        sessions,
        ops,
        settings,
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut serving = tokio::spawn(listener.serve(front, stop_rx));
    // The one line a person (or a test) needs: where to point a client.
    eprintln!("ucp: listening on http://{addr}/mcp (health: http://{addr}/health)");
    tracing::info!(%addr, "serving MCP over Streamable HTTP at /mcp");
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
    Ok(())
}

/// SIGHUP's default action ends the process, and logrotate's `postrotate` sends it. Until config
/// reload exists, the gateway says so and keeps serving.
fn ignore_sighup() -> Result<impl std::future::Future<Output = ()>, String> {
    let mut hup = signal(SignalKind::hangup()).map_err(|e| format!("SIGHUP handler: {e}"))?;
    Ok(async move {
        while hup.recv().await.is_some() {
            tracing::warn!(
                "SIGHUP received: configuration reload is not implemented in this build yet; \
                 still serving the configuration loaded at start"
            );
        }
    })
}

/// How to point common clients at this gateway (printed for the built-in default config).
fn connect_hint(addr: std::net::SocketAddr) -> String {
    format!(
        "ucp: built-in default config: fronting server-everything, server-memory and mcp-server-time;\n\
         ucp: clients see ucp_search_tools + ucp_call_tool (try: curl -s -XPOST http://{addr}/v1/select -d '{{\"context\":\"what time is it\"}}')\n\
         ucp: connect a client:\n\
         \x20   Claude Code:  claude mcp add --transport http ucp http://{addr}/mcp\n\
         \x20   Inspector:    npx @modelcontextprotocol/inspector --cli http://{addr}/mcp --transport http --method tools/list\n\
         \x20   Claude Desktop (stdio): {{\"mcpServers\": {{\"ucp\": {{\"command\": \"ucp\", \"args\": [\"serve\", \"--stdio\", \"-c\", \"/path/to/ucp_config.yaml\"]}}}}}}\n\
         ucp: stop with Ctrl-C"
    )
}

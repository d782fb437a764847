//! tools/call round trip through the gateway vs directly against the same downstream.
//!
//! Baseline: an rmcp client calling server-everything's `echo` over stdio. Through the gateway:
//! the same client calling `everything__echo` on `ucp serve --stdio`, on `ucp serve` (HTTP,
//! pingora front), and, to isolate what the pingora bridge costs, the same in-process gateway
//! served by pingora and by hyper. Rounds of each mode are interleaved so the shared machine's
//! noise falls on all modes alike. Run: `cargo bench --bench roundtrip` (after scripts/setup.sh).
//! With `UCP_BASELINE_BIN=/path/to/older/ucp`, that build's stdio and HTTP fronts are measured in
//! the same run too, so a change to the request path is compared with what it replaced.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use ucp_proxy::http::{HttpFront, HttpSettings, LocalSessionManager, OpsEndpoints, Plain};
use ucp_proxy::{
    Backoff, Catalog, DownstreamPool, Gateway, GatewayShared, Snapshot, SnapshotWriter, Transport,
};

type Client = RunningService<RoleClient, ()>;

const ROUNDS: usize = 10;
const CALLS_PER_ROUND: usize = 100;

fn ucp_home() -> PathBuf {
    std::env::var_os("UCP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".ucp"))
}

fn everything() -> String {
    ucp_home()
        .join("tools/node/node_modules/.bin/mcp-server-everything")
        .display()
        .to_string()
}

async fn echo(client: &Client, tool: &str) -> Duration {
    let mut args = serde_json::Map::new();
    args.insert("message".into(), "benchmark".into());
    let started = Instant::now();
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args))
        .await
        .expect("echo");
    started.elapsed()
}

struct Mode {
    name: &'static str,
    client: Client,
    tool: &'static str,
    samples: Vec<Duration>,
}

struct NoOps;
impl OpsEndpoints for NoOps {
    fn health(&self) -> Plain {
        Plain {
            status: http::StatusCode::OK,
            content_type: "text/plain",
            body: Vec::new(),
        }
    }
    fn metrics(&self) -> Plain {
        self.health()
    }
}

/// An in-process gateway in front of server-everything (stdio), as `ops` wires it.
async fn in_process_gateway() -> Gateway<ucp_filters::FilterStage> {
    let yaml = format!(
        "router:\n  exposure: all\ndownstream_servers:\n  - name: everything\n    command: {:?}\n    args: [stdio]\n",
        everything()
    );
    let mut config = ucp_config::parse(&yaml, &|_| None).expect("config").config;
    config.server.sanitize_logs = true;
    let config = Arc::new(config);
    let pool = DownstreamPool::start(&config.downstream_servers, Backoff::default());
    pool.settle(Duration::from_secs(30)).await;
    let catalog = Catalog::build(&pool.listings(), &ucp_proxy::Naming::from_config(&config));
    assert!(
        catalog.route_tool("everything__echo").is_some(),
        "server-everything did not connect"
    );
    let shared = ucp_filters::Shared::new(None, None, 16, 1 << 20, Default::default()).unwrap();
    let (writer, cell) = SnapshotWriter::new(Snapshot {
        pipeline: Arc::new(ucp_filters::build(&config, &shared).unwrap()),
        config,
        catalog: Arc::new(catalog),
        tools_generation: 1,
        index: None,
        generation: 0,
    });
    std::mem::forget(writer); // nothing changes during the run
    Gateway::new(GatewayShared::new(cell, pool), Transport::Http)
}

fn settings() -> HttpSettings {
    HttpSettings {
        max_body_bytes: 4 << 20,
        allowed_origins: Vec::new(),
        allowed_hosts: vec!["127.0.0.1".into(), "localhost".into()],
        metrics_path: Some("/metrics".into()),
        ops_only: false,
        admit_ops_endpoints: false,
        max_sessions: 10_000,
        max_sessions_per_identity: 1_000,
        limits: Default::default(),
    }
}

async fn serve_pingora(gateway: Gateway<ucp_filters::FilterStage>) -> String {
    let listener = ucp_proxy::http::bind("127.0.0.1", 0).unwrap();
    let addr = listener.local_addr;
    let front = HttpFront::new(
        gateway,
        Arc::new(LocalSessionManager::default()),
        NoOps,
        settings(),
    );
    let (tx, rx) = tokio::sync::watch::channel(false);
    std::mem::forget(tx); // keep the listener up for the whole run
    tokio::spawn(listener.serve(front, rx));
    format!("http://{addr}/mcp")
}

async fn serve_hyper(gateway: Gateway<ucp_filters::FilterStage>) -> String {
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };
    let service = StreamableHttpService::new(
        move || Ok(gateway.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    format!("http://{addr}/mcp")
}

fn spawn_ucp_http(bin: &str, config: &std::path::Path) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(bin)
        .args(["serve", "-c"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn ucp");
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufReader::new(stderr).lines();
    let url = loop {
        let line = lines.next().expect("ucp exited").unwrap();
        if let Some(rest) = line.strip_prefix("ucp: listening on ") {
            break rest.split(' ').next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo bench --list
    }
    let dir = tempfile::tempdir().unwrap();
    let http_cfg = dir.path().join("http.yaml");
    let stdio_cfg = dir.path().join("stdio.yaml");
    let servers = format!(
        "router:\n  exposure: all\ndownstream_servers:\n  - name: everything\n    command: {:?}\n    args: [stdio]\n",
        everything()
    );
    std::fs::write(
        &http_cfg,
        format!("server:\n  transport: http\n  port: 0\n  log_level: warning\n{servers}"),
    )
    .unwrap();
    std::fs::write(
        &stdio_cfg,
        format!("server:\n  transport: stdio\n  log_level: warning\n{servers}"),
    )
    .unwrap();

    let direct = ()
        .serve(
            TokioChildProcess::new({
                let mut c = tokio::process::Command::new(everything());
                c.arg("stdio");
                c
            })
            .unwrap(),
        )
        .await
        .expect("direct");
    let via_stdio = ucp_stdio(env!("CARGO_BIN_EXE_ucp"), &stdio_cfg).await;
    let (mut ucp_http, url) = spawn_ucp_http(env!("CARGO_BIN_EXE_ucp"), &http_cfg);
    let via_http =
        ().serve(StreamableHttpClientTransport::from_uri(url.clone()))
            .await
            .expect("ucp http");
    let mut children = vec![];
    let mut baseline_modes = vec![];
    if let Ok(bin) = std::env::var("UCP_BASELINE_BIN") {
        let stdio = ucp_stdio(&bin, &stdio_cfg).await;
        let (child, url) = spawn_ucp_http(&bin, &http_cfg);
        children.push(child);
        let http =
            ().serve(StreamableHttpClientTransport::from_uri(url))
                .await
                .expect("baseline http");
        baseline_modes.push(Mode {
            name: "baseline build, --stdio",
            client: stdio,
            tool: "everything__echo",
            samples: vec![],
        });
        baseline_modes.push(Mode {
            name: "baseline build, http (pingora)",
            client: http,
            tool: "everything__echo",
            samples: vec![],
        });
    }
    let gateway = in_process_gateway().await;
    let pingora_url = serve_pingora(gateway.clone()).await;
    let hyper_url = serve_hyper(gateway).await;
    let in_pingora = ().serve(StreamableHttpClientTransport::from_uri(pingora_url)).await.unwrap();
    let in_hyper = ().serve(StreamableHttpClientTransport::from_uri(hyper_url)).await.unwrap();

    let mut modes = vec![
        Mode {
            name: "direct stdio (baseline)",
            client: direct,
            tool: "echo",
            samples: vec![],
        },
        Mode {
            name: "ucp --stdio",
            client: via_stdio,
            tool: "everything__echo",
            samples: vec![],
        },
        Mode {
            name: "ucp http (pingora)",
            client: via_http,
            tool: "everything__echo",
            samples: vec![],
        },
        Mode {
            name: "in-process http, pingora front",
            client: in_pingora,
            tool: "everything__echo",
            samples: vec![],
        },
        Mode {
            name: "in-process http, hyper front",
            client: in_hyper,
            tool: "everything__echo",
            samples: vec![],
        },
    ];
    modes.extend(baseline_modes);
    // Wait until the gateway processes list the tool, then warm up every path.
    for mode in &modes {
        let deadline = Instant::now() + Duration::from_secs(60);
        while mode
            .client
            .list_all_tools()
            .await
            .map(|t| t.iter().all(|t| t.name != mode.tool))
            .unwrap_or(true)
        {
            assert!(
                Instant::now() < deadline,
                "{} never listed {}",
                mode.name,
                mode.tool
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for _ in 0..50 {
            echo(&mode.client, mode.tool).await;
        }
    }
    for _ in 0..ROUNDS {
        for mode in &mut modes {
            for _ in 0..CALLS_PER_ROUND {
                let d = echo(&mode.client, mode.tool).await;
                mode.samples.push(d);
            }
        }
    }
    let base: Vec<Duration> = {
        let mut s = modes[0].samples.clone();
        s.sort();
        s
    };
    let (b50, b99) = (percentile(&base, 0.5), percentile(&base, 0.99));
    println!(
        "tools/call echo round trip, {} calls per mode ({ROUNDS} interleaved rounds)\n",
        ROUNDS * CALLS_PER_ROUND
    );
    println!("| path | p50 ms | p99 ms | added p50 ms | added p99 ms |");
    println!("| --- | --- | --- | --- | --- |");
    for mode in &mut modes {
        mode.samples.sort();
        let (p50, p99) = (
            percentile(&mode.samples, 0.5),
            percentile(&mode.samples, 0.99),
        );
        println!(
            "| {} | {p50:.3} | {p99:.3} | {:+.3} | {:+.3} |",
            mode.name,
            p50 - b50,
            p99 - b99
        );
    }
    let _ = ucp_http.kill();
    let _ = ucp_http.wait();
    for mut child in children {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// An rmcp client of `bin serve --stdio`.
async fn ucp_stdio(bin: &str, config: &std::path::Path) -> Client {
    ().serve(
        TokioChildProcess::new({
            let mut c = tokio::process::Command::new(bin);
            c.args(["serve", "--stdio", "-c"])
                .arg(config)
                .env("RUST_LOG", "warn");
            c
        })
        .unwrap(),
    )
    .await
    .expect("ucp --stdio")
}

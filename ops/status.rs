//! `ucp status`: asks a running gateway for `/health` and `/metrics` and prints a summary an
//! operator can read; the exit code says healthy (0), degraded or draining (1), unreachable (2).

mod summary;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use prometheus_parse::Scrape;
use serde_json::Value;

#[derive(clap::Args)]
pub struct StatusArgs {
    /// The gateway's base URL (a trailing `/mcp` is dropped).
    #[arg(long, default_value = "http://127.0.0.1:8765")]
    pub url: String,
    /// The metrics URL, when not URL/metrics (e.g. with server.metrics.port).
    #[arg(long)]
    pub metrics_url: Option<String>,
    /// Environment variable holding an API key or token, sent as `Authorization: Bearer`.
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// PEM file of a private CA that signed an https gateway's certificate.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Sample /metrics twice SECS apart and print per-second rates (default: one sample,
    /// counts and averages since start).
    #[arg(long, value_name = "SECS")]
    pub sample: Option<f64>,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 5.0)]
    pub timeout: f64,
}

const UNREACHABLE: u8 = 2;

pub fn main(args: StatusArgs) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(run(args)),
        Err(e) => unreachable_exit(&format!("cannot start the runtime: {e}")),
    }
}

async fn run(args: StatusArgs) -> ExitCode {
    let base = args.url.trim_end_matches('/');
    let base = base.strip_suffix("/mcp").unwrap_or(base).to_string();
    let client = match client(&args) {
        Ok(client) => client,
        Err(message) => return unreachable_exit(&message),
    };
    let health_url = format!("{base}/health");
    let health = match get(&client, &health_url).await {
        Ok((_, body)) => match serde_json::from_str::<Value>(&body) {
            Ok(health) if health["status"].is_string() => health,
            _ => {
                return unreachable_exit(&format!(
                    "{health_url} did not answer with a UCP health document (is this a UCP gateway?)"
                ));
            }
        },
        Err(message) => return unreachable_exit(&message),
    };
    let metrics_url = args
        .metrics_url
        .clone()
        .unwrap_or_else(|| format!("{base}/metrics"));
    let first = scrape(&client, &metrics_url).await;
    let rates = match (&first, args.sample) {
        (Ok(first), Some(seconds)) if seconds > 0.0 => {
            tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
            scrape(&client, &metrics_url)
                .await
                .ok()
                .map(|second| summary::Rates::between(first, &second, seconds))
        }
        _ => None,
    };
    let metrics = first.as_ref().map_err(|e| e.as_str());
    print!(
        "{}",
        summary::render(&base, &health, metrics, rates.as_ref())
    );
    match health["status"].as_str() {
        Some("healthy") => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    }
}

fn client(args: &StatusArgs) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs_f64(args.timeout.max(0.1)))
        .user_agent(concat!("ucp-status/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = &args.cacert {
        let pem = std::fs::read(path)
            .map_err(|e| format!("--cacert {}: cannot read: {e}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("--cacert {}: not a PEM certificate: {e}", path.display()))?;
        builder = builder.tls_certs_merge(certs);
    }
    if let Some(var) = &args.api_key_env {
        let key =
            std::env::var(var).map_err(|_| format!("--api-key-env {var}: {var} is not set"))?;
        let mut headers = reqwest::header::HeaderMap::new();
        let mut value =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {}", key.trim()))
                .map_err(|_| format!("--api-key-env {var}: the key is not a valid header value"))?;
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
        builder = builder.default_headers(headers);
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {}", chain(&e)))
}

/// The body of a GET; an error for a failed request or a status other than 200 and 503 (what
/// `/health` answers while draining).
async fn get(client: &reqwest::Client, url: &str) -> Result<(u16, String), String> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {}", chain(&e)))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| format!("{url}: cannot read the answer: {}", chain(&e)))?;
    match status.as_u16() {
        200 | 503 => Ok((status.as_u16(), body)),
        401 | 403 => Err(format!(
            "{url} answered {status}: the gateway wants credentials (--api-key-env VAR)"
        )),
        _ => Err(format!("{url} answered {status}")),
    }
}

async fn scrape(client: &reqwest::Client, url: &str) -> Result<Scrape, String> {
    let (code, body) = get(client, url).await?;
    if code != 200 {
        return Err(format!("{url} answered {code}"));
    }
    Scrape::parse(body.lines().map(|l| Ok(l.to_string())))
        .map_err(|e| format!("{url}: not Prometheus text: {e}"))
}

/// An error with its causes: reqwest's own message rarely says "connection refused".
fn chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

fn unreachable_exit(message: &str) -> ExitCode {
    eprintln!("ucp status: unreachable: {message}");
    ExitCode::from(UNREACHABLE)
}

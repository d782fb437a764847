//! Opening one downstream connection: spawn the stdio child or open the HTTP session, then
//! `initialize` it as an rmcp client whose handler turns list-changed notifications into re-syncs.

use std::process::Stdio;
use std::sync::{Arc, Weak};

use rmcp::model::{ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use ucp_config::DownstreamTransport;

use super::Downstream;
use crate::error::ProxyError;

/// The rmcp client handler of one downstream connection.
pub struct DownstreamClient {
    downstream: Weak<Downstream>,
    info: ClientConfig,
}

impl DownstreamClient {
    fn resync(&self) {
        if let Some(ds) = self.downstream.upgrade() {
            tracing::debug!(server = %ds.name, "downstream list changed");
            ds.resync.notify_one();
        }
    }
}

impl ClientHandler for DownstreamClient {
    fn get_info(&self) -> ClientConfig {
        self.info.clone()
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.resync();
    }

    async fn on_prompt_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.resync();
    }

    async fn on_resource_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.resync();
    }
}

pub type Running = RunningService<RoleClient, DownstreamClient>;

/// Connects and initializes; the error's text is a one-line reason for logs and `/health`.
pub async fn connect(ds: &Arc<Downstream>) -> Result<Running, ProxyError> {
    let failed = |message: String| ProxyError::Downstream {
        server: ds.name.to_string(),
        message,
    };
    let handler = DownstreamClient {
        downstream: Arc::downgrade(ds),
        info: ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("ucp-gateway", env!("CARGO_PKG_VERSION")),
        ),
    };
    // A server gets its own request timeout to start and answer `initialize`; a slow first start
    // (npx downloading) fails once and succeeds on a later attempt.
    let startup = ds.config.timeout;
    let started = match &ds.config.transport {
        DownstreamTransport::Stdio {
            command,
            args,
            env,
            cwd,
        } => {
            let mut cmd = tokio::process::Command::new(command);
            cmd.args(args).envs(env);
            if let Some(dir) = cwd {
                cmd.current_dir(dir);
            }
            let (transport, stderr) = TokioChildProcess::builder(cmd)
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| failed(format!("cannot start `{command}`: {e}")))?;
            if let Some(stderr) = stderr {
                let server = ds.name.clone();
                tokio::spawn(async move {
                    let mut lines = BufReader::new(stderr).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        tracing::debug!(server = %server, stderr = %line, "downstream stderr");
                    }
                });
            }
            tokio::time::timeout(startup, handler.serve(transport)).await
        }
        DownstreamTransport::Http { url, headers } => {
            let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
            for (name, value) in headers {
                let name = http::HeaderName::try_from(name.as_str())
                    .map_err(|e| failed(format!("header name `{name}`: {e}")))?;
                let value = http::HeaderValue::try_from(value.as_str())
                    .map_err(|e| failed(format!("header `{name}` value: {e}")))?;
                config.custom_headers.insert(name, value);
            }
            let transport = StreamableHttpClientTransport::from_config(config);
            tokio::time::timeout(startup, handler.serve(transport)).await
        }
    };
    match started {
        Ok(Ok(running)) => Ok(running),
        Ok(Err(e)) => Err(failed(format!("initialize failed: {e}"))),
        Err(_) => Err(ProxyError::Timeout {
            server: ds.name.to_string(),
            seconds: startup.as_secs_f64(),
        }),
    }
}

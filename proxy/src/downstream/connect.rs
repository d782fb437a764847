//! Opening one downstream connection: spawn the stdio child or open the HTTP session, then start it
//! as an rmcp client (`server/discover` for 2026-07-28 servers, `initialize` for the others) whose
//! handler turns list-changed notifications into re-syncs and relays progress, logs, resource
//! updates and the server's own requests (sampling, elicitation, roots) to the client they belong to.

#![allow(
    deprecated,
    reason = "sampling, roots and logging are deprecated by SEP-2577 but live in every pre-2026-07-28 session, which a gateway must relay"
)]

use std::process::Stdio;
use std::sync::{Arc, Weak};

use rmcp::ErrorData as McpError;
use rmcp::model::{
    ClientCapabilities, ClientConfig, ClientResult, CreateMessageRequest,
    CreateMessageRequestParams, CreateMessageResult, ElicitRequest, ElicitRequestParams,
    ElicitResult, Implementation, ListRootsRequest, ListRootsResult,
    LoggingMessageNotificationParam, ProgressNotificationParam, ProtocolVersion,
    ResourceUpdatedNotificationParam, ServerRequest,
};
use rmcp::service::{
    ClientLifecycleMode, ClientServiceExt, NotificationContext, RequestContext, RunningService,
};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{IntoTransport, StreamableHttpClientTransport};
use rmcp::{ClientHandler, RoleClient};
use ucp_config::DownstreamTransport;

use super::Downstream;
use super::ordered::Ordered;
use crate::error::ProxyError;
use crate::relay::{Capability, InFlight};

/// The rmcp client handler of one downstream connection.
pub struct DownstreamClient {
    pub(super) downstream: Weak<Downstream>,
    server: Arc<str>,
    info: ClientConfig,
    /// The client calls in flight on this connection (shared with its `Link`).
    pub(super) inflight: Arc<InFlight>,
}

impl DownstreamClient {
    fn resync(&self) {
        if let Some(ds) = self.downstream.upgrade() {
            tracing::debug!(server = %ds.name, "downstream list changed");
            ds.resync.notify_one();
        }
    }

    /// Forwards a request of the server's to the client whose call it belongs to.
    async fn ask(
        &self,
        what: Capability,
        request: ServerRequest,
        context: RequestContext<RoleClient>,
    ) -> Result<ClientResult, McpError> {
        let call = self
            .inflight
            .owner(&context.extensions)
            .map_err(|why| why.to_error(&self.server, what))?;
        tracing::debug!(server = %self.server, method = what.method(), "relaying a server request to its client");
        call.ask(what, request, context.ct.clone()).await
    }
}

fn unexpected(what: Capability) -> McpError {
    McpError::internal_error(
        format!(
            "ucp: the client answered {} with another result",
            what.method()
        ),
        None,
    )
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

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, McpError> {
        let what = Capability::Sampling;
        let request = ServerRequest::CreateMessageRequest(CreateMessageRequest::new(params));
        match self.ask(what, request, context).await? {
            ClientResult::CreateMessageResult(result) => Ok(*result),
            _ => Err(unexpected(what)),
        }
    }

    async fn create_elicitation(
        &self,
        params: ElicitRequestParams,
        context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, McpError> {
        let what = Capability::Elicitation;
        let request = ServerRequest::ElicitRequest(ElicitRequest::new(params));
        match self.ask(what, request, context).await? {
            ClientResult::ElicitResult(result) => Ok(result),
            _ => Err(unexpected(what)),
        }
    }

    async fn list_roots(
        &self,
        context: RequestContext<RoleClient>,
    ) -> Result<ListRootsResult, McpError> {
        let what = Capability::Roots;
        let request = ServerRequest::ListRootsRequest(ListRootsRequest::default());
        match self.ask(what, request, context).await? {
            ClientResult::ListRootsResult(result) => Ok(result),
            _ => Err(unexpected(what)),
        }
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        if let Some(call) = self.inflight.by_progress(&params.progress_token) {
            call.progress(params).await;
        }
    }

    /// Log messages name no call: they go to the client sessions with calls in flight on this
    /// connection, else to the sessions that asked for logs with `logging/setLevel`.
    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let calls = self.inflight.sessions();
        if !calls.is_empty() {
            for call in calls {
                call.log(params.clone()).await;
            }
        } else if let Some(ds) = self.downstream.upgrade() {
            for listener in ds.log_listeners() {
                listener.log(params.clone()).await;
            }
        }
    }

    async fn on_resource_updated(
        &self,
        params: ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        if let Some(ds) = self.downstream.upgrade() {
            for subscriber in ds.subscribers_of(&params.uri) {
                subscriber.updated(params.clone()).await;
            }
        }
    }
}

pub type Running = RunningService<RoleClient, DownstreamClient>;

/// Connects and initializes; the error's text is a one-line reason for logs and `/health`.
/// Which lifecycle a connection starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// `server/discover` when the server answers it, else `initialize`.
    Newest,
    /// `initialize` only: the companion link for clients older than 2026-07-28 (see `companion`).
    Legacy,
}

pub async fn connect(ds: &Arc<Downstream>, era: Era) -> Result<Running, ProxyError> {
    let failed = |message: String| ProxyError::Downstream {
        server: ds.name.to_string(),
        message,
    };
    // The gateway can relay all three to a client that declares them; a call whose client did
    // not gets a precise error instead.
    let mut capabilities = ClientCapabilities::default();
    capabilities.sampling = Some(Default::default());
    capabilities.elicitation = Some(Default::default());
    capabilities.roots = Some(Default::default());
    let handler = DownstreamClient {
        downstream: Arc::downgrade(ds),
        server: ds.name.clone(),
        info: ClientConfig::new(
            capabilities,
            Implementation::new("ucp-gateway", env!("CARGO_PKG_VERSION")),
        ),
        inflight: Arc::default(),
    };
    let inflight = handler.inflight.clone();
    // 2026-07-28 servers answer `server/discover`; the others get `initialize`.
    let lifecycle = || match era {
        Era::Newest => ClientLifecycleMode::Auto {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            legacy_version: None,
        },
        Era::Legacy => ClientLifecycleMode::Initialize,
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
            // Not the gateway's environment (its secrets, other servers' tokens): what a process
            // needs to run, then the server's configured `env`.
            cmd.env_clear()
                .envs(super::child_env::inherited())
                .args(args)
                .envs(env);
            if let Some(dir) = cwd {
                cmd.current_dir(dir);
            }
            let mut child = cmd
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| failed(format!("cannot start `{command}`: {e}")))?;
            if let Some(stderr) = child.stderr.take() {
                tokio::spawn(super::stderr::relay(ds.name.clone(), stderr));
            }
            let transport = super::stdio_child::StdioChild::new(
                child,
                ds.config.max_result_bytes,
                ds.name.clone(),
            )
            .map_err(|e| failed(format!("`{command}`: {e}")))?;
            let transport = Ordered::new(transport, inflight);
            tokio::time::timeout(
                startup,
                handler.serve_with_lifecycle(transport, lifecycle()),
            )
            .await
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
            let transport = Ordered::new(
                IntoTransport::<RoleClient, _, _>::into_transport(transport),
                inflight,
            );
            tokio::time::timeout(
                startup,
                handler.serve_with_lifecycle(transport, lifecycle()),
            )
            .await
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

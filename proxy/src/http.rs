//! The Streamable HTTP front on pingora-core: `/mcp` for MCP clients, plus the operator endpoints
//! that `ops` supplies (`/health`, `/metrics`).
//!
//! pingora owns the sockets, HTTP/1.1 and h2 framing, keep-alive and (later) TLS. rmcp's
//! `StreamableHttpService` owns the MCP transport semantics (sessions, SSE, protocol headers). This
//! module bridges the two: it reads the request head and a size-capped body from pingora, checks
//! Origin and the JSON-RPC shape itself (so malformed input gets a JSON-RPC error, not a bare
//! status), hands an `http::Request` to rmcp, and streams rmcp's response body back frame by frame,
//! which is what makes SSE work.

mod listen;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http::{Method, StatusCode, header};
use http_body_util::{BodyExt, Full};
use pingora_core::apps::{HttpPersistentSettings, HttpServerApp, ReusedHttpStream};
use pingora_core::protocols::http::ServerSession;
use pingora_core::server::ShutdownWatch;
use pingora_http::ResponseHeader;
pub use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::gateway::{Gateway, GatewayShared};
use crate::jsonrpc::{Rejection, check_message};
use crate::pipeline::Stage;
pub use listen::{HttpListener, bind};

/// An operator endpoint's answer: status, content type, body.
pub struct Plain {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Builds `/health` and `/metrics` answers; supplied by `ops`.
pub trait OpsEndpoints: Send + Sync + 'static {
    fn health(&self) -> Plain;
    fn metrics(&self) -> Plain;
}

/// Front-end settings fixed at start (a reload that changes them needs a restart).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub max_body_bytes: usize,
    /// Exact origins (`scheme://host[:port]`) allowed besides loopback ones.
    pub allowed_origins: Vec<String>,
    /// Host header values rmcp accepts; empty disables the check (for a public bind behind a proxy).
    pub allowed_hosts: Vec<String>,
    pub metrics_path: String,
}

/// The pingora app serving one gateway.
pub struct HttpFront<S, O> {
    mcp: StreamableHttpService<Gateway<S>, LocalSessionManager>,
    shared: Arc<GatewayShared<S>>,
    ops: O,
    settings: HttpSettings,
}

impl<S: Stage, O: OpsEndpoints> HttpFront<S, O> {
    pub fn new(
        gateway: Gateway<S>,
        sessions: Arc<LocalSessionManager>,
        ops: O,
        settings: HttpSettings,
    ) -> Self {
        let mut config = StreamableHttpServerConfig::default()
            .with_max_request_body_bytes(settings.max_body_bytes)
            .with_sse_keep_alive(Some(std::time::Duration::from_secs(15)));
        config = if settings.allowed_hosts.is_empty() {
            config.disable_allowed_hosts()
        } else {
            config.with_allowed_hosts(settings.allowed_hosts.clone())
        };
        let shared = gateway.shared().clone();
        let mcp = StreamableHttpService::new(move || Ok(gateway.clone()), sessions, config);
        HttpFront {
            mcp,
            shared,
            ops,
            settings,
        }
    }

    /// Origin validation (DNS rebinding): a browser origin must be loopback or listed.
    fn origin_allowed(&self, origin: &str) -> bool {
        if self.settings.allowed_origins.iter().any(|o| o == origin) {
            return true;
        }
        let host = origin
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(origin);
        let host = host.strip_prefix('[').map_or_else(
            || host.split(':').next().unwrap_or(host),
            |v6| v6.split(']').next().unwrap_or(v6),
        );
        matches!(host, "localhost" | "127.0.0.1" | "::1")
    }

    async fn serve_mcp(&self, session: &mut ServerSession, shutdown: &ShutdownWatch) {
        let head = session.req_header().as_owned_parts();
        if let Some(origin) = head.headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            if !self.origin_allowed(origin) {
                tracing::warn!(%origin, "rejected request from a foreign origin");
                write_plain(
                    session,
                    status_text(StatusCode::FORBIDDEN, "Forbidden: origin not allowed"),
                )
                .await;
                return;
            }
        }
        let body = if head.method == Method::POST {
            match read_body(session, self.settings.max_body_bytes).await {
                Ok(body) => body,
                Err(BodyError::TooLarge) => {
                    let rejection = Rejection::too_large(self.settings.max_body_bytes);
                    write_plain(
                        session,
                        jsonrpc_error(StatusCode::PAYLOAD_TOO_LARGE, &rejection),
                    )
                    .await;
                    return;
                }
                Err(BodyError::Io) => return,
            }
        } else {
            Bytes::new()
        };
        if head.method == Method::POST
            && let Err(rejection) = check_message(&body)
        {
            write_plain(session, jsonrpc_error(StatusCode::BAD_REQUEST, &rejection)).await;
            return;
        }
        let request = http::Request::from_parts(head, Full::new(body));
        let response = self.mcp.handle(request).await;
        let (parts, mut body) = response.into_parts();
        let mut header = ResponseHeader::from(parts);
        let exact = http_body::Body::size_hint(&body).exact();
        let framing = match exact {
            Some(len) => header.insert_header(header::CONTENT_LENGTH, len.to_string()),
            None if !session.is_http2() => {
                header.insert_header(header::TRANSFER_ENCODING, "chunked")
            }
            None => Ok(()),
        };
        if framing.is_err()
            || session
                .write_response_header(Box::new(header))
                .await
                .is_err()
        {
            return;
        }
        let mut shutdown = shutdown.clone();
        loop {
            let frame = tokio::select! {
                frame = body.frame() => frame,
                _ = shutdown.changed() => None,
            };
            let Some(Ok(frame)) = frame else { break };
            if let Ok(data) = frame.into_data()
                && session.write_response_body(data, false).await.is_err()
            {
                return; // the client went away
            }
        }
        let _ = session.finish_body().await;
    }
}

#[async_trait]
impl<S: Stage, O: OpsEndpoints> HttpServerApp for HttpFront<S, O> {
    async fn process_new_http(
        self: &Arc<Self>,
        mut session: ServerSession,
        shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        match session.read_request().await {
            Ok(true) => {}
            _ => return None,
        }
        session.set_keepalive(if *shutdown.borrow() { None } else { Some(60) });
        let path = session.req_header().uri.path().to_string();
        let method = session.req_header().method.clone();
        match (method, path.as_str()) {
            (_, "/mcp") => self.serve_mcp(&mut session, shutdown).await,
            (Method::POST, p) if p.starts_with("/v1/sessions/") && p.ends_with("/context") => {
                let id = p["/v1/sessions/".len()..p.len() - "/context".len()].to_string();
                let answer = self.push_context(&mut session, &id).await;
                write_plain(&mut session, answer).await
            }
            (Method::POST, "/v1/select") => {
                let answer = self.select(&mut session).await;
                write_plain(&mut session, answer).await
            }
            (Method::GET, "/health") => write_plain(&mut session, self.ops.health()).await,
            (Method::GET, p) if p == self.settings.metrics_path => {
                write_plain(&mut session, self.ops.metrics()).await
            }
            _ => {
                write_plain(
                    &mut session,
                    status_text(StatusCode::NOT_FOUND, "Not Found"),
                )
                .await
            }
        }
        let settings = HttpPersistentSettings::for_session(&session);
        match session.finish().await {
            Ok(Some(stream)) => Some(ReusedHttpStream::from_reusable_stream(stream, settings)),
            _ => None,
        }
    }
}

impl<S: Stage, O> HttpFront<S, O> {
    /// `POST /v1/select {"context": "...", "k": 5}`: ranked tools with each signal's score, for agent
    /// frameworks that see the prompt and pick tools themselves.
    async fn select(&self, session: &mut ServerSession) -> Plain {
        let body = match read_body(session, self.settings.max_body_bytes).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                return status_text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
            }
            Err(BodyError::Io) => return status_text(StatusCode::BAD_REQUEST, "cannot read body"),
        };
        let request: serde_json::Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return json_status(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({"error": format!("invalid JSON: {e}")}),
                );
            }
        };
        let Some(context) = request
            .get("context")
            .and_then(|c| c.as_str())
            .filter(|c| !c.trim().is_empty())
        else {
            return json_status(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"error": "`context` must be a non-empty string"}),
            );
        };
        let k = request.get("k").and_then(|k| k.as_u64()).unwrap_or(5) as usize;
        match self.shared.select(context.to_string(), k, Vec::new()).await {
            Ok(tools) => json_status(StatusCode::OK, serde_json::json!({ "tools": tools })),
            Err(e) => json_status(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"error": e.to_string()}),
            ),
        }
    }
}

impl<S: Stage, O> HttpFront<S, O> {
    /// `POST /v1/sessions/{id}/context {"context": "..."}`: context for a session's dynamic tools.
    async fn push_context(&self, session: &mut ServerSession, id: &str) -> Plain {
        let body = match read_body(session, self.settings.max_body_bytes).await {
            Ok(body) => body,
            Err(_) => return status_text(StatusCode::BAD_REQUEST, "cannot read body"),
        };
        let text = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("context")?.as_str().map(str::to_string))
            .filter(|t| !t.trim().is_empty());
        let Some(text) = text else {
            return json_status(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"error": "`context` must be a non-empty string"}),
            );
        };
        if self.shared.push_context(id, &text) {
            json_status(
                StatusCode::OK,
                serde_json::json!({"session": id, "accepted": true}),
            )
        } else {
            json_status(
                StatusCode::NOT_FOUND,
                serde_json::json!({"error": format!("no live session {id}")}),
            )
        }
    }
}

fn json_status(status: StatusCode, body: serde_json::Value) -> Plain {
    Plain {
        status,
        content_type: "application/json",
        body: serde_json::to_vec(&body).unwrap_or_default(),
    }
}

enum BodyError {
    TooLarge,
    Io,
}

/// Reads the whole request body, refusing (without reading on) anything over `limit` bytes.
async fn read_body(session: &mut ServerSession, limit: usize) -> Result<Bytes, BodyError> {
    let declared = session
        .req_header()
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(BodyError::TooLarge);
    }
    let mut body = bytes::BytesMut::with_capacity(declared.unwrap_or(0));
    loop {
        match session.read_request_body().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(BodyError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body.freeze()),
            Err(_) => return Err(BodyError::Io),
        }
    }
}

fn status_text(status: StatusCode, text: &str) -> Plain {
    Plain {
        status,
        content_type: "text/plain; charset=utf-8",
        body: text.as_bytes().to_vec(),
    }
}

fn jsonrpc_error(status: StatusCode, rejection: &Rejection) -> Plain {
    Plain {
        status,
        content_type: "application/json",
        body: rejection.to_json(),
    }
}

async fn write_plain(session: &mut ServerSession, plain: Plain) {
    let Ok(mut header) = ResponseHeader::build(plain.status, Some(2)) else {
        return;
    };
    let ok = header
        .insert_header(header::CONTENT_TYPE, plain.content_type)
        .is_ok()
        && header
            .insert_header(header::CONTENT_LENGTH, plain.body.len().to_string())
            .is_ok();
    if !ok
        || session
            .write_response_header(Box::new(header))
            .await
            .is_err()
    {
        return;
    }
    let _ = session
        .write_response_body(Bytes::from(plain.body), true)
        .await;
}

//! The record of one client request on its way through the gateway: who sent it, from where, in
//! which session, what it asks, where it was routed, how it ended and how long each part took.
//!
//! A front creates it at the head of the request (HTTP head or stdio line) and runs the admission
//! stages on it; the MCP handler continues it (selection, routing); the response stages finish it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use ucp_index::ToolIndex;

use crate::catalog::Catalog;
use crate::session::SessionState;

/// The client-facing transport a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Stdio,
    Http,
    /// Work the gateway does on its own behalf (re-selecting a dynamic session's tools).
    Internal,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Stdio => "stdio",
            Transport::Http => "http",
            Transport::Internal => "internal",
        }
    }
}

/// Who is asking. The authentication stage replaces `Anonymous` with the verified identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// The local user who started the gateway on stdio.
    Local,
    /// An HTTP client no stage has identified (authentication is off).
    Anonymous,
    /// A verified caller: a token's subject or an API key's identity.
    Verified(Arc<Principal>),
}

impl Identity {
    pub fn as_str(&self) -> &str {
        match self {
            Identity::Local => "local",
            Identity::Anonymous => "anonymous",
            Identity::Verified(p) => &p.name,
        }
    }

    /// The verified caller, if any.
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Identity::Verified(p) => Some(p),
            _ => None,
        }
    }
}

/// A verified caller: its name, its groups, and the token's claims (for the tool policy).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Principal {
    pub name: Arc<str>,
    pub groups: Vec<Arc<str>>,
    /// The token's claims (empty for an API key).
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// What an HTTP client presented to prove who it is, as the front read it from the head. The
/// authentication stage judges it; nothing else reads it, and it never goes to a downstream.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer <token>`.
    Bearer(Box<str>),
    /// `X-API-Key: <key>`.
    ApiKey(Box<str>),
    /// An `Authorization` or `X-API-Key` header that cannot be one: why.
    Malformed(&'static str),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Bearer(_) => f.write_str("Bearer([REDACTED])"),
            Credential::ApiKey(_) => f.write_str("ApiKey([REDACTED])"),
            Credential::Malformed(why) => write!(f, "Malformed({why})"),
        }
    }
}

impl Credential {
    /// The credential in a request head: `Authorization: Bearer`, else `X-API-Key`.
    pub fn from_headers(headers: &http::HeaderMap) -> Option<Credential> {
        let mut authorization = headers.get_all(http::header::AUTHORIZATION).iter();
        if let Some(value) = authorization.next() {
            if authorization.next().is_some() {
                return Some(Credential::Malformed("more than one Authorization header"));
            }
            let Ok(value) = value.to_str() else {
                return Some(Credential::Malformed("Authorization header is not ASCII"));
            };
            let (scheme, token) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Some(Credential::Malformed(
                    "unsupported Authorization scheme (expected Bearer)",
                ));
            }
            let token = token.trim();
            if token.is_empty() || token.contains(' ') {
                return Some(Credential::Malformed("malformed Bearer token"));
            }
            return Some(Credential::Bearer(token.into()));
        }
        let mut keys = headers.get_all("x-api-key").iter();
        let key = keys.next()?;
        if keys.next().is_some() {
            return Some(Credential::Malformed("more than one X-API-Key header"));
        }
        match key.to_str().map(str::trim) {
            Ok(key) if !key.is_empty() => Some(Credential::ApiKey(key.into())),
            _ => Some(Credential::Malformed("malformed X-API-Key header")),
        }
    }
}

/// What a request is: an MCP message (by JSON-RPC method) or an HTTP endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Initialize,
    Ping,
    ToolsList,
    ToolsCall,
    PromptsList,
    PromptsGet,
    ResourcesList,
    ResourceTemplatesList,
    ResourcesRead,
    /// Another JSON-RPC request (`logging/setLevel`, `completion/complete`, `server/discover`, ...).
    OtherRequest,
    /// Any JSON-RPC notification.
    Notification,
    /// A client's answer to a request of the gateway's.
    Response,
    /// `GET /mcp`: the server-to-client event stream.
    McpStream,
    /// `DELETE /mcp`: the client ends its session.
    McpDelete,
    /// `/mcp` with another HTTP method.
    McpOther,
    /// `POST /v1/select`.
    Select,
    /// `POST /v1/sessions/{id}/context`.
    SessionContext,
    /// `GET /v1/sessions/{id}`: a session's stored record.
    SessionGet,
    Health,
    Metrics,
    /// `GET /.well-known/oauth-protected-resource[/...]` (RFC 9728), public.
    ResourceMetadata,
    /// `GET /ui[/...]`: the operator page (`server.ui.enabled`).
    Ui,
    /// Any other path.
    Unknown,
}

impl Method {
    /// The method of a JSON-RPC message.
    pub fn of_message(method: Option<&str>, has_id: bool) -> Method {
        match (method, has_id) {
            (None, _) => Method::Response,
            (Some(_), false) => Method::Notification,
            (Some(m), true) => match m {
                "initialize" => Method::Initialize,
                "ping" => Method::Ping,
                "tools/list" => Method::ToolsList,
                "tools/call" => Method::ToolsCall,
                "prompts/list" => Method::PromptsList,
                "prompts/get" => Method::PromptsGet,
                "resources/list" => Method::ResourcesList,
                "resources/templates/list" => Method::ResourceTemplatesList,
                "resources/read" => Method::ResourcesRead,
                _ => Method::OtherRequest,
            },
        }
    }

    /// Requests the gateway's MCP handler serves itself: the handler takes the exchange over and
    /// finishes it. Everything else is finished by the front that admitted it.
    pub fn handled_by_router(self) -> bool {
        matches!(
            self,
            Method::ToolsList
                | Method::ToolsCall
                | Method::PromptsList
                | Method::PromptsGet
                | Method::ResourcesList
                | Method::ResourceTemplatesList
                | Method::ResourcesRead
        )
    }

    /// `/health` and `/metrics`.
    pub fn is_ops(self) -> bool {
        matches!(self, Method::Health | Method::Metrics)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Initialize => "initialize",
            Method::Ping => "ping",
            Method::ToolsList => "tools/list",
            Method::ToolsCall => "tools/call",
            Method::PromptsList => "prompts/list",
            Method::PromptsGet => "prompts/get",
            Method::ResourcesList => "resources/list",
            Method::ResourceTemplatesList => "resources/templates/list",
            Method::ResourcesRead => "resources/read",
            Method::OtherRequest => "request",
            Method::Notification => "notification",
            Method::Response => "response",
            Method::McpStream => "GET /mcp",
            Method::McpDelete => "DELETE /mcp",
            Method::McpOther => "/mcp",
            Method::Select => "POST /v1/select",
            Method::SessionContext => "POST /v1/sessions/context",
            Method::SessionGet => "GET /v1/sessions",
            Method::Health => "GET /health",
            Method::Metrics => "GET /metrics",
            Method::ResourceMetadata => "GET /.well-known/oauth-protected-resource",
            Method::Ui => "GET /ui",
            Method::Unknown => "unknown",
        }
    }
}

/// How a request ended, for the response stages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    /// Answered with a result (or a 2xx/3xx HTTP status).
    Ok,
    /// A stage answered the request instead of letting it go on.
    Refused {
        stage: &'static str,
        status: StatusCode,
        code: i32,
    },
    /// Answered with a JSON-RPC error (the gateway's, rmcp's or the downstream's).
    Failed {
        code: i32,
        message: String,
    },
    /// Answered at the HTTP level with this error status.
    Status(StatusCode),
}

impl Outcome {
    /// The request went through and succeeded (learning only counts these).
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Ok)
    }
}

/// When the parts of a request happened.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    pub started: Instant,
    /// Admission stages done.
    pub admitted: Option<Instant>,
    /// Route stages done and the request on its way to `Exchange::server`.
    pub routed: Option<Instant>,
    /// How long the route stages took to answer the request's `SelectWork` (cache or ranking).
    pub selection: Option<Duration>,
    /// Answer known (before the response stages).
    pub answered: Option<Instant>,
}

impl Timings {
    pub fn total(&self) -> Duration {
        self.answered.unwrap_or_else(Instant::now) - self.started
    }

    /// From routing to the answer: the downstream's share of the request.
    pub fn downstream(&self) -> Option<Duration> {
        Some(self.answered? - self.routed?)
    }
}

/// What a tool-selection request asks, and (after the selection stages) its answer.
pub struct SelectWork {
    pub purpose: SelectPurpose,
    pub query: String,
    /// How many tools; `None`: the configured default.
    pub k: Option<usize>,
    /// The session's recent tool calls, most recent last (co-occurrence).
    pub recent: Vec<String>,
    pub index: Arc<ToolIndex>,
    /// Set by the selection-cache or the selection stage.
    pub answer: Option<Selection>,
    /// The answer came from the cache.
    pub cached: bool,
    /// How long the index query took (embedding included), when the selection stage ranked.
    pub query_duration: Option<Duration>,
}

/// Why a selection is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectPurpose {
    /// `ucp_search_tools`.
    Search,
    /// `POST /v1/select`.
    Select,
    /// A `dynamic` session's tool list.
    DynamicList,
}

/// One selected tool as `ucp_search_tools` and `/v1/select` return it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Selected {
    pub name: String,
    pub description: String,
    /// Shared with the catalog's tool (not copied per selection).
    pub input_schema: Arc<rmcp::model::JsonObject>,
    pub score: f32,
    pub scores: SignalScores,
}

/// Each signal's share of a selected tool's score, so a user can see why it was chosen.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct SignalScores {
    pub bm25: f32,
    pub dense: f32,
    pub learned: f32,
    pub co_occurrence: f32,
}

/// A selection result shared between the cache and the requests that hit it.
pub type Selection = Arc<Vec<Selected>>;

/// One client request on its way through the gateway.
pub struct Exchange {
    pub transport: Transport,
    pub identity: Identity,
    /// What the client presented (HTTP); only the authentication stage reads it.
    pub credential: Option<Credential>,
    /// The tools this caller may use (`server.auth.policy`); `None`: every tool.
    pub grant: Option<Arc<crate::policy::Grant>>,
    /// The client's address (HTTP).
    pub peer: Option<SocketAddr>,
    /// `Mcp-Session-Id` of the request (HTTP sessions).
    pub session_id: Option<Arc<str>>,
    /// The session's usage memory (searches, calls), once the MCP handler has the request.
    pub session: Option<Arc<SessionState>>,
    pub method: Method,
    /// The public tool/prompt name or resource URI the request targets, if any.
    pub target: Option<String>,
    /// The downstream server the router picked.
    pub server: Option<Arc<str>>,
    /// The catalog this request is routed against (its snapshot's), once the handler has it.
    pub catalog: Option<Arc<Catalog>>,
    pub outcome: Outcome,
    pub timings: Timings,
    /// A tool-selection question this request carries.
    pub select: Option<SelectWork>,
    /// What `tools/list` shows, when the exposure stage decided it (else: the whole catalog).
    pub listed_tools: Option<Vec<rmcp::model::Tool>>,
}

impl Exchange {
    pub fn new(transport: Transport, method: Method) -> Self {
        Exchange {
            transport,
            identity: match transport {
                Transport::Stdio | Transport::Internal => Identity::Local,
                Transport::Http => Identity::Anonymous,
            },
            credential: None,
            grant: None,
            peer: None,
            session_id: None,
            session: None,
            method,
            target: None,
            server: None,
            catalog: None,
            outcome: Outcome::Pending,
            timings: Timings {
                started: Instant::now(),
                admitted: None,
                routed: None,
                selection: None,
                answered: None,
            },
            select: None,
            listed_tools: None,
        }
    }

    /// Records the answer (unless a stage already refused the request).
    pub fn answered(&mut self, outcome: Outcome) {
        if self.outcome == Outcome::Pending {
            self.outcome = outcome;
        }
        self.timings.answered.get_or_insert_with(Instant::now);
    }
}

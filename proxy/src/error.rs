//! The proxy's one error type and the one mapping of any error onto the wire: its JSON-RPC error,
//! its HTTP status and headers, and whether the client may safely retry.

use std::time::Duration;

use http::StatusCode;
use rmcp::ErrorData as McpError;
use rmcp::model::ErrorCode;
use serde_json::{Value, json};

/// JSON-RPC codes of errors the gateway itself answers (the server range -32000..-32099); on HTTP
/// the status says the same.
pub mod code {
    pub const PARSE_ERROR: i32 = -32700;
    pub const INVALID_REQUEST: i32 = -32600;
    pub const INVALID_PARAMS: i32 = -32602;
    pub const INTERNAL_ERROR: i32 = -32603;
    pub const UNAUTHORIZED: i32 = -32001;
    pub const FORBIDDEN: i32 = -32003;
    pub const NOT_FOUND: i32 = -32004;
    pub const RATE_LIMITED: i32 = -32029;
    pub const UNAVAILABLE: i32 = -32053;
}

/// Where an error came from decides its code, its status and whether a retry could help.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    // ---- the client's message itself ----
    #[error("parse error: {0}")]
    Parse(String),
    #[error("{0}")]
    InvalidMessage(&'static str),
    #[error("message exceeds the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("initialize params exceed the limit of {limit} bytes")]
    InitializeTooLarge { limit: usize },
    #[error("{0}")]
    InvalidParams(String),
    #[error("query is {len} bytes; the limit is {limit} (tool_zoo.max_query_bytes)")]
    QueryTooLong { len: usize, limit: usize },
    #[error("invalid JSON body: {0}")]
    BadBody(String),
    #[error("origin {0} is not allowed")]
    OriginNotAllowed(String),
    #[error("host {0} is not allowed")]
    HostNotAllowed(String),
    #[error("Content-Type must be application/json (got {0})")]
    UnsupportedMediaType(String),
    #[error("not found: {0}")]
    NotFound(String),

    // ---- what the request asks for ----
    #[error("unknown tool '{0}'")]
    UnknownTool(String),
    #[error("unknown prompt '{0}'")]
    UnknownPrompt(String),
    #[error("no connected server offers resource '{0}'")]
    UnknownResource(String),
    /// The tool policy does not give the caller this tool.
    #[error("tool '{0}' is not allowed for this caller")]
    ToolDenied(String),

    // ---- a stage answered the request ----
    /// A stage refused the request (authentication, policy, rate limit, drain).
    #[error("{}", .0.message)]
    Refused(Refusal),

    // ---- the downstream ----
    #[error("downstream server '{0}' is not connected")]
    NotConnected(String),
    #[error("downstream server '{server}' timed out after {seconds:.1}s")]
    Timeout { server: String, seconds: f64 },
    #[error("downstream server '{0}' closed the connection before answering")]
    Disconnected(String),
    #[error("downstream server '{server}': {message}")]
    Downstream { server: String, message: String },
    /// The server's circuit is open after consecutive failures: refused without trying.
    #[error(
        "downstream server '{server}' is failing: its circuit is open for {seconds:.0} more seconds"
    )]
    CircuitOpen { server: String, seconds: f64 },
    /// The client cancelled its request; the downstream was told.
    #[error("request cancelled by the client")]
    Cancelled,
    /// A JSON-RPC error the downstream itself returned: passed through unchanged.
    #[error("{}", .0.message)]
    Remote(McpError),

    // ---- the gateway ----
    #[error("the tool index is still being built; try again in a moment")]
    IndexNotReady,
    #[error("tool index: {0}")]
    Index(#[from] ucp_index::IndexError),
    #[error("internal error: {0}")]
    Internal(String),
    /// The session store (RocksDB or Redis) failed a read or write.
    #[error("session store: {0}")]
    SessionStore(String),
}

/// A stage's answer instead of the request's: an HTTP status with its headers, and on stdio the
/// matching JSON-RPC error.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
    /// `Retry-After` (429, 503).
    pub retry_after: Option<Duration>,
    /// `WWW-Authenticate` (401).
    pub challenge: Option<String>,
}

impl Refusal {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
            retry_after: None,
            challenge: None,
        }
    }

    pub fn retry_after(mut self, after: Duration) -> Refusal {
        self.retry_after = Some(after);
        self
    }

    pub fn challenge(mut self, value: impl Into<String>) -> Refusal {
        self.challenge = Some(value.into());
        self
    }
}

impl ProxyError {
    /// The JSON-RPC error code.
    pub fn code(&self) -> i32 {
        use ProxyError::*;
        match self {
            Parse(_) => code::PARSE_ERROR,
            InvalidMessage(_) | TooLarge { .. } => code::INVALID_REQUEST,
            InitializeTooLarge { .. }
            | InvalidParams(_)
            | QueryTooLong { .. }
            | BadBody(_)
            | UnknownTool(_)
            | UnknownPrompt(_) => code::INVALID_PARAMS,
            UnknownResource(_) => ErrorCode::RESOURCE_NOT_FOUND.0,
            OriginNotAllowed(_) | HostNotAllowed(_) | ToolDenied(_) => code::FORBIDDEN,
            UnsupportedMediaType(_) => code::INVALID_REQUEST,
            NotFound(_) => code::NOT_FOUND,
            Refused(r) => match r.status {
                StatusCode::UNAUTHORIZED => code::UNAUTHORIZED,
                StatusCode::FORBIDDEN => code::FORBIDDEN,
                StatusCode::TOO_MANY_REQUESTS => code::RATE_LIMITED,
                StatusCode::SERVICE_UNAVAILABLE => code::UNAVAILABLE,
                s if s.is_client_error() => code::INVALID_REQUEST,
                _ => code::INTERNAL_ERROR,
            },
            Remote(e) => e.code.0,
            IndexNotReady | SessionStore(_) => code::UNAVAILABLE,
            NotConnected(_)
            | CircuitOpen { .. }
            | Timeout { .. }
            | Disconnected(_)
            | Downstream { .. }
            | Cancelled
            | Index(_)
            | Internal(_) => code::INTERNAL_ERROR,
        }
    }

    /// The HTTP status when the error answers a whole HTTP request (not a JSON-RPC message that
    /// rmcp answers inside its own response, which is 200 with the error in the body).
    pub fn status(&self) -> StatusCode {
        use ProxyError::*;
        match self {
            Parse(_) | InvalidMessage(_) | InitializeTooLarge { .. } | InvalidParams(_) => {
                StatusCode::BAD_REQUEST
            }
            QueryTooLong { .. } | BadBody(_) | UnknownTool(_) | UnknownPrompt(_) => {
                StatusCode::BAD_REQUEST
            }
            TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            OriginNotAllowed(_) | HostNotAllowed(_) | ToolDenied(_) => StatusCode::FORBIDDEN,
            UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            NotFound(_) | UnknownResource(_) => StatusCode::NOT_FOUND,
            Refused(r) => r.status,
            IndexNotReady | NotConnected(_) | CircuitOpen { .. } | SessionStore(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Disconnected(_) | Downstream { .. } | Remote(_) => StatusCode::BAD_GATEWAY,
            // nginx's "client closed request": nobody reads it, but logs and metrics do.
            Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
            Index(_) | Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether sending the same request again could succeed without side effects having happened
    /// twice: the request never reached a downstream, or the failure is the gateway's passing state.
    pub fn retry_safe(&self) -> bool {
        use ProxyError::*;
        match self {
            IndexNotReady | NotConnected(_) | CircuitOpen { .. } | SessionStore(_) => true,
            Refused(r) => matches!(
                r.status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            ),
            _ => false,
        }
    }

    /// Headers an HTTP answer carries: `Retry-After`, `WWW-Authenticate`.
    pub fn headers(&self) -> Vec<(http::HeaderName, String)> {
        let mut headers = Vec::new();
        let retry_after = match self {
            ProxyError::Refused(r) => r.retry_after,
            ProxyError::IndexNotReady => Some(Duration::from_secs(1)),
            ProxyError::CircuitOpen { seconds, .. } => {
                Some(Duration::from_secs_f64(seconds.max(1.0)))
            }
            _ => None,
        };
        if let Some(after) = retry_after {
            // Whole seconds, rounded up: "Retry-After: 0" would invite a tight loop.
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            headers.push((http::header::RETRY_AFTER, secs.max(1).to_string()));
        }
        if let ProxyError::Refused(Refusal {
            challenge: Some(challenge),
            ..
        }) = self
        {
            headers.push((http::header::WWW_AUTHENTICATE, challenge.clone()));
        }
        headers
    }

    /// Machine-readable details a client can act on (the name it got wrong, the server that failed).
    fn data(&self) -> Option<Value> {
        use ProxyError::*;
        match self {
            UnknownTool(name) | UnknownPrompt(name) | ToolDenied(name) => {
                Some(json!({ "name": name }))
            }
            UnknownResource(uri) => Some(json!({ "uri": uri })),
            NotConnected(server)
            | Disconnected(server)
            | Timeout { server, .. }
            | Downstream { server, .. } => Some(json!({ "server": server })),
            TooLarge { limit } | InitializeTooLarge { limit } | QueryTooLong { limit, .. } => {
                Some(json!({ "limit": limit }))
            }
            Refused(r) => {
                let mut data = json!({ "status": r.status.as_u16() });
                if let Some(after) = r.retry_after {
                    data["retry_after_seconds"] = json!(after.as_secs_f64().ceil().max(1.0) as u64);
                }
                Some(data)
            }
            _ => None,
        }
    }

    /// The JSON-RPC error object a client receives.
    pub fn to_mcp(&self) -> McpError {
        match self {
            ProxyError::Remote(e) => e.clone(),
            _ => McpError::new(ErrorCode(self.code()), self.to_string(), self.data()),
        }
    }

    /// A whole JSON-RPC error response: `{"jsonrpc":"2.0","id":...,"error":{...}}`.
    pub fn jsonrpc_body(&self, id: &Value) -> Vec<u8> {
        let error = self.to_mcp();
        let mut body = json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": { "code": error.code.0, "message": error.message },
        });
        if let Some(data) = error.data {
            body["error"]["data"] = data;
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// The JSON body of a REST endpoint's error (`/v1/*`).
    pub fn rest_body(&self) -> Vec<u8> {
        let mut body = json!({ "error": self.to_string(), "code": self.code() });
        if self.retry_safe() {
            body["retry"] = Value::Bool(true);
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

impl From<ProxyError> for McpError {
    fn from(e: ProxyError) -> Self {
        e.to_mcp()
    }
}

#[cfg(test)]
mod tests;

//! The proxy's error type and the one function that puts any of them on the wire.

use rmcp::ErrorData as McpError;
use rmcp::model::ErrorCode;
use serde_json::json;

/// Where an error came from decides its code and whether a retry could help.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("unknown tool '{0}'")]
    UnknownTool(String),
    #[error("unknown prompt '{0}'")]
    UnknownPrompt(String),
    #[error("no connected server offers resource '{0}'")]
    UnknownResource(String),
    #[error("downstream server '{0}' is not connected")]
    NotConnected(String),
    #[error("downstream server '{server}' timed out after {seconds:.1}s")]
    Timeout { server: String, seconds: f64 },
    #[error("downstream server '{0}' closed the connection before answering")]
    Disconnected(String),
    #[error("downstream server '{server}': {message}")]
    Downstream { server: String, message: String },
    /// A JSON-RPC error the downstream itself returned: passed through unchanged.
    #[error("{0}")]
    Remote(McpError),
    #[error("the tool index is still being built; try again in a moment")]
    IndexNotReady,
    #[error("internal error: {0}")]
    Internal(String),
    /// A stage refused the request (auth, rate limit, policy).
    #[error("{0}")]
    Refused(McpError),
}

impl ProxyError {
    /// The JSON-RPC error object a client receives.
    pub fn to_mcp(&self) -> McpError {
        match self {
            ProxyError::Remote(e) | ProxyError::Refused(e) => e.clone(),
            ProxyError::UnknownTool(name) | ProxyError::UnknownPrompt(name) => {
                McpError::invalid_params(self.to_string(), Some(json!({ "name": name })))
            }
            ProxyError::UnknownResource(uri) => McpError::new(
                ErrorCode::RESOURCE_NOT_FOUND,
                self.to_string(),
                Some(json!({ "uri": uri })),
            ),
            ProxyError::IndexNotReady | ProxyError::Internal(_) => {
                McpError::internal_error(self.to_string(), None)
            }
            ProxyError::NotConnected(server)
            | ProxyError::Disconnected(server)
            | ProxyError::Timeout { server, .. }
            | ProxyError::Downstream { server, .. } => {
                McpError::internal_error(self.to_string(), Some(json!({ "server": server })))
            }
        }
    }
}

impl From<ProxyError> for McpError {
    fn from(e: ProxyError) -> Self {
        e.to_mcp()
    }
}

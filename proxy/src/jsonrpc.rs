//! The gateway's own first look at a raw JSON-RPC message, before rmcp sees it.
//!
//! rmcp answers a message it cannot parse by dropping it (stdio) or with a bare HTTP status (HTTP).
//! Clients deserve JSON-RPC errors: -32700 for text that is not JSON, -32600 for JSON that is not a
//! JSON-RPC 2.0 message (including batches, which MCP no longer allows). A well-formed message
//! yields its head (id, method, target) for the admission stages.

use serde_json::Value;

use crate::error::ProxyError;
use crate::exchange::Method;

/// `initialize` params larger than this are refused: a session keeps its client's params for its
/// whole life, so their size is memory any client could make the gateway hold.
pub const MAX_INITIALIZE_BYTES: usize = 64 * 1024;

/// What the admission stages need to know of a message.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageHead {
    /// The request id (requests and responses).
    pub id: Option<Value>,
    pub method: Method,
    /// `params.name` of `tools/call` and `prompts/get`, `params.uri` of `resources/read`.
    pub target: Option<String>,
}

/// A message that never reaches a handler, with the id to answer it under (`null` if unknown).
#[derive(Debug)]
pub struct BadMessage {
    pub id: Value,
    pub error: ProxyError,
}

impl BadMessage {
    fn new(id: Value, error: ProxyError) -> Self {
        BadMessage { id, error }
    }

    /// The JSON-RPC error response for it.
    pub fn to_json(&self) -> Vec<u8> {
        self.error.jsonrpc_body(&self.id)
    }
}

/// Checks that `raw` is one well-formed JSON-RPC 2.0 request, notification or response.
pub fn check_message(raw: &[u8]) -> Result<MessageHead, BadMessage> {
    let value: Value = serde_json::from_slice(raw)
        .map_err(|e| BadMessage::new(Value::Null, ProxyError::Parse(e.to_string())))?;
    let invalid = |id: &Value, why: &'static str| {
        BadMessage::new(id.clone(), ProxyError::InvalidMessage(why))
    };
    let object = match value {
        Value::Object(object) => object,
        Value::Array(_) => return Err(invalid(&Value::Null, "batch requests are not supported")),
        _ => {
            return Err(invalid(
                &Value::Null,
                "a JSON-RPC message must be an object",
            ));
        }
    };
    let id = match object.get("id") {
        None => None,
        Some(id @ (Value::String(_) | Value::Number(_))) => Some(id.clone()),
        Some(_) => return Err(invalid(&Value::Null, "id must be a string or a number")),
    };
    let reply_id = id.clone().unwrap_or(Value::Null);
    if object.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        return Err(invalid(&reply_id, "jsonrpc must be \"2.0\""));
    }
    let method = match object.get("method") {
        Some(Value::String(method)) if !method.is_empty() => method.as_str(),
        Some(_) => return Err(invalid(&reply_id, "method must be a non-empty string")),
        None if id.is_some() && (object.contains_key("result") || object.contains_key("error")) => {
            return Ok(MessageHead {
                id,
                method: Method::Response,
                target: None,
            });
        }
        None => return Err(invalid(&reply_id, "missing method")),
    };
    let params = match object.get("params") {
        None => None,
        Some(Value::Object(params)) => Some(params),
        Some(_) => return Err(invalid(&reply_id, "params must be an object")),
    };
    let method = Method::of_message(Some(method), id.is_some());
    if method == Method::Initialize && raw.len() > MAX_INITIALIZE_BYTES {
        return Err(BadMessage::new(
            reply_id,
            ProxyError::InitializeTooLarge {
                limit: MAX_INITIALIZE_BYTES,
            },
        ));
    }
    let key = match method {
        Method::ToolsCall | Method::PromptsGet => Some("name"),
        Method::ResourcesRead => Some("uri"),
        _ => None,
    };
    let target = key
        .and_then(|key| params?.get(key)?.as_str())
        .map(|target| shortened(target, MAX_TARGET_CHARS));
    Ok(MessageHead { id, method, target })
}

/// How much of a target the head keeps (for stages and logs): longer than any public name or
/// sensible URI, short enough that a 10 MB "name" does not reach every log line.
const MAX_TARGET_CHARS: usize = 256;

fn shortened(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((end, _)) => format!("{}...", &text[..end]),
    }
}

#[cfg(test)]
mod tests;

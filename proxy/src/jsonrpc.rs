//! The gateway's own first look at a raw JSON-RPC message, before rmcp sees it.
//!
//! rmcp answers a message it cannot parse by dropping it (stdio) or with a bare HTTP status (HTTP).
//! Clients deserve JSON-RPC errors: -32700 for text that is not JSON, -32600 for JSON that is not a
//! JSON-RPC 2.0 message (including batches, which MCP no longer allows).

use serde_json::{Value, json};

pub const PARSE_ERROR: i32 = -32700;
pub const INVALID_REQUEST: i32 = -32600;

/// A JSON-RPC error response for a message that never reached a handler.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub id: Value,
    pub code: i32,
    pub message: String,
}

impl Rejection {
    fn new(id: Value, code: i32, message: impl Into<String>) -> Self {
        Rejection {
            id,
            code,
            message: message.into(),
        }
    }

    pub fn too_large(limit: usize) -> Self {
        Rejection::new(
            Value::Null,
            INVALID_REQUEST,
            format!("message exceeds the limit of {limit} bytes"),
        )
    }

    /// The wire form: `{"jsonrpc":"2.0","id":...,"error":{"code":...,"message":...}}`.
    pub fn to_json(&self) -> Vec<u8> {
        let body = json!({
            "jsonrpc": "2.0",
            "id": self.id,
            "error": { "code": self.code, "message": self.message },
        });
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// Checks that `raw` is one well-formed JSON-RPC 2.0 request, notification or response.
pub fn check_message(raw: &[u8]) -> Result<(), Rejection> {
    let value: Value = serde_json::from_slice(raw)
        .map_err(|e| Rejection::new(Value::Null, PARSE_ERROR, format!("parse error: {e}")))?;
    let object = match value {
        Value::Object(object) => object,
        Value::Array(_) => {
            return Err(Rejection::new(
                Value::Null,
                INVALID_REQUEST,
                "batch requests are not supported",
            ));
        }
        _ => {
            return Err(Rejection::new(
                Value::Null,
                INVALID_REQUEST,
                "a JSON-RPC message must be an object",
            ));
        }
    };
    let id = match object.get("id") {
        None => None,
        Some(id @ (Value::String(_) | Value::Number(_))) => Some(id.clone()),
        Some(_) => {
            return Err(Rejection::new(
                Value::Null,
                INVALID_REQUEST,
                "id must be a string or a number",
            ));
        }
    };
    let reply_id = id.clone().unwrap_or(Value::Null);
    if object.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        return Err(Rejection::new(
            reply_id,
            INVALID_REQUEST,
            "jsonrpc must be \"2.0\"",
        ));
    }
    match object.get("method") {
        Some(Value::String(method)) if !method.is_empty() => match object.get("params") {
            None | Some(Value::Object(_)) => Ok(()),
            Some(_) => Err(Rejection::new(
                reply_id,
                INVALID_REQUEST,
                "params must be an object",
            )),
        },
        Some(_) => Err(Rejection::new(
            reply_id,
            INVALID_REQUEST,
            "method must be a non-empty string",
        )),
        None if id.is_some() && (object.contains_key("result") || object.contains_key("error")) => {
            Ok(())
        }
        None => Err(Rejection::new(reply_id, INVALID_REQUEST, "missing method")),
    }
}

#[cfg(test)]
mod tests;

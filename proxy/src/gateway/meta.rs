//! The meta-tools of `search` exposure as the handler sees them: their names, their arguments, and
//! the shape of a search result.

use rmcp::model::{CallToolResult, ContentBlock, JsonObject, ResultType};
use serde_json::{Value, json};

use crate::error::ProxyError;
use crate::exchange::Selection;

pub const SEARCH_TOOL: &str = "ucp_search_tools";
pub const CALL_TOOL: &str = "ucp_call_tool";

/// `ucp_search_tools {query, k?}`.
pub fn search_args(arguments: Option<&JsonObject>) -> Result<(String, Option<usize>), ProxyError> {
    let query = arguments
        .and_then(|a| a.get("query"))
        .and_then(Value::as_str)
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| {
            ProxyError::InvalidParams("ucp_search_tools needs a non-empty `query` string".into())
        })?;
    let k = arguments
        .and_then(|a| a.get("k"))
        .and_then(Value::as_u64)
        .map(|k| k as usize);
    Ok((query.to_string(), k))
}

/// The target of `ucp_call_tool {name, arguments}`.
pub fn call_tool_target(
    arguments: Option<JsonObject>,
) -> Result<(String, Option<JsonObject>), ProxyError> {
    let mut args = arguments.unwrap_or_default();
    let name = match args.remove("name") {
        Some(Value::String(name)) if !name.is_empty() => name,
        _ => {
            return Err(ProxyError::InvalidParams(
                "ucp_call_tool needs a `name` string".into(),
            ));
        }
    };
    let inner = match args.remove("arguments") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => {
            return Err(ProxyError::InvalidParams(
                "ucp_call_tool: `arguments` must be an object".into(),
            ));
        }
    };
    Ok((name, inner))
}

/// What `ucp_search_tools` answers: the selected tools as text and as structured content.
pub fn search_result(selected: &Selection) -> CallToolResult {
    let body = json!({ "tools": **selected });
    let mut result = CallToolResult::success(vec![ContentBlock::text(
        serde_json::to_string_pretty(&body).unwrap_or_default(),
    )]);
    result.structured_content = Some(body);
    result.result_type = Some(ResultType::COMPLETE);
    result
}

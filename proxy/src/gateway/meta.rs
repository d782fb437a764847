//! The meta-tools of `search` exposure as the handler sees them: their names, their arguments, and
//! the shape of a search result.

use rmcp::model::{CallToolResult, ContentBlock, JsonObject, ResultType};
use serde_json::{Value, json};

use crate::error::ProxyError;
use crate::exchange::Selection;

pub const SEARCH_TOOL: &str = "ucp_search_tools";
pub const CALL_TOOL: &str = "ucp_call_tool";

/// Longest description a brief search answer shows, in chars (cut at a word, marked `…`).
const BRIEF_DESCRIPTION_CHARS: usize = 200;

/// How much of each tool a search answer shows (`ucp_search_tools`' `detail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detail {
    /// Name, compact argument signature, description cut at 200 chars: compact text.
    #[default]
    Brief,
    /// Name, whole description, whole input schema: JSON without indentation.
    Full,
}

/// `ucp_search_tools {query, k?, detail?}`.
pub fn search_args(
    arguments: Option<&JsonObject>,
) -> Result<(String, Option<usize>, Detail), ProxyError> {
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
    let detail = match arguments.and_then(|a| a.get("detail")) {
        None | Some(Value::Null) => Detail::Brief,
        Some(Value::String(d)) if d == "brief" => Detail::Brief,
        Some(Value::String(d)) if d == "full" => Detail::Full,
        Some(other) => {
            return Err(ProxyError::InvalidParams(format!(
                "ucp_search_tools: `detail` must be \"brief\" or \"full\", not {other}"
            )));
        }
    };
    Ok((query.to_string(), k, detail))
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

/// What `ucp_search_tools` answers, which the LLM reads whole: per tool, brief is two lines,
/// `name(signature)` and the description cut short; full is JSON without indentation (also as
/// structured content) with each whole description and input schema. Scores are left to
/// `/v1/select`: they would cost tokens and tell the model nothing it can act on.
pub fn search_result(selected: &Selection, detail: Detail) -> CallToolResult {
    let mut result = match detail {
        Detail::Brief => {
            let mut text = String::new();
            for tool in selected.iter() {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&tool.name);
                text.push_str(&super::signature::signature(&tool.input_schema));
                let description = brief_description(&tool.description);
                if !description.is_empty() {
                    text.push_str("\n  ");
                    text.push_str(&description);
                }
            }
            if text.is_empty() {
                text.push_str("no tool matches");
            }
            CallToolResult::success(vec![ContentBlock::text(text)])
        }
        Detail::Full => {
            let tools: Vec<Value> = selected
                .iter()
                .map(|t| json!({"name": t.name, "description": t.description, "input_schema": *t.input_schema}))
                .collect();
            let body = json!({ "tools": tools });
            let mut result = CallToolResult::success(vec![ContentBlock::text(body.to_string())]);
            result.structured_content = Some(body);
            result
        }
    };
    result.result_type = Some(ResultType::COMPLETE);
    result
}

/// `description` on one line (runs of whitespace become one space), at most
/// `BRIEF_DESCRIPTION_CHARS` chars, cut after a whole word and marked with `…`.
fn brief_description(description: &str) -> String {
    let (mut out, mut len) = (String::new(), 0);
    for word in description.split_whitespace() {
        let more = word.chars().count() + usize::from(len > 0);
        if len + more > BRIEF_DESCRIPTION_CHARS {
            if len == 0 {
                out.extend(word.chars().take(BRIEF_DESCRIPTION_CHARS));
            }
            out.push('…');
            break;
        }
        if len > 0 {
            out.push(' ');
        }
        out.push_str(word);
        len += more;
    }
    out
}

#[cfg(test)]
mod tests;

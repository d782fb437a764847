//! A shortcut for the commonest line a server sends back, a `tools/call` result, around rmcp's
//! general parse, which was the largest cost of a proxied call (BENCHMARKS.md, issue 10 point 6).
//!
//! rmcp reads a result as the untagged union `ServerResult`, trying `CallToolResult` sixteenth:
//! the fifteen failed attempts before it each build a `serde_json::Error` with a formatted
//! message, about 30,000 instructions per call. The shortcut reads the envelope, checks that the
//! result carries only `CallToolResult`'s own keys, and parses that type directly. On those keys
//! no earlier member of the union matches (the tests try every subset of them against rmcp's own
//! parse), so the outcome is the same message; anything else returns `None` and goes the general
//! way, errors included.

use rmcp::RoleClient;
use rmcp::model::{
    CallToolResult, JsonRpcMessage, JsonRpcResponse, JsonRpcVersion2_0, RequestId, ServerResult,
};
use rmcp::service::RxJsonRpcMessage;
use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

/// Every key `CallToolResult` reads.
const KEYS: [&str; 5] = [
    "content",
    "structuredContent",
    "isError",
    "_meta",
    "resultType",
];

/// The line as rmcp would parse it, when it is a response whose result is a `CallToolResult`;
/// `None` for every other line.
pub(crate) fn call_tool_response(line: &[u8]) -> Option<RxJsonRpcMessage<RoleClient>> {
    // Exactly a response's three keys: a `method` or an `error` beside `result` (which rmcp
    // rejects or reads otherwise) fails here and goes the general way.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Envelope<'a> {
        jsonrpc: JsonRpcVersion2_0,
        id: RequestId,
        #[serde(borrow)]
        result: &'a RawValue,
    }
    let envelope: Envelope = serde_json::from_slice(line).ok()?;
    if !only_call_tool_keys(envelope.result.get()) {
        return None;
    }
    let result: CallToolResult = serde_json::from_str(envelope.result.get()).ok()?;
    Some(JsonRpcMessage::Response(JsonRpcResponse {
        jsonrpc: envelope.jsonrpc,
        id: envelope.id,
        result: ServerResult::CallToolResult(result),
    }))
}

/// Whether `json` is an object whose keys are all `CallToolResult`'s, none twice.
fn only_call_tool_keys(json: &str) -> bool {
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut seen = [false; KEYS.len()];
            // A key written with escapes is no `&str`: an error, so the general way.
            while let Some(key) = map.next_key::<&'de str>()? {
                let Some(i) = KEYS.iter().position(|k| *k == key) else {
                    return Ok(false);
                };
                if std::mem::replace(&mut seen[i], true) {
                    return Ok(false);
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(true)
        }
    }
    let mut de = serde_json::Deserializer::from_str(json);
    serde::Deserializer::deserialize_map(&mut de, Keys).unwrap_or(false)
}

#[cfg(test)]
mod tests;

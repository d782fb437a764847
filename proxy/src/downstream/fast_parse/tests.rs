//! The shortcut gives rmcp's own answer on every key set it accepts, and declines everything else.

use super::*;
use serde_json::{Value, json};

fn general(line: &str) -> Option<RxJsonRpcMessage<RoleClient>> {
    serde_json::from_str(line).ok()
}

/// Values of each key, in the order of `KEYS`; a key with two entries is tried with both.
fn values() -> [Vec<Value>; 5] {
    [
        vec![json!([{"type": "text", "text": "hi"}]), json!([])],
        vec![json!({"a": 1}), Value::Null],
        vec![json!(true), json!(false)],
        vec![json!({"progressToken": 3})],
        vec![json!("complete")],
    ]
}

#[test]
fn every_key_set_it_accepts_parses_as_rmcp_parses_it() {
    let values = values();
    let mut accepted = 0;
    for mask in 0u32..(1 << KEYS.len()) {
        for pick in 0..2 {
            let mut result = serde_json::Map::new();
            for (i, key) in KEYS.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    let options = &values[i];
                    result.insert(key.to_string(), options[pick % options.len()].clone());
                }
            }
            let line = json!({"jsonrpc": "2.0", "id": 7, "result": result}).to_string();
            let fast = call_tool_response(line.as_bytes());
            let slow = general(&line);
            match &fast {
                Some(message) => {
                    accepted += 1;
                    let slow =
                        slow.unwrap_or_else(|| panic!("rmcp rejects what we accept: {line}"));
                    assert_eq!(
                        serde_json::to_value(message).unwrap(),
                        serde_json::to_value(&slow).unwrap(),
                        "{line}"
                    );
                    assert!(
                        matches!(
                            slow,
                            JsonRpcMessage::Response(JsonRpcResponse {
                                result: ServerResult::CallToolResult(_),
                                ..
                            })
                        ),
                        "rmcp reads {line} as another result type"
                    );
                }
                // Declined only where CallToolResult itself refuses (no content, structuredContent
                // or isError): rmcp then picks another type.
                None => assert_eq!(mask & 0b111, 0, "declined {line}"),
            }
        }
    }
    assert!(accepted >= 50, "{accepted}");
}

#[test]
fn anything_else_goes_the_general_way() {
    for line in [
        // Not a response, or not only one.
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":{"content":[]},"error":{"code":1,"message":"m"}}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":{"content":[]},"method":"x"}"#,
        r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}"#,
        // Another result type, or keys CallToolResult does not read.
        r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"tools":[]}}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"content":[]}}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":{"\u0063ontent":[]}}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"resultType":"input_required"}}"#,
        // Broken envelopes.
        r#"{"jsonrpc":"1.0","id":1,"result":{"content":[]}}"#,
        r#"{"id":1,"result":{"content":[]}}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":{"content":[]}"#,
        "not json",
    ] {
        assert!(call_tool_response(line.as_bytes()).is_none(), "{line}");
    }
}

#[test]
fn a_string_id_and_a_real_tool_answer_keep_every_field() {
    let line = r#"{"jsonrpc":"2.0","id":"abc","result":{"content":[{"type":"text","text":"Echo: hi"},{"type":"image","data":"aGk=","mimeType":"image/png"}],"structuredContent":{"n":1},"isError":false,"_meta":{"x":[1,2]}}}"#;
    let fast = call_tool_response(line.as_bytes()).expect("a tools/call answer");
    assert_eq!(
        serde_json::to_value(&fast).unwrap(),
        serde_json::to_value(general(line).unwrap()).unwrap()
    );
    assert_eq!(
        serde_json::to_value(&fast).unwrap(),
        serde_json::from_str::<Value>(line).unwrap()
    );
}

//! Tests of the raw message check, including a property test that it never panics.

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::error::code::{INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR};

#[test]
fn valid_messages_pass_with_their_head() {
    let head = check_message(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).unwrap();
    assert_eq!((head.id, head.method), (Some(json!(1)), Method::ToolsList));
    let head = check_message(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap();
    assert_eq!(head.method, Method::Notification);
    let head = check_message(br#"{"jsonrpc":"2.0","id":"a","result":{}}"#).unwrap();
    assert_eq!(head.method, Method::Response);
    let head = check_message(
        br#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"time__now"}}"#,
    )
    .unwrap();
    assert_eq!(
        (head.method, head.target.as_deref()),
        (Method::ToolsCall, Some("time__now"))
    );
    let head = check_message(
        br#"{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"file:///a"}}"#,
    )
    .unwrap();
    assert_eq!(head.target.as_deref(), Some("file:///a"));
}

#[test]
fn malformed_json_is_a_parse_error() {
    let r = check_message(b"{\"jsonrpc\":").unwrap_err();
    assert_eq!(r.error.code(), PARSE_ERROR);
    assert_eq!(r.id, Value::Null);
}

#[test]
fn invalid_requests_keep_their_id() {
    let r = check_message(br#"{"jsonrpc":"1.0","id":7,"method":"x"}"#).unwrap_err();
    assert_eq!((r.error.code(), r.id), (INVALID_REQUEST, json!(7)));
    let r = check_message(br#"{"jsonrpc":"2.0","id":8,"method":3}"#).unwrap_err();
    assert_eq!((r.error.code(), r.id), (INVALID_REQUEST, json!(8)));
    let r = check_message(br#"[{"jsonrpc":"2.0","id":1,"method":"x"}]"#).unwrap_err();
    assert_eq!(r.error.code(), INVALID_REQUEST);
}

#[test]
fn oversized_initialize_params_are_refused() {
    let big = "x".repeat(MAX_INITIALIZE_BYTES);
    let raw = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"{big}","version":"1"}}}}}}"#
    );
    let r = check_message(raw.as_bytes()).unwrap_err();
    assert_eq!((r.error.code(), r.id), (INVALID_PARAMS, json!(1)));
    // The same size is fine for other methods (their params are not kept).
    let raw = raw.replace("\"initialize\"", "\"tools/call\"");
    assert!(check_message(raw.as_bytes()).is_ok());
}

#[test]
fn the_wire_form_is_a_jsonrpc_error() {
    let r = check_message(b"nope").unwrap_err();
    let v: Value = serde_json::from_slice(&r.to_json()).unwrap();
    assert_eq!(v["jsonrpc"], "2.0");
    assert_eq!(v["error"]["code"], PARSE_ERROR);
}

proptest! {
    #[test]
    fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = check_message(&bytes);
    }
}

/// Every input the fuzzer kept (proxy/fuzz/corpus/check_message) still passes the check without a
/// panic, and every rejection is a JSON-RPC error.
#[test]
fn the_fuzz_corpus_replays() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/check_message");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let data = std::fs::read(entry.path()).unwrap();
        if let Err(bad) = check_message(&data) {
            let body: Value = serde_json::from_slice(&bad.to_json()).unwrap();
            assert_eq!(body["jsonrpc"], "2.0");
        }
        count += 1;
    }
    assert!(count >= 8, "{count} corpus files");
}

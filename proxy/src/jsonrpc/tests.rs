//! Tests of the raw message check, including a property test that it never panics.

use super::*;
use proptest::prelude::*;

#[test]
fn valid_messages_pass() {
    assert!(check_message(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).is_ok());
    assert!(check_message(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).is_ok());
    assert!(check_message(br#"{"jsonrpc":"2.0","id":"a","result":{}}"#).is_ok());
}

#[test]
fn malformed_json_is_a_parse_error() {
    let r = check_message(b"{\"jsonrpc\":").unwrap_err();
    assert_eq!(r.code, PARSE_ERROR);
    assert_eq!(r.id, Value::Null);
}

#[test]
fn invalid_requests_keep_their_id() {
    let r = check_message(br#"{"jsonrpc":"1.0","id":7,"method":"x"}"#).unwrap_err();
    assert_eq!((r.code, r.id), (INVALID_REQUEST, json!(7)));
    let r = check_message(br#"{"jsonrpc":"2.0","id":8,"method":3}"#).unwrap_err();
    assert_eq!((r.code, r.id), (INVALID_REQUEST, json!(8)));
    let r = check_message(br#"[{"jsonrpc":"2.0","id":1,"method":"x"}]"#).unwrap_err();
    assert_eq!(r.code, INVALID_REQUEST);
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

//! Fuzz target: the gateway's first look at a raw JSON-RPC message must never panic, and whatever
//! it rejects must come with a JSON-RPC error body that is itself valid JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(bad) = ucp_proxy::jsonrpc::check_message(data) {
        let body: serde_json::Value = serde_json::from_slice(&bad.to_json()).expect("JSON");
        assert_eq!(body["jsonrpc"], "2.0");
        assert!(body["error"]["code"].is_i64());
    }
});

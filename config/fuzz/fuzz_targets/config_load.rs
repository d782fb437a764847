//! Fuzz target: loading any text as a config (interpolation, YAML, validation) never panics; it
//! gives a config or errors that each name a YAML path or a line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lookup = |name: &str| (name == "SET").then(|| "value".to_string());
    if let Err(errors) = ucp_config::parse(text, &lookup) {
        assert!(!errors.to_string().is_empty());
    }
});

//! Redaction tests: known secret shapes disappear, ordinary text stays as it was.

use super::*;
use proptest::prelude::*;

#[test]
fn secrets_are_redacted() {
    let cases = [
        "Authorization: Bearer abcdef123456",
        "token=supersecretvalue",
        r#"{"password": "hunter22", "user": "bob"}"#,
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        "GITHUB_PERSONAL_ACCESS_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123",
        "api_key: sk-abcdefghijklmnopqrstu",
    ];
    for case in cases {
        let out = redact(case);
        assert!(out.contains("[REDACTED]"), "{case} -> {out}");
        for secret in [
            "abcdef123456",
            "supersecretvalue",
            "hunter22",
            "c2lnbmF0dXJl",
            "ghp_abc",
            "sk-abc",
        ] {
            assert!(!out.contains(secret), "{case} -> {out} still has {secret}");
        }
    }
    assert!(redact(r#"{"password": "hunter22", "user": "bob"}"#).contains("bob"));
}

#[test]
fn ordinary_text_is_untouched() {
    for text in [
        "tools/call time__get_current_time",
        "echo hello world",
        "unknown tool 'x__y'",
    ] {
        assert!(matches!(redact(text), Cow::Borrowed(_)), "{text}");
    }
}

proptest! {
    #[test]
    fn a_secret_value_never_survives(secret in "[A-Za-z0-9]{12,40}", key in "(password|api_key|token|client_secret)") {
        let line = format!("calling with {key}={secret} now");
        let out = redact(&line);
        prop_assert!(!out.contains(&secret), "{} -> {}", line, out);
    }
}

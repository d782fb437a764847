//! Tests for `${VAR}` expansion: defaults, escapes, comments, block scalars and error collection.

use super::interpolate;
use crate::error::ConfigError;
use proptest::prelude::*;

fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |k| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn expands_set_variables() {
    let env = env_of(&[("TOKEN", "abc"), ("HOST", "h")]);
    let out = interpolate("a: ${TOKEN}\nb: \"x${HOST}y\"\n", &env).unwrap();
    assert_eq!(out, "a: abc\nb: \"xhy\"\n");
}

#[test]
fn default_used_when_unset_or_empty() {
    let env = env_of(&[("EMPTY", ""), ("SET", "v")]);
    let out = interpolate(
        "a: ${UNSET:-d1}\nb: ${EMPTY:-d2}\nc: ${SET:-d3}\nd: ${UNSET:-}\n",
        &env,
    )
    .unwrap();
    assert_eq!(out, "a: d1\nb: d2\nc: v\nd: \n");
}

#[test]
fn set_but_empty_without_default_is_empty() {
    let env = env_of(&[("EMPTY", "")]);
    assert_eq!(interpolate("a: '${EMPTY}'", &env).unwrap(), "a: ''");
}

#[test]
fn double_dollar_escapes() {
    let out = interpolate("a: $${NOT_A_VAR}\nb: $HOME and $ alone\n", &no_env).unwrap();
    assert_eq!(out, "a: ${NOT_A_VAR}\nb: $HOME and $ alone\n");
}

#[test]
fn every_missing_variable_is_reported_with_its_line() {
    let text = "a: 1\nb: ${GITHUB_TOKEN}\nc: ${SLACK_TOKEN} ${GITHUB_TOKEN}\n";
    let errs = interpolate(text, &no_env).unwrap_err();
    assert_eq!(
        errs,
        vec![
            ConfigError::new("line 2", "environment variable GITHUB_TOKEN is not set"),
            ConfigError::new("line 3", "environment variable SLACK_TOKEN is not set"),
            ConfigError::new("line 3", "environment variable GITHUB_TOKEN is not set"),
        ]
    );
    assert_eq!(
        errs[0].to_string(),
        "line 2: environment variable GITHUB_TOKEN is not set"
    );
}

#[test]
fn comments_are_not_expanded() {
    let text = "# use ${SECRET} here\n  # indented ${SECRET}\na: 1 # trailing ${SECRET}\nb: \"x # ${OK:-y}\"\n";
    let out = interpolate(text, &no_env).unwrap();
    assert_eq!(
        out,
        "# use ${SECRET} here\n  # indented ${SECRET}\na: 1 # trailing ${SECRET}\nb: \"x # y\"\n"
    );
}

#[test]
fn hash_inside_word_or_quotes_is_not_a_comment() {
    let env = env_of(&[("V", "v")]);
    let out = interpolate("a: x#${V}\nb: 'it''s # ${V}'\nc: it's # ${NOPE}\n", &env).unwrap();
    assert_eq!(out, "a: x#v\nb: 'it''s # v'\nc: it's # ${NOPE}\n");
}

#[test]
fn default_may_contain_a_hash() {
    let out = interpolate("a: ${X:-a # b}\n", &no_env).unwrap();
    assert_eq!(out, "a: a # b\n");
}

#[test]
fn block_scalar_content_is_expanded_including_hashes() {
    let env = env_of(&[("V", "v")]);
    let text = "k: |\n  line # ${V}\n\n  more ${V}\nnext: ${V} # ${NOPE}\n";
    let out = interpolate(text, &env).unwrap();
    assert_eq!(out, "k: |\n  line # v\n\n  more v\nnext: v # ${NOPE}\n");

    let text = "list:\n  - run: >-\n      a # ${V}\n    other: x # ${NOPE}\n";
    let out = interpolate(text, &env).unwrap();
    assert_eq!(
        out,
        "list:\n  - run: >-\n      a # v\n    other: x # ${NOPE}\n"
    );
}

#[test]
fn malformed_references_are_errors() {
    let errs = interpolate("a: ${UNCLOSED\nb: ${1BAD}\nc: ${X-y}\n", &no_env).unwrap_err();
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        vec![
            "line 1: unterminated ${ (write $${ for a literal ${)",
            "line 2: invalid variable reference ${1BAD} (expected ${NAME} or ${NAME:-default})",
            "line 3: invalid variable reference ${X-y} (expected ${NAME} or ${NAME:-default})",
        ]
    );
}

#[test]
fn crlf_lines_keep_their_endings() {
    let env = env_of(&[("V", "v")]);
    assert_eq!(
        interpolate("a: ${V}\r\nb: 2\r\n", &env).unwrap(),
        "a: v\r\nb: 2\r\n"
    );
}

proptest! {
    #[test]
    fn never_panics(text in any::<String>()) {
        let env = |k: &str| if k.len().is_multiple_of(2) { Some(k.to_lowercase()) } else { None };
        let _ = interpolate(&text, &env);
    }

    #[test]
    fn never_panics_on_dollar_heavy_text(text in "[${}:#'\" \n|>a-zA-Z_-]{0,64}") {
        let _ = interpolate(&text, &no_env);
    }

    #[test]
    fn text_without_dollar_is_unchanged(text in "[^$]*") {
        prop_assert_eq!(interpolate(&text, &no_env).unwrap(), text);
    }
}

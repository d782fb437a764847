//! Tool documents: identifier splitting, schema parameters, the dense text.

use super::*;
use proptest::prelude::*;
use serde_json::json;

fn words(s: &str) -> Vec<String> {
    split_identifier(s)
}

#[test]
fn splits_camel_snake_kebab_and_digits() {
    assert_eq!(words("getUserName"), ["get", "user", "name"]);
    assert_eq!(words("get_user_name"), ["get", "user", "name"]);
    assert_eq!(words("get-user-name"), ["get", "user", "name"]);
    assert_eq!(words("HTTPServerError"), ["http", "server", "error"]);
    assert_eq!(words("v2Search"), ["v", "2", "search"]);
    assert_eq!(words("mp3 to wav"), ["mp", "3", "to", "wav"]);
    assert_eq!(words("Transfermarkt search"), ["transfermarkt", "search"]);
    assert_eq!(words("  __ "), Vec::<String>::new());
    assert_eq!(words(""), Vec::<String>::new());
}

#[test]
fn extracts_params_from_schema() {
    let schema = json!({"type": "object", "properties": {
        "city": {"type": "string", "description": " City name "},
        "units": {"type": "string"}
    }});
    let d = ToolDoc::from_input_schema("s/t", "s", "t", "d", &schema, vec!["x".into()]);
    assert_eq!(
        d.params,
        vec![
            ("city".to_string(), "City name".to_string()),
            ("units".to_string(), String::new())
        ]
    );
    assert_eq!(d.tags, ["x"]);
}

#[test]
fn odd_schemas_give_no_params() {
    for schema in [
        json!({}),
        json!(null),
        json!({"properties": []}),
        json!("x"),
    ] {
        let d = ToolDoc::from_input_schema("i", "s", "n", "", &schema, vec![]);
        assert!(d.params.is_empty());
    }
}

#[test]
fn dense_text_shape() {
    let schema = json!({"properties": {"cityName": {}, "units": {}}});
    let d = ToolDoc::from_input_schema(
        "i",
        "weather",
        "get_forecast",
        "Daily\nforecast.",
        &schema,
        vec![],
    );
    assert_eq!(
        d.dense_text(),
        "weather: get forecast. Daily forecast. Parameters: city name, units."
    );
    let bare = ToolDoc::from_input_schema("i", "", "Search", "", &json!({}), vec![]);
    assert_eq!(bare.dense_text(), "search");
}

#[test]
fn dense_text_is_bounded() {
    let long = "word ".repeat(1000);
    let d = ToolDoc::from_input_schema("i", "s", "n", long, &json!({}), vec![]);
    assert!(d.dense_text().len() < DENSE_DESCRIPTION_CHARS + 20);
}

proptest! {
    #[test]
    fn split_never_panics_and_words_are_alnum(s in "\\PC{0,40}") {
        for w in split_identifier(&s) {
            prop_assert!(!w.is_empty());
            prop_assert!(w.chars().all(char::is_alphanumeric));
        }
    }

    #[test]
    fn truncate_is_prefix(s in "\\PC{0,80}", max in 0usize..50) {
        let t = truncate_words(&s, max);
        prop_assert!(s.starts_with(t));
        prop_assert!(t.chars().count() <= max.max(s.chars().count().min(max)));
    }
}

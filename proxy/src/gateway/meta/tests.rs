//! What `ucp_search_tools` answers, brief and full, and how its arguments are read.

use std::sync::Arc;

use rmcp::model::JsonObject;
use serde_json::{Value, json};

use super::*;
use crate::exchange::{Selected, SignalScores};

fn tool(name: &str, description: &str, schema: Value) -> Selected {
    let Value::Object(schema) = schema else {
        panic!("an object schema")
    };
    Selected {
        name: name.into(),
        description: description.into(),
        input_schema: Arc::new(schema),
        score: 0.9,
        scores: SignalScores {
            bm25: 1.5,
            ..Default::default()
        },
    }
}

fn selection() -> Selection {
    Arc::new(vec![
        tool(
            "time__convert_time",
            "Convert time\n between   timezones",
            json!({"type": "object", "required": ["time"], "properties": {
                "time": {"type": "string"}, "target_timezone": {"type": "string"}}}),
        ),
        tool("everything__ping", "", json!({"type": "object"})),
    ])
}

fn text(result: &CallToolResult) -> &str {
    &result.content[0].as_text().expect("text").text
}

#[test]
fn brief_is_a_line_per_tool_and_its_description_without_scores_or_schemas() {
    let result = search_result(&selection(), Detail::Brief);
    assert_eq!(
        text(&result),
        "time__convert_time(time: string, target_timezone?: string)\n  Convert time between timezones\neverything__ping()"
    );
    assert!(result.structured_content.is_none());
}

#[test]
fn full_is_unindented_json_with_whole_schemas_and_no_scores() {
    let result = search_result(&selection(), Detail::Full);
    let body: Value = serde_json::from_str(text(&result)).unwrap();
    assert!(!text(&result).contains('\n'));
    assert_eq!(body, result.structured_content.clone().unwrap());
    assert_eq!(
        body["tools"][0]["input_schema"]["required"],
        json!(["time"])
    );
    assert!(body["tools"][0].get("scores").is_none() && body["tools"][0].get("score").is_none());
}

#[test]
fn a_long_description_is_cut_after_a_word() {
    let long = "word ".repeat(100);
    let cut = brief_description(&long);
    assert!(cut.chars().count() <= BRIEF_DESCRIPTION_CHARS + 1, "{cut}");
    assert!(cut.ends_with("word…"), "{cut}");
    let one = "x".repeat(500);
    assert_eq!(
        brief_description(&one).chars().count(),
        BRIEF_DESCRIPTION_CHARS + 1
    );
}

#[test]
fn detail_is_brief_by_default_and_anything_but_brief_or_full_is_refused() {
    let args = |v: Value| -> JsonObject { v.as_object().unwrap().clone() };
    let (_, _, detail) = search_args(Some(&args(json!({"query": "x"})))).unwrap();
    assert_eq!(detail, Detail::Brief);
    let (_, k, detail) =
        search_args(Some(&args(json!({"query": "x", "k": 3, "detail": "full"})))).unwrap();
    assert_eq!((k, detail), (Some(3), Detail::Full));
    let refused = search_args(Some(&args(json!({"query": "x", "detail": "all"}))));
    assert!(matches!(refused, Err(ProxyError::InvalidParams(m)) if m.contains("detail")));
}

//! The compact signatures search results show, one shape of schema at a time.

use serde_json::{Value, json};

use super::signature;

fn sig(schema: Value) -> String {
    signature(schema.as_object().unwrap())
}

#[test]
fn required_arguments_come_first_and_optional_ones_are_marked() {
    let schema = json!({"type": "object", "properties": {
        "days": {"type": "integer"}, "city": {"type": "string"}}, "required": ["city"]});
    assert_eq!(sig(schema), "(city: string, days?: integer)");
}

#[test]
fn no_arguments_read_as_empty_parentheses() {
    assert_eq!(sig(json!({"type": "object", "properties": {}})), "()");
    assert_eq!(sig(json!({"type": "object"})), "()");
}

#[test]
fn enums_arrays_unions_and_nested_objects_are_spelled_out() {
    let schema = json!({"type": "object", "required": ["units", "tags", "filter"], "properties": {
        "units": {"type": "string", "enum": ["c", "f"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "filter": {"type": "object", "required": ["field"], "properties": {
            "field": {"type": "string"}, "value": {"anyOf": [{"type": "string"}, {"type": "number"}]}}},
        "limit": {"type": ["integer", "null"]},
        "ids": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "raw": {}}});
    assert_eq!(
        sig(schema),
        "(filter: {field: string, value?: string|number}, tags: string[], units: \"c\"|\"f\", \
         ids?: (string|integer)[], limit?: integer|null, raw?: any)"
    );
}

#[test]
fn deep_objects_stop_at_object_and_long_lists_are_counted() {
    let deep = json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "object",
        "properties": {"b": {"type": "object", "properties": {"c": {"type": "object",
        "properties": {"d": {"type": "string"}}}}}}}}});
    assert_eq!(sig(deep), "(a: {b?: {c?: object}})");
    let many: serde_json::Map<String, Value> = (0..20)
        .map(|i| (format!("o{i:02}"), json!({"type": "string"})))
        .collect();
    let schema = json!({"type": "object", "properties": many, "required": ["o19"]});
    let s = sig(schema);
    assert!(s.starts_with("(o19: string, o00?: string"), "{s}");
    assert!(s.ends_with(", …7 more)"), "{s}");
}

#[test]
fn every_required_argument_is_shown_however_many() {
    let many: serde_json::Map<String, Value> = (0..30)
        .map(|i| (format!("r{i:02}"), json!({"type": "integer"})))
        .collect();
    let required: Vec<String> = many.keys().cloned().collect();
    let s = sig(json!({"type": "object", "properties": many, "required": required}));
    assert_eq!(s.matches(": integer").count(), 30, "{s}");
    assert!(!s.contains('?') && !s.contains("more"), "{s}");
}

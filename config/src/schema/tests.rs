//! The schema's shape against the parser's rules (validation of real files against it is in
//! tests/it/operator_cli.rs, with a JSON Schema validator).

use serde_json::{Value, json};

use super::json_schema;
use crate::paths::known_keys;

/// The subschema at a config path (`server.auth`, `downstream_servers[]`), following `$ref`s,
/// `anyOf` branches that are not `null`, and `items`.
fn at<'s>(root: &'s Value, path: &str) -> &'s Value {
    let mut here = resolve(root, root);
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let (key, items) = match segment.strip_suffix("[]") {
            Some(key) => (key, true),
            None => (segment, false),
        };
        here = resolve(root, &here["properties"][key]);
        if items {
            here = resolve(root, &here["items"]);
        }
    }
    here
}

fn resolve<'s>(root: &'s Value, schema: &'s Value) -> &'s Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/$defs/");
        return resolve(root, &root["$defs"][name]);
    }
    if let Some(branches) = schema["anyOf"].as_array() {
        let not_null: Vec<&Value> = branches
            .iter()
            .filter(|b| b["type"] != json!("null"))
            .collect();
        if let [one] = not_null.as_slice() {
            return resolve(root, one);
        }
    }
    schema
}

const MAPPINGS: &[&str] = &[
    "",
    "server",
    "server.ssl",
    "server.auth",
    "server.auth.rate_limit",
    "server.auth.api_keys[]",
    "server.auth.policy",
    "server.auth.policy.rules[]",
    "server.metrics",
    "server.ui",
    "server.limits",
    "tool_zoo",
    "router",
    "router.cache",
    "session",
    "session.redis",
    "downstream_servers[]",
];

#[test]
fn every_mapping_lists_the_keys_the_parser_knows_and_refuses_others() {
    let schema = json_schema();
    for path in MAPPINGS {
        let mapping = at(&schema, path);
        assert_eq!(
            mapping["additionalProperties"],
            json!(false),
            "{path:?} accepts unknown keys"
        );
        let mut in_schema: Vec<&str> = mapping["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{path:?} has no properties: {mapping}"))
            .keys()
            .map(String::as_str)
            .collect();
        let mut known: Vec<&str> = known_keys(&path.replace("[]", "[0]")).to_vec();
        in_schema.sort_unstable();
        known.sort_unstable();
        assert_eq!(
            in_schema, known,
            "{path:?}: schema vs the parser's known keys"
        );
    }
}

#[test]
fn free_form_mappings_stay_open() {
    let schema = json_schema();
    for (path, key) in [
        ("downstream_servers[]", "env"),
        ("downstream_servers[]", "headers"),
        ("server.auth.policy.rules[]", "claims"),
    ] {
        let map = resolve(&schema, &at(&schema, path)["properties"][key]);
        assert!(
            map["additionalProperties"].is_object(),
            "{path}.{key}: {map}"
        );
    }
}

#[test]
fn numbers_and_booleans_also_take_a_variable_reference() {
    let schema = json_schema();
    let port = &at(&schema, "server")["properties"]["port"];
    assert_eq!(port["type"], json!(["integer", "null", "string"]));
    assert_eq!(port["maximum"], json!(65535));
    let pattern = port["pattern"].as_str().unwrap();
    assert!(pattern.contains(r"\$\{"), "{pattern}");
    let enabled = &at(&schema, "server.ssl")["properties"]["enabled"];
    assert_eq!(enabled["type"], json!(["boolean", "null", "string"]));
}

#[test]
fn strings_take_any_scalar_and_one_or_many_is_exact() {
    let schema = json_schema();
    let args = &at(&schema, "downstream_servers[]")["properties"]["args"];
    assert_eq!(
        resolve(&schema, args)["items"]["type"],
        json!(["string", "number", "boolean", "null"])
    );
    assert_eq!(
        schema["$defs"]["StringOrStrings"]["anyOf"][0],
        json!({"type": "string"})
    );
    // `Option<RawScalar>`: null is no value at all.
    assert_eq!(
        schema["$defs"]["StringOrNumber"]["type"],
        json!(["string", "number", "null"])
    );
}

#[test]
fn keys_kept_only_for_a_warning_take_any_value() {
    let schema = json_schema();
    let cache_dir = &at(&schema, "tool_zoo")["properties"]["cache_dir"];
    assert!(cache_dir.get("type").is_none(), "{cache_dir}");
    assert!(cache_dir.get("anyOf").is_none(), "{cache_dir}");
}

#[test]
fn the_root_is_draft_2020_12_and_may_be_empty() {
    let schema = json_schema();
    assert_eq!(
        schema["$schema"],
        json!("https://json-schema.org/draft/2020-12/schema")
    );
    assert_eq!(schema["type"], json!(["object", "null"]));
}

#[test]
fn sections_are_referenced_directly_so_errors_point_at_the_key() {
    let schema = json_schema();
    let server = &schema["properties"]["server"];
    assert_eq!(server, &json!({"$ref": "#/$defs/RawServer"}));
    assert_eq!(
        schema["$defs"]["RawServer"]["type"],
        json!(["object", "null"])
    );
    let items = &at(&schema, "")["properties"]["downstream_servers"]["items"];
    assert_eq!(items, &json!({"$ref": "#/$defs/RawDownstream"}));
    assert_eq!(
        schema["$defs"]["RawDownstream"]["type"],
        json!("object"),
        "a list item is never null"
    );
}

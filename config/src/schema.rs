//! The JSON Schema (draft 2020-12) of the YAML config, derived from the `Raw*` shapes the parser
//! reads, for editors (yaml-language-server) and CI. `ucp config-schema` prints it.
//!
//! The derivation is adjusted in one place, here, where the parser is more particular than serde's
//! defaults say:
//! - every unknown key is an error (`load` collects them with `serde_ignored`), so every mapping
//!   with named keys gets `additionalProperties: false`;
//! - `${VAR}` is expanded in the text before the YAML is read, so a number or boolean may be
//!   written as a string holding a `${` reference (`port: ${PORT:-8765}`; a quoted
//!   `"${PORT}"` passes the schema but is a string after expansion, which the parser refuses);
//! - a string key takes any YAML scalar as its text (`args: [--port, 8080, true]`), so string
//!   types also accept numbers, booleans and null;
//! - keys kept only to be warned about (`tool_zoo.cache_dir`, ...) take any value;
//! - an empty file is the all-defaults config (`null`).
//!
//! What only `validate` checks (accepted enumeration spellings, ranges across keys, server names)
//! stays out: the schema says what can be read, `ucp check-config` says what is valid.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::Value;

use crate::raw::{RawConfig, RawOneOrMany, RawScalar};

/// A `${NAME}` or `${NAME:-default}` reference somewhere in a string.
const REFERENCE_PATTERN: &str = r"\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}";

/// The schema as a JSON value.
pub fn json_schema() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator();
    let mut schema = generator.into_root_schema_for::<RawConfig>().to_value();
    adjust_document(&mut schema);
    if let Some(root) = schema.as_object_mut() {
        root.insert("title".into(), "UCP gateway configuration".into());
        root.insert(
            "description".into(),
            "ucp_config.yaml. Values may use ${VAR} or ${VAR:-default} (expanded from the \
             environment and a .env file beside the config before the YAML is read). \
             `ucp check-config` validates what this schema cannot (accepted values, server names)."
                .into(),
        );
        root.insert("type".into(), serde_json::json!(["object", "null"]));
    }
    schema
}

/// `schema_with` for keys accepted only to be warned about: any value.
pub(crate) fn ignored_key(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "accepted for compatibility with the seed configuration, not used by this \
                        build (`ucp check-config` warns)"
    })
}

/// Schemas written by hand here, exactly what their `Deserialize` says; `adjust` leaves them alone.
const EXACT: [&str; 2] = ["StringOrNumber", "StringOrStrings"];

/// `deserialize_any`: a string or a number; not a boolean.
impl JsonSchema for RawScalar {
    fn schema_name() -> Cow<'static, str> {
        EXACT[0].into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "number"] })
    }
}

/// `deserialize_any`: one string (not a number), or a list whose items are read as text.
impl JsonSchema for RawOneOrMany {
    fn schema_name() -> Cow<'static, str> {
        EXACT[1].into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "string" },
                { "type": "array", "items": { "type": SCALAR } }
            ]
        })
    }
}

/// What a `String` reads: any YAML scalar, as its text.
const SCALAR: [&str; 4] = ["string", "number", "boolean", "null"];

/// Adjusts the root and every derived definition (not the [`EXACT`] ones).
fn adjust_document(schema: &mut Value) {
    nullable_definitions(schema);
    if let Some(Value::Object(defs)) = schema.get_mut("$defs") {
        for (name, def) in defs.iter_mut() {
            if !EXACT.contains(&name.as_str()) {
                adjust(def);
            }
        }
    }
    adjust(schema);
}

/// `Option<Struct>` derives as `anyOf: [{$ref}, {type: null}]`, and validators (editors too) then
/// report a wrong value inside the struct at the struct, not at its key. A definition only ever
/// used that way takes `null` itself, and its `$ref`s stand alone.
fn nullable_definitions(schema: &mut Value) {
    // Per definition: its `$ref`s, and how many of them sit in such an `anyOf`.
    let mut uses: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    visit(schema, &mut |node| {
        if let Some(name) = optional_ref(node) {
            uses.entry(name).or_default().1 += 1;
        }
        if let Some(name) = node.get("$ref").and_then(Value::as_str).and_then(def_name) {
            uses.entry(name.to_string()).or_default().0 += 1;
        }
    });
    let Some(Value::Object(defs)) = schema.get_mut("$defs") else {
        return;
    };
    let mut nullable = BTreeSet::new();
    let only_optional = uses.iter().filter(|(_, (all, optional))| all == optional);
    for (name, _) in only_optional {
        let Some(Value::Object(def)) = defs.get_mut(name) else {
            continue;
        };
        let types = match def.get("type") {
            Some(Value::String(t)) => vec![Value::from(t.clone())],
            Some(Value::Array(ts)) => ts.clone(),
            _ => continue,
        };
        let mut types = types;
        types.push("null".into());
        def.insert("type".into(), Value::Array(types));
        nullable.insert(name.clone());
    }
    visit(schema, &mut |node| {
        if let Some(name) = optional_ref(node).filter(|n| nullable.contains(n)) {
            *node = serde_json::json!({ "$ref": format!("#/$defs/{name}") });
        }
    });
}

/// The definition name of `{anyOf: [{$ref: "#/$defs/NAME"}, {type: "null"}]}`.
fn optional_ref(node: &Value) -> Option<String> {
    let object = node.as_object()?;
    let [first, second] = object.get("anyOf")?.as_array()?.as_slice() else {
        return None;
    };
    if object.len() != 1 || second != &serde_json::json!({ "type": "null" }) {
        return None;
    }
    let name = def_name(first.get("$ref")?.as_str()?)?;
    (first.as_object()?.len() == 1).then(|| name.to_string())
}

fn def_name(reference: &str) -> Option<&str> {
    reference.strip_prefix("#/$defs/")
}

/// Calls `f` on every JSON object in the document, parents first.
fn visit(node: &mut Value, f: &mut impl FnMut(&mut Value)) {
    if node.is_object() {
        f(node);
    }
    match node {
        Value::Object(object) => object.values_mut().for_each(|v| visit(v, f)),
        Value::Array(items) => items.iter_mut().for_each(|v| visit(v, f)),
        _ => {}
    }
}

/// Closes mappings with named keys and widens scalar types, in `schema` and its subschemas.
fn adjust(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if object.get("properties").is_some_and(Value::is_object)
        && !object.contains_key("additionalProperties")
    {
        object.insert("additionalProperties".into(), Value::Bool(false));
    }
    widen_scalar(object);
    if let Some(Value::Object(children)) = object.get_mut("properties") {
        children.values_mut().for_each(adjust);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(children)) = object.get_mut(key) {
            children.iter_mut().for_each(adjust);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = object.get_mut(key) {
            adjust(child);
        }
    }
}

/// A string type takes any scalar; an integer, number or boolean type also takes a string
/// holding a `${...}` reference (`pattern` applies to strings only and `minimum` to numbers
/// only, so each keeps its meaning).
fn widen_scalar(object: &mut serde_json::Map<String, Value>) {
    let mut types: Vec<String> = match object.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => return,
    };
    let has = |types: &[String], t: &str| types.iter().any(|x| x == t);
    if has(&types, "string") && types.iter().all(|t| t == "string" || t == "null") {
        types = SCALAR.iter().map(|t| t.to_string()).collect();
    } else if ["integer", "number", "boolean"]
        .iter()
        .any(|t| has(&types, t))
        && !has(&types, "string")
    {
        types.push("string".into());
        object.insert("pattern".into(), REFERENCE_PATTERN.into());
    } else {
        return;
    }
    object.insert("type".into(), serde_json::json!(types));
}

#[cfg(test)]
mod tests;

//! A tool's input schema as one compact line for `ucp_search_tools`: argument names, types and
//! which are optional (`name?`), e.g. `(city: string, days?: integer, units?: "c"|"f")`. Enough to
//! call the tool; the full schema is one `detail: "full"` away.

use serde_json::{Map, Value};

/// Objects are spelled out this many levels deep (`{a: {b: string}}`); deeper ones read `object`.
const MAX_DEPTH: usize = 2;
/// Properties shown of a nested object, and enum values shown of one argument.
const MAX_NESTED: usize = 8;
/// Optional top-level arguments shown after the required ones (every required one is shown).
const MAX_OPTIONAL: usize = 12;

/// `(a: string, b?: integer)` for an object schema; `()` when it takes no arguments.
pub fn signature(schema: &Map<String, Value>) -> String {
    let mut out = String::from("(");
    properties(schema, 0, &mut out, true);
    out.push(')');
    out
}

/// The properties of an object schema, required ones first (in schema order), then optional ones.
fn properties(schema: &Map<String, Value>, depth: usize, out: &mut String, top: bool) {
    let Some(Value::Object(props)) = schema.get("properties") else {
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let is_required = |name: &str| required.contains(&name);
    let (cap, optional_cap) = if top {
        (usize::MAX, MAX_OPTIONAL)
    } else {
        (MAX_NESTED, MAX_NESTED)
    };
    let mut shown = 0;
    let mut optional_shown = 0;
    let mut left = 0;
    let ordered = props
        .iter()
        .filter(|(name, _)| is_required(name))
        .chain(props.iter().filter(|(name, _)| !is_required(name)));
    for (name, prop) in ordered {
        let optional = !is_required(name);
        if shown >= cap || (optional && optional_shown >= optional_cap) {
            left += 1;
            continue;
        }
        if shown > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
        if optional {
            out.push('?');
            optional_shown += 1;
        }
        out.push_str(": ");
        type_of(prop, depth, out);
        shown += 1;
    }
    if left > 0 {
        if shown > 0 {
            out.push_str(", ");
        }
        out.push_str(&format!("…{left} more"));
    }
}

/// One schema's type: `string`, `integer[]`, `"a"|"b"`, `{x: number}`, `string|null`, `any`.
fn type_of(schema: &Value, depth: usize, out: &mut String) {
    let Value::Object(schema) = schema else {
        // `true` (anything) or a malformed schema.
        out.push_str("any");
        return;
    };
    if let Some(Value::Array(values)) = schema.get("enum") {
        for (i, v) in values.iter().take(MAX_NESTED).enumerate() {
            if i > 0 {
                out.push('|');
            }
            out.push_str(&v.to_string());
        }
        if values.len() > MAX_NESTED {
            out.push_str("|…");
        }
        return;
    }
    if let Some(value) = schema.get("const") {
        out.push_str(&value.to_string());
        return;
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(choices)) = schema.get(key) {
            let mut seen: Vec<String> = Vec::new();
            for choice in choices {
                let mut one = String::new();
                type_of(choice, depth, &mut one);
                if !seen.contains(&one) {
                    seen.push(one);
                }
            }
            out.push_str(&seen.join("|"));
            return;
        }
    }
    match schema.get("type") {
        Some(Value::String(t)) => named_type(t, schema, depth, out),
        Some(Value::Array(types)) => {
            for (i, t) in types.iter().filter_map(Value::as_str).enumerate() {
                if i > 0 {
                    out.push('|');
                }
                named_type(t, schema, depth, out);
            }
        }
        _ if schema.contains_key("properties") => named_type("object", schema, depth, out),
        _ => out.push_str("any"),
    }
}

fn named_type(name: &str, schema: &Map<String, Value>, depth: usize, out: &mut String) {
    match name {
        "array" => {
            let mut item = String::new();
            match schema.get("items") {
                Some(items) => type_of(items, depth + 1, &mut item),
                None => item.push_str("any"),
            }
            if item.contains('|') {
                out.push('(');
                out.push_str(&item);
                out.push(')');
            } else {
                out.push_str(&item);
            }
            out.push_str("[]");
        }
        "object" if depth < MAX_DEPTH && has_properties(schema) => {
            out.push('{');
            properties(schema, depth + 1, out, false);
            out.push('}');
        }
        other => out.push_str(other),
    }
}

fn has_properties(schema: &Map<String, Value>) -> bool {
    matches!(schema.get("properties"), Some(Value::Object(p)) if !p.is_empty())
}

#[cfg(test)]
mod tests;

//! An agent that knows only what a brief `ucp_search_tools` answer shows can call what it found:
//! for each query the top result's signature alone gives the argument names, types and which are
//! required, and the call succeeds on the real server. Every signature is also checked against
//! the whole input schema that `detail: "full"` returns.

use std::collections::BTreeSet;

use rmcp::model::CallToolRequestParams;
use serde_json::{Map, Value, json};

use super::{search_config, settled_catalog, wait_full_index};
use crate::harness::*;

/// One argument of a signature: name, optional, type as written.
#[derive(Debug)]
struct Arg {
    name: String,
    optional: bool,
    ty: String,
}

/// Splits `s` at the commas that are not inside `{}`, `()` or a quoted string.
fn split_top(s: &str) -> Vec<&str> {
    let (mut depth, mut quoted, mut start, mut parts) = (0i32, false, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '{' | '(' if !quoted => depth += 1,
            '}' | ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                parts.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = s[start..].trim();
    if !last.is_empty() {
        parts.push(last);
    }
    parts
}

/// `a: string, b?: integer` (the inside of the parentheses or braces).
fn parse_args(inside: &str) -> Vec<Arg> {
    split_top(inside)
        .into_iter()
        .filter(|p| !p.starts_with('…'))
        .map(|p| {
            let (name, ty) = p.split_once(": ").expect("name: type");
            let optional = name.ends_with('?');
            Arg {
                name: name.trim_end_matches('?').to_string(),
                optional,
                ty: ty.to_string(),
            }
        })
        .collect()
}

/// The first tool of a brief answer: its name and arguments.
fn top_tool(text: &str) -> (String, Vec<Arg>) {
    let line = text.lines().next().expect("a result line");
    let (name, rest) = line.split_once('(').expect("name(arguments)");
    let inside = rest.strip_suffix(')').expect("closing parenthesis");
    (name.to_string(), parse_args(inside))
}

/// A value of type `ty` for an argument called `name`, as an agent would fill it in from the
/// name's meaning: a real time zone for a time zone, a time for a time, a short text otherwise.
fn value_for(name: &str, ty: &str) -> Value {
    let ty = ty.trim();
    if ty.ends_with("[]") {
        return json!([]);
    }
    if ty.starts_with('"') || ty.starts_with(|c: char| c.is_ascii_digit()) {
        // An enum: its first value.
        let first = split_alternatives(ty)[0];
        return serde_json::from_str(first).expect("an enum value");
    }
    if let Some(inside) = ty.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        return object_for(&parse_args(inside));
    }
    let first = split_alternatives(ty)[0];
    let lower = name.to_lowercase();
    match first {
        "integer" | "number" => json!(2),
        "boolean" => json!(false),
        "object" => json!({}),
        _ if lower.contains("timezone") => json!("Europe/Paris"),
        _ if lower == "time" => json!("14:30"),
        _ => json!("a test value"),
    }
}

fn split_alternatives(ty: &str) -> Vec<&str> {
    let (mut quoted, mut start, mut parts) = (false, 0, Vec::new());
    for (i, c) in ty.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '|' if !quoted => {
                parts.push(&ty[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&ty[start..]);
    parts
}

/// Every required argument filled in, the optional ones left out.
fn object_for(args: &[Arg]) -> Value {
    let map: Map<String, Value> = args
        .iter()
        .filter(|a| !a.optional)
        .map(|a| (a.name.clone(), value_for(&a.name, &a.ty)))
        .collect();
    Value::Object(map)
}

/// Queries an agent might send, each meant for a different tool of the three servers.
const QUERIES: &[&str] = &[
    "repeat a message back to me",
    "add two numbers together",
    "what time is it in Paris right now",
    "convert 2:30 pm from Paris time to Tokyo time",
    "record new people and things in the knowledge graph",
    "read everything stored in the knowledge graph",
    "find nodes in the knowledge graph that mention coffee",
    "show me a tiny test image",
    "print the environment variables of the server",
];

#[tokio::test(flavor = "multi_thread")]
async fn the_top_result_of_each_search_is_called_with_arguments_from_its_signature_alone() {
    let zoo = tempfile::tempdir().unwrap();
    let gw = GatewayProcess::start(&search_config(&zoo.path().display().to_string()));
    wait_connected(&gw.url(""), &["everything", "time", "memory"]).await;
    let tools = settled_catalog(&gw).await;
    wait_full_index(&gw, tools).await;
    let client = connect_http(&gw.mcp_url()).await;

    let mut called = BTreeSet::new();
    for query in QUERIES {
        let text = call_text(&client, "ucp_search_tools", json!({"query": query}))
            .await
            .expect("search");
        let (name, args) = top_tool(&text);
        let arguments = object_for(&args);
        eprintln!("{query:?} -> {name} {arguments}");
        let params = CallToolRequestParams::new("ucp_call_tool").with_arguments(
            json!({"name": name, "arguments": arguments})
                .as_object()
                .unwrap()
                .clone(),
        );
        let result = client
            .call_tool(params)
            .await
            .unwrap_or_else(|e| panic!("{query:?}: {name} {arguments} was refused: {e}"));
        assert_ne!(
            result.is_error,
            Some(true),
            "{query:?}: {name} {arguments} failed: {:?}",
            result.content
        );
        called.insert(name);
    }
    assert!(
        called.len() >= 7,
        "the queries reach different tools: {called:?}"
    );

    // Every tool's signature agrees with its whole schema: the same arguments, the same required.
    let brief = call_text(
        &client,
        "ucp_search_tools",
        json!({"query": "tool", "k": 50}),
    )
    .await
    .unwrap();
    let full = call_text(
        &client,
        "ucp_search_tools",
        json!({"query": "tool", "k": 50, "detail": "full"}),
    )
    .await
    .unwrap();
    let full: Value = serde_json::from_str(&full).expect("full detail is JSON");
    let lines: Vec<&str> = brief.lines().filter(|l| !l.starts_with(' ')).collect();
    let schemas = full["tools"].as_array().unwrap();
    assert_eq!(lines.len(), schemas.len());
    assert!(
        lines.len() as u64 >= tools.min(50) - 2,
        "{} of {tools}",
        lines.len()
    );
    for (line, tool) in lines.iter().zip(schemas) {
        let (name, args) = top_tool(line);
        assert_eq!(name, tool["name"].as_str().unwrap());
        let schema = &tool["input_schema"];
        let props: BTreeSet<&str> = schema["properties"]
            .as_object()
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let required: BTreeSet<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let shown: BTreeSet<&str> = args.iter().map(|a| a.name.as_str()).collect();
        let shown_required: BTreeSet<&str> = args
            .iter()
            .filter(|a| !a.optional)
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(shown, props, "{line} vs {schema}");
        assert_eq!(shown_required, required, "{line} vs {schema}");
        for arg in &args {
            let declared = schema["properties"][&arg.name]["type"].as_str();
            if let Some(declared) = declared.filter(|t| *t != "object" && *t != "array") {
                assert!(
                    arg.ty.contains(declared)
                        || schema["properties"][&arg.name].get("enum").is_some(),
                    "{line}: {} is {declared} in {schema}",
                    arg.name
                );
            }
        }
    }
    client.cancel().await.ok();
}

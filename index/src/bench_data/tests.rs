//! Loading the bench format: ids, relevance, line-numbered errors, vector files.

use super::*;

const TOOLS: &str = r#"{"id": "a/x", "server": "a", "name": "getX", "description": "d", "input_schema": {"properties": {"q": {"description": "query"}}}, "category": "ignored"}

{"id": "b/y", "server": "b", "name": "y", "input_schema": {}}
"#;

#[test]
fn parses_tools_and_queries() {
    let (tools, idx) = parse_tools(TOOLS, "t").unwrap();
    assert_eq!(tools.len(), 2);
    assert_eq!(
        tools[0].params,
        vec![("q".to_string(), "query".to_string())]
    );
    assert_eq!(tools[1].description, "");
    assert_eq!(idx["b/y"], 1);
    let qs = parse_queries(
        r#"{"query": "find x", "relevant": ["b/y", "a/x"], "subset": "s"}"#,
        "q",
        &idx,
    )
    .unwrap();
    assert_eq!(qs[0].relevant, [1, 0]);
    assert_eq!(qs[0].subset.as_deref(), Some("s"));
}

#[test]
fn errors_name_the_line() {
    let e = parse_tools(
        "{\"id\": \"a\", \"name\": \"n\"}\nnot json\n",
        "tools.jsonl",
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("tools.jsonl:2: bad tool"), "{e}");
    let e = parse_tools(
        "{\"id\": \"a\", \"name\": \"n\"}\n{\"id\": \"a\", \"name\": \"m\"}",
        "t",
    )
    .unwrap_err();
    assert!(e.to_string().contains("t:2: duplicate tool id"), "{e}");
    let (_, idx) = parse_tools(TOOLS, "t").unwrap();
    let e = parse_queries(
        "\n{\"query\": \"q\", \"relevant\": [\"zz\"]}",
        "q.jsonl",
        &idx,
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "q.jsonl:2: unknown tool id \"zz\"");
    let e = parse_queries("{\"query\": \"q\", \"relevant\": []}", "q", &idx).unwrap_err();
    assert!(e.to_string().contains("no relevant"));
}

#[test]
fn f32_rows() {
    let bytes: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0]
        .iter()
        .flat_map(|f| f.to_le_bytes())
        .collect();
    assert_eq!(
        parse_f32_rows(&bytes, 2),
        Some(vec![vec![1.0, 2.0], vec![3.0, 4.0]])
    );
    assert_eq!(parse_f32_rows(&bytes, 3), None);
    assert_eq!(parse_f32_rows(&bytes, 0), None);
    assert_eq!(parse_f32_rows(&[], 2), Some(vec![]));
}

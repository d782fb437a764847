//! `ucp eval` on the public MetaTool dev set (benches/data, vendored from the public set), with the real embedding model:
//! the JSON keys the issue names, and the quality floor the hybrid engine must keep.

use std::process::Command;

use serde_json::Value;

fn eval(mode: &str, store: &std::path::Path) -> Value {
    eval_with(&["--mode", mode], store)
}

fn eval_with(extra: &[&str], store: &std::path::Path) -> Value {
    let set = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/data/toolret-dev-metatool"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ucp"))
        .args([
            "eval",
            "--tools",
            &format!("{set}/tools.jsonl"),
            "--queries",
            &format!("{set}/queries.jsonl"),
        ])
        .args(extra)
        .args(["--json", "--store"])
        .arg(store)
        .env("UCP_HOME", crate::harness::ucp_home())
        .output()
        .expect("run ucp eval");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn eval_reports_the_metrics_and_hybrid_beats_both_signals() {
    let store = tempfile::tempdir().unwrap();
    let keyword = eval("keyword", store.path());
    let semantic = eval("semantic", store.path());
    let hybrid = eval("hybrid", store.path());
    for key in [
        "recall@1",
        "recall@5",
        "recall@10",
        "ndcg@10",
        "mrr",
        "p50_ms",
        "p99_ms",
        "tools",
        "queries",
    ] {
        assert!(hybrid.get(key).is_some(), "missing {key}: {hybrid}");
    }
    assert_eq!(hybrid["tools"], 199);
    assert_eq!(hybrid["queries"], 1000);
    let ndcg = |v: &Value| v["ndcg@10"].as_f64().unwrap();
    assert!(
        ndcg(&hybrid) > ndcg(&keyword) && ndcg(&hybrid) > ndcg(&semantic),
        "{keyword}\n{semantic}\n{hybrid}"
    );
    assert!(
        ndcg(&hybrid) >= 0.68,
        "MetaTool hybrid NDCG@10 fell below the 0.68 target: {hybrid}"
    );
}

#[test]
fn eval_names_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let tools = dir.path().join("tools.jsonl");
    let queries = dir.path().join("queries.jsonl");
    std::fs::write(&tools, "{\"id\":\"a\",\"server\":\"s\",\"name\":\"n\",\"description\":\"d\",\"input_schema\":{}}\n").unwrap();
    std::fs::write(&queries, "{\"query\":\"q\",\"relevant\":[\"zz\"]}\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ucp"))
        .args(["eval", "--mode", "keyword", "--tools"])
        .arg(&tools)
        .arg("--queries")
        .arg(&queries)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("queries.jsonl:1") && err.contains("zz"),
        "{err}"
    );
}

#[test]
fn result_tokens_and_the_cooccurrence_replay_report_their_figures() {
    let store = tempfile::tempdir().unwrap();
    // The answer ucp_search_tools gives: the compact form costs far less than the ~640 tokens
    // the pretty-printed JSON with schemas and scores cost (BENCHMARKS.md).
    let tokens =
        &eval_with(&["--mode", "hybrid", "--result-tokens"], store.path())["result_tokens"];
    let median = tokens["median"].as_u64().expect("a median");
    assert!(
        median > 0 && median <= 320 && tokens["p95"].as_u64() >= Some(median),
        "{tokens}"
    );
    // Co-occurrence learned on one half helps the other half's next search of the same task.
    let replay = eval_with(&["--mode", "hybrid", "--replay-cooccurrence"], store.path());
    assert_eq!(replay["multi_tool_queries"], 300, "{replay}");
    for fold in replay["cooccurrence_replay"].as_array().unwrap() {
        let (without, with) = (
            fold["ndcg@10_without"].as_f64().unwrap(),
            fold["ndcg@10_with"].as_f64().unwrap(),
        );
        assert!(with > without, "{fold}");
        assert!(fold["unrelated_ndcg@10_without"].is_number(), "{fold}");
    }
}

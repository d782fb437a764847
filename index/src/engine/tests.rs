//! Engine behaviour on a tiny catalog with hand-made vectors.

use super::*;

fn doc(server: &str, name: &str, description: &str) -> ToolDoc {
    ToolDoc::from_input_schema(
        format!("{server}/{name}"),
        server,
        name,
        description,
        &serde_json::json!({}),
        Vec::new(),
    )
}

fn fixture() -> (Vec<ToolDoc>, Vec<Vec<f32>>) {
    let docs = vec![
        doc("mail", "send_email", "Send an email message to a recipient"),
        doc(
            "git",
            "list_pull_requests",
            "List open pull requests of a repository",
        ),
        doc("time", "get_current_time", "Current time in a timezone"),
    ];
    let vectors = vec![
        vec![1.0, 0.0, 0.0],
        vec![0.0, 1.0, 0.0],
        vec![0.0, 0.0, 1.0],
    ];
    (docs, vectors)
}

fn engine() -> Engine {
    let (docs, vectors) = fixture();
    Engine::build(
        docs,
        &vectors,
        Bm25Params::default(),
        FusionWeights::default(),
    )
    .unwrap()
}

fn options(mode: Mode) -> SelectOptions {
    SelectOptions {
        mode,
        k: 3,
        similarity_threshold: -1.0,
        per_server_cap: None,
    }
}

#[test]
fn keyword_mode_ranks_by_bm25_and_skips_non_matches() {
    let hits = engine().search("send an email", None, options(Mode::Keyword));
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].doc, 0);
    assert!(hits[0].bm25 > 0.0);
}

#[test]
fn semantic_mode_follows_the_query_vector() {
    let hits = engine().search("anything", Some(&[0.0, 0.9, 0.1]), options(Mode::Semantic));
    assert_eq!(hits[0].doc, 1);
    assert!((hits[0].dense - 0.9).abs() < 1e-6);
}

#[test]
fn hybrid_reports_both_signals_and_threshold_filters() {
    let e = engine();
    let hits = e.search(
        "pull requests",
        Some(&[0.1, 0.9, 0.0]),
        options(Mode::Hybrid),
    );
    assert_eq!(hits[0].doc, 1);
    assert!(hits[0].bm25 > 0.0 && hits[0].dense > 0.8);
    let mut strict = options(Mode::Hybrid);
    strict.similarity_threshold = 0.5;
    assert_eq!(
        e.search("pull requests", Some(&[0.1, 0.9, 0.0]), strict)
            .len(),
        1
    );
}

#[test]
fn without_a_query_vector_hybrid_falls_back_to_keywords() {
    let hits = engine().search("timezone", None, options(Mode::Hybrid));
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].doc, 2);
}

#[test]
fn mismatched_vectors_are_an_error() {
    let docs = vec![doc("a", "b", "c")];
    assert!(
        Engine::build(
            docs,
            &[vec![1.0], vec![0.0]],
            Bm25Params::default(),
            FusionWeights::default()
        )
        .is_err()
    );
}

#[test]
fn per_server_cap_limits_hits_from_one_server() {
    let docs = vec![
        doc("time", "get_current_time", "current time in a timezone"),
        doc("time", "convert_time", "convert a time between timezones"),
        doc("clock", "world_time", "time in every timezone"),
    ];
    let e = Engine::build(docs, &[], Bm25Params::default(), FusionWeights::default()).unwrap();
    let mut capped = options(Mode::Keyword);
    capped.per_server_cap = Some(1);
    let hits = e.search("time timezone", None, capped);
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert_ne!(
        e.docs()[hits[0].doc as usize].server,
        e.docs()[hits[1].doc as usize].server
    );
}

#[test]
fn the_ann_candidate_path_agrees_with_the_full_scan_on_a_clear_winner() {
    let (docs, vectors) = fixture();
    let forced = Engine::build_with_ann_threshold(
        docs,
        &vectors,
        Bm25Params::default(),
        FusionWeights::default(),
        0,
    )
    .unwrap();
    let full = engine();
    let q = [0.1, 0.9, 0.0];
    let a = forced.search("pull requests", Some(&q), options(Mode::Hybrid));
    let b = full.search("pull requests", Some(&q), options(Mode::Hybrid));
    assert_eq!(a[0].doc, 1);
    assert_eq!(a[0].doc, b[0].doc);
    assert!((a[0].dense - b[0].dense).abs() < 1e-6);
}

#[test]
fn above_the_threshold_a_rebuilt_engine_loads_the_graph_it_saved() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::store::Store::open(dir.path()).unwrap();
    let saved = crate::ann::saved::SavedGraphs::new(&store, "m1");
    let build = || {
        let (docs, vectors) = fixture();
        Engine::build_with_saved_graphs(
            docs,
            &vectors,
            Bm25Params::default(),
            FusionWeights::default(),
            0,
            Some(saved),
        )
        .unwrap()
    };
    let (first, second) = (build(), build());
    assert!(matches!(
        first.ann_origin(),
        Some(GraphOrigin::Built { .. })
    ));
    assert_eq!(second.ann_origin(), Some(&GraphOrigin::Loaded));
    assert_eq!(engine().ann_origin(), None);
    let q = [0.1, 0.9, 0.0];
    assert_eq!(
        first.search("pull requests", Some(&q), options(Mode::Hybrid)),
        second.search("pull requests", Some(&q), options(Mode::Hybrid))
    );
}

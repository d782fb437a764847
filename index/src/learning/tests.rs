//! Learned usage: called tools gain for similar queries, ignored ones lose a little.

use super::*;

#[test]
fn a_called_tool_gains_for_similar_queries_only() {
    let mut learned = Learned::default();
    learned.record(&[1.0, 0.0], &["a", "b"], &["a"]);
    let p = LearningParams::default();
    let similar = learned.scores(&[0.9, 0.1], &["a", "b", "c"], p);
    assert!(similar[0] > 0.4, "{similar:?}");
    assert!(
        similar[1] < 0.0 && similar[1] > -0.05,
        "ignored loses a little: {similar:?}"
    );
    assert_eq!(similar[2], 0.0);
    let unrelated = learned.scores(&[0.0, 1.0], &["a"], p);
    assert!(unrelated[0].abs() < 0.01, "{unrelated:?}");
}

#[test]
fn more_calls_mean_more_confidence() {
    let mut learned = Learned::default();
    learned.record(&[1.0, 0.0], &["a"], &["a"]);
    let once = learned.scores(&[1.0, 0.0], &["a"], LearningParams::default())[0];
    learned.record(&[1.0, 0.0], &["a"], &["a"]);
    let twice = learned.scores(&[1.0, 0.0], &["a"], LearningParams::default())[0];
    assert!(twice > once);
}

#[test]
fn export_and_import_round_trip() {
    let mut learned = Learned::default();
    learned.record(&[0.6, 0.8], &["a", "b"], &["a"]);
    let mut restored = Learned::default();
    assert!(restored.import("a", &learned.export("a").unwrap()));
    assert!(restored.import("b", &learned.export("b").unwrap()));
    let p = LearningParams::default();
    assert_eq!(
        restored.scores(&[0.6, 0.8], &["a", "b"], p),
        learned.scores(&[0.6, 0.8], &["a", "b"], p)
    );
    assert!(!restored.import("c", &[1, 2, 3]));
}

#[test]
fn tools_called_together_boost_each_other() {
    let mut co = CoOccurrence::default();
    co.record(&[], "search_flights");
    let changed = co.record(&["search_flights"], "book_hotel");
    assert_eq!(changed.len(), 2);
    let scores = co.scores(
        &["search_flights"],
        &["book_hotel", "send_email", "search_flights"],
    );
    assert!(scores[0] > 0.3, "{scores:?}");
    assert_eq!(scores[1], 0.0);
    assert_eq!(scores[2], 0.0, "a tool does not boost itself");
    let mut restored = CoOccurrence::default();
    restored.import("search_flights", "book_hotel", 1);
    assert!(restored.scores(&["search_flights"], &["book_hotel"])[0] > 0.0);
}

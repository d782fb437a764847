//! Retrieval metrics against hand-computed values.

use super::*;
use proptest::prelude::*;

#[test]
fn perfect_ranking_scores_one() {
    let m = Metrics::of(&[3, 7, 1], &[7, 3]);
    assert_eq!(m.recall_1, 0.5);
    assert_eq!(m.recall_5, 1.0);
    assert!((m.ndcg_10 - 1.0).abs() < 1e-12);
    assert_eq!(m.mrr, 1.0);
    assert_eq!(m.all_10, 1.0);
}

#[test]
fn hand_computed_ndcg() {
    // hit at rank 2 only, 2 relevant: (1/log2 3) / (1 + 1/log2 3)
    let g = 1.0 / 3f64.log2();
    assert!((ndcg_at(&[9, 4, 8], &[4, 5], 10) - g / (1.0 + g)).abs() < 1e-12);
    assert_eq!(reciprocal_rank(&[9, 4, 8], &[4, 5]), 0.5);
    assert_eq!(recall_at(&[9, 4, 8], &[4, 5], 10), 0.5);
    assert!(!all_at(&[9, 4, 8], &[4, 5], 10));
}

#[test]
fn cutoff_and_empty_cases() {
    let ranking: Vec<u32> = (0..20).collect();
    assert_eq!(recall_at(&ranking, &[15], 10), 0.0);
    assert_eq!(reciprocal_rank(&ranking, &[15]), 1.0 / 16.0);
    assert_eq!(Metrics::of(&ranking, &[]), Metrics::default());
    assert_eq!(Metrics::of(&[], &[1]).mrr, 0.0);
    // duplicates neither in ranking nor in relevant inflate scores
    assert_eq!(recall_at(&[1, 1], &[1, 1, 2], 10), 0.5);
}

#[test]
fn summary_means() {
    let a = Metrics::of(&[1], &[1]);
    let b = Metrics::of(&[2], &[1]);
    let s: Summary = [a, b].iter().collect();
    assert_eq!(s.count(), 2);
    assert_eq!(s.mean().mrr, 0.5);
    assert_eq!(Summary::default().mean(), Metrics::default());
}

proptest! {
    #[test]
    fn metrics_are_in_unit_range(ranking in proptest::collection::vec(0u32..30, 0..25),
                                 relevant in proptest::collection::vec(0u32..30, 0..6)) {
        let m = Metrics::of(&ranking, &relevant);
        for v in [m.recall_1, m.recall_5, m.recall_10, m.ndcg_10, m.mrr, m.all_10] {
            prop_assert!((0.0..=1.0 + 1e-12).contains(&v));
        }
        prop_assert!(m.recall_1 <= m.recall_5 && m.recall_5 <= m.recall_10);
    }
}

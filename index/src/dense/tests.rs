//! Exact dense search: scores, ordering and dimension checks.

use super::*;

#[test]
fn search_returns_the_best_rows_first() {
    let rows = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![0.6, 0.8]];
    let index = DenseIndex::new(2, &rows).unwrap();
    let hits = index.search(&[0.0, 1.0], 2);
    assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), [1, 2]);
    assert!((hits[1].1 - 0.8).abs() < 1e-6);
}

#[test]
fn wrong_dimensions_are_errors_not_panics() {
    assert!(DenseIndex::new(3, &[vec![1.0, 2.0]]).is_err());
    let index = DenseIndex::new(2, &[vec![1.0, 0.0]]).unwrap();
    assert_eq!(index.scores(&[1.0, 0.0, 0.0]), vec![0.0]);
}

#[test]
fn dot_matches_a_plain_sum() {
    let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.1).collect();
    let b: Vec<f32> = (0..37).map(|i| 1.0 - i as f32 * 0.01).collect();
    let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    assert!((dot(&a, &b) - plain).abs() < 1e-3);
}

#[test]
fn top_k_breaks_ties_by_index_and_skips_nan() {
    let hits = top_k(&[0.5, f32::NAN, 0.5, 0.9], 3);
    assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), [3, 0, 2]);
}

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
fn the_scan_for_this_cpu_scores_as_the_baseline_dot_does() {
    // 384-d rows (12 full blocks of 32) and a 37-d case with a tail, against the SSE2-only copy.
    for dim in [384usize, 37] {
        let rows: Vec<Vec<f32>> = (0..50)
            .map(|r| {
                (0..dim)
                    .map(|i| ((r * 31 + i * 7) % 19) as f32 / 19.0 - 0.5)
                    .collect()
            })
            .collect();
        let query: Vec<f32> = (0..dim).map(|i| (i % 5) as f32 / 5.0 - 0.4).collect();
        let index = DenseIndex::new(dim, &rows).unwrap();
        for (row, score) in rows.iter().zip(index.scores(&query)) {
            let plain: f32 = row.iter().zip(&query).map(|(x, y)| x * y).sum();
            assert!(
                (score - dot_baseline(row, &query)).abs() < 1e-4,
                "dim {dim}"
            );
            assert!((score - plain).abs() < 1e-3, "dim {dim}");
        }
    }
}

#[test]
fn top_k_breaks_ties_by_index_and_skips_nan() {
    let hits = top_k(&[0.5, f32::NAN, 0.5, 0.9], 3);
    assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), [3, 0, 2]);
}

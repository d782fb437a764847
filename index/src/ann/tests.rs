//! HNSW against exact search on random normalised vectors.

use super::*;
use crate::dense::DenseIndex;

fn random_rows(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 2000) as f32 / 1000.0 - 1.0
    };
    (0..n)
        .map(|_| {
            let v: Vec<f32> = (0..dim).map(|_| next()).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / norm).collect()
        })
        .collect()
}

#[test]
fn hnsw_finds_what_exact_search_finds() {
    let rows = random_rows(2000, 32, 7);
    let exact = DenseIndex::new(32, &rows).unwrap();
    let ann = AnnIndex::build(&rows, 128);
    let queries = random_rows(50, 32, 99);
    let mut found = 0;
    for q in &queries {
        let truth: Vec<u32> = exact.search(q, 10).into_iter().map(|h| h.0).collect();
        let got: Vec<u32> = ann.search(q, 10).into_iter().map(|h| h.0).collect();
        found += got.iter().filter(|id| truth.contains(id)).count();
    }
    let recall = found as f64 / (queries.len() * 10) as f64;
    assert!(recall > 0.9, "recall@10 {recall}");
}

#[test]
fn empty_index_answers_nothing() {
    let ann = AnnIndex::build(&[], 64);
    assert!(ann.search(&[1.0, 0.0], 5).is_empty());
}

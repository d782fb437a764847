//! Exact dot-product scan vs HNSW (built by hnsw_rs, searched by `ann`) on normalised 384-d
//! vectors at 1k, 10k and 100k rows: the measurement behind the catalog size at which the index
//! switches to HNSW.
//! Run: `cargo bench --bench vector_search`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ucp_index::DenseIndex;
use ucp_index::ann::AnnIndex;

const DIM: usize = 384;

/// Clustered random vectors (tool descriptions cluster by domain), normalised.
fn rows(n: usize, seed: u64) -> Vec<Vec<f32>> {
    ucp_index::bench_data::clustered_vectors(n, DIM, seed)
}

fn bench(c: &mut Criterion) {
    let queries = rows(64, 4242);
    let mut group = c.benchmark_group("vector_search_top10");
    group.sample_size(30);
    for n in [1_000usize, 10_000, 100_000] {
        let data = rows(n, n as u64);
        let exact = DenseIndex::new(DIM, &data).unwrap();
        let mut i = 0;
        group.bench_with_input(BenchmarkId::new("exact", n), &n, |b, _| {
            b.iter(|| {
                i = (i + 1) % queries.len();
                exact.search(&queries[i], 10)
            })
        });
        let ann = AnnIndex::build(&data, 64);
        let recall = {
            let mut found = 0;
            for q in &queries {
                let truth: Vec<u32> = exact.search(q, 10).into_iter().map(|h| h.0).collect();
                found += ann
                    .search(&exact, q, 10)
                    .iter()
                    .filter(|h| truth.contains(&h.0))
                    .count();
            }
            found as f64 / (queries.len() * 10) as f64
        };
        println!("hnsw ef=64 recall@10 vs exact at {n}: {recall:.3}");
        group.bench_with_input(BenchmarkId::new("hnsw_ef64", n), &n, |b, _| {
            b.iter(|| {
                i = (i + 1) % queries.len();
                ann.search(&exact, &queries[i], 10)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Approximate nearest-neighbour search (hnsw_rs, dot-product distance on normalised vectors) for
//! catalogs large enough that scanning every vector costs more than walking the graph.
//!
//! hnsw_rs has no delete: an index is built once per catalog generation and swapped whole.

use hnsw_rs::anndists::dist::DistDot;
use hnsw_rs::prelude::Hnsw;

/// Graph degree; hnsw_rs exits the process above 256, so this is a constant, not a knob.
const MAX_CONNECTIONS: usize = 16;
const EF_CONSTRUCTION: usize = 200;
const MAX_LAYERS: usize = 16;

pub struct AnnIndex {
    hnsw: Hnsw<'static, f32, DistDot>,
    len: usize,
    /// Search breadth; larger is slower and closer to exact.
    pub ef_search: usize,
}

impl AnnIndex {
    /// Builds the graph over `rows` (normalised vectors), inserting in parallel.
    pub fn build(rows: &[Vec<f32>], ef_search: usize) -> AnnIndex {
        let hnsw = Hnsw::new(
            MAX_CONNECTIONS,
            rows.len().max(1),
            MAX_LAYERS,
            EF_CONSTRUCTION,
            DistDot {},
        );
        let data: Vec<(&[f32], usize)> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.as_slice(), i))
            .collect();
        hnsw.parallel_insert_slice(&data);
        AnnIndex {
            hnsw,
            len: rows.len(),
            ef_search,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Up to `k` rows closest to `query`, best first, with their cosine similarity.
    pub fn search(&self, query: &[f32], k: usize) -> Vec<(u32, f32)> {
        if self.len == 0 || k == 0 {
            return Vec::new();
        }
        let mut hits: Vec<(u32, f32)> = self
            .hnsw
            .search(query, k, self.ef_search.max(k))
            .into_iter()
            .map(|n| (n.d_id as u32, 1.0 - n.distance))
            .collect();
        hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        hits
    }
}

#[cfg(test)]
mod tests;

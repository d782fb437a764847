//! Dense vector search over L2-normalised embeddings: cosine similarity is a dot product.
//!
//! Exact search (every vector, auto-vectorised dot loop) is fast enough up to tens of thousands of
//! tools (see BENCHMARKS.md); the scores of every document are what fusion needs anyway. The scan
//! is compiled for baseline x86-64 and again for AVX2+FMA and AVX-512, picked at run time, so one
//! binary uses the widest vectors the CPU has.

use crate::error::IndexError;

/// Row-major matrix of `len` vectors of `dim` floats.
#[derive(Debug, Clone, Default)]
pub struct DenseIndex {
    dim: usize,
    data: Vec<f32>,
}

impl DenseIndex {
    /// Builds from rows that must all have length `dim` (shorter or longer rows are an error).
    pub fn new(dim: usize, rows: &[Vec<f32>]) -> Result<DenseIndex, IndexError> {
        let mut data = Vec::with_capacity(dim * rows.len());
        for (i, row) in rows.iter().enumerate() {
            if row.len() != dim {
                return Err(IndexError::VectorDim {
                    row: i,
                    found: row.len(),
                    dim,
                });
            }
            data.extend_from_slice(row);
        }
        Ok(DenseIndex { dim, data })
    }

    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Row `i` (empty if out of range).
    pub fn row(&self, i: usize) -> &[f32] {
        self.data
            .get(i * self.dim..(i + 1) * self.dim)
            .unwrap_or(&[])
    }

    /// Cosine similarity of `query` with every row, in row order.
    pub fn scores(&self, query: &[f32]) -> Vec<f32> {
        if query.len() != self.dim || self.dim == 0 {
            return vec![0.0; self.len()];
        }
        let mut out = vec![0.0; self.len()];
        scan(&self.data, query, &mut out);
        out
    }

    /// The `k` best rows, best first.
    pub fn search(&self, query: &[f32], k: usize) -> Vec<(u32, f32)> {
        top_k(&self.scores(query), k)
    }
}

/// `out[i]` = the dot product of row `i` of `data` (rows of `query.len()` floats) with `query`.
#[multiversion::multiversion(targets("x86_64+avx512f+avx2+fma", "x86_64+avx2+fma"))]
fn scan(data: &[f32], query: &[f32], out: &mut [f32]) {
    for (row, score) in data.chunks_exact(query.len()).zip(out) {
        *score = dot_body(row, query);
    }
}

/// Dot product, with the widest vector instructions the CPU has.
#[multiversion::multiversion(targets("x86_64+avx512f+avx2+fma", "x86_64+avx2+fma"))]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    dot_body(a, b)
}

/// The dot product compiled for baseline x86-64 only (SSE2), as the benchmarks' reference.
pub fn dot_baseline(a: &[f32], b: &[f32]) -> f32 {
    dot_body(a, b)
}

/// Written so the compiler vectorises it: 32 independent accumulators (four AVX2 registers), so
/// the adds do not wait on each other. Inlined into each target's copy of its callers.
#[inline(always)]
fn dot_body(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 32;
    let mut acc = [0.0f32; LANES];
    for (x, y) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for ((sum, x), y) in acc.iter_mut().zip(x).zip(y) {
            *sum += x * y;
        }
    }
    let tail = a.len().min(b.len()) / LANES * LANES;
    let rest: f32 = a[tail..].iter().zip(&b[tail..]).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + rest
}

/// Indices of the `k` largest scores, best first; ties keep the lower index first.
pub fn top_k(scores: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut order: Vec<(u32, f32)> = scores
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_finite())
        .map(|(i, s)| (i as u32, *s))
        .collect();
    let k = k.min(order.len());
    if k == 0 {
        return Vec::new();
    }
    let cmp = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    order.select_nth_unstable_by(k - 1, cmp);
    order.truncate(k);
    order.sort_by(cmp);
    order
}

#[cfg(test)]
mod tests;

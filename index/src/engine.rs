//! The selection engine: one immutable index over a catalog generation (BM25F + dense vectors),
//! answering "which tools fit this text" in keyword, semantic or hybrid mode with per-signal scores.
//!
//! Built off the request path and swapped whole; `search` only reads.

use std::collections::HashMap;

use crate::bm25::{Bm25Index, Bm25Params};
use crate::dense::{DenseIndex, top_k};
use crate::doc::ToolDoc;
use crate::fusion::{FusionWeights, group_boost, normalize};

/// Which signals rank the tools (`router.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Keyword,
    Semantic,
    Hybrid,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "keyword" => Ok(Mode::Keyword),
            "semantic" => Ok(Mode::Semantic),
            "hybrid" => Ok(Mode::Hybrid),
            other => Err(format!(
                "unknown mode `{other}` (expected keyword, semantic or hybrid)"
            )),
        }
    }
}

/// Selection knobs that do not change the index itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelectOptions {
    pub mode: Mode,
    pub k: usize,
    /// Hits whose cosine similarity is below this are dropped (semantic and hybrid modes).
    pub similarity_threshold: f32,
    /// At most this many hits from one server (`None`: no cap).
    pub per_server_cap: Option<usize>,
}

/// One ranked tool with the score of each signal, so a user can see why it was chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub doc: u32,
    pub score: f32,
    pub bm25: f32,
    pub dense: f32,
}

pub struct Engine {
    docs: Vec<ToolDoc>,
    bm25: Bm25Index,
    dense: DenseIndex,
    server_of: Vec<u32>,
    weights: FusionWeights,
}

impl Engine {
    /// `vectors[i]` is the normalised embedding of `docs[i].dense_text()`; empty `vectors` gives a
    /// keyword-only engine.
    pub fn build(
        docs: Vec<ToolDoc>,
        vectors: &[Vec<f32>],
        bm25: Bm25Params,
        weights: FusionWeights,
    ) -> Result<Engine, String> {
        if !vectors.is_empty() && vectors.len() != docs.len() {
            return Err(format!(
                "{} vectors for {} tools",
                vectors.len(),
                docs.len()
            ));
        }
        let dim = vectors.first().map_or(0, Vec::len);
        let dense = DenseIndex::new(dim, vectors)?;
        let mut servers: HashMap<&str, u32> = HashMap::new();
        let server_of = docs
            .iter()
            .map(|d| {
                let next = servers.len() as u32;
                *servers.entry(d.server.as_str()).or_insert(next)
            })
            .collect();
        let bm25 = Bm25Index::build(&docs, bm25);
        Ok(Engine {
            docs,
            bm25,
            dense,
            server_of,
            weights,
        })
    }

    pub fn docs(&self) -> &[ToolDoc] {
        &self.docs
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    pub fn has_vectors(&self) -> bool {
        !self.dense.is_empty()
    }

    /// Ranks the catalog for `query`. `query_vector` is its embedding (needed for semantic and
    /// hybrid; without it those modes fall back to keyword scores).
    pub fn search(
        &self,
        query: &str,
        query_vector: Option<&[f32]>,
        options: SelectOptions,
    ) -> Vec<Hit> {
        self.search_with(query, query_vector, options, None)
    }

    /// `search` with an extra per-tool signal added to the fused score (learned usage:
    /// `learning::Learned::scores`), as `(scores in doc order, weight)`.
    pub fn search_with(
        &self,
        query: &str,
        query_vector: Option<&[f32]>,
        options: SelectOptions,
        extra: Option<(&[f32], f32)>,
    ) -> Vec<Hit> {
        let n = self.docs.len();
        if n == 0 || options.k == 0 {
            return Vec::new();
        }
        let bm25 = self.bm25.score_all(query);
        let dense = match query_vector {
            Some(q) if self.has_vectors() => self.dense.scores(q),
            _ => vec![0.0; n],
        };
        let semantic_available = query_vector.is_some() && self.has_vectors();
        let mode = if semantic_available {
            options.mode
        } else {
            Mode::Keyword
        };
        let fused = match mode {
            Mode::Keyword => bm25.clone(),
            Mode::Semantic => dense.clone(),
            Mode::Hybrid => {
                let w = &self.weights;
                let kw = normalize(&bm25, w.normalization, w.rrf_k);
                let sem = normalize(&dense, w.normalization, w.rrf_k);
                let sum: Vec<f32> = kw
                    .iter()
                    .zip(&sem)
                    .map(|(k, s)| w.keyword * k + w.semantic * s)
                    .collect();
                group_boost(&sum, &self.server_of, w.server_boost)
            }
        };
        let fused = match extra {
            Some((scores, weight)) if scores.len() == n && weight != 0.0 => fused
                .iter()
                .zip(scores)
                .map(|(f, e)| f + weight * e)
                .collect(),
            _ => fused,
        };
        let mut per_server: HashMap<u32, usize> = HashMap::new();
        let mut hits = Vec::with_capacity(options.k);
        // Take more than k candidates so the threshold and the per-server cap can skip some.
        for (doc, score) in top_k(&fused, (options.k * 4).max(options.k + 16)) {
            let i = doc as usize;
            if mode == Mode::Keyword && bm25[i] <= 0.0 {
                continue;
            }
            if mode != Mode::Keyword && dense[i] < options.similarity_threshold {
                continue;
            }
            if let Some(cap) = options.per_server_cap {
                let used = per_server.entry(self.server_of[i]).or_default();
                if *used >= cap {
                    continue;
                }
                *used += 1;
            }
            hits.push(Hit {
                doc,
                score,
                bm25: bm25[i],
                dense: dense[i],
            });
            if hits.len() == options.k {
                break;
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests;

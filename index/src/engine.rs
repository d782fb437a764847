//! The selection engine: one immutable index over a catalog generation (BM25F + dense vectors),
//! answering "which tools fit this text" in keyword, semantic or hybrid mode with per-signal scores.
//!
//! Built off the request path and swapped whole; `search` only reads.

use std::collections::HashMap;

use crate::ann::AnnIndex;
use crate::ann::saved::{GraphOrigin, SavedGraphs};
use crate::bm25::{Bm25Index, Bm25Params};
use crate::dense::{DenseIndex, dot, top_k};
use crate::doc::ToolDoc;
use crate::error::IndexError;
use crate::fusion::{FusionWeights, group_boost, normalize};

/// Which signals rank the tools (`router.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Keyword,
    Semantic,
    Hybrid,
}

impl std::str::FromStr for Mode {
    type Err = IndexError;
    fn from_str(s: &str) -> Result<Mode, IndexError> {
        match s {
            "keyword" => Ok(Mode::Keyword),
            "semantic" => Ok(Mode::Semantic),
            "hybrid" => Ok(Mode::Hybrid),
            other => Err(IndexError::UnknownMode(other.to_string())),
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
    /// HNSW over the vectors, for catalogs of at least `ann_threshold` tools.
    ann: Option<AnnIndex>,
    /// Whether `ann` was loaded from the store or built.
    ann_origin: Option<GraphOrigin>,
}

/// Catalog size from which semantic and hybrid search rank only the HNSW and BM25 candidates
/// instead of scoring every tool (see BENCHMARKS.md: exact wins below, the full scan costs ~7 ms at
/// 100k). `Engine::build_with_ann_threshold` overrides it (tests, `ucp eval --ann-threshold`).
pub const ANN_THRESHOLD: usize = 50_000;
/// Candidates taken from each of HNSW and BM25 above the threshold.
pub const ANN_CANDIDATES: usize = 256;
/// HNSW search breadth.
pub const ANN_EF: usize = 256;

impl Engine {
    /// `vectors[i]` is the normalised embedding of `docs[i].dense_text()`; empty `vectors` gives a
    /// keyword-only engine.
    pub fn build(
        docs: Vec<ToolDoc>,
        vectors: &[Vec<f32>],
        bm25: Bm25Params,
        weights: FusionWeights,
    ) -> Result<Engine, IndexError> {
        Self::build_with_ann_threshold(docs, vectors, bm25, weights, ANN_THRESHOLD)
    }

    /// `build`, with HNSW candidate search from `ann_threshold` tools on.
    pub fn build_with_ann_threshold(
        docs: Vec<ToolDoc>,
        vectors: &[Vec<f32>],
        bm25: Bm25Params,
        weights: FusionWeights,
        ann_threshold: usize,
    ) -> Result<Engine, IndexError> {
        Self::build_with_saved_graphs(docs, vectors, bm25, weights, ann_threshold, None)
    }

    /// `build_with_ann_threshold`, with the HNSW graph read from `saved` when one was saved there
    /// for exactly these vectors, else built and saved there (`ann_origin` tells which).
    pub fn build_with_saved_graphs(
        docs: Vec<ToolDoc>,
        vectors: &[Vec<f32>],
        bm25: Bm25Params,
        weights: FusionWeights,
        ann_threshold: usize,
        saved: Option<SavedGraphs<'_>>,
    ) -> Result<Engine, IndexError> {
        if !vectors.is_empty() && vectors.len() != docs.len() {
            return Err(IndexError::VectorCount {
                vectors: vectors.len(),
                tools: docs.len(),
            });
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
        let (ann, ann_origin) = if !vectors.is_empty() && vectors.len() >= ann_threshold {
            let (ann, origin) = match saved {
                Some(saved) => saved.load_or_build(vectors, ANN_EF),
                None => (
                    AnnIndex::build(vectors, ANN_EF),
                    GraphOrigin::Built {
                        load_error: None,
                        save_error: None,
                    },
                ),
            };
            (Some(ann), Some(origin))
        } else {
            (None, None)
        };
        Ok(Engine {
            docs,
            bm25,
            dense,
            server_of,
            weights,
            ann,
            ann_origin,
        })
    }

    /// Where the HNSW graph came from (`None`: below the threshold, no graph).
    pub fn ann_origin(&self) -> Option<&GraphOrigin> {
        self.ann_origin.as_ref()
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
        self.search_allowed(query, query_vector, options, extra, None)
    }

    /// `search_with` over the tools `allowed` marks (in doc order; `None`: all of them), so the
    /// `k` results are all allowed ones.
    pub fn search_allowed(
        &self,
        query: &str,
        query_vector: Option<&[f32]>,
        options: SelectOptions,
        extra: Option<(&[f32], f32)>,
        allowed: Option<&[bool]>,
    ) -> Vec<Hit> {
        let n = self.docs.len();
        if n == 0 || options.k == 0 {
            return Vec::new();
        }
        let semantic_available = query_vector.is_some() && self.has_vectors();
        let mode = if semantic_available {
            options.mode
        } else {
            Mode::Keyword
        };
        let bm25_all = self.bm25.score_all(query);
        // The tools ranked: all of them, or above the ANN threshold the union of the BM25 and the
        // HNSW candidates. Everything below works on these positions.
        let ids: Vec<u32> = match (&self.ann, query_vector, mode) {
            (Some(ann), Some(q), Mode::Semantic | Mode::Hybrid) => {
                let mut ids: Vec<u32> = ann
                    .search(&self.dense, q, ANN_CANDIDATES)
                    .into_iter()
                    .map(|h| h.0)
                    .collect();
                ids.extend(top_k(&bm25_all, ANN_CANDIDATES).into_iter().map(|h| h.0));
                ids.sort_unstable();
                ids.dedup();
                ids
            }
            _ => (0..n as u32).collect(),
        };
        let bm25: Vec<f32> = ids.iter().map(|&i| bm25_all[i as usize]).collect();
        let dense: Vec<f32> = match query_vector {
            Some(q) if self.has_vectors() && ids.len() == n => self.dense.scores(q),
            Some(q) if self.has_vectors() => ids
                .iter()
                .map(|&i| dot(self.dense.row(i as usize), q))
                .collect(),
            _ => vec![0.0; ids.len()],
        };
        let servers: Vec<u32> = ids.iter().map(|&i| self.server_of[i as usize]).collect();
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
                group_boost(&sum, &servers, w.server_boost)
            }
        };
        let fused: Vec<f32> = match extra {
            Some((scores, weight)) if scores.len() == n && weight != 0.0 => fused
                .iter()
                .zip(&ids)
                .map(|(f, &i)| f + weight * scores[i as usize])
                .collect(),
            _ => fused,
        };
        // Tools the caller may not use sink below every other and are skipped.
        let fused: Vec<f32> = match allowed {
            Some(mask) if mask.len() == n => fused
                .iter()
                .zip(&ids)
                .map(|(f, &i)| {
                    if mask[i as usize] {
                        *f
                    } else {
                        f32::NEG_INFINITY
                    }
                })
                .collect(),
            _ => fused,
        };
        let mut per_server: HashMap<u32, usize> = HashMap::new();
        let mut hits = Vec::with_capacity(options.k);
        // Take more than k candidates so the threshold and the per-server cap can skip some.
        for (pos, score) in top_k(&fused, (options.k * 4).max(options.k + 16)) {
            let j = pos as usize;
            if allowed.is_some_and(|mask| mask.len() == n && !mask[ids[j] as usize]) {
                continue;
            }
            if mode == Mode::Keyword && bm25[j] <= 0.0 {
                continue;
            }
            if mode != Mode::Keyword && dense[j] < options.similarity_threshold {
                continue;
            }
            if let Some(cap) = options.per_server_cap {
                let used = per_server.entry(servers[j]).or_default();
                if *used >= cap {
                    continue;
                }
                *used += 1;
            }
            hits.push(Hit {
                doc: ids[j],
                score,
                bm25: bm25[j],
                dense: dense[j],
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

//! Hybrid ranking: puts keyword (BM25) and semantic (cosine) scores on one scale and combines them,
//! with plain reciprocal-rank fusion kept for comparison.

#[cfg(test)]
mod tests;

/// How one signal's per-document scores are mapped to a common scale before weighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalization {
    /// `(s - min) / (max - min)` over the catalog: the best document gets 1, the worst 0.
    MinMax,
    /// `(s - mean) / std` over the catalog: how exceptional a score is for this query.
    ZScore,
    /// `1 / (rrf_k + rank)` with rank from 1: the scores themselves are ignored.
    Rank,
}

/// One setting for the whole product (not per data set). `Default` is the tuned setting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FusionWeights {
    /// Weight of the normalised BM25 score.
    pub keyword: f32,
    /// Weight of the normalised cosine similarity.
    pub semantic: f32,
    /// Each tool also gets this times the best fused score among the tools of its server, so a
    /// query that clearly matches one tool of a server lifts that server's other tools.
    /// Neutral when every server has one tool.
    pub server_boost: f32,
    pub normalization: Normalization,
    /// The `k` of rank-based normalisation and of `rrf` (60 in the RRF paper).
    pub rrf_k: f32,
}

impl Default for FusionWeights {
    fn default() -> Self {
        FusionWeights {
            keyword: 0.3,
            semantic: 0.7,
            server_boost: 0.5,
            normalization: Normalization::ZScore,
            rrf_k: 60.0,
        }
    }
}

/// One per-document score list and its weight, for `fuse_signals`.
#[derive(Debug, Clone, Copy)]
pub struct Signal<'a> {
    pub scores: &'a [f32],
    pub weight: f32,
}

/// Maps `scores` onto the common scale. Non-finite scores count as the lowest score; a constant
/// list maps to all zeros (it carries no ranking information).
pub fn normalize(scores: &[f32], norm: Normalization, rrf_k: f32) -> Vec<f32> {
    let clean: Vec<f32> = scores
        .iter()
        .map(|&s| if s.is_finite() { s } else { f32::NAN })
        .collect();
    let finite = || clean.iter().copied().filter(|s| !s.is_nan());
    let Some(min) = finite().reduce(f32::min) else {
        return vec![0.0; scores.len()];
    };
    let floor = |f: &dyn Fn(f32) -> f32| {
        clean
            .iter()
            .map(|&s| if s.is_nan() { f(min) } else { f(s) })
            .collect()
    };
    match norm {
        Normalization::MinMax => {
            let max = finite().fold(min, f32::max);
            let span = f64::from(max) - f64::from(min);
            if span <= 0.0 {
                return vec![0.0; scores.len()];
            }
            floor(&|s| ((f64::from(s) - f64::from(min)) / span) as f32)
        }
        Normalization::ZScore => {
            let n = finite().count() as f64;
            let mean = finite().map(f64::from).sum::<f64>() / n;
            let var = finite().map(|s| (f64::from(s) - mean).powi(2)).sum::<f64>() / n;
            let std = var.sqrt();
            if std <= f64::EPSILON {
                return vec![0.0; scores.len()];
            }
            floor(&|s| ((f64::from(s) - mean) / std) as f32)
        }
        Normalization::Rank => {
            let k = if rrf_k.is_finite() {
                rrf_k.max(0.0)
            } else {
                60.0
            };
            let mut out = vec![0.0; scores.len()];
            for (rank, i) in rank_order(scores).into_iter().enumerate() {
                out[i as usize] = 1.0 / (k + rank as f32 + 1.0);
            }
            out
        }
    }
}

/// Weighted sum of normalised signals. Signals shorter than the longest count as 0 where missing.
pub fn fuse_signals(signals: &[Signal<'_>], norm: Normalization, rrf_k: f32) -> Vec<f32> {
    let n = signals.iter().map(|s| s.scores.len()).max().unwrap_or(0);
    let mut out = vec![0f32; n];
    for s in signals {
        if s.weight == 0.0 || !s.weight.is_finite() {
            continue;
        }
        for (o, v) in out.iter_mut().zip(normalize(s.scores, norm, rrf_k)) {
            *o += s.weight * v;
        }
    }
    out
}

/// Weighted sum of the normalised BM25 scores and cosine similarities (no server boost).
pub fn fuse(keyword: &[f32], semantic: &[f32], w: &FusionWeights) -> Vec<f32> {
    let signals = [
        Signal {
            scores: keyword,
            weight: w.keyword,
        },
        Signal {
            scores: semantic,
            weight: w.semantic,
        },
    ];
    fuse_signals(&signals, w.normalization, w.rrf_k)
}

/// The hybrid score of every document: `fuse`, then `group_boost` by server with
/// `w.server_boost`. `server_of[i]` is any id shared by the tools of one server.
pub fn hybrid(keyword: &[f32], semantic: &[f32], server_of: &[u32], w: &FusionWeights) -> Vec<f32> {
    group_boost(&fuse(keyword, semantic, w), server_of, w.server_boost)
}

/// `scores[i] + weight * max(scores of i's group)`. Documents without a group id (index past
/// `group_of`) and non-finite scores get no boost and give none.
pub fn group_boost(scores: &[f32], group_of: &[u32], weight: f32) -> Vec<f32> {
    if weight == 0.0 || !weight.is_finite() {
        return scores.to_vec();
    }
    let mut best: std::collections::HashMap<u32, f32> = std::collections::HashMap::new();
    for (s, g) in scores.iter().zip(group_of) {
        if s.is_finite() {
            let b = best.entry(*g).or_insert(*s);
            *b = b.max(*s);
        }
    }
    scores
        .iter()
        .enumerate()
        .map(|(i, &s)| match group_of.get(i).and_then(|g| best.get(g)) {
            Some(&b) if s.is_finite() => s + weight * b,
            _ => s,
        })
        .collect()
}

/// Reciprocal-rank fusion: each document gets the sum over rankings of `1 / (k + rank)`, rank from 1;
/// a document absent from a ranking gets nothing from it. Ids `>= n_docs` are ignored.
pub fn rrf(rankings: &[&[u32]], k: f32, n_docs: usize) -> Vec<f32> {
    let mut out = vec![0f32; n_docs];
    for ranking in rankings {
        for (rank, &d) in ranking.iter().enumerate() {
            if let Some(o) = out.get_mut(d as usize) {
                *o += 1.0 / (k + rank as f32 + 1.0);
            }
        }
    }
    out
}

/// Document indices by descending score (ties: lower index first; NaN last).
pub fn rank_order(scores: &[f32]) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..scores.len() as u32).collect();
    let key = |i: u32| {
        let s = scores[i as usize];
        if s.is_nan() { f32::NEG_INFINITY } else { s }
    };
    idx.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
    idx
}

/// Cosine similarity of `query` with each row, assuming both sides are L2-normalised
/// (then it is the dot product). Rows of another length score 0.
pub fn cosine_all(query: &[f32], rows: &[Vec<f32>]) -> Vec<f32> {
    rows.iter()
        .map(|r| {
            if r.len() == query.len() {
                r.iter().zip(query).map(|(a, b)| a * b).sum()
            } else {
                0.0
            }
        })
        .collect()
}

/// Scales `v` to unit length in place (leaves a zero vector alone).
pub fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

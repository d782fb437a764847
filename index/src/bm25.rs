//! Keyword retrieval: BM25F over the tool's fields, with postings precomputed so a query is a few
//! array adds.

use std::collections::HashMap;

use crate::doc::{ToolDoc, split_identifier};
use crate::tokenize::Analyzer;

#[cfg(test)]
mod tests;

/// The fields of a `ToolDoc` that BM25 indexes separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Server,
    Name,
    Description,
    Params,
    Tags,
}

impl Field {
    pub const ALL: [Field; 5] = [
        Field::Server,
        Field::Name,
        Field::Description,
        Field::Params,
        Field::Tags,
    ];
}

/// Weight and length normalisation of one field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldParams {
    /// Multiplies the field's term frequency (0 leaves the field out).
    pub weight: f32,
    /// Length normalisation in [0, 1]; 0 ignores field length.
    pub b: f32,
}

/// BM25F parameters. `Default` is the tuned setting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bm25Params {
    pub k1: f32,
    pub server: FieldParams,
    pub name: FieldParams,
    pub description: FieldParams,
    pub params: FieldParams,
    pub tags: FieldParams,
    /// Index parameter descriptions too (otherwise only parameter names).
    pub param_descriptions: bool,
    /// Count a repeated query term once.
    pub unique_query_terms: bool,
    pub analyzer: Analyzer,
}

impl Default for Bm25Params {
    fn default() -> Self {
        let f = |weight, b| FieldParams { weight, b };
        Bm25Params {
            k1: 1.2,
            server: f(2.0, 0.75),
            name: f(2.0, 0.75),
            description: f(1.0, 0.75),
            params: f(0.5, 0.75),
            tags: f(1.0, 0.75),
            param_descriptions: true,
            unique_query_terms: true,
            analyzer: Analyzer::default(),
        }
    }
}

impl Bm25Params {
    pub fn field(&self, f: Field) -> FieldParams {
        match f {
            Field::Server => self.server,
            Field::Name => self.name,
            Field::Description => self.description,
            Field::Params => self.params,
            Field::Tags => self.tags,
        }
    }
}

/// An immutable BM25F index. Each posting holds a term's full contribution to one document
/// (idf x saturated weighted tf), so scoring only sums postings.
#[derive(Debug, Clone)]
pub struct Bm25Index {
    params: Bm25Params,
    terms: HashMap<String, u32>,
    postings: Vec<Vec<(u32, f32)>>,
    n_docs: usize,
}

impl Bm25Index {
    pub fn build(docs: &[ToolDoc], params: Bm25Params) -> Self {
        let n = docs.len();
        // Per doc, per field: term list.
        let field_tokens: Vec<[Vec<String>; 5]> = docs
            .iter()
            .map(|d| Field::ALL.map(|f| field_terms(d, f, &params)))
            .collect();
        let mut avg_len = [0f32; 5];
        for ft in &field_tokens {
            for (i, toks) in ft.iter().enumerate() {
                avg_len[i] += toks.len() as f32;
            }
        }
        for a in &mut avg_len {
            *a = if n == 0 {
                1.0
            } else {
                (*a / n as f32).max(1e-6)
            };
        }
        let mut terms: HashMap<String, u32> = HashMap::new();
        let mut pseudo_tf: Vec<Vec<(u32, f32)>> = Vec::new();
        for (doc, ft) in field_tokens.iter().enumerate() {
            let mut acc: HashMap<u32, f32> = HashMap::new();
            for (i, toks) in ft.iter().enumerate() {
                let fp = params.field(Field::ALL[i]);
                if !(fp.weight.is_finite() && fp.weight > 0.0) || toks.is_empty() {
                    continue;
                }
                let b = if fp.b.is_finite() {
                    fp.b.clamp(0.0, 1.0)
                } else {
                    0.75
                };
                let norm = 1.0 - b + b * toks.len() as f32 / avg_len[i];
                for t in toks {
                    let next = terms.len() as u32;
                    let id = *terms.entry(t.clone()).or_insert(next);
                    if id as usize == pseudo_tf.len() {
                        pseudo_tf.push(Vec::new());
                    }
                    *acc.entry(id).or_insert(0.0) += fp.weight / norm;
                }
            }
            for (id, tf) in acc {
                if let Some(p) = pseudo_tf.get_mut(id as usize) {
                    p.push((doc as u32, tf));
                }
            }
        }
        let k1 = params.k1.max(0.0);
        let postings = pseudo_tf
            .into_iter()
            .map(|mut list| {
                list.sort_unstable_by_key(|&(d, _)| d);
                let idf = idf(n, list.len());
                list.into_iter()
                    .map(|(d, tf)| (d, idf * tf * (k1 + 1.0) / (k1 + tf)))
                    .collect()
            })
            .collect();
        Bm25Index {
            params,
            terms,
            postings,
            n_docs: n,
        }
    }

    pub fn len(&self) -> usize {
        self.n_docs
    }

    pub fn is_empty(&self) -> bool {
        self.n_docs == 0
    }

    pub fn params(&self) -> &Bm25Params {
        &self.params
    }

    /// The BM25F score of every document (0 where no query term occurs).
    pub fn score_all(&self, query: &str) -> Vec<f32> {
        let mut scores = vec![0f32; self.n_docs];
        let mut seen: Vec<u32> = Vec::new();
        self.params.analyzer.for_each_token(query, |t| {
            let Some(&id) = self.terms.get(&t) else {
                return;
            };
            if self.params.unique_query_terms {
                if seen.contains(&id) {
                    return;
                }
                seen.push(id);
            }
            for &(d, w) in &self.postings[id as usize] {
                scores[d as usize] += w;
            }
        });
        scores
    }

    /// The `k` best documents with a positive score, best first (ties by lower index).
    pub fn search(&self, query: &str, k: usize) -> Vec<(u32, f32)> {
        let scores = self.score_all(query);
        let hits = scores
            .iter()
            .enumerate()
            .filter(|&(_, &s)| s > 0.0)
            .map(|(i, &s)| (i as u32, s));
        top_k(hits, k)
    }
}

/// Lucene's always-positive idf.
fn idf(n: usize, df: usize) -> f32 {
    let (n, df) = (n as f32, df as f32);
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

fn field_terms(d: &ToolDoc, f: Field, p: &Bm25Params) -> Vec<String> {
    let a = &p.analyzer;
    match f {
        Field::Server => a.tokens(&d.server),
        Field::Name => a.tokens(&d.name),
        Field::Description => a.tokens(&d.description),
        Field::Params => {
            let mut out = Vec::new();
            for (name, desc) in &d.params {
                out.extend(a.tokens(&split_identifier(name).join(" ")));
                if p.param_descriptions {
                    out.extend(a.tokens(desc));
                }
            }
            out
        }
        Field::Tags => d.tags.iter().flat_map(|t| a.tokens(t)).collect(),
    }
}

/// The `k` highest-scoring items, best first; ties go to the lower index. NaN scores sort last.
pub fn top_k(items: impl Iterator<Item = (u32, f32)>, k: usize) -> Vec<(u32, f32)> {
    let mut v: Vec<(u32, f32)> = items.collect();
    let cmp = |a: &(u32, f32), b: &(u32, f32)| {
        let (sa, sb) = (
            if a.1.is_nan() { f32::NEG_INFINITY } else { a.1 },
            if b.1.is_nan() { f32::NEG_INFINITY } else { b.1 },
        );
        sb.total_cmp(&sa).then(a.0.cmp(&b.0))
    };
    if k < v.len() {
        if k == 0 {
            return Vec::new();
        }
        v.select_nth_unstable_by(k - 1, cmp);
        v.truncate(k);
    }
    v.sort_unstable_by(cmp);
    v
}

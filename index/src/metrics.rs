//! Retrieval quality metrics (binary relevance), defined as in `bench/toolret-dev/README.md`.

#[cfg(test)]
mod tests;

/// Metrics of one query, or their mean over many.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Metrics {
    pub recall_1: f64,
    pub recall_5: f64,
    pub recall_10: f64,
    pub ndcg_10: f64,
    pub mrr: f64,
    /// 1 when every relevant tool is in the top 10.
    pub all_10: f64,
}

impl Metrics {
    /// Scores one ranking (best first) against the relevant set. Duplicates in `relevant` count once;
    /// an empty `relevant` scores 0 everywhere.
    pub fn of(ranking: &[u32], relevant: &[u32]) -> Self {
        Metrics {
            recall_1: recall_at(ranking, relevant, 1),
            recall_5: recall_at(ranking, relevant, 5),
            recall_10: recall_at(ranking, relevant, 10),
            ndcg_10: ndcg_at(ranking, relevant, 10),
            mrr: reciprocal_rank(ranking, relevant),
            all_10: if all_at(ranking, relevant, 10) {
                1.0
            } else {
                0.0
            },
        }
    }
}

fn distinct(relevant: &[u32]) -> Vec<u32> {
    let mut r = relevant.to_vec();
    r.sort_unstable();
    r.dedup();
    r
}

fn hits_in_top(ranking: &[u32], rel: &[u32], k: usize) -> Vec<bool> {
    let mut seen: Vec<u32> = Vec::new();
    ranking
        .iter()
        .take(k)
        .map(|d| {
            let hit = rel.binary_search(d).is_ok() && !seen.contains(d);
            seen.push(*d);
            hit
        })
        .collect()
}

/// |relevant ∩ top-k| / |relevant|.
pub fn recall_at(ranking: &[u32], relevant: &[u32], k: usize) -> f64 {
    let rel = distinct(relevant);
    if rel.is_empty() {
        return 0.0;
    }
    let hits = hits_in_top(ranking, &rel, k).iter().filter(|h| **h).count();
    hits as f64 / rel.len() as f64
}

/// NDCG@k with binary gain: sum of 1/log2(rank+1) over hits, over the ideal for min(|relevant|, k).
pub fn ndcg_at(ranking: &[u32], relevant: &[u32], k: usize) -> f64 {
    let rel = distinct(relevant);
    let disc = |i: usize| 1.0 / ((i + 2) as f64).log2();
    let ideal: f64 = (0..rel.len().min(k)).map(disc).sum();
    if ideal == 0.0 {
        return 0.0;
    }
    let dcg: f64 = hits_in_top(ranking, &rel, k)
        .iter()
        .enumerate()
        .filter(|(_, h)| **h)
        .map(|(i, _)| disc(i))
        .sum();
    dcg / ideal
}

/// 1 / rank of the first relevant item in `ranking` (0 if none appears).
pub fn reciprocal_rank(ranking: &[u32], relevant: &[u32]) -> f64 {
    let rel = distinct(relevant);
    ranking
        .iter()
        .position(|d| rel.binary_search(d).is_ok())
        .map_or(0.0, |i| 1.0 / (i + 1) as f64)
}

/// Whether every relevant item is in the top k (false for an empty relevant set).
pub fn all_at(ranking: &[u32], relevant: &[u32], k: usize) -> bool {
    let rel = distinct(relevant);
    !rel.is_empty() && hits_in_top(ranking, &rel, k).iter().filter(|h| **h).count() == rel.len()
}

/// Running mean of per-query metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    sum: Metrics,
    count: usize,
}

impl Summary {
    pub fn add(&mut self, m: &Metrics) {
        let s = &mut self.sum;
        s.recall_1 += m.recall_1;
        s.recall_5 += m.recall_5;
        s.recall_10 += m.recall_10;
        s.ndcg_10 += m.ndcg_10;
        s.mrr += m.mrr;
        s.all_10 += m.all_10;
        self.count += 1;
    }

    pub fn count(&self) -> usize {
        self.count
    }

    /// The mean of everything added (all zeros when nothing was).
    pub fn mean(&self) -> Metrics {
        if self.count == 0 {
            return Metrics::default();
        }
        let n = self.count as f64;
        let s = &self.sum;
        Metrics {
            recall_1: s.recall_1 / n,
            recall_5: s.recall_5 / n,
            recall_10: s.recall_10 / n,
            ndcg_10: s.ndcg_10 / n,
            mrr: s.mrr / n,
            all_10: s.all_10 / n,
        }
    }
}

impl<'a> FromIterator<&'a Metrics> for Summary {
    fn from_iter<I: IntoIterator<Item = &'a Metrics>>(iter: I) -> Self {
        let mut s = Summary::default();
        iter.into_iter().for_each(|m| s.add(m));
        s
    }
}

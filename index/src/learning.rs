//! Learning from usage: tools called after a search gain weight for similar queries; tools returned
//! and never used lose a little.
//!
//! What is kept per tool is the normalised sum of the query embeddings that led to a call (a
//! centroid) and a small penalty count, never the query text. A query's learned score for a tool is
//! its cosine with that centroid, damped while the tool has few calls, minus the penalty.

use std::collections::HashMap;

use crate::dense::dot;

/// Per-tool learned state, keyed by tool id (the public tool name in the gateway).
#[derive(Debug, Clone, Default)]
pub struct Learned {
    tools: HashMap<String, ToolUsage>,
}

#[derive(Debug, Clone, Default)]
struct ToolUsage {
    /// Sum of the (normalised) query embeddings whose search led to a call of this tool.
    sum: Vec<f32>,
    calls: u32,
    /// Times this tool was returned in a top list and not called.
    ignored: u32,
}

/// How much an ignored result costs, and how fast the damping of new evidence fades.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LearningParams {
    pub ignored_penalty: f32,
    /// The learned cosine counts `calls / (calls + damping)` of its value.
    pub damping: f32,
}

impl Default for LearningParams {
    fn default() -> Self {
        LearningParams {
            ignored_penalty: 0.01,
            damping: 1.0,
        }
    }
}

impl Learned {
    /// Records one search: the tools it returned and the ones called afterwards.
    pub fn record(&mut self, query_vector: &[f32], returned: &[&str], called: &[&str]) {
        for tool in called {
            self.record_call(query_vector, tool);
        }
        for tool in returned.iter().filter(|t| !called.contains(t)) {
            self.record_ignored(tool);
        }
    }

    /// `tool` was called after a search for `query_vector` returned it.
    pub fn record_call(&mut self, query_vector: &[f32], tool: &str) {
        let usage = self.tools.entry(tool.to_string()).or_default();
        if usage.sum.len() != query_vector.len() {
            usage.sum = vec![0.0; query_vector.len()];
        }
        for (s, q) in usage.sum.iter_mut().zip(query_vector) {
            *s += q;
        }
        usage.calls += 1;
    }

    /// `tool` was returned by a search and not called before the next one.
    pub fn record_ignored(&mut self, tool: &str) {
        self.tools.entry(tool.to_string()).or_default().ignored += 1;
    }

    /// One tool's state as bytes (calls, ignored, then the sum vector; little-endian).
    pub fn export(&self, tool: &str) -> Option<Vec<u8>> {
        let usage = self.tools.get(tool)?;
        let mut out = Vec::with_capacity(8 + usage.sum.len() * 4);
        out.extend_from_slice(&usage.calls.to_le_bytes());
        out.extend_from_slice(&usage.ignored.to_le_bytes());
        out.extend(usage.sum.iter().flat_map(|x| x.to_le_bytes()));
        Some(out)
    }

    /// Restores one tool's state written by `export`; malformed bytes are ignored (returns false).
    pub fn import(&mut self, tool: &str, bytes: &[u8]) -> bool {
        if bytes.len() < 8 || !(bytes.len() - 8).is_multiple_of(4) {
            return false;
        }
        let word =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let sum = bytes[8..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        self.tools.insert(
            tool.to_string(),
            ToolUsage {
                sum,
                calls: word(0),
                ignored: word(4),
            },
        );
        true
    }

    /// The learned score of each tool in `ids` for this query (0 for tools never seen).
    pub fn scores(&self, query_vector: &[f32], ids: &[&str], params: LearningParams) -> Vec<f32> {
        ids.iter()
            .map(|id| match self.tools.get(*id) {
                None => 0.0,
                Some(usage) => {
                    let mut score = 0.0;
                    if usage.calls > 0 && usage.sum.len() == query_vector.len() {
                        let norm = dot(&usage.sum, &usage.sum).sqrt();
                        if norm > 0.0 {
                            let confidence =
                                usage.calls as f32 / (usage.calls as f32 + params.damping);
                            score += confidence * dot(&usage.sum, query_vector) / norm;
                        }
                    }
                    score - params.ignored_penalty * (usage.ignored as f32).ln_1p()
                }
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.tools.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }
}

#[cfg(test)]
mod tests;

/// Co-occurrence: how often two tools were called in the same client session, so tools used
/// together boost each other (`router.enable_co_occurrence`).
#[derive(Debug, Clone, Default)]
pub struct CoOccurrence {
    pairs: HashMap<(String, String), u32>,
    calls: HashMap<String, u32>,
}

impl CoOccurrence {
    /// `tool` was called in a session that had called `earlier` before (most recent last). Returns
    /// the pairs whose counts changed, for persisting.
    pub fn record(&mut self, earlier: &[&str], tool: &str) -> Vec<(String, String, u32)> {
        *self.calls.entry(tool.to_string()).or_default() += 1;
        let mut changed = Vec::new();
        for other in earlier.iter().filter(|o| **o != tool) {
            for key in [
                (other.to_string(), tool.to_string()),
                (tool.to_string(), other.to_string()),
            ] {
                let count = self.pairs.entry(key.clone()).or_default();
                *count += 1;
                changed.push((key.0, key.1, *count));
            }
        }
        changed
    }

    /// For each of `ids`: the strongest association with a tool the session called recently,
    /// `count(recent, id) / (calls(recent) + 1)`, in [0, 1).
    pub fn scores(&self, recent: &[&str], ids: &[&str]) -> Vec<f32> {
        ids.iter()
            .map(|id| {
                recent
                    .iter()
                    .filter(|r| *r != id)
                    .map(|r| {
                        let together = self
                            .pairs
                            .get(&(r.to_string(), id.to_string()))
                            .copied()
                            .unwrap_or(0);
                        together as f32 / (self.calls.get(*r).copied().unwrap_or(0) as f32 + 1.0)
                    })
                    .fold(0.0, f32::max)
            })
            .collect()
    }

    /// Restores a pair count (from the store) and the call count it implies at least.
    pub fn import(&mut self, a: &str, b: &str, count: u32) {
        self.pairs.insert((a.to_string(), b.to_string()), count);
        let calls = self.calls.entry(a.to_string()).or_default();
        *calls = (*calls).max(count);
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

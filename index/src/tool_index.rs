//! One catalog generation's index: the selection engine plus the public tool name of each of its
//! documents, with what building it cost.

use crate::embed_cache::EmbedStats;
use crate::engine::Engine;

pub struct ToolIndex {
    pub engine: Engine,
    /// `tools[i]` is the public name of the engine's document `i`.
    pub tools: Vec<String>,
    pub stats: EmbedStats,
    /// Unique per build; caches key on it, so a new index invalidates their old entries.
    pub generation: u64,
    /// The generation of the catalog this index was built from: the index covers the catalog a
    /// request sees only when the two match.
    pub source_generation: u64,
}

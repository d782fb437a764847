//! The one immutable generation of read-mostly state a request uses from start to end.
//!
//! Config, catalog and pipeline are swapped together through a single `ArcSwap` (held by `ops`, its
//! only writer). Long-lived things that must survive a swap (downstream connections, sessions,
//! metrics) live beside the snapshot, never in it.

use std::sync::Arc;

use arc_swap::ArcSwap;
use ucp_config::Config;

use crate::catalog::Catalog;
use crate::pipeline::Pipeline;
use crate::selection::ToolIndex;

pub struct Snapshot<S> {
    pub config: Arc<Config>,
    pub catalog: Arc<Catalog>,
    pub pipeline: Arc<Pipeline<S>>,
    /// The tool index of this catalog; `None` until the first build finishes, and it may lag the
    /// catalog by one build (searches then skip tools that are gone).
    pub index: Option<Arc<ToolIndex>>,
    /// Increases by one with every swap; later caches key on it.
    pub generation: u64,
}

/// The shared handle every front-end reads from.
pub type SharedSnapshot<S> = Arc<ArcSwap<Snapshot<S>>>;

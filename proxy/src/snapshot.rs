//! The one immutable generation of read-mostly state a request uses from start to end, and the one
//! writer that can replace it.
//!
//! Config, catalog, pipeline and index are swapped together through a single `ArcSwap`. Readers get
//! a [`SnapshotCell`], which can only load; [`SnapshotWriter`] is the only way to store, it is not
//! `Clone`, and `ops` gives it to one task. Long-lived things that must survive a swap (downstream
//! connections, sessions, caches, learned usage, metrics) live beside the snapshot, never in it.

use std::sync::Arc;

use arc_swap::ArcSwap;
use ucp_config::Config;
use ucp_index::ToolIndex;

use crate::catalog::Catalog;
use crate::pipeline::Pipeline;

pub struct Snapshot<S> {
    pub config: Arc<Config>,
    pub catalog: Arc<Catalog>,
    /// Increases whenever the catalog's tools change; an index records the one it was built from.
    pub tools_generation: u64,
    pub pipeline: Arc<Pipeline<S>>,
    /// The tool index; `None` until the first build finishes. It may lag the catalog (searches then
    /// skip tools that are gone, and `/health` says `indexing`).
    pub index: Option<Arc<ToolIndex>>,
    /// Increases by one with every swap.
    pub generation: u64,
}

impl<S> Snapshot<S> {
    /// The index was built from exactly this catalog's tools.
    pub fn index_covers_catalog(&self) -> bool {
        self.index
            .as_ref()
            .is_some_and(|i| i.source_generation == self.tools_generation)
    }

    fn next(&self) -> Snapshot<S> {
        Snapshot {
            config: self.config.clone(),
            catalog: self.catalog.clone(),
            tools_generation: self.tools_generation,
            pipeline: self.pipeline.clone(),
            index: self.index.clone(),
            generation: self.generation + 1,
        }
    }
}

/// The read side: every front and handler loads from it.
pub struct SnapshotCell<S> {
    current: ArcSwap<Snapshot<S>>,
}

impl<S> SnapshotCell<S> {
    /// A cheap guard for a quick look.
    pub fn load(&self) -> arc_swap::Guard<Arc<Snapshot<S>>> {
        self.current.load()
    }

    /// The current generation, to keep for a whole request.
    pub fn load_full(&self) -> Arc<Snapshot<S>> {
        self.current.load_full()
    }
}

/// The write side: the only way to replace the snapshot.
pub struct SnapshotWriter<S> {
    cell: Arc<SnapshotCell<S>>,
}

impl<S> SnapshotWriter<S> {
    /// A new cell holding `first`, and its one writer.
    pub fn new(first: Snapshot<S>) -> (SnapshotWriter<S>, Arc<SnapshotCell<S>>) {
        let cell = Arc::new(SnapshotCell {
            current: ArcSwap::from_pointee(first),
        });
        (SnapshotWriter { cell: cell.clone() }, cell)
    }

    pub fn current(&self) -> Arc<Snapshot<S>> {
        self.cell.load_full()
    }

    /// Publishes the current snapshot as changed by `edit`, one generation later.
    pub fn publish(&mut self, edit: impl FnOnce(&mut Snapshot<S>)) -> Arc<Snapshot<S>> {
        let mut next = self.cell.current.load().next();
        edit(&mut next);
        let next = Arc::new(next);
        self.cell.current.store(next.clone());
        next
    }
}

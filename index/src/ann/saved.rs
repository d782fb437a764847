//! HNSW graphs saved in the store beside the embeddings, so a restart with an unchanged catalog
//! loads its graph (about a second at 100k tools) instead of building it again (minutes).
//!
//! A graph is keyed by the model id and `vectors_digest`: the SHA-256 of the exact ordered vectors
//! it was built over and of the build parameters, so it is only ever reused for the same vectors
//! in the same order. The store keeps the `KEEP_PER_MODEL` most recently used graphs of a model
//! and deletes the others.

use sha2::{Digest, Sha256};

use super::{AnnIndex, EF_CONSTRUCTION, MAX_CONNECTIONS, MAX_LAYERS, codec};
use crate::error::IndexError;
use crate::store::Store;

/// Two, so the index of a partly connected catalog, built while the downstream servers come up,
/// does not evict the graph of the full catalog that follows it.
pub const KEEP_PER_MODEL: usize = 2;

/// The graphs of one model's vectors in a store.
#[derive(Clone, Copy)]
pub struct SavedGraphs<'a> {
    store: &'a Store,
    model_id: &'a str,
}

/// Where an engine's graph came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphOrigin {
    /// Read from the store, saved earlier for exactly these vectors.
    Loaded,
    /// Built: none was saved for these vectors, or the saved one could not be read
    /// (`load_error`); then saved, unless `save_error` says why not.
    Built {
        load_error: Option<String>,
        save_error: Option<String>,
    },
}

/// The key of the graph of `vectors`: their count, each one's length and bytes in order, the
/// build parameters and the saved format.
pub fn vectors_digest(vectors: &[Vec<f32>]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(codec::MAGIC);
    for x in [MAX_CONNECTIONS, EF_CONSTRUCTION, MAX_LAYERS, vectors.len()] {
        hash.update((x as u64).to_le_bytes());
    }
    let mut bytes = Vec::new();
    for v in vectors {
        bytes.clear();
        bytes.extend_from_slice(&(v.len() as u64).to_le_bytes());
        bytes.extend(v.iter().flat_map(|x| x.to_le_bytes()));
        hash.update(&bytes);
    }
    hash.finalize().into()
}

impl<'a> SavedGraphs<'a> {
    /// The graphs of vectors embedded by `model_id`.
    pub fn new(store: &'a Store, model_id: &'a str) -> SavedGraphs<'a> {
        SavedGraphs { store, model_id }
    }

    /// The graph saved under `digest` (of `rows` vectors), if any; an error if it is damaged.
    pub fn load(
        &self,
        digest: &[u8; 32],
        rows: usize,
        ef_search: usize,
    ) -> Result<Option<AnnIndex>, IndexError> {
        let Some(bytes) = self.store.ann_graph(self.model_id, digest)? else {
            return Ok(None);
        };
        let graph = codec::decode(&bytes, rows)?;
        // Only the eviction order is lost if this fails.
        let _ = self
            .store
            .use_ann_graph(self.model_id, digest, KEEP_PER_MODEL);
        Ok(Some(AnnIndex { graph, ef_search }))
    }

    /// Saves `ann` under `digest`, evicting this model's least recently used graphs.
    pub fn save(&self, digest: &[u8; 32], ann: &AnnIndex) -> Result<(), IndexError> {
        let bytes = codec::encode(&ann.graph);
        self.store
            .put_ann_graph(self.model_id, digest, &bytes, KEEP_PER_MODEL)
    }

    /// The graph of `vectors`: loaded when one was saved for exactly these vectors, else built
    /// and saved. Never fails: a store problem costs a build, and is reported in the origin.
    pub fn load_or_build(&self, vectors: &[Vec<f32>], ef_search: usize) -> (AnnIndex, GraphOrigin) {
        let digest = vectors_digest(vectors);
        let load_error = match self.load(&digest, vectors.len(), ef_search) {
            Ok(Some(ann)) => return (ann, GraphOrigin::Loaded),
            Ok(None) => None,
            Err(e) => Some(e.to_string()),
        };
        let ann = AnnIndex::build(vectors, ef_search);
        let save_error = self.save(&digest, &ann).err().map(|e| e.to_string());
        (
            ann,
            GraphOrigin::Built {
                load_error,
                save_error,
            },
        )
    }
}

//! The embedded RocksDB store of the tool index: embeddings keyed by (model id, hash of the text),
//! so a restart with an unchanged catalog re-embeds nothing, and its HNSW graph (`ann::saved`), so
//! it does not build that again either.
//!
//! One read-write opener per directory (RocksDB's LOCK): the gateway and `ucp index` share it by
//! running one at a time; a second opener gets a clear error naming the directory.

use std::path::{Path, PathBuf};

use rocksdb::{ColumnFamilyDescriptor, DB, Options, WriteBatch};
use sha2::{Digest, Sha256};

use crate::error::IndexError;

pub const CF_EMBEDDINGS: &str = "embeddings";
/// Learned usage per tool (`learning::Learned::export`), keyed by public tool name.
pub const CF_USAGE: &str = "usage";
/// Co-occurrence counts, keyed by `tool a` 0x00 `tool b`, value a little-endian u32.
pub const CF_COOCCURRENCE: &str = "cooccurrence";
/// Saved HNSW graphs (`ann::saved`), keyed by model id, 0x00, the 32-byte digest of the vectors;
/// plus per model, under model id, 0x00, `recent`, its graphs' digests, most recently used first.
pub const CF_ANN_GRAPHS: &str = "ann_graphs";
const RECENT_GRAPHS: &[u8] = b"recent";

pub struct Store {
    db: DB,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store in `path`.
    pub fn open(path: &Path) -> Result<Store, IndexError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_compression_type(rocksdb::DBCompressionType::Lz4);
        let families = [CF_EMBEDDINGS, CF_USAGE, CF_COOCCURRENCE, CF_ANN_GRAPHS]
            .into_iter()
            .map(|name| ColumnFamilyDescriptor::new(name, Options::default()));
        let db = DB::open_cf_descriptors(&options, path, families).map_err(|source| {
            IndexError::StoreOpen {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Ok(Store {
            db,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored embedding of each text under `model_id`, `None` where there is none.
    pub fn embeddings(
        &self,
        model_id: &str,
        texts: &[&str],
    ) -> Result<Vec<Option<Vec<f32>>>, IndexError> {
        let cf = self.cf(CF_EMBEDDINGS)?;
        let keys: Vec<Vec<u8>> = texts.iter().map(|t| embedding_key(model_id, t)).collect();
        self.db
            .multi_get_cf(keys.iter().map(|k| (cf, k.as_slice())))
            .into_iter()
            .map(|value| match value {
                Ok(Some(bytes)) => decode_vector(&bytes).map(Some),
                Ok(None) => Ok(None),
                Err(source) => Err(IndexError::StoreIo { op: "read", source }),
            })
            .collect()
    }

    /// Stores embeddings in one atomic batch (written to the WAL, so they survive a crash).
    pub fn put_embeddings(
        &self,
        model_id: &str,
        items: &[(&str, &[f32])],
    ) -> Result<(), IndexError> {
        let cf = self.cf(CF_EMBEDDINGS)?;
        let mut batch = WriteBatch::default();
        for (text, vector) in items {
            batch.put_cf(cf, embedding_key(model_id, text), encode_vector(vector));
        }
        self.db.write(batch).map_err(|source| IndexError::StoreIo {
            op: "write",
            source,
        })
    }

    /// Every stored usage record, as (tool, bytes).
    pub fn usage(&self) -> Result<Vec<(String, Vec<u8>)>, IndexError> {
        let cf = self.cf(CF_USAGE)?;
        self.db
            .iterator_cf(cf, rocksdb::IteratorMode::Start)
            .map(|item| {
                let (key, value) =
                    item.map_err(|source| IndexError::StoreIo { op: "read", source })?;
                Ok((String::from_utf8_lossy(&key).into_owned(), value.to_vec()))
            })
            .collect()
    }

    /// Every stored co-occurrence count, as (tool a, tool b, count).
    pub fn cooccurrence(&self) -> Result<Vec<(String, String, u32)>, IndexError> {
        let cf = self.cf(CF_COOCCURRENCE)?;
        let mut out = Vec::new();
        for item in self.db.iterator_cf(cf, rocksdb::IteratorMode::Start) {
            let (key, value) = item.map_err(|source| IndexError::StoreIo { op: "read", source })?;
            let mut parts = key.splitn(2, |b| *b == 0);
            let (Some(a), Some(b)) = (parts.next(), parts.next()) else {
                continue;
            };
            let Ok(count) = <[u8; 4]>::try_from(&value[..]) else {
                continue;
            };
            out.push((
                String::from_utf8_lossy(a).into_owned(),
                String::from_utf8_lossy(b).into_owned(),
                u32::from_le_bytes(count),
            ));
        }
        Ok(out)
    }

    pub fn put_cooccurrence(&self, pairs: &[(String, String, u32)]) -> Result<(), IndexError> {
        let cf = self.cf(CF_COOCCURRENCE)?;
        let mut batch = WriteBatch::default();
        for (a, b, count) in pairs {
            let mut key = Vec::with_capacity(a.len() + b.len() + 1);
            key.extend_from_slice(a.as_bytes());
            key.push(0);
            key.extend_from_slice(b.as_bytes());
            batch.put_cf(cf, key, count.to_le_bytes());
        }
        self.db.write(batch).map_err(|source| IndexError::StoreIo {
            op: "write",
            source,
        })
    }

    pub fn put_usage(&self, tool: &str, bytes: &[u8]) -> Result<(), IndexError> {
        let cf = self.cf(CF_USAGE)?;
        self.db
            .put_cf(cf, tool.as_bytes(), bytes)
            .map_err(|source| IndexError::StoreIo {
                op: "write",
                source,
            })
    }

    /// The graph saved for the vectors of digest `digest` embedded by `model_id`.
    pub fn ann_graph(
        &self,
        model_id: &str,
        digest: &[u8; 32],
    ) -> Result<Option<Vec<u8>>, IndexError> {
        let cf = self.cf(CF_ANN_GRAPHS)?;
        self.db
            .get_cf(cf, graph_key(model_id, digest))
            .map_err(|source| IndexError::StoreIo { op: "read", source })
    }

    /// Saves a graph as the most recently used of its model; only the `keep` most recently used
    /// graphs of the model stay, in one atomic batch.
    pub fn put_ann_graph(
        &self,
        model_id: &str,
        digest: &[u8; 32],
        bytes: &[u8],
        keep: usize,
    ) -> Result<(), IndexError> {
        let cf = self.cf(CF_ANN_GRAPHS)?;
        let mut batch = self.recent_graphs(model_id, digest, keep)?;
        batch.put_cf(cf, graph_key(model_id, digest), bytes);
        self.db.write(batch).map_err(|source| IndexError::StoreIo {
            op: "write",
            source,
        })
    }

    /// Marks a saved graph as the most recently used of its model (as `put_ann_graph` does).
    pub fn use_ann_graph(
        &self,
        model_id: &str,
        digest: &[u8; 32],
        keep: usize,
    ) -> Result<(), IndexError> {
        let batch = self.recent_graphs(model_id, digest, keep)?;
        self.db.write(batch).map_err(|source| IndexError::StoreIo {
            op: "write",
            source,
        })
    }

    /// A batch that puts `digest` first in the model's list of recent graphs and deletes the
    /// graphs beyond the first `keep`.
    fn recent_graphs(
        &self,
        model_id: &str,
        digest: &[u8; 32],
        keep: usize,
    ) -> Result<WriteBatch, IndexError> {
        let cf = self.cf(CF_ANN_GRAPHS)?;
        let mut list_key = model_key(model_id);
        list_key.extend_from_slice(RECENT_GRAPHS);
        let old = self
            .db
            .get_cf(cf, &list_key)
            .map_err(|source| IndexError::StoreIo { op: "read", source })?
            .unwrap_or_default();
        let mut recent = vec![*digest];
        recent.extend(
            old.chunks_exact(32)
                .filter_map(|d| <[u8; 32]>::try_from(d).ok())
                .filter(|d| d != digest),
        );
        let mut batch = WriteBatch::default();
        for gone in recent.split_off(keep.clamp(1, recent.len())) {
            batch.delete_cf(cf, graph_key(model_id, &gone));
        }
        batch.put_cf(cf, list_key, recent.concat());
        Ok(batch)
    }

    fn cf(&self, name: &'static str) -> Result<&rocksdb::ColumnFamily, IndexError> {
        self.db.cf_handle(name).ok_or(IndexError::StoreCorrupt {
            what: "column family",
        })
    }
}

/// `model_id` and a zero byte: the prefix of the model's graph keys.
fn model_key(model_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(model_id.len() + 33);
    key.extend_from_slice(model_id.as_bytes());
    key.push(0);
    key
}

/// `model_id`, a zero byte, then the digest of the graph's vectors.
fn graph_key(model_id: &str, digest: &[u8; 32]) -> Vec<u8> {
    let mut key = model_key(model_id);
    key.extend_from_slice(digest);
    key
}

/// `model_id`, a zero byte, then the SHA-256 of the text.
fn embedding_key(model_id: &str, text: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(model_id.len() + 33);
    key.extend_from_slice(model_id.as_bytes());
    key.push(0);
    key.extend_from_slice(&Sha256::digest(text.as_bytes()));
    key
}

fn encode_vector(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn decode_vector(bytes: &[u8]) -> Result<Vec<f32>, IndexError> {
    if !bytes.len().is_multiple_of(4) {
        return Err(IndexError::StoreCorrupt { what: "embedding" });
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

#[cfg(test)]
mod tests;

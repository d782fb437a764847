//! The index crate's one error type: loading the model, the store, bench files, building an engine.

use std::path::PathBuf;

use crate::embedder::ORT_MIN_VERSION;

pub(crate) const SETUP_HINT: &str = "run scripts/setup.sh";

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("missing {}: {hint}", path.display())]
    Missing { path: PathBuf, hint: &'static str },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot load ONNX Runtime from {}: {reason} (need libonnxruntime >= {ORT_MIN_VERSION}; \
         {SETUP_HINT})",
        path.display()
    )]
    OrtLoad { path: PathBuf, reason: String },
    #[error(
        "ONNX Runtime at {} is version {found}, need >= {ORT_MIN_VERSION} ({SETUP_HINT})",
        path.display()
    )]
    OrtVersion { path: PathBuf, found: String },
    #[error(
        "ONNX Runtime is already loaded in this process from {}; cannot also load {}",
        loaded.display(),
        requested.display()
    )]
    OrtConflict { loaded: PathBuf, requested: PathBuf },
    #[error("onnx runtime: {0}")]
    Ort(#[from] ort::Error),
    #[error("tokenizer: {0}")]
    Tokenizer(#[source] tokenizers::Error),
    #[error("unexpected model: {0}")]
    Model(String),
    #[error("invalid embedder config: {0}")]
    Config(String),
    #[error("cannot open the index store at {}: {source}", path.display())]
    StoreOpen {
        path: PathBuf,
        source: rocksdb::Error,
    },
    #[error("index store {op} failed: {source}")]
    StoreIo {
        op: &'static str,
        source: rocksdb::Error,
    },
    #[error("index store has a corrupt {what} entry")]
    StoreCorrupt { what: &'static str },
    #[error("saved HNSW graph is damaged: {0}")]
    GraphDamaged(String),
    #[error("{}:{line}: {msg}", path.display())]
    BenchLine {
        path: PathBuf,
        line: usize,
        msg: String,
    },
    #[error("{}: {len} bytes is not a whole number of {dim}-float rows", path.display())]
    BenchVectorShape {
        path: PathBuf,
        len: usize,
        dim: usize,
    },
    #[error("{vectors} vectors for {tools} tools")]
    VectorCount { vectors: usize, tools: usize },
    #[error("vector {row} has {found} dimensions, expected {dim}")]
    VectorDim {
        row: usize,
        found: usize,
        dim: usize,
    },
    #[error("unknown mode `{0}` (expected keyword, semantic or hybrid)")]
    UnknownMode(String),
}

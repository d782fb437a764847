//! UCP's tool index: embedder, BM25, dense search, fusion and the RocksDB store.
//!
//! Architecture invariant: this crate knows nothing about MCP or HTTP. It sees tools as plain
//! documents (server, name, description, parameters, tags) and queries as text.

pub mod ann;
pub mod bench_data;
pub mod bm25;
pub mod bounded_lru;
pub mod dense;
pub mod doc;
pub mod embed_cache;
pub mod embedder;
pub mod engine;
pub mod error;
pub mod fusion;
pub mod learning;
pub mod metrics;
pub mod store;
pub mod tokenize;
pub mod tool_index;

pub use bm25::{Bm25Index, Bm25Params};
pub use bounded_lru::BoundedLru;
pub use dense::DenseIndex;
pub use doc::ToolDoc;
pub use embedder::{Embedder, EmbedderConfig};
pub use engine::{Engine, Hit, Mode, SelectOptions};
pub use error::IndexError;
pub use fusion::FusionWeights;
pub use store::Store;
pub use tool_index::ToolIndex;

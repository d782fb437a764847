//! UCP's tool index: embedder, BM25, dense search, fusion and the RocksDB store.
//!
//! Architecture invariant: this crate knows nothing about MCP or HTTP. It sees tools as plain
//! documents (server, name, description, parameters, tags) and queries as text.

pub mod dense;
pub mod store;

pub use dense::DenseIndex;
pub use store::{Store, StoreError};

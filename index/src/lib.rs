//! UCP's tool index: embedder, BM25, vector search, fusion and the RocksDB store.
//!
//! Architecture invariant: this crate knows nothing about MCP or HTTP. It is being built in the
//! tool-selection issue; today the gateway serves every tool (`router.exposure: all`) and does not
//! call into it yet. Its dependencies are declared already so the long C++ build (RocksDB) is cached.

//! UCP's proxy: the client-facing MCP fronts (stdio, Streamable HTTP on pingora) with their
//! admission phase, the stage pipeline seam, the aggregated catalog with its route table, and the
//! pooled downstream connections.

pub mod catalog;
pub mod downstream;
pub mod error;
pub mod exchange;
pub mod gateway;
pub mod http;
pub mod jsonrpc;
pub mod names;
pub mod pipeline;
pub mod policy;
pub mod ready;
pub mod recent;
pub mod relay;
pub mod session;
pub mod snapshot;
pub mod stdio;
#[cfg(test)]
mod testing;

pub use catalog::{Catalog, Collision, Resolution, Route, ServerListing};
pub use downstream::{Backoff, DownstreamPool, LinkState, Reconciled};
pub use error::{ProxyError, Refusal};
pub use exchange::{
    Credential, Exchange, Identity, Method, Outcome, Principal, SelectPurpose, SelectWork,
    Selected, Selection, SignalScores, Transport,
};
pub use gateway::meta::{CALL_TOOL, SEARCH_TOOL};
pub use gateway::{Gateway, GatewayShared, ListsChanged};
pub use names::Naming;
pub use pipeline::{Flow, Pipeline, Stage};
pub use policy::{Grant, ToolPolicy};
pub use snapshot::{Snapshot, SnapshotCell, SnapshotWriter};

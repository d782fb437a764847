//! UCP's proxy: the client-facing MCP fronts (stdio, Streamable HTTP on pingora), the stage
//! pipeline seam, the aggregated catalog with its route table, and the pooled downstream connections.

pub mod catalog;
pub mod downstream;
pub mod error;
pub mod gateway;
pub mod http;
pub mod jsonrpc;
pub mod names;
pub mod pipeline;
pub mod selection;
pub mod session;
pub mod snapshot;
pub mod stdio;

pub use catalog::{Catalog, Collision, Route, ServerListing};
pub use downstream::{Backoff, DownstreamPool, LinkState};
pub use error::ProxyError;
pub use gateway::{Gateway, GatewayShared, ListsChanged};
pub use pipeline::{Exchange, Flow, Outcome, Pipeline, Stage};
pub use selection::{CacheCounts, Selected, Selection, Selector, ToolIndex};
pub use snapshot::{SharedSnapshot, Snapshot};

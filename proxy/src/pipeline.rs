//! The stage seam: every client request passes the same ordered stages before it is routed.
//!
//! `proxy` defines the trait and the per-request [`Exchange`]; the stages themselves live in
//! `ucp-filters`, which builds the ordered pipeline (one function lists the order). The pipeline is
//! part of the snapshot, so a reload can change it without disturbing requests in flight.

use std::future::Future;
use std::time::Instant;

use rmcp::ErrorData as McpError;

/// What a stage decides about a request.
#[derive(Debug)]
pub enum Flow {
    /// Go on to the next stage, then route.
    Next,
    /// Stop here and answer the client with this error.
    Reject(McpError),
}

/// How a request ended, recorded for the response stages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    Ok,
    Error { code: i32, message: String },
}

/// One client request on its way through the gateway.
#[derive(Debug)]
pub struct Exchange {
    /// The JSON-RPC method, e.g. `tools/call`.
    pub method: &'static str,
    /// The public tool/prompt name or resource URI the request targets, if any.
    pub target: Option<String>,
    /// The downstream server the router picked (set after routing).
    pub server: Option<String>,
    /// Client-facing transport: `stdio` or `http`.
    pub transport: &'static str,
    pub started: Instant,
    pub outcome: Outcome,
}

impl Exchange {
    pub fn new(method: &'static str, transport: &'static str) -> Self {
        Exchange {
            method,
            target: None,
            server: None,
            transport,
            started: Instant::now(),
            outcome: Outcome::Pending,
        }
    }
}

/// A step every request passes through. The set of stages is closed (see `ucp-filters`), so the
/// pipeline is an enum over them and nothing is boxed.
pub trait Stage: Send + Sync + 'static {
    /// Metric label and log field.
    fn name(&self) -> &'static str;

    fn on_request(&self, ex: &mut Exchange) -> impl Future<Output = Flow> + Send;

    fn on_response(&self, _ex: &mut Exchange) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// Stages in order; `on_request` front to back, `on_response` back to front.
#[derive(Debug)]
pub struct Pipeline<S> {
    stages: Vec<S>,
}

impl<S: Stage> Pipeline<S> {
    pub fn new(stages: Vec<S>) -> Self {
        Pipeline { stages }
    }

    pub fn stage_names(&self) -> Vec<&'static str> {
        self.stages.iter().map(Stage::name).collect()
    }

    /// Runs the request stages; the first rejection wins.
    pub async fn request(&self, ex: &mut Exchange) -> Result<(), McpError> {
        for stage in &self.stages {
            if let Flow::Reject(error) = stage.on_request(ex).await {
                return Err(error);
            }
        }
        Ok(())
    }

    /// Runs the response stages in reverse order.
    pub async fn response(&self, ex: &mut Exchange) {
        for stage in self.stages.iter().rev() {
            stage.on_response(ex).await;
        }
    }
}

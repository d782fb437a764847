//! The stage seam: every client request passes the same ordered stages, in three phases.
//!
//! - `on_request` (admission) runs at the head of every request, in the front, before rmcp sees it:
//!   every `/mcp` request (POST including `initialize`, the GET stream, DELETE), `/v1/*`, and
//!   when configured `/health` and `/metrics`; on stdio every message. A stage lets the request go
//!   on or answers it (`Flow::Reply`): on HTTP with the error's status and headers, on stdio with
//!   the matching JSON-RPC error.
//! - `on_route` runs inside the MCP handler (or a `/v1` endpoint) once the request is known to
//!   belong to its session, before it is routed: tool selection answers `SelectWork` here.
//! - `on_response` runs back to front once the request is answered, for every request, refused
//!   ones included.
//!
//! `proxy` defines the trait and runs the phases; the stages live in `ucp-filters`, whose `build`
//! lists their order. The pipeline is part of the snapshot, so a reload can change it without
//! disturbing requests in flight.

use std::future::Future;
use std::time::Instant;

use crate::error::ProxyError;
use crate::exchange::{Exchange, Outcome};

/// What a stage decides about a request at its head.
#[derive(Debug)]
pub enum Flow {
    /// Go on to the next stage.
    Next,
    /// Stop here and answer the client with this error (its status, headers and JSON-RPC code).
    Reply(ProxyError),
}

/// A step every request passes through. The set of stages is closed (see `ucp-filters`), so the
/// pipeline is an enum over them and nothing is boxed.
pub trait Stage: Send + Sync + 'static {
    /// Metric label and log field.
    fn name(&self) -> &'static str;

    /// Admission, at the head of the request.
    fn on_request(&self, _ex: &mut Exchange) -> impl Future<Output = Flow> + Send {
        async { Flow::Next }
    }

    /// Before routing, inside the request's session: an error fails the request.
    fn on_route(&self, _ex: &mut Exchange) -> impl Future<Output = Result<(), ProxyError>> + Send {
        async { Ok(()) }
    }

    /// After the answer, for every request.
    fn on_response(&self, _ex: &mut Exchange) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// Stages in order; `on_request` and `on_route` front to back, `on_response` back to front.
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

    /// Admission; the first stage that answers wins, and the exchange records it as refused.
    pub async fn admit(&self, ex: &mut Exchange) -> Result<(), ProxyError> {
        for stage in &self.stages {
            if let Flow::Reply(error) = stage.on_request(ex).await {
                ex.outcome = Outcome::Refused {
                    stage: stage.name(),
                    status: error.status(),
                    code: error.code(),
                };
                ex.timings.answered = Some(Instant::now());
                return Err(error);
            }
        }
        ex.timings.admitted = Some(Instant::now());
        Ok(())
    }

    /// The route phase; the first error wins. Records how long a selection took and when the
    /// request left for its downstream server.
    pub async fn route(&self, ex: &mut Exchange) -> Result<(), ProxyError> {
        let start = Instant::now();
        for stage in &self.stages {
            stage.on_route(ex).await?;
        }
        let now = Instant::now();
        if ex.select.is_some() {
            ex.timings.selection = Some(now - start);
        }
        if ex.server.is_some() {
            ex.timings.routed = Some(now);
        }
        Ok(())
    }

    /// The response stages, in reverse order.
    pub async fn finish(&self, ex: &mut Exchange) {
        ex.timings.answered.get_or_insert_with(Instant::now);
        for stage in self.stages.iter().rev() {
            stage.on_response(ex).await;
        }
    }
}

#[cfg(test)]
mod tests;

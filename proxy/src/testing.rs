//! Test support: a probe stage that refuses some requests by method and records every phase, and
//! a gateway (no downstream servers) whose pipeline is that probe.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use parking_lot::Mutex;

use crate::catalog::Catalog;
use crate::downstream::{Backoff, DownstreamPool};
use crate::error::{ProxyError, Refusal};
use crate::exchange::{Exchange, Method, Outcome, Transport};
use crate::gateway::{Gateway, GatewayShared};
use crate::pipeline::{Flow, Pipeline, Stage};
use crate::snapshot::{Snapshot, SnapshotWriter};

/// Refuses `/v1/select` with 401, the GET stream with 429, `/health` with 503; records the phases.
pub struct Probe {
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Stage for Probe {
    fn name(&self) -> &'static str {
        "probe"
    }

    async fn on_request(&self, ex: &mut Exchange) -> Flow {
        self.log
            .lock()
            .push(format!("request {}", ex.method.as_str()));
        let refusal = match ex.method {
            Method::Select => Refusal::new(StatusCode::UNAUTHORIZED, "who are you")
                .challenge("Bearer realm=\"ucp\""),
            Method::McpStream => Refusal::new(StatusCode::TOO_MANY_REQUESTS, "slow down")
                .retry_after(Duration::from_secs(3)),
            Method::Health => Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "draining")
                .retry_after(Duration::from_secs(1)),
            Method::ToolsCall if ex.target.as_deref() == Some("forbidden") => {
                Refusal::new(StatusCode::FORBIDDEN, "not for you")
            }
            _ => return Flow::Next,
        };
        Flow::Reply(ProxyError::Refused(refusal))
    }

    async fn on_response(&self, ex: &mut Exchange) {
        let outcome = match &ex.outcome {
            Outcome::Refused { status, .. } => format!("refused {}", status.as_u16()),
            Outcome::Ok => "ok".to_string(),
            Outcome::Status(s) => format!("status {}", s.as_u16()),
            Outcome::Failed { code, .. } => format!("failed {code}"),
            Outcome::Pending => "pending".to_string(),
        };
        self.log
            .lock()
            .push(format!("response {} {outcome}", ex.method.as_str()));
    }
}

/// A gateway with no downstream servers whose only stage is a [`Probe`] writing to `log`.
pub fn probe_gateway(log: &Arc<Mutex<Vec<String>>>, transport: Transport) -> Gateway<Probe> {
    let pool = DownstreamPool::start(&[], Backoff::default());
    let (writer, cell) = SnapshotWriter::new(Snapshot {
        config: Arc::new(ucp_config::Config::default()),
        catalog: Arc::new(Catalog::build(
            &BTreeMap::new(),
            &crate::Naming::uniform("__"),
        )),
        tools_generation: 1,
        pipeline: Arc::new(Pipeline::new(vec![Probe { log: log.clone() }])),
        index: None,
        generation: 0,
    });
    std::mem::forget(writer); // the snapshot never changes in these tests
    Gateway::new(GatewayShared::new(cell, pool), transport)
}

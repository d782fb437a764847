//! The metrics stage: after each request is answered (refused ones included) it counts it, times
//! it, and records its selection and its downstream call under the seed's metric names.
//!
//! Labels stay bounded: methods, transports, outcomes and stage names are closed sets, servers
//! come from the config, JSON-RPC codes are folded to the reserved range, and identities beyond
//! the first [`MAX_IDENTITY_LABELS`] share the label `_other`.

use std::collections::HashSet;
use std::sync::Arc;

use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use ucp_proxy::{Exchange, Outcome, SelectPurpose, Stage, Transport};

/// Distinct identities that get their own label; later ones are counted as `_other`.
pub const MAX_IDENTITY_LABELS: usize = 100;

/// Request and selection latencies: 100 µs to 30 s.
const SECONDS: [f64; 15] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
    30.0,
];

/// The request metrics, registered once and shared by every pipeline the process builds.
pub struct RequestMeter {
    requests: IntCounterVec,
    errors: IntCounterVec,
    duration: HistogramVec,
    selection: HistogramVec,
    query: Histogram,
    downstream_requests: IntCounterVec,
    downstream_errors: IntCounterVec,
    downstream_latency: HistogramVec,
    identities: IdentityLabels,
}

impl RequestMeter {
    pub fn register(registry: &Registry) -> prometheus::Result<RequestMeter> {
        fn counter(
            registry: &Registry,
            name: &str,
            help: &str,
            labels: &[&str],
        ) -> prometheus::Result<IntCounterVec> {
            let c = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        }
        fn histogram(
            registry: &Registry,
            name: &str,
            help: &str,
            labels: &[&str],
        ) -> prometheus::Result<HistogramVec> {
            let opts = HistogramOpts::new(name, help).buckets(SECONDS.to_vec());
            let h = HistogramVec::new(opts, labels)?;
            registry.register(Box::new(h.clone()))?;
            Ok(h)
        }
        let query = Histogram::with_opts(
            HistogramOpts::new(
                "ucp_tool_zoo_query_duration_seconds",
                "Time to rank the tool index for one uncached selection, query embedding included",
            )
            .buckets(SECONDS.to_vec()),
        )?;
        registry.register(Box::new(query.clone()))?;
        Ok(RequestMeter {
            requests: counter(
                registry,
                "ucp_router_requests_total",
                "Client requests answered, by method, transport, outcome (ok, error, refused) and identity",
                &["method", "transport", "outcome", "identity"],
            )?,
            errors: counter(
                registry,
                "ucp_router_errors_total",
                "Client requests answered with an error, by method and reason (the refusing stage, \
                 http_<status> or jsonrpc_<code>)",
                &["method", "reason"],
            )?,
            duration: histogram(
                registry,
                "ucp_router_request_duration_seconds",
                "Time from a request's head to its answer, by method",
                &["method"],
            )?,
            selection: histogram(
                registry,
                "ucp_router_selection_duration_seconds",
                "Time to answer a tool selection (cache or ranking), by purpose and cache hit",
                &["purpose", "cached"],
            )?,
            query,
            downstream_requests: counter(
                registry,
                "ucp_downstream_requests_total",
                "Requests routed to a downstream server",
                &["server"],
            )?,
            downstream_errors: counter(
                registry,
                "ucp_downstream_errors_total",
                "Requests routed to a downstream server that ended in an error",
                &["server"],
            )?,
            downstream_latency: histogram(
                registry,
                "ucp_downstream_latency_seconds",
                "Time from routing a request to a downstream server to its answer",
                &["server"],
            )?,
            identities: IdentityLabels::new(MAX_IDENTITY_LABELS),
        })
    }

    /// Starts `server`'s series at zero, so a scrape shows every configured server (and a rate
    /// over its errors exists) before its first request.
    pub fn touch_server(&self, server: &str) {
        self.downstream_requests.with_label_values(&[server]);
        self.downstream_errors.with_label_values(&[server]);
    }

    fn record(&self, ex: &Exchange) {
        if let Some(work) = &ex.select {
            if let Some(took) = ex.timings.selection {
                let purpose = match work.purpose {
                    SelectPurpose::Search => "search",
                    SelectPurpose::Select => "select",
                    SelectPurpose::DynamicList => "dynamic_list",
                };
                let cached = if work.cached { "true" } else { "false" };
                self.selection
                    .with_label_values(&[purpose, cached])
                    .observe(took.as_secs_f64());
            }
            if let Some(took) = work.query_duration {
                self.query.observe(took.as_secs_f64());
            }
        }
        if ex.transport == Transport::Internal {
            return; // the gateway's own work: not a client request
        }
        let method = ex.method.as_str();
        let (outcome, reason) = match &ex.outcome {
            Outcome::Ok | Outcome::Pending => ("ok", None),
            Outcome::Refused { stage, .. } => ("refused", Some(std::borrow::Cow::Borrowed(*stage))),
            Outcome::Status(status) => (
                "error",
                Some(std::borrow::Cow::Owned(format!("http_{}", status.as_u16()))),
            ),
            Outcome::Failed { code, .. } => (
                "error",
                Some(std::borrow::Cow::Owned(match code {
                    -32768..=-32000 => format!("jsonrpc_{code}"),
                    _ => "jsonrpc_other".to_string(),
                })),
            ),
        };
        let identity = self.identities.label(ex.identity.as_str());
        self.requests
            .with_label_values(&[method, ex.transport.as_str(), outcome, identity])
            .inc();
        if let Some(reason) = &reason {
            self.errors.with_label_values(&[method, reason]).inc();
        }
        self.duration
            .with_label_values(&[method])
            .observe(ex.timings.total().as_secs_f64());
        if let (Some(server), Some(took)) = (ex.server.as_deref(), ex.timings.downstream()) {
            self.downstream_requests.with_label_values(&[server]).inc();
            self.downstream_latency
                .with_label_values(&[server])
                .observe(took.as_secs_f64());
            if reason.is_some() {
                self.downstream_errors.with_label_values(&[server]).inc();
            }
        }
    }
}

/// The identities that have a label of their own: the first `cap` seen, for the process's life.
struct IdentityLabels {
    seen: parking_lot::RwLock<HashSet<Arc<str>>>,
    cap: usize,
}

impl IdentityLabels {
    fn new(cap: usize) -> Self {
        IdentityLabels {
            seen: parking_lot::RwLock::new(HashSet::new()),
            cap,
        }
    }

    /// `name` itself while it is one of the first `cap` identities, else `_other`.
    fn label<'a>(&self, name: &'a str) -> &'a str {
        if self.seen.read().contains(name) {
            return name;
        }
        let mut seen = self.seen.write();
        if seen.contains(name) || seen.len() < self.cap {
            seen.insert(name.into());
            name
        } else {
            "_other"
        }
    }
}

/// Records every answered request on the shared [`RequestMeter`].
pub struct RecordMetrics {
    meter: Arc<RequestMeter>,
}

impl RecordMetrics {
    pub fn new(meter: Arc<RequestMeter>) -> Self {
        RecordMetrics { meter }
    }
}

impl Stage for RecordMetrics {
    fn name(&self) -> &'static str {
        "record_metrics"
    }

    async fn on_response(&self, ex: &mut Exchange) {
        self.meter.record(ex);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_past_the_cap_share_one_label() {
        let labels = IdentityLabels::new(2);
        assert_eq!(labels.label("alice"), "alice");
        assert_eq!(labels.label("bob"), "bob");
        assert_eq!(labels.label("carol"), "_other");
        assert_eq!(labels.label("alice"), "alice");
        assert_eq!(labels.seen.read().len(), 2);
    }
}

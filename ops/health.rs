//! `/health` (the seed's JSON shape, with real downstream states) and `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::StatusCode;
use prometheus::Encoder;
use serde_json::{Map, Value, json};
use ucp_filters::ModelState;
use ucp_proxy::LinkState;
use ucp_proxy::downstream::Circuit;
use ucp_proxy::http::{LocalSessionManager, OpsEndpoints, Plain};

use crate::app::App;

#[derive(Clone)]
pub struct Ops {
    pub app: Arc<App>,
    pub sessions: Arc<LocalSessionManager>,
    pub draining: Arc<AtomicBool>,
    pub metrics: Arc<Metrics>,
}

impl Ops {
    pub fn health_json(&self) -> (StatusCode, Value) {
        let snap = self.app.gateway.snapshot.load();
        let mut servers = Map::new();
        let mut circuits = Map::new();
        let mut any_down = false;
        for ds in self.app.pool.servers().values() {
            let state = ds.state();
            any_down |= matches!(
                state,
                LinkState::Disconnected { .. } | LinkState::Connecting
            );
            servers.insert(ds.name.to_string(), Value::from(state.as_str()));
            let circuit = ds.circuit();
            any_down |= circuit != Circuit::Closed;
            circuits.insert(ds.name.to_string(), Value::from(circuit.as_str()));
        }
        let draining = self.draining.load(Ordering::Relaxed);
        let status = if draining {
            "draining"
        } else if any_down {
            "degraded"
        } else {
            "healthy"
        };
        // The index: still being built for this catalog (or to add the vectors of a model a mode
        // now wants), keyword-only where the mode wants the model and it cannot load, or whole.
        // `tools_indexed` counts what the index covers, not the catalog.
        let model = &self.app.filters.model;
        let model_state = model.state();
        let awaits_vectors = model.wanted()
            && model_state != ModelState::Unavailable
            && snap
                .index
                .as_ref()
                .is_some_and(|i| !i.tools.is_empty() && !i.engine.has_vectors());
        let indexing = !snap.index_covers_catalog() || awaits_vectors;
        let tool_zoo = if indexing {
            "indexing"
        } else if model_state == ModelState::Unavailable {
            "degraded"
        } else {
            "healthy"
        };
        let tools_indexed = snap.index.as_ref().map_or(0, |i| i.tools.len());
        let active_sessions = self
            .sessions
            .sessions
            .try_read()
            .map(|s| s.len())
            .unwrap_or(0);
        // The router can route when some server is connected (or none is configured); the
        // session manager is degraded when it holds its maximum of sessions (new ones get 503).
        let servers_up = self
            .app
            .pool
            .servers()
            .values()
            .filter(|ds| ds.state() == LinkState::Connected)
            .count();
        let router = if servers_up == 0 && !self.app.pool.servers().is_empty() {
            "degraded"
        } else {
            "healthy"
        };
        // ... and while its store fails (sessions then live in this process only).
        let store_failing = self.app.gateway.store.as_ref().and_then(|s| s.failing());
        let session_manager =
            if active_sessions >= snap.config.session.max_sessions || store_failing.is_some() {
                "degraded"
            } else {
                "healthy"
            };
        let body = json!({
            "status": status,
            "version": env!("CARGO_PKG_VERSION"),
            "components": {
                "tool_zoo": tool_zoo,
                "router": router,
                "session_manager": session_manager,
                "downstream_servers": servers,
            },
            "metrics": {
                "tools_indexed": tools_indexed,
                "tools_in_catalog": snap.catalog.tool_count(),
                "active_sessions": active_sessions,
                "uptime_seconds": self.app.started.elapsed().as_secs(),
                "session_backend": self.app.gateway.store.as_ref().map_or("memory", |s| s.backend_name()),
                "embedding_model": model_state.as_str(),
            },
        });
        let mut body = body;
        if let Some(region) = &snap.config.server.region {
            body["region"] = json!(region);
        }
        body["circuit_breakers"] = Value::Object(circuits);
        if !snap.catalog.collisions.is_empty() {
            let shown: Vec<String> = snap
                .catalog
                .collisions
                .iter()
                .map(|c| c.to_string())
                .collect();
            body["name_collisions"] = json!(shown);
        }
        if let Some(error) = store_failing {
            body["metrics"]["session_store_error"] = json!(error);
        }
        if indexing {
            let progress = &self.app.indexing;
            body["metrics"]["indexing"] = json!({
                "embedded": progress.embedded.load(Ordering::Relaxed),
                "total": progress.total.load(Ordering::Relaxed),
            });
        }
        let code = if draining {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        };
        (code, body)
    }
}

impl OpsEndpoints for Ops {
    fn health(&self) -> Plain {
        let (status, body) = self.health_json();
        Plain {
            status,
            content_type: "application/json",
            body: serde_json::to_vec_pretty(&body).unwrap_or_default(),
        }
    }

    fn metrics(&self) -> Plain {
        let snap = self.app.gateway.snapshot.load();
        let m = &self.metrics;
        m.tools.set(snap.catalog.tool_count() as i64);
        // Servers a reload removed leave the gauge (their counters stay, as counters do).
        m.up.reset();
        for ds in self.app.pool.servers().values() {
            let up = i64::from(ds.state() == LinkState::Connected);
            m.up.with_label_values(&[&*ds.name]).set(up);
            // A server's link counts its reconnections; the counter follows it, never backwards.
            let restarts = m.restarts.with_label_values(&[&*ds.name]);
            restarts.inc_by(ds.restarts().saturating_sub(restarts.get()));
            self.app.filters.request_meter().touch_server(&ds.name);
        }
        let (hits, misses) = self
            .app
            .filters
            .model
            .get()
            .map_or((0, 0), |e| e.cache_stats());
        for (counter, now) in [(&m.zoo_cache_hits, hits), (&m.zoo_cache_misses, misses)] {
            counter.inc_by(now.saturating_sub(counter.get()));
        }
        let mut body = Vec::new();
        let encoded =
            prometheus::TextEncoder::new().encode(&self.metrics.registry.gather(), &mut body);
        match encoded {
            Ok(()) => Plain {
                status: StatusCode::OK,
                content_type: "text/plain; version=0.0.4",
                body,
            },
            Err(e) => Plain {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                content_type: "text/plain; charset=utf-8",
                body: e.to_string().into_bytes(),
            },
        }
    }
}

/// The Prometheus registry. Gauges are read from live state at scrape time.
pub struct Metrics {
    registry: prometheus::Registry,
    tools: prometheus::IntGauge,
    up: prometheus::IntGaugeVec,
    restarts: prometheus::IntCounterVec,
    zoo_cache_hits: prometheus::IntCounter,
    zoo_cache_misses: prometheus::IntCounter,
    /// Reloads that took effect, and those that failed (the old configuration kept serving).
    pub reloads: prometheus::IntCounter,
    pub reload_failures: prometheus::IntCounter,
    /// 1 when the latest reload took effect (or none was tried), 0 after a failed one.
    pub last_reload_ok: prometheus::IntGauge,
    /// Unix time of the latest reload that took effect (0: none yet).
    pub last_reload_at: prometheus::IntGauge,
}

impl Metrics {
    /// Registers the gateway's own metrics in `registry` (the stages register theirs in it too).
    pub fn new(registry: prometheus::Registry) -> prometheus::Result<Metrics> {
        let tools = prometheus::IntGauge::new(
            "ucp_tool_zoo_tools_total",
            "Tools in the aggregated catalog",
        )?;
        let up = prometheus::IntGaugeVec::new(
            prometheus::Opts::new(
                "ucp_downstream_up",
                "1 when the downstream server is connected",
            ),
            &["server"],
        )?;
        let restarts = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "ucp_downstream_restarts_total",
                "Reconnections after the first connection",
            ),
            &["server"],
        )?;
        let counter = |name: &str, help: &str| -> prometheus::Result<prometheus::IntCounter> {
            let c = prometheus::IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let zoo_cache_hits = counter(
            "ucp_tool_zoo_cache_hits_total",
            "Query embeddings answered from the embedding cache",
        )?;
        let zoo_cache_misses = counter(
            "ucp_tool_zoo_cache_misses_total",
            "Query embeddings computed by the model",
        )?;
        let reloads = counter(
            "ucp_config_reloads_total",
            "Configuration reloads (SIGHUP) that took effect",
        )?;
        let reload_failures = counter(
            "ucp_config_reload_failures_total",
            "Configuration reloads (SIGHUP) that failed; the previous configuration kept serving",
        )?;
        let gauge = |name: &str, help: &str| -> prometheus::Result<prometheus::IntGauge> {
            let g = prometheus::IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let last_reload_ok = gauge(
            "ucp_config_last_reload_successful",
            "1 when the latest configuration reload took effect, 0 after a failed one",
        )?;
        last_reload_ok.set(1);
        let last_reload_at = gauge(
            "ucp_config_last_reload_success_timestamp_seconds",
            "Unix time of the latest configuration reload that took effect",
        )?;
        registry.register(Box::new(tools.clone()))?;
        registry.register(Box::new(up.clone()))?;
        registry.register(Box::new(restarts.clone()))?;
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(Metrics {
            registry,
            tools,
            up,
            restarts,
            zoo_cache_hits,
            zoo_cache_misses,
            reloads,
            reload_failures,
            last_reload_ok,
            last_reload_at,
        })
    }
}

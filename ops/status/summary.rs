//! The text `ucp status` prints, from a `/health` document and a `/metrics` scrape (pure, so the
//! layout is tested without a gateway).

use std::collections::BTreeMap;
use std::fmt::Write;

use prometheus_parse::{Scrape, Value as Metric};
use serde_json::Value;

/// Per-second rates between two scrapes.
pub struct Rates {
    seconds: f64,
    requests: f64,
    errors: f64,
    downstream: BTreeMap<String, f64>,
}

impl Rates {
    pub fn between(first: &Scrape, second: &Scrape, seconds: f64) -> Rates {
        let rate =
            |name: &str| (total(second, name, &[]) - total(first, name, &[])).max(0.0) / seconds;
        let before = by_label(first, "ucp_downstream_requests_total", "server");
        let downstream = by_label(second, "ucp_downstream_requests_total", "server")
            .into_iter()
            .map(|(server, n)| {
                let was = before.get(&server).copied().unwrap_or(0.0);
                (server, (n - was).max(0.0) / seconds)
            })
            .collect();
        Rates {
            seconds,
            requests: rate("ucp_router_requests_total"),
            errors: rate("ucp_router_errors_total"),
            downstream,
        }
    }
}

pub fn render(
    base: &str,
    health: &Value,
    metrics: Result<&Scrape, &str>,
    rates: Option<&Rates>,
) -> String {
    let mut out = String::new();
    let status = health["status"].as_str().unwrap_or("unknown");
    let _ = writeln!(out, "UCP at {base}: {status}");
    let uptime = health["metrics"]["uptime_seconds"].as_u64();
    let _ = writeln!(
        out,
        "  version {}{}",
        health["version"].as_str().unwrap_or("?"),
        uptime.map_or(String::new(), |s| format!(", up {}", duration(s)))
    );
    let components: Vec<String> = ["tool_zoo", "router", "session_manager"]
        .iter()
        .filter_map(|c| {
            let state = health["components"][c].as_str()?;
            Some(format!("{c} {state}"))
        })
        .collect();
    let _ = writeln!(out, "  components: {}", components.join(", "));
    servers(&mut out, health, metrics.ok(), rates);
    let m = &health["metrics"];
    let count = |v: &Value| v.as_u64().map_or("?".to_string(), |n| n.to_string());
    let _ = write!(
        out,
        "  tools: {} indexed, {} in catalog",
        count(&m["tools_indexed"]),
        count(&m["tools_in_catalog"])
    );
    if let (Some(done), Some(all)) = (
        m["indexing"]["embedded"].as_u64(),
        m["indexing"]["total"].as_u64(),
    ) {
        let _ = write!(out, " (indexing: {done} of {all} embedded)");
    }
    let _ = writeln!(out);
    if let Some(collisions) = health["name_collisions"].as_array() {
        let _ = writeln!(out, "  name collisions: {}", collisions.len());
        for c in collisions {
            let _ = writeln!(out, "    {}", c.as_str().unwrap_or_default());
        }
    }
    let created = metrics
        .ok()
        .map(|s| int(total(s, "ucp_session_created_total", &[])));
    let _ = writeln!(
        out,
        "  sessions: {} active{}",
        count(&m["active_sessions"]),
        created.map_or(String::new(), |n| format!(", {n} created"))
    );
    match metrics {
        Ok(scrape) => traffic(&mut out, scrape, uptime, rates),
        Err(why) => {
            let _ = writeln!(
                out,
                "  metrics: unavailable ({why}; with server.metrics.port give --metrics-url)"
            );
        }
    }
    out
}

fn servers(out: &mut String, health: &Value, scrape: Option<&Scrape>, rates: Option<&Rates>) {
    let Some(states) = health["components"]["downstream_servers"].as_object() else {
        return;
    };
    let _ = writeln!(out, "  servers ({}):", states.len());
    let width = states.keys().map(String::len).max().unwrap_or(0);
    let requests = scrape.map(|s| by_label(s, "ucp_downstream_requests_total", "server"));
    let errors = scrape.map(|s| by_label(s, "ucp_downstream_errors_total", "server"));
    let restarts = scrape.map(|s| by_label(s, "ucp_downstream_restarts_total", "server"));
    for (name, state) in states {
        let circuit = health["circuit_breakers"][name].as_str().unwrap_or("?");
        let mut line = format!(
            "    {name:<width$}  {:<12}  circuit {circuit:<9}",
            state.as_str().unwrap_or("?")
        );
        if let (Some(req), Some(err)) = (&requests, &errors) {
            let n = |m: &BTreeMap<String, f64>| m.get(name).copied().unwrap_or(0.0);
            let _ = write!(line, "  {} requests, {} errors", int(n(req)), int(n(err)));
            if let Some(r) = restarts.as_ref().map(n).filter(|r| *r > 0.0) {
                let _ = write!(line, ", {} restarts", int(r));
            }
        }
        if let Some(rate) = rates.and_then(|r| r.downstream.get(name)) {
            let _ = write!(line, ", {rate:.2}/s");
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

fn traffic(out: &mut String, scrape: &Scrape, uptime: Option<u64>, rates: Option<&Rates>) {
    let outcomes = by_label(scrape, "ucp_router_requests_total", "outcome");
    let requests: f64 = outcomes.values().fold(0.0, |a, b| a + b);
    let shown: Vec<String> = outcomes
        .iter()
        .map(|(o, n)| format!("{o} {}", int(*n)))
        .collect();
    let errors = total(scrape, "ucp_router_errors_total", &[]);
    let mut reasons: Vec<(String, f64)> = by_label(scrape, "ucp_router_errors_total", "reason")
        .into_iter()
        .filter(|(_, n)| *n > 0.0)
        .collect();
    reasons.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<String> = reasons
        .iter()
        .take(3)
        .map(|(r, n)| format!("{r} {}", int(*n)))
        .collect();
    let _ = writeln!(
        out,
        "  requests: {} total{}; {} errors{}",
        int(requests),
        if shown.is_empty() {
            String::new()
        } else {
            format!(" ({})", shown.join(", "))
        },
        int(errors),
        if top.is_empty() {
            String::new()
        } else {
            format!(" ({})", top.join(", "))
        },
    );
    match (rates, uptime) {
        (Some(r), _) => {
            let _ = writeln!(
                out,
                "  rates over the last {:.1} s: {:.2} requests/s, {:.2} errors/s",
                r.seconds, r.requests, r.errors
            );
        }
        (None, Some(up)) if up > 0 => {
            let _ = writeln!(
                out,
                "  average since start: {:.2} requests/s, {:.2} errors/s (--sample SECS for current rates)",
                requests / up as f64,
                errors / up as f64
            );
        }
        _ => {}
    }
    let refused = [
        ("auth failures", "ucp_auth_failures_total"),
        ("rate limited", "ucp_rate_limited_total"),
    ]
    .iter()
    .map(|(label, name)| (label, total(scrape, name, &[])))
    .filter(|(_, n)| *n > 0.0)
    .map(|(label, n)| format!("{label} {}", int(n)))
    .collect::<Vec<_>>();
    if !refused.is_empty() {
        let _ = writeln!(out, "  refused: {}", refused.join(", "));
    }
    let reloads = total(scrape, "ucp_config_reloads_total", &[]);
    let failed = total(scrape, "ucp_config_reload_failures_total", &[]);
    let latest_failed = scrape
        .samples
        .iter()
        .any(|s| s.metric == "ucp_config_last_reload_successful" && s.value == Metric::Gauge(0.0));
    let last = if latest_failed {
        "; the latest FAILED (the previous config keeps serving)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "  reloads: {} ok, {} failed{last}",
        int(reloads),
        int(failed)
    );
}

/// A counter as a whole number.
fn int(n: f64) -> u64 {
    n.max(0.0).round() as u64
}

/// A counter's or gauge's series that carry `labels`, summed.
fn total(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .filter_map(|s| match s.value {
            Metric::Counter(v) | Metric::Gauge(v) | Metric::Untyped(v) => Some(v),
            _ => None,
        })
        .fold(0.0, |a, b| a + b)
}

/// A counter's series summed by one label's value.
fn by_label(scrape: &Scrape, name: &str, label: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for s in scrape.samples.iter().filter(|s| s.metric == name) {
        if let (Some(key), Metric::Counter(v) | Metric::Gauge(v) | Metric::Untyped(v)) =
            (s.labels.get(label), &s.value)
        {
            *out.entry(key.to_string()).or_insert(0.0) += v;
        }
    }
    out
}

/// `3d 4h`, `2h 05m`, `4m 03s`, `12s`.
fn duration(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s:02}s"),
        (0, _, _) => format!("{h}h {m:02}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests;

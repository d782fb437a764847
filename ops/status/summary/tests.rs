//! The summary's layout from a fixed health document and scrape.

use serde_json::json;

use super::*;

fn scrape(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap()
}

const METRICS: &str = "\
# TYPE ucp_router_requests_total counter
ucp_router_requests_total{method=\"tools/call\",transport=\"http\",outcome=\"ok\",identity=\"anonymous\"} 7
ucp_router_requests_total{method=\"tools/list\",transport=\"http\",outcome=\"ok\",identity=\"anonymous\"} 3
ucp_router_requests_total{method=\"tools/call\",transport=\"http\",outcome=\"error\",identity=\"anonymous\"} 2
# TYPE ucp_router_errors_total counter
ucp_router_errors_total{method=\"tools/call\",reason=\"jsonrpc_-32602\"} 2
# TYPE ucp_downstream_requests_total counter
ucp_downstream_requests_total{server=\"time\"} 9
# TYPE ucp_downstream_errors_total counter
ucp_downstream_errors_total{server=\"time\"} 2
# TYPE ucp_session_created_total counter
ucp_session_created_total 4
# TYPE ucp_config_reloads_total counter
ucp_config_reloads_total 1
# TYPE ucp_config_reload_failures_total counter
ucp_config_reload_failures_total 1
# TYPE ucp_config_last_reload_successful gauge
ucp_config_last_reload_successful 0
";

fn health() -> Value {
    json!({
        "status": "degraded",
        "version": "0.1.0",
        "components": {
            "tool_zoo": "healthy", "router": "healthy", "session_manager": "healthy",
            "downstream_servers": {"time": "connected", "github": "disconnected"}
        },
        "circuit_breakers": {"time": "closed", "github": "open"},
        "metrics": {"tools_indexed": 2, "tools_in_catalog": 2, "active_sessions": 1, "uptime_seconds": 3725}
    })
}

#[test]
fn a_summary_names_servers_counts_and_reloads() {
    let text = render("http://h:1", &health(), Ok(&scrape(METRICS)), None);
    for expected in [
        "UCP at http://h:1: degraded\n",
        "  version 0.1.0, up 1h 02m\n",
        "  components: tool_zoo healthy, router healthy, session_manager healthy\n",
        "  servers (2):\n",
        "    github  disconnected  circuit open       0 requests, 0 errors\n",
        "    time    connected     circuit closed     9 requests, 2 errors\n",
        "  tools: 2 indexed, 2 in catalog\n",
        "  sessions: 1 active, 4 created\n",
        "  requests: 12 total (error 2, ok 10); 2 errors (jsonrpc_-32602 2)\n",
        "  average since start: 0.00 requests/s",
        "  reloads: 1 ok, 1 failed; the latest FAILED",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn rates_come_from_two_samples() {
    let later = METRICS
        .replace(
            "outcome=\"ok\",identity=\"anonymous\"} 7",
            "outcome=\"ok\",identity=\"anonymous\"} 11",
        )
        .replace("{server=\"time\"} 9", "{server=\"time\"} 13");
    let rates = Rates::between(&scrape(METRICS), &scrape(&later), 2.0);
    let text = render("http://h:1", &health(), Ok(&scrape(&later)), Some(&rates));
    assert!(
        text.contains("  rates over the last 2.0 s: 2.00 requests/s, 0.00 errors/s\n"),
        "{text}"
    );
    assert!(text.contains("13 requests, 2 errors, 2.00/s"), "{text}");
}

#[test]
fn without_metrics_the_health_part_still_prints() {
    let text = render(
        "http://h:1",
        &health(),
        Err("http://h:1/metrics answered 404"),
        None,
    );
    assert!(
        text.contains("  metrics: unavailable (http://h:1/metrics answered 404;"),
        "{text}"
    );
    assert!(text.contains("  sessions: 1 active\n"), "{text}");
}

#[test]
fn durations_read_naturally() {
    assert_eq!(duration(12), "12s");
    assert_eq!(duration(243), "4m 03s");
    assert_eq!(duration(7500), "2h 05m");
    assert_eq!(duration(3 * 86_400 + 4 * 3600), "3d 4h");
}

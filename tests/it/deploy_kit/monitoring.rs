//! The Prometheus alert rules and the Grafana dashboard of the deploy kit, checked with promtool.

use std::fs;
use std::process::Command;

use serde_json::Value;

use super::*;

const PROMTOOL_SETUP: &str = "scripts/setup.sh extracts promtool into $UCP_HOME/tools/promtool";

#[test]
fn the_alert_rules_pass_promtool_and_every_alert_has_a_unit_test_that_fires_it() {
    let promtool = tool("promtool/promtool");
    let rules: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read_kit("prometheus-alerts.yml")).expect("alerts parse");
    let alerts: Vec<String> = rules["groups"]
        .as_sequence()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_sequence().expect("rules").iter())
        .map(|r| {
            r["alert"]
                .as_str()
                .expect("alerting rules only")
                .to_string()
        })
        .collect();
    for seed in ["UCPServiceDown", "UCPHighErrorRate", "UCPHighLatency"] {
        assert!(
            alerts.iter().any(|a| a == seed),
            "the seed's {seed} is gone: {alerts:?}"
        );
    }

    let out = success(
        Command::new(&promtool)
            .args(["check", "rules", "prometheus-alerts.yml"])
            .current_dir(kit_dir()),
        PROMTOOL_SETUP,
    );
    assert!(
        out.contains(&format!("SUCCESS: {} rules found", alerts.len())),
        "{out}"
    );
    let out = success(
        Command::new(&promtool)
            .args(["test", "rules", "prometheus-alerts.test.yml"])
            .current_dir(kit_dir()),
        PROMTOOL_SETUP,
    );
    assert!(out.contains("SUCCESS"), "{out}");

    // promtool passes a test file that never mentions an alert: each must be seen firing.
    let tests: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read_kit("prometheus-alerts.test.yml")).expect("tests parse");
    let fired: Vec<&str> = tests["tests"]
        .as_sequence()
        .expect("tests")
        .iter()
        .flat_map(|t| t["alert_rule_test"].as_sequence().into_iter().flatten())
        .filter(|case| {
            case["exp_alerts"]
                .as_sequence()
                .is_some_and(|e| !e.is_empty())
        })
        .filter_map(|case| case["alertname"].as_str())
        .collect();
    for alert in &alerts {
        assert!(
            fired.contains(&alert.as_str()),
            "prometheus-alerts.test.yml has no case where {alert} fires"
        );
    }
}

/// Every panel, rows' nested panels included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(panels: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in panels.as_array().into_iter().flatten() {
            out.push(panel);
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

fn exprs(panel: &Value) -> Vec<&str> {
    panel["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["expr"].as_str())
        .collect()
}

#[test]
fn the_dashboard_has_the_seed_s_six_panels_and_promtool_accepts_every_query() {
    let dashboard: Value =
        serde_json::from_str(&read_kit("grafana-dashboard.json")).expect("dashboard JSON");
    let panels = panels(&dashboard);
    let titled = |title: &str| -> Vec<&str> {
        let found: Vec<&&Value> = panels.iter().filter(|p| p["title"] == title).collect();
        assert_eq!(found.len(), 1, "one panel titled {title:?}");
        let exprs = exprs(found[0]);
        assert!(!exprs.is_empty(), "panel {title:?} queries nothing");
        exprs
    };
    let any = |exprs: &[&str], needles: &[&str]| {
        exprs
            .iter()
            .any(|e| needles.iter().all(|needle| e.contains(needle)))
    };

    // The seed's six (production_deployment.md, "Grafana Dashboard"), each showing what it asks for.
    let request_rate = titled("Request Rate"); // requests per minute
    assert!(
        any(&request_rate, &["rate(ucp_router_requests_total", "* 60"]),
        "{request_rate:?}"
    );
    let latency = titled("Latency"); // P50, P95, P99
    for q in ["0.50", "0.95", "0.99"] {
        assert!(
            any(
                &latency,
                &[
                    &format!("histogram_quantile({q},"),
                    "ucp_router_request_duration_seconds_bucket"
                ]
            ),
            "no p{q} request latency: {latency:?}"
        );
    }
    let error_rate = titled("Error Rate"); // failed requests percentage
    assert!(
        any(
            &error_rate,
            &["outcome=\"error\"", "/ sum (rate(ucp_router_requests_total"]
        ),
        "{error_rate:?}"
    );
    let resources = titled("Resource Usage"); // CPU, RAM (disk is the host's: node_exporter)
    assert!(
        any(&resources, &["rate(process_cpu_seconds_total"]),
        "{resources:?}"
    );
    assert!(
        any(&resources, &["process_resident_memory_bytes"]),
        "{resources:?}"
    );
    let tool_zoo = titled("Tool Zoo"); // indexed tools, cache hit rate
    assert!(
        any(&tool_zoo, &["ucp_tool_zoo_tools_total"]),
        "{tool_zoo:?}"
    );
    assert!(
        any(&tool_zoo, &["cache_hits_total", "cache_misses_total"]),
        "{tool_zoo:?}"
    );
    let sessions = titled("Sessions"); // active sessions, average duration
    assert!(
        any(&sessions, &["ucp_session_active_total"]),
        "{sessions:?}"
    );
    assert!(
        any(
            &sessions,
            &[
                "ucp_session_duration_seconds_sum",
                "ucp_session_duration_seconds_count"
            ]
        ),
        "{sessions:?}"
    );

    // Every query of every panel is valid PromQL: promtool checks it as a recording rule, with
    // Grafana's variables given values.
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    let mut count = 0;
    for panel in &panels {
        for expr in exprs(panel) {
            let expr = expr
                .replace("$__rate_interval", "5m")
                .replace("$__range", "6h")
                .replace("$instance", ".*");
            count += 1;
            rules += &format!(
                "      - record: dashboard:query_{count}\n        expr: {}\n",
                serde_json::to_string(&expr).unwrap()
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("dashboard-rules.yml"), rules).unwrap();
    let out = success(
        Command::new(tool("promtool/promtool"))
            .args(["check", "rules", "dashboard-rules.yml"])
            .current_dir(dir.path()),
        PROMTOOL_SETUP,
    );
    assert!(
        out.contains(&format!("SUCCESS: {count} rules found")),
        "{out}"
    );
}

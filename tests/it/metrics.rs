//! The metrics scrape from outside: on its own listener (`server.metrics.port`), parsed as
//! Prometheus text, with every seed name present and moved by real traffic (served, refused and
//! rate-limited requests, a selection, a downstream call, a session opened and closed, a SIGHUP).

use std::time::Duration;

use prometheus_parse::{Sample, Scrape, Value as Metric};
use serde_json::{Value, json};

use crate::harness::*;

/// The seed's names (and the additions); histograms where the seed shows quantiles.
const COUNTERS: &[&str] = &[
    "ucp_router_requests_total",
    "ucp_router_errors_total",
    "ucp_tool_zoo_cache_hits_total",
    "ucp_tool_zoo_cache_misses_total",
    "ucp_session_created_total",
    "ucp_downstream_requests_total",
    "ucp_downstream_errors_total",
    "ucp_auth_failures_total",
    "ucp_rate_limited_total",
    "ucp_downstream_restarts_total",
    "ucp_config_reloads_total",
    "ucp_config_reload_failures_total",
];
const GAUGES: &[&str] = &["ucp_tool_zoo_tools_total", "ucp_session_active_total"];
const HISTOGRAMS: &[&str] = &[
    "ucp_router_selection_duration_seconds",
    "ucp_tool_zoo_query_duration_seconds",
    "ucp_session_duration_seconds",
    "ucp_downstream_latency_seconds",
    "ucp_router_request_duration_seconds",
];

async fn scrape(url: &str) -> Scrape {
    let response = reqwest::get(url).await.expect("GET metrics");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text")
}

fn matches(sample: &Sample, name: &str, labels: &[(&str, &str)]) -> bool {
    sample.metric == name && labels.iter().all(|(k, v)| sample.labels.get(k) == Some(*v))
}

/// The sum of a counter's or gauge's series that carry `labels`; `None` when there are none.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let values: Vec<f64> = scrape
        .samples
        .iter()
        .filter(|s| matches(s, name, labels))
        .filter_map(|s| match s.value {
            Metric::Counter(v) | Metric::Gauge(v) | Metric::Untyped(v) => Some(v),
            _ => None,
        })
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

/// How many observations a histogram's series with `labels` hold (its `_count`).
fn observations(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    value(scrape, &format!("{name}_count"), labels).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scrape_parses_as_prometheus_text_with_every_seed_name() {
    let (a, b) = ("metrics-key-a-0123456789", "metrics-key-b-0123456789");
    let metrics_port = free_port();
    let keys = format!(
        "  metrics:\n    port: {metrics_port}\n  auth:\n    enabled: true\n    provider: apikey\n    api_keys:\n      - {{identity: alice, hash: {:?}}}\n      - {{identity: bob, hash: {:?}}}\n    rate_limit:\n      requests_per_minute: 1\n      burst: 10\n",
        hash_api_key(a),
        hash_api_key(b)
    );
    let gw = GatewayProcess::start(&http_config(
        &[stdio_server("time", &time_bin(), &[])],
        &keys,
    ));
    let metrics_url = format!("http://127.0.0.1:{metrics_port}/metrics");
    wait_connected(&gw.url(""), &["time"]).await;
    eventually(Duration::from_secs(60), "the index", || async {
        let (_, health) = get_json(&gw.url("/health")).await;
        (health["metrics"]["tools_indexed"].as_u64() > Some(0)).then_some(())
    })
    .await;

    // Alice: a session with a downstream call and two selections. Under `exposure: all` the first
    // selection is what makes the embedding model wanted: the index is rebuilt with vectors (a new
    // generation, so the second selection ranks again), and every later one comes from the cache.
    let url = gw.mcp_url();
    let (status, headers, body) = post(&url, initialize_body(), &[("x-api-key", a)]).await;
    assert_eq!(status, 200, "{body}");
    let id = headers["mcp-session-id"].to_str().unwrap().to_string();
    let alice = [("x-api-key", a), ("mcp-session-id", id.as_str())];
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(post(&url, initialized.to_string(), &alice).await.0, 202);
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "time__get_current_time", "arguments": {"timezone": "UTC"}}});
    let (status, _, body) = post(&url, call.to_string(), &alice).await;
    assert_eq!(status, 200, "{body}");
    assert!(messages(&body)[0]["result"].is_object(), "{body}");
    let select = json!({"context": "what time is it in Tokyo"}).to_string();
    for n in 0..2 {
        let (status, _, body) =
            post(&gw.url("/v1/select"), select.clone(), &[("x-api-key", a)]).await;
        assert_eq!(status, 200, "{body}");
        if n == 0 {
            eventually(
                Duration::from_secs(120),
                "the index with vectors",
                || async {
                    let (_, health) = get_json(&gw.url("/health")).await;
                    (health["metrics"]["embedding_model"] == "loaded"
                        && health["components"]["tool_zoo"] == "healthy")
                        .then_some(())
                },
            )
            .await;
        }
    }
    // A bad key: refused by authentication.
    let (status, _, _) = post(
        &url,
        initialize_body(),
        &[("x-api-key", "not-a-key-0123456789")],
    )
    .await;
    assert_eq!(status, 401);
    // Bob runs through his burst of 10: the 11th is refused by the rate limit.
    for n in 1..=11 {
        let (status, _, body) =
            post(&gw.url("/v1/select"), select.clone(), &[("x-api-key", b)]).await;
        let expected = if n <= 10 { 200 } else { 429 };
        assert_eq!(status, expected, "bob's request {n}: {body}");
    }
    // Alice ends her session; a SIGHUP re-reads what it re-reads (no TLS here: a success).
    let delete = reqwest::Client::new()
        .delete(&url)
        .header("x-api-key", a)
        .header("mcp-session-id", &id)
        .send()
        .await
        .unwrap();
    assert!(delete.status().is_success(), "DELETE: {}", delete.status());
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &gw.child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());

    let scrape = eventually(
        Duration::from_secs(20),
        "the session's end and the reload",
        || async {
            let scrape = scrape(&metrics_url).await;
            (observations(&scrape, "ucp_session_duration_seconds", &[]) >= 1.0
                && value(&scrape, "ucp_config_reloads_total", &[]) == Some(1.0))
            .then_some(scrape)
        },
    )
    .await;

    let is_counter: fn(&Metric) -> bool = |v| matches!(v, Metric::Counter(_));
    let is_gauge: fn(&Metric) -> bool = |v| matches!(v, Metric::Gauge(_));
    for (names, kind, is_kind) in [
        (COUNTERS, "counter", is_counter),
        (GAUGES, "gauge", is_gauge),
    ] {
        for name in names {
            let typed = scrape
                .samples
                .iter()
                .any(|s| s.metric == *name && is_kind(&s.value));
            assert!(typed, "{name} is not a {kind} in the scrape");
        }
    }
    for name in HISTOGRAMS {
        let buckets = scrape.samples.iter().any(|s| {
            s.metric.trim_end_matches("_bucket") == *name && matches!(s.value, Metric::Histogram(_))
        });
        assert!(buckets, "{name} has no histogram buckets in the scrape");
        assert!(
            observations(&scrape, name, &[]) >= 1.0,
            "{name} observed nothing"
        );
    }
    for name in scrape.docs.keys() {
        assert!(!scrape.docs[name].is_empty(), "{name} has no HELP");
    }

    let requests = |labels: &[(&str, &str)]| value(&scrape, "ucp_router_requests_total", labels);
    assert_eq!(
        requests(&[
            ("method", "tools/call"),
            ("outcome", "ok"),
            ("identity", "alice")
        ]),
        Some(1.0)
    );
    assert_eq!(
        requests(&[
            ("method", "POST /v1/select"),
            ("outcome", "ok"),
            ("identity", "bob")
        ]),
        Some(10.0)
    );
    assert_eq!(
        requests(&[
            ("method", "POST /v1/select"),
            ("outcome", "refused"),
            ("identity", "bob")
        ]),
        Some(1.0)
    );
    assert_eq!(
        requests(&[
            ("method", "initialize"),
            ("outcome", "refused"),
            ("identity", "anonymous")
        ]),
        Some(1.0)
    );
    let errors = |labels: &[(&str, &str)]| value(&scrape, "ucp_router_errors_total", labels);
    assert_eq!(errors(&[("reason", "rate_limit")]), Some(1.0));
    assert_eq!(errors(&[("reason", "authenticate")]), Some(1.0));
    assert_eq!(value(&scrape, "ucp_rate_limited_total", &[]), Some(1.0));
    assert_eq!(value(&scrape, "ucp_auth_failures_total", &[]), Some(1.0));
    assert_eq!(
        value(
            &scrape,
            "ucp_downstream_requests_total",
            &[("server", "time")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &scrape,
            "ucp_downstream_errors_total",
            &[("server", "time")]
        ),
        Some(0.0)
    );
    assert_eq!(
        observations(
            &scrape,
            "ucp_downstream_latency_seconds",
            &[("server", "time")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &scrape,
            "ucp_downstream_restarts_total",
            &[("server", "time")]
        ),
        Some(0.0)
    );
    assert_eq!(value(&scrape, "ucp_session_created_total", &[]), Some(1.0));
    assert_eq!(value(&scrape, "ucp_session_active_total", &[]), Some(0.0));
    assert_eq!(
        value(&scrape, "ucp_config_reload_failures_total", &[]),
        Some(0.0)
    );
    assert!(value(&scrape, "ucp_tool_zoo_tools_total", &[]) >= Some(2.0));
    // 12 selections: the first ranked the keyword index, the second the index with vectors, the
    // other 10 came from the selection cache.
    let selections = |cached| {
        observations(
            &scrape,
            "ucp_router_selection_duration_seconds",
            &[("purpose", "select"), ("cached", cached)],
        )
    };
    assert_eq!((selections("false"), selections("true")), (2.0, 10.0));
    // One ranking per selection that missed the cache.
    assert_eq!(
        observations(&scrape, "ucp_tool_zoo_query_duration_seconds", &[]),
        2.0
    );

    // The main listener no longer serves /metrics; the metrics listener serves nothing else.
    let main = reqwest::Client::new()
        .get(gw.url("/metrics"))
        .header("x-api-key", a)
        .send()
        .await
        .unwrap();
    assert_eq!(main.status(), 404);
    let other = reqwest::get(format!("http://127.0.0.1:{metrics_port}/mcp"))
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    let health = reqwest::get(format!("http://127.0.0.1:{metrics_port}/health"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let _: Value = health.json().await.unwrap();

    // The deploy kit's alerts and dashboard query only names this scrape holds (a renamed metric
    // would silently blind an alert): `ops/deploy/check_kit.py --check` reads their expressions.
    let text = reqwest::get(&metrics_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut check = std::process::Command::new("python3")
        .arg(repo_file("ops/deploy/check_kit.py"))
        .args(["--check", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 ops/deploy/check_kit.py");
    std::io::Write::write_all(&mut check.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = check.wait_with_output().unwrap();
    let names = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the deploy kit queries metrics this gateway does not expose: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(names.lines().count() >= 20, "the kit's names: {names}");
}

//! `session.backend: redis` with a real `redis-server` and two gateway instances behind a real
//! nginx (round robin, no affinity): a session begun on one continues on the other with its
//! history, what one instance learns improves search on the other, and Redis going away leaves
//! routing and selection working (degraded, clear errors) until it comes back by itself.

use std::time::Duration;

use serde_json::json;

use crate::harness::*;
use crate::sessions::{ALICE, BOB, event_kinds};

fn instance_config(redis_port: u16) -> String {
    let servers = [
        stdio_server("time", &time_bin(), &["--local-timezone", "UTC"]),
        stdio_server("everything", &everything_bin(), &["stdio"]),
    ];
    format!(
        "server:\n  transport: http\n  host: 127.0.0.1\n  port: 0\n  log_level: debug\n  auth:\n    enabled: true\n    provider: apikey\n    api_keys:\n      - {{identity: alice, hash: {:?}}}\n      - {{identity: bob, hash: {:?}}}\nrouter:\n  exposure: search\ntool_zoo:\n  persist_dir: \"{{dir}}/tool_zoo\"\nsession:\n  backend: redis\n  redis:\n    host: 127.0.0.1\n    port: {redis_port}\n    pool_size: 4\ndownstream_servers:\n{}",
        hash_api_key(ALICE),
        hash_api_key(BOB),
        servers.concat()
    )
}

async fn metric(gw: &GatewayProcess, name: &str) -> f64 {
    metrics_text(gw)
        .await
        .lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn learned(base: &str, query: &str, tool: &str) -> f64 {
    learned_score(base, ALICE, query, tool)
        .await
        .unwrap_or(-1.0)
}

/// Searches until both instances' indexes answer.
async fn search(session: &RawSession, query: &str) -> String {
    eventually(Duration::from_secs(90), "a search result", || {
        let session = session.clone();
        async move {
            let (_, answer) = session
                .call("ucp_search_tools", json!({"query": query}))
                .await;
            let text = content_text(&answer["result"]);
            text.contains("time__").then_some(text)
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_behind_nginx_share_sessions_and_learning_through_redis() {
    let mut redis = RedisServer::start();
    let config = instance_config(redis.port);
    let a = GatewayProcess::start(&config);
    let b = GatewayProcess::start(&config);
    let lb = Nginx::start(&[a.addr, b.addr]);
    wait_connected(&a.url(""), &["time", "everything"]).await;
    wait_connected(&b.url(""), &["time", "everything"]).await;

    // One session through the balancer: its requests alternate between the instances.
    let mut alice = RawSession::new(&a, ALICE);
    alice.base = lb.url("");
    alice.initialize().await;
    for n in 0..8 {
        let (status, answer) = alice
            .call("everything__echo", json!({"message": format!("hop {n}")}))
            .await;
        assert_eq!(status, 200, "call {n}: {answer}");
        assert!(content_text(&answer["result"]).contains(&format!("hop {n}")));
    }
    let restored = (
        metric(&a, "ucp_session_restored_total").await,
        metric(&b, "ucp_session_restored_total").await,
    );
    assert_eq!(
        restored.0 + restored.1,
        1.0,
        "the instance that did not open it restored it once: {restored:?}"
    );
    let (status, record) = alice.record().await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(
        event_kinds(&record).iter().filter(|k| *k == "call").count(),
        8,
        "both instances wrote the one history"
    );
    // Another identity cannot take it over on either instance.
    for gw in [&a, &b] {
        let mut bob = alice.at(gw);
        bob.key = BOB.to_string();
        assert_eq!(bob.tool_names().await.0, 404);
    }

    // Learning on A (search, then a call of a result) improves ranking on B.
    let on_a = alice.at(&a);
    let query = "what time is it in another timezone";
    search(&on_a, query).await;
    let (status, _) = on_a
        .call("time__get_current_time", json!({"timezone": "UTC"}))
        .await;
    assert_eq!(status, 200);
    let on_b = eventually(Duration::from_secs(20), "B to learn from A", || async {
        let score = learned(&b.url(""), query, "time__get_current_time").await;
        (score > 0.0).then_some(score)
    })
    .await;
    assert_eq!(
        metric(&b, "ucp_downstream_requests_total{server=\"time\"}").await,
        0.0,
        "B never called the tool: what it knows, it learned from A"
    );
    let on_a_score = learned(&a.url(""), query, "time__get_current_time").await;
    assert!(
        (on_b - on_a_score).abs() < 1e-6,
        "both instances hold the same total: A {on_a_score}, B {on_b}"
    );
    // B's copy of the session sees A's search and call (its memory follows the shared history).
    let (_, record) = alice.at(&b).record().await;
    assert_eq!(
        event_kinds(&record).last().map(String::as_str),
        Some("call")
    );

    // Redis goes away: routing and selection go on, the health says why it is degraded.
    redis.stop();
    let (status, answer) = alice
        .at(&a)
        .call("everything__echo", json!({"message": "no redis"}))
        .await;
    assert_eq!(status, 200, "a live session still routes: {answer}");
    assert!(
        learned(&a.url(""), query, "time__get_current_time").await > 0.0,
        "selection works"
    );
    let mut fresh = RawSession::new(&a, ALICE);
    fresh.initialize().await;
    let health = eventually(Duration::from_secs(10), "degraded health", || async {
        let (_, health) = get_json(&a.url("/health")).await;
        (health["components"]["session_manager"] == "degraded").then_some(health)
    })
    .await;
    let error = health["metrics"]["session_store_error"]
        .as_str()
        .unwrap_or("");
    assert!(error.contains("redis"), "{health}");

    // Redis is back (empty): the instances recover by themselves.
    redis.restart();
    for gw in [&a, &b] {
        eventually(Duration::from_secs(20), "healthy again", || async {
            let (_, health) = get_json(&gw.url("/health")).await;
            (health["components"]["session_manager"] == "healthy").then_some(())
        })
        .await;
    }
    let mut again = RawSession::new(&a, ALICE);
    again.base = lb.url("");
    again.initialize().await;
    for n in 0..4 {
        let (status, _) = again
            .call("everything__echo", json!({"message": format!("back {n}")}))
            .await;
        assert_eq!(status, 200, "after recovery, call {n}");
    }
    drop(redis);
}

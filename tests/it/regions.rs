//! Regional deployment: two instances on two test hosts (network namespaces with veth links, as
//! root), each with its `server.region` and a regional downstream server, sharing one Redis on
//! this host. Each shows its region in `/health` and on every metric; a session opened in one
//! region continues in the other.

use serde_json::json;

use crate::harness::*;
use crate::sessions::{ALICE, event_kinds};

/// An instance of `region` whose time server answers in `timezone`, reaching Redis at `redis`.
fn regional_config(region: &str, timezone: &str, redis: &str, redis_port: u16) -> String {
    let servers = [stdio_server(
        "time",
        &time_bin(),
        &["--local-timezone", timezone],
    )];
    format!(
        "server:\n  transport: http\n  host: 0.0.0.0\n  port: 0\n  region: {region}\n  auth:\n    enabled: true\n    provider: apikey\n    api_keys:\n      - {{identity: alice, hash: {:?}}}\nrouter:\n  exposure: all\ntool_zoo:\n  persist_dir: \"{{dir}}/tool_zoo\"\nsession:\n  backend: redis\n  redis:\n    host: {redis}\n    port: {redis_port}\ndownstream_servers:\n{}",
        hash_api_key(ALICE),
        servers.concat()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn two_regions_in_two_network_namespaces_share_one_redis() {
    let (eu_host, us_host) = (NetNs::create(1), NetNs::create(2));
    let redis = RedisServer::start_bound(&[&eu_host.host_ip, &us_host.host_ip]);
    let eu = GatewayProcess::start_in_netns(
        &eu_host,
        &regional_config("eu-west-1", "Europe/Paris", &eu_host.host_ip, redis.port),
    );
    let us = GatewayProcess::start_in_netns(
        &us_host,
        &regional_config(
            "us-east-1",
            "America/New_York",
            &us_host.host_ip,
            redis.port,
        ),
    );
    // Each answers on its own host's address, not on this host's loopback.
    assert!(
        eu.url("").starts_with("http://10.231.1.2:"),
        "{}",
        eu.url("")
    );
    for (gw, region) in [(&eu, "eu-west-1"), (&us, "us-east-1")] {
        let health = wait_connected(&gw.url(""), &["time"]).await;
        assert_eq!(health["region"], region, "{health}");
        assert_eq!(
            health["components"]["session_manager"], "healthy",
            "{health}"
        );
        let metrics = metrics_text(gw).await;
        assert!(
            metrics.contains(&format!("ucp_tool_zoo_tools_total{{region=\"{region}\"}}")),
            "every metric carries the region"
        );
    }

    // A session opened in the EU continues in the US; each region lists its own regional server
    // (mcp-server-time names its local timezone in the tool's schema).
    let mut alice = RawSession::new(&eu, ALICE);
    alice.initialize().await;
    let listed = |answer: &serde_json::Value| answer["result"]["tools"].to_string();
    let (status, tools) = alice.request("tools/list", json!({})).await;
    assert_eq!(status, 200);
    assert!(listed(&tools).contains("Europe/Paris"), "{tools}");
    let (status, answer) = alice
        .call("time__get_current_time", json!({"timezone": "UTC"}))
        .await;
    assert_eq!(status, 200, "{answer}");
    let in_us = alice.at(&us);
    let (status, tools) = in_us.request("tools/list", json!({})).await;
    assert_eq!(
        status, 200,
        "the session continues in the other region: {tools}"
    );
    assert!(listed(&tools).contains("America/New_York"), "{tools}");
    let (status, answer) = in_us
        .call("time__get_current_time", json!({"timezone": "UTC"}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["result"]["isError"] != json!(true), "{answer}");
    let (status, record) = in_us.record().await;
    assert_eq!(status, 200);
    assert_eq!(event_kinds(&record), ["call", "call"]);
    drop(redis);
}

//! The downstream pool changes its server set while running (`DownstreamPool::reconcile`, what a
//! config reload will call): added servers start, removed ones stop (their processes end), changed
//! ones restart (a new process), unchanged ones keep their connection and process.

use std::time::Duration;

use rmcp::model::CallToolRequestParams;
use ucp_proxy::{Backoff, DownstreamPool, LinkState};

use crate::harness::*;

fn servers(entries: &[String]) -> Vec<ucp_config::DownstreamConfig> {
    let yaml = format!("downstream_servers:\n{}", entries.concat());
    ucp_config::parse(&yaml, &|_| None)
        .expect("config")
        .config
        .downstream_servers
}

/// The PID of this test process's child whose command line contains `needle`.
fn child_pid(needle: &str) -> Option<u32> {
    children_of(std::process::id())
        .into_iter()
        .find(|pid| cmdline(*pid).contains(needle))
}

async fn connected(pool: &DownstreamPool, name: &str) {
    eventually(Duration::from_secs(60), name, || async {
        (pool.get(name)?.state() == LinkState::Connected).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pool_adds_removes_and_restarts_servers_while_running() {
    let time = stdio_server("time", &time_bin(), &[]);
    let everything = stdio_server("everything", &everything_bin(), &["stdio"]);
    let pool = DownstreamPool::start(&servers(std::slice::from_ref(&time)), Backoff::default());
    connected(&pool, "time").await;
    let time_pid = child_pid("mcp-server-time").expect("time runs");

    let done = pool.reconcile(&servers(&[time.clone(), everything.clone()]));
    assert_eq!(done.added, ["everything"]);
    assert_eq!(done.unchanged, ["time"]);
    connected(&pool, "everything").await;
    assert_eq!(child_pid("mcp-server-time"), Some(time_pid), "untouched");
    let everything_pid = child_pid("mcp-server-everything").expect("everything runs");

    // everything's config changes (its timeout), time goes away.
    let changed = everything.replace("timeout: 20", "timeout: 25");
    let done = pool.reconcile(&servers(std::slice::from_ref(&changed)));
    assert_eq!(done.removed, ["time"]);
    assert_eq!(done.restarted, ["everything"]);
    assert!(pool.get("time").is_none());
    connected(&pool, "everything").await;
    eventually(
        Duration::from_secs(10),
        "the removed server to exit",
        || async { child_pid("mcp-server-time").is_none().then_some(()) },
    )
    .await;
    let restarted = eventually(
        Duration::from_secs(10),
        "a new everything process",
        || async { child_pid("mcp-server-everything").filter(|pid| *pid != everything_pid) },
    )
    .await;
    assert_ne!(restarted, everything_pid);
    let mut args = serde_json::Map::new();
    args.insert("message".into(), "after restart".into());
    let result = pool
        .call_tool(
            "everything",
            CallToolRequestParams::new("echo").with_arguments(args),
            None,
            false,
        )
        .await
        .expect("echo on the restarted server");
    assert!(format!("{result:?}").contains("after restart"));
    let listings = pool.listings();
    assert_eq!(
        listings.keys().map(|k| &**k).collect::<Vec<_>>(),
        ["everything"]
    );
    pool.shutdown();
}

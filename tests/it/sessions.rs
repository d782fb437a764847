//! Sessions in the embedded RocksDB store (`session.backend: rocksdb`): a client that comes back
//! with its `Mcp-Session-Id` after the gateway was killed and restarted continues its session
//! (for its owner only), with its history and dynamic context; `kill -9` in the middle of calls
//! loses no call a client saw answered; idle sessions come back from the store until their TTL.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::*;

pub(crate) const ALICE: &str = "ucp-key-alice-0123456789";
pub(crate) const BOB: &str = "ucp-key-bob-0123456789";

/// A gateway with API keys for alice and bob, dynamic exposure, and its session and tool stores
/// in `state` (shared by the gateways a test starts one after the other).
pub(crate) fn config(state: &std::path::Path, session_keys: &str) -> String {
    let servers = [
        stdio_server("time", &time_bin(), &["--local-timezone", "UTC"]),
        stdio_server("everything", &everything_bin(), &["stdio"]),
    ];
    format!(
        "server:\n  transport: http\n  host: 127.0.0.1\n  port: 0\n  log_level: debug\n  auth:\n    enabled: true\n    provider: apikey\n    api_keys:\n      - {{identity: alice, hash: {:?}}}\n      - {{identity: bob, hash: {:?}}}\nrouter:\n  exposure: dynamic\n  max_tools: 4\ntool_zoo:\n  persist_dir: \"{}/tool_zoo\"\nsession:\n  persist_dir: \"{}/sessions\"\n{session_keys}downstream_servers:\n{}",
        hash_api_key(ALICE),
        hash_api_key(BOB),
        state.display(),
        state.display(),
        servers.concat()
    )
}

fn kill_9(gw: &mut GatewayProcess) {
    gw.child.kill().expect("SIGKILL");
    gw.child.wait().expect("reaped");
}

pub(crate) fn event_kinds(record: &Value) -> Vec<String> {
    record["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or("?").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_continues_after_kill_9_and_a_restart_for_its_owner_only() {
    let state = tempfile::tempdir().unwrap();
    let config = config(state.path(), "  max_history: 1000\n");
    let mut first = GatewayProcess::start(&config);
    wait_connected(&first.url(""), &["time", "everything"]).await;
    let mut alice = RawSession::new(&first, ALICE);
    alice.initialize().await;
    // The index may still be building: search until it answers.
    let found = eventually(Duration::from_secs(60), "a search result", || {
        let alice = alice.clone();
        async move {
            let (_, answer) = alice
                .call(
                    "ucp_search_tools",
                    json!({"query": "current time in a timezone"}),
                )
                .await;
            let text = content_text(&answer["result"]);
            text.contains("time__get_current_time").then_some(text)
        }
    })
    .await;
    assert!(found.contains("time__get_current_time"));
    let (status, answer) = alice
        .call("time__get_current_time", json!({"timezone": "UTC"}))
        .await;
    assert_eq!(status, 200);
    assert!(answer["result"]["isError"] != json!(true), "{answer}");
    let (status, before) = alice.record().await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(before["identity"], "alice");
    assert_eq!(before["live"], true);
    let kinds = event_kinds(&before);
    assert_eq!(
        kinds.iter().filter(|k| *k == "call").count(),
        1,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"search".to_string()), "{kinds:?}");
    let bob_view = RawSession {
        key: BOB.to_string(),
        ..alice.clone()
    };
    assert_eq!(
        bob_view.record().await.0,
        404,
        "bob cannot read alice's session"
    );

    kill_9(&mut first);
    let second = GatewayProcess::start(&config);
    wait_connected(&second.url(""), &["time", "everything"]).await;
    let alice = alice.at(&second);
    let bob_view = bob_view.at(&second);

    // Bob presenting alice's id gets what an unknown id gets, and does not restore it for her.
    let (status, _) = bob_view.tool_names().await;
    assert_eq!(status, 404, "another identity cannot continue the session");
    // Alice continues: her dynamic context (the search) comes back with the session, so her
    // list holds the time tools, while a new session of hers lists only the meta-tools.
    let (status, names) = eventually(Duration::from_secs(60), "the index", || {
        let alice = alice.clone();
        async move {
            let (status, names) = alice.tool_names().await;
            (status != 200 || names.iter().any(|n| n.starts_with("time__")))
                .then_some((status, names))
        }
    })
    .await;
    assert_eq!(status, 200, "the session is restored: {names:?}");
    assert!(
        names.contains(&"time__get_current_time".to_string()),
        "{names:?}"
    );
    let mut fresh = RawSession::new(&second, ALICE);
    fresh.initialize().await;
    let (_, fresh_names) = fresh.tool_names().await;
    assert!(
        !fresh_names.iter().any(|n| n.starts_with("time__")),
        "a new session has no context: {fresh_names:?}"
    );
    let (status, answer) = alice
        .call("time__get_current_time", json!({"timezone": "Asia/Tokyo"}))
        .await;
    assert_eq!(status, 200);
    assert!(
        content_text(&answer["result"]).contains("Asia/Tokyo"),
        "{answer}"
    );
    let (_, after) = alice.record().await;
    assert_eq!(after["created_ms"], before["created_ms"]);
    assert_eq!(after["live"], true);
    let kinds = event_kinds(&after);
    assert_eq!(
        kinds.iter().filter(|k| *k == "call").count(),
        2,
        "the history spans the restart: {kinds:?}"
    );
    let metrics = metrics_text(&second).await;
    assert!(
        metrics.contains("ucp_session_restored_total 1"),
        "restored once (bob's attempt does not count)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_calls_loses_no_answered_call() {
    let state = tempfile::tempdir().unwrap();
    let config = config(state.path(), "  max_history: 100000\n");
    let mut first = GatewayProcess::start(&config);
    wait_connected(&first.url(""), &["everything"]).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for n in 0..6 {
        let mut raw = RawSession::new(&first, ALICE);
        raw.initialize().await;
        let stop = stop.clone();
        clients.push((
            raw.clone(),
            tokio::spawn(async move {
                let mut answered = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let text = format!("client {n} call {answered}");
                    match raw
                        .try_call("everything__echo", json!({"message": text}))
                        .await
                    {
                        Some((200, answer)) if content_text(&answer["result"]).contains(&text) => {
                            answered += 1
                        }
                        _ => break,
                    }
                }
                answered
            }),
        ));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    kill_9(&mut first);
    stop.store(true, Ordering::Relaxed);
    let mut answered = Vec::new();
    for (raw, task) in clients {
        answered.push((raw, task.await.unwrap()));
    }
    let total: u64 = answered.iter().map(|(_, n)| n).sum();
    assert!(total > 50, "the clients were calling: {total} answered");

    // The database opens clean after the kill (RocksDB replays its log), and holds every call
    // a client saw answered (at most one more per client: written, then killed before the answer).
    let second = GatewayProcess::start(&config);
    for (raw, answered) in answered {
        let (status, record) = raw.at(&second).record().await;
        assert_eq!(status, 200, "{record}");
        let calls = event_kinds(&record).iter().filter(|k| *k == "call").count() as u64;
        assert!(
            calls == answered || calls == answered + 1,
            "{answered} calls answered, {calls} stored"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_session_comes_back_from_the_store_until_its_ttl() {
    let state = tempfile::tempdir().unwrap();
    let gw = GatewayProcess::start(&config(state.path(), "  idle_timeout: 1\n  ttl: 4\n"));
    wait_connected(&gw.url(""), &["everything"]).await;
    let mut alice = RawSession::new(&gw, ALICE);
    alice.initialize().await;
    let echo = |raw: RawSession| async move {
        raw.call("everything__echo", json!({"message": "still here"}))
            .await
            .0
    };
    assert_eq!(echo(alice.clone()).await, 200);
    // Closed in memory after 1 s idle; restored from the store on the next request.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(alice.record().await.1["live"], false, "closed while idle");
    assert_eq!(echo(alice.clone()).await, 200, "restored from the store");
    // Idle past its TTL: gone for good.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(echo(alice.clone()).await, 404, "expired");
    assert_eq!(alice.record().await.0, 404);
}

//! The session store on a real RocksDB in a temp dir: records, history bounds, expiry, reopening,
//! and the usage memory a restored session rebuilds from its events.

use std::time::Duration;

use super::*;

fn meta(identity: &str) -> SessionMeta {
    SessionMeta {
        identity: identity.into(),
        created_ms: now_ms(),
        initialize: serde_json::json!({"protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}),
    }
}

fn call(tool: &str, ok: bool) -> SessionEvent {
    SessionEvent::Call {
        at_ms: now_ms(),
        tool: tool.into(),
        server: "s".into(),
        ok,
        ms: 1,
    }
}

fn store_in(dir: &std::path::Path, max_history: usize, ttl: Duration) -> SessionStore {
    SessionStore::rocks(RocksSessions::open(dir).unwrap(), max_history, ttl)
}

#[tokio::test]
async fn a_session_and_its_events_survive_reopening_the_database() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = store_in(dir.path(), 100, Duration::from_secs(60));
        store.open("a", &meta("alice")).await.unwrap();
        store.append("a", &call("x", true), 1).await.unwrap();
        store
            .append(
                "a",
                &SessionEvent::Context {
                    at_ms: 1,
                    text: "hello".into(),
                },
                2,
            )
            .await
            .unwrap();
        store.open("b", &meta("bob")).await.unwrap();
    }
    let store = store_in(dir.path(), 100, Duration::from_secs(60));
    let a = store.load("a").await.unwrap().expect("a is stored");
    assert_eq!(a.meta.identity, "alice");
    assert_eq!(a.events.len(), 2);
    assert!(matches!(&a.events[0], SessionEvent::Call { tool, .. } if tool == "x"));
    assert!(matches!(&a.events[1], SessionEvent::Context { text, .. } if text == "hello"));
    let b = store.load("b").await.unwrap().expect("b is stored");
    assert!(
        b.events.is_empty(),
        "events of one session never show in another"
    );
    assert!(store.load("c").await.unwrap().is_none());
    store.delete("a").await.unwrap();
    assert!(store.load("a").await.unwrap().is_none());
    assert_eq!(store.rocks_db().unwrap().count().unwrap(), 1);
}

#[tokio::test]
async fn history_keeps_the_last_max_history_events_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), 10, Duration::from_secs(60));
    store.open("a", &meta("alice")).await.unwrap();
    // An id that sorts right after "a" (a prefix of it) must not mix in.
    store.open("a0", &meta("alice")).await.unwrap();
    store.append("a0", &call("other", true), 1).await.unwrap();
    let state = SessionState::default();
    for i in 0..100 {
        state
            .record(&store, "a", &call(&format!("t{i}"), true))
            .await
            .unwrap();
    }
    let record = store.load("a").await.unwrap().unwrap();
    let tools: Vec<String> = record
        .events
        .iter()
        .map(|e| match e {
            SessionEvent::Call { tool, .. } => tool.clone(),
            _ => unreachable!(),
        })
        .collect();
    let expected: Vec<String> = (90..100).map(|i| format!("t{i}")).collect();
    assert_eq!(tools, expected);
    // Trimmed on disk too, not only on read: at most max_history + slack remain.
    let db = store.rocks_db().unwrap();
    let on_disk = db.load("a", usize::MAX).unwrap().unwrap().events.len();
    assert!(
        (10..=10 + store::trim_slack(10)).contains(&on_disk),
        "{on_disk} events on disk"
    );
    assert_eq!(store.load("a0").await.unwrap().unwrap().events.len(), 1);
}

#[tokio::test]
async fn an_expired_session_is_gone_on_load_and_swept_with_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), 10, Duration::from_millis(200));
    store.open("old", &meta("alice")).await.unwrap();
    store.append("old", &call("x", true), 1).await.unwrap();
    store.open("gone", &meta("alice")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    store.open("new", &meta("alice")).await.unwrap();
    assert!(
        store.meta("gone").await.unwrap().is_none(),
        "expired on read"
    );
    assert_eq!(
        store.sweep().await.unwrap(),
        1,
        "only `old` was left to sweep"
    );
    assert_eq!(store.rocks_db().unwrap().count().unwrap(), 1);
    let db = store.rocks_db().unwrap();
    assert!(db.load("old", usize::MAX).unwrap().is_none());
    assert!(store.load("new").await.unwrap().is_some());
}

#[test]
fn replaying_events_rebuilds_the_last_search_recent_calls_and_context() {
    let state = SessionState::default();
    state.replay(&[
        SessionEvent::Context {
            at_ms: 0,
            text: "pushed".into(),
        },
        SessionEvent::Search {
            at_ms: 1,
            query: "what time is it".into(),
            returned: vec!["time__now".into(), "time__convert".into()],
        },
        call("time__now", true),
        call("fs__read", false),
        call("fs__write", true),
    ]);
    let last = state.last_search.lock();
    let last = last.as_ref().expect("a last search");
    assert_eq!(last.query, "what time is it");
    assert_eq!(last.called, vec!["time__now".to_string()]);
    assert_eq!(state.recent_calls(), vec!["time__now", "fs__write"]);
    assert_eq!(state.context_text(), "pushed. what time is it");
}

//! `ucp backup` while the gateway serves, `ucp restore` refused beside a running gateway and done
//! once it stopped, `ucp maintenance verify | compact`: the restored sessions and learned usage
//! equal the originals, byte for byte and as the gateway serves them.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::*;
use crate::sessions::{ALICE, config, event_kinds};

/// Runs `ucp ARGS`: exit code, stdout, stderr.
fn ucp(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ucp"))
        .args(args)
        .env("UCP_HOME", ucp_home())
        .output()
        .expect("run ucp");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `ucp maintenance verify --json`: each store's column families with entries and SHA-256.
fn verify(config: &Path) -> Value {
    let (code, out, err) = ucp(&[
        "maintenance",
        "verify",
        "--json",
        "-c",
        &config.display().to_string(),
    ]);
    assert_eq!(code, 0, "verify failed: {out}\n{err}");
    serde_json::from_str(&out).expect("verify --json prints JSON")
}

/// The learned score `/v1/select` gives `tool` for `query` (as alice).
async fn learned(gw: &GatewayProcess, query: &str, tool: &str) -> f64 {
    learned_score(&gw.url(""), ALICE, query, tool)
        .await
        .expect("/v1/select answers")
}

fn stop(gw: &mut GatewayProcess) {
    signal(gw.child.id(), "TERM");
    let status = gw.child.wait().expect("gateway exit");
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn backup_while_serving_then_restore_gives_back_sessions_and_learned_usage() {
    let state = tempfile::tempdir().unwrap();
    let text = config(state.path(), "  max_history: 1000\n");
    let mut gw = GatewayProcess::start(&text);
    let cfg = gw.dir().join("ucp_config.yaml");
    let cfg_arg = cfg.display().to_string();
    wait_connected(&gw.url(""), &["time", "everything"]).await;
    let mut alice = RawSession::new(&gw, ALICE);
    alice.initialize().await;
    let query = "current time in a timezone";
    eventually(Duration::from_secs(60), "a search result", || {
        let alice = alice.clone();
        async move {
            let (_, answer) = alice
                .call("ucp_search_tools", json!({"query": query}))
                .await;
            content_text(&answer["result"])
                .contains("time__get_current_time")
                .then_some(())
        }
    })
    .await;
    // A call of a tool the search returned is learned for that query; a second call counts
    // towards co-occurrence.
    let (status, _) = alice
        .call("time__get_current_time", json!({"timezone": "UTC"}))
        .await;
    assert_eq!(status, 200);
    let (status, _) = alice
        .call("everything__echo", json!({"message": "hi"}))
        .await;
    assert_eq!(status, 200);
    let learned_before = eventually(Duration::from_secs(20), "learned usage", || async {
        let score = learned(&gw, query, "time__get_current_time").await;
        (score > 0.0).then_some(score)
    })
    .await;
    let (_, record_before) = alice.record().await;
    assert_eq!(event_kinds(&record_before), ["search", "call", "call"]);
    // Learning is written off the request path: let it land before the copy.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Online: the gateway keeps its databases open while they are copied and verified.
    let backup = state.path().join("backup");
    let backup_arg = backup.display().to_string();
    let (code, out, err) = ucp(&["backup", "--to", &backup_arg, "-c", &cfg_arg]);
    assert_eq!(code, 0, "backup: {out}\n{err}");
    assert!(
        backup.join("ucp_config.yaml").exists(),
        "the config is in the backup"
    );
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap();
    let (code, _, err) = ucp(&["restore", "--from", &backup_arg, "-c", &cfg_arg, "--force"]);
    assert_eq!(code, 1, "restore beside a running gateway is refused");
    assert!(err.contains("in use by a running gateway"), "{err}");
    let online = verify(&cfg);
    assert_eq!(online["ok"], true);
    let (status, _) = alice.tool_names().await;
    assert_eq!(
        status, 200,
        "the gateway served on through backup and verify"
    );

    stop(&mut gw);
    // What the backup holds is what the gateway had: every column family of both stores.
    let original = verify(&cfg);
    for store in ["tool_zoo", "sessions"] {
        assert_eq!(
            original["stores"][store]["families"], manifest["stores"][store]["digest"],
            "{store}: the backup equals the stopped gateway's data"
        );
    }
    let sessions = &manifest["stores"]["sessions"]["digest"];
    assert!(sessions["events"]["entries"].as_u64().unwrap() >= 3);
    assert!(
        manifest["stores"]["tool_zoo"]["digest"]["usage"]["entries"]
            .as_u64()
            .unwrap()
            >= 1
    );

    // Lose the data, restore it, and get the same bytes back.
    std::fs::remove_dir_all(state.path().join("sessions")).unwrap();
    std::fs::remove_dir_all(state.path().join("tool_zoo")).unwrap();
    let (code, out, err) = ucp(&["restore", "--from", &backup_arg, "-c", &cfg_arg]);
    assert_eq!(code, 0, "restore: {out}\n{err}");
    let restored = verify(&cfg);
    for store in ["tool_zoo", "sessions"] {
        assert_eq!(
            restored["stores"][store]["families"], original["stores"][store]["families"],
            "{store}: restored byte for byte"
        );
    }
    // A restore over existing data needs --force, and keeps the old data aside.
    let (code, _, err) = ucp(&["restore", "--from", &backup_arg, "-c", &cfg_arg]);
    assert_eq!(code, 1);
    assert!(err.contains("--force"), "{err}");

    // The gateway on the restored data: alice's session continues with its history, and the
    // learned weight is the one it had.
    let mut gw = GatewayProcess::start(&text);
    wait_connected(&gw.url(""), &["time", "everything"]).await;
    let alice = alice.at(&gw);
    let (status, record_after) = alice.record().await;
    assert_eq!(status, 200);
    assert_eq!(record_after["events"], record_before["events"]);
    let (status, _) = alice.tool_names().await;
    assert_eq!(status, 200, "the restored session continues");
    let learned_after = eventually(Duration::from_secs(60), "the index", || async {
        let score = learned(&gw, query, "time__get_current_time").await;
        (score > 0.0).then_some(score)
    })
    .await;
    assert!(
        (learned_after - learned_before).abs() < 1e-6,
        "learned {learned_before} before, {learned_after} after"
    );

    // Compaction needs the gateway stopped.
    let (code, _, err) = ucp(&["maintenance", "compact", "-c", &cfg_arg]);
    assert_eq!(code, 1, "compact beside a running gateway is refused");
    assert!(err.contains("in use"), "{err}");
    stop(&mut gw);
    let (code, out, err) = ucp(&["maintenance", "compact", "-c", &cfg_arg]);
    assert_eq!(code, 0, "compact: {out}\n{err}");
    assert!(out.contains("expired sessions swept"), "{out}");
    assert_eq!(verify(&cfg)["ok"], true);
}

#[test]
fn verify_reports_a_damaged_record_and_fails() {
    let state = tempfile::tempdir().unwrap();
    let sessions = state.path().join("sessions");
    {
        // A session database as the gateway writes it, with one meta record that is not JSON.
        let mut options = rocksdb::Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let db = rocksdb::DB::open_cf(&options, &sessions, ["meta", "seen", "events"]).unwrap();
        let meta = db.cf_handle("meta").unwrap();
        db.put_cf(
            &meta,
            "good",
            br#"{"identity":"a","created_ms":1,"initialize":{}}"#,
        )
        .unwrap();
        db.put_cf(&meta, "broken", b"{not json").unwrap();
    }
    let cfg = state.path().join("ucp_config.yaml");
    std::fs::write(
        &cfg,
        format!(
            "server:\n  transport: http\ntool_zoo:\n  persist_dir: \"{}/tool_zoo\"\nsession:\n  persist_dir: \"{}\"\ndownstream_servers: []\n",
            state.path().display(),
            sessions.display()
        ),
    )
    .unwrap();
    let (code, out, err) = ucp(&["maintenance", "verify", "-c", &cfg.display().to_string()]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("meta: broken"), "{err}");
    assert!(!err.contains("meta: good"), "{err}");
}

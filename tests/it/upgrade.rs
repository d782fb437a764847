//! The documented upgrade path: two instances behind nginx sharing sessions through Redis,
//! replaced one at a time while clients keep calling through the balancer. Per instance: out of
//! rotation (`down`, graceful nginx reload), SIGTERM (it drains what it holds and exits 0), the
//! new binary started on its port and data, back in rotation at once. No call may fail: not at
//! the drain, and not at the start, where requests wait until the new instance's servers have
//! listed their tools (`server.ready_timeout`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::harness::*;
use crate::sessions::ALICE;

fn instance_config(redis_port: u16, port: u16, zoo: &std::path::Path) -> String {
    let servers = [
        stdio_server("time", &time_bin(), &["--local-timezone", "UTC"]),
        stdio_server("everything", &everything_bin(), &["stdio"]),
    ];
    format!(
        "server:\n  transport: http\n  host: 127.0.0.1\n  port: {port}\n  drain_timeout: 5\n  auth:\n    enabled: true\n    provider: apikey\n    api_keys:\n      - {{identity: alice, hash: {:?}}}\nrouter:\n  exposure: all\ntool_zoo:\n  persist_dir: \"{}\"\nsession:\n  backend: redis\n  redis:\n    host: 127.0.0.1\n    port: {redis_port}\n    pool_size: 4\ndownstream_servers:\n{}",
        hash_api_key(ALICE),
        zoo.display(),
        servers.concat()
    )
}

/// One client's loop through the balancer: every answer must be a successful echo.
async fn keep_calling(
    mut session: RawSession,
    client: usize,
    stop: Arc<AtomicBool>,
) -> (usize, Vec<String>) {
    session.initialize().await;
    let (mut answered, mut failures) = (0, Vec::new());
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let message = format!("client {client} call {n}");
        match session
            .try_call("everything__echo", json!({ "message": message }))
            .await
        {
            Some((200, answer))
                if answer["result"]["isError"] != json!(true)
                    && content_text(&answer["result"]).contains(&message) =>
            {
                answered += 1
            }
            Some((status, answer)) => failures.push(format!("{message}: HTTP {status} {answer}")),
            None => failures.push(format!("{message}: no answer (connection failed)")),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (answered, failures)
}

#[tokio::test(flavor = "multi_thread")]
async fn replacing_both_instances_one_at_a_time_fails_no_call() {
    let redis = RedisServer::start();
    let zoo = tempfile::tempdir().expect("tempdir");
    let configs: Vec<String> = ["a", "b"]
        .iter()
        .map(|name| instance_config(redis.port, free_port(), &zoo.path().join(name)))
        .collect();
    let mut instances: Vec<GatewayProcess> =
        configs.iter().map(|c| GatewayProcess::start(c)).collect();
    let lb = Nginx::start(&[instances[0].addr, instances[1].addr]);
    for gw in &instances {
        wait_connected(&gw.url(""), &["time", "everything"]).await;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..3)
        .map(|client| {
            let mut session = RawSession::new(&instances[0], ALICE);
            session.base = lb.url("");
            tokio::spawn(keep_calling(session, client, stop.clone()))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;

    for (i, config) in configs.iter().enumerate() {
        let mut down = vec![false; configs.len()];
        down[i] = true;
        tokio::task::block_in_place(|| lb.set_down(&down));
        // The old binary drains and exits 0; the new one starts on the same port and data and
        // is back in rotation before its servers are up (the hold keeps its requests waiting).
        let old = &mut instances[i];
        signal(old.child.id(), "TERM");
        let status = tokio::task::block_in_place(|| old.child.wait()).expect("wait");
        assert!(status.success(), "instance {i} exited with {status}");
        let new = GatewayProcess::start(config);
        tokio::task::block_in_place(|| lb.set_down(&vec![false; configs.len()]));
        wait_connected(&new.url(""), &["time", "everything"]).await;
        instances[i] = new;
        tokio::time::sleep(Duration::from_secs(3)).await;
    }

    stop.store(true, Ordering::Relaxed);
    let (mut answered, mut failures) = (0, Vec::new());
    for client in clients {
        let (ok, failed) = client.await.expect("client task");
        answered += ok;
        failures.extend(failed);
    }
    eprintln!(
        "upgrade: {answered} calls answered, {} failed",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} calls failed during the upgrade:\n{}",
        failures.len(),
        answered + failures.len(),
        failures.join("\n")
    );
    assert!(answered > 100, "too few calls to mean anything: {answered}");
}

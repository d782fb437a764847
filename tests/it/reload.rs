//! SIGHUP reloads the configuration under load: clients on both fronts (Streamable HTTP and
//! stdio) keep calling through two dozen reloads that add and remove servers, restart one, change
//! stages and limits, and include a broken file; not one request fails and no session is lost.

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::*;

const KEY: &str = "ucp-key-reload-team-0123456789";
const OTHER_KEY: &str = "ucp-key-reload-other-0123456789";

/// The reloadable state one config file describes.
#[derive(Clone)]
struct Step {
    /// mcp-server-time is configured too.
    extra: bool,
    /// `alpha`'s NAMED_TOOLS_LABEL: a change restarts it (a new process).
    label: &'static str,
    rate_limit: bool,
    cache: bool,
    /// A second API key is accepted (HTTP).
    other_key: bool,
    max_body_bytes: usize,
    /// Restart-only: a change is named in the log and not applied.
    port: u16,
    /// The file is not valid YAML.
    broken: bool,
}

const BASE: Step = Step {
    extra: false,
    label: "a",
    rate_limit: false,
    cache: true,
    other_key: false,
    max_body_bytes: 4 * 1024 * 1024,
    port: 0,
    broken: false,
};

/// The 8 changes the test cycles through, each applied to the state before it.
fn next_step(i: usize, s: &Step) -> Step {
    let mut s = Step {
        broken: false,
        ..s.clone()
    };
    match i % 8 {
        0 => s.extra = true,
        1 => s.label = "b",
        2 => {
            s.rate_limit = true;
            s.cache = false;
        }
        3 => s.broken = true,
        4 => {
            s.other_key = true;
            s.max_body_bytes = 4096;
        }
        5 => s.extra = false,
        6 => {
            s.port = 1;
            s.label = "c";
        }
        _ => s = BASE,
    }
    s
}

fn config(s: &Step, dir: &Path, http: bool, hashes: (&str, &str)) -> String {
    if s.broken {
        return "server:\n  port: [this is not\n".to_string();
    }
    let mut server = String::new();
    if http {
        server += &format!("  transport: http\n  host: 127.0.0.1\n  port: {}\n", s.port);
        server += "  auth:\n    enabled: true\n    provider: apikey\n    api_keys:\n";
        server += &format!("      - {{identity: team, hash: {:?}}}\n", hashes.0);
        if s.other_key {
            server += &format!("      - {{identity: other, hash: {:?}}}\n", hashes.1);
        }
    } else {
        server += &format!(
            "  transport: stdio\n  port: {}\n  log_format: json\n  log_output: [\"file:{}/stdio.log\"]\n",
            s.port,
            dir.display()
        );
        if s.rate_limit {
            server += "  auth:\n";
        }
    }
    if s.rate_limit {
        server += "    rate_limit: {requests_per_minute: 600000, burst: 10000}\n";
    }
    server += &format!("  max_body_bytes: {}\n", s.max_body_bytes);
    let mut servers = stdio_server(
        "alpha",
        &python_bin(),
        &[&repo_file("tests/fixtures/named_tools_server.py"), "hello"],
    ) + &format!("    env:\n      NAMED_TOOLS_LABEL: {}\n", s.label);
    if s.extra {
        servers += &stdio_server("extra", &time_bin(), &[]);
    }
    format!(
        "server:\n{server}router:\n  exposure: all\n  cache:\n    enabled: {}\ntool_zoo:\n  persist_dir: \"{}/zoo\"\ndownstream_servers:\n{servers}",
        s.cache,
        dir.display()
    )
}

/// What one client's traffic saw.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failures: Mutex<Vec<String>>,
    /// The `alpha` labels seen in results (which process answered), and the latest.
    labels: Mutex<std::collections::BTreeSet<String>>,
    last_label: Mutex<String>,
}

impl Tally {
    fn result(&self, text: Result<String, String>) {
        match text {
            Ok(text) if text.contains("hello says") => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                if let Some((label, _)) = text.split_once(':') {
                    self.labels.lock().unwrap().insert(label.to_string());
                    *self.last_label.lock().unwrap() = label.to_string();
                }
            }
            Ok(text) => self
                .failures
                .lock()
                .unwrap()
                .push(format!("unexpected: {text}")),
            Err(e) => self.failures.lock().unwrap().push(e),
        }
    }
}

/// One HTTP client session calling `tool` in a loop until `stop`.
async fn http_traffic(url: String, tool: String, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let client = connect_http_with_token(&url, KEY).await;
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let result = call_text(&client, &tool, json!({"text": format!("http {n}")})).await;
        tally.result(result.map_err(|e| format!("call {n}: {e}")));
        // Steady traffic, not a flood: the point is requests crossing every reload.
        tokio::time::sleep(Duration::from_millis(2)).await;
        if n.is_multiple_of(20)
            && let Err(e) = client.list_all_tools().await
        {
            tally
                .failures
                .lock()
                .unwrap()
                .push(format!("tools/list: {e}"));
        }
    }
}

/// The stdio client: one session, one request at a time, until `stop`.
fn stdio_traffic(config: &Path, tool: String, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let (mut child, mut stdin, mut stdout) = spawn_stdio_gateway(config);
    let mut reply = |id: u64| -> Value {
        loop {
            let mut line = String::new();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "the stdio gateway closed stdout"
            );
            let message: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if message["id"] == json!(id) {
                return message;
            }
        }
    };
    writeln!(stdin, "{}", initialize_body()).unwrap();
    assert!(reply(1)["result"].is_object());
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#
    )
    .unwrap();
    // Wait for alpha before counting.
    let mut id = 1;
    loop {
        id += 1;
        let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": {"text": "warm-up"}}});
        writeln!(stdin, "{call}").unwrap();
        if reply(id)["result"]["isError"] == json!(false) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    while !stop.load(Ordering::Relaxed) {
        id += 1;
        let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": {"text": format!("stdio {id}")}}});
        writeln!(stdin, "{call}").unwrap();
        let answer = reply(id);
        let text = if answer["result"]["isError"] == json!(false) {
            Ok(content_text(&answer["result"]))
        } else {
            Err(format!("stdio call {id}: {answer}"))
        };
        tally.result(text);
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
}

fn reload_lines(log: &str) -> usize {
    log.lines()
        .filter(|l| {
            l.contains("configuration reloaded") || l.contains("configuration not reloaded")
        })
        .count()
}

async fn scrape_value(url: &str, name: &str) -> f64 {
    let text = reqwest::get(url)
        .await
        .expect("metrics")
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_dozen_reloads_under_traffic_fail_no_request_and_lose_no_session() {
    let hashes = (hash_api_key(KEY), hash_api_key(OTHER_KEY));
    let hashes = (hashes.0.as_str(), hashes.1.as_str());
    let gw_dir = tempfile::tempdir().unwrap();
    let http_config = config(&BASE, gw_dir.path(), true, hashes);
    let gw = GatewayProcess::start_in(gw_dir, &http_config);
    let http_path = gw.dir().join("ucp_config.yaml");
    let stdio_dir = tempfile::tempdir().unwrap();
    let stdio_path = stdio_dir.path().join("ucp_config.yaml");
    std::fs::write(&stdio_path, config(&BASE, stdio_dir.path(), false, hashes)).unwrap();
    let stdio_log = stdio_dir.path().join("stdio.log");

    wait_connected(&gw.url(""), &["alpha"]).await;
    let probe = connect_http_with_token(&gw.mcp_url(), KEY).await;
    let tool = tool_names(&probe)
        .await
        .into_iter()
        .find(|t| t.ends_with("hello"))
        .expect("alpha's tool");
    let alpha_pid = gw
        .child_matching("named_tools_server.py")
        .expect("alpha runs");

    let stop = Arc::new(AtomicBool::new(false));
    let (http_tally, stdio_tally) = (Arc::new(Tally::default()), Arc::new(Tally::default()));
    let http_clients: Vec<_> = (0..2)
        .map(|_| {
            tokio::spawn(http_traffic(
                gw.mcp_url(),
                tool.clone(),
                stop.clone(),
                http_tally.clone(),
            ))
        })
        .collect();
    let stdio_client = {
        let (path, tool, stop, tally) = (
            stdio_path.clone(),
            tool.clone(),
            stop.clone(),
            stdio_tally.clone(),
        );
        std::thread::spawn(move || stdio_traffic(&path, tool, stop, tally))
    };
    eventually(
        Duration::from_secs(60),
        "traffic on both fronts",
        || async {
            (http_tally.ok.load(Ordering::Relaxed) > 0
                && stdio_tally.ok.load(Ordering::Relaxed) > 0)
                .then_some(())
        },
    )
    .await;
    let stdio_pid = {
        let pids = children_of(std::process::id());
        pids.into_iter()
            .find(|p| cmdline(*p).contains("serve --stdio"))
            .expect("the stdio gateway runs")
    };

    let metrics = gw.url("/metrics");
    let big = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {"pad": "x".repeat(8192)}}).to_string();
    let auth = format!("Bearer {KEY}");
    let other = format!("Bearer {OTHER_KEY}");
    let mut step = BASE;
    let (mut broken, mut applied) = (0, 0);
    for i in 0..24 {
        step = next_step(i, &step);
        std::fs::write(&http_path, config(&step, gw.dir(), true, hashes)).unwrap();
        std::fs::write(&stdio_path, config(&step, stdio_dir.path(), false, hashes)).unwrap();
        signal(gw.child.id(), "HUP");
        signal(stdio_pid, "HUP");
        if step.broken {
            broken += 1;
        } else {
            applied += 1;
        }
        let done = (broken + applied) as f64;
        eventually(
            Duration::from_secs(30),
            "both gateways to finish the reload",
            || async {
                let http = scrape_value(&metrics, "ucp_config_reloads_total").await
                    + scrape_value(&metrics, "ucp_config_reload_failures_total").await;
                let stdio = reload_lines(&std::fs::read_to_string(&stdio_log).unwrap_or_default());
                (http == done && stdio == broken + applied).then_some(())
            },
        )
        .await;
        // Each change is in force once the reload is done.
        if !step.broken {
            let select = json!({"context": "say hello"}).to_string();
            let (status, _, _) =
                post(&gw.url("/v1/select"), select, &[("authorization", &other)]).await;
            assert_eq!(
                status == 200,
                step.other_key,
                "step {i}: the second key's admission: {status}"
            );
            let (status, _, _) =
                post(&gw.mcp_url(), big.clone(), &[("authorization", &auth)]).await;
            assert_eq!(
                status == 413,
                step.max_body_bytes == 4096,
                "step {i}: an 8 KiB body: {status}"
            );
            let names = tool_names(&probe).await;
            let has_extra = names.iter().any(|n| n.contains("get_current_time"));
            // A restarted alpha takes over once it is up: wait for it, or the next change would
            // replace the replacement before it served.
            for (front, tally) in [("http", &http_tally), ("stdio", &stdio_tally)] {
                eventually(
                    Duration::from_secs(30),
                    &format!("{front}: alpha {}", step.label),
                    || async { (*tally.last_label.lock().unwrap() == step.label).then_some(()) },
                )
                .await;
            }
            if step.extra != has_extra {
                eventually(
                    Duration::from_secs(30),
                    "the catalog to follow the servers",
                    || async {
                        let names = tool_names(&probe).await;
                        (names.iter().any(|n| n.contains("get_current_time")) == step.extra)
                            .then_some(())
                    },
                )
                .await;
            }
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The two HTTP clients' sessions and the probe's lived through it all: still open, and no
    // other was ever opened (a client that lost its session would have had to start another).
    assert_eq!(
        scrape_value(&metrics, "ucp_session_active_total").await,
        3.0
    );
    assert_eq!(
        scrape_value(&metrics, "ucp_session_created_total").await,
        3.0
    );
    stop.store(true, Ordering::Relaxed);
    for client in http_clients {
        client.await.unwrap();
    }
    stdio_client.join().unwrap();

    for (front, tally) in [("http", &http_tally), ("stdio", &stdio_tally)] {
        let failures = tally.failures.lock().unwrap();
        assert!(
            failures.is_empty(),
            "{front}: {} failed of {}: {:?}",
            failures.len(),
            tally.ok.load(Ordering::Relaxed) + failures.len() as u64,
            &failures[..failures.len().min(5)]
        );
        eprintln!(
            "{front}: {} calls answered across the reloads, {} failed",
            tally.ok.load(Ordering::Relaxed),
            failures.len()
        );
        assert!(
            tally.ok.load(Ordering::Relaxed) > 100,
            "{front}: too little traffic"
        );
        // Every alpha generation answered: the restarts were real and calls crossed them.
        let labels = tally.labels.lock().unwrap();
        for label in ["a", "b", "c"] {
            assert!(
                labels.contains(label),
                "{front}: no answer from alpha {label}: {labels:?}"
            );
        }
    }
    assert_ne!(gw.child_matching("named_tools_server.py"), Some(alpha_pid));
    assert_eq!(
        scrape_value(&metrics, "ucp_config_reloads_total").await,
        applied as f64
    );
    assert_eq!(
        scrape_value(&metrics, "ucp_config_reload_failures_total").await,
        broken as f64
    );
    assert_eq!(
        scrape_value(&metrics, "ucp_config_last_reload_successful").await,
        1.0
    );
    let log = gw.log_text();
    assert!(
        log.contains("server.port: 0 -> 1: takes effect only after a restart"),
        "{log}"
    );
    assert!(log.contains("configuration not reloaded"), "{log}");
    let stdio_text = std::fs::read_to_string(&stdio_log).unwrap();
    assert!(
        stdio_text.contains("server.max_body_bytes: 4194304 -> 4096"),
        "{stdio_text}"
    );
}

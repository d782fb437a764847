//! Messages from a downstream server reach the client whose call caused them, through the gateway:
//! progress, sampling, elicitation and log messages from server-everything, cancellation the other
//! way, and two clients calling one server at once never see each other's messages.

#![allow(
    deprecated,
    reason = "sampling and logging are deprecated by SEP-2577; relaying them is what is tested"
)]

use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{
    CallToolRequest, CallToolRequestParams, ClientCapabilities, ClientConfig, ClientRequest,
    CreateMessageRequestParams, CreateMessageResult, ElicitRequestParams, ElicitResult,
    ElicitationAction, Implementation, ProgressNotificationParam, SamplingMessage, ServerResult,
};
use rmcp::service::{NotificationContext, PeerRequestOptions, RequestContext, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientHandler, ErrorData as McpError, RoleClient, ServiceExt};
use serde_json::{Value, json};
use std::sync::Mutex;

use crate::harness::*;

/// A client that answers sampling and elicitation with its own name and records what reaches it.
#[derive(Clone)]
struct Answering {
    name: &'static str,
    declare: bool,
    seen: Arc<Mutex<Seen>>,
}

#[derive(Default)]
struct Seen {
    progress: Vec<ProgressNotificationParam>,
    sampling: Vec<String>,
    elicitation: Vec<String>,
    logs: Vec<Value>,
}

impl Answering {
    fn new(name: &'static str) -> Answering {
        Answering {
            name,
            declare: true,
            seen: Arc::default(),
        }
    }
}

#[allow(deprecated, reason = "sampling and logging are what these tests relay")]
impl ClientHandler for Answering {
    fn get_info(&self) -> ClientConfig {
        let mut caps = ClientCapabilities::default();
        if self.declare {
            caps.sampling = Some(Default::default());
            caps.elicitation = Some(Default::default());
        }
        ClientConfig::new(caps, Implementation::new(self.name, "1.0"))
    }

    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, McpError> {
        let asked = serde_json::to_string(&params.messages).unwrap_or_default();
        self.seen.lock().unwrap().sampling.push(asked);
        Ok(CreateMessageResult::new(
            SamplingMessage::assistant_text(format!("answer from {}", self.name)),
            "test-model".to_string(),
        ))
    }

    async fn create_elicitation(
        &self,
        params: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, McpError> {
        let asked = serde_json::to_string(&params).unwrap_or_default();
        self.seen.lock().unwrap().elicitation.push(asked);
        Ok(ElicitResult::new(ElicitationAction::Decline))
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.seen.lock().unwrap().progress.push(params);
    }

    async fn on_logging_message(
        &self,
        params: rmcp::model::LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.seen
            .lock()
            .unwrap()
            .logs
            .push(serde_json::to_value(&params).unwrap_or_default());
    }
}

type Client = RunningService<RoleClient, Answering>;

async fn connect(url: &str, handler: Answering) -> Client {
    handler
        .serve(StreamableHttpClientTransport::from_uri(url.to_string()))
        .await
        .unwrap_or_else(|e| panic!("client could not initialize against {url}: {e}"))
}

fn text_of(result: &ServerResult) -> String {
    content_text(&serde_json::to_value(result).unwrap_or_default())
}

/// Calls a tool asking for progress; returns the result and the progress token the client sent.
async fn call_with_progress(
    client: &Client,
    name: &str,
    args: Value,
) -> (Result<ServerResult, rmcp::service::ServiceError>, Value) {
    let params = CallToolRequestParams::new(name.to_string())
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    let handle = client
        .peer()
        .send_cancellable_request(
            ClientRequest::CallToolRequest(CallToolRequest::new(params)),
            PeerRequestOptions::no_options(),
        )
        .await
        .expect("request sent");
    let token = serde_json::to_value(&handle.progress_token).unwrap();
    (handle.await_response().await, token)
}

fn token_of(p: &ProgressNotificationParam) -> Value {
    serde_json::to_value(&p.progress_token).unwrap()
}

fn everything_gateway(server: &str) -> GatewayProcess {
    GatewayProcess::start(&http_config(&[server.to_string()], ""))
}

#[tokio::test(flavor = "multi_thread")]
async fn progress_sampling_and_elicitation_reach_the_calling_client_over_stdio() {
    let gw = everything_gateway(&stdio_server("everything", &everything_bin(), &["stdio"]));
    wait_connected(&gw.url(""), &["everything"]).await;
    let handler = Answering::new("alice");
    let client = connect(&gw.mcp_url(), handler.clone()).await;

    // A first request moves the client's token counter, so its token differs from the gateway's.
    client.list_all_tools().await.expect("tools/list");
    let (result, token) = call_with_progress(
        &client,
        "everything__trigger-long-running-operation",
        json!({"duration": 1, "steps": 3}),
    )
    .await;
    let result = result.expect("long-running call");
    assert!(
        text_of(&result).contains("completed"),
        "{}",
        text_of(&result)
    );
    {
        let seen = handler.seen.lock().unwrap();
        assert_eq!(seen.progress.len(), 3, "one progress per step");
        for p in &seen.progress {
            assert_eq!(
                token_of(p),
                token,
                "the client's own token, not the gateway's"
            );
        }
    }

    let sampled = call_text_with(
        &client,
        "everything__trigger-sampling-request",
        json!({"prompt": "hi"}),
    )
    .await;
    assert!(sampled.contains("answer from alice"), "{sampled}");
    assert!(handler.seen.lock().unwrap().sampling[0].contains("hi"));

    let elicited = call_text_with(
        &client,
        "everything__trigger-elicitation-request",
        json!({}),
    )
    .await;
    assert_eq!(
        handler.seen.lock().unwrap().elicitation.len(),
        1,
        "{elicited}"
    );
    assert!(elicited.to_lowercase().contains("decline"), "{elicited}");
    client.cancel().await.ok();
}

/// `logging/setLevel debug` through the gateway, then server-everything's simulated logging: a log
/// message reaches `handler` within 20 s.
async fn set_level_and_expect_a_log(client: &Client, handler: &Answering) {
    #[allow(deprecated, reason = "logging/setLevel is what these tests relay")]
    client
        .peer()
        .set_level(rmcp::model::SetLevelRequestParams::new(
            rmcp::model::LoggingLevel::Debug,
        ))
        .await
        .expect("logging/setLevel through the gateway");
    call_text_with(client, "everything__toggle-simulated-logging", json!({})).await;
    eventually(
        Duration::from_secs(20),
        "a downstream log message",
        || async { (!handler.seen.lock().unwrap().logs.is_empty()).then_some(()) },
    )
    .await;
}

async fn call_text_with(client: &Client, name: &str, args: Value) -> String {
    let params = CallToolRequestParams::new(name.to_string())
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    let result = client.call_tool(params).await.expect(name);
    content_text(&serde_json::to_value(&result).unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_without_the_capability_gets_a_precise_error_not_a_hang() {
    let gw = everything_gateway(&stdio_server("everything", &everything_bin(), &["stdio"]));
    wait_connected(&gw.url(""), &["everything"]).await;
    let mut handler = Answering::new("mute");
    handler.declare = false;
    let client = connect(&gw.mcp_url(), handler.clone()).await;
    let params = CallToolRequestParams::new("everything__trigger-sampling-request")
        .with_arguments(json!({"prompt": "x"}).as_object().cloned().unwrap());
    let outcome = tokio::time::timeout(Duration::from_secs(30), client.call_tool(params))
        .await
        .expect("an answer, not a hang");
    let shown = match outcome {
        Ok(result) => serde_json::to_string(&result).unwrap(),
        Err(e) => e.to_string(),
    };
    assert!(
        shown.contains("did not declare the sampling capability"),
        "{shown}"
    );
    assert!(handler.seen.lock().unwrap().sampling.is_empty());
    client.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_clients_at_once_over_http_each_see_only_their_own_messages() {
    let everything = ServerProcess::everything_http();
    let gw = everything_gateway(&http_server("everything", &everything.mcp_url()));
    wait_connected(&gw.url(""), &["everything"]).await;
    let (a, b) = (Answering::new("alice"), Answering::new("bob"));
    let alice = connect(&gw.mcp_url(), a.clone()).await;
    let bob = connect(&gw.mcp_url(), b.clone()).await;
    let long = json!({"duration": 2, "steps": 4});
    let tool = "everything__trigger-long-running-operation";
    let sample = "everything__trigger-sampling-request";
    // Bob's token counter is moved on, so the two clients' tokens differ.
    for _ in 0..3 {
        bob.list_all_tools().await.expect("tools/list");
    }
    let elicit = "everything__trigger-elicitation-request";
    let ((ra, ta), (rb, tb), sa, sb, _, _) = tokio::join!(
        call_with_progress(&alice, tool, long.clone()),
        call_with_progress(&bob, tool, long.clone()),
        call_text_with(&alice, sample, json!({"prompt": "from alice"})),
        call_text_with(&bob, sample, json!({"prompt": "from bob"})),
        call_text_with(&alice, elicit, json!({})),
        call_text_with(&bob, elicit, json!({})),
    );
    ra.expect("alice's call");
    rb.expect("bob's call");
    assert!(sa.contains("answer from alice"), "{sa}");
    assert!(sb.contains("answer from bob"), "{sb}");
    assert_ne!(ta, tb);
    // rmcp's client runs each notification's handler in a task of its own, so the last progress
    // can be handled just after the call's result: give both a moment (the gateway sent them first).
    for handler in [&a, &b] {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while handler.seen.lock().unwrap().progress.len() < 4
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for (who, handler, token, prompt) in
        [("alice", &a, ta, "from alice"), ("bob", &b, tb, "from bob")]
    {
        let seen = handler.seen.lock().unwrap();
        assert_eq!(seen.progress.len(), 4, "{who}: its own four steps");
        assert!(
            seen.progress.iter().all(|p| token_of(p) == token),
            "{who} saw another client's progress"
        );
        assert_eq!(seen.sampling.len(), 1, "{who}: one sampling request");
        assert_eq!(seen.elicitation.len(), 1, "{who}: one elicitation request");
        assert!(
            seen.sampling[0].contains(prompt),
            "{who} got {:?}",
            seen.sampling
        );
    }
    alice.cancel().await.ok();
    bob.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_cancels_cancels_the_downstream_call() {
    let marker = tempfile::NamedTempFile::new().expect("temp file");
    let marker_path = marker.path().display().to_string();
    let fixture = repo_file("tests/fixtures/cancellable_server.py");
    let gw = everything_gateway(&stdio_server(
        "slow",
        &python_bin(),
        &[&fixture, &marker_path],
    ));
    wait_connected(&gw.url(""), &["slow"]).await;
    let client = connect(&gw.mcp_url(), Answering::new("carol")).await;
    let params = CallToolRequestParams::new("slow__wait")
        .with_arguments(json!({"seconds": 30}).as_object().cloned().unwrap());
    let handle = client
        .peer()
        .send_cancellable_request(
            ClientRequest::CallToolRequest(CallToolRequest::new(params)),
            PeerRequestOptions::no_options(),
        )
        .await
        .expect("sent");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    handle
        .cancel(Some("test cancels".into()))
        .await
        .expect("cancel sent");
    eventually(
        Duration::from_secs(15),
        "the downstream tool is cancelled",
        || async {
            (std::fs::read_to_string(&marker_path).unwrap_or_default() == "cancelled").then_some(())
        },
    )
    .await;
    // The gateway keeps serving the session.
    let tools = client
        .list_all_tools()
        .await
        .expect("tools/list after a cancel");
    assert!(tools.iter().any(|t| t.name == "slow__wait"));
    client.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn log_messages_reach_a_client_that_set_a_level() {
    let gw = everything_gateway(&stdio_server("everything", &everything_bin(), &["stdio"]));
    wait_connected(&gw.url(""), &["everything"]).await;
    let handler = Answering::new("dave");
    let client = connect(&gw.mcp_url(), handler.clone()).await;
    set_level_and_expect_a_log(&client, &handler).await;
    client.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn progress_sampling_and_logs_reach_a_client_of_the_stdio_front() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("ucp_config.yaml");
    let config = format!(
        "server:\n  transport: stdio\nrouter:\n  exposure: all\ntool_zoo:\n  persist_dir: {:?}\ndownstream_servers:\n{}",
        dir.path().join("zoo"),
        stdio_server("everything", &everything_bin(), &["stdio"])
    );
    std::fs::write(&cfg, config).unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_ucp"));
    command
        .args(["serve", "--stdio", "-c"])
        .arg(&cfg)
        .env("UCP_HOME", ucp_home())
        .env_remove("RUST_LOG");
    let transport = rmcp::transport::TokioChildProcess::new(command).expect("spawn ucp --stdio");
    let handler = Answering::new("erin");
    let client = handler
        .clone()
        .serve(transport)
        .await
        .expect("initialize over stdio");
    // The downstream connects in the background: wait until its tools are listed.
    eventually(
        Duration::from_secs(30),
        "server-everything's tools",
        || async {
            let tools = client.list_all_tools().await.ok()?;
            tools
                .iter()
                .any(|t| t.name == "everything__trigger-sampling-request")
                .then_some(())
        },
    )
    .await;
    let (result, token) = call_with_progress(
        &client,
        "everything__trigger-long-running-operation",
        json!({"duration": 1, "steps": 2}),
    )
    .await;
    assert!(text_of(&result.expect("long-running call")).contains("completed"));
    {
        let seen = handler.seen.lock().unwrap();
        assert_eq!(seen.progress.len(), 2, "one progress per step");
        assert!(seen.progress.iter().all(|p| token_of(p) == token));
    }
    let sampled = call_text_with(
        &client,
        "everything__trigger-sampling-request",
        json!({"prompt": "via stdio"}),
    )
    .await;
    assert!(sampled.contains("answer from erin"), "{sampled}");
    set_level_and_expect_a_log(&client, &handler).await;
    client.cancel().await.ok();
}

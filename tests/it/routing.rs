//! Aggregation and routing through the gateway in front of real servers: server-everything over
//! stdio and over Streamable HTTP, mcp-server-time over stdio, plus name collisions and a server
//! that cannot start.

use std::time::Duration;

use serde_json::json;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn aggregates_and_routes_to_stdio_and_http_servers() {
    let remote = ServerProcess::everything_http();
    let config = http_config(
        &[
            stdio_server("everything", &everything_bin(), &["stdio"]),
            stdio_server("time", &time_bin(), &["--local-timezone", "UTC"]),
            http_server("remote", &remote.mcp_url()),
            stdio_server("broken", "/nonexistent/mcp-server", &[]),
        ],
        "",
    );
    let gw = GatewayProcess::start(&config);
    let health = wait_connected(&gw.url(""), &["everything", "time", "remote"]).await;
    assert_eq!(
        health["components"]["downstream_servers"]["broken"], "disconnected",
        "{health}"
    );
    assert_eq!(health["status"], "degraded");

    let client = connect_http(&gw.mcp_url()).await;
    let names = tool_names(&client).await;
    for expected in [
        "everything__echo",
        "everything__get-sum",
        "time__get_current_time",
        "remote__echo",
    ] {
        assert!(
            names.contains(&expected.to_string()),
            "{expected} missing from {names:?}"
        );
    }
    assert!(names.iter().all(|n| !n.starts_with("broken__")));

    let echo = call_text(&client, "everything__echo", json!({"message": "hi there"}))
        .await
        .unwrap();
    assert_eq!(echo, "Echo: hi there");
    let sum = call_text(&client, "everything__get-sum", json!({"a": 2, "b": 3}))
        .await
        .unwrap();
    assert_eq!(sum, "The sum of 2 and 3 is 5.");
    let time = call_text(
        &client,
        "time__get_current_time",
        json!({"timezone": "UTC"}),
    )
    .await
    .unwrap();
    let time: serde_json::Value = serde_json::from_str(&time).expect("time returns JSON text");
    assert_eq!(time["timezone"], "UTC");
    assert!(
        time["datetime"].as_str().unwrap().starts_with("20"),
        "{time}"
    );
    let remote_echo = call_text(&client, "remote__echo", json!({"message": "over http"}))
        .await
        .unwrap();
    assert_eq!(remote_echo, "Echo: over http");

    // An unknown tool is a JSON-RPC error that names it.
    let err = call_text(&client, "nope__missing", json!({}))
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), Some(-32602), "{err}");
    assert!(err.to_string().contains("nope__missing"), "{err}");
    // A tool of the broken server is unknown too (its tools are absent), and the gateway still serves.
    assert_eq!(
        call_text(&client, "everything__echo", json!({"message": "still"}))
            .await
            .unwrap(),
        "Echo: still"
    );
    client.cancel().await.ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn colliding_names_are_reported_and_both_tools_stay_callable() {
    let fixture = repo_file("tests/fixtures/named_tools_server.py");
    let config = http_config(
        &[stdio_server(
            "dup",
            &python_bin(),
            &[&fixture, "a.b", "a_b"],
        )],
        "",
    );
    let gw = GatewayProcess::start(&config);
    wait_connected(&gw.url(""), &["dup"]).await;
    let client = connect_http(&gw.mcp_url()).await;
    let names: Vec<String> = tool_names(&client)
        .await
        .into_iter()
        .filter(|n| n != "dup__grow")
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"dup__a_b".to_string()), "{names:?}");
    let other = names.iter().find(|n| *n != "dup__a_b").unwrap().clone();
    assert!(other.starts_with("dup__a_b_"), "{other}");
    // Both reach their own original tool.
    let first = call_text(&client, "dup__a_b", json!({"text": "x"}))
        .await
        .unwrap();
    let second = call_text(&client, &other, json!({"text": "y"}))
        .await
        .unwrap();
    assert_eq!(first, "a.b says x");
    assert_eq!(second, "a_b says y");
    // And the collision is in the log with both names.
    let logs = gw.log_text();
    assert!(
        logs.contains("name collision") && logs.contains(&other),
        "{logs}"
    );
    client.cancel().await.ok();
}

/// Two servers with `prefix: ""` that publish one name: the first in the config keeps it, the
/// other's item is held back (logged, in /health), also when the collision appears at run time.
#[tokio::test(flavor = "multi_thread")]
async fn own_names_two_servers_share_stay_with_one_and_are_held_back_from_the_other() {
    let fixture = repo_file("tests/fixtures/named_tools_server.py");
    let server = |name: &str, tools: &[&str]| {
        let mut args = vec![fixture.as_str()];
        args.extend_from_slice(tools);
        stdio_server(name, &python_bin(), &args).replace(
            "    timeout: 20\n",
            &format!("    timeout: 20\n    prefix: \"\"\n    env: {{NAMED_TOOLS_LABEL: {name}}}\n"),
        )
    };
    let config = http_config(
        &[
            server("one", &["shared", "a_only"]),
            server("two", &["shared", "b_only"]),
        ],
        "",
    );
    let gw = GatewayProcess::start(&config);
    wait_connected(&gw.url(""), &["one", "two"]).await;
    let client = connect_http(&gw.mcp_url()).await;
    let mut names = tool_names(&client).await;
    names.sort();
    assert_eq!(
        names,
        ["a_only", "b_only", "grow", "shared"],
        "each name once"
    );
    assert_eq!(
        call_text(&client, "shared", json!({"text": "x"}))
            .await
            .unwrap(),
        "one:shared says x",
        "the first server in the config keeps the name"
    );
    assert_eq!(
        call_text(&client, "b_only", json!({"text": "y"}))
            .await
            .unwrap(),
        "two:b_only says y"
    );
    let (_, health) = get_json(&gw.url("/health")).await;
    let held = health["name_collisions"].to_string();
    assert!(
        held.contains("two/shared is held back") && held.contains("two/grow is held back"),
        "{health}"
    );

    // `one` now adds `b_only`, which `two` published: `one` is first in the config.
    call_text(&client, "grow", json!({"text": "b_only"}))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !gw.log_text().contains("two/b_only is held back") {
        assert!(
            std::time::Instant::now() < deadline,
            "the new collision is not logged:\n{}",
            gw.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The log line comes just before the new catalog is published.
    eventually(Duration::from_secs(5), "b_only routed to one", || async {
        let said = call_text(&client, "b_only", json!({"text": "z"}))
            .await
            .unwrap();
        (said == "one:b_only says z").then_some(())
    })
    .await;
    client.cancel().await.ok();
}

//! prompts/get and resources/read reach the owning server with the original name or URI, including
//! a URI two servers share (the second is listed under a rewritten `ucp://` URI) and template URIs.

use rmcp::model::{GetPromptRequestParams, ReadResourceRequestParams};
use serde_json::{Value, json};

use crate::harness::*;

const DOC: &str = "demo://resource/static/document/architecture.md";

fn text_of(result: &impl serde::Serialize) -> (String, String) {
    let v = serde_json::to_value(result).unwrap();
    let first = &v["contents"][0];
    (
        first["uri"].as_str().unwrap_or_default().to_string(),
        first["text"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn prompts_and_resources_route_to_the_owning_server() {
    let remote = ServerProcess::everything_http();
    let config = http_config(
        &[
            stdio_server("everything", &everything_bin(), &["stdio"]),
            http_server("remote", &remote.mcp_url()),
        ],
        "",
    );
    let gw = GatewayProcess::start(&config);
    wait_connected(&gw.url(""), &["everything", "remote"]).await;
    let client = connect_http(&gw.mcp_url()).await;

    let prompts: Vec<String> = client
        .list_all_prompts()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert!(
        prompts.contains(&"everything__args-prompt".into())
            && prompts.contains(&"remote__args-prompt".into()),
        "{prompts:?}"
    );
    let mut args = serde_json::Map::new();
    args.insert("city".into(), "Lisbon".into());
    args.insert("state".into(), "Lisboa".into());
    let prompt = client
        .get_prompt(GetPromptRequestParams::new("remote__args-prompt").with_arguments(args))
        .await
        .expect("prompts/get through the gateway");
    let prompt = serde_json::to_value(&prompt).unwrap().to_string();
    assert!(prompt.contains("Lisbon"), "{prompt}");
    let err = client
        .get_prompt(GetPromptRequestParams::new("nope__prompt"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nope__prompt"), "{err}");

    // Both servers list the same URI: the first (by server name) keeps it, the second is rewritten.
    let uris: Vec<String> = client
        .list_all_resources()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.uri.clone())
        .collect();
    let rewritten = format!("ucp://remote/{DOC}");
    assert!(
        uris.contains(&DOC.to_string()) && uris.contains(&rewritten),
        "{uris:?}"
    );
    let (uri, text) = text_of(
        &client
            .read_resource(ReadResourceRequestParams::new(DOC))
            .await
            .expect("read"),
    );
    assert_eq!(uri, DOC);
    assert!(!text.is_empty());
    let (uri2, text2) = text_of(
        &client
            .read_resource(ReadResourceRequestParams::new(rewritten.clone()))
            .await
            .expect("read rewritten"),
    );
    assert_eq!(uri2, rewritten, "the client sees the URI it asked for");
    assert_eq!(text2, text, "same document from the other server");
    assert!(
        gw.log_text().contains("name collision"),
        "the URI collision is reported"
    );

    // A URI that only matches a template goes to a server that has the template.
    let dynamic = client
        .read_resource(ReadResourceRequestParams::new(
            "demo://resource/dynamic/text/1",
        ))
        .await
        .expect("template read");
    let dynamic: Value = serde_json::to_value(&dynamic).unwrap();
    assert_eq!(
        dynamic["contents"][0]["uri"],
        json!("demo://resource/dynamic/text/1"),
        "{dynamic}"
    );
    let err = client
        .read_resource(ReadResourceRequestParams::new("file:///etc/passwd"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("file:///etc/passwd"), "{err}");
    client.cancel().await.ok();
}

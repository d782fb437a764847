//! A raw Streamable HTTP client of one MCP session (reqwest, an API key, the session id kept), for
//! tests that need to present a session id to another gateway process than the one that opened it.

use serde_json::{Value, json};

use super::{GatewayProcess, initialize_body, messages, post};

/// `POST {base}/v1/select` as the holder of API key `key`: the tools, best first (each with its
/// `scores`); `None` when the gateway does not answer 200.
pub async fn select_as(base: &str, key: &str, query: &str) -> Option<Vec<Value>> {
    let (status, _, body) = post(
        &format!("{base}/v1/select"),
        json!({"context": query, "k": 10}).to_string(),
        &[("x-api-key", key)],
    )
    .await;
    let body: Value = serde_json::from_str(&body).ok().filter(|_| status == 200)?;
    body["tools"].as_array().cloned()
}

/// The learned score `/v1/select` gives `tool` for `query` (0 when it is not ranked).
pub async fn learned_score(base: &str, key: &str, query: &str, tool: &str) -> Option<f64> {
    let tools = select_as(base, key, query).await?;
    Some(
        tools
            .iter()
            .find(|t| t["name"] == tool)
            .map_or(0.0, |t| t["scores"]["learned"].as_f64().unwrap_or(0.0)),
    )
}

/// The text a gateway serves at `/metrics`.
pub async fn metrics_text(gw: &GatewayProcess) -> String {
    reqwest::get(gw.url("/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text")
}

/// A raw Streamable HTTP client of one session, with an API key.
#[derive(Clone)]
pub struct RawSession {
    pub base: String,
    pub key: String,
    pub session: Option<String>,
}

impl RawSession {
    pub fn new(gw: &GatewayProcess, key: &str) -> RawSession {
        RawSession {
            base: gw.url(""),
            key: key.to_string(),
            session: None,
        }
    }

    pub fn at(&self, gw: &GatewayProcess) -> RawSession {
        RawSession {
            base: gw.url(""),
            ..self.clone()
        }
    }

    pub async fn post(&self, body: &Value) -> (u16, reqwest::header::HeaderMap, String) {
        let mut headers = vec![
            ("x-api-key", self.key.as_str()),
            ("mcp-protocol-version", "2025-06-18"),
        ];
        if let Some(id) = &self.session {
            headers.push(("mcp-session-id", id));
        }
        post(&format!("{}/mcp", self.base), body.to_string(), &headers).await
    }

    pub async fn initialize(&mut self) {
        let (status, headers, body) = self
            .post(&serde_json::from_str(&initialize_body()).unwrap())
            .await;
        assert_eq!(status, 200, "initialize: {body}");
        self.session = Some(
            headers["mcp-session-id"]
                .to_str()
                .expect("session id")
                .to_string(),
        );
        let (status, _, body) = self
            .post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        assert_eq!(status, 202, "initialized: {body}");
    }

    /// A request's status and its JSON-RPC answer (`Null` when there is none).
    pub async fn request(&self, method: &str, params: Value) -> (u16, Value) {
        let body = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params});
        let (status, _, text) = self.post(&body).await;
        let answer = messages(&text)
            .into_iter()
            .find(|m| m.get("id").is_some())
            .unwrap_or(Value::Null);
        (status, answer)
    }

    /// `tools/call` that survives the gateway going away: `None` when the request failed.
    pub async fn try_call(&self, tool: &str, arguments: Value) -> Option<(u16, Value)> {
        let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments}});
        let mut request = reqwest::Client::new()
            .post(format!("{}/mcp", self.base))
            .header("content-type", "application/json")
            .header("accept", super::ACCEPT)
            .header("x-api-key", &self.key)
            .header("mcp-protocol-version", "2025-06-18")
            .body(body.to_string());
        if let Some(id) = &self.session {
            request = request.header("mcp-session-id", id);
        }
        let response = request.send().await.ok()?;
        let status = response.status().as_u16();
        let text = response.text().await.ok()?;
        // No JSON-RPC answer (a proxy's error page): the text, to show.
        let answer = messages(&text)
            .into_iter()
            .find(|m| m.get("id").is_some())
            .unwrap_or(Value::String(text));
        Some((status, answer))
    }

    pub async fn call(&self, tool: &str, arguments: Value) -> (u16, Value) {
        self.request("tools/call", json!({"name": tool, "arguments": arguments}))
            .await
    }

    pub async fn tool_names(&self) -> (u16, Vec<String>) {
        let (status, answer) = self.request("tools/list", json!({})).await;
        let names = answer["result"]["tools"]
            .as_array()
            .map(|tools| {
                tools
                    .iter()
                    .filter_map(|t| t["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        (status, names)
    }

    /// `GET /v1/sessions/{id}`.
    pub async fn record(&self) -> (u16, Value) {
        let id = self.session.as_deref().expect("a session");
        let response = reqwest::Client::new()
            .get(format!("{}/v1/sessions/{id}", self.base))
            .header("x-api-key", &self.key)
            .send()
            .await
            .expect("GET record");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}
